"""Argument checks of the conv ops and the 2-D problem they reduce to (`Geometry`).

Shapes and arguments in, a Geometry out: no tensors, so `planned` can cache the result for a
training loop's repeated calls. Errors are torch's classes, naming the op and every shape.
"""
import collections
import functools
import math
import numbers

import numpy as np

from .._common import shape_str

# The 2-D problem every conv op is reduced to. kernel, stride, dilation, pad (top, left),
# in_size (H, W) and out_size (OH, OW) are pairs; the conv's input is in_size, its output
# out_size (for a transposed conv, the other way round).
Geometry = collections.namedtuple(
    "Geometry", "layout groups kernel stride dilation pad in_size out_size")

LAYOUTS = {"NCHW": 2, "NHWC": 2, "NCL": 1, "NLC": 1}
CHANNELS_LAST = ("NHWC", "NLC")


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def _int_tuple(op, name, value, dims):
    """An int or a sequence of `dims` ints (or of one) as a tuple of `dims` ints."""
    if _is_int(value):
        return (int(value),) * dims
    if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) == 1:
            return (int(value[0]),) * dims
        if len(value) == dims:
            return tuple(int(v) for v in value)
        raise RuntimeError(f"{op}: expected {name} to be a single integer or a list of {dims} "
                           f"values to match the convolution dims, got {name}={list(value)}")
    raise TypeError(f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r}")


def _positive(op, name, values):
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: non-positive {name} is not supported, got {name}={values}")
    return values


def _same_pads(size, kernel, stride, dilation):
    """TensorFlow's 'same': output ceil(size / stride); the odd pixel of padding goes last."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _paddings(op, padding, dims, sizes, kernel, stride, dilation, *, core, transposed=False):
    """((begin, end) per spatial dim) from an int, a tuple, 'same' / 'valid' or, in the core
    op, ((begin, end), ...)."""
    if isinstance(padding, str):
        if transposed:
            raise TypeError(f"{op}: padding must be an int or a tuple of {dims} ints, got "
                            f"{padding!r} (a transposed convolution has no 'same' / 'valid')")
        if padding == "valid":
            return ((0, 0),) * dims
        if padding != "same":
            raise RuntimeError(f"{op}: invalid padding string {padding!r}, expected 'same' or "
                               f"'valid'")
        if not core and any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions "
                               f"(stride={stride}); pass explicit padding")
        return tuple(_same_pads(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation))
    if (core and isinstance(padding, (tuple, list)) and len(padding) == dims
            and all(isinstance(p, (tuple, list)) for p in padding)):
        if not all(len(p) == 2 and all(_is_int(v) for v in p) for p in padding):
            raise TypeError(f"{op}: explicit padding must be {dims} (begin, end) pairs of ints, "
                            f"got {padding!r}")
        pads = tuple((int(b), int(e)) for b, e in padding)
    else:
        pads = tuple((p, p) for p in _int_tuple(op, "padding", padding, dims))
    if any(v < 0 for pair in pads for v in pair):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={padding!r}")
    return pads


def _spatial(shape, layout):
    return shape[1:-1] if layout in CHANNELS_LAST else shape[2:]


def _channels(shape, layout):
    return shape[-1] if layout in CHANNELS_LAST else shape[1]


def plan(op, in_shape, w_shape, b_shape, stride, padding, dilation, groups, layout, core,
          transposed, output_padding):
    """Every check that depends on shapes and arguments only, and what the op then runs: the
    batched 4-D input shape, the 4-D weight shape, the Geometry and whether the input was
    unbatched. Cached by `planned`: a training loop calls it with the same arguments each step.
    """
    dims = LAYOUTS[layout]
    if len(w_shape) != dims + 2:
        kernel = "kW" if dims == 1 else "kH, kW"
        raise RuntimeError(f"{op}: expected a {dims + 2}-D weight (out_channels, in_channels / "
                           f"groups, {kernel}), got weight of shape {shape_str(w_shape)} for "
                           f"input of shape {shape_str(in_shape)}")
    if len(in_shape) not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) "
                           f"input, got input of shape {shape_str(in_shape)} (weight of shape "
                           f"{shape_str(w_shape)})")
    unbatched = len(in_shape) == dims + 1
    shape = (1,) + in_shape if unbatched else in_shape
    stride = _positive(op, "stride", _int_tuple(op, "stride", stride, dims))
    dilation = _positive(op, "dilation", _int_tuple(op, "dilation", dilation, dims))
    if not _is_int(groups):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    kernel, sizes, channels = w_shape[2:], _spatial(shape, layout), _channels(shape, layout)
    shapes = f"input of shape {shape_str(in_shape)}"
    weight_str = shape_str(w_shape)
    pads = _paddings(op, padding, dims, sizes, kernel, stride, dilation, core=core,
                     transposed=transposed)
    if transposed:
        if channels != w_shape[0]:
            raise RuntimeError(f"{op}: given transposed=1, weight of shape {weight_str}, expected "
                               f"{shapes} to have {w_shape[0]} channels, but got {channels} "
                               f"channels")
        if w_shape[0] % groups:
            raise RuntimeError(f"{op}: weight of shape {weight_str} has {w_shape[0]} input "
                               f"channels, not divisible by groups={groups}")
        out_pad = _int_tuple(op, "output_padding", output_padding, dims)
        if any(o < 0 or (o >= s and o >= d) for o, s, d in zip(out_pad, stride, dilation)):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, got output_padding={out_pad}, stride={stride}, "
                               f"dilation={dilation}")
        out_sizes = tuple((n - 1) * s - b - e + d * (k - 1) + o + 1 for n, s, (b, e), d, k, o
                          in zip(sizes, stride, pads, dilation, kernel, out_pad))
        if any(n <= 0 for n in out_sizes):
            raise RuntimeError(f"{op}: {shapes} with weight of shape {weight_str} gives a "
                               f"non-positive output size {out_sizes} (padding={padding!r}): "
                               f"the output is too small")
        conv_in, conv_out, bias_size = out_sizes, sizes, w_shape[1] * groups
    else:
        if w_shape[0] % groups:
            raise RuntimeError(f"{op}: given groups={groups}, weight of shape {weight_str} has "
                               f"{w_shape[0]} output channels, not divisible by groups")
        if channels != w_shape[1] * groups:
            raise RuntimeError(f"{op}: given groups={groups}, weight of shape {weight_str}, "
                               f"expected {shapes} to have {w_shape[1] * groups} channels, but "
                               f"got {channels} channels instead")
        padded = tuple(n + b + e for n, (b, e) in zip(sizes, pads))
        reach = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
        if any(p < r for p, r in zip(padded, reach)):
            raise RuntimeError(f"{op}: padded input size per channel {_x(padded)} is smaller "
                               f"than the (dilated) kernel size {_x(reach)}: {shapes}, weight of "
                               f"shape {weight_str}, padding={padding!r}, dilation={dilation}")
        conv_in = sizes
        conv_out = tuple((p - r) // s + 1 for p, r, s in zip(padded, reach, stride))
        bias_size = w_shape[0]
    if b_shape is not None and b_shape != (bias_size,):
        raise RuntimeError(f"{op}: given weight of shape {weight_str}, expected bias to be 1-D "
                           f"with {bias_size} elements, got bias of shape {shape_str(b_shape)}")
    if dims == 1:  # the 2-D problem over a height of 1
        n, length = shape[0], shape[1] if layout == "NLC" else shape[2]
        shape = (n, 1, length, channels) if layout == "NLC" else (n, channels, 1, length)
        w_shape = (w_shape[0], w_shape[1], 1, kernel[0])
        geom = Geometry("NHWC" if layout == "NLC" else "NCHW", groups, (1,) + kernel,
                        (1,) + stride, (1,) + dilation, (0, pads[0][0]), (1,) + conv_in,
                        (1,) + conv_out)
    else:
        geom = Geometry(layout, groups, kernel, stride, dilation, (pads[0][0], pads[1][0]),
                        conv_in, conv_out)
    return shape, w_shape, geom, unbatched


planned = functools.lru_cache(maxsize=512)(plan)


def freeze(value):
    """Lists (of lists) as tuples, so that the arguments can key `planned`'s cache."""
    return tuple(freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


def _x(sizes):
    return "(" + " x ".join(str(s) for s in sizes) + ")"
