"""Keras 3's "int8" quantization of Dense and Embedding (see `quantization` for the protocol).

Weights: the float weight W becomes an int8 weight of the same name and shape plus a float32
per-channel scale, both non-trainable (Keras's `AbsMaxQuantizer`):

    scale = 127 / (max|W| + 1e-7)  along the reduced axis,   W_q = clip(round(W * scale), -127, 127)

Dense reduces over the input axis (one scale per output unit, `kernel_scale` (units,)); Embedding
over the output axis (one scale per row, `embeddings_scale` (input_dim,)).

Dense's call quantizes its inputs the same way per row (last axis), multiplies the two int8
operands with exact integer accumulation, and divides by both scales:

    y = float32(x_q @ W_q) / (kernel_scale * x_scale)  (+ LoRA) (+ bias), then the activation

Its gradient w.r.t. the inputs is Keras's custom one, through the dequantized kernel:
dL/dx = dL/dy @ (W_q / kernel_scale).T; the int8 weights get none. Embedding looks up int8 rows
and divides each by its row's scale.
"""
import numpy as np

from ...core.autograd import Function
from ...core.dtypes import float32, float64, int64
from ...core.ops.matmul import ops as _matmul
from ...nn import functional as F
from .quantization import (AbsMaxQuantizer, Int8QuantizationConfig, QuantizationConfig,
                           abs_max_quantize)

MODE = "int8"
LAYERS = ("dense", "embedding")
CONFIGS = (Int8QuantizationConfig,)


def default_config():
    return Int8QuantizationConfig()


def policy_mode(layer, config):
    return MODE


def build(layer, shape, config):
    """The int8 weight (zeros) and its scale (ones), non-trainable, as Keras's `_int8_build`."""
    weight_name, scale_name = layer._quant_names
    layer._quant_weight(weight_name, shape, dtype="int8")
    layer._quant_weight(scale_name, (shape[1 - layer._quant_axis % 2],), initializer="ones")


def quantize(layer, config):
    weight_name, scale_name = layer._quant_names
    weight = layer._stored(weight_name).detach()
    quantizer = QuantizationConfig.weight_quantizer_or_default(
        config, AbsMaxQuantizer(axis=layer._quant_axis))
    values, scale = quantizer(weight, axis=quantizer.axis or layer._quant_axis)
    layer._drop_weight(weight_name)
    build(layer, tuple(weight.shape), config)
    layer._stored(weight_name).copy_(values)
    layer._stored(scale_name).copy_(scale.squeeze(layer._quant_axis).to(layer._dtype))


def dequantized(layer):
    """The float weight W_q / scale (scale broadcast along its channel axis)."""
    weight_name, scale_name = layer._quant_names
    scale = layer._stored(scale_name)
    if layer._quant_axis != 0:
        scale = scale.unsqueeze(-1)
    return layer._stored(weight_name).to(layer._dtype) / scale


def saved_variables(layer, for_loading):
    """Keras's order: the int8 weight, the bias (Dense), the scale. With LoRA on, saving folds
    the update in and re-quantizes (Keras's `_get_kernel_with_merged_lora`); loading sets W_q
    and the scale and zeroes A, B."""
    from .lora import LoadSlot
    weight_name, scale_name = layer._quant_names
    weight, scale = layer._stored(weight_name), layer._stored(scale_name)
    bias = [layer.bias] if getattr(layer, "bias", None) is not None else []
    if not layer.lora_enabled:
        return [weight] + bias + [scale]
    lora = layer._lora_weights()
    if for_loading:
        return [LoadSlot(weight, lora)] + bias + [scale]
    merged = dequantized(layer) + layer._lora_delta()
    values, merged_scale = abs_max_quantize(merged, layer._quant_axis)
    return [values] + bias + [merged_scale.squeeze(layer._quant_axis)]


def _largest_magnitude(dtype):
    info = np.iinfo(dtype.np)
    return max(-int(info.min), int(info.max))


def _exact_accumulator(quantized, kernel):
    """The float dtype that sums the integer product x_q @ W_q exactly, as Keras's int32
    accumulation: float32 when no partial sum can reach 2**24 (int8 x int8 below 1024 inputs),
    else float64 (exact below 2**53). A float-valued quantizer output gets float64."""
    if quantized.dtype.is_floating_point:
        return float64
    bound = kernel.shape[0] * _largest_magnitude(quantized.dtype) * _largest_magnitude(
        kernel.dtype)
    return float32 if bound < 2 ** 24 else float64


class _Int8Matmul(Function):
    """y = float(x_q @ W_q) / (kernel_scale * x_scale), with Keras's gradient for x through the
    dequantized kernel (the int8 kernel and its scale get none)."""

    @staticmethod
    def forward(ctx, inputs, kernel, kernel_scale, inputs_quantizer):
        ctx.save_for_backward(kernel, kernel_scale)
        if inputs_quantizer is None:  # weights-only: float inputs against the int8 values
            return _matmul.matmul(inputs, kernel.to(inputs.dtype)) / kernel_scale
        quantized, inputs_scale = inputs_quantizer(inputs, axis=-1)
        wide = _exact_accumulator(quantized, kernel)
        accumulated = _matmul.matmul(quantized.to(wide), kernel.to(wide))
        return accumulated.to(inputs.dtype) / (kernel_scale * inputs_scale)

    @staticmethod
    def backward(ctx, grad):
        kernel, kernel_scale = ctx.saved_tensors
        float_kernel = kernel.to(grad.dtype) / kernel_scale
        return _matmul.matmul(grad, float_kernel.transpose(0, 1)), None, None, None


def scaled_matmul(layer, inputs, kernel, kernel_scale, inputs_quantizer):
    """The integer product of Dense's int8 / int4 calls, + LoRA, + bias, then the activation."""
    out = _Int8Matmul.apply(inputs, kernel, kernel_scale, inputs_quantizer)
    if layer.lora_enabled:
        a, b = layer._lora_weights()
        out = out + (layer.lora_alpha / layer.lora_rank) * _matmul.matmul(
            _matmul.matmul(inputs, a), b)
    if layer.bias is not None:
        out = out + layer.bias
    return layer.activation(out)


def call(layer, inputs, training=None):
    if layer._quant_kind == "embedding":
        return _embedding_call(layer, inputs)
    quantizer = QuantizationConfig.activation_quantizer_or_default(
        layer.quantization_config, AbsMaxQuantizer())
    return scaled_matmul(layer, inputs, layer._stored("kernel"), layer._stored("kernel_scale"),
                         quantizer)


def embedding_rows(layer, indices, table):
    """(indices cast to integers as Keras does, the rows of `table` they pick)."""
    if indices.dtype.is_floating_point or indices.dtype.name == "bool":
        indices = indices.to(int64)
    return indices, F.embedding(indices, table)


def lora_rows(layer, indices, out):
    """`out` plus the scaled LoRA update's rows, once LoRA is enabled."""
    if layer.lora_enabled:
        a, b = layer._lora_weights()
        out = out + (layer.lora_alpha / layer.lora_rank) * _matmul.matmul(
            F.embedding(indices, a), b)
    return out


def _embedding_call(layer, indices):
    """Keras's Embedding `_int8_call`: int8 rows divided by their scales, + LoRA."""
    indices, rows = embedding_rows(layer, indices, layer._stored("embeddings"))
    out = rows.to(layer._dtype) / layer._stored("embeddings_scale")[indices].unsqueeze(-1)
    return lora_rows(layer, indices, out)
