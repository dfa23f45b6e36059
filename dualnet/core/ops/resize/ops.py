"""F.interpolate (torch's modes nearest, nearest-exact, linear, bilinear, bicubic, trilinear,
area, lanczos; antialias for bilinear and bicubic, always for lanczos) and the axis-wise
`resize` under it, which keras_api's UpSampling2D uses on channels-last images.

Every mode but area is separable: one resize per spatial dim, the last dim first (torch's
order: the rows are mixed along the width, then mixed along the height). One axis is a
two-tap gather out[j] = w0[j] x[i0[j]] + w1[j] x[i1[j]] (nearest, linear) or a many-tap one
out[j] = sum_k w[j, k] x[i[j, k]] (bicubic: 4 taps; the antialiased filters, lanczos's among
them: as many as the scale needs); geometry.py has the taps. Its gradient is the transposed
scatter-add, itself differentiable (by the gather), so the op is differentiable to any order.
area is torch's adaptive average pooling, and is that op here (pooling family).
"""
import math
import numbers

from ...autograd import Function
from ...dispatch import kernels
from ...tensor import Tensor
from ..pooling.ops import adaptive_avg_pool
from . import geometry

_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "bicubic": 2,
          "trilinear": 3, "area": None, "lanczos": 2}  # mode -> its spatial dims (None: any)
_LINEAR = ("linear", "bilinear", "trilinear")
_ANTIALIASED = {"linear": "linear", "bilinear": "linear", "trilinear": "linear",
                "bicubic": "cubic", "lanczos": "lanczos"}  # mode -> its antialiasing filter
_RESIZE_MODES = tuple(m for m in _MODES if m != "area")


def _k(dev):
    return kernels("resize", dev)


def _gather(x, axis, plan):
    """The axis resize of tensor x's array by `plan`: (i0, i1, w0, w1) or (index, weight)."""
    if len(plan) == 2:
        return _k(x._device).resize_axis_taps(x._data, axis, *plan)
    return _k(x._device).resize_axis(x._data, axis, *plan)


def _scatter(g, axis, plan, n_in):
    if len(plan) == 2:
        return _k(g._device).resize_axis_taps_transpose(g._data, axis, *plan, n_in)
    return _k(g._device).resize_axis_transpose(g._data, axis, *plan, n_in)


class ResizeAxis(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, axis, plan, n_in):
        ctx.axis, ctx.plan, ctx.n_in = axis, plan, n_in
        return _gather(x, axis, plan)

    @staticmethod
    def backward(ctx, grad):
        return ResizeAxisTranspose.apply(grad, ctx.axis, ctx.plan, ctx.n_in), None, None, None


class ResizeAxisTranspose(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, g, axis, plan, n_in):
        ctx.axis, ctx.plan, ctx.n_in = axis, plan, n_in
        return _scatter(g, axis, plan, n_in)

    @staticmethod
    def backward(ctx, grad):
        return ResizeAxis.apply(grad, ctx.axis, ctx.plan, ctx.n_in), None, None, None


def _check_lanczos(op, align_corners, antialias):
    """torch's conditions on lanczos (its messages)."""
    if align_corners:
        raise ValueError(f"{op}: lanczos mode does not support align_corners=True")
    if not antialias:
        raise ValueError(f"{op}: lanczos mode requires antialias=True")


def _check_floating(op, mode, input):
    """torch has no integer interpolation: NotImplementedError naming the dtype and shape."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{op}: {mode} interpolation is not implemented for "
                                  f"{input.dtype.name} input (shape {list(input.shape)}); "
                                  f"convert it to a floating-point type first")


def _plan(mode, n_in, size, factor, align_corners, antialias, dtype_name):
    """The taps of one axis, or None where the axis is left as it is."""
    if antialias:
        if size == n_in:
            return None  # torch's separable antialiased resize skips a dim whose size is kept
        return geometry.antialias_plan(n_in, size, factor, align_corners, _ANTIALIASED[mode],
                                       dtype_name)
    if mode in _LINEAR:
        return geometry.linear_plan(n_in, size, factor, align_corners, dtype_name)
    if mode == "bicubic":
        return geometry.cubic_plan(n_in, size, factor, align_corners, dtype_name)
    if size == n_in and mode == "nearest":
        return None  # torch's shortcut: the identity
    return geometry.nearest_plan(n_in, size, factor, mode == "nearest-exact", dtype_name)


def resize(input, sizes, axes, mode="bilinear", scales=None, align_corners=False,
           antialias=False):
    """Resize `input` along `axes` to `sizes` with torch's interpolation rules (`scales`: the
    factors torch keeps for its source-index rule, or None for in/out; `antialias`: torch's
    antialiased bilinear / bicubic / lanczos, which widens the filter when downsampling). The
    layout-free op under F.interpolate; channels-last images resize along axes (1, 2).

    >>> import dualnet as dn
    >>> resize(dn.tensor([[0.0, 1.0]]), (4,), (1,), mode="linear").tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"resize: expected a Tensor as input, got {type(input).__name__}")
    if mode not in _RESIZE_MODES:
        raise ValueError(f"resize: mode must be one of {', '.join(_RESIZE_MODES)}, got "
                         f"{mode!r}")
    if mode == "lanczos":
        _check_lanczos("resize", align_corners, antialias)
    if antialias and mode not in _ANTIALIASED:
        raise ValueError(f"resize: antialias=True needs one of the modes "
                         f"{', '.join(_ANTIALIASED)}, got {mode!r}")
    _check_floating("resize", mode, input)
    scales = (None,) * len(axes) if scales is None else tuple(scales)
    out = input
    dtype_name = input.dtype.np.name
    for axis, size, factor in reversed(list(zip(axes, sizes, scales))):
        n_in = input.shape[axis]
        if size <= 0 or n_in <= 0:
            raise RuntimeError(f"resize: input and output sizes should be greater than 0, got "
                               f"input size {n_in} and output size {size} along dim {axis} "
                               f"(input shape {list(input.shape)})")
        plan = _plan(mode, n_in, int(size), factor, bool(align_corners), bool(antialias),
                     dtype_name)
        if plan is not None:
            out = ResizeAxis.apply(out, axis, plan, n_in)
    return out


def _area(input, sizes):
    """torch's mode="area": adaptive average pooling to `sizes`."""
    _check_floating("interpolate", "area", input)
    if len(sizes) < 3:
        return adaptive_avg_pool(input, sizes, layout="NCL" if len(sizes) == 1 else "NCHW",
                                 op="interpolate")
    # a box mean is separable: the (H, W) planes first, then along D, over the (od, oh * ow)
    # grid whose second dim keeps its size (adaptive windows of one element there)
    n, c, d, h, w = input.shape
    od, oh, ow = sizes
    planes = adaptive_avg_pool(input.reshape(n, c * d, h, w), (oh, ow), op="interpolate")
    depth = adaptive_avg_pool(planes.reshape(n, c, d, oh * ow), (od, oh * ow),
                              op="interpolate")
    return depth.reshape(n, c, od, oh, ow)


def _per_dim(name, value, dims):
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise ValueError(f"interpolate: Input and {name} must have the same number of "
                             f"spatial dimensions, but got input with spatial dimensions of "
                             f"{dims} and {name} of length {len(value)}")
        return tuple(value)
    return (value,) * dims


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Up/down-sample (N, C, *spatial) with torch's arguments and index rules.

    bicubic: Keys' cubic convolution (a = -0.75) over 4 taps, clamped at the border;
    area: adaptive average pooling; antialias (bilinear, bicubic, lanczos; 4-D): the triangle /
    cubic (a = -0.5) / Lanczos-3 filter, stretched by the scale when downsampling and
    normalised over the input (lanczos needs antialias=True).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.interpolate(dn.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    >>> F.interpolate(dn.tensor([[[1.0, 2.0, 3.0, 4.0]]]), size=2, mode="area").tolist()
    [[[1.5, 3.5]]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor as input, got "
                        f"{type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; dualnet has "
                                  f"{', '.join(_MODES)}")
    dims = input.ndim - 2
    if dims < 1 or dims > 3:
        raise NotImplementedError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, "
                                  f"*spatial), got shape {list(input.shape)}")
    if align_corners is not None and mode in ("nearest", "nearest-exact", "area"):
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: only one of size or scale_factor should be defined"
                         if size is not None else
                         "interpolate: either size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        sizes = _per_dim("size", size, dims)
        if not all(isinstance(s, numbers.Integral) for s in sizes):
            raise TypeError(f"interpolate: size must be ints, got {size!r}")
        scales = None
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size.")
    else:
        factors = tuple(float(f) for f in _per_dim("scale_factor", scale_factor, dims))
        sizes = tuple(int(math.floor(n * f)) for n, f in zip(spatial, factors))
        scales = None if recompute_scale_factor else factors
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError(f"interpolate: anti-alias option is restricted to bilinear, bicubic "
                         f"and lanczos modes and requires a 4-D tensor as input, got mode "
                         f"{mode!r} and input shape {list(input.shape)}")
    if _MODES[mode] is not None and _MODES[mode] != dims:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{_MODES[mode] + 2}D input (input shape "
                                  f"{list(input.shape)})")
    if mode == "lanczos" and input.ndim == 4:
        _check_lanczos("interpolate", align_corners, antialias)
    if mode == "area":
        return _area(input, tuple(int(s) for s in sizes))
    return resize(input, sizes, tuple(range(2, input.ndim)), mode=mode, scales=scales,
                  align_corners=bool(align_corners), antialias=bool(antialias))


FUNCTIONAL = ["interpolate"]
__all__ = []
METHODS = {}
