"""Per-sample normalization layers (torch.nn's LayerNorm, GroupNorm, InstanceNorm1d/2d): torch's
parameters, buffers and reprs; the arithmetic is F.layer_norm / group_norm / instance_norm's."""
import numbers
import warnings

from ...core.ops._common import shape_str
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from .batchnorm import _affine_parameters, _NormBase
from .module import Module

__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d"]


class LayerNorm(Module):
    """Normalise each sample over its trailing dims `normalized_shape`, then scale and shift
    elementwise: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance).

    weight (ones) and bias (zeros) have shape normalized_shape when elementwise_affine.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> norm = nn.LayerNorm(2)
    >>> norm
    LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> norm(dn.tensor([[1.0, 3.0], [10.0, 30.0]])).detach()
    tensor([[-1.0000,  1.0000],
            [-1.0000,  1.0000]])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        try:
            return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)
        except RuntimeError:
            k = len(self.normalized_shape)
            if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
                raise RuntimeError(f"{self!r}: expected input of shape [*, "
                                   f"{', '.join(map(str, self.normalized_shape))}], got input of "
                                   f"shape {shape_str(input.shape)}") from None
            raise

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the channels of (N, C, *) into num_groups groups and normalise each group of each
    sample, then scale and shift per channel (weight ones, bias zeros).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> norm = nn.GroupNorm(3, 6)
    >>> norm
    GroupNorm(3, 6, eps=1e-05, affine=True, bias=True)
    >>> norm(dn.randn(20, 6, 10, 10)).shape
    dualnet.Size([20, 6, 10, 10])
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels must be divisible by num_groups, got "
                             f"num_channels={num_channels}, num_groups={num_groups}")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, num_channels, affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        try:
            return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)
        except RuntimeError:
            if input.ndim >= 2 and input.shape[1] != self.num_channels:
                raise RuntimeError(f"{self!r}: expected input with {self.num_channels} channels "
                                   f"(dim 1), got input of shape {shape_str(input.shape)}"
                                   ) from None
            raise

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    """Normalise each channel of each sample over its positions; optional affine parameters and
    running statistics (both off by default, as in torch)."""

    _ranks = ()  # (unbatched, batched)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def _check_input_dim(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._get_name()}: expected a Tensor as input, got "
                            f"{type(input).__name__}")
        if input.ndim not in self._ranks:
            raise ValueError(f"{self._get_name()}: expected {self._ranks[0]}D or "
                             f"{self._ranks[1]}D input (got {input.ndim}D input of shape "
                             f"{shape_str(input.shape)})")

    def _apply_instance_norm(self, input):
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                               self.bias, self.training or not self.track_running_stats,
                               self.momentum if self.momentum is not None else 0.0, self.eps)

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.ndim == self._ranks[0]
        channel_dim = 0 if unbatched else 1
        if input.shape[channel_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{self._get_name()}: expected input with num_features="
                                 f"{self.num_features} channels at dim {channel_dim}, got input "
                                 f"of shape {shape_str(input.shape)}")
            # without affine parameters num_features is used by nothing: torch only warns
            warnings.warn(f"{self._get_name()}: input of shape {shape_str(input.shape)} has "
                          f"{input.shape[channel_dim]} channels at dim {channel_dim}, not "
                          f"num_features={self.num_features}; num_features is unused when "
                          f"affine=False", stacklevel=2)
        if unbatched:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or unbatched (C, L): each channel of each sample
    normalised over L.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.InstanceNorm1d(2)(dn.tensor([[[1.0, 3.0], [2.0, 6.0]]]))
    tensor([[[-1.0000,  1.0000],
             [-1.0000,  1.0000]]])
    """

    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or unbatched (C, H, W): each channel of each sample
    normalised over H and W.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.InstanceNorm2d(3, affine=True)
    InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=False)
    """

    _ranks = (3, 4)
