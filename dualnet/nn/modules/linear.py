"""Affine layers (torch.nn's Identity, Linear, Bilinear): parameters in torch's shapes and
initialisation, forward a call into the core matrix-product ops."""
import math

from ...core import creation as _creation
from ...core.ops._common import shape_str
from ...core.ops.matmul import ops as _mm
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]



def weight_and_bias(module, weight_shape, bias_size, bias, device, dtype):
    """Register `module.weight` (uninitialised) and `module.bias` (or None when not `bias`)."""
    module.weight = Parameter(_creation.empty(weight_shape, device=device, dtype=dtype))
    if bias:
        module.bias = Parameter(_creation.empty(bias_size, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def reset_weight_and_bias(weight, bias):
    """torch's default for Linear and Conv: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in))
    for the weight, and U(+-1/sqrt(fan_in)) for the bias; kept so a ported model starts from the
    same distribution."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)

class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any constructor arguments, so it can stand
    in for another layer without editing the call.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.Identity(54, unused="argument")(dn.tensor([1.0, 2.0]))
    tensor([1., 2.])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b over the last dim: (*, in_features) -> (*, out_features).

    weight is (out_features, in_features), bias (out_features); both start uniform in
    ±1/sqrt(in_features) (torch's kaiming_uniform_(a=sqrt(5)) and bias rule).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> layer = nn.Linear(20, 30)
    >>> layer
    Linear(in_features=20, out_features=30, bias=True)
    >>> layer(dn.randn(128, 20)).shape
    dualnet.Size([128, 30])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in_features), out_features, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input):
        try:
            return F.linear(input, self.weight, self.bias)
        except (RuntimeError, AttributeError):
            # the product's own message names matmul/addmm; say which layer and why instead
            # (checked only on failure, so the common path pays nothing)
            if not isinstance(input, Tensor):
                raise TypeError(f"{self!r}: expected a Tensor as input, got "
                                f"{type(input).__name__}") from None
            if input.ndim == 0 or input.shape[-1] != self.in_features:
                raise RuntimeError(f"{self!r}: expected an input whose last dim is "
                                   f"in_features={self.in_features}, got input of shape "
                                   f"{shape_str(input.shape)}") from None
            raise

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1^T A x2 + b: y[..., o] = sum_{i, j} x1[..., i] A[o, i, j] x2[..., j] + b[o].

    weight is (out_features, in1_features, in2_features), bias (out_features); both start
    uniform in ±1/sqrt(in1_features), as in torch.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> layer = nn.Bilinear(20, 30, 40)
    >>> layer(dn.randn(128, 20), dn.randn(128, 30)).shape
    dualnet.Size([128, 40])
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in1_features, in2_features), out_features, bias,
                        device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        if not isinstance(input1, Tensor) or not isinstance(input2, Tensor):
            raise TypeError(f"{self!r}: expected two Tensors, got {type(input1).__name__} and "
                            f"{type(input2).__name__}")
        if (input1.ndim == 0 or input1.shape[-1] != self.in1_features or input2.ndim == 0
                or input2.shape[-1] != self.in2_features
                or input1.shape[:-1] != input2.shape[:-1]):
            raise RuntimeError(f"{self!r}: expected inputs of shapes (*, {self.in1_features}) and "
                               f"(*, {self.in2_features}) with the same leading dims, got "
                               f"{shape_str(input1.shape)} and {shape_str(input2.shape)}")
        out = _mm.einsum("...i,oij,...j->...o", input1, self.weight, input2)
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
