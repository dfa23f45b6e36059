"""torch.nn's upsampling layers (Upsample, UpsamplingNearest2d, UpsamplingBilinear2d): modules
around F.interpolate, with torch's arguments and repr."""
from .. import functional as F
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize (N, C, *spatial) to `size` or by `scale_factor` (mode nearest, nearest-exact,
    linear, bilinear, bicubic, trilinear, area; align_corners for the linear modes and bicubic).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.Upsample(scale_factor=2, mode="bilinear")(dn.ones(1, 1, 2, 2)).shape
    dualnet.Size([1, 1, 4, 4])
    >>> nn.Upsample(size=(3, 5), mode="bicubic", align_corners=True)(dn.ones(1, 1, 2, 2)).shape
    dualnet.Size([1, 1, 3, 5])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else (tuple(float(f) for f in scale_factor) if scale_factor is not None else None)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) (Upsample with mode='nearest')."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) with align_corners=True (torch's legacy layer)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
