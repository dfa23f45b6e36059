"""CPU kernels of the elementwise family: arrays in, an `out` array to fill.

Arithmetic, comparisons and the fused backward chains are Numba ufuncs (`numba.vectorize`):
compiled lazily per dtype, cached on disk, and broadcasting through NumPy's ufunc machinery with
no copies. Transcendental functions (exp, log, tanh, ...) call NumPy's ufuncs instead: llvmlite
ships without SVML, so a Numba loop calls scalar libm and measured 3.5 ms against NumPy's SIMD
0.5 ms for exp on 1e6 float32 (see bench/RESULTS.md) - the same reason matmul goes to BLAS.
Kernel bodies avoid numeric literals: a literal int would promote float32 math to float64.
"""
import math

import numba
import numpy as np

_ufunc = numba.vectorize(cache=True, nopython=True)


# --------------------------------------------------------------------------- binary arithmetic

@_ufunc
def add(a, b):
    return a + b


@_ufunc
def sub(a, b):
    return a - b


@_ufunc
def mul(a, b):
    return a * b


@_ufunc
def div(a, b):
    return a / b


@_ufunc
def maximum(a, b):
    # NaN-propagating, like torch.maximum (Python's max() would drop a NaN in `b`)
    return a if (a >= b or a != a) else b


@_ufunc
def minimum(a, b):
    return a if (a <= b or a != a) else b


def floor_divide(a, b, out=None):
    return np.floor_divide(a, b, out=out)


def remainder(a, b, out=None):
    return np.remainder(a, b, out=out)


def fmod(a, b, out=None):
    return np.fmod(a, b, out=out)


def power(a, b, out=None):
    return np.power(a, b, out=out)


def atan2(a, b, out=None):
    return np.arctan2(a, b, out=out)


# --------------------------------------------------------------------------- comparison, logic

@_ufunc
def eq(a, b):
    return a == b


@_ufunc
def ne(a, b):
    return a != b


@_ufunc
def lt(a, b):
    return a < b


@_ufunc
def le(a, b):
    return a <= b


@_ufunc
def gt(a, b):
    return a > b


@_ufunc
def ge(a, b):
    return a >= b


def logical_and(a, b, out=None):
    return np.logical_and(a, b, out=out)


def logical_or(a, b, out=None):
    return np.logical_or(a, b, out=out)


def logical_xor(a, b, out=None):
    return np.logical_xor(a, b, out=out)


def logical_not(a, out=None):
    return np.logical_not(a, out=out)


def bitwise_and(a, b, out=None):
    return np.bitwise_and(a, b, out=out)


def bitwise_or(a, b, out=None):
    return np.bitwise_or(a, b, out=out)


def bitwise_xor(a, b, out=None):
    return np.bitwise_xor(a, b, out=out)


def bitwise_not(a, out=None):
    return np.invert(a, out=out)


def isnan(a, out=None):
    return np.isnan(a, out=out)


def isinf(a, out=None):
    return np.isinf(a, out=out)


def isfinite(a, out=None):
    return np.isfinite(a, out=out)


# --------------------------------------------------------------------------- unary

@_ufunc
def neg(a):
    return -a


def relu(a, out=None):
    return np.maximum(a, 0, out=out)  # NaN-propagating, and relu(-inf) = 0


def sign(a, out=None):
    return np.sign(a, out=out)


@_ufunc
def square(a):
    return a * a


def abs(a, out=None):
    return np.abs(a, out=out)


def exp(a, out=None):
    return np.exp(a, out=out)


def expm1(a, out=None):
    return np.expm1(a, out=out)


def log(a, out=None):
    return np.log(a, out=out)


def log2(a, out=None):
    return np.log2(a, out=out)


def log10(a, out=None):
    return np.log10(a, out=out)


def log1p(a, out=None):
    return np.log1p(a, out=out)


def sqrt(a, out=None):
    return np.sqrt(a, out=out)


def rsqrt(a, out=None):
    out = np.sqrt(a, out=out)
    return np.reciprocal(out, out=out)


def reciprocal(a, out=None):
    return np.reciprocal(a, out=out)


def sin(a, out=None):
    return np.sin(a, out=out)


def cos(a, out=None):
    return np.cos(a, out=out)


def tan(a, out=None):
    return np.tan(a, out=out)


def tanh(a, out=None):
    return np.tanh(a, out=out)


def sigmoid(a, out=None):
    # 1 / (1 + exp(-a)) in four SIMD passes over `out`, no temporaries
    out = np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def floor(a, out=None):
    return np.floor(a, out=out)


def ceil(a, out=None):
    return np.ceil(a, out=out)


def round(a, out=None):
    return np.round(a, out=out)  # half to even, like torch.round


def trunc(a, out=None):
    return np.trunc(a, out=out)


@_ufunc
def erf(a):
    return math.erf(a)


# --------------------------------------------------------------------------- fused backward chains

@_ufunc
def relu_backward(grad, out):
    return grad * (out > 0)


@_ufunc
def sigmoid_backward(grad, out):
    return grad * (out - out * out)


@_ufunc
def tanh_backward(grad, out):
    return grad - grad * out * out


@_ufunc
def clamp_backward(grad, a, low, high):
    return grad * ((a >= low) & (a <= high))


@_ufunc
def clamp(a, low, high):
    # NaN passes through, like torch.clamp
    return low if a < low else (high if a > high else a)


@_ufunc
def where(cond, a, b):
    return a if cond else b


# --------------------------------------------------------------------------- casts and copies

def cast(a, np_dtype):
    return a.astype(np_dtype)


def copy(src, out):
    np.copyto(out, src, casting="unsafe")
    return out


def sum_to_shape(a, shape):
    """Sum a broadcast result back down to `shape` (the gradient of broadcasting)."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and a.shape[lead + i] != 1)
    summed = np.add.reduce(a, axis=axes, keepdims=True) if axes else a
    return summed.reshape(shape)


def broadcast_to(a, shape):
    return np.broadcast_to(a, shape)


def fill(out, value):
    out.fill(value)
    return out
