"""Losses: cross_entropy, nll_loss, binary_cross_entropy(_with_logits), mse_loss, l1_loss,
smooth_l1_loss, huber_loss, kl_div, cosine_similarity - torch.nn.functional's names, arguments,
reduction rules and errors - plus the probability-space losses of Keras (`from_logits=False`).

Layout: the class-index losses run on (rows, classes) arrays, classes last. Their core ops
(`cross_entropy_dim`, `nll_loss_dim`) take the class dim as a parameter: 1 for torch's
(N, C, d1, ...), -1 for Keras's channels-last (N, d1, ..., C), which is rows already (no copy);
channels-first spatial input is copied once with its class dim moved last. The public `F.*`
functions have torch's signatures and class dim 1.

cross_entropy with class indices is one fused Function: the forward kernel writes each row's
logsumexp and loss (no log_softmax tensor), the backward kernel softmax - onehot (smoothed,
weighted). With class probabilities it is composed from log_softmax, as torch does. The
regression losses share one fused Function; the others are compositions of Tensor ops.
Backward passes that call kernels switch to Tensor-op compositions under create_graph=True, so
second derivatives work for every loss.
"""
import math
import warnings

import numpy as np

from ...autograd import Function, is_grad_enabled
from ...device import array_module
from ...dispatch import kernels
from ...dtypes import float16, float32, result_type
from ...tensor import Tensor
from .._common import broadcast_shape, check_same_device, normalize_dim, shape_str
from ..elementwise import ops as ew
from ..reduction import ops as red

from ...config import BCE_GRAD_EPSILON, KERAS_EPSILON

_REDUCTIONS = ("none", "mean", "sum")  # in torch's enum order: torch.<loss> takes 0, 1, 2


def _k(dev):
    return kernels("loss", dev)


def _reduction(op, reduction, size_average=None, reduce=None, extra=()):
    """The reduction string: legacy size_average/reduce mapped as torch does, 0/1/2 accepted."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
        warnings.warn(f"{op}: size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if isinstance(reduction, int) and not isinstance(reduction, bool) and 0 <= reduction <= 2:
        return _REDUCTIONS[reduction]
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS + extra:
        valid = ", ".join(repr(r) for r in _REDUCTIONS + extra)
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (expected one "
                         f"of {valid})")
    return reduction


def _check_tensor(op, name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _check_float(op, name, value):
    _check_tensor(op, name, value)
    if not value._dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point {name}, got {value._dtype.name} "
                           f"(shape {shape_str(value.shape)}); convert it with .float()")


def _reduce(loss, reduction):
    if reduction == "mean":
        return red.mean(loss)
    return red.sum(loss) if reduction == "sum" else loss


def _same_dtype(a, b):
    """Both tensors in their promoted dtype (a differentiable cast where one is needed)."""
    if a._dtype is b._dtype:
        return a, b
    dtype = result_type(a, b)
    return (a if a._dtype is dtype else a.to(dtype)), (b if b._dtype is dtype else b.to(dtype))


def _as_array(t, dtype, xp):
    return xp.ascontiguousarray(t._data, dtype=dtype)


# ------------------------------------------------------------------- class-index losses

def _compute_dtype(dtype):
    return float32.np if dtype is float16 else dtype.np  # Numba has no float16 arithmetic


def _to_rows(array, class_dim, dtype, xp):
    """A C-contiguous (rows, classes) array: the class dim moved last (a copy only if needed)."""
    if array.ndim == 1:
        return xp.ascontiguousarray(array, dtype=dtype).reshape(1, -1)
    if class_dim != array.ndim - 1:
        array = xp.moveaxis(array, class_dim, -1)
    return xp.ascontiguousarray(array, dtype=dtype).reshape(-1, array.shape[-1])


def _from_rows(rows, shape, class_dim, xp):
    """Inverse of _to_rows: (rows, classes) back to `shape` with the classes at class_dim."""
    if len(shape) == 1 or class_dim == len(shape) - 1:
        return rows.reshape(shape)
    moved = shape[:class_dim] + shape[class_dim + 1:] + (shape[class_dim],)
    return xp.moveaxis(rows.reshape(moved), -1, class_dim)


def _divide(numerator, denominator):
    """IEEE division of Python floats (x / 0 is inf or NaN, not ZeroDivisionError)."""
    if denominator:
        return numerator / denominator
    return math.nan if numerator == 0 or math.isnan(numerator) else math.copysign(
        math.inf, numerator)


_ONES = {}


def _ones(xp, n, dtype):
    """A vector of ones (the default class weight; kernels only read it), made once per size
    and dtype."""
    key = (xp.__name__, n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = xp.ones(n, dtype)
    return ones


class _ClassIndexLoss(Function):
    """cross_entropy / nll_loss with class indices, on (rows, classes) arrays. Subclasses give
    the kernels (`_run_forward`, `_run_backward`) and the create_graph composition."""

    _array_forward = True
    opname = None

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, smoothing, reduction, class_dim):
        xp, dev = array_module(input._device), input._device
        dtype = _compute_dtype(input._dtype)
        x = _to_rows(input._data, class_dim, dtype, xp)
        t = xp.ascontiguousarray(target._data, dtype=np.int64).reshape(-1)
        classes, k = x.shape[1], _k(dev)
        bad = k.first_out_of_range(t, ignore_index, classes)
        if bad >= 0:
            raise IndexError(f"{ctx.opname}: Target {int(t[bad])} is out of bounds: expected a "
                             f"class index in [0, {classes}) or ignore_index ({ignore_index}) "
                             f"(input {shape_str(input.shape)}, target {shape_str(target.shape)})")
        w = _ones(xp, classes, dtype) if weight is None else _as_array(weight, dtype, xp)
        ctx.xp, ctx.rows, ctx.target, ctx.weight, ctx.ignore_index = xp, x, t, w, ignore_index
        ctx.smoothing, ctx.reduction, ctx.class_dim = dtype.type(smoothing), reduction, class_dim
        loss = xp.empty(x.shape[0], dtype)
        total, ctx.total_weight = ctx._run_forward(k, loss)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(input)
        out_dtype = input._dtype.np
        if reduction == "none":
            shape = () if input.ndim == 1 else tuple(target.shape)
            return loss.reshape(shape).astype(out_dtype, copy=False)
        if reduction == "mean":  # all targets ignored: 0 / 0 = NaN, as torch
            total = _divide(total, ctx.total_weight)
        return xp.asarray(total, dtype=out_dtype)

    @staticmethod
    def backward(ctx, grad):
        (input,) = ctx.saved_tensors
        if is_grad_enabled():  # create_graph=True: a composition autograd can differentiate
            return (ctx._composed_grad(input, grad),) + (None,) * 6
        xp, x = array_module(input._device), ctx.rows
        if ctx.reduction == "none":
            g = xp.ascontiguousarray(grad._data, dtype=x.dtype).reshape(x.shape[0])
        else:
            scale = float(grad._data)
            if ctx.reduction == "mean":
                scale = _divide(scale, ctx.total_weight)
            g = xp.full(x.shape[0], scale, x.dtype)
        out = ctx._run_backward(_k(input._device), g)
        grad_in = _from_rows(out, input._data.shape, ctx.class_dim, xp)
        grad_in = grad_in.astype(input._dtype.np, copy=False)
        return (Tensor._make(grad_in, input._device, input._dtype, False, None, 0, None),) + \
            (None,) * 6

    def _coefficients(self, input, smoothing):
        """(coef, g) for create_graph: loss = -sum(coef * log_softmax(input)) row by row, coef a
        constant tensor in input's layout, g the upstream gradient shaped to broadcast."""
        xp, t, weight = array_module(input._device), self.target, self.weight
        coef = xp.zeros(self.rows.shape, self.rows.dtype)
        keep = xp.nonzero(t != self.ignore_index)[0]
        coef[keep, t[keep]] = (1 - smoothing) * weight[t[keep]]
        if smoothing:
            coef[keep] += smoothing / coef.shape[1] * weight
        shape = tuple(input.shape)
        coef = _from_rows(coef, shape, self.class_dim, xp).astype(input._dtype.np)
        return Tensor._make(coef, input._device, input._dtype, False, None, 0, None), \
            tuple(1 if d == self.class_dim else s for d, s in enumerate(shape))

    def _upstream(self, grad, kept):
        if self.reduction == "none":
            return grad.reshape(kept)
        return grad / float(self.total_weight) if self.reduction == "mean" else grad


class CrossEntropy(_ClassIndexLoss):
    opname = "cross_entropy"

    def _run_forward(self, k, loss):
        self.lse = self.xp.empty_like(loss)
        return k.cross_entropy(self.rows, self.target, self.weight, self.ignore_index,
                               self.smoothing, self.lse, loss)

    def _run_backward(self, k, g):
        out = self.xp.empty_like(self.rows)
        return k.cross_entropy_backward(self.rows, self.target, self.weight, self.lse,
                                        self.ignore_index, self.smoothing, g, out)

    def _composed_grad(self, input, grad):
        coef, kept = self._coefficients(input, float(self.smoothing))
        probs = red.softmax(input, self.class_dim)
        scale = red.sum(coef, self.class_dim, keepdim=True)
        return (probs * scale - coef) * self._upstream(grad, kept)


class NllLoss(_ClassIndexLoss):
    opname = "nll_loss"

    def _run_forward(self, k, loss):
        return k.nll_loss(self.rows, self.target, self.weight, self.ignore_index, loss)

    def _run_backward(self, k, g):
        return k.nll_loss_backward(self.target, self.weight, self.ignore_index, g,
                                   self.xp.zeros_like(self.rows))

    def _composed_grad(self, input, grad):
        coef, kept = self._coefficients(input, 0.0)
        return -(coef * self._upstream(grad, kept))


def _class_dim(op, input, class_dim):
    if input.ndim == 0:
        raise ValueError(f"{op}: Expected 1 or more dimensions (got 0): input has shape []")
    return 0 if input.ndim == 1 else normalize_dim(class_dim, input.ndim, op)


def _class_weight(op, weight, classes):
    if weight is None:
        return None
    _check_float(op, "weight", weight)
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{shape_str(weight.shape)}")
    return weight


def _check_index_target(op, input, target, class_dim):
    """torch's rules (nll_loss_nd) for the shape and dtype of class-index targets."""
    shape, tshape = input._data.shape, target._data.shape
    facts = lambda: f"(input {shape_str(shape)}, target {shape_str(tshape)})"  # noqa: E731
    if target._dtype.is_floating_point or target._dtype.name == "bool":
        raise RuntimeError(f"{op}: expected target dtype to be Long or Byte (class indices), but "
                           f"got {target._dtype.name} {facts()}; class probabilities need a "
                           f"target of the input's shape")
    if len(shape) == 1:
        if len(tshape) > 1 or target._data.size != 1:
            raise ValueError(f"{op}: For 1D input, 1D target must have size 1, but got target "
                             f"size: {target._data.size} {facts()}")
        return
    if tshape and class_dim != 0 and tshape[0] != shape[0]:
        raise ValueError(f"{op}: Expected input batch_size ({shape[0]}) to match target "
                         f"batch_size ({tshape[0]}) {facts()}")
    if tshape != shape[:class_dim] + shape[class_dim + 1:]:
        if len(shape) == 2 and len(tshape) != 1:
            raise RuntimeError(f"{op}: 0D or 1D target tensor expected, multi-target not "
                               f"supported {facts()}")
        expected = shape[:class_dim] + shape[class_dim + 1:]
        raise RuntimeError(f"{op}: Expected target size {shape_str(expected)}, got "
                           f"{shape_str(tshape)} {facts()}")


def _smoothing(op, label_smoothing):
    smoothing = float(label_smoothing)
    if not 0.0 <= smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    return smoothing


def cross_entropy_dim(input, target, class_dim=1, weight=None, ignore_index=-100,
                      reduction="mean", label_smoothing=0.0):
    """cross_entropy with the classes along `class_dim` (1: torch's layout, -1: Keras's)."""
    op = "cross_entropy"
    _check_float(op, "input", input)
    _check_tensor(op, "target", target)
    check_same_device(op, input, target, weight)
    smoothing = _smoothing(op, label_smoothing)
    class_dim = _class_dim(op, input, class_dim)
    weight = _class_weight(op, weight, input.shape[class_dim])
    if input._data.shape == target._data.shape:
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction, smoothing,
                                    class_dim)
    _check_index_target(op, input, target, class_dim)
    return CrossEntropy.apply(input, target, weight, int(ignore_index), smoothing, reduction,
                              class_dim)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, smoothing, class_dim):
    """Soft targets: -sum(q * w * log_softmax(x)) over the classes (torch's composition)."""
    op = "cross_entropy"
    if not target._dtype.is_floating_point:
        raise RuntimeError(f"{op}: Expected floating point type for target with class "
                           f"probabilities, got {target._dtype.name} (input and target "
                           f"{shape_str(input.shape)})")
    if ignore_index >= 0:
        raise RuntimeError(f"{op}: ignore_index is not supported for floating point target "
                           f"(got ignore_index={ignore_index})")
    classes = input.shape[class_dim]
    if target._dtype is not input._dtype:
        target = target.to(input._dtype)
    if smoothing > 0:
        target = target * (1.0 - smoothing) + smoothing / classes
    terms = red.log_softmax(input, class_dim) * target
    if weight is not None:
        terms = terms * weight.reshape([classes if d == class_dim else 1
                                        for d in range(input.ndim)])
    if reduction == "none":
        return -red.sum(terms, class_dim)
    total = -red.sum(terms)
    if reduction == "sum":
        return total
    rows = input.numel() // classes if classes else 0
    return total / rows if rows else total * math.nan


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits `input` (N, C) / (N, C, d1, ...) / (C,) against class indices
    (N) / (N, d1, ...) / () or class probabilities (input's shape).

    With indices: loss_i = -sum_c q_ic * w_c * log_softmax(input_i)_c, q = (1 - eps) * onehot
    + eps / C (eps = label_smoothing); the mean divides by the sum of w[target] over the targets
    that are not ignore_index; one fused kernel each way, no log_softmax tensor. With
    probabilities q = target (smoothed the same way) and the mean divides by the number of rows.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.cross_entropy(dn.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), dn.tensor([0, 2]))
    tensor(0.6691)
    """
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    return cross_entropy_dim(input, target, 1, weight, ignore_index, reduction, label_smoothing)


def nll_loss_dim(input, target, class_dim=1, weight=None, ignore_index=-100, reduction="mean"):
    """nll_loss with the classes along `class_dim` (1: torch's layout, -1: Keras's)."""
    op = "nll_loss"
    _check_float(op, "input", input)
    _check_tensor(op, "target", target)
    check_same_device(op, input, target, weight)
    class_dim = _class_dim(op, input, class_dim)
    weight = _class_weight(op, weight, input.shape[class_dim])
    _check_index_target(op, input, target, class_dim)
    return NllLoss.apply(input, target, weight, int(ignore_index), 0.0, reduction, class_dim)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities `input` at class indices `target`:
    loss_i = -w[t_i] * input[i, t_i]; the mean divides by the sum of w[t_i] over the targets
    that are not ignore_index. Shapes as cross_entropy's.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.nll_loss(dn.tensor([[-0.5, -1.0], [-2.0, -0.1]]), dn.tensor([0, 0]))
    tensor(1.2500)
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    return nll_loss_dim(input, target, 1, weight, ignore_index, reduction)


# ------------------------------------------------------------------- binary cross-entropy

class _Binary(Function):
    """Elementwise binary cross-entropy, weighted and reduced in one Function; the gradients
    come from NumPy kernels, or from the Tensor-op composition `_local_grads` under
    create_graph=True. Forward arguments: input, target, weight, pos_weight, reduction."""

    _array_forward = True

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction):
        ctx._validate(input)
        dtype = input._data.dtype
        w, p = (None if v is None else v._data.astype(dtype, copy=False)
                for v in (weight, pos_weight))
        xp = array_module(input._device)
        loss = ctx._kernel(_k(input._device), input._data, target._data, w, p,
                           xp.empty(input._data.shape, dtype))
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(input, target, weight, pos_weight)
            ctx.reduction, ctx.arrays = reduction, (w, p)
        if reduction == "none":
            return loss
        total = loss.sum(dtype=np.float64)
        if reduction == "mean":
            total = total / loss.size if loss.size else math.nan
        return xp.asarray(total, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        input, target, weight, pos_weight = ctx.saved_tensors
        wants_input, wants_target = ctx.needs_input_grad[:2]
        if is_grad_enabled():  # create_graph=True: compose, so autograd can differentiate it
            if ctx.reduction == "mean":
                grad = grad / input.numel()
            grad_input, grad_target = ctx._local_grads(input, target, pos_weight, wants_input,
                                                       wants_target)
            scale = grad if weight is None else grad * weight
            return (None if grad_input is None else grad_input * scale,
                    None if grad_target is None else grad_target * scale, None, None, None)
        w, p = ctx.arrays
        g = grad._data
        if ctx.reduction == "mean" and input._data.size:
            g = g / g.dtype.type(input._data.size)
        arrays = ctx._kernel_backward(_k(input._device), input._data, target._data, w, p, g,
                                      wants_input, wants_target)
        return tuple(None if a is None else Tensor._make(
            a.astype(input._data.dtype, copy=False), input._device, input._dtype, False, None,
            0, None) for a in arrays) + (None, None, None)


class BinaryCrossEntropy(_Binary):
    """-(t log x + (1 - t) log(1 - x)), each log clamped to >= -100 (torch's rule)."""

    def _validate(self, input):
        x = input._data
        if x.size and not (x.min() >= 0 and x.max() <= 1):  # NaN fails too, as in torch
            raise RuntimeError(f"binary_cross_entropy: all elements of input should be between "
                               f"0 and 1 (got values in [{float(x.min())}, {float(x.max())}], "
                               f"input {shape_str(input.shape)}); pass probabilities, or use "
                               f"binary_cross_entropy_with_logits on logits")

    def _kernel(self, k, x, t, w, p, out):
        return k.binary_cross_entropy(x, t, w, out)

    def _kernel_backward(self, k, x, t, w, p, grad, wants_input, wants_target):
        return k.binary_cross_entropy_backward(x, t, w, grad, BCE_GRAD_EPSILON, wants_input,
                                               wants_target)

    def _local_grads(self, input, target, pos_weight, wants_input, wants_target):
        grad_input = grad_target = None
        if wants_input:  # torch's form: (x - t) / max(x (1 - x), eps), not the derivative of
            # the clamped logs, so saturated inputs still get a finite push
            denominator = ew.clamp(input * (1.0 - input), min=BCE_GRAD_EPSILON)
            grad_input = (input - target) / denominator
        if wants_target:  # -logit(x), unclamped (torch's target gradient)
            grad_target = ew.log1p(-input) - ew.log(input)
        return grad_input, grad_target


class BinaryCrossEntropyWithLogits(_Binary):
    """(1 - t) x + (1 + (p - 1) t) softplus(-x), p = pos_weight (1 when None)."""

    def _validate(self, input):
        pass

    def _kernel(self, k, x, t, w, p, out):
        return k.binary_cross_entropy_with_logits(x, t, w, p, out)

    def _kernel_backward(self, k, x, t, w, p, grad, wants_input, wants_target):
        return k.binary_cross_entropy_with_logits_backward(x, t, w, p, grad, wants_input,
                                                           wants_target)

    def _local_grads(self, input, target, pos_weight, wants_input, wants_target):
        grad_input = grad_target = None
        if pos_weight is None:
            if wants_input:
                grad_input = ew.sigmoid(input) - target
            if wants_target:
                grad_target = -input
        else:
            log_weight = (pos_weight - 1.0) * target + 1.0
            if wants_input:
                grad_input = log_weight * ew.sigmoid(input) - pos_weight * target
            if wants_target:
                softplus = ew.log1p(ew.exp(-ew.abs(input))) + ew.relu(-input)  # -logsigmoid(x)
                grad_target = (pos_weight - 1.0) * softplus - input
        return grad_input, grad_target


def _broadcasts_to(op, name, value, shape):
    if value is None:
        return None
    _check_float(op, name, value)
    try:
        fits = np.broadcast_shapes(tuple(value.shape), tuple(shape)) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"{op}: {name} of shape {shape_str(value.shape)} does not broadcast "
                           f"to the input's shape {shape_str(shape)}")
    return value


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w * (t * log(x) + (1 - t) * log(1 - x)) for probabilities x in [0, 1], each log clamped
    to >= -100 (so x = 0 or 1 gives 100, not inf).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.binary_cross_entropy(dn.tensor([0.8, 0.4]), dn.tensor([1.0, 0.0]))
    tensor(0.3670)
    """
    op = "binary_cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    _check_float(op, "input", input)
    _check_float(op, "target", target)
    if target.shape != input.shape:
        raise ValueError(f"{op}: Using a target size ({shape_str(target.shape)}) that is "
                         f"different to the input size ({shape_str(input.shape)}) is deprecated. "
                         f"Please ensure they have the same size.")
    weight = _broadcasts_to(op, "weight", weight, input.shape)
    check_same_device(op, input, target, weight)
    return BinaryCrossEntropy.apply(*_same_dtype(input, target), weight, None, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(x), t) computed from logits without overflow:
    w * ((1 - t) * x + (1 + (pos_weight - 1) * t) * log(1 + exp(-x))).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(dn.tensor([0.0, 2.0]), dn.tensor([1.0, 0.0]))
    tensor(1.4100)
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, reduction, size_average, reduce)
    _check_float(op, "input", input)
    _check_float(op, "target", target)
    if target.shape != input.shape:
        raise ValueError(f"{op}: Target size ({shape_str(target.shape)}) must be the same as "
                         f"input size ({shape_str(input.shape)})")
    weight = _broadcasts_to(op, "weight", weight, input.shape)
    pos_weight = _broadcasts_to(op, "pos_weight", pos_weight, input.shape)
    check_same_device(op, input, target, weight, pos_weight)
    return BinaryCrossEntropyWithLogits.apply(*_same_dtype(input, target), weight, pos_weight,
                                              reduction)


# ------------------------------------------------------------------- regression losses

class Regression(Function):
    """mse / l1 / smooth_l1 / huber of x - t, reduced in the same kernel pass."""

    _array_forward = True

    @staticmethod
    def forward(ctx, input, target, kind, param, reduction):
        xp = array_module(input._device)
        dtype = _compute_dtype(input._dtype)
        x, t = _as_array(input, dtype, xp).reshape(-1), _as_array(target, dtype, xp).reshape(-1)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(input, target)
            ctx.kind, ctx.param, ctx.reduction = kind, param, reduction
        k, typed_param = _k(input._device), dtype.type(param)
        if reduction == "none":
            out = k.regression(x, t, kind, typed_param, xp.empty(x.shape, dtype))
            return out.reshape(input._data.shape).astype(input._dtype.np, copy=False)
        total = k.regression_sum(x, t, kind, typed_param)
        if reduction == "mean":
            total = total / x.size if x.size else math.nan
        return xp.asarray(total, dtype=input._dtype.np)

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        count = input.numel()
        if is_grad_enabled():  # create_graph=True: compose, so autograd can differentiate it
            local = _regression_derivative(ctx.kind, input - target, ctx.param)
            grad_input = local * (grad / count if ctx.reduction == "mean" else grad)
        else:
            xp = array_module(input._device)
            dtype = _compute_dtype(input._dtype)
            x, t = _as_array(input, dtype, xp).reshape(-1), _as_array(target, dtype, xp).reshape(-1)
            if ctx.reduction == "none":
                g, step = _as_array(grad, dtype, xp).reshape(-1), 1
            else:
                scale = float(grad._data) / (count if ctx.reduction == "mean" else 1)
                g, step = xp.full(1, scale, dtype), 0
            out = _k(input._device).regression_backward(x, t, ctx.kind, dtype.type(ctx.param), g,
                                                        step, xp.empty(x.shape, dtype))
            out = out.reshape(input._data.shape).astype(input._dtype.np, copy=False)
            grad_input = Tensor._make(out, input._device, input._dtype, False, None, 0, None)
        grad_target = -grad_input if ctx.needs_input_grad[1] else None
        return grad_input, grad_target, None, None, None


_MSE, _L1, _SMOOTH_L1, _HUBER = 0, 1, 2, 3  # the kernels' kind codes (cpu.MSE, ...)


def _regression_derivative(kind, diff, param):
    if kind == _MSE:
        return diff * 2.0
    if kind == _L1:
        return ew.sign(diff)
    small = ew.abs(diff) < param
    if kind == _SMOOTH_L1:
        return ew.where(small, diff / param, ew.sign(diff))
    return ew.where(small, diff, ew.sign(diff) * param)


def _regression(op, input, target, kind, param, reduction, weight=None, weighted_mean=True):
    _check_float(op, "input", input)
    _check_tensor(op, "target", target)
    check_same_device(op, input, target, weight)
    if target.shape != input.shape:
        warnings.warn(f"{op}: Using a target size ({shape_str(target.shape)}) that is different "
                      f"to the input size ({shape_str(input.shape)}). This will likely lead to "
                      f"incorrect results due to broadcasting. Please ensure they have the same "
                      f"size.", UserWarning, stacklevel=3)
        shape = broadcast_shape(op, input.shape, target.shape)
        input, target = ew.broadcast_to(input, shape), ew.broadcast_to(target, shape)
    input, target = _same_dtype(input, target)
    if weight is None:
        return Regression.apply(input, target, kind, float(param), reduction)
    _check_tensor(op, "weight", weight)
    if weight.shape != input.shape:
        raise ValueError(f"{op}: Weights and input must have the same size (weight "
                         f"{shape_str(weight.shape)}, input {shape_str(input.shape)})")
    loss = Regression.apply(input, target, kind, float(param), "none") * weight
    if reduction == "mean" and weighted_mean:  # torch: sum(w * loss) / sum(w)
        return red.sum(loss) / red.sum(weight)
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(x - t)^2, averaged (or summed); a weighted mean divides by sum(weight).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.mse_loss(dn.tensor([1.0, 2.0]), dn.tensor([0.0, 4.0]))
    tensor(2.5000)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    return _regression("mse_loss", input, target, _MSE, 1.0, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|x - t|, averaged (or summed); a weighted mean divides by sum(weight)."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    return _regression("l1_loss", input, target, _L1, 1.0, reduction, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 (x - t)^2 / beta where |x - t| < beta, else |x - t| - 0.5 beta; l1 when beta = 0."""
    op = "smooth_l1_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"{op}: smooth_l1_loss does not support negative values for beta "
                           f"(got {beta})")
    kind = _L1 if beta == 0 else _SMOOTH_L1
    return _regression(op, input, target, kind, beta, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 (x - t)^2 where |x - t| < delta, else delta (|x - t| - 0.5 delta); a weighted mean is
    mean(weight * loss), as torch's.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.huber_loss(dn.tensor([0.5, 3.0]), dn.tensor([0.0, 0.0]), reduction="none")
    tensor([0.1250, 2.5000])
    """
    op = "huber_loss"
    reduction = _reduction(op, reduction)
    if not delta > 0:
        raise RuntimeError(f"{op}: huber_loss does not support non-positive values for delta "
                           f"(got {delta})")
    return _regression(op, input, target, _HUBER, delta, reduction, weight, weighted_mean=False)


# ------------------------------------------------------------------- kl_div, cosine_similarity

def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of log-probabilities `input` from `target`:
    t * (log t - x) (0 where t = 0), or exp(t) * (t - x) with log_target. 'batchmean' divides
    the sum by the batch size (the true KL divergence); 'mean' by the element count.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.kl_div(dn.tensor([[0.5, 0.5]]).log(), dn.tensor([[0.25, 0.75]]), reduction="batchmean")
    tensor(0.1308)
    """
    op = "kl_div"
    legacy = size_average is not None or reduce is not None
    reduction = _reduction(op, reduction, size_average, reduce, extra=("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn("kl_div: reduction: 'mean' divides the total loss by both the batch size "
                      "and the support size. 'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition. 'mean' will be changed to behave "
                      "the same as 'batchmean' in the next major release.", UserWarning,
                      stacklevel=2)
    _check_float(op, "input", input)
    _check_float(op, "target", target)
    broadcast_shape(op, input.shape, target.shape)
    input, target = _same_dtype(input, target)
    if log_target:
        loss = ew.exp(target) * (target - input)
    else:  # xlogy(t, t): t log t with 0 at t = 0 (log of 1 there, so no 0 * inf in backward)
        loss = target * ew.log(ew.where(target == 0, 1.0, target)) - target * input
    if reduction == "batchmean":
        total = red.sum(loss)
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(|x1|, eps) * max(|x2|, eps)) along `dim` (x1, x2 broadcast), each
    vector divided by its norm first, as torch does (|result| <= 1, no overflow of x1 . x2).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> a, b = dn.tensor([[1.0, 0.0], [1.0, 1.0]]), dn.tensor([[2.0, 0.0], [0.0, 1.0]])
    >>> F.cosine_similarity(a, b)
    tensor([1.0000, 0.7071])
    """
    op = "cosine_similarity"
    _check_tensor(op, "x1", x1)
    _check_tensor(op, "x2", x2)
    dtype = result_type(x1, x2)
    if not dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected common dtype to be floating point, yet common dtype "
                           f"is {dtype.name} (x1 {x1.dtype.name}, x2 {x2.dtype.name})")
    shape = broadcast_shape(op, x1.shape, x2.shape)
    d = normalize_dim(dim, len(shape), op)
    x1, x2 = (ew.broadcast_to(x.to(dtype), shape) for x in (x1, x2))
    n1, n2 = (_clamp_min_straight_through(red.norm(x, 2, d, keepdim=True), eps) for x in (x1, x2))
    return red.sum((x1 / n1) * (x2 / n2), d)


def _clamp_min_straight_through(norm, low):
    """max(norm, low) whose gradient is the identity: torch clamps the norms in place under
    no_grad, so its gradient is that of the unclamped norm (matched here to the last bit)."""
    frozen = norm.detach()
    return norm + (ew.clamp(frozen, min=low) - frozen)


# ------------------------------------------------------------------- Keras's probability losses

def categorical_crossentropy_probs(probs, target, axis=-1, eps=KERAS_EPSILON):
    """Keras's categorical_crossentropy(from_logits=False), unreduced: the probabilities are
    renormalised along `axis`, clipped to [eps, 1 - eps], and -sum(target * log(p)) is taken."""
    _check_float("categorical_crossentropy", "probs", probs)
    probs = probs / red.sum(probs, axis, keepdim=True)
    return -red.sum(target * ew.log(ew.clamp(probs, eps, 1.0 - eps)), axis)


def binary_crossentropy_probs(probs, target, eps=KERAS_EPSILON):
    """Keras's binary_crossentropy(from_logits=False), elementwise: probabilities clipped to
    [eps, 1 - eps], then binary_cross_entropy (Keras takes the mean over the last axis)."""
    _check_float("binary_crossentropy", "probs", probs)
    return binary_cross_entropy(ew.clamp(probs, eps, 1.0 - eps), target, reduction="none")


# ------------------------------------------------------------------- registration

FUNCTIONAL = ["cross_entropy", "nll_loss", "binary_cross_entropy",
              "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
              "huber_loss", "kl_div", "cosine_similarity"]
__all__ = ["binary_cross_entropy_with_logits", "kl_div", "cosine_similarity"]
METHODS = {}
