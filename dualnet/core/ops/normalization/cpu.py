"""CPU kernels of the normalization family: arrays in, `out` arrays to fill.

Layouts (no kernel needs a transpose):
- batch norm sees a C-contiguous (outer, C, inner) view, the channel axis in the middle:
  NCHW is (N, C, H*W), channels-last NHWC is (N*H*W, C, 1). With inner > 1 the statistics
  (and backward's sums) run one task per channel (`_bn_*_mid`): its rows pass through L2
  twice, for the mean and the squared deviations. With inner == 1 (channels last, (N, C)
  input) chunks of rows accumulate per-channel partial sums along contiguous rows
  (`_bn_*_rows`, vectorised along C). The elementwise passes (normalise, grad_input) then
  run in memory order.
- group / instance norm see (N, pre, G, C/G, post): pre = 1, post = H*W for channels first,
  one task per (sample, group); channels last (post == 1) is an (N, H*W, C) view with one
  task per sample (`_gn_*_last`).
- layer norm sees (rows, n), n = the normalised trailing elements; one task per row.

Statistics take two passes, the second over deviations from the first's rounded mean,
corrected by their own mean (the "corrected two-pass" formula: no cancellation whatever the
mean), summed in float64, or in float32 over blocks of _BLOCK elements added in float64.
Saved statistics (mean, rstd = 1 / sqrt(var + eps)) are float64 arrays. Backward is the
closed form dx = w * rstd * (g - mean(g) - xhat * mean(g * xhat)), dw = sum(g * xhat),
db = sum(g), with sum(g * xhat) taken as rstd * sum(g * (x - mean)).
Per-element work runs in the input's dtype (coefficients cast once per channel); kernel
bodies hold no numeric literals, which would promote float32 math to float64. Kernels with a
`prange` have a serial and a parallel build picked by size (`two_builds`).
"""
import math

import numba
import numpy as np
from numba import prange

from ...config import PARALLEL_MIN_ELEMENTS, REDUCTION_FASTMATH
from .._kernels import two_builds

_OPTIONS = dict(fastmath=set(REDUCTION_FASTMATH), error_model="numpy")
_builds = two_builds(**_OPTIONS)
_njit = numba.njit(cache=True, **_OPTIONS)


def _chunks(x):
    """How many row chunks a rows kernel splits into: one per thread when it runs parallel."""
    return numba.get_num_threads() if x.size >= PARALLEL_MIN_ELEMENTS else 1


# Array assignments inside kernels go through these loops: `partial[t] = acc` alone took 8 s
# to compile (Numba's setitem for an array value), the loop 0.5 s.
@numba.njit(inline="always")
def _copy(dst, src):
    for i in range(src.size):
        dst[i] = src[i]


@numba.njit(inline="always")
def _fill(dst, start, stop, value):
    for i in range(start, stop):
        dst[i] = value


# --------------------------------------------------------------------------- batch norm
# The elementwise passes (normalise, grad_input) run over (row, channel) tasks in memory order,
# not channel by channel after the statistics: written as 128 scattered runs of 2.7 KB per
# channel, the same pass took twice as long (the hardware prefetcher restarts on every run).

_BLOCK = 1024  # elements a partial sum in the input's dtype covers before it goes to float64


@numba.njit(inline="always")
def _segment_sums(a, a_centre, b, b_centre):
    """(sum(a - a_centre), sum((a - a_centre) * (b - b_centre))) over 1-D segments, summed in
    their dtype (vectorised: LLVM keeps a vector of partial sums)."""
    total = a.dtype.type(0)
    products = a.dtype.type(0)
    for i in range(a.size):
        deviation = a[i] - a_centre
        total += deviation
        products += deviation * (b[i] - b_centre)
    return total, products


@numba.njit(inline="always")
def _row_sums(a, a_centre, b, b_centre):
    """_segment_sums over a whole row, in blocks of _BLOCK elements added up in float64: the
    error stays that of one block. (The blocks are slices: a loop over a computed sub-range
    of the row did not vectorise and ran 9x slower.)"""
    total = 0.0
    products = 0.0
    for k in range((a.size + _BLOCK - 1) // _BLOCK):
        part, part_products = _segment_sums(a[k * _BLOCK:(k + 1) * _BLOCK], a_centre,
                                            b[k * _BLOCK:(k + 1) * _BLOCK], b_centre)
        total += part
        products += part_products
    return total, products


@_builds
def _bn_stats_mid(x, mean, var):
    outer, channels, inner = x.shape
    count = outer * inner
    zero = x.dtype.type(0)
    for c in prange(channels):
        total = 0.0
        for o in range(outer):
            total += _row_sums(x[o, c], zero, x[o, c], zero)[0]
        guess = x.dtype.type(total / count)
        # second pass: squared deviations from the (rounded) mean, corrected by their own
        # mean (the "corrected two-pass" algorithm: exact up to rounding for any mean)
        deviations = 0.0
        squares = 0.0
        for o in range(outer):
            part, part_squares = _row_sums(x[o, c], guess, x[o, c], guess)
            deviations += part
            squares += part_squares
        shift = deviations / count
        mean[c] = guess + shift
        var[c] = max(squares / count - shift * shift, 0.0)


@_builds
def _bn_sums_rows(a, a_centre, b, b_centre, chunks, sums, products):
    """Per chunk of rows t and channel c: sums[t, c] = sum(a - a_centre) and products[t, c] =
    sum((a - a_centre) * (b - b_centre)): the statistics' two passes and backward's sums."""
    rows, channels = a.shape
    per = (rows + chunks - 1) // chunks
    for t in prange(chunks):
        acc, acc_products = np.zeros(channels), np.zeros(channels)
        for r in range(t * per, min(rows, (t + 1) * per)):
            a_row, b_row = a[r], b[r]
            for c in range(channels):
                deviation = a_row[c] - a_centre[c]
                acc[c] += deviation
                acc_products[c] += deviation * (b_row[c] - b_centre[c])
        _copy(sums[t], acc)
        _copy(products[t], acc_products)


# Rows of at most this many elements make a block whose two statistics passes run while it
# sits in L1/L2, so the statistics read x from memory once.
_BLOCK_ELEMENTS = 1 << 13


@numba.njit(inline="always")
def _merge(mean, m2, count, block_mean, block_m2, block_count):
    """Chan et al.'s pairwise update: the (mean, M2) of two disjoint sets from each one's."""
    total = count + block_count
    delta = block_mean - mean
    return (mean + delta * (block_count / total),
            m2 + block_m2 + delta * delta * (count * block_count / total))


@_builds
def _bn_stats_rows(x, chunks, block_rows, counts, means, m2s):
    """Per chunk of rows t and channel c: counts[t], means[t, c] and m2s[t, c] = the sum of
    squared deviations from the mean; each block of rows takes two passes (sums, then
    deviations from the block's rounded mean, corrected by their own mean) and is merged in."""
    rows, channels = x.shape
    per = (rows + chunks - 1) // chunks
    for t in prange(chunks):
        start, stop = t * per, min(rows, (t + 1) * per)
        mean, m2 = np.zeros(channels), np.zeros(channels)
        # a block's sums run in x's dtype (a block is short; the merge is float64)
        sums, squares = np.empty(channels, x.dtype), np.empty(channels, x.dtype)
        guess = np.empty(channels, x.dtype)
        zero = x.dtype.type(0)
        count = 0.0
        for first in range(start, stop, block_rows):
            last = min(stop, first + block_rows)
            size = float(last - first)
            _fill(sums, 0, channels, zero)
            for r in range(first, last):
                row = x[r]
                for c in range(channels):
                    sums[c] += row[c]
            for c in range(channels):
                guess[c] = sums[c] / size
            _fill(sums, 0, channels, zero)
            _fill(squares, 0, channels, zero)
            for r in range(first, last):
                row = x[r]
                for c in range(channels):
                    deviation = row[c] - guess[c]
                    sums[c] += deviation
                    squares[c] += deviation * deviation
            for c in range(channels):
                drift = sums[c] / size
                mean[c], m2[c] = _merge(mean[c], m2[c], count, guess[c] + drift,
                                        max(squares[c] - sums[c] * drift, 0.0), size)
            count += size
        counts[t] = count
        _copy(means[t], mean)
        _copy(m2s[t], m2)


@_njit
def _bn_merge_chunks(counts, means, m2s, mean, var):
    for c in range(means.shape[1]):
        centre, m2, count = 0.0, 0.0, 0.0
        for t in range(counts.size):
            if counts[t] > 0:
                centre, m2 = _merge(centre, m2, count, means[t, c], m2s[t, c], counts[t])
                count += counts[t]
        mean[c] = centre
        var[c] = m2 / count


@_njit
def _bn_coefficients(mean, var, weight, bias, eps, rstd, scale, shift):
    """rstd = 1 / sqrt(var + eps); y = x * scale + shift per channel."""
    for c in range(mean.size):
        inv = 1.0 / math.sqrt(var[c] + eps)
        rstd[c] = inv
        scale[c] = weight[c] * inv
        shift[c] = bias[c] - mean[c] * (weight[c] * inv)


@_builds
def _bn_apply_mid(x, scale, shift, out):
    outer, channels, inner = x.shape
    for task in prange(outer * channels):
        o, c = task // channels, task % channels
        row, out_row = x[o, c], out[o, c]
        a, b = scale[c], shift[c]
        for i in range(inner):
            out_row[i] = row[i] * a + b


@_builds
def _bn_apply_rows(x, scale, shift, out):
    for r in prange(x.shape[0]):
        row, out_row = x[r], out[r]
        for c in range(x.shape[1]):
            out_row[c] = row[c] * scale[c] + shift[c]


@_builds
def _bn_grad_sums_mid(grad, x, mean, total_out, dot_out):
    outer, channels, inner = x.shape
    zero = x.dtype.type(0)
    for c in prange(channels):
        centre = x.dtype.type(mean[c])
        total = 0.0
        dot = 0.0
        for o in range(outer):
            part, part_dot = _row_sums(grad[o, c], zero, x[o, c], centre)
            total += part
            dot += part_dot
        total_out[c] = total
        dot_out[c] = dot


@_njit
def _bn_grad_coefficients(total, dot, mean, rstd, weight, count, batch_stats, grad_weight,
                          grad_bias, centre, mean_grad, proj, scale):
    """grad_in = (g - mean_grad - (x - centre) * proj) * scale per channel; with the batch's
    own statistics mean_grad = mean(g) and proj = mean(g * xhat) * rstd, else 0."""
    for c in range(total.size):
        inv = rstd[c]
        grad_weight[c] = dot[c] * inv
        grad_bias[c] = total[c]
        centre[c] = mean[c]
        scale[c] = weight[c] * inv
        mean_grad[c] = total[c] / count if batch_stats else 0.0
        proj[c] = dot[c] * inv * inv / count if batch_stats else 0.0


@_builds
def _bn_grad_input_mid(grad, x, centre, mean_grad, proj, scale, grad_in):
    outer, channels, inner = x.shape
    for task in prange(outer * channels):
        o, c = task // channels, task % channels
        g_row, x_row, out_row = grad[o, c], x[o, c], grad_in[o, c]
        m, mg, p, s = centre[c], mean_grad[c], proj[c], scale[c]
        for i in range(inner):
            out_row[i] = (g_row[i] - mg - (x_row[i] - m) * p) * s


@_builds
def _bn_grad_input_rows(grad, x, centre, mean_grad, proj, scale, grad_in):
    for r in prange(x.shape[0]):
        g_row, x_row, out_row = grad[r], x[r], grad_in[r]
        for c in range(x.shape[1]):
            out_row[c] = (g_row[c] - mean_grad[c] - (x_row[c] - centre[c]) * proj[c]) * scale[c]


def _rows(a):
    return a.reshape(a.shape[0], a.shape[1])


def _apply(x, scale, shift, out):
    if x.shape[2] > 1:
        _bn_apply_mid(x, scale, shift, out)
    else:
        _bn_apply_rows(_rows(x), scale, shift, _rows(out))


def batch_norm_train(x, weight, bias, eps, out, mean, var, rstd):
    """Normalise each channel of x (outer, C, inner) by its own mean and biased var; fill out,
    and the float64 (C,) arrays mean, var (biased) and rstd."""
    channels = x.shape[1]
    if x.shape[2] > 1:
        _bn_stats_mid(x, mean, var)
    else:
        chunks = _chunks(x)
        counts, means, m2s = np.empty(chunks), np.empty((chunks, channels)), \
            np.empty((chunks, channels))
        _bn_stats_rows(_rows(x), chunks, max(1, _BLOCK_ELEMENTS // channels), counts, means, m2s)
        _bn_merge_chunks(counts, means, m2s, mean, var)
    scale, shift = np.empty(channels, x.dtype), np.empty(channels, x.dtype)
    _bn_coefficients(mean, var, weight, bias, eps, rstd, scale, shift)
    _apply(x, scale, shift, out)
    return out


@_njit
def _running_update(running, batch_stat, keep, take):
    for c in range(running.size):
        running[c] = keep * running[c] + take * batch_stat[c]


def update_running(running, batch_stat, keep, take):
    """running = keep * running + take * batch_stat, in place (running: any float array of
    batch_stat's size)."""
    if running.dtype == np.float16 or not running.flags.c_contiguous:  # outside Numba's reach
        running[...] = (keep * running.reshape(-1) + take * batch_stat).reshape(running.shape)
    else:
        _running_update(running.reshape(-1), batch_stat, keep, take)


def batch_norm_eval(x, running_mean, running_var, weight, bias, eps, out, mean, rstd):
    """Normalise x (outer, C, inner) with given statistics; fill out and the float64 (C,)
    arrays mean (a copy of running_mean) and rstd."""
    mean[:] = running_mean
    scale, shift = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    _bn_coefficients(mean, running_var.astype(np.float64), weight, bias, eps, rstd, scale, shift)
    _apply(x, scale, shift, out)
    return out


def batch_norm_backward(grad, x, mean, rstd, weight, batch_stats, grad_in, grad_weight,
                        grad_bias):
    """Gradients of batch norm on (outer, C, inner) arrays: grad_in (None: not wanted) and the
    float64 (C,) grad_weight = sum(g * xhat), grad_bias = sum(g). batch_stats: the statistics
    were the batch's own (training), so they depend on x."""
    channels = x.shape[1]
    if x.shape[2] > 1:
        total, dot = np.empty(channels), np.empty(channels)
        _bn_grad_sums_mid(grad, x, mean, total, dot)
    else:
        chunks = _chunks(x)
        sums, products = np.empty((chunks, channels)), np.empty((chunks, channels))
        _bn_sums_rows(_rows(grad), np.zeros(channels, x.dtype), _rows(x), mean.astype(x.dtype),
                      chunks, sums, products)
        total, dot = sums.sum(0), products.sum(0)
    centre, mean_grad, proj, scale = (np.empty(channels, x.dtype) for _ in range(4))
    _bn_grad_coefficients(total, dot, mean, rstd, weight, x.shape[0] * x.shape[2], batch_stats,
                          grad_weight, grad_bias, centre, mean_grad, proj, scale)
    if grad_in is not None:
        if x.shape[2] > 1:
            _bn_grad_input_mid(grad, x, centre, mean_grad, proj, scale, grad_in)
        else:
            _bn_grad_input_rows(_rows(grad), _rows(x), centre, mean_grad, proj, scale,
                                _rows(grad_in))
    return grad_in


# --------------------------------------------------------------------------- group norm

@_builds
def _gn_forward(x, weight, bias, eps, out, mean, var, rstd):
    batch, pre, groups, per_group, post = x.shape
    count = pre * per_group * post
    for task in prange(batch * groups):
        n, g = task // groups, task % groups
        total = 0.0
        for p in range(pre):
            block = x[n, p, g]
            for c in range(per_group):
                for q in range(post):
                    total += block[c, q]
        centre = total / count
        squares = 0.0
        for p in range(pre):
            block = x[n, p, g]
            for c in range(per_group):
                for q in range(post):
                    deviation = block[c, q] - centre
                    squares += deviation * deviation
        variance = squares / count
        inv = 1.0 / math.sqrt(variance + eps)
        mean[n, g], var[n, g], rstd[n, g] = centre, variance, inv
        scale = np.empty(per_group, x.dtype)
        shift = np.empty(per_group, x.dtype)
        for c in range(per_group):
            scale[c] = weight[g, c] * inv
            shift[c] = bias[g, c] - centre * (weight[g, c] * inv)
        for p in range(pre):
            block, out_block = x[n, p, g], out[n, p, g]
            for c in range(per_group):
                a, b = scale[c], shift[c]
                for q in range(post):
                    out_block[c, q] = block[c, q] * a + b


@_builds
def _gn_backward(grad, x, mean, rstd, weight, need_input, grad_in, sum_grad, sum_dot):
    batch, pre, groups, per_group, post = x.shape
    count = pre * per_group * post
    for task in prange(batch * groups):
        n, g = task // groups, task % groups
        centre_t = x.dtype.type(mean[n, g])
        total, dot = np.zeros(per_group), np.zeros(per_group)
        for p in range(pre):
            g_block, x_block = grad[n, p, g], x[n, p, g]
            for c in range(per_group):
                channel_total = 0.0
                channel_dot = 0.0
                for q in range(post):
                    gv = g_block[c, q]
                    channel_total += gv
                    channel_dot += gv * (x_block[c, q] - centre_t)
                total[c] += channel_total
                dot[c] += channel_dot
        _copy(sum_grad[n, g], total)
        _copy(sum_dot[n, g], dot)
        if need_input:
            inv = rstd[n, g]
            weighted_total = 0.0
            weighted_dot = 0.0
            for c in range(per_group):
                weighted_total += weight[g, c] * total[c]
                weighted_dot += weight[g, c] * dot[c]
            mean_grad = x.dtype.type(weighted_total / count)
            proj = x.dtype.type(weighted_dot * inv * inv / count)
            inv_t = x.dtype.type(inv)
            for p in range(pre):
                g_block, x_block, out_block = grad[n, p, g], x[n, p, g], grad_in[n, p, g]
                for c in range(per_group):
                    w = weight[g, c]
                    for q in range(post):
                        out_block[c, q] = (g_block[c, q] * w - mean_grad
                                           - (x_block[c, q] - centre_t) * proj) * inv_t


# Channels last (post == 1): a C-contiguous (N, positions, C) view, one task per sample whose
# per-channel accumulators run along contiguous rows of C (the 5-D loops above would run an
# inner loop of length 1 there: 35x slower).

@_builds
def _gn_forward_last(x, groups, weight, bias, eps, out, mean, var, rstd):
    batch, positions, channels = x.shape
    per_group = channels // groups
    count = positions * per_group
    for n in prange(batch):
        acc = np.zeros(channels)
        for p in range(positions):
            row = x[n, p]
            for c in range(channels):
                acc[c] += row[c]
        guess = np.empty(channels, x.dtype)
        for g in range(groups):
            total = 0.0
            for c in range(g * per_group, (g + 1) * per_group):
                total += acc[c]
            _fill(guess, g * per_group, (g + 1) * per_group, total / count)
        acc = np.zeros(channels)
        deviations = np.zeros(channels)
        for p in range(positions):
            row = x[n, p]
            for c in range(channels):
                deviation = row[c] - guess[c]
                deviations[c] += deviation
                acc[c] += deviation * deviation
        scale = np.empty(channels, x.dtype)
        shift = np.empty(channels, x.dtype)
        for g in range(groups):
            squares = 0.0
            drift = 0.0
            for c in range(g * per_group, (g + 1) * per_group):
                squares += acc[c]
                drift += deviations[c]
            drift /= count
            centre = guess[g * per_group] + drift
            variance = max(squares / count - drift * drift, 0.0)
            inv = 1.0 / math.sqrt(variance + eps)
            mean[n, g], var[n, g], rstd[n, g] = centre, variance, inv
            for c in range(g * per_group, (g + 1) * per_group):
                scale[c] = weight[c] * inv
                shift[c] = bias[c] - centre * (weight[c] * inv)
        for p in range(positions):
            row, out_row = x[n, p], out[n, p]
            for c in range(channels):
                out_row[c] = row[c] * scale[c] + shift[c]


@_builds
def _gn_backward_last(grad, x, groups, mean, rstd, weight, need_input, grad_in, sum_grad,
                      sum_dot):
    batch, positions, channels = x.shape
    per_group = channels // groups
    count = positions * per_group
    for n in prange(batch):
        centre = np.empty(channels, x.dtype)
        for g in range(groups):
            _fill(centre, g * per_group, (g + 1) * per_group, mean[n, g])
        total, dot = np.zeros(channels), np.zeros(channels)
        for p in range(positions):
            g_row, x_row = grad[n, p], x[n, p]
            for c in range(channels):
                gv = g_row[c]
                total[c] += gv
                dot[c] += gv * (x_row[c] - centre[c])
        _copy(sum_grad[n], total)
        _copy(sum_dot[n], dot)
        if need_input:
            mean_grad = np.empty(channels, x.dtype)
            proj = np.empty(channels, x.dtype)
            scale = np.empty(channels, x.dtype)
            inv_c = np.empty(channels, x.dtype)
            for g in range(groups):
                inv = rstd[n, g]
                weighted_total = 0.0
                weighted_dot = 0.0
                for c in range(g * per_group, (g + 1) * per_group):
                    weighted_total += weight[c] * total[c]
                    weighted_dot += weight[c] * dot[c]
                _fill(mean_grad, g * per_group, (g + 1) * per_group, weighted_total / count)
                _fill(proj, g * per_group, (g + 1) * per_group, weighted_dot * inv * inv / count)
                _fill(inv_c, g * per_group, (g + 1) * per_group, inv)
            for c in range(channels):
                scale[c] = weight[c] * inv_c[c]
            for p in range(positions):
                g_row, x_row, out_row = grad[n, p], x[n, p], grad_in[n, p]
                for c in range(channels):
                    out_row[c] = (g_row[c] * scale[c] - mean_grad[c] * inv_c[c]
                                  - (x_row[c] - centre[c]) * proj[c] * inv_c[c])


def _last(x):
    """(N, pre, G, C/G, 1) -> (N, pre, C), a free reshape."""
    return x.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3])


def group_norm_forward(x, weight, bias, eps, out, mean, var, rstd):
    """Normalise each (sample, group) of x (N, pre, G, C/G, post); weight, bias (G, C/G);
    fill out and the float64 (N, G) arrays mean, var (biased) and rstd."""
    if x.shape[4] == 1:
        _gn_forward_last(_last(x), x.shape[2], weight.reshape(-1), bias.reshape(-1), eps,
                         _last(out), mean, var, rstd)
    else:
        _gn_forward(x, weight, bias, eps, out, mean, var, rstd)
    return out


def group_norm_backward(grad, x, mean, rstd, weight, grad_in, grad_weight, grad_bias):
    """Gradients of group norm on (N, pre, G, C/G, post) arrays: grad_in (None: not wanted)
    and the float64 (G, C/G) grad_weight, grad_bias."""
    batch, _, groups, per_group, _ = x.shape
    sum_grad, sum_dot = np.empty((batch, groups, per_group)), np.empty((batch, groups, per_group))
    need_input = grad_in is not None
    if x.shape[4] == 1:
        _gn_backward_last(_last(grad), _last(x), groups, mean, rstd, weight.reshape(-1),
                          need_input, _last(grad_in if need_input else x),
                          sum_grad.reshape(batch, -1), sum_dot.reshape(batch, -1))
    else:
        _gn_backward(grad, x, mean, rstd, weight, need_input, grad_in if need_input else x,
                     sum_grad, sum_dot)
    np.sum(sum_grad, axis=0, out=grad_bias)
    np.einsum("ngc,ng->gc", sum_dot, rstd, out=grad_weight)
    return grad_in


# --------------------------------------------------------------------------- layer norm

@_builds
def _ln_forward(x, weight, bias, eps, out, mean, rstd):
    rows, n = x.shape
    for r in prange(rows):
        row, out_row = x[r], out[r]
        total = 0.0
        for j in range(n):
            total += row[j]
        centre = total / n
        squares = 0.0
        for j in range(n):
            deviation = row[j] - centre
            squares += deviation * deviation
        inv = 1.0 / math.sqrt(squares / n + eps)
        mean[r], rstd[r] = centre, inv
        centre_t, inv_t = x.dtype.type(centre), x.dtype.type(inv)
        for j in range(n):
            out_row[j] = (row[j] - centre_t) * inv_t * weight[j] + bias[j]


@_builds
def _ln_backward(grad, x, mean, rstd, weight, chunks, need_input, grad_in, partial_weight,
                 partial_bias):
    rows, n = x.shape
    per = (rows + chunks - 1) // chunks
    for t in prange(chunks):
        acc_weight, acc_bias = np.zeros(n), np.zeros(n)
        for r in range(t * per, min(rows, (t + 1) * per)):
            g_row, x_row = grad[r], x[r]
            centre_t, inv_t = x.dtype.type(mean[r]), x.dtype.type(rstd[r])
            total = 0.0
            dot = 0.0
            for j in range(n):
                g = g_row[j]
                xhat = (x_row[j] - centre_t) * inv_t
                acc_weight[j] += g * xhat
                acc_bias[j] += g
                weighted = g * weight[j]
                total += weighted
                dot += weighted * xhat
            if need_input:
                mean_grad = x.dtype.type(total / n)
                proj = x.dtype.type(dot / n)
                out_row = grad_in[r]
                for j in range(n):
                    xhat = (x_row[j] - centre_t) * inv_t
                    out_row[j] = (g_row[j] * weight[j] - mean_grad - xhat * proj) * inv_t
        _copy(partial_weight[t], acc_weight)
        _copy(partial_bias[t], acc_bias)


def layer_norm_forward(x, weight, bias, eps, out, mean, rstd):
    """Normalise each row of x (rows, n); weight, bias (n,); fill out and the float64 (rows,)
    arrays mean and rstd."""
    _ln_forward(x, weight, bias, eps, out, mean, rstd)
    return out


def layer_norm_backward(grad, x, mean, rstd, weight, grad_in, grad_weight, grad_bias):
    """Gradients of layer norm on (rows, n) arrays: grad_in (None: not wanted) and the
    float64 (n,) grad_weight, grad_bias."""
    chunks = _chunks(x)
    partial_weight, partial_bias = np.empty((chunks, x.shape[1])), np.empty((chunks, x.shape[1]))
    need_input = grad_in is not None
    _ln_backward(grad, x, mean, rstd, weight, chunks, need_input, grad_in if need_input else x,
                 partial_weight, partial_bias)
    np.sum(partial_weight, axis=0, out=grad_weight)
    np.sum(partial_bias, axis=0, out=grad_bias)
    return grad_in
