"""Keras 3's int8 quantization for Dense and Embedding (`layer.quantize("int8")`,
`model.quantize("int8")`, a quantized dtype policy such as "int8_from_float32").

Weights: the float weight W becomes an int8 weight of the same name and shape plus a float32
per-channel scale, both non-trainable (Keras's `AbsMaxQuantizer`):

    scale = 127 / (max|W| + 1e-7)  along the reduced axis,   W_q = clip(round(W * scale), -127, 127)

Dense reduces over the input axis (one scale per output unit, `kernel_scale` (units,)); Embedding
over the output axis (one scale per row, `embeddings_scale` (input_dim,)). Rounding is half to
even, as NumPy's and torch's.

Dense's call quantizes its inputs the same way per row (last axis), multiplies the two int8
operands with exact integer accumulation, and divides by both scales:

    y = float32(x_q @ W_q) / (kernel_scale * x_scale)  (+ LoRA) (+ bias), then the activation

Its gradient w.r.t. the inputs is Keras's custom one, through the dequantized kernel:
dL/dx = dL/dy @ (W_q / kernel_scale).T; the int8 weights get none. Embedding looks up int8 rows
and divides each by its row's scale. Modes other than "int8" ("int4", "float8", "gptq", "awq")
raise NotImplementedError naming the mode.
"""
import re
import warnings

from ...core.autograd import Function, no_grad
from ...core.dtypes import float64, int64, to_dtype
from ...core.ops.matmul import ops as _matmul
from ...nn import functional as F

__all__ = ["AbsMaxQuantizer", "Int8QuantizationConfig", "QuantizedDTypePolicy", "DTypePolicy",
           "QUANTIZATION_MODES"]

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")  # Keras 3.15's, in its order
_EPSILON = 1e-7  # keras.backend.epsilon(): keeps an all-zero channel's scale finite
_INT8_RANGE = (-127, 127)


# ----------------------------------------------------------------------------- quantizer, config

def _serialized_object(module, obj):
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None}


class AbsMaxQuantizer:
    """Keras's abs-max quantizer: (q, scale) with scale = hi / (max|x| + epsilon) along `axis`
    (kept as a size-1 dim) and q = clip(round(x * scale), lo, hi) as int8."""

    def __init__(self, axis=None, value_range=_INT8_RANGE, epsilon=_EPSILON, output_dtype="int8"):
        if output_dtype != "int8":
            raise NotImplementedError(f"AbsMaxQuantizer: output_dtype={output_dtype!r} is not "
                                      f"supported by dualnet (only 'int8')")
        low, high = value_range
        if low < -128 or high > 127:
            raise ValueError(f"Quantizer with output_dtype='int8' requires value_range to be "
                             f"within the interval [-128, 127]. Received: "
                             f"value_range={value_range}")
        self.axis = (axis,) if isinstance(axis, int) else (None if axis is None else tuple(axis))
        self.value_range, self.epsilon, self.output_dtype = tuple(value_range), epsilon, "int8"

    def __call__(self, x, axis=None):
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        dims = axis if isinstance(axis, int) else tuple(axis)
        low, high = self.value_range
        scale = high / (x.abs().amax(dim=dims, keepdim=True) + self.epsilon)
        quantized = (x * scale).round().clamp(low, high).to(to_dtype("int8"))
        return quantized, scale

    def get_config(self):
        return {"value_range": list(self.value_range), "epsilon": self.epsilon,
                "output_dtype": self.output_dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Int8QuantizationConfig:
    """Keras's `keras.quantizers.Int8QuantizationConfig`: the weight quantizer (None: the
    layer's default abs-max one) and the activation (input) quantizer ("default": abs-max over
    the last axis; None: weights-only quantization)."""

    mode = "int8"

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        self.weight_quantizer = _quantizer(weight_quantizer)
        self.activation_quantizer = _quantizer(activation_quantizer)

    def get_config(self):
        return {name: None if q is None else _serialized_object("keras.quantizers", q)
                for name, q in (("weight_quantizer", self.weight_quantizer),
                                ("activation_quantizer", self.activation_quantizer))}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _quantizer(value):
    if value is None or isinstance(value, AbsMaxQuantizer):
        return value
    if isinstance(value, dict) and value.get("class_name") == "AbsMaxQuantizer":
        return AbsMaxQuantizer.from_config(value.get("config", {}))
    raise NotImplementedError(f"quantization config: the quantizer {value!r} is not supported by "
                              f"dualnet (only AbsMaxQuantizer)")


def serialize_config(config):
    """The `quantization_config` entry of a layer config, in Keras's serialized form."""
    return None if config is None else _serialized_object("keras.quantizers", config)


def deserialize_config(value):
    """A quantization config from a constructor argument: None, a config, or its serialized
    dict (what `get_config` wrote)."""
    if value is None or isinstance(value, Int8QuantizationConfig):
        return value
    if isinstance(value, dict):
        name = value.get("class_name")
        if name == "Int8QuantizationConfig":
            return Int8QuantizationConfig.from_config(value.get("config", {}))
        raise NotImplementedError(f"quantization_config of class {name!r} is not supported by "
                                  f"dualnet (only Int8QuantizationConfig, mode 'int8')")
    raise ValueError(f"Argument `quantization_config` must be an instance of "
                     f"`QuantizationConfig`. Received: quantization_config={value!r}")


def resolve_config(mode, config):
    """Keras's validate_and_resolve_config: the config `quantize(mode, config)` runs with."""
    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                         f"Received: mode={mode}")
    if config is None:
        if mode in ("gptq", "awq"):
            raise ValueError(f"For {mode.upper()}, you must pass a "
                             f"`{'GPTQConfig' if mode == 'gptq' else 'AWQConfig'}` object in "
                             f"the `config` argument (not supported by dualnet).")
        if mode is None:
            raise ValueError("You must provide either `mode` or `config` to `quantize`.")
        return Int8QuantizationConfig() if mode == "int8" else _OtherModeConfig(mode)
    config = deserialize_config(config)
    if mode is not None and mode != config.mode:
        raise ValueError(f"Contradictory arguments: mode={mode} but config.mode={config.mode}")
    return config


class _OtherModeConfig:
    """A mode dualnet does not implement: carried to the layer, which raises for it."""

    def __init__(self, mode):
        self.mode = mode


# ----------------------------------------------------------------------------- dtype policies

class DTypePolicy:
    """A float dtype policy ("float32", ...): what a layer's `dtype_policy` reports."""

    quantization_mode = None

    def __init__(self, name="float32"):
        self.name = self.compute_dtype = self.variable_dtype = name

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


class QuantizedDTypePolicy(DTypePolicy):
    """Keras's "<mode>_from_<source>" policy (e.g. "int8_from_float32"): weights quantized to
    `mode`, computations in the source policy's dtype."""

    def __init__(self, mode, source_name="float32"):
        super().__init__(source_name)
        self.quantization_mode, self.source_name = mode, source_name
        self.name = f"{mode}_from_{source_name}"

    def get_config(self):
        return {"mode": self.quantization_mode, "source_name": self.source_name}

    def __repr__(self):
        return f'<QuantizedDTypePolicy "{self.name}">'


def split_policy(dtype):
    """(float dtype for the Layer base, quantization mode or None) of a `dtype=` argument: a
    quantized policy's name, object or serialized dict, or anything the base takes."""
    if isinstance(dtype, QuantizedDTypePolicy):
        return dtype.source_name, dtype.quantization_mode
    if isinstance(dtype, dict) and dtype.get("class_name") == "QuantizedDTypePolicy":
        config = dtype.get("config", {})
        return config.get("source_name", "float32"), config.get("mode")
    if isinstance(dtype, str) and dtype.startswith(QUANTIZATION_MODES) and "_from_" in dtype:
        mode, source = dtype.split("_from_", 1)
        return source, mode
    return dtype, None


# ----------------------------------------------------------------------------- the layer mixin

class Int8Quantizable:
    """Keras's quantization API on a layer built around one big weight (Dense's kernel,
    Embedding's embeddings). A subclass names in `_quant_names` its (weight, scale) and in
    `_quant_axis` the axis its scales reduce over, calls `_init_quantization` in __init__ and
    `_build_quantized` from build when `quantization_mode` is set."""

    _quant_names = ()
    _quant_axis = 0

    def _init_quantization(self, mode, config):
        self.__dict__["_quantization_mode"] = mode
        self.__dict__["_is_quantized"] = False
        self.__dict__["quantization_config"] = deserialize_config(config)

    @property
    def quantization_mode(self):
        """The quantization mode of this layer ("int8"), None if not quantized."""
        return self.__dict__.get("_quantization_mode")

    @property
    def dtype_policy(self):
        mode = self.quantization_mode
        return DTypePolicy(self._dtype_name) if mode is None else \
            QuantizedDTypePolicy(mode, self._dtype_name)

    def _check_mode_supported(self, mode):
        if mode != "int8":
            raise NotImplementedError(f"{type(self).__name__} '{self.name}': quantization "
                                      f"mode {mode!r} is not supported by dualnet (only "
                                      f"'int8'; Keras also has 'int4', 'float8', 'gptq', 'awq')")

    def _build_quantized(self, shape):
        """Create the int8 weight (zeros) and its scale (ones), non-trainable, as Keras's
        `_int8_build`; the attribute assignments give them their Keras names."""
        self._check_mode_supported(self.quantization_mode)
        weight_name, scale_name = self._quant_names
        weight = self.add_weight(shape=shape, name=weight_name, initializer="zeros",
                                 dtype="int8", trainable=False)
        setattr(self, weight_name, weight)
        scale = self.add_weight(shape=(shape[1 - self._quant_axis % 2],), name=scale_name,
                                initializer="ones", trainable=False)
        setattr(self, scale_name, scale)
        self.__dict__["_is_quantized"] = True

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the built layer's weight in place (mode "int8"), as Keras's `quantize`:
        W becomes int8 W_q and a float32 scale per channel, both non-trainable.

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
        self._check_mode_supported(mode)
        weight_name, _ = self._quant_names
        weight = self._stored(weight_name)
        quantizer = config.weight_quantizer or AbsMaxQuantizer(axis=self._quant_axis)
        with no_grad():
            values, scale = quantizer(weight.detach(), axis=quantizer.axis or self._quant_axis)
            scale = scale.squeeze(self._quant_axis)
        # the float weight goes (Keras `del self._kernel`); the int8 one comes in its place
        self._weight_infos[:] = [info for info in self._weight_infos if info.key != weight_name]
        self._parameters.pop(weight_name, None)
        self._buffers.pop(weight_name, None)
        self.__dict__["quantization_config"] = config
        self.__dict__["_quantization_mode"] = mode
        self._build_quantized(tuple(weight.shape))
        with no_grad():
            self._stored(weight_name).copy_(values)
            self._stored(self._quant_names[1]).copy_(scale.to(self._dtype))

    def _quantization_config_entries(self, config):
        """get_config's dtype and quantization_config entries, Keras's serialized forms."""
        if self.quantization_mode is not None:
            config["dtype"] = _serialized_object("keras.dtype_policies", self.dtype_policy)
        config["quantization_config"] = serialize_config(
            None if isinstance(self.quantization_config, _OtherModeConfig)
            else self.quantization_config)
        return config

    def _dequantized(self):
        """The float weight W_q / scale (scale broadcast along its channel axis)."""
        weight_name, scale_name = self._quant_names
        scale = self._stored(scale_name)
        if self._quant_axis != 0:
            scale = scale.unsqueeze(-1)
        return self._stored(weight_name).to(self._dtype) / scale

    def _saved_variables(self, for_loading):
        """Keras's save_own_variables order for a quantized layer: the int8 weight, the bias
        (Dense), the scale. With LoRA on, saving folds the update in and re-quantizes (Keras's
        `_get_kernel_with_merged_lora`); loading sets W_q and the scale and zeroes A, B."""
        if not self.__dict__.get("_is_quantized"):
            return super()._saved_variables(for_loading)
        from .lora import _BaseSlot
        weight_name, scale_name = self._quant_names
        weight, scale = self._stored(weight_name), self._stored(scale_name)
        bias = [self.bias] if getattr(self, "bias", None) is not None else []
        if not self.lora_enabled:
            return [weight] + bias + [scale]
        _, a_name, b_name = self._lora_names
        lora = (self._stored(a_name), self._stored(b_name))
        if for_loading:
            return [_BaseSlot(weight, lora)] + bias + [scale]
        with no_grad():
            delta = _matmul.matmul(*lora) * (self.lora_alpha / self.lora_rank)
            merged = self._dequantized() + delta
            values, merged_scale = AbsMaxQuantizer()(merged, axis=self._quant_axis)
        return [values] + bias + [merged_scale.squeeze(self._quant_axis)]


# ----------------------------------------------------------------------------- the calls

class _Int8Matmul(Function):
    """y = float(x_q @ W_q) / (kernel_scale * x_scale), with Keras's gradient for x through the
    dequantized kernel (the int8 kernel and its scale get none)."""

    @staticmethod
    def forward(ctx, inputs, kernel, kernel_scale, inputs_quantizer):
        ctx.save_for_backward(kernel, kernel_scale)
        if inputs_quantizer is None:  # weights-only: float inputs against the int8 values
            return _matmul.matmul(inputs, kernel.to(inputs.dtype)) / kernel_scale
        quantized, inputs_scale = inputs_quantizer(inputs, axis=-1)
        # int8 x int8 summed exactly: float64 holds every such sum below 2**53 (Keras/torch
        # accumulate in int32), so the float32 result is the same rounding of the same integer
        accumulated = _matmul.matmul(quantized.to(float64), kernel.to(float64))
        return accumulated.to(inputs.dtype) / (kernel_scale * inputs_scale)

    @staticmethod
    def backward(ctx, grad):
        kernel, kernel_scale = ctx.saved_tensors
        float_kernel = kernel.to(grad.dtype) / kernel_scale
        return _matmul.matmul(grad, float_kernel.transpose(0, 1)), None, None, None


def dense_int8_call(layer, inputs):
    """Keras's Dense `_int8_call`: the int8 product, + LoRA, + bias, then the activation."""
    config = layer.quantization_config
    quantizer = AbsMaxQuantizer() if config is None or isinstance(config, _OtherModeConfig) \
        else config.activation_quantizer
    out = _Int8Matmul.apply(inputs, layer._stored("kernel"), layer._stored("kernel_scale"),
                            quantizer)
    if layer.lora_enabled:
        lora_out = _matmul.matmul(_matmul.matmul(inputs, layer._stored("lora_kernel_a")),
                                  layer._stored("lora_kernel_b"))
        out = out + (layer.lora_alpha / layer.lora_rank) * lora_out
    if layer.bias is not None:
        out = out + layer.bias
    return layer.activation(out)


def embedding_int8_call(layer, indices):
    """Keras's Embedding `_int8_call`: int8 rows divided by their scales, + LoRA."""
    if indices.dtype.is_floating_point or indices.dtype.name == "bool":
        indices = indices.to(int64)
    rows = F.embedding(indices, layer._stored("embeddings")).to(layer._dtype)
    out = rows / layer._stored("embeddings_scale")[indices].unsqueeze(-1)
    if layer.lora_enabled:
        lora_out = _matmul.matmul(F.embedding(indices, layer._stored("lora_embeddings_a")),
                                  layer._stored("lora_embeddings_b"))
        out = out + (layer.lora_alpha / layer.lora_rank) * lora_out
    return out


# ----------------------------------------------------------------------------- Model.quantize

def _leaf_layers(model):
    found = []

    def visit(layer):
        children = layer._sublayers()
        if not children:
            found.append(layer)
        for child in children:
            visit(child)
    for child in model._sublayers():
        visit(child)
    return found


def _selected(layer, filters):
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
    Keras's warning ("Layer X does not have a `quantize` method implemented.")."""
    type_check = kwargs.pop("type_check", True)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments passed to {type(model).__name__}: "
                         f"{kwargs}")
    if filters is not None and not isinstance(filters, (str, list, tuple)) \
            and not callable(filters):
        raise ValueError(f"The `filters` argument must be a regex string, a list of regex "
                         f"strings, or a callable. Received: {type(filters)}")
    resolve_config(mode, config)  # an unknown mode is an error even with nothing to quantize
    for layer in _leaf_layers(model):
        if not _selected(layer, filters):
            continue
        quantize = getattr(layer, "quantize", None)
        try:
            if quantize is None:
                raise NotImplementedError(f"Layer {type(layer).__name__} does not have a "
                                          f"`quantize` method implemented.")
            quantize(mode, type_check=type_check, config=config)
        except NotImplementedError as error:
            warnings.warn(str(error), stacklevel=3)

