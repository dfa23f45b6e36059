"""What both conversions share: the `Spec` of one layer to build (and to print as source), the
layout bookkeeping between a Keras tensor and its nn twin, and the activation tables."""
import functools

import numpy as np

from .. import keras_api, nn
from ..keras_api import activations
from ..keras_api import layers as keras_layers
from . import modules as port_modules

_OWNERS = {"nn": nn, "layers": keras_layers, "keras": keras_api, "port": port_modules}


class Spec:
    """One layer of a converted model: `owner.name(*args, **kwargs)` and its weights (for nn a
    state_dict, for Keras the list `set_weights` takes)."""

    def __init__(self, owner, name, args=(), kwargs=None, weights=None):
        self.owner, self.name = owner, name
        self.args, self.kwargs = tuple(args), dict(kwargs or {})
        self.weights = weights

    def build(self):
        return getattr(_OWNERS[self.owner], self.name)(*self.args, **self.kwargs)

    def source(self):
        parts = [_value_source(a) for a in self.args]
        parts += [f"{key}={_value_source(value)}" for key, value in self.kwargs.items()]
        return f"{self.owner}.{self.name}({', '.join(parts)})"


def _value_source(value):
    if isinstance(value, functools.partial):
        keywords = ", ".join(f"{k}={v!r}" for k, v in value.keywords.items())
        return f"functools.partial(keras.activations.{value.func.__name__}, {keywords})"
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, (tuple, list)):
        items = [_value_source(v) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(value)


def source_imports(specs):
    """The import lines the printed specs need."""
    lines = []
    if any(isinstance(v, functools.partial) for s in specs for v in (*s.args, *s.kwargs.values())):
        lines.append("import functools")
        lines.append("")
    owners = {s.owner for s in specs}
    if owners & {"layers", "keras"}:
        lines += ["from dualnet import keras_api as keras", "from dualnet.keras_api import layers"]
    if "nn" in owners or not owners:
        lines.append("from dualnet import nn")
    if "port" in owners:
        lines.append("from dualnet import port")
    return lines


# ----------------------------------------------------------------------------- layouts
# A layout is a permutation `perm` of the Keras tensor's dims (batch first) such that the nn
# tensor is keras_tensor.permute(perm): identity for (batch, features) and sequences,
# channels-first (0, r-1, 1, ..., r-2) for images behind a channels_last Keras layer.

def identity(rank):
    return tuple(range(rank))


def channels_first(rank):
    return (0, rank - 1, *range(1, rank - 1)) if rank > 2 else identity(rank)


def inverse(perm):
    result = [0] * len(perm)
    for position, dim in enumerate(perm):
        result[dim] = position
    return tuple(result)


def moving(current, target):
    """The dims of the permute that turns a tensor in layout `current` into layout `target`."""
    back = inverse(current)
    return tuple(back[d] for d in target)


def same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding along one dim: (before, after), the odd one after."""
    reach = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + reach - size, 0)
    return total // 2, total - total // 2


def flat_order(keras_shape, perm, keras_perm):
    """Where nn's flatten of the tensor in layout `perm` takes each element of Keras's flatten
    (which reads the tensor in layout `keras_perm`) of `keras_shape` (no batch dim):
    nn_flat[j] = keras_flat[order[j]]."""
    labels = np.arange(int(np.prod(keras_shape)), dtype=np.int64).reshape(keras_shape)
    nn_flat = labels.transpose([d - 1 for d in perm[1:]]).ravel()
    keras_flat = labels.transpose([d - 1 for d in keras_perm[1:]]).ravel()
    position = np.empty_like(keras_flat)
    position[keras_flat] = np.arange(keras_flat.size)
    return position[nn_flat]


# ----------------------------------------------------------------------------- activations
# Keras name -> (nn class, {Keras keyword: (nn keyword, translate)}); the nn layer's keywords
# are read back through the same table.
_AXIS = "axis"
ACTIVATIONS = {
    "relu": ("ReLU", {}), "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}),
    "softmax": ("Softmax", {_AXIS: None}), "log_softmax": ("LogSoftmax", {_AXIS: None}),
    "elu": ("ELU", {"alpha": "alpha"}), "celu": ("CELU", {"alpha": "alpha"}),
    "selu": ("SELU", {}), "gelu": ("GELU", {"approximate": "approximate"}),
    "silu": ("SiLU", {}), "softplus": ("Softplus", {}), "softsign": ("Softsign", {}),
    "leaky_relu": ("LeakyReLU", {"negative_slope": "negative_slope"}), "relu6": ("ReLU6", {}),
    "hard_sigmoid": ("Hardsigmoid", {}), "hard_silu": ("Hardswish", {}), "mish": ("Mish", {}),
    "log_sigmoid": ("LogSigmoid", {}), "tanh_shrink": ("Tanhshrink", {}),
    "hard_tanh": ("Hardtanh", {}),
}
_KERAS_DEFAULTS = {"alpha": 1.0, "approximate": False, "negative_slope": 0.2, _AXIS: -1}
_NN_BY_CLASS = {nn_name: keras_name for keras_name, (nn_name, _) in ACTIVATIONS.items()}


def keras_activation(fn):
    """A Keras activation (a built-in, or functools.partial of one) as (name, keywords);
    None for linear; ValueError for anything else."""
    keywords = {}
    if isinstance(fn, functools.partial) and not fn.args:
        fn, keywords = fn.func, dict(fn.keywords)
    try:
        name = activations.serialize(fn)
    except ValueError:
        name = None
    if name in ("swish", "hard_swish"):
        name = {"swish": "silu", "hard_swish": "hard_silu"}[name]
    if name == "linear" and not keywords:
        return None
    if name not in ACTIVATIONS or not set(keywords) <= set(ACTIVATIONS[name][1]):
        raise ValueError(f"activation {fn!r} (keywords {keywords}) has no nn counterpart; the "
                         f"ones that port are {', '.join(sorted(ACTIVATIONS))} and linear")
    return name, keywords


def nn_activation_spec(name, keywords, dim):
    """The nn layer of Keras activation `name`; `dim` is the nn dim of Keras's axis -1."""
    nn_name, table = ACTIVATIONS[name]
    kwargs = {}
    for key in table:
        value = keywords.get(key, _KERAS_DEFAULTS[key])
        if key == _AXIS:
            kwargs["dim"] = dim(value)
        elif key == "approximate":
            kwargs["approximate"] = "tanh" if value else "none"
        else:
            kwargs[table[key]] = value
    return Spec("nn", nn_name, (), kwargs)


def nn_activation(module):
    """An nn activation layer as (Keras name, Keras keywords with the nn dim under 'axis'),
    or None when it is not an activation layer Keras has."""
    name = _NN_BY_CLASS.get(type(module).__name__)
    if name is None or type(module) is not getattr(nn, type(module).__name__):
        return None
    if name == "softplus" and (module.beta != 1 or module.threshold != 20):
        return None
    if name == "hard_tanh" and (module.min_val, module.max_val) != (-1.0, 1.0):
        return None
    keywords = {}
    for key in ACTIVATIONS[name][1]:
        if key == _AXIS:
            keywords[_AXIS] = module.dim
        elif key == "approximate":
            if module.approximate != "none":
                keywords["approximate"] = True
        elif getattr(module, key) != _KERAS_DEFAULTS[key]:
            keywords[key] = getattr(module, key)
    return name, keywords


def keras_activation_value(name, keywords):
    """What a Keras `activation=` argument takes for (name, keywords): the name, or a partial."""
    keywords = {k: v for k, v in keywords.items() if v != _KERAS_DEFAULTS[k]}
    if not keywords:
        return name
    return functools.partial(getattr(activations, name), **keywords)
