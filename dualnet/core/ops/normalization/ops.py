"""Normalization: batch_norm, instance_norm, group_norm, layer_norm, normalize - PyTorch's
names, arguments and errors, with the knobs Keras needs as keyword-only arguments.

One op serves both frontends: `batch_norm(..., axis=, momentum_weights=,
running_var_correction=)` takes the channel axis (1 for NCHW, -1 for Keras's channels last),
which value `momentum` weighs (torch, "new": r = (1-m) r + m batch; Keras, "old": r = m r +
(1-m) batch) and the correction of the running variance (torch stores the unbiased variance,
1; Keras the biased one, 0). group_norm and instance_norm take `axis=` too; layer_norm
normalises trailing dims, which is Keras's LayerNormalization(axis=-1). Layouts: the kernels
work on both without a copy, through a view of the contiguous input (cpu.py): batch norm's
(outer, C, inner), group norm's (N, pre, G, C/G, post).

Each op is one Function whose forward runs a fused kernel (statistics, normalisation and the
affine transform) and saves the float64 mean and rstd; backward runs a fused kernel for the
closed form. Under create_graph (grad mode on in backward) the gradient is composed from Tensor
ops instead, with the statistics recomputed from x, so second derivatives are exact. Running
statistics are buffers updated in place (their versions bumped), outside autograd. float16
computes in float32 and casts back.
"""
import math
import numbers

import numpy as np

from ...autograd import Function, is_grad_enabled
from ...device import array_module
from ...dispatch import kernels
from ...dtypes import float16
from ...tensor import Tensor
from .._common import check_same_device, normalize_dim, shape_str
from ..reduction.ops import norm


def _k(dev):
    return kernels("normalization", dev)


# ----------------------------------------------------------------------------- checks

def _check_input(op, input, min_ndim, error=RuntimeError):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"{op}: not implemented for {input._dtype.name} input; "
                                  f"convert it with .float() first")
    if input.ndim < min_ndim:
        raise error(f"{op}: expected an input with at least {min_ndim} dimensions, got shape "
                    f"{shape_str(input.shape)}")


def _check_vector(op, name, value, size, input, required=False):
    """A per-channel argument: a Tensor (or None unless required) of `size` elements and the
    input's dtype and device."""
    if value is None:
        if required:
            raise RuntimeError(f"{op}: {name} must be defined in evaluation mode")
        return
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(value).__name__}")
    if value._data.size != size:
        raise RuntimeError(f"{op}: {name} should contain {size} elements not {value.numel()} "
                           f"({name} shape {shape_str(value.shape)}, input shape "
                           f"{shape_str(input.shape)})")
    if value._dtype is not input._dtype:
        raise RuntimeError(f"{op}: expected {name} to have the input's dtype "
                           f"{input._dtype.name}, got {value._dtype.name}")
    if value._device != input._device:
        check_same_device(op, input, value)


def _check_number(op, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}")
    return float(value)


def _channel_axis(op, input, axis):
    axis = normalize_dim(axis, input.ndim, op)
    if axis == 0:
        raise RuntimeError(f"{op}: the channel axis cannot be the batch axis 0 (input shape "
                           f"{shape_str(input.shape)})")
    return axis


def _momentum_rule(op, momentum, momentum_weights, correction):
    """(keep, take, correction): running = keep * running + take * batch statistic."""
    if momentum is None:
        raise TypeError(f"{op}: momentum=None (the cumulative average) is the module's job: "
                        f"pass momentum = 1 / num_batches_tracked")
    momentum = _check_number(op, "momentum", momentum)
    if momentum_weights not in ("new", "old"):
        raise ValueError(f"{op}: momentum_weights must be 'new' (torch) or 'old' (Keras), got "
                         f"{momentum_weights!r}")
    if correction not in (0, 1):
        raise ValueError(f"{op}: running_var_correction must be 0 (biased, Keras) or 1 "
                         f"(unbiased, torch), got {correction!r}")
    if momentum_weights == "new":
        return 1.0 - momentum, momentum, correction
    return momentum, 1.0 - momentum, correction


# ----------------------------------------------------------------------------- the shared Function

def _compute_array(t, xp):
    """t's array, C-contiguous, in the dtype the kernels compute in (float16 goes to float32)."""
    if t._dtype is float16:
        return t._data.astype(np.float32)
    return xp.ascontiguousarray(t._data)


def _param_arrays(weight, bias, shape, dtype, xp):
    """weight and bias arrays in `shape` (ones and zeros where not given)."""
    w = xp.ones(shape, dtype) if weight is None else _compute_array(weight, xp).reshape(shape)
    b = xp.zeros(shape, dtype) if bias is None else _compute_array(bias, xp).reshape(shape)
    return w, b


def _tensor(array, like, shape=None):
    """An array as a constant tensor of `like`'s dtype and device, in `shape` (like's shape)."""
    shape = like._data.shape if shape is None else shape
    return Tensor._make(array.astype(like._dtype.np, copy=False).reshape(shape), like._device,
                        like._dtype, False, None, 0, None)


def _output(out, x):
    out = out.reshape(x._data.shape)
    return out.astype(x._dtype.np) if x._dtype is float16 else out


def _update_running(dev, running, batch_stat, keep, take):
    """running = keep * running + take * batch_stat, in place, outside autograd."""
    if running is not None:
        _k(dev).update_running(running._data, batch_stat, keep, take)
        running._bump_version()


class _Normalization(Function):
    """y = (x - mean) * rstd * weight + bias over groups of x's elements.

    A subclass's forward views x as its kernel's array (`view`), runs the kernel and calls
    `_record` with the view's normalised `dims`, the shape weight broadcasts in
    (`weight_view`) and the dims a parameter's gradient sums over (`param_dims`). Backward
    runs the subclass's fused kernel (`_run_backward`) or, under create_graph, composes the
    formula from Tensor ops.
    """

    _array_forward = True
    trailing_args = 0  # forward arguments after (x, weight, bias): none gets a gradient

    @staticmethod
    def _record(ctx, x, weight, bias, view, stats, eps, dims, weight_view, param_dims,
                fixed_stats=False):
        if getattr(ctx, "needs_input_grad", None) is None:
            return
        ctx.save_for_backward(x, weight)
        ctx.view, (ctx.mean, ctx.rstd), ctx.eps, ctx.fixed_stats = view, stats, eps, fixed_stats
        ctx.dims, ctx.weight_view, ctx.param_dims = dims, weight_view, param_dims
        ctx.param_shapes = tuple(None if p is None else p._data.shape for p in (weight, bias))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        if is_grad_enabled():
            grads = _composed_grads(ctx, grad, x, weight)
        else:
            grads = _fused_grads(ctx, grad, x, weight)
        return grads + (None,) * type(ctx).trailing_args


def _fused_grads(ctx, grad, x, weight):
    xp = array_module(x._device)
    view, needs = ctx.view, ctx.needs_input_grad
    param_shape = tuple(ctx.weight_view[d] for d in range(view.ndim) if d not in ctx.param_dims)
    grad_in = xp.empty(view.shape, view.dtype) if needs[0] else None
    grad_weight, grad_bias = xp.empty(param_shape), xp.empty(param_shape)
    w = xp.ones(param_shape, view.dtype) if weight is None else \
        _compute_array(weight, xp).reshape(param_shape)
    type(ctx)._run_backward(ctx, _k(x._device), _compute_array(grad, xp).reshape(view.shape),
                            view, w, grad_in, grad_weight, grad_bias)
    weight_shape, bias_shape = ctx.param_shapes
    return (None if grad_in is None else _tensor(grad_in, x),
            _tensor(grad_weight, x, weight_shape) if needs[1] else None,
            _tensor(grad_bias, x, bias_shape) if needs[2] else None)


def _composed_grads(ctx, grad, x, weight):
    """dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = grad * weight; dw =
    sum(grad * xhat); db = sum(grad) - from Tensor ops, differentiable again."""
    dims, needs = ctx.dims, ctx.needs_input_grad
    xv, gv = x.reshape(ctx.view.shape), grad.reshape(ctx.view.shape)
    if ctx.fixed_stats:  # evaluation: the running statistics are constants
        rstd = _tensor(ctx.rstd, x, ctx.weight_view)
        centred = xv - _tensor(ctx.mean, x, ctx.weight_view)
    else:
        centred = xv - xv.mean(dims, keepdim=True)
        rstd = ((centred * centred).mean(dims, keepdim=True) + ctx.eps).rsqrt()
    xhat = centred * rstd
    weighted = gv if weight is None else gv * weight.reshape(ctx.weight_view)
    if ctx.fixed_stats:
        grad_in = weighted * rstd
    else:
        grad_in = (weighted - weighted.mean(dims, keepdim=True)
                   - xhat * (weighted * xhat).mean(dims, keepdim=True)) * rstd
    weight_shape, bias_shape = ctx.param_shapes
    return (grad_in.reshape(x.shape) if needs[0] else None,
            (gv * xhat).sum(ctx.param_dims).reshape(weight_shape) if needs[1] else None,
            gv.sum(ctx.param_dims).reshape(bias_shape) if needs[2] else None)


# ----------------------------------------------------------------------------- batch norm

class BatchNorm(_Normalization):
    """Statistics per channel: the batch's own (training, running ones updated in place) or
    the running ones (evaluation). Kernel view: (outer, C, inner)."""

    trailing_args = 6

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, rule, eps, axis):
        xp = array_module(x._device)
        shape = x._data.shape
        outer, channels, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
        view = _compute_array(x, xp).reshape(outer, channels, inner)
        w, b = _param_arrays(weight, bias, channels, view.dtype, xp)
        out = xp.empty(view.shape, view.dtype)
        mean, var, rstd = xp.empty(channels), xp.empty(channels), xp.empty(channels)
        if not training:
            _k(x._device).batch_norm_eval(view, running_mean._data.reshape(channels),
                                          running_var._data.reshape(channels), w, b, eps, out,
                                          mean, rstd)
        elif not view.size:  # an empty batch: nothing to normalise, no statistics to track
            mean.fill(0.0)
            rstd.fill(0.0)
        else:
            _k(x._device).batch_norm_train(view, w, b, eps, out, mean, var, rstd)
            keep, take, correction = rule
            count = outer * inner
            _update_running(x._device, running_mean, mean, keep, take)
            _update_running(x._device, running_var, var, keep, take * count / (count - correction))
        ctx.training = training
        _Normalization._record(ctx, x, weight, bias, view, (mean, rstd), eps, (0, 2),
                               (1, channels, 1), (0, 2), fixed_stats=not training)
        return _output(out, x)

    @staticmethod
    def _run_backward(ctx, kern, grad, view, w, grad_in, grad_weight, grad_bias):
        kern.batch_norm_backward(grad, view, ctx.mean, ctx.rstd, w, ctx.training, grad_in,
                                 grad_weight, grad_bias)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, *, axis=1, momentum_weights="new",
               running_var_correction=1):
    """Normalise each channel: y = (x - mean) / sqrt(var + eps) * weight + bias.

    training=True uses the batch's mean and biased variance and updates running_mean /
    running_var in place (if given); training=False uses them. torch's rule by default
    (momentum weighs the new value, the running variance is unbiased); Keras's with
    `momentum_weights="old", running_var_correction=0, axis=-1`.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> x = dn.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> mean, var = dn.zeros(2), dn.ones(2)
    >>> F.batch_norm(x, mean, var, training=True, eps=0.0)
    tensor([[-1., -1.],
            [ 1.,  1.]])
    >>> mean, var
    (tensor([0.2000, 2.0000]), tensor([ 1.1000, 20.9000]))
    """
    op = "batch_norm"
    _check_input(op, input, 2)
    axis = normalize_dim(axis, input.ndim, op)
    channels = input.shape[axis]
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        _check_vector(op, name, value, channels, input, required=not training)
    for name, value in (("weight", weight), ("bias", bias)):
        _check_vector(op, name, value, channels, input)
    eps = _check_number(op, "eps", eps)
    rule = _momentum_rule(op, momentum, momentum_weights, running_var_correction)
    if training and input.numel() // max(channels, 1) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{shape_str(input.shape)} ({op})")
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training), rule,
                           eps, axis)


# ----------------------------------------------------------------------------- group norm

class GroupNorm(_Normalization):
    """Statistics per (sample, group of channels). Kernel view: (N, pre, G, C/G, post)."""

    trailing_args = 4

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps, axis, stats):
        xp = array_module(x._device)
        shape = x._data.shape
        per_group = shape[axis] // groups
        view = _compute_array(x, xp).reshape(shape[0], math.prod(shape[1:axis]), groups,
                                             per_group, math.prod(shape[axis + 1:]))
        w, b = _param_arrays(weight, bias, (groups, per_group), view.dtype, xp)
        out = xp.empty(view.shape, view.dtype)
        mean, var, rstd = (xp.zeros((shape[0], groups)) for _ in range(3))
        if view.size:
            _k(x._device).group_norm_forward(view, w, b, eps, out, mean, var, rstd)
        if stats is not None:
            stats.extend((mean, var))  # instance_norm's running statistics
        _Normalization._record(ctx, x, weight, bias, view, (mean, rstd), eps, (1, 3, 4),
                               (1, 1, groups, per_group, 1), (0, 1, 4))
        return _output(out, x)

    @staticmethod
    def _run_backward(ctx, kern, grad, view, w, grad_in, grad_weight, grad_bias):
        kern.group_norm_backward(grad, view, ctx.mean, ctx.rstd, w, grad_in, grad_weight,
                                 grad_bias)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, *, axis=1):
    """Normalise each group of channels of each sample, then scale and shift per channel.

    `axis` is the channel axis (1: N, C, *; -1: channels last, Keras's GroupNormalization).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.group_norm(dn.tensor([[1.0, 3.0, 10.0, 30.0]]), 2, eps=0.0)
    tensor([[-1.,  1., -1.,  1.]])
    """
    op = "group_norm"
    _check_input(op, input, 2)
    axis = _channel_axis(op, input, axis)
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) \
            or num_groups <= 0:
        raise ValueError(f"{op}: num_groups must be a positive int, got {num_groups!r}")
    channels = input.shape[axis]
    if channels % num_groups:
        raise RuntimeError(f"{op}: expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {shape_str(input.shape)} and "
                           f"num_groups={num_groups}")
    for name, value in (("weight", weight), ("bias", bias)):
        _check_vector(op, name, value, channels, input)
    eps = _check_number(op, "eps", eps)
    return GroupNorm.apply(input, weight, bias, int(num_groups), eps, axis, None)


# ----------------------------------------------------------------------------- instance norm

def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5, *, axis=1):
    """Normalise each channel of each sample over its positions (group_norm with one channel
    per group); running statistics, if given, track the batch average (unbiased variance,
    torch's rule) and are what use_input_stats=False normalises with.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.instance_norm(dn.tensor([[[1.0, 3.0], [2.0, 6.0]]]), eps=0.0)
    tensor([[[-1.,  1.],
             [-1.,  1.]]])
    """
    op = "instance_norm"
    _check_input(op, input, 3, ValueError)
    axis = _channel_axis(op, input, axis)
    channels = input.shape[axis]
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        _check_vector(op, name, value, channels, input, required=not use_input_stats)
    for name, value in (("weight", weight), ("bias", bias)):
        _check_vector(op, name, value, channels, input)
    eps = _check_number(op, "eps", eps)
    if not use_input_stats:
        return BatchNorm.apply(input, weight, bias, running_mean, running_var, False, None, eps,
                               axis)
    keep, take, _ = _momentum_rule(op, momentum, "new", 1)
    spatial = input.numel() // max(input.shape[0] * channels, 1)
    if spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{shape_str(input.shape)} ({op})")
    stats = []
    out = GroupNorm.apply(input, weight, bias, channels, eps, axis, stats)
    mean, var = stats
    _update_running(input._device, running_mean, mean.mean(0), keep, take)
    _update_running(input._device, running_var, var.mean(0), keep, take * spatial / (spatial - 1))
    return out


# ----------------------------------------------------------------------------- layer norm

class LayerNorm(_Normalization):
    """Statistics per row of the trailing normalised dims. Kernel view: (rows, n)."""

    trailing_args = 2

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        xp = array_module(x._device)
        shape = x._data.shape
        lead = len(shape) - normalized_ndim
        size = math.prod(shape[lead:])
        view = _compute_array(x, xp).reshape(math.prod(shape[:lead]), size)
        w, b = _param_arrays(weight, bias, size, view.dtype, xp)
        out = xp.empty(view.shape, view.dtype)
        mean, rstd = xp.zeros(view.shape[0]), xp.zeros(view.shape[0])
        if view.size:
            _k(x._device).layer_norm_forward(view, w, b, eps, out, mean, rstd)
        _Normalization._record(ctx, x, weight, bias, view, (mean, rstd), eps, (1,), (1, size),
                               (0,))
        return _output(out, x)

    @staticmethod
    def _run_backward(ctx, kern, grad, view, w, grad_in, grad_weight, grad_bias):
        if view.size:
            kern.layer_norm_backward(grad, view, ctx.mean, ctx.rstd, w, grad_in, grad_weight,
                                     grad_bias)
        else:
            grad_weight.fill(0)
            grad_bias.fill(0)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims `normalized_shape`, then scale and shift elementwise.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.layer_norm(dn.tensor([[1.0, 3.0], [10.0, 30.0]]), (2,), eps=0.0)
    tensor([[-1.,  1.],
            [-1.,  1.]])
    """
    op = "layer_norm"
    _check_input(op, input, 0)
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        normalized_shape = tuple(int(s) for s in normalized_shape)
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a tuple of ints, got "
                        f"{normalized_shape!r}") from None
    k = len(normalized_shape)
    if k == 0 or k > input.ndim or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"{op}: given normalized_shape={list(normalized_shape)}, expected "
                           f"input with shape [*, {', '.join(map(str, normalized_shape))}], but "
                           f"got input of size {shape_str(input.shape)}")
    for name, value in (("weight", weight), ("bias", bias)):
        if isinstance(value, Tensor) and tuple(value.shape) != normalized_shape:
            raise RuntimeError(f"{op}: expected {name} to be of same shape as normalized_shape, "
                               f"but got {name} of shape {shape_str(value.shape)} and "
                               f"normalized_shape = {list(normalized_shape)}")
        _check_vector(op, name, value, math.prod(normalized_shape), input)
    eps = _check_number(op, "eps", eps)
    return LayerNorm.apply(input, weight, bias, k, eps)


# ----------------------------------------------------------------------------- normalize

def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along `dim` (composed from norm, clamp_min and divide).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.normalize(dn.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"normalize: expected a Tensor as input, got {type(input).__name__}")
    if out is not None:
        raise TypeError("normalize: out= is not supported; assign the result instead")
    return input / norm(input, p, dim, keepdim=True).clamp_min(eps)


# ----------------------------------------------------------------------------- registration

FUNCTIONAL = ["batch_norm", "instance_norm", "group_norm", "layer_norm", "normalize"]
# torch.layer_norm / torch.group_norm take F's leading arguments; torch.batch_norm and
# torch.instance_norm order theirs differently (weight first), so they stay in F only.
__all__ = ["layer_norm", "group_norm"]
METHODS = {}
