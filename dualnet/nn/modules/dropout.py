"""Dropout layers (torch.nn's Dropout, Dropout1d/2d/3d, AlphaDropout): active in training mode,
the identity in eval mode; masks come from dualnet's random stream (`dn.manual_seed`)."""
import numbers

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: dropout probability p must be between 0 "
                             f"and 1, got {p!r}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability p and scale the rest by 1/(1-p), so the
    expected value is unchanged and eval mode needs no rescaling.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> drop = nn.Dropout(p=0.5)
    >>> drop
    Dropout(p=0.5, inplace=False)
    >>> sorted(set(drop(dn.ones(1000)).tolist()))
    [0.0, 2.0]
    >>> drop.eval()(dn.ones(3))
    tensor([1., 1., 1.])
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel dropout for (N, C, L) or (C, L): zero whole channels (the same mask along L) with
    probability p, scaling the rest by 1/(1-p).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> out = nn.Dropout1d(0.5)(dn.ones(1, 64, 4))
    >>> bool(((out == 0).all(2) | (out == 2).all(2)).all())
    True
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel dropout for (N, C, H, W) or (C, H, W): zero whole feature maps with probability
    p, scaling the rest by 1/(1-p) (adjacent pixels are correlated, so single-pixel dropout
    would barely regularise a conv net).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.Dropout2d(0.2)(dn.ones(8, 16, 5, 5)).shape
    dualnet.Size([8, 16, 5, 5])
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W): whole volumes zeroed with
    probability p, the rest scaled by 1/(1-p).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.Dropout3d(0.5)(dn.ones(2, 4, 3, 5, 5)).shape
    dualnet.Size([2, 4, 3, 5, 5])
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for self-normalising (SELU) networks: dropped units take SELU's negative
    saturation value and an affine correction keeps the input's mean and variance.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.AlphaDropout(0.2).eval()(dn.tensor([1.0, -1.0]))
    tensor([ 1., -1.])
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)
