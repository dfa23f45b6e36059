"""`keras.quantizers`: the quantization configs, quantizers and array functions, by Keras's names.

Each name is imported from the module that defines it on first access (the quantization modes
live in `keras_api.layers.quantization_<mode>`), so `import dualnet` loads none of them.
"""
import importlib

_LAYERS = "dualnet.keras_api.layers."
_WHERE = {
    "QuantizationConfig": "quantization", "Int8QuantizationConfig": "quantization",
    "AbsMaxQuantizer": "quantization", "abs_max_quantize": "quantization",
    "Int4QuantizationConfig": "quantization_int4",
    "Float8QuantizationConfig": "quantization_float8",
    "compute_float8_scale": "quantization_float8",
    "compute_float8_amax_history": "quantization_float8",
    "quantize_and_dequantize": "quantization_float8",
    "GPTQConfig": "quantization_gptq", "AWQConfig": "quantization_awq",
    "pack_int4": "quantization_ops", "unpack_int4": "quantization_ops",
    "abs_max_quantize_grouped_with_zero_point": "quantization_ops",
    "dequantize_with_sz_map": "quantization_ops",
    "fake_quant_with_min_max_vars": "fake_quant",
}
__all__ = sorted(_WHERE) + ["get", "serialize", "deserialize"]


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'keras_api.quantizers' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAYERS + _WHERE[name]), name)
    globals()[name] = value
    return value


def serialize(obj):
    """A quantizer's or a quantization config's serialized dict (Keras's form)."""
    from .layers.quantization import serialized_object
    return serialized_object("keras.quantizers", obj)


def deserialize(config):
    """A quantizer or a quantization config from its serialized dict."""
    from .layers import quantization
    if isinstance(config, dict) and config.get("class_name") in quantization._CONFIG_MODES:
        return quantization.deserialize_config(config)
    return quantization.deserialize_quantizer(config)


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def get(identifier, **kwargs):
    """A quantizer or config from an object, its serialized dict, or its class name
    (CamelCase or snake_case, made with `kwargs`); None gives None."""
    if identifier is None or not isinstance(identifier, (str, dict)):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    from .layers.quantization import _CONFIG_MODES, _QUANTIZERS
    for name in list(_QUANTIZERS) + ["QuantizationConfig"] + list(_CONFIG_MODES):
        if identifier in (name, _snake(name)):
            return __getattr__(name)(**kwargs)
    raise ValueError(f"Could not interpret quantizer identifier: {identifier}")
