"""CUDA kernels of the reduction family: the twins of cpu.py, same names and arguments.

Plain reductions (sum, prod, amax, argmax, all, cumsum...) call the array module's (CuPy's
tree reductions on a GPU): a hand-written kernel would only match them, as NumPy's on the CPU.

Softmax, log_softmax, their backward, logsumexp and var_mean are `numba.cuda` kernels over a
C-contiguous (outer, n, inner) array reduced along the middle axis (what ops.py's `_three_d`
hands every device): one thread per (outer, inner) column, grid-stride over the columns, each
reading its n values two or three times. Accumulators start from the input dtype's zero (no
Python literal in a body: it would promote float32 math to float64), except var_mean's, which
sums in float64 as torch and cpu.py do.
"""
import math

import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()


# --------------------------------------------------------------------------- plain reductions

def sum(a, axes, keepdims, out):
    return xp.sum(a, axis=axes, dtype=out.dtype, keepdims=keepdims, out=out)


def mean(a, axes, keepdims, count, out):
    xp.sum(a, axis=axes, dtype=out.dtype, keepdims=keepdims, out=out)
    with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as in torch
        return xp.divide(out, out.dtype.type(count), out=out)


def prod(a, axes, keepdims, out):
    return xp.prod(a, axis=axes, dtype=out.dtype, keepdims=keepdims, out=out)


def amax(a, axes, keepdims, out):
    return xp.amax(a, axis=axes, keepdims=keepdims, out=out)  # NaN-propagating


def amin(a, axes, keepdims, out):
    return xp.amin(a, axis=axes, keepdims=keepdims, out=out)


def argmax(a, axis, keepdims, out):
    out[...] = xp.argmax(a, axis=axis, keepdims=keepdims)  # a NaN counts as the maximum
    return out


def argmin(a, axis, keepdims, out):
    out[...] = xp.argmin(a, axis=axis, keepdims=keepdims)
    return out


def take_along(a, indices, axis):
    """a's values at `indices` (keepdims-shaped) along `axis`: max/min(dim)'s values."""
    return xp.take_along_axis(a, indices, axis=axis)


def one_hot(indices, axis, shape, dtype):
    """Zeros of `shape` with a one at each index along `axis`: where max(dim) sends its grad."""
    positions = xp.arange(shape[axis]).reshape((1,) * axis + (-1,) + (1,) * (len(shape) - axis - 1))
    return (positions == indices).astype(dtype)


def all(a, axes, keepdims, out):
    return xp.all(a, axis=axes, keepdims=keepdims, out=out)


def any(a, axes, keepdims, out):
    return xp.any(a, axis=axes, keepdims=keepdims, out=out)


def count_nonzero(a, axes, out):
    out[...] = xp.sum(a != 0, axis=axes)
    return out


def cumsum(a, axis, reverse, out):
    if reverse:  # the gradient of cumsum: sums from the end
        out[...] = xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis, dtype=out.dtype), axis)
        return out
    out[...] = xp.cumsum(a, axis=axis, dtype=out.dtype)
    return out


def norm(a, p, axes, keepdims, out):
    """The vector p-norm over `axes`: max |a| for p = inf, min for -inf, the nonzero count
    for 0, sqrt(sum(a * a)) for 2, (sum |a| ** p) ** (1 / p) otherwise."""
    if p == 2:
        xp.sum(a * a, axis=axes, keepdims=keepdims, out=out)
        return xp.sqrt(out, out=out)
    if math.isinf(p):
        reduce = xp.amax if p > 0 else xp.amin
        return reduce(xp.abs(a), axis=axes, keepdims=keepdims, out=out)
    if p == 0:
        out[...] = xp.sum(a != 0, axis=axes, keepdims=keepdims)
        return out
    xp.sum(xp.abs(a) ** a.dtype.type(p), axis=axes, keepdims=keepdims, out=out)
    return xp.power(out, out.dtype.type(1.0 / p), out=out)


# --------------------------------------------------------------------------- fused column kernels

@cuda.jit(device=True)
def _column_max(x, o, k):
    top = x[o, 0, k]
    for j in range(1, x.shape[1]):
        value = x[o, j, k]
        if value > top or value != value:  # NaN-propagating, as torch's max
            top = value
    return top


@cuda.jit
def _softmax_kernel(x, out):
    inner = x.shape[2]
    zero = x.dtype.type(0)
    for column in range(cuda.grid(1), x.shape[0] * inner, cuda.gridsize(1)):
        o, k = column // inner, column % inner
        top = _column_max(x, o, k)
        total = zero
        for j in range(x.shape[1]):
            e = math.exp(x[o, j, k] - top)
            out[o, j, k] = e
            total += e
        for j in range(x.shape[1]):
            out[o, j, k] /= total


@cuda.jit
def _softmax_backward_kernel(grad, y, out):
    inner = y.shape[2]
    zero = y.dtype.type(0)
    for column in range(cuda.grid(1), y.shape[0] * inner, cuda.gridsize(1)):
        o, k = column // inner, column % inner
        dot = zero
        for j in range(y.shape[1]):
            dot += grad[o, j, k] * y[o, j, k]
        for j in range(y.shape[1]):
            out[o, j, k] = y[o, j, k] * (grad[o, j, k] - dot)


@cuda.jit
def _log_softmax_kernel(x, out):
    inner = x.shape[2]
    zero = x.dtype.type(0)
    for column in range(cuda.grid(1), x.shape[0] * inner, cuda.gridsize(1)):
        o, k = column // inner, column % inner
        top = _column_max(x, o, k)
        total = zero
        for j in range(x.shape[1]):
            total += math.exp(x[o, j, k] - top)
        shift = top + math.log(total)
        for j in range(x.shape[1]):
            out[o, j, k] = x[o, j, k] - shift


@cuda.jit
def _log_softmax_backward_kernel(grad, y, out):
    inner = y.shape[2]
    zero = y.dtype.type(0)
    for column in range(cuda.grid(1), y.shape[0] * inner, cuda.gridsize(1)):
        o, k = column // inner, column % inner
        total = zero
        for j in range(y.shape[1]):
            total += grad[o, j, k]
        for j in range(y.shape[1]):
            out[o, j, k] = grad[o, j, k] - math.exp(y[o, j, k]) * total


@cuda.jit
def _logsumexp_kernel(x, out):
    inner = x.shape[2]
    zero = x.dtype.type(0)
    for column in range(cuda.grid(1), x.shape[0] * inner, cuda.gridsize(1)):
        o, k = column // inner, column % inner
        top = _column_max(x, o, k)
        if math.isinf(top):  # torch's rule: all -inf gives -inf, a +inf gives +inf, never NaN
            out[o, k] = top
            continue
        total = zero
        for j in range(x.shape[1]):
            total += math.exp(x[o, j, k] - top)
        out[o, k] = top + math.log(total)


@cuda.jit
def _var_mean_kernel(x, correction, var, mean):
    # two passes (mean, then squared deviations) with float64 sums, as torch's CPU var
    n = x.shape[1]
    inner = x.shape[2]
    dof = max(n - correction, 0.0)
    for column in range(cuda.grid(1), x.shape[0] * inner, cuda.gridsize(1)):
        o, k = column // inner, column % inner
        total = 0.0
        for j in range(n):
            total += x[o, j, k]
        centre = total / n
        squares = 0.0
        for j in range(n):
            deviation = x[o, j, k] - centre
            squares += deviation * deviation
        var[o, k] = squares / dof
        mean[o, k] = centre


def _columns(x):
    return x.shape[0] * x.shape[2]


def softmax(x, out):
    """out = exp(x - max) / sum(exp(x - max)) along axis 1 of (outer, n, inner) arrays."""
    launch(_softmax_kernel, _columns(x), x, out)
    return out


def softmax_backward(grad, y, out):
    """out = y * (grad - sum(grad * y)) along axis 1: softmax's vector-Jacobian product."""
    launch(_softmax_backward_kernel, _columns(y), grad, y, out)
    return out


def log_softmax(x, out):
    """out = x - max - log(sum(exp(x - max))) along axis 1."""
    launch(_log_softmax_kernel, _columns(x), x, out)
    return out


def log_softmax_backward(grad, y, out):
    """out = grad - exp(y) * sum(grad) along axis 1: log_softmax's vector-Jacobian product."""
    launch(_log_softmax_backward_kernel, _columns(y), grad, y, out)
    return out


def logsumexp(x, out):
    """out (outer, inner) = log(sum(exp(x))) along axis 1 of x (outer, n, inner)."""
    launch(_logsumexp_kernel, _columns(x), x, out)
    return out


def var_mean(x, correction, var, mean):
    """var and mean (outer, inner) along axis 1 of x (outer, n, inner); var divides by
    max(0, n - correction)."""
    launch(_var_mean_kernel, _columns(x), x, float(correction), var, mean)
    return var, mean
