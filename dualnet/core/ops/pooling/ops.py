"""Pooling: max / average pooling over fixed or adaptive windows, 1-D and 2-D, both layouts.

Four core ops - `max_pool`, `avg_pool`, `adaptive_max_pool`, `adaptive_avg_pool` - take the
layout as a parameter: "NCHW" (PyTorch, the default) or "NHWC" (Keras), "NCL" / "NLC" in 1-D.
The kernels have a loop nest per layout, so channels-last input is pooled where it lies, with no
transpose (see cpu.py); a 1-D op is the 2-D one over a height of 1. Padding is torch's
(an int per dim, at most half the kernel, implicit -inf for max) or Keras's "valid" / "same"
(TensorFlow's rule: out = ceil(in / stride), the odd pad at the end); `count_include_pad=False`
gives Keras's average that does not count the padding.

The geometry (padding, ceil_mode, dilation, adaptive windows) is turned into per-dim window
tables once, at the boundary (geometry.py, cached per shape and arguments); the kernels only
follow them. torch's rules throughout: ceil_mode keeps a last window only if it starts inside
the input or the left padding; adaptive window i spans [floor(i*in/out), ceil((i+1)*in/out)).

Backward: max pooling scatters the gradient to the saved argmax positions (`MaxPoolBackward`,
whose own backward gathers by the same indices); average pooling spreads it over each window
(`AvgPoolBackward`, whose backward is the average pooling again): second derivatives work.
The public `F.*` functions have torch's names, signatures and NCHW layout.
"""
import numpy as np

from ...autograd import Function
from ...device import array_module
from ...dispatch import kernels
from ...tensor import Tensor
from .._common import shape_str
from . import geometry


def _k(dev):
    return kernels("pooling", dev)


def _kernel_array(t, shape):
    """t's data as the C-contiguous array of `shape` a kernel takes (float16 computed as float32:
    Numba has no half arithmetic)."""
    data = t._data
    if data.dtype == np.float16:
        data = data.astype(np.float32)
    return array_module(t._device).ascontiguousarray(data).reshape(shape)


def _result(array, shape, like):
    return array.reshape(shape).astype(like._data.dtype, copy=False)


# ------------------------------------------------------------------------- max pooling

class MaxPool(Function):
    """The max of each window and (for backward, or returned) its position h * W + w."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, geom, return_indices):
        xp = array_module(x._device)
        data = _kernel_array(x, geom.kernel_in)
        out = xp.empty(geom.kernel_out, data.dtype)
        indices = xp.empty(geom.kernel_out, np.int64)
        _k(x._device).max_pool(data, geom.windows, geom.channels_last, out, indices)
        if getattr(ctx, "needs_input_grad", None) is not None:
            # a copy when returned: the user's indices tensor may be changed in place
            ctx.geom, ctx.indices = geom, indices.copy() if return_indices else indices
        out = _result(out, geom.out_shape, x)
        return (out, indices.reshape(geom.out_shape)) if return_indices else out

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        return MaxPoolBackward.apply(grad, ctx.indices, ctx.geom), None, None


class MaxPoolBackward(Function):
    """grad_in: zeros with each output's gradient added at its window's argmax."""

    _array_forward = True

    @staticmethod
    def forward(ctx, grad, indices, geom):
        ctx.indices, ctx.geom = indices, geom
        data = _kernel_array(grad, geom.kernel_out)
        grad_in = array_module(grad._device).empty(geom.kernel_in, data.dtype)
        _k(grad._device).max_pool_backward(data, indices, geom.channels_last, grad_in)
        return _result(grad_in, geom.in_shape, grad)

    @staticmethod
    def backward(ctx, grad_grad):
        return GatherIndices.apply(grad_grad, ctx.indices, ctx.geom), None, None


class GatherIndices(Function):
    """The input-shaped `source` read at each window's argmax: MaxPoolBackward's adjoint."""

    _array_forward = True

    @staticmethod
    def forward(ctx, source, indices, geom):
        ctx.indices, ctx.geom = indices, geom
        data = _kernel_array(source, geom.kernel_in)
        out = array_module(source._device).empty(geom.kernel_out, data.dtype)
        _k(source._device).gather_indices(data, indices, geom.channels_last, out)
        return _result(out, geom.out_shape, source)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolBackward.apply(grad, ctx.indices, ctx.geom), None, None


# ------------------------------------------------------------------------- average pooling

class AvgPool(Function):
    """The sum of each window over its divisor (integers: computed in float64, truncated)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom = geom
        data = _kernel_array(x, geom.kernel_in)
        integer = data.dtype.kind in "iu"
        if integer:
            data = data.astype(np.float64)
        xp = array_module(x._device)
        out = xp.empty(geom.kernel_out, data.dtype)
        _k(x._device).avg_pool(data, geom.windows, geom.divisor, geom.channels_last, out)
        if integer:  # torch divides integers with truncation toward zero
            xp.trunc(out, out=out)
        return _result(out, geom.out_shape, x)

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolBackward.apply(grad, ctx.geom), None


class AvgPoolBackward(Function):
    """grad_in: each output's gradient over its divisor, added over its window."""

    _array_forward = True

    @staticmethod
    def forward(ctx, grad, geom):
        ctx.geom = geom
        data = _kernel_array(grad, geom.kernel_out)
        grad_in = array_module(grad._device).empty(geom.kernel_in, data.dtype)
        _k(grad._device).avg_pool_backward(data, geom.windows, geom.divisor, geom.channels_last,
                                           grad_in)
        return _result(grad_in, geom.in_shape, grad)

    @staticmethod
    def backward(ctx, grad_grad):
        return AvgPool.apply(grad_grad, ctx.geom), None


# ------------------------------------------------------------------------- core ops

def _checked(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if input._dtype.name == "bool":
        raise RuntimeError(f"{op}: not implemented for bool input (shape "
                           f"{shape_str(input.shape)})")
    return tuple(input._data.shape)


def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False, layout="NCHW", *, op=None):
    """Max over each (dilated) window; padding counts as -inf. The layout picks 1-D or 2-D.

    `padding` is torch's (ints) or Keras's ("valid" / "same"); with `return_indices` also the
    int64 position h * W + w (l in 1-D) of each max within its (n, c) plane.

    >>> import dualnet as dn
    >>> x = dn.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # Keras's (N, H, W, C)
    >>> max_pool(x, 2, 1, padding="same", layout="NHWC").reshape(3, 3).tolist()
    [[5.0, 6.0, 6.0], [8.0, 9.0, 9.0], [8.0, 9.0, 9.0]]
    """
    op = op or f"max_pool{geometry.LAYOUTS.get(layout, (2,))[0]}d"
    geom = geometry.cached(geometry.fixed, op, _checked(op, input), layout, kernel_size, stride,
                           padding, dilation, ceil_mode)
    return MaxPool.apply(input, geom, bool(return_indices))


def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None, layout="NCHW", *, op=None):
    """Mean of each window: sum / (kernel area, clipped to the padded input), or sum / the
    in-input count with `count_include_pad=False` (Keras), or sum / `divisor_override`.

    >>> import dualnet as dn
    >>> x = dn.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)  # Keras's (N, L, C)
    >>> avg_pool(x, 2, 1, "same", count_include_pad=False, layout="NLC").reshape(-1).tolist()
    [1.5, 2.5, 3.5, 4.5, 5.0]
    """
    op = op or f"avg_pool{geometry.LAYOUTS.get(layout, (2,))[0]}d"
    divisor = 0
    if divisor_override is not None:
        if not hasattr(divisor_override, "__index__") or isinstance(divisor_override, bool):
            raise TypeError(f"{op}: divisor_override must be an int, got {divisor_override!r}")
        divisor = divisor_override.__index__()
        if divisor == 0:
            raise RuntimeError(f"{op}: divisor_override must not be zero")
    geom = geometry.cached(geometry.fixed, op, _checked(op, input), layout, kernel_size, stride,
                           padding, 1, ceil_mode, bool(count_include_pad), divisor)
    return AvgPool.apply(input, geom)


def adaptive_max_pool(input, output_size, return_indices=False, layout="NCHW", *, op=None):
    """Max over window i = [floor(i * in / out), ceil((i + 1) * in / out)) of each dim.

    >>> import dualnet as dn
    >>> adaptive_max_pool(dn.tensor([[[1.0, 5.0, 2.0, 4.0, 3.0]]]), 2, layout="NCL").tolist()
    [[[5.0, 4.0]]]
    """
    op = op or f"adaptive_max_pool{geometry.LAYOUTS.get(layout, (2,))[0]}d"
    geom = geometry.cached(geometry.adaptive, op, _checked(op, input), layout, output_size)
    return MaxPool.apply(input, geom, bool(return_indices))


def adaptive_avg_pool(input, output_size, layout="NCHW", *, op=None):
    """Mean over window i = [floor(i * in / out), ceil((i + 1) * in / out)) of each dim.

    >>> import dualnet as dn
    >>> adaptive_avg_pool(dn.ones(2, 4, 4, 3), 1, layout="NHWC").shape  # global average
    dualnet.Size([2, 1, 1, 3])
    """
    op = op or f"adaptive_avg_pool{geometry.LAYOUTS.get(layout, (2,))[0]}d"
    geom = geometry.cached(geometry.adaptive, op, _checked(op, input), layout, output_size)
    return AvgPool.apply(input, geom)


# ------------------------------------------------------------------------- torch.nn.functional

def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out[n, c, l] = max_k input[n, c, l * stride - padding + k * dilation], (N, C, L) input.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.max_pool1d(dn.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2)
    tensor([[[3., 5.]]])
    """
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                    "NCL", op="max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out[n, c, i, j] = max over the (dilated) kernel window at (i * stride, j * stride) of
    the -inf padded (N, C, H, W) input; with return_indices also each max's h * W + w.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> x = dn.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    >>> F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)[1].tolist()
    [[[[5, 7], [13, 15]]]]
    """
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                    "NCHW", op="max_pool2d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """max_pool1d returning (values, indices)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """max_pool2d returning (values, indices)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """out[n, c, l] = mean of input[n, c, l * stride - padding : ... + kernel_size] (zero padded).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.avg_pool1d(dn.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2)
    tensor([[[2., 4.]]])
    """
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                    "NCL", op="avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out[n, c, i, j] = sum of the window at (i * stride, j * stride) / its divisor: the kernel
    area (padding included unless count_include_pad=False), or divisor_override.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> x = dn.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.avg_pool2d(x, 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override, "NCHW", op="avg_pool2d")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over L split into output_size near-equal windows (they overlap where L % out != 0)."""
    return adaptive_max_pool(input, output_size, return_indices, "NCL", op="adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over H x W split into output_size (int, or (h, w) with None meaning the input's)
    near-equal windows.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.adaptive_max_pool2d(dn.arange(16.0).reshape(1, 1, 4, 4), (1, None))
    tensor([[[[12., 13., 14., 15.]]]])
    """
    return adaptive_max_pool(input, output_size, return_indices, "NCHW",
                             op="adaptive_max_pool2d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_avg_pool1d(input, output_size):
    """Mean over L split into output_size near-equal windows."""
    return adaptive_avg_pool(input, output_size, "NCL", op="adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """Mean over H x W split into output_size near-equal windows; (1, 1) is global average
    pooling.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.adaptive_avg_pool2d(dn.arange(16.0).reshape(1, 1, 4, 4), 1)
    tensor([[[[7.5000]]]])
    """
    return adaptive_avg_pool(input, output_size, "NCHW", op="adaptive_avg_pool2d")


FUNCTIONAL = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
              "avg_pool1d", "avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
              "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
              "adaptive_avg_pool1d", "adaptive_avg_pool2d"]
# torch.<name> twins with the same behaviour (torch.adaptive_max_pool1d returns a pair: left out)
__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "avg_pool1d",
           "adaptive_avg_pool1d"]
METHODS = {}
