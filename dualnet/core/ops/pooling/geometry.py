"""Where each pooling window reads: the per-dim window tables of one call and the shapes
around its kernel, built from torch's or Keras's arguments (pure Python + NumPy, cached).

torch's rules: out = floor((in + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1 (ceil
with ceil_mode, keeping a last window only if it starts inside the input or the left padding),
padding at most half the kernel. Keras's "valid" / "same" follow TensorFlow: "same" gives
out = ceil(in / stride) and pads (out - 1) * stride + kernel - in, the odd one at the end.
Adaptive window i of a dim spans [floor(i * in / out), ceil((i + 1) * in / out)).
One departure: a dilated window whose taps all land in the padding is an error here; torch
returns -inf with an index outside the plane, and its backward then writes out of bounds.
"""
import functools
import math

import numpy as np

from .._common import shape_str

LAYOUTS = {"NCL": (1, False), "NLC": (1, True), "NCHW": (2, False), "NHWC": (2, True)}


def _frozen(*arrays):
    """The tables made read-only: they are shared by every call through the caches (and a
    Numba kernel compiles once for read-only tables)."""
    for a in arrays:
        a.flags.writeable = False
    return arrays


# the height of a 1-D op: one window of one tap
_ONE_ROW = _frozen(np.zeros(1, np.int64), np.ones(1, np.int64), np.ones(1, np.int64))


def cached(build, *args):
    """build(*args) (a geometry builder), from its cache when every argument is hashable: a
    training loop pools the same shapes with the same settings again and again, and building
    the tables costs ~9 us."""
    try:
        hash(args)
    except TypeError:  # a list among the arguments
        return build.__wrapped__(*args)
    return build(*args)


@functools.lru_cache(maxsize=1024)
def _fixed_windows(size, kernel, stride, pad_before, pad_after, dilation, out):
    """(first, count, divisor) of each output's window along one dim: its first in-bounds tap,
    how many taps fall inside the input, and torch's count_include_pad divisor (the window
    clipped to the padded input, dilation 1)."""
    start = np.arange(out, dtype=np.int64) * stride - pad_before
    skipped = np.maximum(-start + dilation - 1, 0) // dilation  # taps in the left padding
    last = np.minimum(kernel - 1, (size - 1 - start) // dilation)
    count = np.maximum(last - skipped + 1, 0)
    with_padding = np.minimum(start + kernel, size + pad_after) - start
    return _frozen(start + skipped * dilation, count, with_padding)


@functools.lru_cache(maxsize=1024)
def _adaptive_windows(size, out):
    index = np.arange(out, dtype=np.int64)
    start = index * size // out
    count = -(-(index + 1) * size // out) - start
    return _frozen(start, count, count)




class Geometry:
    """One pooling call's windows and the shapes around its kernel (kernel_in / kernel_out:
    (planes, H, W), or (N, H, W, C) channels-last; in_shape / out_shape: the user's)."""

    __slots__ = ("in_shape", "out_shape", "kernel_in", "kernel_out", "channels_last", "windows",
                 "divisor")

    def __init__(self, in_shape, channels_last, axes, steps, kernel=(0, 0), divisor=0):
        spatial = len(axes)
        outs = tuple(len(axis[0]) for axis in axes)
        if spatial == 1:
            axes, steps, kernel = (_ONE_ROW,) + tuple(axes), (1,) + tuple(steps), (1,) + kernel
        sizes = in_shape[len(in_shape) - spatial - channels_last:][:spatial]
        lead = in_shape[:len(in_shape) - spatial - channels_last]
        batch = math.prod(lead)  # images (channels-last) or planes (channels-first)
        self.in_shape, self.channels_last, self.divisor = tuple(in_shape), channels_last, divisor
        if channels_last:
            channels = in_shape[-1]
            self.out_shape = tuple(lead) + outs + (channels,)
            self.kernel_in = (batch,) + (1,) * (2 - spatial) + tuple(sizes) + (channels,)
            self.kernel_out = (batch,) + (1,) * (2 - spatial) + outs + (channels,)
        else:
            self.out_shape = tuple(lead) + outs
            self.kernel_in = (batch,) + (1,) * (2 - spatial) + tuple(sizes)
            self.kernel_out = (batch,) + (1,) * (2 - spatial) + outs
        (h_first, h_count, h_div), (w_first, w_count, w_div) = axes
        self.windows = (h_first, h_count, h_div, w_first, w_count, w_div) + tuple(steps) + \
            tuple(kernel)


def _ints(op, name, value, n):
    """An int or a sequence of 1 or n ints as a tuple of n ints."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    for v in items:
        if not hasattr(v, "__index__") or isinstance(v, bool):
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if len(items) not in (1, n):
        raise RuntimeError(f"{op}: {name} must be a single int or a tuple of {n} ints, got "
                           f"{value!r}")
    items = tuple(v.__index__() for v in items)
    return items * n if len(items) == 1 else items


def _spatial(op, shape, layout):
    """(spatial rank, channels_last, spatial sizes) after checking the input's rank."""
    if layout not in LAYOUTS:
        raise ValueError(f"{op}: layout must be one of {sorted(LAYOUTS)}, got {layout!r}")
    spatial, channels_last = LAYOUTS[layout]
    if len(shape) not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{op}: expected a {spatial + 1}-D ({', '.join(layout[1:])}) or "
                           f"{spatial + 2}-D ({', '.join(layout)}) input, got shape "
                           f"{shape_str(shape)}")
    first = len(shape) - spatial - channels_last
    return spatial, channels_last, shape[first:first + spatial]


def _output_size(size, kernel, stride, pad_before, pad_after, dilation, ceil_mode):
    """torch's pooling_output_shape: ceil_mode drops a last window starting past the left pad."""
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


@functools.lru_cache(maxsize=512)
def fixed(op, shape, layout, kernel_size, stride, padding, dilation, ceil_mode,
          count_include_pad=True, divisor=0):
    """The Geometry of max / average pooling with a fixed kernel (errors name `op`)."""
    spatial, channels_last, sizes = _spatial(op, shape, layout)
    kernel = _ints(op, "kernel_size", kernel_size, spatial)
    stride = kernel if stride is None or stride == () or stride == [] else \
        _ints(op, "stride", stride, spatial)
    dilation = _ints(op, "dilation", dilation, spatial)
    if min(kernel) <= 0:
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, got {kernel}")
    if min(stride) <= 0:
        raise RuntimeError(f"{op}: stride must be greater than zero, got {stride}")
    if min(dilation) <= 0:
        raise RuntimeError(f"{op}: dilation must be greater than zero, got {dilation}")
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be an int, a tuple of ints, 'valid' or 'same', "
                             f"got {padding!r}")
        if ceil_mode:
            raise ValueError(f"{op}: ceil_mode can't be combined with padding={padding!r}")
        pads = []
        for n, e, s in zip(sizes, effective, stride):
            total = max((-(-n // s) - 1) * s + e - n, 0) if padding == "same" else 0
            pads.append((total // 2, total - total // 2))  # TensorFlow: the odd pad at the end
    else:
        symmetric = _ints(op, "padding", padding, spatial)
        if min(symmetric) < 0:
            raise RuntimeError(f"{op}: padding must be non-negative, got {symmetric}")
        if any(p > k // 2 for p, k in zip(symmetric, kernel)):
            raise RuntimeError(f"{op}: padding should be at most half of kernel_size, got "
                               f"padding={symmetric} and kernel_size={kernel}")
        pads = [(p, p) for p in symmetric]
    outs = tuple(_output_size(n, k, s, pb, pa, d, ceil_mode)
                 for n, k, s, (pb, pa), d in zip(sizes, kernel, stride, pads, dilation))
    if min(outs) < 1:
        padded = "x".join(str(n + before + after) for n, (before, after) in zip(sizes, pads))
        raise RuntimeError(f"{op}: input of shape {shape_str(shape)} gives output size "
                           f"{'x'.join(map(str, outs))} with kernel_size={kernel}, "
                           f"stride={stride}, padding={padding}, dilation={dilation}: output size "
                           f"is too small (is the kernel larger than the padded input, {padded}?)")
    axes = []
    for n, k, s, (pb, pa), d, o in zip(sizes, kernel, stride, pads, dilation, outs):
        first, count, with_padding = _fixed_windows(n, k, s, pb, pa, d, o)
        if not count.all():  # dilated taps can all land in the padding (torch then corrupts memory)
            raise RuntimeError(f"{op}: with kernel_size={kernel}, dilation={dilation} and "
                               f"padding={padding}, a window of the input of shape "
                               f"{shape_str(shape)} holds padding only")
        axes.append((first, count, with_padding if count_include_pad else count))
    return Geometry(shape, channels_last, axes, dilation, kernel, divisor)


@functools.lru_cache(maxsize=512)
def adaptive(op, shape, layout, output_size):
    """The Geometry of adaptive pooling to `output_size` (None: the input's size)."""
    spatial, channels_last, sizes = _spatial(op, shape, layout)
    given = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(given) not in (1, spatial) or not all(
            s is None or (hasattr(s, "__index__") and not isinstance(s, bool)) for s in given):
        raise TypeError(f"{op}: output_size must be an int or a tuple of {spatial} ints (or None),"
                        f" got {output_size!r}")
    given = given * spatial if len(given) == 1 else given
    outs = tuple(n if s is None else s.__index__() for n, s in zip(sizes, given))
    if min(outs) < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {output_size!r}")
    for d, s in enumerate(shape):
        if s == 0 and d >= len(shape) - spatial - 1:
            raise RuntimeError(f"{op}: expected an input with non-zero sizes in its non-batch "
                               f"dims, got shape {shape_str(shape)} (dim {d} is empty)")
    axes = [_adaptive_windows(n, o) for n, o in zip(sizes, outs)]
    return Geometry(shape, channels_last, axes, (1,) * spatial, (0,) * spatial)
