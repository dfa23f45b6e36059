"""Numba kernels of the conv family's direct path: grouped convolutions with few channels per
group (depthwise: one input channel per group), where a GEMM per group would be a thin
(pixels, kh*kw) @ (kh*kw, multiplier) product. Forward, input gradient and weight gradient.

Channels-first kernels run their innermost loop along a contiguous output row (one tap times
one input row); channels-last ones along the contiguous channels, with the weight permuted to
(kh, kw, C/G, OC) by the driver. As in cpu_im2col, inner loops index 1-D views from 0 so that
LLVM vectorises them.
"""
import numba

from ...config import REDUCTION_FASTMATH
from .cpu_im2col import valid_range

_SUM_FASTMATH = set(REDUCTION_FASTMATH)  # reassociation lets LLVM vectorise the weight sums


@numba.njit(cache=True, inline="always")
def _axpy(dst, alpha, src):
    for t in range(dst.size):
        dst[t] += alpha * src[t]


@numba.njit(cache=True, inline="always", fastmath=_SUM_FASTMATH)
def _dot(a, b):
    total = a.dtype.type(0)
    for t in range(a.size):
        total += a[t] * b[t]
    return total


@numba.njit(cache=True, inline="always")
def _mul_add(dst, a, b):
    for t in range(dst.size):
        dst[t] += a[t] * b[t]


# --------------------------------------------------------------------------- channels first

@numba.njit(cache=True)
def direct_nchw(x, weight, kh, kw, sh, sw, dh, dw, pt, pl, out):
    """out[n, o] += sum over o's group's channels c and taps (i, j) of weight[o, c, i, j] *
    x[n, g*Cg + c, oh*sh - pt + i*dh, ow*sw - pl + j*dw]."""
    height, width = x.shape[2], x.shape[3]
    per_in = weight.shape[1]
    per_out = out.shape[1] // (x.shape[1] // per_in)
    oh_size, ow_size = out.shape[2], out.shape[3]
    for n in range(out.shape[0]):
        for o in range(out.shape[1]):
            for cg in range(per_in):
                c = (o // per_out) * per_in + cg
                for i in range(kh):
                    for j in range(kw):
                        tap = weight[o, cg, i, j]
                        offset = j * dw - pl
                        lo, hi = valid_range(offset, sw, width, ow_size)
                        for oh in range(oh_size):
                            ih = oh * sh - pt + i * dh
                            if ih < 0 or ih >= height or hi == lo:
                                continue
                            dst = out[n, o, oh, lo:hi]
                            if sw == 1:
                                _axpy(dst, tap, x[n, c, ih, lo + offset:hi + offset])
                            else:
                                _axpy(dst, tap, x[n, c, ih, lo * sw + offset::sw])


@numba.njit(cache=True)
def direct_input_grad_nchw(grad, weight, kh, kw, sh, sw, dh, dw, pt, pl, out):
    """The adjoint of direct_nchw in x: out[n, c] = the taps of weight[o, c % Cg] scattered by
    grad[n, o], summed over the outputs o of c's group."""
    height, width = out.shape[2], out.shape[3]
    per_in = weight.shape[1]
    per_out = grad.shape[1] // (out.shape[1] // per_in)
    oh_size, ow_size = grad.shape[2], grad.shape[3]
    zero = out.dtype.type(0)
    for n in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[n, c] = zero
            for m in range(per_out):
                o = (c // per_in) * per_out + m
                for i in range(kh):
                    for j in range(kw):
                        tap = weight[o, c % per_in, i, j]
                        offset = j * dw - pl
                        lo, hi = valid_range(offset, sw, width, ow_size)
                        for oh in range(oh_size):
                            ih = oh * sh - pt + i * dh
                            if ih < 0 or ih >= height or hi == lo:
                                continue
                            src = grad[n, o, oh, lo:hi]
                            if sw == 1:
                                _axpy(out[n, c, ih, lo + offset:hi + offset], tap, src)
                            else:
                                _axpy(out[n, c, ih, lo * sw + offset:(hi - 1) * sw + offset + 1:sw],
                                      tap, src)


@numba.njit(cache=True)
def direct_weight_grad_nchw(x, grad, kh, kw, sh, sw, dh, dw, pt, pl, out):
    """out[o, c, i, j] = sum over n, oh, ow of grad[n, o, oh, ow] * x[n, g*Cg + c, ih, iw]."""
    height, width = x.shape[2], x.shape[3]
    per_in = out.shape[1]
    per_out = out.shape[0] // (x.shape[1] // per_in)
    oh_size, ow_size = grad.shape[2], grad.shape[3]
    for o in range(out.shape[0]):
        for cg in range(per_in):
            c = (o // per_out) * per_in + cg
            for i in range(kh):
                for j in range(kw):
                    offset = j * dw - pl
                    lo, hi = valid_range(offset, sw, width, ow_size)
                    total = out.dtype.type(0)
                    for n in range(x.shape[0]):
                        for oh in range(oh_size):
                            ih = oh * sh - pt + i * dh
                            if ih < 0 or ih >= height or hi == lo:
                                continue
                            g_row = grad[n, o, oh, lo:hi]
                            if sw == 1:
                                total += _dot(g_row, x[n, c, ih, lo + offset:hi + offset])
                            else:
                                total += _dot(g_row, x[n, c, ih, lo * sw + offset::sw])
                    out[o, cg, i, j] = total


# ---------------------------------------------------------------------------- channels last
# One multiply-add per output channel o reads input channel (o // (OC/G)) * Cg + c; in the
# common depthwise case (Cg = 1, one output per group) that is channel o itself, a contiguous
# run, which the `depthwise` branches use.

@numba.njit(cache=True)
def direct_nhwc(x, weight_t, sh, sw, dh, dw, pt, pl, out):
    """direct_nchw for (N, H, W, C) data; weight_t is the weight as (kh, kw, C/G, OC)."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    kh, kw, per_in, channels_out = weight_t.shape
    per_out = channels_out // (channels // per_in)
    depthwise = per_in == 1 and per_out == 1
    for n in range(out.shape[0]):
        for oh in range(out.shape[1]):
            for ow in range(out.shape[2]):
                dst = out[n, oh, ow]
                for i in range(kh):
                    ih = oh * sh - pt + i * dh
                    if ih < 0 or ih >= height:
                        continue
                    for j in range(kw):
                        iw = ow * sw - pl + j * dw
                        if iw < 0 or iw >= width:
                            continue
                        src = x[n, ih, iw]
                        if depthwise:
                            _mul_add(dst, weight_t[i, j, 0], src)
                            continue
                        for cg in range(per_in):
                            taps = weight_t[i, j, cg]
                            for o in range(channels_out):
                                dst[o] += taps[o] * src[(o // per_out) * per_in + cg]


@numba.njit(cache=True)
def direct_input_grad_nhwc(grad, weight_t, sh, sw, dh, dw, pt, pl, out):
    """The adjoint of direct_nhwc in x."""
    height, width, channels = out.shape[1], out.shape[2], out.shape[3]
    kh, kw, per_in, channels_out = weight_t.shape
    per_out = channels_out // (channels // per_in)
    depthwise = per_in == 1 and per_out == 1
    out[...] = 0
    for n in range(grad.shape[0]):
        for oh in range(grad.shape[1]):
            for ow in range(grad.shape[2]):
                src = grad[n, oh, ow]
                for i in range(kh):
                    ih = oh * sh - pt + i * dh
                    if ih < 0 or ih >= height:
                        continue
                    for j in range(kw):
                        iw = ow * sw - pl + j * dw
                        if iw < 0 or iw >= width:
                            continue
                        dst = out[n, ih, iw]
                        if depthwise:
                            _mul_add(dst, weight_t[i, j, 0], src)
                            continue
                        for cg in range(per_in):
                            taps = weight_t[i, j, cg]
                            for o in range(channels_out):
                                dst[(o // per_out) * per_in + cg] += taps[o] * src[o]


@numba.njit(cache=True)
def direct_weight_grad_nhwc(x, grad, sh, sw, dh, dw, pt, pl, out_t):
    """out_t[i, j, c, o] = sum over n, oh, ow of grad[n, oh, ow, o] * x[n, ih, iw, g*Cg + c]."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    kh, kw, per_in, channels_out = out_t.shape
    per_out = channels_out // (channels // per_in)
    depthwise = per_in == 1 and per_out == 1
    out_t[...] = 0
    for n in range(grad.shape[0]):
        for oh in range(grad.shape[1]):
            for ow in range(grad.shape[2]):
                g_pixel = grad[n, oh, ow]
                for i in range(kh):
                    ih = oh * sh - pt + i * dh
                    if ih < 0 or ih >= height:
                        continue
                    for j in range(kw):
                        iw = ow * sw - pl + j * dw
                        if iw < 0 or iw >= width:
                            continue
                        src = x[n, ih, iw]
                        if depthwise:
                            _mul_add(out_t[i, j, 0], g_pixel, src)
                            continue
                        for cg in range(per_in):
                            dst = out_t[i, j, cg]
                            for o in range(channels_out):
                                dst[o] += g_pixel[o] * src[(o // per_out) * per_in + cg]
