"""Keras 3's "int4" quantization of Dense and Embedding (see `quantization` for the protocol).

The float weight W (rows, cols) becomes int4 values in [-8, 7], stored two per int8 byte along
the last axis (`pack_int4`: shape (rows, ceil(cols / 2)), the first of each pair in the low
nibble), under W's name. How the values are found depends on the config's `block_size`:

Per-channel (block_size None or -1; dtype policy "int4/-1", or the legacy "int4"): symmetric
abs-max, as int8 with a range of 7:

    scale = 7 / (max|W| + 1e-7)   per output unit (Dense) / per row (Embedding),
    W_q = clip(round(W * scale), -8, 7),     W ~ W_q / scale

Sub-channel (block_size > 0, the default 128; policy "int4/<block_size>"): asymmetric, one
(scale, zero) per group of `block_size` entries along the reduced axis (Dense's input rows,
Embedding's output columns), with `g_idx` naming each entry's group
(`abs_max_quantize_grouped_with_zero_point`):

    scale = (max - min + 1e-7) / 15,   zero = clip(round(-min / scale) - 8, -8, 7)
    W_q = clip(round(W / scale) + zero, -8, 7),   W ~ (W_q - zero[g]) * scale[g]

Dense per-channel computes x @ W_q / scale (the inputs first abs-max quantized when the config
has an activation quantizer; by default int4 is weights-only), Dense sub-channel x @ W with W
dequantized; both then add LoRA, the bias and the activation, and take Keras's gradient for x
through the dequantized kernel. Embedding looks up dequantized rows. The unpacked and
dequantized weights are cached until a stored weight changes (the stored ones are what
weights files and `weights` hold).
"""
import math
import numbers

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy, ones
from .quantization import (AbsMaxQuantizer, Int4DTypePolicy, QuantizationConfig,
                           abs_max_quantize, cached_view)
from .quantization_int8 import embedding_rows, lora_rows, scaled_matmul
from .quantization_ops import (abs_max_quantize_grouped_with_zero_point, as_numpy,
                               dequantize_with_sz_map, pack_int4, unpack_int4_numpy)

MODE = "int4"
LAYERS = ("dense", "embedding")
INT4_RANGE = (-8, 7)


class Int4QuantizationConfig(QuantizationConfig):
    """Keras's `Int4QuantizationConfig`: `block_size` None or -1 quantizes per output channel,
    a positive one in groups of that many input entries (asymmetric, with zero points). The
    weight quantizer (per-channel only) must give int8 values in (-8, 7); "default" for the
    activation quantizer means none (weights-only), as Keras."""

    mode = MODE

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and (
                not isinstance(block_size, numbers.Integral) or isinstance(block_size, bool)
                or block_size <= 0):
            raise ValueError(f"block_size must be None, -1, or a positive integer. "
                             f"Received: block_size={block_size}")
        self.block_size = None if block_size is None else int(block_size)
        if _is_sub_channel(self.block_size) and (self.weight_quantizer is not None
                                                 or self.activation_quantizer is not None):
            raise ValueError(f"Int4 sub-channel quantization (block_size > 0) does not support "
                             f"custom quantizers. Either set block_size to None or -1 for "
                             f"per-channel quantization, or remove the custom quantizer "
                             f"arguments. Received: block_size={block_size}")
        if self.weight_quantizer is not None:
            # a tuple or a list (JSON's) alike: Keras itself refuses its reloaded list here
            if tuple(self.weight_quantizer.value_range) != INT4_RANGE:
                raise ValueError(f"Int4QuantizationConfig requires a weight_quantizer with "
                                 f"value_range=(-8, 7). Received: "
                                 f"value_range={self.weight_quantizer.value_range}")
            if self.weight_quantizer.output_dtype != "int8":
                raise ValueError(f"Int4QuantizationConfig requires a weight_quantizer with "
                                 f"output_dtype='int8'. Received: "
                                 f"output_dtype={self.weight_quantizer.output_dtype}")

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config):
        # a config saved before block_size existed was per-channel, hence None, not 128
        return cls(weight_quantizer=config.get("weight_quantizer"),
                   activation_quantizer=config.get("activation_quantizer"),
                   block_size=config.get("block_size"))


CONFIGS = (Int4QuantizationConfig,)


def default_config():
    return Int4QuantizationConfig()


def _is_sub_channel(block_size):
    return block_size is not None and block_size > 0


def block_size_for(layer, config):
    """Keras's get_block_size_for_layer: the config's block size, else the Int4DTypePolicy's
    (None for -1); a legacy "int4" policy is per-channel (None)."""
    if isinstance(config, Int4QuantizationConfig):
        return config.block_size
    policy = layer.dtype_policy
    if isinstance(policy, Int4DTypePolicy):
        return None if policy.block_size == -1 else policy.block_size
    return None


def policy_mode(layer, config):
    block_size = block_size_for(layer, config)
    return f"int4/{-1 if block_size is None else block_size}"


def _names(layer):
    weight_name, scale_name = layer._quant_names
    return weight_name, scale_name, f"{weight_name}_zero", "g_idx"


def _group_axis(layer):
    """The axis of W that a scale reduces over and groups cut: Dense's 0, Embedding's 1."""
    return layer._quant_axis % 2


def build(layer, shape, config):
    """The packed int8 weight (zeros), its scale (ones) and, sub-channel, the int8 zero points
    and the float32 group index of each entry, all non-trainable, as Keras's `_int4_build`."""
    rows, cols = shape
    block_size = block_size_for(layer, config)
    layer.__dict__["_int4_block_size"] = block_size
    layer.__dict__["_int4_shape"] = (rows, cols)
    weight_name, scale_name, zero_name, index_name = _names(layer)
    layer._quant_weight(weight_name, (rows, (cols + 1) // 2), dtype="int8")
    axis = _group_axis(layer)
    if not _is_sub_channel(block_size):
        layer._quant_weight(scale_name, (shape[1 - axis],), initializer="ones")
        return
    scale_shape = list(shape)
    scale_shape[axis] = math.ceil(shape[axis] / block_size)
    layer._quant_weight(scale_name, tuple(scale_shape), initializer="ones")
    layer._quant_weight(zero_name, tuple(scale_shape), dtype="int8")
    group_index = layer._quant_weight(index_name, (shape[axis],), dtype="float32")
    with no_grad():
        group_index.copy_(from_numpy(np.arange(shape[axis], dtype=np.float32) // block_size))


def _quantized_values(layer, weight, block_size, quantizer=None):
    """(packed W_q, scale, zero or None) of the float weight, as Keras's quantize and its LoRA
    merge: abs-max per channel, or grouped with zero points along the group axis."""
    axis = _group_axis(layer)
    if not _is_sub_channel(block_size):
        if quantizer is None:
            values, scale = abs_max_quantize(weight, axis, INT4_RANGE)
        else:
            values, scale = quantizer(weight, axis=quantizer.axis or axis)
        zero = None
        scale = scale.squeeze(axis)
    else:
        array = as_numpy(weight)
        values, scale, zero = abs_max_quantize_grouped_with_zero_point(
            array if axis == 0 else array.T, block_size, INT4_RANGE)
        if axis != 0:  # grouped along the rows of W.T: back to W's layout
            values, scale, zero = (from_numpy(np.ascontiguousarray(as_numpy(t).T))
                                   for t in (values, scale, zero))
    packed, _, _ = pack_int4(values, axis=-1)
    return packed, scale.to(layer._dtype), zero


def quantize(layer, config):
    weight_name, scale_name, zero_name, _ = _names(layer)
    weight = layer._stored(weight_name).detach()
    block_size = config.block_size if isinstance(config, Int4QuantizationConfig) else None
    quantizer = None
    if not _is_sub_channel(block_size):
        quantizer = QuantizationConfig.weight_quantizer_or_default(
            config, AbsMaxQuantizer(axis=layer._quant_axis, value_range=INT4_RANGE))
    packed, scale, zero = _quantized_values(layer, weight, block_size, quantizer)
    layer._drop_weight(weight_name)
    build(layer, tuple(weight.shape), config)
    layer._stored(weight_name).copy_(packed)
    layer._stored(scale_name).copy_(scale)
    if zero is not None:
        layer._stored(zero_name).copy_(zero)


# ----------------------------------------------------------------------------- cached views

def _cached(layer, kind, build_value):
    return cached_view(layer, kind, _names(layer), build_value)


def unpacked(layer):
    """The int8 values W_q (rows, cols), unpacked from the stored bytes."""
    def build_value():
        packed = layer._stored(_names(layer)[0])
        cols = layer.__dict__["_int4_shape"][1]
        values = unpack_int4_numpy(as_numpy(packed), cols, axis=-1)
        return from_numpy(values).to(packed.device)
    return _cached(layer, "unpacked", build_value)


def lora_base(layer):
    """What Keras's `kernel` / `embeddings` reads under int4: the unpacked int values."""
    return unpacked(layer)


def dequantized(layer):
    """The float weight in the compute dtype: W_q / scale, or (W_q - zero[g]) * scale[g]."""
    def build_value():
        _, scale_name, zero_name, index_name = _names(layer)
        values, scale = unpacked(layer), layer._stored(scale_name)
        if not _is_sub_channel(layer.__dict__["_int4_block_size"]):
            if _group_axis(layer) != 0:
                scale = scale.unsqueeze(-1)
            return values.to(layer._dtype) / scale
        weight = dequantize_with_sz_map(values, scale, layer._stored(zero_name),
                                        layer._stored(index_name), group_axis=_group_axis(layer))
        return weight.to(scale.device).to(layer._dtype)
    return _cached(layer, "dequantized", build_value)


# ----------------------------------------------------------------------------- call, saving

def call(layer, inputs, training=None):
    if layer._quant_kind == "embedding":
        # Keras dequantizes the rows it looks up; entry by entry that is the table's values
        indices, rows = embedding_rows(layer, inputs, dequantized(layer))
        return lora_rows(layer, indices, rows)
    if not _is_sub_channel(layer.__dict__["_int4_block_size"]):
        quantizer = QuantizationConfig.activation_quantizer_or_default(
            layer.quantization_config, None)
        return scaled_matmul(layer, inputs, unpacked(layer), layer._stored(_names(layer)[1]),
                             quantizer)
    # x @ dequantized W: the int8 path with a unit scale (dividing by 1 is exact) gives the
    # product, Keras's gradient for x through that W, then LoRA, the bias and the activation
    kernel = dequantized(layer)
    unit = _cached(layer, "unit_scale",
                   lambda: ones(kernel.shape[1], dtype=kernel.dtype, device=kernel.device))
    return scaled_matmul(layer, inputs, kernel, unit, None)


def saved_variables(layer, for_loading):
    """Keras's order: the packed weight, the bias (Dense), the scale, and sub-channel the zero
    points and g_idx. With LoRA on, saving folds the update into the dequantized weight and
    quantizes it again (Keras's `_get_kernel_with_merged_lora`); loading sets the packed
    weight and zeroes A, B."""
    from .lora import LoadSlot
    weight_name, scale_name, zero_name, index_name = _names(layer)
    weight, scale = layer._stored(weight_name), layer._stored(scale_name)
    bias = [layer.bias] if getattr(layer, "bias", None) is not None else []
    block_size = layer.__dict__["_int4_block_size"]
    extra = [layer._stored(zero_name), layer._stored(index_name)] \
        if _is_sub_channel(block_size) else []
    if not layer.lora_enabled:
        return [weight] + bias + [scale] + extra
    if for_loading:
        return [LoadSlot(weight, layer._lora_weights())] + bias + [scale] + extra
    with no_grad():
        merged = dequantized(layer) + layer._lora_delta()
        packed, merged_scale, zero = _quantized_values(layer, merged, block_size)
    return [packed] + bias + [merged_scale] + ([zero, extra[1]] if extra else [])
