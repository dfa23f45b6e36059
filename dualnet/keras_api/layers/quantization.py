"""Keras 3's quantization of Dense and Embedding: `layer.quantize(mode)`, `model.quantize(mode)`,
a quantized dtype policy such as "int8_from_float32" - the part every mode shares.

This module holds the quantizer and config classes common to the modes, the dtype policies,
the checks `quantize` makes, and the `Quantizable` mixin that Dense and Embedding inherit. Each
mode lives in its own module `quantization_<mode>` (int8, int4, float8, gptq, awq), imported
on first use, which defines:

    MODE                         the mode's name
    LAYERS                       the layer kinds it quantizes ("dense", "embedding")
    CONFIGS                      its config classes, found by class name when deserializing
    default_config()             the config `quantize(mode)` runs with when given none
    policy_mode(layer, config)   the mode part of the dtype policy's name ("int4/128")
    build(layer, shape, config)  create the quantized weights (zeros / ones), Keras's names
    quantize(layer, config)      turn the built float layer's weight into them, in place
    call(layer, inputs, training)           the quantized layer's forward
    saved_variables(layer, for_loading)     its weights-file entries, in Keras's order
    lora_base(layer)             (optional) the W that `kernel` / `embeddings` reads
    quantize_model(model, config, filters)  (optional) the model-wide step (calibration)
"""
import importlib
import re
import warnings

from ...core.autograd import no_grad
from ...core.dtypes import to_dtype

__all__ = ["AbsMaxQuantizer", "QuantizationConfig", "Int8QuantizationConfig",
           "QuantizedDTypePolicy", "DTypePolicy", "QUANTIZATION_MODES"]

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")  # Keras 3.15's, in its order
EPSILON = 1e-7  # keras.backend.epsilon(): keeps an all-zero channel's scale finite
INT8_RANGE = (-127, 127)
# config class name -> its mode (the mode module defines the class)
_CONFIG_MODES = {"Int8QuantizationConfig": "int8", "Int4QuantizationConfig": "int4",
                 "Float8QuantizationConfig": "float8", "GPTQConfig": "gptq", "AWQConfig": "awq"}


def mode_module(mode):
    """The module implementing `mode` (imported on first use)."""
    if mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                         f"Received: mode={mode}")
    return importlib.import_module(f"{__package__}.quantization_{mode}")


def serialized_object(module, obj):
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None}


# ----------------------------------------------------------------------------- quantizer

class AbsMaxQuantizer:
    """Keras's abs-max quantizer: (q, scale) with scale = hi / (max|x| + epsilon) along `axis`
    (kept as a size-1 dim) and q = clip(round(x * scale), lo, hi) in `output_dtype`. Rounding
    is half to even, as NumPy's and torch's."""

    def __init__(self, axis=None, value_range=INT8_RANGE, epsilon=EPSILON, output_dtype="int8"):
        to_dtype(output_dtype)  # an unknown dtype fails here, naming it
        low, high = value_range
        if output_dtype == "int8" and (low < -128 or high > 127):
            raise ValueError(f"Quantizer with output_dtype='int8' requires value_range to be "
                             f"within the interval [-128, 127]. Received: "
                             f"value_range={value_range}")
        self.axis = (axis,) if isinstance(axis, int) else (None if axis is None else tuple(axis))
        self.value_range, self.epsilon, self.output_dtype = tuple(value_range), epsilon, \
            output_dtype

    def __call__(self, x, axis=None, to_numpy=False):
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon)

    def get_config(self):
        config = {"value_range": list(self.value_range), "epsilon": self.epsilon,
                  "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = list(self.axis)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def abs_max_quantize(x, axis, value_range=INT8_RANGE, dtype="int8", epsilon=EPSILON):
    """Keras's `abs_max_quantize` on a dualnet tensor: (q, scale), scale keeping `axis`."""
    dims = axis if isinstance(axis, int) else tuple(axis)
    low, high = value_range
    scale = high / (x.abs().amax(dim=dims, keepdim=True) + epsilon)
    return (x * scale).round().clamp(low, high).to(to_dtype(dtype)), scale


_QUANTIZERS = {"AbsMaxQuantizer": AbsMaxQuantizer}


def deserialize_quantizer(value):
    """A quantizer from a config argument: None, a quantizer, or its serialized dict."""
    if value is None or isinstance(value, tuple(_QUANTIZERS.values())):
        return value
    if isinstance(value, dict) and value.get("class_name") in _QUANTIZERS:
        return _QUANTIZERS[value["class_name"]].from_config(value.get("config", {}))
    raise ValueError(f"quantization config: expected a quantizer "
                     f"({', '.join(_QUANTIZERS)}) or None. Received: {value!r}")


# ----------------------------------------------------------------------------- configs

class QuantizationConfig:
    """Keras's `keras.quantizers.QuantizationConfig`: a weight quantizer and an activation
    (input) quantizer; each mode's config subclasses it and names its `mode`."""

    mode = None

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = deserialize_quantizer(weight_quantizer)
        self.activation_quantizer = deserialize_quantizer(activation_quantizer)

    def get_config(self):
        return {name: None if q is None else serialized_object("keras.quantizers", q)
                for name, q in (("weight_quantizer", self.weight_quantizer),
                                ("activation_quantizer", self.activation_quantizer))}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        return config.activation_quantizer if config is not None else default


class Int8QuantizationConfig(QuantizationConfig):
    """Keras's `Int8QuantizationConfig`: the weight quantizer (None: the layer's default
    abs-max one) and the activation quantizer ("default": abs-max over the last axis; None:
    weights-only quantization)."""

    mode = "int8"

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if self.weight_quantizer is not None and self.weight_quantizer.output_dtype != "int8":
            raise ValueError(f"Int8QuantizationConfig requires a weight_quantizer with "
                             f"output_dtype='int8'. Received: "
                             f"output_dtype={self.weight_quantizer.output_dtype}")


def serialize_config(config):
    """The `quantization_config` entry of a layer config, in Keras's serialized form."""
    return None if config is None else serialized_object("keras.quantizers", config)


def deserialize_config(value):
    """A quantization config from a constructor argument: None, a config, or its serialized
    dict (what `get_config` wrote)."""
    if value is None or isinstance(value, QuantizationConfig):
        return value
    if isinstance(value, dict) and value.get("class_name") in _CONFIG_MODES:
        name = value["class_name"]
        return getattr(mode_module(_CONFIG_MODES[name]), name).from_config(
            value.get("config", {}))
    raise ValueError(f"Argument `quantization_config` must be an instance of "
                     f"`QuantizationConfig`. Received: quantization_config={value!r}")


def resolve_config(mode, config):
    """Keras's validate_and_resolve_config: the config `quantize(mode, config)` runs with."""
    if isinstance(config, str):
        mode, config = config, None
    if mode is not None:
        mode_module(mode)  # an unknown mode is a ValueError naming the valid ones
    if config is None:
        if mode is None:
            raise ValueError("You must provide either `mode` or `config` to `quantize`.")
        return mode_module(mode).default_config()
    if isinstance(config, dict):
        config = deserialize_config(config)
    if not isinstance(config, QuantizationConfig):
        raise ValueError(f"Argument `config` must be an instance of `QuantizationConfig`. "
                         f"Received: config={config!r} (of type {type(config)})")
    if mode is not None and mode != config.mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but "
                         f"config.mode='{config.mode}'")
    return config


# ----------------------------------------------------------------------------- dtype policies

class DTypePolicy:
    """A float dtype policy ("float32", ...): what a layer's `dtype_policy` reports."""

    quantization_mode = None

    def __init__(self, name="float32"):
        self.name = self.compute_dtype = self.variable_dtype = name

    def get_config(self):
        return {"name": self.name}

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self):
        return f'<{type(self).__name__} "{self.name}">'


class QuantizedDTypePolicy(DTypePolicy):
    """Keras's "<mode>_from_<source>" policy (e.g. "int8_from_float32"): weights quantized to
    `mode`, computations in the source policy's dtype. The subclasses below carry the mode's
    parameters in its name ("int4/128", "gptq/4/128") as Keras's do."""

    def __init__(self, mode, source_name="float32"):
        super().__init__(source_name or "float32")
        base = mode.split("/")[0]
        if base not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of "
                             f"{QUANTIZATION_MODES}. Received: mode={mode}")
        if base == "int8" and self.compute_dtype == "float16":
            raise ValueError(f"Quantization mode='{base}' doesn't work well with "
                             f"compute_dtype='float16'.")
        self.quantization_mode = self.mode = base
        self.source_name = self.compute_dtype
        self._mode_name = mode
        self.name = f"{mode}_from_{self.source_name}"

    def get_config(self):
        return {"mode": self._mode_name, "source_name": self.source_name}


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """"float8_from_<source>", with the length of the amax history of delayed scaling."""

    default_amax_history_length = 1024

    def __init__(self, mode, source_name="float32", amax_history_length=1024):
        super().__init__(mode, source_name)
        if not isinstance(amax_history_length, int):
            raise TypeError(f"`amax_history_length` must be an integer. Received: "
                            f"amax_history_length={amax_history_length}")
        self.amax_history_length = amax_history_length

    def get_config(self):
        return {**super().get_config(), "amax_history_length": self.amax_history_length}


def _mode_fields(cls, mode, fields):
    """Keras's parse of "<mode>/<a>/<b>": the integers after the mode, ValueError otherwise."""
    parts = mode.split("/")
    expected = "'" + "/".join([cls.base] + [f"<{f}>" for f in fields]) + "'"
    if len(parts) != len(fields) + 1 or parts[0] != cls.base:
        raise ValueError(f"Invalid mode for {cls.__name__}. Expected format {expected}, but "
                         f"got '{mode}'.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        raise ValueError(f"Invalid mode for {cls.__name__}. "
                         f"{' and '.join(f'<{f}>' for f in fields)} must be "
                         f"integer{'s' if len(fields) > 1 else ''}. Expected format "
                         f"{expected}, but got '{mode}'.") from None


def _check_group(name, value, mode, what):
    if value < -1 or value == 0:
        raise ValueError(f"Invalid {name} in mode. Supported values are -1 ({what}) or a "
                         f"positive integer, but got {value} from '{mode}'.")


class Int4DTypePolicy(QuantizedDTypePolicy):
    """"int4/<block_size>_from_<source>": -1 per output channel, else groups of block_size
    input rows (sub-channel)."""

    base = "int4"

    def __init__(self, mode, source_name="float32"):
        (self.block_size,) = _mode_fields(type(self), mode, ["block_size"])
        _check_group("block_size", self.block_size, mode, "per-channel")
        super().__init__(mode, source_name)


class GPTQDTypePolicy(QuantizedDTypePolicy):
    """"gptq/<weight_bits>/<group_size>_from_<source>"."""

    base = "gptq"
    bits = (2, 3, 4, 8)

    def __init__(self, mode, source_name="float32"):
        self.weight_bits, self.group_size = _mode_fields(type(self), mode,
                                                         ["weight_bits", "group_size"])
        if self.weight_bits not in self.bits:
            raise ValueError(f"Invalid weight_bits in mode. Supported values are "
                             f"{', '.join(map(str, self.bits[:-1]))}, and {self.bits[-1]}, "
                             f"but got {self.weight_bits} from '{mode}'.")
        _check_group("group_size", self.group_size, mode, "whole-tensor")
        super().__init__(mode, source_name)


class AWQDTypePolicy(QuantizedDTypePolicy):
    """"awq/4/<group_size>_from_<source>" (AWQ quantizes to 4 bits only)."""

    base = "awq"

    def __init__(self, mode, source_name="float32"):
        self.weight_bits, self.group_size = _mode_fields(type(self), mode,
                                                         ["weight_bits", "group_size"])
        if self.weight_bits != 4:
            raise ValueError(f"Invalid weight_bits in mode. AWQ only supports 4-bit "
                             f"quantization, but got {self.weight_bits} from '{mode}'.")
        _check_group("group_size", self.group_size, mode, "per-channel")
        super().__init__(mode, source_name)


_POLICIES = {cls.__name__: cls for cls in (QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
                                           Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy)}


def policy_from_name(name):
    """Keras's policy for "<mode>_from_<source>" (dtype_policies.get of a quantized name)."""
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError(f"Cannot convert `policy` into a valid pair (`mode`, `source_name`) "
                         f"to instantiate `QuantizedDTypePolicy`. Received: policy={name}")
    mode, source = parts
    base = mode.split("/")[0]
    if base == "float8":
        return QuantizedFloat8DTypePolicy(mode, source)
    cls = {"int4": Int4DTypePolicy if "/" in mode else QuantizedDTypePolicy,
           "gptq": GPTQDTypePolicy, "awq": AWQDTypePolicy}.get(base, QuantizedDTypePolicy)
    return cls(mode, source)


def split_policy(dtype):
    """(float dtype for the Layer base, quantized policy or None) of a `dtype=` argument: a
    quantized policy's name, object or serialized dict, or anything the base takes."""
    if isinstance(dtype, QuantizedDTypePolicy):
        return dtype.source_name, dtype
    if isinstance(dtype, dict) and dtype.get("class_name") in _POLICIES:
        policy = _POLICIES[dtype["class_name"]](**dtype.get("config", {}))
        return policy.source_name, policy
    if isinstance(dtype, str) and dtype.startswith(QUANTIZATION_MODES) and "_from_" in dtype:
        policy = policy_from_name(dtype)
        return policy.source_name, policy
    return dtype, None


# ----------------------------------------------------------------------------- the layer mixin

class Quantizable:
    """Keras's quantization API on a layer built around one big weight (Dense's kernel,
    Embedding's embeddings). A subclass names in `_quant_names` its (weight, int8 scale), in
    `_quant_axis` the axis an abs-max scale reduces over and in `_quant_kind` its kind ("dense",
    "embedding"); it calls `_init_quantization` in __init__, `_build_quantized` from build when
    `quantization_mode` is set, and `quantized_call` from call once `_is_quantized`."""

    _quant_names = ()
    _quant_axis = 0
    _quant_kind = None

    def _init_quantization(self, policy, config):
        self.__dict__["_quant_policy"] = policy
        self.__dict__["_is_quantized"] = False
        self.__dict__["quantization_config"] = deserialize_config(config)

    @property
    def quantization_mode(self):
        """The quantization mode of this layer ("int8", "int4", ...), None if not quantized."""
        policy = self.__dict__.get("_quant_policy")
        return None if policy is None else policy.quantization_mode

    @property
    def dtype_policy(self):
        policy = self.__dict__.get("_quant_policy")
        return DTypePolicy(self._dtype_name) if policy is None else policy

    def _mode_module(self, mode):
        module = mode_module(mode)
        if self._quant_kind not in module.LAYERS:
            modes = tuple(m for m in QUANTIZATION_MODES
                          if self._quant_kind in mode_module(m).LAYERS)
            raise NotImplementedError(f"Invalid quantization mode. Expected one of {modes}. "
                                      f"Received: quantization_mode={mode}")
        return module

    def _build_quantized(self, shape):
        """Create the quantized weights (zeros / ones) instead of the float one, as Keras's
        `quantized_build` under a quantized dtype policy."""
        self._mode_module(self.quantization_mode).build(self, shape, self.quantization_config)
        self.__dict__["_is_quantized"] = True

    def _quant_weight(self, name, shape, dtype=None, initializer="zeros", trainable=False):
        """Add a quantization weight keyed `name` (the attribute assignment renames the key
        add_weight picks when the class has a property of that name)."""
        weight = self.add_weight(shape=shape, name=name, initializer=initializer, dtype=dtype,
                                 trainable=trainable)
        setattr(self, name, weight)
        return weight

    def _drop_weight(self, name):
        """Remove the weight keyed `name` (Keras's `del self._kernel` before the quantized
        weights come in its place)."""
        self._weight_infos[:] = [info for info in self._weight_infos if info.key != name]
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the built layer's weight in place, as Keras's `quantize`: modes "int8" and
        "int4" (Dense, Embedding), "float8", "gptq", "awq" (Dense).

        >>> import dualnet as dn
        >>> from dualnet.keras_api.layers import Dense
        >>> layer = Dense(2)
        >>> _ = layer(dn.ones(1, 3))
        >>> layer.quantize("int8")
        >>> layer.dtype_policy.name, [w.dtype.name for w in layer.weights]
        ('int8_from_float32', ['float32', 'int8', 'float32'])
        """
        config = resolve_config(mode, config)
        mode = config.mode
        cls = type(self).__name__
        if not self.built:
            raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer "
                             f"'{self.name}' (of type '{cls}') is not built yet.")
        if self.__dict__.get("_is_quantized"):
            raise ValueError(f"Layer '{self.name}' is already quantized with "
                             f"dtype_policy='{self.dtype_policy.name}'. Received: mode={mode}")
        if mode == "int8" and self._dtype_name == "float16":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with "
                             f"compute_dtype='float16' (layer '{self.name}').")
        # as Keras, a subclass is refused unless type_check=False (it may compute otherwise);
        # only the classes that declare `_quant_names` themselves are known to be safe
        if type_check and "_quant_names" not in type(self).__dict__:
            raise NotImplementedError(f"Layer {cls} does not have a `quantize` method "
                                      f"implemented.")
        module = self._mode_module(mode)
        with no_grad():
            module.quantize(self, config)
        self.__dict__["quantization_config"] = config
        self.__dict__["_quant_policy"] = policy_from_name(
            f"{module.policy_mode(self, config)}_from_{self._dtype_name}")
        self.__dict__["_is_quantized"] = True

    def quantized_call(self, inputs, training=None):
        return mode_module(self.quantization_mode).call(self, inputs, training)

    def _lora_base(self, key):
        """The W that `kernel` / `embeddings` reads (the mode may unpack its stored form)."""
        mode = self.quantization_mode
        lora_base = None if mode is None else getattr(mode_module(mode), "lora_base", None)
        return self._stored(key) if lora_base is None else lora_base(self)

    def _quantization_config_entries(self, config):
        """get_config's dtype and quantization_config entries, Keras's serialized forms."""
        if self.quantization_mode is not None:
            config["dtype"] = serialized_object("keras.dtype_policies", self.dtype_policy)
        config["quantization_config"] = serialize_config(self.quantization_config)
        return config

    def _saved_variables(self, for_loading):
        """The weights-file entries: the mode's, in Keras's variable_serialization_spec order."""
        if not self.__dict__.get("_is_quantized"):
            return super()._saved_variables(for_loading)
        return mode_module(self.quantization_mode).saved_variables(self, for_loading)


def cached_view(layer, kind, names, build_value):
    """`build_value()` (an unpacked or dequantized weight) computed once per state of the
    stored weights `names` (their identities and version counters) and the compute dtype, so a
    call reuses it until a weight is loaded or assigned."""
    stored = [layer._stored(name) for name in names]
    key = (layer._dtype,) + tuple((id(t), t._version.value) for t in stored if t is not None)
    cache = layer.__dict__.setdefault("_quant_cache", {})
    hit = cache.get(kind)
    if hit is None or hit[0] != key:
        with no_grad():
            hit = cache[kind] = (key, build_value())
    return hit[1]


def layer_config(layer, config):
    """The config a quantized layer's mode reads: the one it was quantized with, else None (a
    layer rebuilt from a dtype policy; the mode reads the policy's parameters)."""
    return config if config is not None else layer.quantization_config


# ----------------------------------------------------------------------------- Model.quantize

def flatten_layers(layer):
    """The layer and every layer inside it, depth first."""
    found = [layer]
    for child in layer._sublayers():
        found.extend(flatten_layers(child))
    return found


def _leaf_layers(model):
    return [layer for layer in flatten_layers(model)[1:] if not layer._sublayers()]


def selected(layer, filters):
    """Keras's should_quantize_layer: a regex (or list of them) searched in the layer's name,
    or a callable taking the layer."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return filters(layer)


def quantize_model(model, mode=None, config=None, filters=None, **kwargs):
    """Model.quantize: each leaf layer that can be quantized is; the others are skipped with
    Keras's warning ("Layer X does not have a `quantize` method implemented."); then the mode's
    model-wide step, if it has one (GPTQ's and AWQ's calibration)."""
    type_check = kwargs.pop("type_check", True)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments passed to {type(model).__name__}: "
                         f"{kwargs}")
    if filters is not None and not isinstance(filters, (str, list, tuple)) \
            and not callable(filters):
        raise ValueError(f"The `filters` argument must be a regex string, a list of regex "
                         f"strings, or a callable. Received: {type(filters)}")
    resolved = resolve_config(mode, config)  # an unknown mode errs even with nothing to quantize
    for layer in _leaf_layers(model):
        if not selected(layer, filters):
            continue
        quantize = getattr(layer, "quantize", None)
        try:
            if quantize is None:
                raise NotImplementedError(f"Layer {type(layer).__name__} does not have a "
                                          f"`quantize` method implemented.")
            quantize(resolved.mode, type_check=type_check, config=resolved)
        except NotImplementedError as error:
            warnings.warn(str(error), stacklevel=3)
    model_step = getattr(mode_module(resolved.mode), "quantize_model", None)
    if model_step is not None:
        model_step(model, resolved, filters)
