"""`keras.initializers`: Keras 3's weight initializers (names, defaults, fan rules), drawing from
dualnet's random stream so `dn.manual_seed` / `keras.utils.set_random_seed` repeat them."""
# Each initializer is called as `init(shape, dtype=None)` and returns a new dualnet Tensor. Fans
# follow Keras's layout: a dense kernel is (in, out) and a conv kernel (*kernel_size, in, out), so
# fan_in = in * receptive field, fan_out = out * receptive field (torch reads them from
# (out, in, *kernel_size); `nn.init` keeps that rule, which is why the fans are computed here).
import inspect
import math
import re

import numpy as np

from ..core.autograd import no_grad
from ..core.creation import as_tensor, empty
from ..core.dtypes import get_default_dtype, to_dtype
from ..core.random import Generator
from ..core.tensor import Tensor
from ..nn import init as _fill
from . import _config

__all__ = ["Initializer", "Constant", "Zeros", "Ones", "Identity", "RandomNormal",
           "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
           "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal",
           "compute_fans", "get", "serialize", "deserialize"]

# std of N(0, 1) truncated to [-2, 2]: VarianceScaling divides by it so the truncated draws keep
# the variance it promises (the constant Keras and TensorFlow use)
_TRUNCATED_STD = 0.87962566103423978
_TRUNCATE_AT_STDS = 2.0  # Keras's truncated normal redraws values beyond 2 std of the mean


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape in Keras's layout; with both `input_axes` and
    `output_axes`, the products of those axes' sizes.

    >>> compute_fans((3, 3, 16, 32))   # a Conv2D kernel: receptive field 9
    (144, 288)
    >>> compute_fans((4, 2, 8), input_axes=[0], output_axes=[1, 2])
    (4, 16)
    """
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        return (int(np.prod([shape[a] for a in input_axes], dtype=np.int64)),
                int(np.prod([shape[a] for a in output_axes], dtype=np.int64)))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _new(shape, dtype):
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    return empty(*tuple(int(s) for s in shape), dtype=dtype)


class Initializer:
    """Base class: `__call__(shape, dtype=None) -> Tensor`, `get_config`, `from_config`."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(shape, dtype)")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    """Every value equal to `value`."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        tensor = _new(shape, dtype)
        if isinstance(self.value, (int, float, np.number)):
            return _fill.constant_(tensor, float(self.value))
        values = np.asarray(self.value.numpy() if isinstance(self.value, Tensor) else self.value)
        with no_grad():
            tensor.copy_(as_tensor(np.broadcast_to(values, tuple(tensor.shape)).astype(
                tensor.dtype.np)))
        return tensor

    def get_config(self):
        return {"value": self.value}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return _fill.zeros_(_new(shape, dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return _fill.ones_(_new(shape, dtype))


class Identity(Initializer):
    """`gain` times the (possibly rectangular) identity matrix; 2-D shapes only."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer: only 2-D shapes have an identity matrix, "
                             f"got shape {tuple(shape)}")
        tensor = _fill.eye_(_new(shape, dtype))
        with no_grad():
            tensor.mul_(self.gain)
        return tensor

    def get_config(self):
        return {"gain": self.gain}


class _Random(Initializer):
    """A random initializer: seed=None draws from the global stream; an int seed gives the same
    values on every call (Keras's rule for a seeded initializer)."""

    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: seed must be an int or None, got {seed!r}")
        self.seed = seed

    def _generator(self):
        return None if self.seed is None else Generator().manual_seed(int(self.seed))

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_Random):
    """N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _fill.normal_(_new(shape, dtype), self.mean, self.stddev, self._generator())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(_Random):
    """N(mean, stddev^2) with values beyond 2 stddev of the mean redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        bound = _TRUNCATE_AT_STDS * self.stddev
        return _fill.trunc_normal_(_new(shape, dtype), self.mean, self.stddev,
                                   self.mean - bound, self.mean + bound, self._generator())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(_Random):
    """U(minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return _fill.uniform_(_new(shape, dtype), self.minval, self.maxval, self._generator())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class VarianceScaling(_Random):
    """Draws with variance scale / n, n = fan_in, fan_out or their mean (`mode`).

    distribution 'truncated_normal' (alias 'normal'): std sqrt(scale / n) / 0.8796 cut at 2 std;
    'untruncated_normal': std sqrt(scale / n); 'uniform': U(-limit, limit), limit sqrt(3 scale / n).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        super().__init__(seed)
        self.input_axes, self.output_axes = input_axes, output_axes
        if not scale > 0:
            raise ValueError(f"VarianceScaling: scale must be a positive float, got {scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {', '.join(self._MODES)}, "
                             f"got {mode!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of "
                             f"{', '.join(self._DISTRIBUTIONS)} (or 'normal'), got "
                             f"{distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        tensor, generator = _new(shape, dtype), self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return _fill.uniform_(tensor, -limit, limit, generator)
        if self.distribution == "untruncated_normal":
            return _fill.normal_(tensor, 0.0, math.sqrt(variance), generator)
        stddev = math.sqrt(variance) / _TRUNCATED_STD
        bound = _TRUNCATE_AT_STDS * stddev
        return _fill.trunc_normal_(tensor, 0.0, stddev, -bound, bound, generator)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config(), "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale, mode and distribution (Glorot, He, LeCun)."""

    _PRESET = None  # (scale, mode, distribution)

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._PRESET
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    _PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with std sqrt(2 / (fan_in + fan_out))."""
    _PRESET = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """U(-limit, limit), limit = sqrt(6 / fan_in) (He et al., 2015)."""
    _PRESET = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal with std sqrt(2 / fan_in)."""
    _PRESET = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """U(-limit, limit), limit = sqrt(3 / fan_in) (LeCun et al., 1998)."""
    _PRESET = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with std sqrt(1 / fan_in)."""
    _PRESET = (1.0, "fan_in", "truncated_normal")


class Orthogonal(_Random):
    """`gain` times a random orthogonal matrix; a shape of more than 2 dims is treated as
    (prod(shape[:-1]), shape[-1]) (Saxe et al., 2014)."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer: the shape must have at least 2 "
                             f"dimensions, got shape {shape}")
        rows = int(np.prod(shape[:-1], dtype=np.int64))
        matrix = _fill.orthogonal_(_new((rows, shape[-1]), dtype), self.gain, self._generator())
        return matrix.reshape(*shape).contiguous()

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


def _snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_CLASSES = (Constant, Zeros, Ones, Identity, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
            LecunNormal, Orthogonal)
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({_snake_case(cls.__name__): cls for cls in _CLASSES})
_BY_NAME.update({"normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
                 "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal})


def serialize(initializer):
    """Keras's config dict: {'module', 'class_name', 'config', 'registered_name'}."""
    return _config.serialize(initializer, "keras.initializers")


def deserialize(config, custom_objects=None):
    """The initializer a config dict (as `serialize` writes) or a name describes."""
    return _config.deserialize(config, "initializer", _BY_NAME, get, custom_objects)


def _lookup(name):
    if name not in _BY_NAME:
        raise ValueError(f"Unknown initializer {name!r}; the valid names are: "
                         f"{', '.join(sorted(_BY_NAME))}")
    return _BY_NAME[name]


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'GlorotUniform', 'zeros', ...), a config
    dict, a class, an instance or callable `(shape, dtype=None)`, or an array of fixed values.

    >>> get("he_normal")
    HeNormal(seed=None, input_axes=None, output_axes=None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, (Tensor, np.ndarray, np.generic)):
        values = identifier

        def fixed_values(shape, dtype=None):
            if tuple(shape) != tuple(values.shape):
                raise ValueError(f"initializer: the fixed values have shape "
                                 f"{tuple(values.shape)}, but the weight has shape "
                                 f"{tuple(shape)}")
            return Constant(values)(shape, dtype)
        return fixed_values
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier {identifier!r}: expected a "
                     f"name, a config dict, a callable or an array")
