"""Activation functions, composed from elementwise ops (STYLE: compose first, fuse when it pays).

relu, sigmoid and tanh have fused kernels and backward passes in the elementwise family; the
rest are short compositions, so their gradients (and second derivatives) come from the ops they
are made of. Formulas follow torch.nn.functional exactly, including the thresholds.
"""
import math

from ...autograd import no_grad as ew_no_grad
from ...tensor import Tensor
from ..elementwise import ops as ew
from ..reduction.ops import log_softmax, softmax  # noqa: F401  (re-exported to F)
from .._views import apply_inplace

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _check(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point tensor, got {input.dtype}")


def _run(op, input, compute, inplace):
    """compute(input), or written into input's memory (recorded as an in-place op) if inplace."""
    _check(op, input)
    if inplace:
        return apply_inplace(input, op + "_", compute)
    return compute(input)


def relu(input, inplace=False):
    """max(x, 0).

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.relu(dn.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return ew.relu_(input) if inplace else ew.relu(input)


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    return _run("leaky_relu", input, lambda x: ew.where(x > 0, x, x * negative_slope), inplace)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _run("elu", input,
                lambda x: ew.where(x > 0, x, ew.expm1(ew.clamp(x, max=0.0)) * alpha), inplace)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    return _run("selu", input, lambda x: elu(x, _SELU_ALPHA) * _SELU_SCALE, inplace)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _run("celu", input,
                lambda x: ew.where(x > 0, x, ew.expm1(ew.clamp(x, max=0.0) / alpha) * alpha),
                inplace)


def gelu(input, approximate="none"):
    """x * Phi(x): exact with erf ('none') or the tanh approximation ('tanh'), as torch."""
    _check("gelu", input)
    if approximate == "none":
        return input * (ew.erf(input * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * _GELU_CUBIC) * _SQRT_2_OVER_PI
        return input * (ew.tanh(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    return _run("silu", input, lambda x: x * ew.sigmoid(x), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (torch's rule)."""
    _check("softplus", input)
    scaled = input * beta
    # log1p(exp(z)) for z <= 0, z + log1p(exp(-z)) above: neither branch overflows (each sees
    # its own side of 0 only), and at z = 0 the slope is sigmoid(0) = 1/2 as in torch (a
    # |z| + relu(z) form has slope 0 there). Above the threshold torch returns x itself.
    below, above = ew.clamp(scaled, max=0.0), ew.clamp(scaled, min=0.0)
    smooth = ew.where(scaled > 0, above + ew.log1p(ew.exp(ew.neg(above))),
                      ew.log1p(ew.exp(below))) / beta
    return ew.where(scaled > threshold, input, smooth)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _run("mish", input, lambda x: x * ew.tanh(softplus(x)), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val)."""
    _check("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _run("hardtanh", input, lambda x: _flat_clamp(x, min_val, max_val), inplace)


def _flat_clamp(x, low, high):
    """clamp(x, low, high) whose gradient is 0 at the bounds too (torch's hardtanh), where
    clamp itself passes it: the clamped value enters as a constant outside (low, high)."""
    with ew_no_grad():
        clamped = ew.clamp(x, low, high)
    return ew.where((x > low) & (x < high), x, clamped)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return _run("hardsigmoid", input, lambda x: _flat_clamp(x + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (Howard et al., 2019)."""
    return _run("hardswish", input, lambda x: x * _flat_clamp(x + 3.0, 0.0, 6.0) / 6.0, inplace)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), computed without overflow."""
    _check("logsigmoid", input)
    return ew.neg(softplus(ew.neg(input)))


def softsign(input):
    """x / (1 + |x|)."""
    _check("softsign", input)
    return input / (ew.abs(input) + 1.0)


def tanhshrink(input):
    return input - ew.tanh(input)


def sigmoid(input):
    return ew.sigmoid(input)


def tanh(input):
    return ew.tanh(input)


def softmin(input, dim=None, dtype=None):
    return softmax(ew.neg(input), dim, dtype=dtype)


FUNCTIONAL = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "softplus",
              "mish", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
              "tanhshrink", "sigmoid", "tanh", "softmax", "log_softmax", "softmin"]
__all__ = ["selu", "celu"]
METHODS = {}
