"""CPU kernels of the pooling family: arrays in, an `out` array to fill.

Every pooling op (max / average, fixed or adaptive windows, 1-D or 2-D) runs one of a few loop
nests driven by window tables, one set per spatial dim: `first[o]` is the first input position
of output o's window that lies inside the input and `count[o]` how many of its taps (one every
`step`, the dilation) do. Padding, ceil_mode and adaptive windows are all in the tables (built
in ops.py), so the kernels never test a bound. Average pooling divides by `div_h[oh] *
div_w[ow]` (the counts, with or without the padding) or by a fixed `divisor`.

Two memory layouts, each with its own loop nest, so neither pays for a transpose:
channels-first input is a C-contiguous (planes, H, W) array (one plane per (n, c)); channels-
last input is (N, H, W, C), its innermost loop running over contiguous channels (which LLVM
vectorises). Max-pooling indices are torch's: h * W + w within the (n, c) plane, both layouts.

Channels-first loops, where a plane's windows are a few scattered taps each, take three tricks,
together ~4x over the plain loop (and torch's) on 2x2 and 3x3 pools: flat unsigned offsets
(a signed index pays a wraparound test per read), full windows walking `taps`, a tuple of their
offsets whose length Numba compiles in so LLVM unrolls it (areas up to MAX_UNROLLED_AREA), and
a max that ignores NaN (a plain `>`), the plane redone by the exact loop when it holds one.

Planes (or images) run in parallel (`prange`) above config.PARALLEL_MIN_ELEMENTS, else the
serial build runs (waking Numba's threads costs ~2.4 us). A backward pass owns whole planes
(channels-first) or images (channels-last) per thread: overlapping windows scatter into the
same input element, so only those are race-free. No fastmath: NaN must win a max, as in torch.
"""
import functools
import types as _pytypes

import numba
import numpy as np
from numba import prange

from ...config import PARALLEL_MIN_ELEMENTS

_U = numba.uint64
# Full windows of up to this many taps walk an unrolled loop (see `_max_planes`). Each area
# compiles its own variant of a kernel the first time it is used, so larger kernels, rarer and
# longer, keep the generic loop.
MAX_UNROLLED_AREA = 9


def _two_builds(fn):
    """A serial and a parallel build of one kernel (separate names: the disk cache keys on the
    function's name), picked by the size of the first array argument."""
    serial = numba.njit(cache=True)(fn)
    twin = _pytypes.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel")
    twin.__qualname__ = fn.__qualname__ + "_parallel"
    parallel = numba.njit(cache=True, parallel=True)(twin)

    def run(*args):
        kernel = parallel if args[0].size >= PARALLEL_MIN_ELEMENTS else serial
        kernel(*args)

    run.serial, run.parallel = serial, parallel
    return run


# --------------------------------------------------------------------------- max pooling

@numba.njit(cache=True)
def _max_plane_exact(flat, base, width, h_first, h_count, w_first, w_count, h_step, w_step,
                     lowest, out, indices, o):
    """One plane with torch's NaN rule: a NaN always takes the max (so the last NaN wins)."""
    for oh in range(h_first.size):
        h0 = h_first[oh]
        for ow in range(w_first.size):
            w0 = w_first[ow]
            best, arg = lowest, _U(h0 * width + w0)
            for i in range(h_count[oh]):
                row = _U((h0 + i * h_step) * width)
                for j in range(w_count[ow]):
                    pos = row + _U(w0 + j * w_step)
                    value = flat[base + pos]
                    if value > best or value != value:
                        best, arg = value, pos
            out[o] = best
            indices[o] = arg
            o += _U(1)


@_two_builds
def _max_planes(x, taps, h_first, h_count, w_first, w_count, h_step, w_step, lowest, out,
                indices):
    # full windows walk the unrolled `taps`, windows cut by the border the tables; NaN compares
    # false, so `>` skips it, and a plane holding one is redone by the exact loop
    width, size, full = x.shape[2], x.shape[1] * x.shape[2], len(taps)
    outputs = out.shape[1] * out.shape[2]
    flat, out_flat, indices_flat = x.reshape(-1), out.reshape(-1), indices.reshape(-1)
    for p in prange(x.shape[0]):
        base, o = _U(p * size), _U(p * outputs)
        for oh in range(out.shape[1]):
            h0 = h_first[oh]
            for ow in range(out.shape[2]):
                w0 = w_first[ow]
                first = _U(h0 * width + w0)
                best, arg = lowest, first
                if h_count[oh] * w_count[ow] == full:
                    for t in range(full):
                        pos = first + _U(taps[t])
                        value = flat[base + pos]
                        if value > best:
                            best, arg = value, pos
                else:
                    for i in range(h_count[oh]):
                        row = _U((h0 + i * h_step) * width)
                        for j in range(w_count[ow]):
                            pos = row + _U(w0 + j * w_step)
                            value = flat[base + pos]
                            if value > best:
                                best, arg = value, pos
                out_flat[o] = best
                indices_flat[o] = arg
                o += _U(1)
        nan = False
        for k in range(base, base + _U(size)):
            nan |= flat[k] != flat[k]
        if nan:
            _max_plane_exact(flat, base, width, h_first, h_count, w_first, w_count, h_step,
                             w_step, lowest, out_flat, indices_flat, _U(p * outputs))


@_two_builds
def _max_channels_last(x, h_first, h_count, w_first, w_count, h_step, w_step, lowest, out,
                       indices):
    # the channel loop compares and selects without branches (NaN takes the max, the last NaN
    # wins), which LLVM vectorises across the contiguous channels
    width, channels, rows = x.shape[2], x.shape[3], out.shape[1]
    for task in prange(x.shape[0] * rows):
        n, oh = task // rows, task % rows
        h0 = h_first[oh]
        for ow in range(out.shape[2]):
            w0 = w_first[ow]
            best, arg = out[n, oh, ow], indices[n, oh, ow]
            first = h0 * width + w0
            for c in range(channels):
                best[c], arg[c] = lowest, first
            for i in range(h_count[oh]):
                ih = h0 + i * h_step
                for j in range(w_count[ow]):
                    iw = w0 + j * w_step
                    src, pos = x[n, ih, iw], ih * width + iw
                    for c in range(channels):
                        value, top = src[c], best[c]
                        take = (value > top) | (value != value)
                        best[c] = value if take else top
                        arg[c] = pos if take else arg[c]


@_two_builds
def _max_backward_planes(grad_out, indices, grad_in):
    # grad_out, indices: (planes, outputs); grad_in: (planes, H * W)
    zero = grad_in.dtype.type(0)
    size, outputs = grad_in.shape[1], grad_out.shape[1]
    flat, grad_flat, indices_flat = grad_in.reshape(-1), grad_out.reshape(-1), indices.reshape(-1)
    for p in prange(grad_in.shape[0]):
        base, o = _U(p * size), _U(p * outputs)
        for k in range(base, base + _U(size)):
            flat[k] = zero
        for k in range(o, o + _U(outputs)):
            flat[base + _U(indices_flat[k])] += grad_flat[k]


@_two_builds
def _max_backward_channels_last(grad_out, indices, grad_in):
    # grad_out, indices: (N, outputs, C); grad_in: (N, H * W, C)
    zero, channels = grad_in.dtype.type(0), grad_in.shape[2]
    for n in prange(grad_in.shape[0]):
        plane = grad_in[n].reshape(-1)
        for k in range(plane.size):
            plane[k] = zero
        for o in range(grad_out.shape[1]):
            grads, where = grad_out[n, o], indices[n, o]
            for c in range(channels):
                plane[where[c] * channels + c] += grads[c]


# --------------------------------------------------------------------------- average pooling

@_two_builds
def _avg_planes(x, taps, h_first, h_count, h_div, w_first, w_count, w_div, divisor, out):
    width, size, full = x.shape[2], x.shape[1] * x.shape[2], len(taps)
    outputs = out.shape[1] * out.shape[2]
    flat, out_flat = x.reshape(-1), out.reshape(-1)
    zero = x.dtype.type(0)
    for p in prange(x.shape[0]):
        base, o = _U(p * size), _U(p * outputs)
        for oh in range(out.shape[1]):
            h0 = h_first[oh]
            for ow in range(out.shape[2]):
                first = base + _U(h0 * width + w_first[ow])
                total = zero
                if h_count[oh] * w_count[ow] == full:
                    for t in range(full):
                        total += flat[first + _U(taps[t])]
                else:
                    for i in range(h_count[oh]):
                        row = first + _U(i * width)
                        for j in range(w_count[ow]):
                            total += flat[row + _U(j)]
                area = divisor if divisor != 0 else h_div[oh] * w_div[ow]
                out_flat[o] = total / x.dtype.type(area)
                o += _U(1)


@_two_builds
def _avg_channels_last(x, h_first, h_count, h_div, w_first, w_count, w_div, divisor, out):
    zero, channels, rows = x.dtype.type(0), x.shape[3], out.shape[1]
    for task in prange(x.shape[0] * rows):
        n, oh = task // rows, task % rows
        h0 = h_first[oh]
        for ow in range(out.shape[2]):
            w0 = w_first[ow]
            total = out[n, oh, ow]
            total[:] = zero
            for ih in range(h0, h0 + h_count[oh]):
                for iw in range(w0, w0 + w_count[ow]):
                    for c in range(channels):
                        total[c] += x[n, ih, iw, c]
            size = x.dtype.type(divisor if divisor != 0 else h_div[oh] * w_div[ow])
            for c in range(channels):
                total[c] /= size


@_two_builds
def _avg_backward_planes(grad_out, taps, h_first, h_count, h_div, w_first, w_count, w_div,
                         divisor, grad_in):
    width, size, full = grad_in.shape[2], grad_in.shape[1] * grad_in.shape[2], len(taps)
    outputs = grad_out.shape[1] * grad_out.shape[2]
    flat, grad_flat = grad_in.reshape(-1), grad_out.reshape(-1)
    zero = grad_in.dtype.type(0)
    for p in prange(grad_in.shape[0]):
        base, o = _U(p * size), _U(p * outputs)
        for k in range(base, base + _U(size)):
            flat[k] = zero
        for oh in range(grad_out.shape[1]):
            h0 = h_first[oh]
            for ow in range(grad_out.shape[2]):
                first = base + _U(h0 * width + w_first[ow])
                area = divisor if divisor != 0 else h_div[oh] * w_div[ow]
                share = grad_flat[o] / grad_in.dtype.type(area)
                if h_count[oh] * w_count[ow] == full:
                    for t in range(full):
                        flat[first + _U(taps[t])] += share
                else:
                    for i in range(h_count[oh]):
                        row = first + _U(i * width)
                        for j in range(w_count[ow]):
                            flat[row + _U(j)] += share
                o += _U(1)


@_two_builds
def _avg_backward_channels_last(grad_out, h_first, h_count, h_div, w_first, w_count, w_div,
                                divisor, grad_in):
    zero, channels = grad_in.dtype.type(0), grad_in.shape[3]
    for n in prange(grad_in.shape[0]):
        grad_in[n, :, :, :] = zero
        for oh in range(grad_out.shape[1]):
            h0 = h_first[oh]
            for ow in range(grad_out.shape[2]):
                w0 = w_first[ow]
                size = grad_in.dtype.type(divisor if divisor != 0 else h_div[oh] * w_div[ow])
                for ih in range(h0, h0 + h_count[oh]):
                    for iw in range(w0, w0 + w_count[ow]):
                        for c in range(channels):
                            grad_in[n, ih, iw, c] += grad_out[n, oh, ow, c] / size


# --------------------------------------------------------------------------- entry points
# `x` / `grad_in` are 3-D (planes, H, W) or, with channels_last, 4-D (N, H, W, C), C-contiguous;
# `windows` is (h_first, h_count, h_div, w_first, w_count, w_div) int64 tables, then the
# dilations (h_step, w_step) and the kernel size (h_kernel, w_kernel; 0 for adaptive windows).

def _lowest(dtype):
    return dtype.type(-np.inf) if dtype.kind == "f" else np.iinfo(dtype).min


@functools.lru_cache(maxsize=256)
def _taps(h_kernel, w_kernel, h_step, w_step, width):
    """Offsets of a full window's taps from its first, in torch's scan order; (0,) (a one-tap
    window) where the area is not unrolled."""
    if not 1 < h_kernel * w_kernel <= MAX_UNROLLED_AREA:
        return (0,)
    return tuple(i * h_step * width + j * w_step for i in range(h_kernel) for j in range(w_kernel))


def max_pool(x, windows, channels_last, out, indices):
    """out = the max over each window (NaN wins), indices = its position h * W + w."""
    h_first, h_count, _, w_first, w_count, _, h_step, w_step, h_kernel, w_kernel = windows
    if channels_last:
        _max_channels_last(x, h_first, h_count, w_first, w_count, h_step, w_step,
                           _lowest(x.dtype), out, indices)
    else:
        taps = _taps(h_kernel, w_kernel, h_step, w_step, x.shape[2])
        _max_planes(x, taps, h_first, h_count, w_first, w_count, h_step, w_step,
                    _lowest(x.dtype), out, indices)


def _flat_views(channels_last, *arrays):
    """(planes, H * W) views of channels-first arrays, (N, H * W, C) of channels-last ones
    (explicit sizes: -1 can't be inferred for an empty batch)."""
    if channels_last:
        return [a.reshape(a.shape[0], a.shape[1] * a.shape[2], a.shape[3]) for a in arrays]
    return [a.reshape(a.shape[0], a.shape[1] * a.shape[2]) for a in arrays]


def max_pool_backward(grad_out, indices, channels_last, grad_in):
    """grad_in = zeros, then grad_out added at each window's argmax."""
    grad_out, indices, grad_in = _flat_views(channels_last, grad_out, indices, grad_in)
    kernel = _max_backward_channels_last if channels_last else _max_backward_planes
    kernel(grad_out, indices, grad_in)


def gather_indices(source, indices, channels_last, out):
    """out = source at each window's argmax: the adjoint of max_pool_backward. NumPy's gather
    runs at memory speed here."""
    source, indices, flat_out = _flat_views(channels_last, source, indices, out)
    flat_out[...] = np.take_along_axis(source, indices, axis=1)


def _is_global(x, out, windows, divisor):
    """Whether one window covers each whole plane, divided by its area: global average pooling
    (adaptive_avg_pool2d(x, 1), Keras's GlobalAveragePooling), which NumPy does faster."""
    h_count, h_div, w_count, w_div = windows[1], windows[2], windows[4], windows[5]
    height, width = x.shape[1], x.shape[2]
    return (out.shape[1] * out.shape[2] == 1 and divisor == 0 and h_count[0] == height
            and w_count[0] == width and h_div[0] * w_div[0] == height * width)


def avg_pool(x, windows, divisor, channels_last, out):
    """out = the sum over each window / (its divisor): `divisor` unless 0, else div_h * div_w."""
    h_first, h_count, h_div, w_first, w_count, w_div, _, _, h_kernel, w_kernel = windows
    if _is_global(x, out, windows, divisor):
        # a matrix-vector product with weights 1 / area: BLAS runs it threaded at memory speed
        # (0.19 ms on (65536, 7, 7) float32 where np.add.reduce over the plane takes 1.75 ms)
        area = x.shape[1] * x.shape[2]
        weights = np.full(area, 1 / area, x.dtype)
        if channels_last:
            n, c = x.shape[0], x.shape[3]
            np.matmul(weights, x.reshape(n, area, c), out=out.reshape(n, c))
        else:
            np.matmul(x.reshape(x.shape[0], area), weights, out=out.reshape(x.shape[0]))
    elif channels_last:
        _avg_channels_last(x, h_first, h_count, h_div, w_first, w_count, w_div, divisor, out)
    else:
        taps = _taps(h_kernel, w_kernel, 1, 1, x.shape[2])
        _avg_planes(x, taps, h_first, h_count, h_div, w_first, w_count, w_div, divisor, out)


def avg_pool_backward(grad_out, windows, divisor, channels_last, grad_in):
    """grad_in = zeros, then each output's grad / divisor added over its window."""
    h_first, h_count, h_div, w_first, w_count, w_div, _, _, h_kernel, w_kernel = windows
    if _is_global(grad_in, grad_out, windows, divisor):  # a broadcast, at memory speed
        np.divide(grad_out, grad_in.dtype.type(grad_in.shape[1] * grad_in.shape[2]), out=grad_in)
    elif channels_last:
        _avg_backward_channels_last(grad_out, h_first, h_count, h_div, w_first, w_count, w_div,
                                    divisor, grad_in)
    else:
        taps = _taps(h_kernel, w_kernel, 1, 1, grad_in.shape[2])
        _avg_backward_planes(grad_out, taps, h_first, h_count, h_div, w_first, w_count, w_div,
                             divisor, grad_in)
