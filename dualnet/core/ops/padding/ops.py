"""F.pad: constant padding (negative widths crop) and reflect / replicate / circular padding.

Constant padding's gradient is constant padding with the widths negated (a crop), so it is
differentiable to any order. The other modes are index gathers along each padded dim
(`index_select`), whose scatter-add backward sums the gradient of every copy of an edge value.
"""
import numbers

from ...autograd import Function
from ...dispatch import kernels
from ...tensor import Tensor
from ..indexing.ops import index_select

_MODES = ("constant", "reflect", "replicate", "circular")


def _k(dev):
    return kernels("padding", dev)


class ConstantPad(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        return _k(x._device).constant_pad(x._data, widths, value)

    @staticmethod
    def backward(ctx, grad):
        crop = tuple((-lo, -hi) for lo, hi in ctx.widths)
        return ConstantPad.apply(grad, crop, 0), None, None


def _widths(op, input, pad):
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, numbers.Integral) for p in pad):
        raise TypeError(f"{op}: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"{op}: padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"{op}: padding length {len(pad)} is too large for a {input.ndim}-D input "
                         f"(at most {2 * input.ndim})")
    widths = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):  # pairs go from the last dim backwards, as in torch
        widths[input.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return tuple(widths)


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad)//2 dims: pad = (left, right, top, bottom, ...) from the last dim.

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.pad(dn.ones(1, 2), (1, 2)).tolist()
    [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected a Tensor as input, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"pad: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    widths = _widths("pad", input, pad)
    for d, (lo, hi) in enumerate(widths):
        if input.shape[d] + lo + hi < 0:
            raise RuntimeError(f"pad: the resulting size of dim {d} would be "
                               f"{input.shape[d] + lo + hi} for an input of shape "
                               f"{list(input.shape)} and padding {tuple(pad)}")
    if mode == "constant":
        return ConstantPad.apply(input, widths, 0 if value is None else value)
    if value not in (None, 0):
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    padded_dims = len(pad) // 2
    if input.ndim < padded_dims + 1:
        raise RuntimeError(f"pad: {mode} padding of {padded_dims} dims needs an input with at "
                           f"least {padded_dims + 1} dims, got shape {list(input.shape)}")
    out = input
    for d, (lo, hi) in enumerate(widths):
        if lo == hi == 0:
            continue
        size = input.shape[d]
        if min(lo, hi) < 0:
            raise RuntimeError(f"pad: negative padding is only supported in constant mode, got "
                               f"{tuple(pad)}")
        if mode == "reflect" and max(lo, hi) >= size:
            raise RuntimeError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size "
                               f"{size} of dim {d} (input shape {list(input.shape)})")
        if mode == "circular" and max(lo, hi) > size:
            raise RuntimeError(f"pad: circular padding ({lo}, {hi}) can be at most the size {size} "
                               f"of dim {d} (input shape {list(input.shape)})")
        index = _k(input._device).source_index(size, lo, hi, mode)
        out = index_select(out, d, Tensor._make(index, input._device, None, False, None, 0, None))
    return out


FUNCTIONAL = ["pad"]
__all__ = []
METHODS = {}
