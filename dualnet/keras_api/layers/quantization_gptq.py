"""Keras 3's "gptq" quantization of Dense (see `quantization` for the protocol; Embedding
refuses the mode, as Keras's does).

GPTQ (Frantar et al. 2022, https://arxiv.org/abs/2210.17323) quantizes a kernel W (in, out)
to `weight_bits` unsigned levels, choosing each value so that the layer's outputs on
calibration data change least. For every Dense of a block it accumulates the Hessian of the
squared output error from the layer's inputs X (n, in), as a running mean

    H = (2 / n) * X.T @ X

then damps it (H[i, i] += hessian_damping * mean(diag H); a dead input, H[i, i] = 0, gets 1)
and inverts it. Columns of W.T (the input features) are quantized one at a time, in blocks
of 128, with the group-wise affine quantizer of `quantization_calibration` (a scale and zero
per output row and per group of `group_size` inputs, found when the group is reached); each
column's error e = (w - dequant(q)) / Hinv[j, j] is pushed onto the columns not yet quantized,
W[:, k] -= e * Hinv[j, k]. `activation_order` first sorts the inputs by decreasing diag(H).

Weights (Keras's names and shapes): `quantized_kernel` uint8 (out, in) - two 4-bit values
per byte along the output axis when weight_bits == 4 -, `kernel_scale` float (out, groups),
`kernel_zero` uint8 (out, groups) and `g_idx` float32 (in,) (input i's group is int(g_idx[i]);
Keras stores i / group_size, a fraction). `layer.quantize("gptq", config=...)` only adds them:
the layer computes with its float kernel until `Model.quantize` has calibrated it (or a saved
GPTQ layer was loaded), then with the dequantized kernel

    y = x @ ((q - zero[:, g]) * scale[:, g]).T + bias.
"""
import functools
import math

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy
from ...core.ops.matmul import ops as _matmul
from .lora import LoadSlot
from .quantization import GPTQDTypePolicy, QuantizationConfig
from .quantization_calibration import (calibrate, check_calibration_args,
                                       compute_quantization_parameters, dequantize_with_zero_point,
                                       dequantized_kernel, quantize_with_zero_point, stored_levels)
from .quantization_ops import as_numpy, pack_int4

__all__ = ["GPTQConfig", "GPTQ", "gptq_quantize_matrix"]

MODE = "gptq"
LAYERS = ("dense",)
WEIGHT_BITS = (2, 3, 4, 8)
BLOCKSIZE = 128  # columns quantized between two propagations of the error (Keras's default)


class GPTQConfig(QuantizationConfig):
    """Keras's `keras.quantizers.GPTQConfig`: the calibration data (`dataset`: strings,
    tokenized with `tokenizer.tokenize`, or arrays of token ids; neither is serialized) and
    the algorithm's settings. `quantization_layer_structure` ({"pre_block_layers": [...],
    "sequential_blocks": [...]}) says how to walk the model, unless the model's
    `get_quantization_layer_structure` does."""

    mode = MODE

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, per_channel=True,
                 sequence_length=512, hessian_damping=0.01, group_size=128, symmetric=False,
                 activation_order=False, quantization_layer_structure=None):
        super().__init__()
        if weight_bits not in WEIGHT_BITS:
            raise ValueError(f"Unsupported weight_bits {weight_bits}. Supported values are 2, "
                             f"3, 4, and 8.")
        check_calibration_args(num_samples, sequence_length, group_size, "whole-tensor")
        if hessian_damping < 0 or hessian_damping > 1:
            raise ValueError(f"hessian_damping must be between 0 and 1. Received: "
                             f"hessian_damping={hessian_damping}")
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples, self.per_channel = weight_bits, num_samples, \
            per_channel
        self.sequence_length, self.hessian_damping = sequence_length, hessian_damping
        self.group_size, self.symmetric = group_size, symmetric
        self.activation_order = activation_order
        self.quantization_layer_structure = quantization_layer_structure

    def get_config(self):
        return {"dataset": None, "tokenizer": None,  # one-time calibration inputs: not saved
                "weight_bits": self.weight_bits, "num_samples": self.num_samples,
                "per_channel": self.per_channel, "sequence_length": self.sequence_length,
                "hessian_damping": self.hessian_damping, "group_size": self.group_size,
                "symmetric": self.symmetric, "activation_order": self.activation_order,
                "quantization_layer_structure": self.quantization_layer_structure}

    def dtype_policy_string(self):
        """The mode part of the dtype policy's name: "gptq/<weight_bits>/<group_size>"."""
        return f"gptq/{self.weight_bits}/{self.group_size}"


CONFIGS = (GPTQConfig,)


def default_config():
    raise ValueError("For GPTQ, you must pass a `GPTQConfig` object in the `config` argument.")


def policy_mode(layer, config):
    return config.dtype_policy_string()


def _setting(layer, config, name):
    """weight_bits / group_size: from the GPTQConfig, else from the layer's GPTQ policy."""
    if isinstance(config, GPTQConfig):
        return getattr(config, name)
    policy = layer.__dict__.get("_quant_policy")
    if isinstance(policy, GPTQDTypePolicy):
        return getattr(policy, name)
    raise ValueError(f"For GPTQ quantization, the {name} must be specified either through a "
                     f"`dtype_policy` of type `GPTQDTypePolicy` or the `config` argument "
                     f"(layer '{layer.name}').")


# ----------------------------------------------------------------------------- the layer

def build(layer, shape, config):
    """The GPTQ weights, as Keras's `_gptq_build`: quantized kernel (zeros), scale (ones), zero
    point and group index (zeros), all non-trainable; the layer is not calibrated yet."""
    rows, units = shape
    bits, group_size = _setting(layer, config, "weight_bits"), _setting(layer, config,
                                                                        "group_size")
    layer.is_gptq_calibrated = False
    groups = 1 if group_size == -1 else math.ceil(rows / group_size)
    layer._quant_weight("quantized_kernel", ((units + 1) // 2 if bits == 4 else units, rows),
                        dtype="uint8")
    layer._quant_weight("kernel_scale", (units, groups), initializer="ones")
    layer._quant_weight("kernel_zero", (units, groups), dtype="uint8")
    layer._quant_weight("g_idx", (rows,), dtype="float32")


def quantize(layer, config):
    """`layer.quantize("gptq")`: add the GPTQ weights next to the float kernel (Keras keeps it,
    trainable, until calibration replaces it)."""
    build(layer, tuple(layer._stored("kernel").shape), config)


def call(layer, inputs, training=None):
    kernel = None if layer.__dict__.get("is_gptq_calibrated") else layer._stored("kernel")
    if kernel is None:  # calibrated, or rebuilt from a GPTQ policy (its weights to be loaded)
        kernel = dequantized_kernel(layer, _setting(layer, None, "weight_bits"))
    out = _matmul.matmul(inputs, kernel)
    if layer.bias is not None:
        out = out + layer.bias
    return layer.activation(out)


def lora_base(layer):
    """What Keras's `kernel` gives: the float kernel until calibrated, then the (out, in)
    quantized levels (unpacked from 4 bits)."""
    if layer.__dict__.get("is_gptq_calibrated"):
        return stored_levels(layer, _setting(layer, None, "weight_bits"))
    return layer._stored("kernel")


def saved_variables(layer, for_loading):
    """Keras's gptq spec order: bias, quantized_kernel, kernel_scale, kernel_zero, g_idx.
    (Keras 3.15.1's own save_own_variables drops kernel_zero, so it cannot load its own
    files; we write all five, which it loads into a GPTQ layer.)"""
    bias = [layer.bias] if layer.bias is not None else []
    entries = [layer._stored(name) for name in ("quantized_kernel", "kernel_scale",
                                                "kernel_zero", "g_idx")]
    if for_loading:  # a loaded GPTQ layer is calibrated
        def calibrated():
            layer.is_gptq_calibrated = True
        entries = [LoadSlot(weight, after=calibrated) for weight in entries]
    return bias + entries


# ----------------------------------------------------------------------------- the algorithm

def _stable_permutation(metric):
    """Indices sorting `metric` in decreasing order, ties kept in index order (Keras adds
    index / n * 1e-12 and sorts stably)."""
    count = metric.shape[0]
    jitter = np.arange(count, dtype=np.int32).astype(np.float32) / np.float32(count)
    return np.argsort(-(metric + jitter * np.float32(1e-12)), kind="stable")


def gptq_quantize_matrix(weights_transpose, inv_hessian, *, blocksize=BLOCKSIZE, group_size=-1,
                         activation_order=False, order_metric=None,
                         compute_scale_zero=compute_quantization_parameters):
    """Keras's gptq_quantize_matrix on NumPy arrays: quantize W.T (out, in) column by column
    with error feedback through `inv_hessian` (in, in). Returns (levels int32 (out, in),
    scale (out, groups), zero (out, groups), g_idx float32 (in,)), in the inputs' order."""
    weights = np.array(as_numpy(weights_transpose), dtype=np.float32)
    inv_hessian = np.asarray(as_numpy(inv_hessian), dtype=np.float32)
    in_features = weights.shape[1]
    inverse_order = None
    if activation_order:
        if order_metric is None:  # importance: 1 / diag(H^-1)
            order_metric = np.float32(1) / (np.diagonal(inv_hessian) + np.float32(1e-12))
        else:
            order_metric = np.asarray(as_numpy(order_metric), dtype=np.float32)
            order_metric = np.where(np.isfinite(order_metric), order_metric, np.float32(0))
        order = _stable_permutation(order_metric)
        inverse_order = np.argsort(order, kind="stable")
        weights = weights[:, order]
        inv_hessian = inv_hessian[order][:, order]
    original = weights
    levels = np.zeros(weights.shape, dtype=np.int32)
    scales, zeros = [], []
    group = in_features if group_size == -1 else group_size
    for start in range(0, in_features, blocksize):
        end = min(start + blocksize, in_features)
        # (group start, scale, zero, maxq) of the group being quantized. As Keras's, it is
        # found again at each block: a group across a block boundary gets a second set of
        # parameters (an extra column of `scale`, that no layer has room for)
        current = None
        # a copy: within a block the error goes to `block`, the groups' parameters are found
        # on `weights` (updated block by block only), as Keras's functional slice updates do
        block = weights[:, start:end].copy()
        block_error = np.zeros_like(block)
        block_inverse = inv_hessian[start:end, start:end]
        for offset in range(end - start):
            column = start + offset
            group_start = (column // group) * group
            if current is None or current[0] != group_start:
                scale, zero, maxq = compute_scale_zero(
                    weights[:, group_start:min(group_start + group, in_features)])
                current = (group_start, scale, zero, maxq)
                scales.append(scale)
                zeros.append(zero)
            _, scale, zero, maxq = current
            values = block[:, offset]
            quantized = quantize_with_zero_point(values[:, None], scale, zero, maxq)
            levels[:, column] = quantized[:, 0].astype(np.int32)
            error = (values - dequantize_with_zero_point(quantized, scale, zero)[:, 0]) \
                / block_inverse[offset, offset]
            block_error[:, offset] = error
            block[:, offset + 1:] -= error[:, None] * block_inverse[offset, offset + 1:][None]
        if end < in_features:
            weights = np.concatenate(
                [weights[:, :end], weights[:, end:] - block_error @ inv_hessian[start:end, end:]],
                axis=1)
    g_idx = np.arange(in_features, dtype=np.int32).astype(np.float32) / np.float32(group)
    if activation_order:
        g_idx, levels = g_idx[inverse_order], levels[:, inverse_order]
    if not scales:  # no columns at all
        scale, zero, _ = compute_scale_zero(original)
        scales, zeros = [scale], [zero]
    return levels, np.concatenate(scales, axis=1), np.concatenate(zeros, axis=1), g_idx


class GPTQ:
    """One Dense's GPTQ state during calibration (Keras's `GPTQ`): the running Hessian of its
    inputs (`update`), then `quantize()` writes the layer's GPTQ weights and drops its float
    kernel. `rows` is the kernel's input size."""

    def __init__(self, layer, config):
        kernel = layer._stored("kernel")
        if layer.quantization_mode != MODE or kernel is None:
            raise ValueError(f"GPTQ calibration: layer '{layer.name}' (of type "
                             f"{type(layer).__name__}) is in a block to calibrate but holds no "
                             f"uncalibrated GPTQ weights (its quantization mode is "
                             f"{layer.quantization_mode!r}); quantize it with mode 'gptq' or "
                             f"leave it out with `filters`")
        self.layer, self.config = layer, config
        self.rows, self.columns = tuple(kernel.shape)
        self.hessian = np.zeros((self.rows, self.rows), dtype=np.float32)
        self.num_samples = 0
        self.compute_scale_zero = functools.partial(
            compute_quantization_parameters, bits=config.weight_bits,
            symmetric=config.symmetric, per_channel=config.per_channel,
            group_size=config.group_size, compute_dtype=layer._dtype_name)

    def update(self, input_batch):
        """Fold a batch of inputs (any rank, features last) into the running mean
        H = 2/n * sum x x.T (Keras's update_hessian_with_batch)."""
        if input_batch is None:
            raise ValueError("Input tensor cannot be None.")
        inputs = as_numpy(input_batch)
        if inputs.ndim < 2:
            raise ValueError(f"Input tensor must have rank >= 2 (got rank {inputs.ndim}).")
        if inputs.size == 0:
            raise ValueError("Input tensor cannot be empty.")
        inputs = inputs.reshape(-1, inputs.shape[-1]).astype(np.float32)
        if inputs.shape[-1] != self.rows:
            raise ValueError(f"Hessian dimensions ({self.rows}) do not match input features "
                             f"({inputs.shape[-1]}) (layer '{self.layer.name}').")
        previous, total = self.num_samples, self.num_samples + inputs.shape[0]
        gram = inputs.T @ inputs
        gram = (gram + gram.T) / np.float32(2)  # exactly symmetric
        if previous > 0:
            self.hessian = self.hessian * (np.float32(previous) / np.float32(total))
        self.hessian = self.hessian + (np.float32(2) / np.float32(total)) * gram
        self.num_samples = total

    def damped_inverse(self):
        """(H damped, its inverse): dead inputs get H[i, i] = 1, every diagonal entry
        + hessian_damping * mean(diag)."""
        diagonal = np.diagonal(self.hessian)
        dead = diagonal == 0
        diagonal = np.where(dead, np.float32(1), diagonal)
        hessian = self.hessian + np.diag(dead.astype(np.float32))
        diagonal = diagonal + np.float32(self.config.hessian_damping) * diagonal.mean(
            dtype=np.float32)
        hessian = hessian - np.diag(np.diagonal(hessian)) + np.diag(diagonal)
        return hessian, np.linalg.inv(hessian)

    def quantize(self, blocksize=BLOCKSIZE):
        """Quantize the layer's kernel with error correction and write its GPTQ weights; the
        float kernel goes, the layer is calibrated."""
        layer, config = self.layer, self.config
        hessian, inverse = self.damped_inverse()
        levels, scale, zero, g_idx = gptq_quantize_matrix(
            as_numpy(layer._stored("kernel")).T, inverse, blocksize=blocksize,
            group_size=config.group_size, activation_order=config.activation_order,
            order_metric=np.diagonal(hessian), compute_scale_zero=self.compute_scale_zero)
        if scale.shape != tuple(layer._stored("kernel_scale").shape):
            raise ValueError(
                f"GPTQ: layer '{layer.name}' cannot take its quantization parameters: "
                f"{scale.shape[1]} sets per output for {self.rows} inputs, the layer holds "
                f"{layer._stored('kernel_scale').shape[1]}. As Keras 3.15's GPTQ, this one "
                f"finds a group's parameters again at each block of {blocksize} inputs, so a "
                f"group must not straddle two blocks: use a group_size dividing {blocksize} "
                f"(or, with group_size=-1, at most {blocksize} inputs). Received: "
                f"group_size={config.group_size}")
        levels = levels.astype(np.uint8)
        if config.weight_bits == 4:
            levels = as_numpy(pack_int4(levels, axis=0, dtype="uint8")[0])
        layer._drop_weight("kernel")
        with no_grad():
            for name, value in (("quantized_kernel", levels), ("kernel_scale", scale),
                                ("kernel_zero", zero), ("g_idx", g_idx)):
                weight = layer._stored(name)
                weight.copy_(from_numpy(np.ascontiguousarray(value, dtype=weight.dtype.np))
                             .to(weight.device))
        layer.is_gptq_calibrated = True

    def free(self):
        self.hessian = None


def quantize_model(model, config, filters):
    """Model.quantize's GPTQ step: calibrate the model's GPTQ layers block by block."""
    calibrate(model, config, filters, GPTQ,
              "GPTQ quantization requires a dataset and a tokenizer. Please provide them "
              "in the `GPTQConfig`.")
