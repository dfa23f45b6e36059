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


def _ufunc(py_func):
    """A Numba ufunc compiled lazily (and cached on disk) for each combination of input dtypes.

    One `numba.vectorize` ufunc collects loops as it meets new dtypes, and NumPy then runs the
    first loop the inputs can be safely cast to: once a float64 loop exists, int64 inputs would be
    added through float64 (wrong beyond 2**53) and an in-place uint8 update fails to cast back.
    So each dtype combination gets its own single-loop ufunc, called as a plain NumPy ufunc
    (which also skips the ~1.5 us of Numba's Python-level `DUFunc.__call__`).
    """
    loops = {}  # input dtypes -> NumPy ufunc with exactly one loop, for those dtypes

    def loop_for(args):
        key = tuple(getattr(a, "dtype", None) or type(a) for a in args)
        found = loops.get(key)
        if found is None:
            compiled = numba.vectorize(cache=True, nopython=True)(py_func)
            compiled.add(tuple(numba.typeof(a).dtype if isinstance(a, np.ndarray) else
                               numba.typeof(a) for a in args))
            found = loops[key] = compiled.ufunc
        return found

    if py_func.__code__.co_argcount == 1:
        def kernel(a, out=None):
            try:
                loop = loops[(a.dtype,)]
            except (KeyError, AttributeError):
                loop = loop_for((a,))
            return loop(a) if out is None else loop(a, out=out)
    elif py_func.__code__.co_argcount == 2:
        def kernel(a, b, out=None):
            try:
                loop = loops[a.dtype, b.dtype]
            except (KeyError, AttributeError):
                loop = loop_for((a, b))
            return loop(a, b) if out is None else loop(a, b, out=out)
    else:
        def kernel(*args, out=None):
            loop = loop_for(args)
            return loop(*args) if out is None else loop(*args, out=out)

    kernel.__name__ = kernel.__qualname__ = py_func.__name__
    kernel.__doc__ = py_func.__doc__
    return kernel


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
    out = np.asarray(np.sign(a, out=out))  # a 0-d input gives a NumPy scalar back
    if out.dtype.kind == "f":  # torch's sign is (0 < a) - (a < 0): NaN gives 0
        np.copyto(out, 0, where=np.isnan(out))
    return out


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

@numba.njit(cache=True, inline="always")
def _relu_grad(grad, out):
    """relu's backward for one element, torch's threshold_backward: the gradient passes where
    the output is positive or NaN (also inlined into fused kernels of other families)."""
    return grad * (not out <= 0)


@_ufunc
def relu_backward(grad, out):
    return _relu_grad(grad, out)


@_ufunc
def sigmoid_backward(grad, out):
    return grad * (out - out * out)


@_ufunc
def tanh_backward(grad, out):
    return grad - grad * out * out


def clamp_backward(*args, out=None):
    """clamp_backward(grad, a, low, high): grad where low <= a <= high, else 0 (a NaN input
    gets 0), in NumPy for the reason `clamp` is (~3x faster than the Numba ufunc with scalar
    bounds)."""
    grad, a, low, high = args
    inside = np.greater_equal(a, low)
    inside &= np.less_equal(a, high)
    return np.multiply(grad, inside, out=out)


def clamp(*args, out=None):
    """clamp(a, low, high): min(max(a, low), high) as torch.clamp (a NaN in a or a bound
    passes through, low > high gives high). NumPy's maximum / minimum are exactly that, and
    run ~5x faster than a Numba ufunc with scalar bounds (its broadcast loop does not
    vectorize). The signature is the element-wise kernels' (`out` optional)."""
    a, low, high = args
    lifted = np.maximum(a, low, out=out)
    if not isinstance(lifted, np.ndarray):  # 0-d operands give a NumPy scalar
        return np.asarray(np.minimum(lifted, high))
    return np.minimum(lifted, high, out=lifted)


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
