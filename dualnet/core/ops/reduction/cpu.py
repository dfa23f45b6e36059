"""CPU kernels of the reduction family: arrays in, an `out` array to fill.

Plain reductions (sum, prod, amax, argmax, all, cumsum...) call NumPy's ufunc reductions: they
sum pairwise (more accurate than a running sum), are SIMD-vectorised and already run at memory
speed, so a Numba loop would only match them.

Softmax, log_softmax, logsumexp and var are fused Numba kernels over an (outer, n, inner) view
of a contiguous input, the reduced axis in the middle (inner == 1 is the common case): one
compiled loop nest reads each row two or three times while it sits in L1, where NumPy would
make a temporary per step. Their exp is `_exp` below, a polynomial LLVM vectorises: Numba's
`math.exp` is scalar libm (llvmlite ships without SVML, 3.5 ms per 1e6 float32), and NumPy's
SIMD `np.exp` (0.45 ms) would need a pass of its own; `_exp` inside the loop costs 0.3 ms per
1e6 and no extra pass. Each fused kernel has a serial and a `parallel=True` build, picked by
size (`_two_builds`): waking the thread pool costs ~2.4 us and only pays above
config.PARALLEL_MIN_ELEMENTS.
Kernel bodies hold no numeric literals: a Python float would promote float32 math to float64.
"""
import builtins
import math

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

from ...config import EXP_FASTMATH, REDUCTION_FASTMATH
from .._kernels import two_builds
from ..elementwise.cpu import _relu_grad

_FASTMATH = set(REDUCTION_FASTMATH)


# --------------------------------------------------------------------------- plain reductions

def _leading_rows(a, axes, out):
    """(rows, cols) when `axes` are a's leading axes over rows of at most _SHORT_ROW floats
    (a bias gradient: the (N, H, W) of (N, H, W, C)): NumPy adds such rows one at a time, at
    ~30 ns a row (3.7 ms for (128, 26, 26, 32) float32, where `_sum_leading` takes ~0.6 ms)."""
    k = len(axes)
    if (0 < k < a.ndim and axes == tuple(range(k)) and a.dtype == out.dtype
            and a.dtype.kind == "f" and a.dtype.itemsize >= 4 and a.flags.c_contiguous):
        cols = a.size // max(1, math.prod(a.shape[:k]))
        rows = a.size // cols if cols else 0
        if 0 < cols <= _SHORT_ROW and rows >= _MANY_ROWS:
            return rows, cols
    return None


_SHORT_ROW, _MANY_ROWS = 1024, 64


@numba.njit(cache=True)
def _sum_leading(a, out, relu_output=None, masked=None):
    """out[c] = sum over r of a[r, c], accumulated in float64 (as exact as NumPy's pairwise
    sum, and each row one vectorised pass over the accumulator). Given `relu_output`, a first
    goes through relu's backward (`_relu_grad`), written to `masked`: the input and bias
    gradients of a layer fused with relu in one pass (each use compiles its own loop)."""
    acc = np.zeros(a.shape[1], np.float64)
    for r in range(a.shape[0]):
        row = a[r]
        if relu_output is None:
            for c in range(acc.size):
                acc[c] += row[c]
        else:
            o, dst = relu_output[r], masked[r]
            for c in range(acc.size):
                value = _relu_grad(row[c], o[c])
                dst[c] = value
                acc[c] += value
    for c in range(acc.size):
        out[c] = acc[c]


def sum(a, axes, keepdims, out):
    shape = _leading_rows(a, axes, out)
    if shape is not None:
        _sum_leading(a.reshape(shape), out.reshape(shape[1]))
        return out
    return np.add.reduce(a, axis=axes, dtype=out.dtype, keepdims=keepdims, out=out)


def mean(a, axes, keepdims, count, out):
    sum(a, axes, keepdims, out)
    with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as in torch
        return np.divide(out, out.dtype.type(count), out=out)


def prod(a, axes, keepdims, out):
    return np.multiply.reduce(a, axis=axes, dtype=out.dtype, keepdims=keepdims, out=out)


def amax(a, axes, keepdims, out):
    return np.maximum.reduce(a, axis=axes, keepdims=keepdims, out=out)  # NaN-propagating


def amin(a, axes, keepdims, out):
    return np.minimum.reduce(a, axis=axes, keepdims=keepdims, out=out)


def argmax(a, axis, keepdims, out):
    return np.argmax(a, axis=axis, keepdims=keepdims, out=out)  # a NaN counts as the maximum


def argmin(a, axis, keepdims, out):
    return np.argmin(a, axis=axis, keepdims=keepdims, out=out)


def take_along(a, indices, axis):
    """a's values at `indices` (keepdims-shaped) along `axis`: max/min(dim)'s values."""
    return np.take_along_axis(a, indices, axis=axis)


def one_hot(indices, axis, shape, dtype):
    """Zeros of `shape` with a one at each index along `axis`: where max(dim) sends its grad."""
    out = np.zeros(shape, dtype)
    np.put_along_axis(out, indices, out.dtype.type(1), axis=axis)
    return out


def all(a, axes, keepdims, out):
    return np.all(a, axis=axes, keepdims=keepdims, out=out)


def any(a, axes, keepdims, out):
    return np.any(a, axis=axes, keepdims=keepdims, out=out)


def count_nonzero(a, axes, out):
    out[...] = np.count_nonzero(a, axis=axes)
    return out


def cumsum(a, axis, reverse, out):
    if reverse:  # the gradient of cumsum: sums from the end, through reversed views
        flip = (slice(None),) * axis + (slice(None, None, -1),)
        np.cumsum(a[flip], axis=axis, dtype=out.dtype, out=out[flip])
        return out
    return np.cumsum(a, axis=axis, dtype=out.dtype, out=out)


def norm(a, p, axes, keepdims, out):
    """The vector p-norm over `axes`: max |a| for p = inf, min for -inf, the nonzero count
    for 0, sqrt(sum(a * a)) for 2, (sum |a| ** p) ** (1 / p) otherwise."""
    if p == 2:
        np.add.reduce(np.multiply(a, a), axis=axes, keepdims=keepdims, out=out)
        return np.sqrt(out, out=out)
    if math.isinf(p):
        reduce = np.maximum.reduce if p > 0 else np.minimum.reduce
        return reduce(np.abs(a), axis=axes, keepdims=keepdims, out=out)
    if p == 0:
        out[...] = np.count_nonzero(a, axis=axes, keepdims=keepdims)
        return out
    np.add.reduce(np.abs(a) ** a.dtype.type(p), axis=axes, keepdims=keepdims, out=out)
    return np.power(out, out.dtype.type(1.0 / p), out=out)


# --------------------------------------------------------------------------- scalar helpers

@intrinsic
def _bitcast_float(typingctx, bits):
    """Reinterpret int32 / int64 bits as float32 / float64 (builds 2**n inside `_exp`)."""
    target = types.float32 if bits.bitwidth == 32 else types.float64
    sig = target(bits)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@intrinsic
def _maximum(typingctx, a, b):
    """llvm.maximum: NaN-propagating max (torch's semantics) that LLVM vectorises in a reduction,
    which a compare-and-select loop is not (measured 43 us against 275 us on 512x1000)."""
    sig = a(a, b)

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        fn = builder.module.declare_intrinsic("llvm.maximum", [ty], ir.FunctionType(ty, [ty, ty]))
        return builder.call(fn, args)

    return sig, codegen


# exp(x) = 2**n * exp(r), n = round(x / ln 2), |r| <= ln(2)/2 (Cody-Waite: ln 2 split in a
# high part with trailing zero bits, so n * LN2_HI is exact). float32: Cephes expf's polynomial
# (under 1 ulp); float64: Taylor to degree 13 (truncation < 1e-17). The kernels only take exp
# of x - max(x) or of log-probabilities, so the domain is x <= 88 (float32; 709 for float64),
# and results under the smallest normal number flush to 0: next to the row's exp(0) = 1 they
# change no sum, and skipping the subnormal case makes the kernels 15% faster.
_F32 = dict(lo=np.float32(-87.33654), log2e=np.float32(1.4426950408889634),
            ln2_hi=np.float32(0.693359375), ln2_lo=np.float32(-2.12194440e-4),
            half=np.float32(0.5), one=np.float32(1.0), zero=np.float32(0.0), bias=np.int32(127),
            shift=np.int32(23), coeffs=tuple(np.float32(c) for c in (
                1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                1.6666665459e-1, 5.0000001201e-1)))
_F64 = dict(lo=np.float64(-708.3964185322641), log2e=np.float64(1.4426950408889634),
            ln2_hi=np.float64(6.93147180369123816490e-01),
            ln2_lo=np.float64(1.90821492927058770002e-10),
            half=np.float64(0.5), one=np.float64(1.0), zero=np.float64(0.0), bias=np.int64(1023),
            shift=np.int64(52),
            coeffs=tuple(np.float64(1.0 / math.factorial(k)) for k in range(13, 1, -1)))


def _make_exp(c):
    lo, log2e, ln2_hi, ln2_lo, half = c["lo"], c["log2e"], c["ln2_hi"], c["ln2_lo"], c["half"]
    one, zero, bias, shift, coeffs = c["one"], c["zero"], c["bias"], c["shift"], c["coeffs"]
    int_type = type(bias)

    def exp(x):
        clamped = lo if x < lo else x  # NaN fails the test and stays NaN
        n_float = np.floor(clamped * log2e + half)
        r = clamped - n_float * ln2_hi - n_float * ln2_lo
        p = coeffs[0]
        for k in coeffs[1:]:
            p = p * r + k
        p = p * r * r + r + one
        scaled = p * _bitcast_float(int_type((int_type(n_float) + bias) << shift))
        return zero if x < lo else scaled

    return exp


_exp32 = _make_exp(_F32)
_exp64 = _make_exp(_F64)


def _exp(x):
    raise NotImplementedError  # typed by the overload below, inside Numba only


@overload(_exp, jit_options={"fastmath": set(EXP_FASTMATH)})
def _exp_overload(x):
    if x == types.float32:
        return _exp32
    if x == types.float64:
        return _exp64
    return None


# --------------------------------------------------------------------------- fused row kernels
# Row kernels: inner == 1, a C-contiguous (rows, n) array reduced along axis 1; each row is read
# two or three times while it sits in L1.

# serial + parallel builds of each row kernel (see _kernels.two_builds)
_two_builds = two_builds(fastmath=_FASTMATH, error_model="numpy")


@_two_builds
def _softmax_rows(x, out):
    one = x.dtype.type(1)
    for row in prange(x.shape[0]):
        top = x[row, 0]
        for j in range(1, x.shape[1]):
            top = _maximum(top, x[row, j])
        total = x.dtype.type(0)
        for j in range(x.shape[1]):
            e = _exp(x[row, j] - top)
            out[row, j] = e
            total += e
        scale = one / total
        for j in range(x.shape[1]):
            out[row, j] *= scale


@_two_builds
def _softmax_backward_rows(grad, y, out):
    for row in prange(y.shape[0]):
        dot = y.dtype.type(0)
        for j in range(y.shape[1]):
            dot += grad[row, j] * y[row, j]
        for j in range(y.shape[1]):
            out[row, j] = y[row, j] * (grad[row, j] - dot)


@_two_builds
def _log_softmax_rows(x, out):
    for row in prange(x.shape[0]):
        top = x[row, 0]
        for j in range(1, x.shape[1]):
            top = _maximum(top, x[row, j])
        total = x.dtype.type(0)
        for j in range(x.shape[1]):
            total += _exp(x[row, j] - top)
        shift = top + math.log(total)
        for j in range(x.shape[1]):
            out[row, j] = x[row, j] - shift


@_two_builds
def _log_softmax_backward_rows(grad, y, out):
    for row in prange(y.shape[0]):
        total = y.dtype.type(0)
        for j in range(y.shape[1]):
            total += grad[row, j]
        for j in range(y.shape[1]):
            out[row, j] = grad[row, j] - _exp(y[row, j]) * total


@_two_builds
def _logsumexp_rows(x, out):
    zero = x.dtype.type(0)
    for row in prange(x.shape[0]):
        top = x[row, 0]
        for j in range(1, x.shape[1]):
            top = _maximum(top, x[row, j])
        if math.isinf(top):  # torch's rule: all -inf gives -inf, a +inf gives +inf, never NaN
            out[row] = top
            continue
        total = zero
        for j in range(x.shape[1]):
            total += _exp(x[row, j] - top)
        out[row] = top + math.log(total)


@_two_builds
def _var_mean_rows(x, correction, var, mean):
    # two passes (mean, then squared deviations) with float64 sums, as torch's CPU var
    # accumulates in double: a large mean costs no accuracy
    n = x.shape[1]
    dof = max(n - correction, 0.0)
    for row in prange(x.shape[0]):
        total = 0.0
        for j in range(n):
            total += x[row, j]
        centre = total / n
        squares = 0.0
        for j in range(n):
            deviation = x[row, j] - centre
            squares += deviation * deviation
        var[row] = squares / dof
        mean[row] = centre


# Column kernels: the same math for inner > 1, vectorised across a block of adjacent columns of
# (outer, n, inner) with per-column running values; the tasks (one per outer index and column
# block) run in parallel, so softmax over dim 0 of a matrix still uses every core.
_BLOCK = 512  # columns per task at most: the running values stay in L1


def _block_size(outer, inner):
    """Columns per task: up to _BLOCK, fewer when that leaves a thread without a task."""
    threads = numba.get_num_threads()
    if outer >= threads:
        return _BLOCK
    per_task = -(-inner // -(-threads // outer))
    return builtins.max(16, builtins.min(_BLOCK, -(-per_task // 16) * 16))


@numba.njit(inline="always")
def _block(task, blocks, block, inner):
    start = (task % blocks) * block
    return task // blocks, start, min(start + block, inner)


@numba.njit(inline="always")
def _column_max(x, o, start, stop):
    top = x[o, 0, start:stop].copy()
    for j in range(1, x.shape[1]):
        row = x[o, j, start:stop]  # 1-d unit-stride views: indexing the 3-d array directly
        for i in range(top.size):  # in the inner loop does not vectorise (5x slower)
            top[i] = _maximum(top[i], row[i])
    return top


@_two_builds
def _softmax_cols(x, block, out):
    blocks = (x.shape[2] + block - 1) // block
    one = x.dtype.type(1)
    for task in prange(x.shape[0] * blocks):
        o, start, stop = _block(task, blocks, block, x.shape[2])
        top = _column_max(x, o, start, stop)
        total = np.zeros_like(top)
        for j in range(x.shape[1]):
            row, out_row = x[o, j, start:stop], out[o, j, start:stop]
            for i in range(top.size):
                e = _exp(row[i] - top[i])
                out_row[i] = e
                total[i] += e
        for i in range(top.size):
            total[i] = one / total[i]
        for j in range(x.shape[1]):
            out_row = out[o, j, start:stop]
            for i in range(top.size):
                out_row[i] *= total[i]


@_two_builds
def _softmax_backward_cols(grad, y, block, out):
    blocks = (y.shape[2] + block - 1) // block
    for task in prange(y.shape[0] * blocks):
        o, start, stop = _block(task, blocks, block, y.shape[2])
        dot = np.zeros(stop - start, y.dtype)
        for j in range(y.shape[1]):
            g_row, y_row = grad[o, j, start:stop], y[o, j, start:stop]
            for i in range(dot.size):
                dot[i] += g_row[i] * y_row[i]
        for j in range(y.shape[1]):
            g_row, y_row = grad[o, j, start:stop], y[o, j, start:stop]
            out_row = out[o, j, start:stop]
            for i in range(dot.size):
                out_row[i] = y_row[i] * (g_row[i] - dot[i])


@_two_builds
def _log_softmax_cols(x, block, out):
    blocks = (x.shape[2] + block - 1) // block
    for task in prange(x.shape[0] * blocks):
        o, start, stop = _block(task, blocks, block, x.shape[2])
        shift = _column_max(x, o, start, stop)
        total = np.zeros_like(shift)
        for j in range(x.shape[1]):
            row = x[o, j, start:stop]
            for i in range(shift.size):
                total[i] += _exp(row[i] - shift[i])
        for i in range(shift.size):
            shift[i] += math.log(total[i])
        for j in range(x.shape[1]):
            row, out_row = x[o, j, start:stop], out[o, j, start:stop]
            for i in range(shift.size):
                out_row[i] = row[i] - shift[i]


@_two_builds
def _log_softmax_backward_cols(grad, y, block, out):
    blocks = (y.shape[2] + block - 1) // block
    for task in prange(y.shape[0] * blocks):
        o, start, stop = _block(task, blocks, block, y.shape[2])
        total = np.zeros(stop - start, y.dtype)
        for j in range(y.shape[1]):
            g_row = grad[o, j, start:stop]
            for i in range(total.size):
                total[i] += g_row[i]
        for j in range(y.shape[1]):
            g_row, y_row = grad[o, j, start:stop], y[o, j, start:stop]
            out_row = out[o, j, start:stop]
            for i in range(total.size):
                out_row[i] = g_row[i] - _exp(y_row[i]) * total[i]


@_two_builds
def _logsumexp_cols(x, block, out):
    blocks = (x.shape[2] + block - 1) // block
    zero = x.dtype.type(0)
    for task in prange(x.shape[0] * blocks):
        o, start, stop = _block(task, blocks, block, x.shape[2])
        top = _column_max(x, o, start, stop)
        infinite = np.isinf(top)
        shift = np.where(infinite, zero, top)  # a +-inf column is answered below, not summed
        total = np.zeros_like(top)
        for j in range(x.shape[1]):
            row = x[o, j, start:stop]
            for i in range(top.size):
                total[i] += _exp(row[i] - shift[i])
        out_row = out[o, start:stop]
        for i in range(top.size):
            out_row[i] = top[i] if infinite[i] else shift[i] + math.log(total[i])


@_two_builds
def _var_mean_cols(x, block, correction, var, mean):
    n = x.shape[1]
    dof = max(n - correction, 0.0)
    blocks = (x.shape[2] + block - 1) // block
    for task in prange(x.shape[0] * blocks):
        o, start, stop = _block(task, blocks, block, x.shape[2])
        centre = np.zeros(stop - start)
        for j in range(n):
            row = x[o, j, start:stop]
            for i in range(centre.size):
                centre[i] += row[i]
        for i in range(centre.size):
            centre[i] /= n
        squares = np.zeros(stop - start)
        for j in range(n):
            row = x[o, j, start:stop]
            for i in range(centre.size):
                deviation = row[i] - centre[i]
                squares[i] += deviation * deviation
        var_row, mean_row = var[o, start:stop], mean[o, start:stop]
        for i in range(centre.size):
            var_row[i] = squares[i] / dof
            mean_row[i] = centre[i]


def _rows(x3):
    """(outer, n, 1) -> (outer, n), a free reshape."""
    return x3.reshape(x3.shape[0], x3.shape[1])


def softmax(x, out):
    """out = exp(x - max) / sum(exp(x - max)) along axis 1 of (outer, n, inner) arrays."""
    if x.shape[2] == 1:
        _softmax_rows(_rows(x), _rows(out))
    else:
        _softmax_cols(x, _block_size(x.shape[0], x.shape[2]), out)
    return out


def softmax_backward(grad, y, out):
    """out = y * (grad - sum(grad * y)) along axis 1: softmax's vector-Jacobian product."""
    if y.shape[2] == 1:
        _softmax_backward_rows(_rows(grad), _rows(y), _rows(out))
    else:
        _softmax_backward_cols(grad, y, _block_size(y.shape[0], y.shape[2]), out)
    return out


def log_softmax(x, out):
    """out = x - max - log(sum(exp(x - max))) along axis 1."""
    if x.shape[2] == 1:
        _log_softmax_rows(_rows(x), _rows(out))
    else:
        _log_softmax_cols(x, _block_size(x.shape[0], x.shape[2]), out)
    return out


def log_softmax_backward(grad, y, out):
    """out = grad - exp(y) * sum(grad) along axis 1: log_softmax's vector-Jacobian product."""
    if y.shape[2] == 1:
        _log_softmax_backward_rows(_rows(grad), _rows(y), _rows(out))
    else:
        _log_softmax_backward_cols(grad, y, _block_size(y.shape[0], y.shape[2]), out)
    return out


def logsumexp(x, out):
    """out (outer, inner) = log(sum(exp(x))) along axis 1 of x (outer, n, inner)."""
    if x.shape[2] == 1:
        _logsumexp_rows(_rows(x), out.reshape(-1))
    else:
        _logsumexp_cols(x, _block_size(x.shape[0], x.shape[2]), out)
    return out


def var_mean(x, correction, var, mean):
    """var and mean (outer, inner) along axis 1 of x (outer, n, inner); var divides by
    max(0, n - correction)."""
    if x.shape[2] == 1:
        _var_mean_rows(_rows(x), float(correction), var.reshape(-1), mean.reshape(-1))
    else:
        _var_mean_cols(x, _block_size(x.shape[0], x.shape[2]), float(correction), var, mean)
    return var, mean
