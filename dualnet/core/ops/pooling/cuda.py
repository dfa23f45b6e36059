"""CUDA kernels of the pooling family, the twins of cpu.py: one thread per output element,
driven by the same per-dim window tables (`first`, `count`, `div`; built in ops.py).

Both layouts run one loop nest: a channels-first (planes, H, W) array is seen as the channels-
last (planes, H, W, 1), so a thread's (n, oh, ow, c) covers either. Max-pooling indices are
torch's h * W + w within the (n, c) plane; a NaN always takes the max (the last NaN wins), as
on the CPU. The backward passes scatter each output's gradient with atomic adds (windows may
overlap); grad_in is zeroed first.
"""

import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()


def _as_nhwc(a, channels_last):
    return a if channels_last else a.reshape(a.shape + (1,))


_ON_DEVICE = {}  # id(host table) -> (host table, its device copy)


def _tables(windows):
    """The six int64 window tables on the device. The host tables are read-only and cached by
    the geometry, so each is copied to the device once (kept alive with its copy here, its id
    can't be reused while the entry stands)."""
    tables = []
    for table in windows[:6]:
        entry = _ON_DEVICE.get(id(table))
        if entry is None or entry[0] is not table:
            if len(_ON_DEVICE) > 4096:
                _ON_DEVICE.clear()
            entry = _ON_DEVICE[id(table)] = (table, xp.asarray(table))
        tables.append(entry[1])
    return tables


@cuda.jit(device=True)
def _unravel(i, out):
    """(n, oh, ow, c) of flat output position i of a (N, OH, OW, C) array."""
    channels, width, height = out.shape[3], out.shape[2], out.shape[1]
    c = i % channels
    rest = i // channels
    ow = rest % width
    rest //= width
    return rest // height, rest % height, ow, c


@cuda.jit
def _max_pool(x, h_first, h_count, w_first, w_count, h_step, w_step, lowest, out, indices):
    width = x.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        n, oh, ow, c = _unravel(k, out)
        h0, w0 = h_first[oh], w_first[ow]
        best = lowest
        arg = h0 * width + w0
        for i in range(h_count[oh]):
            ih = h0 + i * h_step
            for j in range(w_count[ow]):
                iw = w0 + j * w_step
                value = x[n, ih, iw, c]
                if value > best or value != value:
                    best = value
                    arg = ih * width + iw
        out[n, oh, ow, c] = best
        indices[n, oh, ow, c] = arg


def _lowest(dtype):
    return dtype.type(-np.inf) if dtype.kind == "f" else np.iinfo(dtype).min


def max_pool(x, windows, channels_last, out, indices):
    """out = the max over each window (NaN wins), indices = its position h * W + w."""
    h_first, h_count, _, w_first, w_count, _ = _tables(windows)
    h_step, w_step = windows[6], windows[7]
    launch(_max_pool, out.size, _as_nhwc(x, channels_last), h_first, h_count, w_first, w_count,
           h_step, w_step, _lowest(x.dtype), _as_nhwc(out, channels_last),
           _as_nhwc(indices, channels_last))


@cuda.jit
def _max_backward(grad_out, indices, grad_in):
    width = grad_in.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, grad_out.size, stride):
        n, oh, ow, c = _unravel(k, grad_out)
        position = indices[n, oh, ow, c]
        cuda.atomic.add(grad_in, (n, position // width, position % width, c),
                        grad_out[n, oh, ow, c])


def max_pool_backward(grad_out, indices, channels_last, grad_in):
    """grad_in = zeros, then grad_out added at each window's argmax."""
    grad_in[...] = 0
    launch(_max_backward, grad_out.size, _as_nhwc(grad_out, channels_last),
           _as_nhwc(indices, channels_last), _as_nhwc(grad_in, channels_last))


@cuda.jit
def _gather(source, indices, out):
    width = source.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        n, oh, ow, c = _unravel(k, out)
        position = indices[n, oh, ow, c]
        out[n, oh, ow, c] = source[n, position // width, position % width, c]


def gather_indices(source, indices, channels_last, out):
    """out = source at each window's argmax: the adjoint of max_pool_backward."""
    launch(_gather, out.size, _as_nhwc(source, channels_last), _as_nhwc(indices, channels_last),
           _as_nhwc(out, channels_last))


@cuda.jit
def _avg_pool(x, h_first, h_count, h_div, w_first, w_count, w_div, divisor, zero, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        n, oh, ow, c = _unravel(k, out)
        h0, w0 = h_first[oh], w_first[ow]
        total = zero
        for ih in range(h0, h0 + h_count[oh]):
            for iw in range(w0, w0 + w_count[ow]):
                total += x[n, ih, iw, c]
        area = divisor if divisor != 0 else h_div[oh] * w_div[ow]
        out[n, oh, ow, c] = total / area


def avg_pool(x, windows, divisor, channels_last, out):
    """out = the sum over each window / (its divisor): `divisor` unless 0, else div_h * div_w."""
    launch(_avg_pool, out.size, _as_nhwc(x, channels_last), *_tables(windows), divisor,
           x.dtype.type(0), _as_nhwc(out, channels_last))


@cuda.jit
def _avg_backward(grad_out, h_first, h_count, h_div, w_first, w_count, w_div, divisor,
                  grad_in):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, grad_out.size, stride):
        n, oh, ow, c = _unravel(k, grad_out)
        h0, w0 = h_first[oh], w_first[ow]
        area = divisor if divisor != 0 else h_div[oh] * w_div[ow]
        share = grad_out[n, oh, ow, c] / area
        for ih in range(h0, h0 + h_count[oh]):
            for iw in range(w0, w0 + w_count[ow]):
                cuda.atomic.add(grad_in, (n, ih, iw, c), share)


def avg_pool_backward(grad_out, windows, divisor, channels_last, grad_in):
    """grad_in = zeros, then each output's grad / divisor added over its window."""
    grad_in[...] = 0
    launch(_avg_backward, grad_out.size, _as_nhwc(grad_out, channels_last), *_tables(windows),
           divisor, _as_nhwc(grad_in, channels_last))
