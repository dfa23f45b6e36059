"""`keras.activations`: Keras 3's activation names and defaults over dualnet's core ops, so a
layer's `activation="gelu"` computes what Keras computes; `get` resolves names and callables."""
import numpy as np

from ..core.creation import as_tensor
from ..core.ops.shape import ops as _shape
from ..core.tensor import Tensor
from ..nn import functional as F

__all__ = ["get", "serialize", "deserialize", "relu", "leaky_relu", "relu6", "softmax",
           "log_softmax", "elu", "selu", "celu", "softplus", "softsign", "silu", "swish", "gelu",
           "glu", "tanh", "tanh_shrink", "hard_tanh", "sigmoid", "log_sigmoid", "exponential",
           "hard_sigmoid", "hard_silu", "hard_swish", "linear", "mish", "soft_shrink",
           "hard_shrink", "threshold"]


def _tensor(x):
    """Keras's activations accept lists and arrays too; ints become the default float."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    return as_tensor(array)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), generalised: slope `negative_slope` below `threshold`, capped at `max_value`.

    relu(x) = x if x > threshold (capped at max_value), negative_slope * (x - threshold) below.

    >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0).tolist()
    [0.0, 0.0, 0.0, 5.0, 5.0]
    """
    x = _tensor(x)
    if max_value is None and threshold == 0:
        return F.relu(x) if negative_slope == 0 else F.leaky_relu(x, negative_slope)
    if max_value == 6 and threshold == 0 and negative_slope == 0:
        return F.relu6(x)
    positive = F.relu(x) if threshold == 0 else x.where(x > threshold, 0.0)
    if max_value is not None:
        positive = positive.clamp(0.0, max_value)
    if negative_slope == 0:
        return positive
    # below the threshold: slope * (x - threshold) = -slope * relu(threshold - x)
    return positive - F.relu((-x) + threshold) * negative_slope


def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope * x (Keras's default slope is 0.2, torch's 0.01)."""
    return F.leaky_relu(_tensor(x), negative_slope)


def relu6(x):
    """min(max(x, 0), 6)."""
    return F.relu6(_tensor(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (an int or a tuple of ints).

    As in Keras, the output keeps its logits (`_keras_logits`, with the axis): the
    cross-entropy losses given such an output compute from the logits in one fused kernel,
    as Keras's TensorFlow backend does, instead of log(clip(p))."""
    x = _tensor(x)
    if isinstance(axis, int):
        out = F.softmax(x, dim=axis)
        out._keras_logits = (x, axis % x.ndim if x.ndim else axis)
        return out
    # a tuple of axes: move them last, flatten them into one, softmax, and undo the moves
    axes = sorted(a % x.ndim for a in axis)
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = x.permute(*rest, *axes)
    moved_shape = tuple(moved.shape)
    flat = moved.reshape(*moved_shape[:len(rest)], -1)
    out = F.softmax(flat, dim=-1).reshape(*moved_shape)
    inverse = np.argsort(rest + axes).tolist()
    return out.permute(*inverse)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed stably."""
    return F.log_softmax(_tensor(x), dim=axis)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return F.elu(_tensor(x), alpha)


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants (Klambauer et al., 2017)."""
    return F.selu(_tensor(x))


def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return F.celu(_tensor(x), alpha)


def softplus(x):
    """log(exp(x) + 1)."""
    return F.softplus(_tensor(x))


def softsign(x):
    """x / (|x| + 1)."""
    return F.softsign(_tensor(x))


def silu(x):
    """x * sigmoid(x) (swish)."""
    return F.silu(_tensor(x))


swish = silu


def gelu(x, approximate=False):
    """x * Phi(x); Keras's default is the exact erf form, approximate=True the tanh one."""
    return F.gelu(_tensor(x), approximate="tanh" if approximate else "none")


def glu(x, axis=-1):
    """a * sigmoid(b), where a and b are the two halves of x along `axis`."""
    x = _tensor(x)
    size = x.shape[axis]
    if size % 2 != 0:
        raise ValueError(f"glu: axis {axis} must have an even size to split in two, got size "
                         f"{size} (input shape {tuple(x.shape)})")
    first, second = _shape.split(x, size // 2, dim=axis)
    return first * F.sigmoid(second)


def tanh(x):
    """Hyperbolic tangent."""
    return F.tanh(_tensor(x))


def tanh_shrink(x):
    """x - tanh(x)."""
    return F.tanhshrink(_tensor(x))


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return F.hardtanh(_tensor(x))


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return F.sigmoid(_tensor(x))


def log_sigmoid(x):
    """log(sigmoid(x)), without overflow."""
    return F.logsigmoid(_tensor(x))


def exponential(x):
    """exp(x)."""
    return _tensor(x).exp()


def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3's piecewise-linear sigmoid)."""
    return F.hardsigmoid(_tensor(x))


def hard_silu(x):
    """x * relu6(x + 3) / 6 (hard swish)."""
    return F.hardswish(_tensor(x))


hard_swish = hard_silu


def linear(x):
    """The identity (what `activation=None` means)."""
    return _tensor(x)


def mish(x):
    """x * tanh(softplus(x))."""
    return F.mish(_tensor(x))


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, 0 between."""
    x = _tensor(x)
    return (x - threshold).where(x > threshold, (x + threshold).where(x < -threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _tensor(x)
    return x.where(x.abs() > threshold, 0.0)


def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    x = _tensor(x)
    return x.where(x > threshold, float(default_value))


_BY_NAME = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, celu, softplus, softsign, silu,
    gelu, glu, tanh, tanh_shrink, hard_tanh, sigmoid, log_sigmoid, exponential, hard_sigmoid,
    hard_silu, linear, mish, soft_shrink, hard_shrink, threshold)}
_BY_NAME["swish"] = silu
_BY_NAME["hard_swish"] = hard_silu


def serialize(activation):
    """The name Keras stores in a layer's config for a built-in activation."""
    if activation is None:
        return "linear"
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME and _BY_NAME[name] is activation:
        return name
    raise ValueError(f"serialize: {activation!r} is not one of the built-in activations "
                     f"({', '.join(sorted(_BY_NAME))}); a custom activation cannot be "
                     f"stored by name")


def deserialize(config, custom_objects=None):
    """The activation a name (or Keras's {'class_name': 'function', 'config': name} dict) means."""
    if isinstance(config, dict):
        config = config.get("config", config.get("class_name"))
    if custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)


def get(identifier):
    """A callable on Tensors from a name, a callable, a config dict or None (linear).

    >>> get("relu") is relu, get(None) is linear
    (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]
        raise ValueError(f"Unknown activation function {identifier!r}; the valid names are: "
                         f"{', '.join(sorted(_BY_NAME))}")
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation identifier {identifier!r}: expected a "
                     f"name, a callable or None")
