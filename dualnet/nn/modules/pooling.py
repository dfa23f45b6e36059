"""Pooling layers (torch.nn's MaxPool, AvgPool and adaptive pools in 1-D and 2-D): each holds
its options, stored and printed as torch does, and calls the matching functional op."""
from .. import functional as F
from .conv import _single
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of (N, C, L) (or (C, L)); padding counts as -inf. With
    return_indices=True also the position of each max along L (for MaxUnpool).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.MaxPool1d(2)(dn.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]))
    tensor([[[3., 5.]]])
    """

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding (kh, kw) windows of (N, C, H, W) (or (C, H, W)); stride defaults to the
    kernel size; H_out = floor((H + 2*padding - dilation*(kh - 1) - 1) / stride) + 1 (ceil with
    ceil_mode).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> pool = nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(dn.arange(16.0).reshape(1, 1, 4, 4))
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over sliding windows of (N, C, L); zero padding is counted in the mean unless
    count_include_pad=False.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> pool = nn.AvgPool1d(3, stride=2)
    >>> pool
    AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))
    >>> pool(dn.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]]))
    tensor([[[2., 4., 6.]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        # torch keeps the 1-D pool's sizes as 1-tuples (and prints them so)
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding (kh, kw) windows of (N, C, H, W); zero padding is counted in the mean
    unless count_include_pad=False; divisor_override replaces the window size as divisor.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.AvgPool2d(2)(dn.arange(16.0).reshape(1, 1, 4, 4))
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePoolNd(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Mean over L_out windows that tile (N, C, L): window i is [floor(i*L/L_out),
    ceil((i+1)*L/L_out)).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.AdaptiveAvgPool1d(2)(dn.tensor([[[1.0, 2.0, 3.0, 4.0]]]))
    tensor([[[1.5000, 3.5000]]])
    """

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Mean over an (H_out, W_out) grid of windows tiling (N, C, H, W); output_size is an int,
    a pair, or None in a pair to keep that dim's size. AdaptiveAvgPool2d(1) is a global average.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.AdaptiveAvgPool2d((5, 7))(dn.randn(1, 64, 8, 9)).shape
    dualnet.Size([1, 64, 5, 7])
    """

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max over L_out windows that tile (N, C, L) (adaptive pooling's windows); with
    return_indices=True also where each max is.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.AdaptiveMaxPool1d(2)(dn.tensor([[[1.0, 5.0, 2.0, 4.0, 3.0]]]))
    tensor([[[5., 4.]]])
    """

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over an (H_out, W_out) grid of windows tiling (N, C, H, W).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.AdaptiveMaxPool2d((5, None))(dn.randn(1, 64, 8, 9)).shape
    dualnet.Size([1, 64, 5, 9])
    """

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
