"""`nn.init`: torch.nn.init's initialisers, filling tensors in place from dualnet's random stream
(so `dn.manual_seed` repeats them) with torch's formulas for gains and fans.
"""
import math
import warnings

import numpy as np

from ..core.autograd import no_grad
from ..core.random import generator_of
from ..core.tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")
_DEFAULT_LEAKY_SLOPE = 0.01  # F.leaky_relu's default negative_slope


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through `nonlinearity`.

    linear/conv/sigmoid: 1, tanh: 5/3, relu: sqrt(2), leaky_relu: sqrt(2 / (1 + slope^2)),
    selu: 3/4 (the value torch uses for self-normalising nets).

    >>> round(calculate_gain("relu"), 4)
    1.4142
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = _DEFAULT_LEAKY_SLOPE
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope must be a number, got {param!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _check_tensor(fn, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, got {type(tensor).__name__}")


def _write(tensor, array):
    """Copy `array` into `tensor` in place, outside autograd (initialisation is not an op)."""
    with no_grad():
        tensor.copy_(np.ascontiguousarray(array, dtype=tensor.dtype.np))
    return tensor


def _uniform(tensor, low, high, generator):
    rng = generator_of(generator)
    return _write(tensor, rng.uniform(low, high, size=tuple(tensor.shape)))


def _normal(tensor, mean, std, generator):
    rng = generator_of(generator)
    return _write(tensor, rng.standard_normal(tuple(tensor.shape)) * std + mean)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples of U(a, b)."""
    _check_tensor("uniform_", tensor)
    return _uniform(tensor, a, b, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    _check_tensor("normal_", tensor)
    return _normal(tensor, mean, std, generator)


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) restricted to [a, b] (a and b are absolute bounds, not stds).

    Sampled by rejection: draws outside [a, b] are drawn again, which gives the exact truncated
    distribution.
    """
    _check_tensor("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; the values may be "
                      "far from normal", stacklevel=2)
    rng = generator_of(generator)
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if mass < 1e-6:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds almost none of "
                         f"N({mean}, {std}^2); sampling it would not terminate in practice")
    n = int(np.prod(tensor.shape, dtype=np.int64))
    out = np.empty(n)
    filled = 0
    while filled < n:
        need = n - filled
        draws = rng.standard_normal(int(need / mass * 1.1) + 16) * std + mean
        kept = draws[(draws >= a) & (draws <= b)][:need]
        out[filled:filled + kept.size] = kept
        filled += kept.size
    return _write(tensor, out.reshape(tuple(tensor.shape)))


def constant_(tensor, val):
    """Fill with `val`."""
    _check_tensor("constant_", tensor)
    with no_grad():
        tensor.fill_(val)
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """Set a 2-D tensor to the identity (ones on the main diagonal, zeros elsewhere)."""
    _check_tensor("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got {tensor.ndim} dimensions "
                         f"(shape {list(tensor.shape)})")
    return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Set a 3-, 4- or 5-D conv weight to the identity map (Dirac delta at the kernel centre),
    per group, so the convolution passes its input channels through unchanged."""
    _check_tensor("dirac_", tensor)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: expected a 3-, 4- or 5-D tensor, got shape "
                         f"{list(tensor.shape)}")
    out_channels = tensor.shape[0]
    if out_channels % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({out_channels}) must be divisible by groups "
                         f"({groups})")
    per_group = out_channels // groups
    array = np.zeros(tuple(tensor.shape))
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            array[(g * per_group + d, d) + centre] = 1
    return _write(tensor, array)


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight: in/out features times the receptive field size."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got shape "
                         f"{list(tensor.shape)}")
    receptive_field = 1
    for s in tensor.shape[2:]:
        receptive_field *= s
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-r, r) with r = gain * sqrt(6 / (fan_in + fan_out))."""
    _check_tensor("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # a uniform on [-r, r] has std r / sqrt(3)
    return _uniform(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check_tensor("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator)


def _kaiming_std(fn, tensor, a, mode, nonlinearity):
    _check_tensor(fn, tensor)
    if 0 in tuple(tensor.shape):
        warnings.warn(f"{fn}: initialising a zero-element tensor does nothing", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-r, r) with r = gain(nonlinearity, a) * sqrt(3 / fan)."""
    std = _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with std = gain(nonlinearity, a) / sqrt(fan)."""
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return _normal(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix times `gain`; dims after the first are flattened.

    QR of a Gaussian matrix, with Q's columns sign-corrected by R's diagonal so the result is
    uniformly (Haar) distributed.
    """
    _check_tensor("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: expected a tensor of at least 2 dimensions, got shape "
                         f"{list(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = generator_of(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tuple(tensor.shape)))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A 2-D tensor with N(0, std^2) entries, `sparsity` of each column's rows set to zero."""
    _check_tensor("sparse_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: expected a 2-D tensor, got shape {list(tensor.shape)}")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    rng = generator_of(generator)
    array = rng.standard_normal((rows, cols)) * std
    for col in range(cols):
        array[rng.permutation(rows)[:num_zeros], col] = 0
    return _write(tensor, array)
