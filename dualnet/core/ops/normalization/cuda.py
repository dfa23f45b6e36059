"""CUDA kernels of the normalization family, the twins of cpu.py (same views, same saved
statistics: float64 mean / var / rstd, closed-form backward; see cpu.py's docstring).

The statistics of a group (a batch-norm channel, a group-norm (sample, group), a layer-norm
row) are one block's work: its threads stride over the group's elements, accumulate float64
partial sums and combine them in shared memory (`_block_sum`); blocks stride over the groups.
Batch norm takes cpu.py's "corrected two-pass" formula (deviations from a first mean,
corrected by their own mean), its deviations in float64 (cpu.py rounds the first mean to x's
dtype to vectorise; the result is the same to rounding). Batch norm's elementwise passes are
grid-stride maps with per-channel coefficients; group and layer norm apply theirs in the
statistics' block. Parameter gradients: batch norm's come with its per-channel sums, layer
norm's from a kernel over columns, group norm's from array-module sums over the batch.
"""
import math

import numpy as np
from numba import cuda, float64

from ...device import cuda_array_module
from .._cuda import THREADS, grid, launch

xp = cuda_array_module()
_SHARED = THREADS  # shared-memory slots per block: the most threads a block ever has


def _launch_groups(kernel, groups, *args):
    """One block per group (blocks stride over the groups), of grid()'s thread count: THREADS
    (a power of two, as _block_sum's tree needs), fewer under the simulator."""
    if groups == 0:
        return
    blocks, threads = grid(groups * THREADS)
    kernel[blocks, threads](*args)


@cuda.jit(device=True)
def _block_sum(buf, value):
    """The sum of `value` over the block's threads, returned to every thread (all must call)."""
    t = cuda.threadIdx.x
    buf[t] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if t < step:
            buf[t] += buf[t + step]
        cuda.syncthreads()
        step //= 2
    total = buf[0]
    cuda.syncthreads()  # buf is free for the next reduction
    return total


# --------------------------------------------------------------------------- batch norm
# x is (outer, C, inner); channel c's elements are x[o, c, i], k = o * inner + i.

@cuda.jit
def _bn_stats(x, mean, var):
    buf = cuda.shared.array(_SHARED, float64)
    outer, channels, inner = x.shape
    count = outer * inner
    for c in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        total = 0.0
        for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            total += x[k // inner, c, k % inner]
        total = _block_sum(buf, total)
        guess = total / count  # kept in float64: the correction below needs no rounding
        deviations = 0.0
        squares = 0.0
        for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            deviation = x[k // inner, c, k % inner] - guess
            deviations += deviation
            squares += deviation * deviation
        deviations = _block_sum(buf, deviations)
        squares = _block_sum(buf, squares)
        if cuda.threadIdx.x == 0:
            shift = deviations / count
            mean[c] = guess + shift
            var[c] = max(squares / count - shift * shift, 0.0)


@cuda.jit
def _bn_coefficients(mean, var, weight, bias, eps, rstd, scale, shift):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for c in range(start, mean.size, stride):
        inv = 1.0 / math.sqrt(var[c] + eps)
        rstd[c] = inv
        scale[c] = weight[c] * inv
        shift[c] = bias[c] - mean[c] * (weight[c] * inv)


@cuda.jit
def _bn_apply(x, scale, shift, out):
    channels, inner = x.shape[1], x.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, x.size, stride):
        c = (k // inner) % channels
        o, i = k // (inner * channels), k % inner
        out[o, c, i] = x[o, c, i] * scale[c] + shift[c]


def _coefficients_and_apply(x, mean, var, weight, bias, eps, rstd, out):
    channels = x.shape[1]
    scale, shift = xp.empty(channels, x.dtype), xp.empty(channels, x.dtype)
    launch(_bn_coefficients, channels, mean, var, weight, bias, eps, rstd, scale, shift)
    launch(_bn_apply, x.size, x, scale, shift, out)


def batch_norm_train(x, weight, bias, eps, out, mean, var, rstd):
    """Normalise each channel of x (outer, C, inner) by its own mean and biased var; fill out,
    and the float64 (C,) arrays mean, var (biased) and rstd."""
    _launch_groups(_bn_stats, x.shape[1], x, mean, var)
    _coefficients_and_apply(x, mean, var, weight, bias, eps, rstd, out)
    return out


@cuda.jit
def _running_update(running, batch_stat, keep, take):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for c in range(start, running.size, stride):
        running[c] = keep * running[c] + take * batch_stat[c]


def update_running(running, batch_stat, keep, take):
    """running = keep * running + take * batch_stat, in place (running: any float array of
    batch_stat's size)."""
    if running.dtype == np.float16 or not running.flags.c_contiguous:  # no half arithmetic
        running[...] = (keep * running.reshape(-1) + take * batch_stat).reshape(running.shape)
    else:
        launch(_running_update, running.size, running.reshape(-1), batch_stat, keep, take)


def batch_norm_eval(x, running_mean, running_var, weight, bias, eps, out, mean, rstd):
    """Normalise x (outer, C, inner) with given statistics; fill out and the float64 (C,)
    arrays mean (a copy of running_mean) and rstd."""
    mean[:] = running_mean
    _coefficients_and_apply(x, mean, running_var.astype(np.float64), weight, bias, eps, rstd,
                            out)
    return out


@cuda.jit
def _bn_grad_sums(grad, x, mean, total_out, dot_out):
    buf = cuda.shared.array(_SHARED, float64)
    outer, channels, inner = x.shape
    count = outer * inner
    for c in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        centre = mean[c]
        total = 0.0
        dot = 0.0
        for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            o, i = k // inner, k % inner
            g = grad[o, c, i]
            total += g
            dot += g * (x[o, c, i] - centre)
        total = _block_sum(buf, total)
        dot = _block_sum(buf, dot)
        if cuda.threadIdx.x == 0:
            total_out[c] = total
            dot_out[c] = dot


@cuda.jit
def _bn_grad_coefficients(total, dot, mean, rstd, weight, count, batch_stats, grad_weight,
                          grad_bias, centre, mean_grad, proj, scale):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for c in range(start, total.size, stride):
        inv = rstd[c]
        grad_weight[c] = dot[c] * inv
        grad_bias[c] = total[c]
        centre[c] = mean[c]
        scale[c] = weight[c] * inv
        mean_grad[c] = total[c] / count if batch_stats else 0.0
        proj[c] = dot[c] * inv * inv / count if batch_stats else 0.0


@cuda.jit
def _bn_grad_input(grad, x, centre, mean_grad, proj, scale, grad_in):
    channels, inner = x.shape[1], x.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, x.size, stride):
        c = (k // inner) % channels
        o, i = k // (inner * channels), k % inner
        grad_in[o, c, i] = (grad[o, c, i] - mean_grad[c] - (x[o, c, i] - centre[c]) * proj[c]) \
            * scale[c]


def batch_norm_backward(grad, x, mean, rstd, weight, batch_stats, grad_in, grad_weight,
                        grad_bias):
    """Gradients of batch norm on (outer, C, inner) arrays: grad_in (None: not wanted) and the
    float64 (C,) grad_weight = sum(g * xhat), grad_bias = sum(g). batch_stats: the statistics
    were the batch's own (training), so they depend on x."""
    channels = x.shape[1]
    total, dot = xp.empty(channels), xp.empty(channels)
    _launch_groups(_bn_grad_sums, channels, grad, x, mean, total, dot)
    centre, mean_grad, proj, scale = (xp.empty(channels, x.dtype) for _ in range(4))
    launch(_bn_grad_coefficients, channels, total, dot, mean, rstd, weight,
           x.shape[0] * x.shape[2], batch_stats, grad_weight, grad_bias, centre, mean_grad,
           proj, scale)
    if grad_in is not None:
        launch(_bn_grad_input, x.size, grad, x, centre, mean_grad, proj, scale, grad_in)
    return grad_in


# --------------------------------------------------------------------------- group norm
# x is (N, pre, G, C/G, post); group (n, g)'s elements are x[n, p, g, c, q],
# k = (p * per_group + c) * post + q.

@cuda.jit(device=True)
def _gn_at(k, per_group, post):
    """(p, c, q) of a group's k-th element."""
    q = k % post
    rest = k // post
    return rest // per_group, rest % per_group, q


@cuda.jit
def _gn_forward(x, weight, bias, eps, out, mean, var, rstd):
    buf = cuda.shared.array(_SHARED, float64)
    batch, pre, groups, per_group, post = x.shape
    count = pre * per_group * post
    for task in range(cuda.blockIdx.x, batch * groups, cuda.gridDim.x):
        n, g = task // groups, task % groups
        total = 0.0
        for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            p, c, q = _gn_at(k, per_group, post)
            total += x[n, p, g, c, q]
        centre = _block_sum(buf, total) / count
        squares = 0.0
        for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            p, c, q = _gn_at(k, per_group, post)
            deviation = x[n, p, g, c, q] - centre
            squares += deviation * deviation
        variance = _block_sum(buf, squares) / count
        inv = 1.0 / math.sqrt(variance + eps)
        if cuda.threadIdx.x == 0:
            mean[n, g], var[n, g], rstd[n, g] = centre, variance, inv
        for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            p, c, q = _gn_at(k, per_group, post)
            a = weight[g, c] * inv
            out[n, p, g, c, q] = x[n, p, g, c, q] * a + (bias[g, c] - centre * a)


def group_norm_forward(x, weight, bias, eps, out, mean, var, rstd):
    """Normalise each (sample, group) of x (N, pre, G, C/G, post); weight, bias (G, C/G);
    fill out and the float64 (N, G) arrays mean, var (biased) and rstd."""
    _launch_groups(_gn_forward, x.shape[0] * x.shape[2], x, weight, bias, eps, out, mean, var,
                   rstd)
    return out


@cuda.jit
def _gn_backward(grad, x, mean, rstd, weight, need_input, grad_in, sum_grad, sum_dot):
    buf = cuda.shared.array(_SHARED, float64)
    batch, pre, groups, per_group, post = x.shape
    count = pre * per_group * post
    plane = pre * post  # a channel's elements within the group
    for task in range(cuda.blockIdx.x, batch * groups, cuda.gridDim.x):
        n, g = task // groups, task % groups
        centre = mean[n, g]
        weighted_total = 0.0
        weighted_dot = 0.0
        for c in range(per_group):
            total = 0.0
            dot = 0.0
            for k in range(cuda.threadIdx.x, plane, cuda.blockDim.x):
                p, q = k // post, k % post
                gv = grad[n, p, g, c, q]
                total += gv
                dot += gv * (x[n, p, g, c, q] - centre)
            total = _block_sum(buf, total)
            dot = _block_sum(buf, dot)
            if cuda.threadIdx.x == 0:
                sum_grad[n, g, c] = total
                sum_dot[n, g, c] = dot
            weighted_total += weight[g, c] * total
            weighted_dot += weight[g, c] * dot
        if need_input:
            inv = rstd[n, g]
            mean_grad = weighted_total / count
            proj = weighted_dot * inv * inv / count
            for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
                p, c, q = _gn_at(k, per_group, post)
                grad_in[n, p, g, c, q] = (grad[n, p, g, c, q] * weight[g, c] - mean_grad
                                          - (x[n, p, g, c, q] - centre) * proj) * inv


def group_norm_backward(grad, x, mean, rstd, weight, grad_in, grad_weight, grad_bias):
    """Gradients of group norm on (N, pre, G, C/G, post) arrays: grad_in (None: not wanted)
    and the float64 (G, C/G) grad_weight, grad_bias."""
    batch, _, groups, per_group, _ = x.shape
    sum_grad, sum_dot = xp.empty((batch, groups, per_group)), xp.empty((batch, groups, per_group))
    need_input = grad_in is not None
    _launch_groups(_gn_backward, batch * groups, grad, x, mean, rstd, weight, need_input,
                   grad_in if need_input else x, sum_grad, sum_dot)
    xp.sum(sum_grad, axis=0, out=grad_bias)
    xp.sum(sum_dot * rstd[:, :, None], axis=0, out=grad_weight)
    return grad_in


# --------------------------------------------------------------------------- layer norm

@cuda.jit
def _ln_forward(x, weight, bias, eps, out, mean, rstd):
    buf = cuda.shared.array(_SHARED, float64)
    rows, n = x.shape
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        total = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            total += x[r, j]
        centre = _block_sum(buf, total) / n
        squares = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            deviation = x[r, j] - centre
            squares += deviation * deviation
        inv = 1.0 / math.sqrt(_block_sum(buf, squares) / n + eps)
        if cuda.threadIdx.x == 0:
            mean[r], rstd[r] = centre, inv
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            out[r, j] = (x[r, j] - centre) * inv * weight[j] + bias[j]


def layer_norm_forward(x, weight, bias, eps, out, mean, rstd):
    """Normalise each row of x (rows, n); weight, bias (n,); fill out and the float64 (rows,)
    arrays mean and rstd."""
    _launch_groups(_ln_forward, x.shape[0], x, weight, bias, eps, out, mean, rstd)
    return out


@cuda.jit
def _ln_grad_input(grad, x, mean, rstd, weight, grad_in):
    buf = cuda.shared.array(_SHARED, float64)
    rows, n = x.shape
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        centre, inv = mean[r], rstd[r]
        total = 0.0
        dot = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            weighted = grad[r, j] * weight[j]
            total += weighted
            dot += weighted * ((x[r, j] - centre) * inv)
        mean_grad = _block_sum(buf, total) / n
        proj = _block_sum(buf, dot) / n
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            xhat = (x[r, j] - centre) * inv
            grad_in[r, j] = (grad[r, j] * weight[j] - mean_grad - xhat * proj) * inv


@cuda.jit
def _ln_param_grads(grad, x, mean, rstd, grad_weight, grad_bias):
    # one thread per column: sums over the rows, in float64
    rows, n = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for j in range(start, n, stride):
        acc_weight = 0.0
        acc_bias = 0.0
        for r in range(rows):
            g = grad[r, j]
            xhat = (x[r, j] - mean[r]) * rstd[r]
            acc_weight += g * xhat
            acc_bias += g
        grad_weight[j] = acc_weight
        grad_bias[j] = acc_bias


def layer_norm_backward(grad, x, mean, rstd, weight, grad_in, grad_weight, grad_bias):
    """Gradients of layer norm on (rows, n) arrays: grad_in (None: not wanted) and the
    float64 (n,) grad_weight, grad_bias."""
    if grad_in is not None:
        _launch_groups(_ln_grad_input, x.shape[0], grad, x, mean, rstd, weight, grad_in)
    launch(_ln_param_grads, x.shape[1], grad, x, mean, rstd, grad_weight, grad_bias)
    return grad_in
