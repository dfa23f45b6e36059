"""CUDA kernels of the loss family, the twins of cpu.py: arrays in, an `out` array to fill
(totals returned as Python floats, as cpu.py returns them).

Class-index losses are numba.cuda row kernels over a C-contiguous (rows, classes) array, one
thread per row: cross_entropy's forward writes each row's logsumexp and loss (never a
log_softmax tensor), its backward recomputes exp(x - logsumexp) into the gradient; the batch
totals are array-module sums of the row arrays. Regression losses and binary cross-entropy
(plain and with logits) are one grid-stride map each way, the regression loss picked by a
`kind` code (cpu.MSE, ...).
"""
import math

import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import flat_operand, launch

xp = cuda_array_module()

MSE, L1, SMOOTH_L1, HUBER = 0, 1, 2, 3


# --------------------------------------------------------------------------- class indices

@cuda.jit
def _out_of_range(target, ignore_index, n_classes, first):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, target.size, stride):
        t = target[i]
        if (t < 0 or t >= n_classes) and t != ignore_index:
            cuda.atomic.min(first, 0, i)


def first_out_of_range(target, ignore_index, n_classes):
    """The position of the first target outside [0, n_classes) that is not ignore_index, or -1."""
    first = xp.full(1, target.size, np.int64)
    launch(_out_of_range, target.size, target, ignore_index, n_classes, first)
    position = int(first[0])  # the op raises on it: one scalar read back
    return -1 if position == target.size else position


@cuda.jit
def _cross_entropy_rows(x, target, weight, ignore_index, smoothing, lse, loss, row_weight):
    # loss_i = -sum_c coef_ic * log_softmax(x_i)_c, coef_ic = (1 - smoothing) * w[t_i] *
    # [c == t_i] + smoothing / C * w_c; -log_softmax = (top - x) + log s
    n = x.shape[1]
    on_target = 1 - smoothing
    spread = smoothing / n
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for row in range(start, x.shape[0], stride):
        t = target[row]
        if t == ignore_index:
            lse[row] = 0
            loss[row] = 0
            row_weight[row] = 0
            continue
        top = x[row, 0]
        for j in range(1, n):
            value = x[row, j]
            if value > top or value != value:
                top = value
        s = 0.0
        for j in range(n):
            s += math.exp(x[row, j] - top)
        log_s = math.log(s)
        lse[row] = top + log_s
        w = weight[t]
        row_loss = on_target * w * ((top - x[row, t]) + log_s)
        if spread != 0:
            dot = 0.0
            weight_sum = 0.0
            for j in range(n):
                dot += weight[j] * (top - x[row, j])
                weight_sum += weight[j]
            row_loss += spread * (dot + weight_sum * log_s)
        loss[row] = row_loss
        row_weight[row] = w


@cuda.jit
def _cross_entropy_backward_rows(x, target, weight, lse, ignore_index, smoothing, grad, out):
    # d loss_i / d x_ic = softmax_ic * sum_c' coef_ic' - coef_ic, times the row's upstream grad
    n = x.shape[1]
    on_target = 1 - smoothing
    spread = smoothing / n
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for row in range(start, x.shape[0], stride):
        t = target[row]
        if t == ignore_index:
            for j in range(n):
                out[row, j] = 0
            continue
        weight_sum = 0.0
        for j in range(n):
            weight_sum += weight[j]
        g = grad[row]
        w = weight[t]
        scale = g * (on_target * w + spread * weight_sum)
        shift = lse[row]
        smooth = g * spread
        for j in range(n):
            out[row, j] = scale * math.exp(x[row, j] - shift) - smooth * weight[j]
        out[row, t] -= g * on_target * w


def cross_entropy(x, target, weight, ignore_index, smoothing, lse, loss):
    """Row losses of log_softmax + NLL into `loss` and logsumexps into `lse` (both (rows,)) for
    x (rows, classes) and int64 targets; returns (sum of losses, sum of target weights), both
    over the rows whose target is not ignore_index."""
    row_weight = xp.empty(x.shape[0], np.float64)
    launch(_cross_entropy_rows, x.shape[0], x, target, weight, ignore_index, smoothing, lse,
           loss, row_weight)
    return float(loss.sum(dtype=np.float64)), float(row_weight.sum())


def cross_entropy_backward(x, target, weight, lse, ignore_index, smoothing, grad, out):
    """out (rows, classes) = grad_i * (softmax - smoothed weighted onehot); ignored rows 0."""
    launch(_cross_entropy_backward_rows, x.shape[0], x, target, weight, lse, ignore_index,
           smoothing, grad, out)
    return out


@cuda.jit
def _nll_rows(x, target, weight, ignore_index, loss, row_weight):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for row in range(start, x.shape[0], stride):
        t = target[row]
        if t == ignore_index:
            loss[row] = 0
            row_weight[row] = 0
        else:
            w = weight[t]
            loss[row] = -w * x[row, t]
            row_weight[row] = w


def nll_loss(x, target, weight, ignore_index, loss):
    """loss_i = -w[t_i] * x[i, t_i] (0 where ignored); returns (sum, sum of target weights)."""
    row_weight = xp.empty(x.shape[0], np.float64)
    launch(_nll_rows, x.shape[0], x, target, weight, ignore_index, loss, row_weight)
    return float(loss.sum(dtype=np.float64)), float(row_weight.sum())


@cuda.jit
def _nll_backward_rows(target, weight, ignore_index, grad, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for row in range(start, target.shape[0], stride):
        t = target[row]
        if t != ignore_index:
            out[row, t] = -grad[row] * weight[t]


def nll_loss_backward(target, weight, ignore_index, grad, out):
    """out (rows, classes), zero-filled by the caller, gets -grad_i * w[t_i] at each target."""
    launch(_nll_backward_rows, target.shape[0], target, weight, ignore_index, grad, out)
    return out


# --------------------------------------------------------------------------- regression

@cuda.jit(device=True)
def _pointwise(kind, d, param):
    a = abs(d)
    if kind == 0:
        return d * d
    if kind == 1:
        return a
    if kind == 2:  # smooth_l1, param = beta > 0
        return 0.5 * d * d / param if a < param else a - 0.5 * param
    return 0.5 * d * d if a < param else param * (a - 0.5 * param)  # huber, param = delta


@cuda.jit(device=True)
def _pointwise_grad(kind, d, param):
    if kind == 0:
        return d + d
    sign = 1.0 if d > 0 else (-1.0 if d < 0 else d)  # sign(0) = 0, sign(NaN) = NaN
    if kind == 1:
        return sign
    if kind == 2:
        return d / param if abs(d) < param else sign
    return d if abs(d) < param else param * sign


@cuda.jit
def _regression(x, t, kind, param, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        out[i] = _pointwise(kind, x[i] - t[i], param)


@cuda.jit
def _regression_backward(x, t, kind, param, grad, grad_step, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        out[i] = grad[i * grad_step] * _pointwise_grad(kind, x[i] - t[i], param)


def regression(x, t, kind, param, out):
    """out = loss(x - t) elementwise on flat arrays; kind: MSE, L1, SMOOTH_L1 (param = beta),
    HUBER (param = delta)."""
    launch(_regression, x.size, x, t, kind, param, out)
    return out


def regression_sum(x, t, kind, param):
    """sum(loss(x - t)) in float64, as a 0-d device array (the op wraps it without a copy)."""
    out = xp.empty(x.shape, x.dtype)
    launch(_regression, x.size, x, t, kind, param, out)
    return out.sum(dtype=np.float64)


def regression_backward(x, t, kind, param, grad, grad_step, out):
    """out = grad[i * grad_step] * loss'(x - t): grad_step 0 broadcasts one reduced gradient."""
    launch(_regression_backward, x.size, x, t, kind, param, grad, grad_step, out)
    return out


# --------------------------------------------------------------------------- binary
# One grid-stride map each way. Weights, pos_weight, the target and a reduction's 0-d gradient
# reach the kernels through _cuda.flat_operand (broadcast without copies); a missing weight or
# pos_weight is a 1 (pos_weight 1 is the plain formula exactly). Logs of 0 and exps of large
# arguments are branched around, not taken: the simulator's math raises on them.

@cuda.jit(device=True)
def _at(flat, inner, size, i):
    """Element i's value of an operand from flat_operand."""
    return flat[i] if size == 0 else flat[(i // inner) % size]


@cuda.jit(device=True)
def _log_or(value, otherwise):
    return math.log(value) if value > 0 else otherwise


@cuda.jit(device=True)
def _log1p_neg_or(value, otherwise):
    return math.log1p(-value) if value < 1 else otherwise


@cuda.jit(device=True)
def _softplus_neg(x):
    """softplus(-x) = log1p(exp(-|x|)) + max(-x, 0) = -logsigmoid(x), never overflowing."""
    return math.log1p(math.exp(-abs(x))) + max(-x, 0.0)


@cuda.jit(device=True)
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@cuda.jit
def _bce(x, t, t_inner, t_size, w, w_inner, w_size, floor, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        v, target = x[i], _at(t, t_inner, t_size, i)
        log_x = max(_log_or(v, floor), floor)
        log_not_x = max(_log1p_neg_or(v, floor), floor)
        out[i] = ((target - 1) * log_not_x - target * log_x) * _at(w, w_inner, w_size, i)


@cuda.jit
def _bce_backward(x, t, t_inner, t_size, w, w_inner, w_size, g, g_inner, g_size, eps,
                  wants_input, wants_target, grad_input, grad_target):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        v, target = x[i], _at(t, t_inner, t_size, i)
        scale = _at(g, g_inner, g_size, i) * _at(w, w_inner, w_size, i)
        if wants_input:
            grad_input[i] = (v - target) * scale / max(v * (1 - v), eps)
        if wants_target:
            grad_target[i] = (_log1p_neg_or(v, -math.inf) - _log_or(v, -math.inf)) * scale


@cuda.jit
def _bce_logits(x, t, t_inner, t_size, w, w_inner, w_size, p, p_inner, p_size, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        v, target = x[i], _at(t, t_inner, t_size, i)
        log_weight = (_at(p, p_inner, p_size, i) - 1) * target + 1
        out[i] = ((1 - target) * v + _softplus_neg(v) * log_weight) * _at(w, w_inner, w_size, i)


@cuda.jit
def _bce_logits_backward(x, t, t_inner, t_size, w, w_inner, w_size, p, p_inner, p_size, g,
                         g_inner, g_size, wants_input, wants_target, grad_input, grad_target):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        v, target, pos = x[i], _at(t, t_inner, t_size, i), _at(p, p_inner, p_size, i)
        scale = _at(g, g_inner, g_size, i) * _at(w, w_inner, w_size, i)
        if wants_input:
            grad_input[i] = (((pos - 1) * target + 1) * _sigmoid(v) - pos * target) * scale
        if wants_target:
            grad_target[i] = ((pos - 1) * _softplus_neg(v) - v) * scale


def _operands(x, *arrays):
    """flat_operand's (flat, inner, size) of each array (None: a 1) against x, concatenated."""
    one = x.dtype.type(1)
    args = []
    for a in arrays:
        args.extend(flat_operand(one if a is None else a, x.shape, xp))
    return args


def _grads(x, wants_input, wants_target):
    """The flat gradient arrays a backward kernel fills (an unwanted one: a 0-element dummy)."""
    flat = xp.ascontiguousarray(x).reshape(-1)
    return flat, [xp.empty(x.size if want else 0, x.dtype) for want in (wants_input,
                                                                         wants_target)]


def _shaped(arrays, x, wants):
    return tuple(a.reshape(x.shape) if want else None for a, want in zip(arrays, wants))


def binary_cross_entropy(x, t, weight, out):
    """out = -w (t max(log x, -100) + (1 - t) max(log(1 - x), -100)), torch's clamped form."""
    flat_out = out.reshape(-1)
    launch(_bce, x.size, xp.ascontiguousarray(x).reshape(-1), *_operands(x, t, weight),
           x.dtype.type(-100), flat_out)
    return out


def binary_cross_entropy_backward(x, t, weight, grad, eps, wants_input, wants_target):
    """(grad_input, grad_target), each None unless wanted: grad w (x - t) / max(x (1 - x), eps)
    (torch's form, finite at 0 and 1) and grad w (log(1 - x) - log x) = -logit(x) (unclamped)."""
    flat, grads = _grads(x, wants_input, wants_target)
    launch(_bce_backward, x.size, flat, *_operands(x, t, weight, grad), x.dtype.type(eps),
           wants_input, wants_target, *grads)
    return _shaped(grads, x, (wants_input, wants_target))


def binary_cross_entropy_with_logits(x, t, weight, pos_weight, out):
    """out = w ((1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)); weight and pos_weight may
    be None."""
    launch(_bce_logits, x.size, xp.ascontiguousarray(x).reshape(-1),
           *_operands(x, t, weight, pos_weight), out.reshape(-1))
    return out


def binary_cross_entropy_with_logits_backward(x, t, weight, pos_weight, grad, wants_input,
                                              wants_target):
    """(grad_input, grad_target): grad w (lw sigmoid(x) - p t), lw = 1 + (p - 1) t, and
    grad w ((p - 1) softplus(-x) - x); p = pos_weight (1 when None)."""
    flat, grads = _grads(x, wants_input, wants_target)
    launch(_bce_logits_backward, x.size, flat, *_operands(x, t, weight, pos_weight, grad),
           wants_input, wants_target, *grads)
    return _shaped(grads, x, (wants_input, wants_target))
