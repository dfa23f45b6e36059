"""Zero-padding layers (torch.nn's ZeroPad1d / ZeroPad2d): F.pad with constant zeros, as modules
so a Sequential can pad unevenly before a convolution (Keras's 'same' with an odd total)."""
import numbers

from .. import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d"]


class _ZeroPadNd(Module):
    _sides = 0  # 2 for 1-D (left, right), 4 for 2-D (left, right, top, bottom)

    def __init__(self, padding):
        super().__init__()
        name = type(self).__name__
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (int(padding),) * self._sides
        else:
            padding = tuple(padding)
            if len(padding) != self._sides or not all(
                    isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
                raise TypeError(f"{name}: padding must be an int or a tuple of {self._sides} "
                                f"ints, got {padding!r}")
            padding = tuple(int(p) for p in padding)
        self.padding = padding

    def forward(self, input):
        return F.pad(input, self.padding, mode="constant", value=0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim of (N, C, L) with zeros: padding an int or (left, right).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.ZeroPad1d((1, 2))(dn.ones(1, 1, 2))
    tensor([[[0., 1., 1., 0., 0.]]])
    """

    _sides = 2


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dims of (N, C, H, W) with zeros: padding an int or (left, right, top,
    bottom).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> pad = nn.ZeroPad2d((0, 1, 0, 1))
    >>> pad
    ZeroPad2d((0, 1, 0, 1))
    >>> pad(dn.ones(1, 1, 2, 2)).shape
    dualnet.Size([1, 1, 3, 3])
    """

    _sides = 4
