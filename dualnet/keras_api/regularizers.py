"""`keras.regularizers`: Keras 3's weight penalties (L1, L2, L1L2, OrthogonalRegularizer), each a
callable weight -> scalar Tensor that a layer adds to its `losses` (and `fit` to the loss)."""
import inspect
import math

from ..core.creation import eye, zeros
from ..core.tensor import Tensor
from ..nn import functional as F
from . import _config

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


def _factor(value, name):
    if value is None:
        return None
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value)
            or math.isinf(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float, "
                         f"got {name}={value!r}")
    return float(value)


class Regularizer:
    """Base class: `__call__(weight) -> scalar Tensor`, `get_config`, `from_config`."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not define get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """l1 * sum(|x|)."""

    def __init__(self, l1=0.01):
        self.l1 = 0.01 if l1 is None else _factor(l1, "l1")

    def __call__(self, x):
        return x.abs().sum() * self.l1

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 * sum(x^2) (no 1/2 factor: Keras's convention)."""

    def __init__(self, l2=0.01):
        self.l2 = 0.01 if l2 is None else _factor(l2, "l2")

    def __call__(self, x):
        return x.square().sum() * self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2); both factors default to 0, as in Keras."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = 0.0 if l1 is None else _factor(l1, "l1")
        self.l2 = 0.0 if l2 is None else _factor(l2, "l2")

    def __call__(self, x):
        penalty = zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + x.abs().sum() * self.l1
        if self.l2:
            penalty = penalty + x.square().sum() * self.l2
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean over pairs i < j of |<u_i, u_j>|, the u the L2-normalised rows
    (mode='rows') or columns (mode='columns') of a 2-D weight."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got "
                             f"{mode!r}")
        self.mode = mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer: the weight must be 2-D, got shape "
                             f"{tuple(x.shape)}")
        vectors = F.normalize(x, dim=1) if self.mode == "rows" else F.normalize(x, dim=0).t()
        size = vectors.shape[0]
        gram = vectors.matmul(vectors.t())
        off_diagonal = gram * (1.0 - eye(size, dtype=x.dtype))
        # each unordered pair appears twice in the Gram matrix, hence the 1/2
        pairs = size * (size - 1) / 2.0
        return off_diagonal.abs().sum() * (0.5 * self.factor / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_BY_NAME = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
            "l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer):
    """Keras's config dict: {'module', 'class_name', 'config', 'registered_name'}."""
    return _config.serialize(regularizer, "keras.regularizers")


def deserialize(config, custom_objects=None):
    """The regularizer a config dict (as `serialize` writes) or a name describes."""
    return _config.deserialize(config, "regularizer", _BY_NAME, get, custom_objects)


def get(identifier):
    """A regularizer from a name ('l1', 'l2', 'l1_l2', ...), a config dict, a class, an
    instance or a callable on a weight; None stays None.

    >>> get("l2")
    L2(l2=0.01)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown regularizer {identifier!r}; the valid names are: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier) and not isinstance(identifier, Tensor):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier {identifier!r}: expected a "
                     f"name, a config dict or a callable")
