"""CPU kernels of the loss family: arrays in, an `out` array to fill (totals returned).

Class-index losses (cross_entropy, nll_loss) are fused Numba row kernels over a C-contiguous
(rows, classes) array: cross_entropy's forward takes each row's max and sum of exponentials
while the row sits in L1 and writes only the row's logsumexp and loss, never a log_softmax
tensor; its backward recomputes exp(x - logsumexp) and writes softmax - onehot (smoothed,
weighted) straight into the gradient. The exp is the reduction family's `_exp`, a polynomial
LLVM vectorises (Numba's `math.exp` is scalar libm, ~7x slower on float32), and the rows run
in parallel above config.PARALLEL_MIN_ELEMENTS through the reduction family's serial/parallel
builds (`_two_builds`).
Regression losses (mse, l1, smooth_l1, huber) are one flat loop each way, the loss picked by a
`kind` code; the reduced forms sum in float64 (vectorised: 'reassoc') without materialising
the elementwise loss. Binary cross-entropy is NumPy passes: its log / log1p / exp are SIMD in
NumPy and scalar libm in Numba.
Kernel bodies hold no numeric literals in float32 arithmetic (a Python float would promote it).
"""
import math

import numba
import numpy as np
from numba import prange

from ...config import PARALLEL_MIN_ELEMENTS, REDUCTION_FASTMATH
from ..reduction.cpu import _exp, _maximum, _two_builds

_FASTMATH = set(REDUCTION_FASTMATH)

# kind codes of the regression kernels (ops.py holds the same numbers: it never imports this)
MSE, L1, SMOOTH_L1, HUBER = 0, 1, 2, 3


def _build(kernel, x):
    return kernel.parallel if x.size >= PARALLEL_MIN_ELEMENTS else kernel.serial


# --------------------------------------------------------------------------- class indices

@numba.njit(cache=True)
def first_out_of_range(target, ignore_index, n_classes):
    """The position of the first target outside [0, n_classes) that is not ignore_index, or -1."""
    for i in range(target.size):
        t = target[i]
        if (t < 0 or t >= n_classes) and t != ignore_index:
            return i
    return -1


@_two_builds
def _cross_entropy_rows(x, target, weight, ignore_index, smoothing, lse, loss):
    # loss_i = -sum_c coef_ic * log_softmax(x_i)_c with coef_ic = (1 - smoothing) * w[t_i] *
    # [c == t_i] + smoothing / C * w_c (torch's label smoothing); -log_softmax = (top - x) + log s
    n = x.shape[1]
    zero = x.dtype.type(0)
    on_target = x.dtype.type(1) - smoothing
    spread = smoothing / x.dtype.type(n)
    weight_sum = zero
    for j in range(n):
        weight_sum += weight[j]
    total = 0.0  # float64 accumulators: the batch sum is exact to float32 rounding
    total_weight = 0.0
    for row in prange(x.shape[0]):
        t = target[row]
        if t == ignore_index:
            lse[row] = zero
            loss[row] = zero
        else:
            top = x[row, 0]
            for j in range(1, n):
                top = _maximum(top, x[row, j])
            s = zero
            for j in range(n):
                s += _exp(x[row, j] - top)
            log_s = math.log(s)
            lse[row] = top + log_s
            w = weight[t]
            row_loss = on_target * w * ((top - x[row, t]) + log_s)
            if spread != zero:
                dot = zero
                for j in range(n):
                    dot += weight[j] * (top - x[row, j])
                row_loss += spread * (dot + weight_sum * log_s)
            loss[row] = row_loss
            total += row_loss
            total_weight += w
    return total, total_weight


@_two_builds
def _cross_entropy_backward_rows(x, target, weight, lse, ignore_index, smoothing, grad, out):
    # d loss_i / d x_ic = softmax_ic * sum_c' coef_ic' - coef_ic, times the row's upstream grad
    n = x.shape[1]
    zero = x.dtype.type(0)
    on_target = x.dtype.type(1) - smoothing
    spread = smoothing / x.dtype.type(n)
    weight_sum = zero
    for j in range(n):
        weight_sum += weight[j]
    for row in prange(x.shape[0]):
        t = target[row]
        if t == ignore_index:
            for j in range(n):
                out[row, j] = zero
        else:
            g = grad[row]
            w = weight[t]
            scale = g * (on_target * w + spread * weight_sum)
            shift = lse[row]
            if spread == zero:
                for j in range(n):
                    out[row, j] = scale * _exp(x[row, j] - shift)
            else:
                smooth = g * spread
                for j in range(n):
                    out[row, j] = scale * _exp(x[row, j] - shift) - smooth * weight[j]
            out[row, t] -= g * on_target * w


def cross_entropy(x, target, weight, ignore_index, smoothing, lse, loss):
    """Row losses of log_softmax + NLL into `loss` and logsumexps into `lse` (both (rows,)) for
    x (rows, classes) and int64 targets; returns (sum of losses, sum of target weights), both
    over the rows whose target is not ignore_index. `smoothing` has x's dtype."""
    return _build(_cross_entropy_rows, x)(x, target, weight, ignore_index, smoothing, lse, loss)


def cross_entropy_backward(x, target, weight, lse, ignore_index, smoothing, grad, out):
    """out (rows, classes) = grad_i * (softmax - smoothed weighted onehot); ignored rows 0."""
    _build(_cross_entropy_backward_rows, x)(x, target, weight, lse, ignore_index, smoothing,
                                            grad, out)
    return out


@numba.njit(cache=True)
def nll_loss(x, target, weight, ignore_index, loss):
    """loss_i = -w[t_i] * x[i, t_i] (0 where ignored); returns (sum, sum of target weights)."""
    zero = x.dtype.type(0)
    total = 0.0
    total_weight = 0.0
    for row in range(x.shape[0]):
        t = target[row]
        if t == ignore_index:
            loss[row] = zero
        else:
            w = weight[t]
            loss[row] = -w * x[row, t]
            total += loss[row]
            total_weight += w
    return total, total_weight


@numba.njit(cache=True)
def nll_loss_backward(target, weight, ignore_index, grad, out):
    """out (rows, classes), zero-filled by the caller, gets -grad_i * w[t_i] at each target."""
    for row in range(target.shape[0]):
        t = target[row]
        if t != ignore_index:
            out[row, t] = -grad[row] * weight[t]
    return out


# --------------------------------------------------------------------------- regression

@numba.njit(inline="always")
def _pointwise(kind, d, param, half):
    a = abs(d)
    if kind == 0:
        return d * d
    if kind == 1:
        return a
    if kind == 2:  # smooth_l1, param = beta > 0
        return half * d * d / param if a < param else a - half * param
    return half * d * d if a < param else param * (a - half * param)  # huber, param = delta


@numba.njit(inline="always")
def _pointwise_grad(kind, d, param, one):
    if kind == 0:
        return d + d
    sign = one if d > 0 else (-one if d < 0 else d * one)  # sign(0) = 0, sign(NaN) = NaN
    if kind == 1:
        return sign
    if kind == 2:
        return d / param if abs(d) < param else sign
    return d if abs(d) < param else param * sign


@numba.njit(cache=True, fastmath={"contract"})
def regression(x, t, kind, param, out):
    """out = loss(x - t) elementwise on flat arrays; kind: MSE, L1, SMOOTH_L1 (param = beta),
    HUBER (param = delta)."""
    half = x.dtype.type(0.5)
    for i in range(x.size):
        out[i] = _pointwise(kind, x[i] - t[i], param, half)
    return out


@numba.njit(cache=True, fastmath=_FASTMATH)
def regression_sum(x, t, kind, param):
    """sum(loss(x - t)) in float64, with no elementwise array."""
    half = x.dtype.type(0.5)
    total = 0.0
    for i in range(x.size):
        total += _pointwise(kind, x[i] - t[i], param, half)
    return total


@numba.njit(cache=True, fastmath={"contract"})
def regression_backward(x, t, kind, param, grad, grad_step, out):
    """out = grad[i * grad_step] * loss'(x - t): grad_step 0 broadcasts one reduced gradient."""
    one = x.dtype.type(1)
    for i in range(x.size):
        out[i] = grad[i * grad_step] * _pointwise_grad(kind, x[i] - t[i], param, one)
    return out


# --------------------------------------------------------------------------- binary
# NumPy passes, not Numba loops: log, log1p, exp and logaddexp are SIMD in NumPy and scalar
# libm in Numba. Weights (and pos_weight) broadcast against x; grad may be 0-d (a reduction's).

def binary_cross_entropy(x, t, weight, out):
    """out = -w (t max(log x, -100) + (1 - t) max(log(1 - x), -100)), torch's clamped form."""
    one, floor = x.dtype.type(1), x.dtype.type(-100)
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped
        log_x = np.maximum(np.log(x), floor)
        log_not_x = np.maximum(np.log1p(-x), floor)
    np.subtract(t, one, out=out)
    out *= log_not_x
    log_x *= t
    out -= log_x
    if weight is not None:
        out *= weight
    return out


def binary_cross_entropy_backward(x, t, weight, grad, eps, wants_input, wants_target):
    """(grad_input, grad_target), each None unless wanted: grad w (x - t) / max(x (1 - x), eps)
    (torch's form, finite at 0 and 1) and grad w (log(1 - x) - log x) = -logit(x) (unclamped)."""
    one = x.dtype.type(1)
    scale = grad if weight is None else grad * weight
    grad_input = grad_target = None
    if wants_input:
        grad_input = (x - t) * scale / np.maximum(x * (one - x), x.dtype.type(eps))
    if wants_target:
        with np.errstate(divide="ignore"):
            grad_target = (np.log1p(-x) - np.log(x)) * scale
    return grad_input, grad_target


def _softplus_of_negative(x):
    """softplus(-x) = log1p(exp(-|x|)) + max(-x, 0) = -logsigmoid(x), never overflowing; in
    NumPy passes (np.logaddexp(0, -x) is scalar code, ~10x slower)."""
    out = np.abs(x)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(-x, x.dtype.type(0))
    return out


def _sigmoid(x):
    with np.errstate(over="ignore"):  # exp(-x) = inf gives 1 / inf = 0, as torch's sigmoid
        out = np.exp(-x)
    out += x.dtype.type(1)
    return np.reciprocal(out, out=out)


def binary_cross_entropy_with_logits(x, t, weight, pos_weight, out):
    """out = w ((1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)); weight and pos_weight may
    be None."""
    one = x.dtype.type(1)
    softplus = _softplus_of_negative(x)
    if pos_weight is not None:
        softplus *= (pos_weight - one) * t + one
    np.subtract(one, t, out=out)
    out *= x
    out += softplus
    if weight is not None:
        out *= weight
    return out


def binary_cross_entropy_with_logits_backward(x, t, weight, pos_weight, grad, wants_input,
                                              wants_target):
    """(grad_input, grad_target): grad w (lw sigmoid(x) - p t), lw = 1 + (p - 1) t, and
    grad w ((p - 1) softplus(-x) - x); p = pos_weight (1 when None)."""
    one = x.dtype.type(1)
    scale = grad if weight is None else grad * weight
    grad_input = grad_target = None
    if pos_weight is None:
        if wants_input:
            grad_input = _sigmoid(x)
            grad_input -= t
            grad_input *= scale
        if wants_target:
            grad_target = -x * scale
    else:
        if wants_input:
            grad_input = (((pos_weight - one) * t + one) * _sigmoid(x) - pos_weight * t) * scale
        if wants_target:
            grad_target = ((pos_weight - one) * _softplus_of_negative(x) - x) * scale
    return grad_input, grad_target
