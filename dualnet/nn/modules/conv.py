"""Convolution layers (torch.nn's Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d): torch's
arguments, weight shapes, initialisation and reprs over the core conv ops; padding modes other
than zeros go through F.pad first, as in torch."""
import collections.abc

from ...core.ops._common import shape_str
from .. import functional as F
from .linear import reset_weight_and_bias, weight_and_bias
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n):
    """An int repeated n times, or an iterable as a tuple (torch's _single / _pair)."""
    if isinstance(value, collections.abc.Iterable):
        return tuple(value)
    return (value,) * n


def _single(value):
    return _ntuple(value, 1)


def _pair(value):
    return _ntuple(value, 2)


class _ConvNd(Module):
    """What every convolution layer shares: argument checks, parameters, init and repr."""

    _dims = 0  # spatial dims: 1 or 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups, got "
                             f"in_channels={in_channels}, groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups, got "
                             f"out_channels={out_channels}, groups={groups}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' needs stride 1 (torch's rule), got "
                                 f"stride={stride}; pass explicit padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(_PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's widths for the non-zero padding modes: last dim first, (before, after) each
        if isinstance(padding, str):
            widths = [0, 0] * len(kernel_size)
            if padding == "same":  # the odd pixel goes after, as F.conv2d's 'same' does
                for i, (d, k) in enumerate(zip(reversed(dilation), reversed(kernel_size))):
                    total = d * (k - 1)
                    widths[2 * i], widths[2 * i + 1] = total // 2, total - total // 2
        else:
            widths = [w for p in reversed(padding) for w in (p, p)]
        self._reversed_padding_repeated_twice = widths
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + tuple(kernel_size)
        weight_and_bias(self, shape, out_channels, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        # fan_in = weight.size(1) * kernel area (for a transposed conv: out_channels/groups * area)
        reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self):
        n = len(self.kernel_size)
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if isinstance(self.padding, str) or self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def _channel_error(self, input, channels):
        """After a failed op: a RuntimeError naming this layer if the channel count was the
        cause (the op's own message names only the function), else None."""
        dims = self._dims
        if input.ndim in (dims + 1, dims + 2) and input.shape[-dims - 1] != channels:
            return RuntimeError(f"{self!r}: expected input with {channels} channels (dim "
                                f"{-dims - 1}), got input of shape {shape_str(input.shape)}")
        return None


class _Conv(_ConvNd):
    """Conv1d / Conv2d: the forward shared by both."""

    _conv = None  # F.conv1d or F.conv2d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        n = type(self)._dims
        super().__init__(in_channels, out_channels, _ntuple(kernel_size, n), _ntuple(stride, n),
                         padding if isinstance(padding, str) else _ntuple(padding, n),
                         _ntuple(dilation, n), False, (0,) * n, groups, bias, padding_mode,
                         device, dtype)

    def _conv_forward(self, input, weight, bias):
        conv = type(self)._conv
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        try:
            return self._conv_forward(input, self.weight, self.bias)
        except RuntimeError as error:
            layer_error = self._channel_error(input, self.in_channels)
            if layer_error is None:
                raise
            raise layer_error from error


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) (or unbatched (C_in, L)) -> (N, C_out, L_out).

    weight (out_channels, in_channels / groups, kernel_size), bias (out_channels);
    L_out = floor((L + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> conv = nn.Conv1d(16, 33, 3, stride=2)
    >>> conv
    Conv1d(16, 33, kernel_size=(3,), stride=(2,))
    >>> conv(dn.randn(20, 16, 50)).shape
    dualnet.Size([20, 33, 24])
    """

    _dims = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) (or unbatched (C_in, H, W)) -> (N, C_out, H_out,
    W_out); padding is ints, 'valid' or 'same', padded with zeros or, by padding_mode, with
    reflected / replicated / circular copies of the border.

    weight (out_channels, in_channels / groups, kh, kw), bias (out_channels);
    H_out = floor((H + 2*padding - dilation*(kh - 1) - 1) / stride) + 1.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> conv = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), padding_mode="reflect")
    >>> conv
    Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), padding_mode=reflect)
    >>> conv(dn.randn(4, 16, 10, 12)).shape
    dualnet.Size([4, 33, 8, 12])
    """

    _dims = 2
    _conv = staticmethod(F.conv2d)


class _ConvTransposeNd(_ConvNd):
    """ConvTranspose1d / 2d: the adjoint of the convolution in its input."""

    _conv_transpose = None  # F.conv_transpose1d or F.conv_transpose2d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        name, n = type(self).__name__, type(self)._dims
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, _ntuple(kernel_size, n), _ntuple(stride, n),
                         _ntuple(padding, n), _ntuple(dilation, n), True,
                         _ntuple(output_padding, n), groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding, or the one that makes the output `output_size` (the spatial sizes, or
        the whole shape): a strided conv maps several input sizes to one output size."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        lead = 2 if input.ndim == n + 2 else 1
        output_size = tuple(output_size)
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"{type(self).__name__}: output_size must have {n} or {lead + n} "
                             f"elements, got {list(output_size)}")
        result = []
        for d in range(n):
            smallest = ((input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + self.stride[d] - 1
            if not smallest <= output_size[d] <= largest:
                raise ValueError(f"{type(self).__name__}: requested output_size "
                                 f"{list(output_size)} is out of reach for input of shape "
                                 f"{shape_str(input.shape)}: dim {d} can be from {smallest} to "
                                 f"{largest}")
            result.append(output_size[d] - smallest)
        return tuple(result)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        try:
            return type(self)._conv_transpose(input, self.weight, self.bias, self.stride,
                                              self.padding, output_padding, self.groups,
                                              self.dilation)
        except RuntimeError as error:
            layer_error = self._channel_error(input, self.in_channels)
            if layer_error is None:
                raise
            raise layer_error from error


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution, (N, C_in, L) -> (N, C_out, L_out): the gradient of Conv1d
    with respect to its input; weight (in_channels, out_channels / groups, kernel_size);
    L_out = (L - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.ConvTranspose1d(4, 2, 3, stride=2)(dn.randn(1, 4, 5)).shape
    dualnet.Size([1, 2, 11])
    """

    _dims = 1
    _conv_transpose = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution"), (N, C_in, H, W) -> (N, C_out, H_out, W_out);
    weight (in_channels, out_channels / groups, kh, kw); `forward(input, output_size)` picks the
    output_padding that gives the requested size.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
    >>> x = dn.randn(1, 16, 6, 6)
    >>> up(x).shape, up(x, output_size=[12, 12]).shape
    (dualnet.Size([1, 8, 11, 11]), dualnet.Size([1, 8, 12, 12]))
    """

    _dims = 2
    _conv_transpose = staticmethod(F.conv_transpose2d)
