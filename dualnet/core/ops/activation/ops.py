"""Activation functions, composed from elementwise ops (STYLE: compose first, fuse when it pays).

relu, sigmoid and tanh have fused kernels and backward passes in the elementwise family; the
rest are short compositions, so their gradients (and second derivatives) come from the ops they
are made of. Formulas follow torch.nn.functional exactly, including the thresholds (which side of
a comparison a tie or a NaN falls on decides the gradient there, so each `where` below is written
with torch's comparison). pairwise_distance, torch's other functional without a family of its
own here, is a composition too (a norm of the difference).
"""
import math

from ...autograd import no_grad as ew_no_grad
from ...random import random_array
from ...tensor import Tensor
from .._common import broadcast_shape, normalize_dim, shape_str
from ..elementwise import ops as ew
from ..reduction.ops import log_softmax, softmax  # noqa: F401  (re-exported to F)
from ..reduction.ops import norm
from ..shape.ops import reshape, split
from .._views import apply_inplace

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _check(op, input, floating=True):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if floating and not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point tensor, got {input.dtype}")


def _run(op, input, compute, inplace, floating=True):
    """compute(input), or written into input's memory (recorded as an in-place op) if inplace;
    `floating`: the op refuses integer tensors."""
    _check(op, input, floating)
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


# ---------------------------------------------------------------- thresholds and shrinkage

def threshold(input, threshold, value, inplace=False):
    """value where x <= threshold, else x: torch's `x <= threshold ? value : x`, so a NaN is
    kept and the gradient is 0 where x <= threshold (1 elsewhere). Integer tensors stay integer.

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.threshold(dn.tensor([-1.0, 0.5, 2.0]), 0.5, -3.0)
    tensor([-3., -3.,  2.])
    """
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    """In-place `threshold`."""
    return _threshold(input, threshold, value, True)


def _threshold(input, bound, value, inplace):
    def compute(x):
        out = ew.where(x <= bound, value, x)
        return out if out.dtype == x.dtype else out.to(x.dtype)  # torch keeps input's dtype

    return _run("threshold", input, compute, inplace, floating=False)


def hardshrink(input, lambd=0.5):
    """0 where -lambd <= x <= lambd, else x; the gradient is 0 on that closed band, as torch's.

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.hardshrink(dn.tensor([-1.0, 0.5, 0.7]))
    tensor([-1.0000,  0.0000,  0.7000])
    """
    _check("hardshrink", input)
    return ew.where((input >= -lambd) & (input <= lambd), 0.0, input)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between: x - clamp(x, -lambd, lambd).

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.softshrink(dn.tensor([-1.0, 0.25, 2.0]))
    tensor([-0.5000,  0.0000,  1.5000])
    """
    _check("softshrink", input)
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambd must be >= 0, got {lambd}")
    # clamp passes the gradient on the closed band [-lambd, lambd], so 1 minus it is torch's
    # shrink backward (0 at the bounds too), and a NaN goes through with gradient 1, as there
    return input - ew.clamp(input, -lambd, lambd)


# ---------------------------------------------------------------- learned and random slopes

def prelu(input, weight):
    """x where x > 0, else weight * x; `weight` holds one slope, or one per channel (dim 1 of
    input; input of fewer than 2 dims has one channel), as torch.

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.prelu(dn.tensor([[-2.0, 3.0], [-4.0, 1.0]]), dn.tensor([0.5, 0.25]))
    tensor([[-1.,  3.],
            [-2.,  1.]])
    """
    op = "prelu"
    _check(op, input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: expected a Tensor as weight, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise RuntimeError(f"{op}: expected weight to be a scalar or 1-D tensor, got one of "
                           f"shape {shape_str(weight.shape)}")
    if weight.dtype != input.dtype:  # torch promotes no types here either
        raise RuntimeError(f"{op}: input and weight must have the same dtype, got "
                           f"{input.dtype} and {weight.dtype}")
    count = weight.numel()
    if count == 1:
        slope = reshape(weight, ())
    else:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if input.ndim == 0 or count != channels:
            raise RuntimeError(f"{op}: the number of weights ({count}) must be 1 or the channel "
                               f"size ({channels}, dim 1) of the input of shape "
                               f"{shape_str(input.shape)}")
        slope = reshape(weight, (count,) + (1,) * (input.ndim - 2))
    return ew.where(input > 0, input, input * slope)


def _uniform_slopes(input, lower, upper):
    """U(lower, upper) draws of input's shape, dtype and device from dualnet's random stream
    (so `dn.manual_seed` repeats them); a constant for autograd."""
    np_dtype = input.dtype.np
    draws = random_array("uniform", tuple(input.shape), np_dtype, input.device)
    draws *= np_dtype.type(upper - lower)
    draws += np_dtype.type(lower)
    return Tensor._make(draws, input.device, input.dtype, False, None, 0, None)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU (Xu et al., 2015): x where x > 0, else a * x with a drawn from
    U(lower, upper) per element in training, and a = (lower + upper) / 2 otherwise.

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.rrelu(dn.tensor([-3.0, 2.0]), 0.1, 0.3)
    tensor([-0.6000,  2.0000])
    """
    _check("rrelu", input)
    if lower > upper:
        raise RuntimeError(f"rrelu: the lower bound ({lower}) must be less than or equal to the "
                           f"upper bound ({upper})")
    if not training:
        return _run("rrelu", input, lambda x: leaky_relu(x, (lower + upper) / 2), inplace)
    slopes = _uniform_slopes(input, lower, upper)
    # torch's `x <= 0 ? x * a : x`: the drawn slope is also the gradient at 0
    return _run("rrelu", input, lambda x: ew.where(x <= 0, x * slopes, x), inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place `rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


# ---------------------------------------------------------------- gating and distance

def glu(input, dim=-1):
    """Gated linear unit (Dauphin et al., 2017): a * sigmoid(b), where a and b are the first
    and second halves of input along `dim` (whose size must be even).

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.glu(dn.tensor([[1.0, 2.0, 0.0, 0.0]]))
    tensor([[0.5000, 1.0000]])
    """
    op = "glu"
    _check(op, input)
    if input.ndim == 0:
        raise RuntimeError(f"{op}: does not support scalars (a 0-dim input) because the halving "
                           f"size must be even")
    d = normalize_dim(dim, input.ndim, op)
    size = input.shape[d]
    if size % 2:
        raise RuntimeError(f"{op}: halving dimension must be even, but dimension {d} of the input "
                           f"of shape {shape_str(input.shape)} is size {size}")
    first, second = split(input, [size // 2, size // 2], d)
    return first * ew.sigmoid(second)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim of the broadcast inputs; torch adds eps to the
    difference (not to the norm), so equal rows are eps * n^(1/p) apart.

    >>> import dualnet.nn.functional as F, dualnet as dn
    >>> F.pairwise_distance(dn.tensor([[3.0, 4.0]]), dn.tensor([[0.0, 0.0]]), eps=0.0)
    tensor([5.])
    """
    op = "pairwise_distance"
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: expected a Tensor as {name}, got {type(x).__name__}")
    broadcast_shape(op, x1.shape, x2.shape)
    return norm(x1 - x2 + eps, p, -1, keepdim)


FUNCTIONAL = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "softplus",
              "mish", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
              "tanhshrink", "sigmoid", "tanh", "softmax", "log_softmax", "softmin", "threshold",
              "threshold_", "hardshrink", "softshrink", "prelu", "rrelu", "rrelu_", "glu",
              "pairwise_distance"]
__all__ = ["selu", "celu"]
METHODS = {}
