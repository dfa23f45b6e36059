"""Keras 3's "awq" quantization of Dense (Activation-aware Weight Quantization; see
`quantization` for the protocol). Embedding refuses it, as Keras's does.

Two steps, as in Keras. `layer.quantize("awq", config=AWQConfig(...))` only adds the quantized
weights, empty (zeros / ones), next to the float kernel, which the layer keeps using until it is
calibrated. `model.quantize("awq", config)` then calibrates block by block (the shared driver of
`quantization_calibration`): each selected Dense records the largest |x| of each input channel
over the calibration samples (x_max), and its kernel W (in, out) is quantized on Wt = W.T (out,
in) with a per-input-channel scale s chosen by a grid search over a = 0, 1/n, ..., 1 (n =
num_grid_points):

    s_a = max(x_max ** a, 1e-4) / sqrt(max(s_a) * min(s_a))   (x_max < 1e-8 counts as 1)
    loss_a = mean((Wt - Q(Wt * s_a) / s_a) ** 2 * x_max ** 2)   -> s = the first best s_a

where Q is 4-bit asymmetric quantization with zero points, per output row or per group of
`group_size` input columns (levels 0..15: scale = (max - min) / 15, zero = round(-min / scale)).
Scaling the channels that see large activations up before rounding shrinks their relative error.

Stored (Keras's names and order): `quantized_kernel` uint8 (ceil(out/2), in), the levels of
Q(Wt * s) packed two per byte along the output axis; `kernel_scale` and `kernel_zero` (out,
groups); `awq_scales` s (in,); `g_idx` (in,) float32, each input column's group. A calibrated
layer computes with

    W = ((levels - zero[g_idx]) * scale[g_idx]).T / s[:, None],   y = x @ W + bias

and a weights file always holds a calibrated layer (loading one marks it so).

Where Keras 3.15.1 itself misbehaves we do what it means to do, not what it does: its
calibration hooks each layer's `call`, but a quantized Keras layer runs `quantized_call`, so it
sees no activations (x_max = 0 -> every awq_scale 1, plain 4-bit rounding); the shared driver
here feeds the real inputs. And its saver drops kernel_zero (see `saved_variables`).
"""
import math

import numpy as np

from ...core.creation import from_numpy
from ...core.ops.matmul import ops as _matmul
from .lora import LoadSlot
from .quantization import AWQDTypePolicy, QuantizationConfig, layer_config
from .quantization_calibration import (calibrate, check_calibration_args,
                                       compute_quantization_parameters, dequantize_with_zero_point,
                                       dequantized_kernel, quantize_with_sz_map,
                                       quantize_with_zero_point, stored_levels)
from .quantization_ops import as_numpy, dequantize_with_sz_map, pack_int4

__all__ = ["AWQConfig", "AWQ", "awq_search_optimal_scales", "awq_quantize_matrix"]

MODE = "awq"
LAYERS = ("dense",)
WEIGHT_BITS = 4  # the only width Keras's AWQ supports
MIN_ACTIVATION = 1e-8  # a channel whose activations stay below this counts as magnitude 1
MIN_SCALE = 1e-4  # floor of x_max ** a before normalising
MIN_SCALE_MEAN = 1e-8  # floor of the normaliser sqrt(max * min)


class AWQConfig(QuantizationConfig):
    """Keras's `AWQConfig`: the calibration data (`dataset` of strings or token arrays, and the
    `tokenizer` for the strings; neither is saved), 4-bit weights, `num_samples` windows of
    `sequence_length` tokens, `group_size` input columns per scale (-1: one per output unit),
    `num_grid_points` steps of the scale search, and the model's
    `quantization_layer_structure` ({"pre_block_layers": [...], "sequential_blocks": [...]}) or
    None to ask `model.get_quantization_layer_structure("awq")`."""

    mode = MODE

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128,
                 sequence_length=512, group_size=128, num_grid_points=20,
                 quantization_layer_structure=None):
        super().__init__()
        if weight_bits != WEIGHT_BITS:
            raise ValueError(f"AWQ only supports 4-bit quantization. "
                             f"Received weight_bits={weight_bits}.")
        check_calibration_args(num_samples, sequence_length, group_size, "per-channel")
        if num_grid_points <= 0:
            raise ValueError(f"num_grid_points must be a positive integer. "
                             f"Received: num_grid_points={num_grid_points}")
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.sequence_length = sequence_length
        self.group_size = group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    def dtype_policy_string(self):
        """The mode part of the dtype policy's name: "awq/<weight_bits>/<group_size>"."""
        return f"awq/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        # the calibration data is used once, at quantization time: Keras saves None for it
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "sequence_length": self.sequence_length,
                "group_size": self.group_size, "num_grid_points": self.num_grid_points,
                "quantization_layer_structure": self.quantization_layer_structure}


CONFIGS = (AWQConfig,)


def default_config():
    raise ValueError("For AWQ, you must pass an `AWQConfig` object in the `config` argument.")


def policy_mode(layer, config):
    return config.dtype_policy_string()


def _group_size(layer, config):
    """Keras's get_group_size_for_layer: the config's, else the dtype policy's."""
    if isinstance(config, AWQConfig):
        return config.group_size
    policy = layer.__dict__.get("_quant_policy")
    if isinstance(policy, AWQDTypePolicy):
        return policy.group_size
    raise ValueError(f"For AWQ quantization, group_size must be specified through AWQConfig or "
                     f"AWQDTypePolicy (layer '{layer.name}').")


# ----------------------------------------------------------------------------- the layer

def build(layer, shape, config):
    """The AWQ weights, empty and non-trainable, as Keras's `_awq_build`; the layer stays
    uncalibrated (it computes with its float kernel, if it has one) until calibration or a
    weights file fills them."""
    input_dim, units = shape
    groups = _group_size(layer, layer_config(layer, config))
    num_groups = 1 if groups == -1 else math.ceil(input_dim / groups)
    layer.__dict__["is_awq_calibrated"] = False
    layer._quant_weight("quantized_kernel", ((units + 1) // 2, input_dim), dtype="uint8")
    layer._quant_weight("kernel_scale", (units, num_groups), initializer="ones")
    layer._quant_weight("kernel_zero", (units, num_groups), dtype="uint8")
    layer._quant_weight("awq_scales", (input_dim,), initializer="ones")
    layer._quant_weight("g_idx", (input_dim,), dtype="float32")


def quantize(layer, config):
    """`layer.quantize("awq", config)`: the empty AWQ weights next to the float kernel (Keras
    keeps it, trainable, until calibration replaces it)."""
    build(layer, tuple(layer._stored("kernel").shape), config)


def _calibrated(layer):
    return bool(layer.__dict__.get("is_awq_calibrated"))


def call(layer, inputs, training=None):
    """Keras's `_awq_call`: the float kernel until calibrated, then the dequantized one (LoRA
    is not applied here, as in Keras). A layer built from its policy has no float kernel: it
    computes with its stored AWQ weights (all-zero levels until a file fills them), where
    Keras's raises - dualnet runs layers on zeros to infer shapes, as load_model does."""
    kernel = None if _calibrated(layer) else layer._stored("kernel")
    if kernel is None:
        kernel = dequantized_kernel(layer, WEIGHT_BITS)
    if kernel.dtype is not inputs.dtype:
        kernel = kernel.to(inputs.dtype)
    out = _matmul.matmul(inputs, kernel)
    if layer.bias is not None:
        out = out + layer.bias
    return layer.activation(out)


def lora_base(layer):
    """What Keras's `kernel` reads under AWQ: the float kernel until calibrated, then the
    stored 4-bit levels unpacked, (units, in) uint8 (not the dequantized kernel)."""
    if _calibrated(layer):
        return stored_levels(layer, WEIGHT_BITS)
    return layer._stored("kernel")  # None when built from a policy, as Keras's `kernel`


def saved_variables(layer, for_loading):
    """Keras's awq spec, in order: bias, quantized_kernel, kernel_scale, kernel_zero,
    awq_scales, g_idx (the float kernel and LoRA's A, B are not saved). Keras 3.15.1's saver
    leaves kernel_zero out, which its own loader (and this one) then refuses; we write the
    whole spec, which Keras's loader reads."""
    bias = [layer.bias] if getattr(layer, "bias", None) is not None else []
    kernel = layer._stored("quantized_kernel")
    if for_loading:  # a loaded AWQ layer is calibrated, and LoRA restarts from zero
        def calibrated():
            layer.__dict__["is_awq_calibrated"] = True
        kernel = LoadSlot(kernel, layer._lora_weights() if layer.lora_enabled else (),
                          after=calibrated)
    return bias + [kernel] + [layer._stored(name) for name in
                              ("kernel_scale", "kernel_zero", "awq_scales", "g_idx")]


# ----------------------------------------------------------------------------- the algorithm

def _quantize_dequantize(weights, group_size):
    """Q(weights) as the search scores it: 4-bit asymmetric levels per row or per group of
    columns, back to floats."""
    scale, zero, maxq = compute_quantization_parameters(
        weights, bits=WEIGHT_BITS, symmetric=False, per_channel=True, group_size=group_size,
        compute_dtype="float32")
    if group_size == -1:
        levels = quantize_with_zero_point(weights, scale, zero, maxq)
        return dequantize_with_zero_point(levels, scale, zero)
    g_idx = np.arange(weights.shape[1], dtype=np.int32) // group_size
    levels = quantize_with_sz_map(weights, scale, zero, g_idx, maxq)
    return as_numpy(dequantize_with_sz_map(levels, scale, zero, g_idx))


def awq_search_optimal_scales(weights, activation_magnitudes, *, num_grid_points=20,
                              group_size=-1):
    """Keras's awq_search_optimal_scales: the per-input-channel scales (in,) float32 that
    minimise the activation-weighted error of quantizing `weights` (out, in) (module
    docstring); the first of equal losses wins."""
    weights = as_numpy(weights).astype(np.float32, copy=False)
    x_max = as_numpy(activation_magnitudes).astype(np.float32)
    x_max = np.where(x_max < MIN_ACTIVATION, np.float32(1), x_max)
    channel_weight = np.square(x_max)
    best_loss, best_scales = None, np.ones(weights.shape[1], np.float32)
    for step in range(num_grid_points + 1):
        ratio = step / num_grid_points
        scales = np.ones_like(x_max) if ratio == 0 else np.power(x_max, np.float32(ratio))
        scales = np.maximum(scales, np.float32(MIN_SCALE))
        norm = np.maximum(np.sqrt(scales.max() * scales.min()), np.float32(MIN_SCALE_MEAN))
        scales = scales / norm
        rebuilt = _quantize_dequantize(weights * scales, group_size) / scales
        loss = np.mean(np.square(weights - rebuilt) * channel_weight)
        if best_loss is None or loss < best_loss:
            best_loss, best_scales = loss, scales
    return best_scales


def awq_quantize_matrix(weights_transpose, activation_magnitudes, *, num_grid_points=20,
                        group_size=-1):
    """Keras's awq_quantize_matrix on Wt (out, in): (levels (out, in) as floats 0..15, scale
    and zero (out, groups), awq_scales (in,), g_idx (in,) float32)."""
    weights = as_numpy(weights_transpose).astype(np.float32, copy=False)
    awq_scales = awq_search_optimal_scales(weights, activation_magnitudes,
                                           num_grid_points=num_grid_points,
                                           group_size=group_size)
    scaled = weights * awq_scales
    scale, zero, maxq = compute_quantization_parameters(
        scaled, bits=WEIGHT_BITS, symmetric=False, per_channel=True, group_size=group_size,
        compute_dtype="float32")
    in_features = weights.shape[1]
    if group_size == -1:
        levels = quantize_with_zero_point(scaled, scale, zero, maxq)
        g_idx = np.zeros(in_features, np.float32)
    else:
        g_idx = np.arange(in_features, dtype=np.int32) // group_size
        levels = quantize_with_sz_map(scaled, scale, zero, g_idx, maxq)
        g_idx = g_idx.astype(np.float32)
    return levels, scale, zero, awq_scales, g_idx


class AWQ:
    """Keras's per-layer AWQ object: gathers the largest |x| of each input channel over the
    calibration batches, then quantizes the layer with them (`quantize_layer`)."""

    def __init__(self, layer, config=None):
        if getattr(layer, "_quant_kind", None) != "dense" or not hasattr(layer, "units"):
            raise TypeError(f"Unsupported layer type for AWQ: {type(layer)}")
        self.original_layer = self.layer = layer
        self.config = config or AWQConfig(dataset=None, tokenizer=None)
        self.num_samples = 0
        self.kernel_shape = tuple(layer.kernel.shape)
        self.rows, self.columns = self.kernel_shape
        self.activation_magnitudes = np.zeros(self.rows, np.float32)

    def update_activation_magnitudes(self, input_batch):
        """Fold one batch of the layer's inputs (any leading dims) into the per-channel max."""
        if input_batch is None:
            raise ValueError("Input tensor cannot be None.")
        batch = as_numpy(input_batch)
        if batch.size == 0:
            raise ValueError("Input tensor cannot be empty.")
        batch = batch.reshape(-1, batch.shape[-1]).astype(np.float32, copy=False)
        self.activation_magnitudes = np.maximum(self.activation_magnitudes,
                                                np.abs(batch).max(axis=0))
        self.num_samples += int(batch.shape[0])

    update = update_activation_magnitudes  # the name the shared driver calls

    def quantize_layer(self):
        """Search the scales, quantize the kernel (with its LoRA update, as Keras reads
        `kernel`), store the packed levels and parameters, drop the float kernel."""
        layer = self.original_layer
        weights = as_numpy(layer.kernel).T
        levels, scale, zero, awq_scales, g_idx = awq_quantize_matrix(
            weights, self.activation_magnitudes, num_grid_points=self.config.num_grid_points,
            group_size=self.config.group_size)
        packed, _, _ = pack_int4(levels.astype(np.uint8), axis=0, dtype="uint8")
        layer._drop_weight("kernel")
        for name, value in (("quantized_kernel", packed), ("kernel_scale", scale),
                            ("kernel_zero", zero), ("awq_scales", awq_scales),
                            ("g_idx", g_idx)):
            stored = layer._stored(name)
            stored.copy_(from_numpy(np.ascontiguousarray(as_numpy(value),
                                                         dtype=stored.dtype.np)))
        layer.__dict__["is_awq_calibrated"] = True

    quantize = quantize_layer  # the name the shared driver calls

    def free(self):
        del self.activation_magnitudes
        del self.layer


def quantize_model(model, config, filters):
    """Model.quantize's AWQ step: calibrate the model's AWQ layers block by block."""
    calibrate(model, config, filters, AWQ,
              "AWQ quantization requires a dataset and tokenizer. Please provide them in "
              "the AWQConfig.")
