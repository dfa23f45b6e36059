"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, logsumexp, softmax,
log_softmax, all/any, norm, cumsum, count_nonzero, aminmax - PyTorch's names, dtypes and errors.

Each op is one Function: forward validates, then calls the device's kernel on arrays; backward
is written with Tensor ops, so it can be differentiated again. A reduction's gradient is the
incoming gradient put back to the input's shape (`_expand_back`: the reduced dims restored as
size 1, then broadcast), times the op's local derivative.
"""
import builtins
import collections
import math

from ...autograd import Function, is_grad_enabled
from ...device import array_module
from ...dispatch import kernels
from ...dtypes import bool_, get_default_dtype, int64, to_dtype, uint8
from ...tensor import Tensor
from .._common import normalize_dim, normalize_dims, shape_str
from .._views import mark_view
from ..elementwise.ops import (abs, broadcast_to, eq, exp, maximum, minimum, ne, pow, sign, sqrt,
                               where)

_RESULT = {name: collections.namedtuple(name, fields) for name, fields in (
    ("max", ("values", "indices")), ("min", ("values", "indices")), ("aminmax", ("min", "max")))}


def _k(dev):
    return kernels("reduction", dev)


# ----------------------------------------------------------------------------- shared helpers

def _check_input(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(x).__name__}")


def _dims(op, dim, ndim):
    """Reduced dims, sorted and non-negative; None or () means all. A 0-d tensor accepts dim 0
    or -1 (as torch does) and reduces nothing."""
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        dim = None
    if dim is not None and not isinstance(dim, (list, tuple)) and not hasattr(dim, "__index__"):
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {type(dim).__name__}")
    dims = normalize_dims(dim, ndim, op)
    return tuple(sorted(dims)) if ndim else ()


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if d in dims else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d not in dims)


def _count(shape, dims):
    return math.prod(shape[d] for d in dims)


def _check_float(op, x):
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point input, got {x._dtype.name}; convert "
                           f"it first (e.g. x.float()) or pass dtype=")


def _check_nonempty(op, x, dims, full):
    if full and x._data.size == 0:
        raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape {shape_str(x.shape)} "
                           f"(the operation has no identity); specify the reduction dim")
    for d in dims:
        if x._data.shape[d] == 0:
            raise IndexError(f"{op}: expected reduction dim {d} to have non-zero size, input "
                             f"shape {shape_str(x.shape)}")


def _empty(x, shape, dtype):
    return array_module(x._device).empty(shape, dtype.np)


class _Reshape(Function):
    """Add or drop size-1 dims (a view): how backward restores reduced dims as size 1."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return _reshape(grad, ctx.in_shape), None


def _reshape(x, shape):
    if x._data.shape == tuple(shape):
        return x
    return mark_view(_Reshape.apply(x, shape), x, lambda base: _reshape(base, shape))


def _keep(t, in_shape, dims, keepdim):
    """A reduced tensor with its reduced dims back as size 1 (broadcastable against the input)."""
    return t if keepdim else _reshape(t, _reduced_shape(in_shape, dims, True))


def _expand_back(grad, in_shape, dims, keepdim):
    """A reduced gradient broadcast back to the input's shape (a view, no copy)."""
    if not grad._requires_grad:  # no double backward: array views, no graph nodes to record
        kept = grad._data.reshape(_reduced_shape(in_shape, dims, True))
        expanded = kernels("elementwise", grad._device).broadcast_to(kept, in_shape)
        return Tensor._make(expanded, grad._device, grad._dtype, False, None, 0, None)
    return broadcast_to(_keep(grad, in_shape, dims, keepdim), in_shape)


def _three_d(x, dims):
    """x's array as a C-contiguous (outer, n, inner) with the reduced `dims` merged in the middle:
    a view when they are adjacent, else a copy with them moved last (inner = 1)."""
    xp = array_module(x._device)
    array = x._data.reshape(1) if x._data.ndim == 0 else x._data
    shape = array.shape
    dims = dims or (0,)
    if list(dims) == list(range(dims[0], dims[-1] + 1)):
        outer, inner = math.prod(shape[:dims[0]]), math.prod(shape[dims[-1] + 1:])
        return xp.ascontiguousarray(array).reshape(outer, _count(shape, dims), inner)
    kept = [d for d in range(len(shape)) if d not in dims]
    moved = xp.ascontiguousarray(array.transpose(kept + list(dims)))
    return moved.reshape(_count(shape, kept), _count(shape, dims), 1)


# ----------------------------------------------------------------------------- sum, mean, prod

class Sum(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.in_shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        out = _empty(x, _reduced_shape(x._data.shape, dims, keepdim), dtype)
        return _k(x._device).sum(x._data, dims, keepdim, out)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.in_shape, ctx.dims, ctx.keepdim), None, None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over `dim` (an int, a tuple, or None for all); bool and int inputs give int64.

    >>> import dualnet as dn
    >>> dn.sum(dn.tensor([[1, 2], [3, 4]]), dim=0)
    tensor([4, 6])
    """
    _check_input("sum", input)
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    out_dtype = input._dtype if input._dtype.is_floating_point else int64
    return Sum.apply(input, _dims("sum", dim, input.ndim), bool(keepdim), out_dtype)


class Mean(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.in_shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        ctx.count = _count(x._data.shape, dims)
        out = _empty(x, _reduced_shape(x._data.shape, dims, keepdim), x._dtype)
        return _k(x._device).mean(x._data, dims, keepdim, ctx.count, out)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / ctx.count, ctx.in_shape, ctx.dims, ctx.keepdim), None, None


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over `dim`; floating point only (pass dtype= for an int tensor).

    >>> import dualnet as dn
    >>> dn.tensor([[1.0, 2.0], [3.0, 5.0]]).mean(1)
    tensor([1.5000, 4.0000])
    """
    _check_input("mean", input)
    target = input._dtype if dtype is None else to_dtype(dtype)
    if not target.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype: the input is {target.name}, and "
                           f"the mean needs a floating point dtype; pass dtype=dn.float32 or "
                           f"convert the input with .float()")
    if dtype is not None:
        input = input.to(target)
    return Mean.apply(input, _dims("mean", dim, input.ndim), bool(keepdim))


class Prod(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.in_shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x)
        out = _empty(x, _reduced_shape(x._data.shape, dims, keepdim), dtype)
        return _k(x._device).prod(x._data, dims, keepdim, out)

    @staticmethod
    def backward(ctx, grad):
        # d prod / d x_i = the product of the other elements. With no zero in the slice that is
        # prod / x_i; with exactly one zero only that position gets the product of the others;
        # with two or more every derivative is 0. `others` never divides by a zero, so double
        # backward stays finite.
        (x,) = ctx.saved_tensors
        dims, in_shape = ctx.dims, ctx.in_shape
        is_zero = eq(x, 0)
        safe = where(is_zero, 1.0, x)
        nonzero_prod = Prod.apply(safe, dims, True, x._dtype)
        zeros = Sum.apply(is_zero, dims, True, int64)
        others = where(eq(zeros, 0), nonzero_prod / safe,
                       where(is_zero & eq(zeros, 1), nonzero_prod, 0.0))
        return _expand_back(grad, in_shape, dims, ctx.keepdim) * others, None, None, None


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over one `dim` (or all elements); bool and int inputs give int64.

    >>> import dualnet as dn
    >>> dn.prod(dn.tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    tensor([ 2., 12.])
    """
    _check_input("prod", input)
    if dim is not None and (isinstance(dim, (tuple, list)) or not hasattr(dim, "__index__")):
        raise TypeError(f"prod: dim must be a single int, got {dim!r}")
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    out_dtype = input._dtype if input._dtype.is_floating_point else int64
    return Prod.apply(input, _dims("prod", dim, input.ndim), bool(keepdim), out_dtype)


# ----------------------------------------------------------------------------- max and min

class Extreme(Function):
    """amax / amin (and max() / min() of all elements): ties share the gradient equally."""

    _array_forward = True
    _save_output = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, kind):
        ctx.in_shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x)
        out = _empty(x, _reduced_shape(x._data.shape, dims, keepdim), x._dtype)
        return getattr(_k(x._device), kind)(x._data, dims, keepdim, out)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        hit = eq(x, _keep(ctx.output.detach(), ctx.in_shape, ctx.dims, ctx.keepdim))
        ties = Sum.apply(hit, ctx.dims, True, int64)
        grad = _expand_back(grad, ctx.in_shape, ctx.dims, ctx.keepdim)
        return grad * hit / ties, None, None, None


def _extreme(op, kind, input, dim, keepdim):
    _check_input(op, input)
    dims = _dims(op, dim, input.ndim)
    _check_nonempty(op, input, dims, full=dim is None or dim == ())
    return Extreme.apply(input, dims, bool(keepdim), kind)


def amax(input, dim=(), keepdim=False):
    """Largest value over `dim` (int or tuple; () for all); NaN wins; ties share the gradient.

    >>> import dualnet as dn
    >>> dn.amax(dn.tensor([[1.0, 7.0], [4.0, 2.0]]), dim=0)
    tensor([4., 7.])
    """
    return _extreme("amax", "amax", input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    """Smallest value over `dim` (int or tuple; () for all); NaN wins; ties share the gradient."""
    return _extreme("amin", "amin", input, dim, keepdim)


class ValuesIndices(Function):
    """max(dim) / min(dim): the extreme values and their int64 positions along one dim."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, dim, keepdim, kind):
        kern = _k(x._device)
        shape = _reduced_shape(x._data.shape, (dim,), True)
        indices = _empty(x, shape, int64)
        getattr(kern, "argmax" if kind == "max" else "argmin")(x._data, dim, True, indices)
        values = kern.take_along(x._data, indices, dim)
        if getattr(ctx, "needs_input_grad", None) is not None:
            # a copy: the returned indices tensor shares `indices` and may be changed in place
            ctx.in_shape, ctx.dim, ctx.keepdim = x._data.shape, dim, keepdim
            ctx.indices = indices.copy()
        if not keepdim:
            shape = shape[:dim] + shape[dim + 1:]
            values, indices = values.reshape(shape), indices.reshape(shape)
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        hot = _k(grad_values._device).one_hot(ctx.indices, ctx.dim, ctx.in_shape,
                                              grad_values._dtype.np)
        hot = Tensor._make(hot, grad_values._device, grad_values._dtype, False, None, 0, None)
        grad = _expand_back(grad_values, ctx.in_shape, (ctx.dim,), ctx.keepdim)
        return grad * hot, None, None, None


def _max_min(kind, input, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:  # max(a, b): the elementwise maximum
        pair = other if other is not None else dim
        return (maximum if kind == "max" else minimum)(input, pair)
    if dim is None:
        return _extreme(kind, "a" + kind, input, None, False)
    _check_input(kind, input)
    d = normalize_dim(dim, input.ndim, kind)
    if input.ndim == 0:
        return _RESULT[kind](input.clone(), Tensor._zeros((), int64, input._device))
    _check_nonempty(kind, input, (d,), full=False)
    return _RESULT[kind](*ValuesIndices.apply(input, d, bool(keepdim), kind))


def max(input, dim=None, keepdim=False, *, other=None):
    """max(x): the largest element; max(x, dim): (values, indices); max(x, y): elementwise.

    >>> import dualnet as dn
    >>> dn.max(dn.tensor([[1.0, 5.0], [4.0, 2.0]]), dim=1)
    max(values=tensor([5., 4.]), indices=tensor([1, 0]))
    """
    return _max_min("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    """min(x): the smallest element; min(x, dim): (values, indices); min(x, y): elementwise."""
    return _max_min("min", input, dim, keepdim, other)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over `dim` (None for all elements) as a named tuple."""
    _check_input("aminmax", input)
    dims = _dims("aminmax", dim, input.ndim)
    _check_nonempty("aminmax", input, dims, full=dim is None)
    return _RESULT["aminmax"](Extreme.apply(input, dims, bool(keepdim), "amin"),
                              Extreme.apply(input, dims, bool(keepdim), "amax"))


class ArgExtreme(Function):
    _array_forward = True
    _differentiable = False

    @staticmethod
    def forward(ctx, x, dim, keepdim, kind):
        array = x._data
        if dim is None:
            shape = (1,) * array.ndim if keepdim else ()
            array, dim, keepdim = array.reshape(-1), 0, False
        else:
            shape = _reduced_shape(array.shape, (dim,), keepdim) if array.ndim else ()
            array = array.reshape(1) if array.ndim == 0 else array
        out = _empty(x, _reduced_shape(array.shape, (dim,), keepdim), int64)
        return getattr(_k(x._device), kind)(array, dim, keepdim, out).reshape(shape)


def _arg(kind, input, dim, keepdim):
    _check_input(kind, input)
    if input._dtype is bool_:
        raise RuntimeError(f"{kind}: bool input is not supported (as in torch); convert it with "
                           f".int() first")
    d = None if dim is None else normalize_dim(dim, input.ndim, kind)
    if d is None and input._data.size == 0:
        raise IndexError(f"{kind}: cannot take the {kind} of an empty tensor (shape "
                         f"{shape_str(input.shape)}) without a dim; specify the reduction dim")
    _check_nonempty(kind, input, () if d is None or input.ndim == 0 else (d,), full=False)
    return ArgExtreme.apply(input, d, bool(keepdim), kind)


def argmax(input, dim=None, keepdim=False):
    """int64 position of the largest value along `dim` (None: in the flattened tensor).

    >>> import dualnet as dn
    >>> dn.argmax(dn.tensor([[1.0, 7.0], [4.0, 2.0]]), dim=1)
    tensor([1, 0])
    """
    return _arg("argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """int64 position of the smallest value along `dim` (None: in the flattened tensor)."""
    return _arg("argmin", input, dim, keepdim)


# ----------------------------------------------------------------------------- var, std

class VarMean(Function):
    """var = sum((x - mean)^2) / max(0, n - correction), in one fused kernel with the mean."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction, with_mean):
        shape = x._data.shape
        out_shape = _reduced_shape(shape, dims, keepdim)
        ctx.in_shape, ctx.dims, ctx.keepdim = shape, dims, keepdim
        ctx.count, ctx.correction = _count(shape, dims), correction
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x)
        var, mean_ = _empty(x, out_shape, x._dtype), _empty(x, out_shape, x._dtype)
        if ctx.count == 0:
            var.fill(math.nan)
            mean_.fill(math.nan)
        elif var.size:
            x3 = _three_d(x, dims)
            _k(x._device).var_mean(x3, correction, var.reshape(x3.shape[0], x3.shape[2]),
                                   mean_.reshape(x3.shape[0], x3.shape[2]))
        if getattr(ctx, "needs_input_grad", None) is not None:  # a copy: the user may change it
            ctx.mean = (mean_.copy() if with_mean else mean_).reshape(
                _reduced_shape(shape, dims, True))
        return (var, mean_) if with_mean else var

    @staticmethod
    def backward(ctx, grad_var, grad_mean=None):
        (x,) = ctx.saved_tensors
        dof = builtins.max(ctx.count - ctx.correction, 0)
        if is_grad_enabled():  # double backward: the mean as a function of x
            centre = mean(x, ctx.dims, keepdim=True)
        else:
            centre = Tensor._make(ctx.mean, x._device, x._dtype, False, None, 0, None)
        centred = x - centre
        grad = _expand_back(grad_var, ctx.in_shape, ctx.dims, ctx.keepdim) * centred * (
            2.0 / dof if dof else math.inf)
        if grad_mean is not None:
            grad = grad + _expand_back(grad_mean, ctx.in_shape, ctx.dims, ctx.keepdim) / ctx.count
        return grad, None, None, None, None


def _var_args(op, input, dim, unbiased, keepdim, correction):
    _check_input(op, input)
    _check_float(op, input)
    if isinstance(dim, bool):  # var(x, True): the old (input, unbiased) overload
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise TypeError(f"{op}: correction must be a number, got {type(correction).__name__}")
    return input, _dims(op, dim, input.ndim), bool(keepdim), correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over `dim`, dividing by n - correction (correction=1, Bessel's, by default).

    >>> import dualnet as dn
    >>> dn.var(dn.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.6667)
    """
    return VarMean.apply(*_var_args("var", input, dim, unbiased, keepdim, correction), False)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt(var(...)), same arguments as var."""
    return sqrt(VarMean.apply(*_var_args("std", input, dim, unbiased, keepdim, correction), False))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) from one pass over the data."""
    return VarMean.apply(*_var_args("var_mean", input, dim, unbiased, keepdim, correction), True)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) from one pass over the data."""
    variance, centre = VarMean.apply(
        *_var_args("std_mean", input, dim, unbiased, keepdim, correction), True)
    return sqrt(variance), centre


# ----------------------------------------------------------------------------- logsumexp, softmax

class LogSumExp(Function):
    _array_forward = True
    _save_output = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        shape = x._data.shape
        ctx.in_shape, ctx.dims, ctx.keepdim = shape, dims, keepdim
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x)
        out = _empty(x, _reduced_shape(shape, dims, keepdim), x._dtype)
        if _count(shape, dims) == 0:
            out.fill(-math.inf)  # log of an empty sum
        elif out.size:
            x3 = _three_d(x, dims)
            _k(x._device).logsumexp(x3, out.reshape(x3.shape[0], x3.shape[2]))
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        out = _keep(ctx.output, ctx.in_shape, ctx.dims, ctx.keepdim)
        return _expand_back(grad, ctx.in_shape, ctx.dims, ctx.keepdim) * exp(x - out), None, None


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(input))) over `dim`, computed stably (the row max is taken out first).

    >>> import dualnet as dn
    >>> dn.logsumexp(dn.tensor([0.0, 0.0]), dim=0)
    tensor(0.6931)
    """
    _check_input("logsumexp", input)
    if not input._dtype.is_floating_point:
        input = input.to(get_default_dtype())
    return LogSumExp.apply(input, _dims("logsumexp", dim, input.ndim), bool(keepdim))


class _RowOp(Function):
    """An op along one dim whose output has the input's shape, run by a fused row kernel."""

    _array_forward = True
    kernel = None
    saves_inputs = True  # the backward ops (double backward) read their inputs

    @staticmethod
    def forward(ctx, *args):
        dim, tensors = args[-1], args[:-1]
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.dim = dim
            if ctx.saves_inputs:
                ctx.save_for_backward(*tensors)
        first = tensors[0]
        out = _empty(first, first._data.shape, first._dtype)
        if out.size:
            views = [_three_d(t, (dim,)) for t in tensors]
            getattr(_k(first._device), ctx.kernel)(*views, out.reshape(views[0].shape))
        return out


class Softmax(_RowOp):
    kernel = "softmax"
    _save_output = True
    saves_inputs = False

    @staticmethod
    def backward(ctx, grad):
        return SoftmaxBackward.apply(grad, ctx.output, ctx.dim), None


class SoftmaxBackward(_RowOp):
    """grad_in = y * (grad - sum(grad * y)): softmax's vector-Jacobian product, fused."""

    kernel = "softmax_backward"

    @staticmethod
    def backward(ctx, grad_grad):
        grad, y = ctx.saved_tensors
        dim = ctx.dim
        grad_of_grad = SoftmaxBackward.apply(grad_grad, y, dim) if ctx.needs_input_grad[0] else None
        grad_of_y = None
        if ctx.needs_input_grad[1]:
            grad_of_y = (grad_grad * (grad - sum(grad * y, dim, keepdim=True))
                         - grad * sum(grad_grad * y, dim, keepdim=True))
        return grad_of_grad, grad_of_y, None


class LogSoftmax(_RowOp):
    kernel = "log_softmax"
    _save_output = True
    saves_inputs = False

    @staticmethod
    def backward(ctx, grad):
        return LogSoftmaxBackward.apply(grad, ctx.output, ctx.dim), None


class LogSoftmaxBackward(_RowOp):
    """grad_in = grad - exp(y) * sum(grad): log_softmax's vector-Jacobian product, fused."""

    kernel = "log_softmax_backward"

    @staticmethod
    def backward(ctx, grad_grad):
        grad, y = ctx.saved_tensors
        dim = ctx.dim
        probs = exp(y)
        grad_of_grad = grad_of_y = None
        if ctx.needs_input_grad[0]:
            grad_of_grad = grad_grad - sum(grad_grad * probs, dim, keepdim=True)
        if ctx.needs_input_grad[1]:
            grad_of_y = -(grad_grad * probs * sum(grad, dim, keepdim=True))
        return grad_of_grad, grad_of_y, None


def _softmax_args(op, input, dim, dtype):
    _check_input(op, input)
    if dim is None:
        raise TypeError(f"{op}: missing the required argument dim (the dim to normalise over)")
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"{op}: not implemented for {input._dtype.name} input; pass "
                           f"dtype=dn.float32 or convert with .float()")
    return input, normalize_dim(dim, input.ndim, op)


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`, computed stably (the max is taken out first).

    >>> import dualnet as dn
    >>> dn.softmax(dn.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return Softmax.apply(*_softmax_args("softmax", input, dim, dtype))


def log_softmax(input, dim, dtype=None):
    """x - logsumexp(x) along `dim`: the log of softmax without its underflow.

    >>> import dualnet as dn
    >>> dn.log_softmax(dn.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    return LogSoftmax.apply(*_softmax_args("log_softmax", input, dim, dtype))


# ----------------------------------------------------------------------------- cumsum

class Cumsum(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dim, reverse, dtype):
        ctx.dim, ctx.reverse = dim, reverse
        out = _empty(x, x._data.shape, dtype)
        if x._data.ndim == 0:
            out[...] = x._data
            return out
        return _k(x._device).cumsum(x._data, dim, reverse, out)

    @staticmethod
    def backward(ctx, grad):
        # cumsum's transpose is the cumulative sum from the other end
        return Cumsum.apply(grad, ctx.dim, not ctx.reverse, grad._dtype), None, None, None


def cumsum(input, dim, *, dtype=None):
    """Running sum along `dim`; bool and int inputs give int64.

    >>> import dualnet as dn
    >>> dn.cumsum(dn.tensor([1, 2, 3]), dim=0)
    tensor([1, 3, 6])
    """
    _check_input("cumsum", input)
    d = normalize_dim(dim, input.ndim, "cumsum")
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    out_dtype = input._dtype if input._dtype.is_floating_point else int64
    return Cumsum.apply(input, d, False, out_dtype)


# ----------------------------------------------------------------------------- logical, counting

class _Logical(Function):
    _array_forward = True
    _differentiable = False

    @staticmethod
    def forward(ctx, x, dims, keepdim, kind):
        out_dtype = uint8 if x._dtype is uint8 else bool_  # torch keeps uint8 for uint8 input
        out = _empty(x, _reduced_shape(x._data.shape, dims, keepdim), out_dtype)
        return getattr(_k(x._device), kind)(x._data, dims, keepdim, out)


def all(input, dim=None, keepdim=False):
    """True where every element over `dim` is nonzero (bool result).

    >>> import dualnet as dn
    >>> dn.all(dn.tensor([[True, False], [True, True]]), dim=1)
    tensor([False,  True])
    """
    _check_input("all", input)
    return _Logical.apply(input, _dims("all", dim, input.ndim), bool(keepdim), "all")


def any(input, dim=None, keepdim=False):
    """True where some element over `dim` is nonzero (bool result)."""
    _check_input("any", input)
    return _Logical.apply(input, _dims("any", dim, input.ndim), bool(keepdim), "any")


class CountNonzero(Function):
    _array_forward = True
    _differentiable = False

    @staticmethod
    def forward(ctx, x, dims):
        out = _empty(x, _reduced_shape(x._data.shape, dims, False), int64)
        return _k(x._device).count_nonzero(x._data, dims, out)


def count_nonzero(input, dim=None):
    """How many elements over `dim` (int, tuple or None) are nonzero, as int64.

    >>> import dualnet as dn
    >>> dn.count_nonzero(dn.tensor([[0, 1, 2], [0, 0, 3]]), dim=1)
    tensor([2, 1])
    """
    _check_input("count_nonzero", input)
    return CountNonzero.apply(input, _dims("count_nonzero", dim, input.ndim))


# ----------------------------------------------------------------------------- norm

class Norm(Function):
    """The vector p-norm over `dims`: (sum |x|^p)^(1/p); max |x| for inf, count for 0."""

    _array_forward = True
    _save_output = True

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        shape = x._data.shape
        ctx.in_shape, ctx.dims, ctx.keepdim, ctx.p = shape, dims, keepdim, p
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x)
        out = _empty(x, _reduced_shape(shape, dims, keepdim), x._dtype)
        return _k(x._device).norm(x._data, p, dims, keepdim, out)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p, dims, shape, keepdim = ctx.p, ctx.dims, ctx.in_shape, ctx.keepdim
        if p == 0:
            return Tensor._zeros(shape, x._dtype, x._device), None, None, None
        norm = _keep(ctx.output, shape, dims, keepdim)
        grad = _keep(grad, shape, dims, keepdim)
        if math.isinf(p):  # like amax: ties share the gradient
            hit = eq(abs(x), norm)
            return sign(x) * grad * hit / Sum.apply(hit, dims, True, int64), None, None, None
        # torch's norm_backward: sign(x) |x|^(p-1) * grad / norm^(p-1), and 0 where the norm is 0
        nonzero = ne(norm, 0)
        if p < 1:
            scaled_x = where(eq(x, 0), 0.0, sign(x) * pow(abs(x), p - 1))
            return scaled_x * grad * pow(norm, 1 - p), None, None, None
        scaled_x = x if p == 2 else sign(x) * pow(abs(x), p - 1)
        denominator = where(nonzero, norm if p == 2 else pow(norm, p - 1), 1.0)
        return scaled_x * (grad * nonzero / denominator), None, None, None


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over `dim` (all elements when None); p='fro' is the 2-norm.

    >>> import dualnet as dn
    >>> dn.norm(dn.tensor([3.0, 4.0]))
    tensor(5.)
    """
    _check_input("norm", input)
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    _check_float("norm", input)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ValueError(f"norm: p must be a number or 'fro', got {p!r} (the nuclear norm "
                         f"'nuc' is not supported)")
    dims = _dims("norm", dim, input.ndim)
    if math.isinf(p) and _count(input._data.shape, dims) == 0:
        raise RuntimeError(f"norm: the {p} norm of an empty slice (input shape "
                           f"{shape_str(input.shape)}) has no identity")
    return Norm.apply(input, float(p), dims, bool(keepdim))


# ----------------------------------------------------------------------------- registration

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
           "var", "std", "var_mean", "std_mean", "logsumexp", "softmax", "log_softmax", "all",
           "any", "norm", "cumsum", "count_nonzero"]

METHODS = {name: globals()[name] for name in __all__ if name not in ("var_mean", "std_mean")}
