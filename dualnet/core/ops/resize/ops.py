"""F.interpolate (torch's modes nearest, nearest-exact, linear, bilinear, trilinear) and the
axis-wise `resize` under it, which keras_api's UpSampling2D uses on channels-last images.

Every mode is separable: one resize per spatial dim, the last dim first (torch's bilinear
order: the rows are mixed along the width, then mixed along the height). One axis is a
two-tap gather out[j] = w0[j] x[i0[j]] + w1[j] x[i1[j]] (geometry.py has the taps); its
gradient is the transposed scatter-add, itself differentiable (by the gather), so the op is
differentiable to any order.
"""
import math
import numbers

from ...autograd import Function
from ...dispatch import kernels
from ...tensor import Tensor
from . import geometry

_MODES = {"nearest": 1, "nearest-exact": 1, "linear": 1, "bilinear": 2, "trilinear": 3}
_LINEAR = ("linear", "bilinear", "trilinear")


def _k(dev):
    return kernels("resize", dev)


class ResizeAxis(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, axis, plan, n_in):
        ctx.axis, ctx.plan, ctx.n_in = axis, plan, n_in
        return _k(x._device).resize_axis(x._data, axis, *plan)

    @staticmethod
    def backward(ctx, grad):
        return ResizeAxisTranspose.apply(grad, ctx.axis, ctx.plan, ctx.n_in), None, None, None


class ResizeAxisTranspose(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, g, axis, plan, n_in):
        ctx.axis, ctx.plan, ctx.n_in = axis, plan, n_in
        return _k(g._device).resize_axis_transpose(g._data, axis, *plan, n_in)

    @staticmethod
    def backward(ctx, grad):
        return ResizeAxis.apply(grad, ctx.axis, ctx.plan, ctx.n_in), None, None, None


def resize(input, sizes, axes, mode="bilinear", scales=None, align_corners=False):
    """Resize `input` along `axes` to `sizes` with torch's interpolation rules (`scales`: the
    factors torch keeps for its source-index rule, or None for in/out). The layout-free op
    under F.interpolate; channels-last images resize along axes (1, 2).

    >>> import dualnet as dn
    >>> resize(dn.tensor([[0.0, 1.0]]), (4,), (1,), mode="linear").tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"resize: expected a Tensor as input, got {type(input).__name__}")
    if mode not in _MODES:
        raise ValueError(f"resize: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"resize: {mode} interpolation needs a floating-point input, got "
                           f"{input.dtype.name}")
    scales = (None,) * len(axes) if scales is None else tuple(scales)
    out = input
    dtype_name = input.dtype.np.name
    for axis, size, factor in reversed(list(zip(axes, sizes, scales))):
        n_in = input.shape[axis]
        if size <= 0 or n_in <= 0:
            raise RuntimeError(f"resize: input and output sizes should be greater than 0, got "
                               f"input size {n_in} and output size {size} along dim {axis} "
                               f"(input shape {list(input.shape)})")
        if mode in _LINEAR:
            plan = geometry.linear_plan(n_in, int(size), factor, bool(align_corners), dtype_name)
        elif size == n_in and mode == "nearest":
            continue  # torch's shortcut: the identity
        else:
            plan = geometry.nearest_plan(n_in, int(size), factor, mode == "nearest-exact",
                                         dtype_name)
        out = ResizeAxis.apply(out, axis, plan, n_in)
    return out


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

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.interpolate(dn.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor as input, got "
                        f"{type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; dualnet has "
                                  f"{', '.join(_MODES)}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by dualnet")
    dims = input.ndim - 2
    if dims < 1 or dims > 3:
        raise NotImplementedError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, "
                                  f"*spatial), got shape {list(input.shape)}")
    if mode in _LINEAR and _MODES[mode] != dims:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{_MODES[mode] + 2}D input")
    if align_corners is not None and mode not in _LINEAR:
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
    return resize(input, sizes, tuple(range(2, input.ndim)), mode=mode, scales=scales,
                  align_corners=bool(align_corners))


FUNCTIONAL = ["interpolate"]
__all__ = []
METHODS = {}
