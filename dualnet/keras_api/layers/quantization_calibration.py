"""What Keras 3's calibrated quantization modes (GPTQ, AWQ) share: the calibration data, the
block-by-block driver that streams it through a model, and the group-wise affine quantizer.

Calibration data (`get_dataloader`): the dataset's token ids (tokenized strings, or arrays of
ids) joined into one stream, tiled until it holds num_samples * sequence_length tokens, then
num_samples windows of sequence_length cut from it -> int32 (num_samples, 1, sequence_length).

Driver (`run_layerwise`, Keras's apply_gptq_layerwise / apply_awq_layerwise): the windows go
through the pre-block layers (an embedding); then, block by block, each selected Dense of the
block sees its 2-D inputs (`capture_inputs`) while the samples run through the block, the
mode's per-layer object quantizes that layer, and the block's outputs (now through the
quantized layers) become the next block's inputs.

Quantizer (Keras's compute_quantization_parameters and friends) over a weight W (out, in),
per output row (or per group of `group_size` columns), unsigned levels 0..maxq = 2**bits - 1:

    scale = (max - min) / maxq,   zero = round(-min / scale),
    q = clip(round(W / scale + zero), 0, maxq),   W ~ scale * (q - zero)

(symmetric: the range made symmetric around 0 and zero = (maxq + 1) / 2). These work on
NumPy arrays (dualnet tensors are accepted) and return NumPy arrays: they run at
calibration time, on the host, in float32 as Keras's do.
"""
import math
from contextlib import contextmanager

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy
from ..utils.progbar import Progbar
from .quantization import cached_view, flatten_layers, selected
from .quantization_ops import as_numpy, dequantize_with_sz_map, unpack_int4

__all__ = ["get_dataloader", "find_layers_in_block", "resolve_structure", "capture_inputs",
           "run_layerwise", "compute_quantization_parameters", "quantize_with_zero_point",
           "dequantize_with_zero_point", "quantize_with_sz_map"]


# ----------------------------------------------------------------------------- calibration data

def check_calibration_args(num_samples, sequence_length, group_size, whole):
    """The checks GPTQConfig and AWQConfig share, with Keras's messages; `whole` names what
    group_size -1 means for the mode."""
    if num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer. Received: "
                         f"num_samples={num_samples}")
    if sequence_length <= 0:
        raise ValueError(f"sequence_length must be a positive integer. Received: "
                         f"sequence_length={sequence_length}")
    if group_size < -1 or group_size == 0:
        raise ValueError(f"Invalid group_size. Supported values are -1 ({whole}) or a "
                         f"positive integer, but got {group_size}.")


def get_dataloader(tokenizer, sequence_length, dataset, num_samples=128, *, strategy="strided",
                   seed=42, stride=None, eos_id=None):
    """Keras's gptq_core.get_dataloader: int32 windows (num_samples, 1, sequence_length) of the
    dataset's tokens. `dataset`: strings (tokenized with `tokenizer.tokenize`, `eos_id` put
    between documents when given) or arrays of token ids. `strategy`: "strided" (evenly
    spaced from an offset derived from `seed`), "linspace" or "random"."""
    if not hasattr(dataset, "__iter__") or isinstance(dataset, (str, bytes)):
        raise TypeError(f"The `dataset` argument must be an iterable (e.g., a list of strings, "
                        f"a generator, or a NumPy array). Got type: {type(dataset).__name__}. "
                        f"Please pass the loaded dataset directly.")
    documents = list(dataset)
    if not documents:
        raise ValueError("Provided dataset is empty.")
    pieces = []
    if isinstance(documents[0], str):
        for position, text in enumerate(documents):
            pieces.append(as_numpy(tokenizer.tokenize(text)).reshape(-1))
            if eos_id is not None and position < len(documents) - 1:
                pieces.append(np.array([eos_id], dtype=np.int32))  # no window across documents
    else:
        pieces = [as_numpy(ids).reshape(-1).astype(np.int32, copy=False) for ids in documents]
    tokens = (pieces[0] if len(pieces) == 1 else np.concatenate(pieces)).astype(np.int32,
                                                                                 copy=False)
    needed = num_samples * sequence_length
    if tokens.size < needed:
        tokens = np.tile(tokens, math.ceil(needed / max(1, tokens.size)))
    max_start = tokens.size - sequence_length
    if max_start < 0:
        raise ValueError(f"Not enough tokens to form one sample of length {sequence_length} "
                         f"(have {tokens.size}).")
    if strategy == "random":
        starts = np.random.default_rng(seed).integers(0, max_start + 1, size=num_samples,
                                                      dtype=np.int64)
    elif strategy == "linspace":
        starts = np.linspace(0, max_start, num_samples, dtype=np.int64)
    elif strategy == "strided":
        if stride is None:
            stride = max(1, (max_start + 1) // num_samples)
        # Keras's offset: Python's hash of this tuple (so it follows PYTHONHASHSEED, as Keras's)
        offset = abs(hash(("gptq-calib", seed))) % (max_start + 1) if max_start > 0 else 0
        starts = (offset + np.arange(num_samples, dtype=np.int64) * stride) % (max_start + 1)
    else:
        raise ValueError(f"Unknown strategy: {strategy}")
    windows = np.lib.stride_tricks.sliding_window_view(tokens, sequence_length)
    return windows[starts].astype(np.int32)[:, None, :]


# ----------------------------------------------------------------------------- model structure

def find_layers_in_block(block):
    """Keras's find_layers_in_block: {path: layer} for each leaf Dense in `block` (the block
    itself included), keyed by its path (its name where it has no path)."""
    found = {}
    for layer in flatten_layers(block):
        if getattr(layer, "_quant_kind", None) == "dense" and not layer._sublayers():
            found[getattr(layer, "path", None) or layer.name] = layer
    return found


def resolve_structure(model, mode, config):
    """The {"pre_block_layers", "sequential_blocks"} a calibration walks: the config's
    `quantization_layer_structure`, else the model's `get_quantization_layer_structure(mode)`;
    a ValueError (Keras's) when neither gives one."""
    structure = getattr(config, "quantization_layer_structure", None)
    if structure is None:
        hook = getattr(model, "get_quantization_layer_structure", None)
        structure = hook(mode) if hook is not None else None
    if structure is None:
        raise ValueError(f"For mode={mode!r}, a valid quantization structure must be provided "
                         f"either via `config.quantization_layer_structure` or by overriding "
                         f"`model.get_quantization_layer_structure(mode)`. The structure "
                         f"should be a dictionary with keys 'pre_block_layers' and "
                         f"'sequential_blocks'. (Model '{getattr(model, 'name', model)}' gave "
                         f"none.)")
    return structure


@contextmanager
def capture_inputs(layers_map, objects):
    """Within the block, each layer `name` of `layers_map` hands its input, reshaped to 2-D
    (-1, objects[name].rows), to `objects[name].update` before computing as usual; the layers'
    own `call` comes back on exit, even after an error."""
    saved = {}

    def hooked(name, original):
        def call(*args, **kwargs):
            inputs = args[0] if args else kwargs["inputs"]
            objects[name].update(inputs.reshape(-1, objects[name].rows))
            return original(*args, **kwargs)
        return call

    try:
        for name, layer in layers_map.items():
            saved[name] = layer.__dict__.get("call")  # None: the class's own `call`
            layer.__dict__["call"] = hooked(name, layer.call)
        yield
    finally:
        for name, layer in layers_map.items():
            if name not in saved:
                continue
            if saved[name] is None:
                layer.__dict__.pop("call", None)
            else:
                layer.__dict__["call"] = saved[name]


def _batch_first(sample):
    return sample.unsqueeze(0) if sample.ndim == 2 else sample


def run_layerwise(dataloader, config, structure, filters, make_object):
    """Keras's apply_gptq_layerwise / apply_awq_layerwise. Each calibration batch goes through
    the pre-block layers; then per block, the leaf Dense layers passing `filters` get
    `make_object(layer, config)` (an object with `rows`, `update(x2d)`, `quantize()`,
    `free()`), see the first min(config.num_samples, batches) samples through the block,
    and are quantized; the block's outputs `[0]` feed the next block."""
    pre_layers = structure.get("pre_block_layers", [])
    blocks = structure.get("sequential_blocks", [])
    if not blocks:
        raise ValueError("No sequential blocks found in the provided structure to quantize.")
    with no_grad():
        inputs = []
        for batch in dataloader:
            batch = from_numpy(np.ascontiguousarray(as_numpy(batch), dtype=np.int32))
            for layer in pre_layers:
                batch = layer(batch)
            inputs.append(batch)
        num_samples = min(config.num_samples, len(inputs))
        progbar = Progbar(target=len(blocks))  # Keras shows one step per block
        for position, block in enumerate(blocks):
            layers_map = {name: layer for name, layer in find_layers_in_block(block).items()
                          if selected(layer, filters)}
            if layers_map:
                objects = {name: make_object(layer, config)
                           for name, layer in layers_map.items()}
                with capture_inputs(layers_map, objects):
                    for sample in inputs[:num_samples]:
                        block(_batch_first(sample))
                for obj in objects.values():
                    obj.quantize()
                    obj.free()
                del objects
            if position < len(blocks) - 1:
                inputs = [block(_batch_first(sample))[0] for sample in inputs[:num_samples]]
            progbar.update(current=position + 1)


# ----------------------------------------------------------------------------- group quantizer

def compute_quantization_parameters(x, *, bits, symmetric=False, per_channel=False,
                                    group_size=-1, compute_dtype="float32", epsilon=0.0,
                                    signed=False):
    """Keras's compute_quantization_parameters on a weight x (out, in): (scale, zero, maxq).
    scale and zero are (out, n_groups) with groups of `group_size` columns when per_channel
    and group_size > 0 (the last group zero-padded), else (out, 1) per row (per_channel) or
    the whole tensor's value repeated. zero is uint8 (int8 when `signed`), as Keras casts it
    (out-of-range values wrap)."""
    if x is None:
        raise ValueError(f"Input tensor {x} cannot be None.")
    x = as_numpy(x)
    if x.ndim < 2:
        raise ValueError(f"Input weight tensor {x} must have a rank of at least 2, but got "
                         f"rank {x.ndim}.")
    if x.size == 0:
        raise ValueError("Input tensor 'x' cannot be empty.")
    out_features, in_features = x.shape[0], x.shape[1]
    n_groups = (in_features + group_size - 1) // group_size if per_channel and group_size > 0 \
        else 1
    if n_groups > 1:
        pad = -in_features % group_size
        if pad:
            x = np.pad(x, [(0, 0), (0, pad)])
        grouped = x.reshape(out_features, n_groups, group_size)
        low, high = grouped.min(axis=2), grouped.max(axis=2)
    else:
        flat = x.reshape(out_features, -1) if per_channel else x.reshape(1, -1)
        low, high = flat.min(axis=1), flat.max(axis=1)
    if symmetric:
        max_abs = np.maximum(np.abs(low), high)
        low = np.where(low < 0, -max_abs, low)
        high = max_abs
    flat_range = low == high  # a constant row: widen it so the scale is not zero
    low = np.where(flat_range, low - 1, low)
    high = np.where(flat_range, high + 1, high)
    dtype = np.dtype(compute_dtype)
    maxq = dtype.type(2 ** bits - 1)
    spread = high - low
    if epsilon > 0:
        spread = spread + epsilon
    scale = spread / maxq
    scale = np.where(scale <= 0, scale.dtype.type(1e-8), scale)
    if signed:
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        zero = np.full_like(scale, (maxq + 1) / 2 + qmin) if symmetric else \
            np.round(-low / scale) + qmin
        zero = np.clip(zero, qmin, qmax)
    else:
        zero = np.full_like(scale, (maxq + 1) / 2) if symmetric else np.round(-low / scale)
    if n_groups == 1:
        if per_channel:
            scale, zero = scale.reshape(-1, 1), zero.reshape(-1, 1)
        else:
            scale = np.tile(scale.reshape(1, 1), (out_features, 1))
            zero = np.tile(zero.reshape(1, 1), (out_features, 1))
    # float -> int through int64 then wrapped: what torch's cast gives out of range, defined
    zero = zero.astype(np.int64).astype(np.int8 if signed else np.uint8)
    return scale, zero, maxq


def quantize_with_zero_point(input_tensor, scale, zero, maxq):
    """Keras's quantize_with_zero_point: clip(round(x / scale + zero), 0, maxq), float (a zero
    scale counts as 1e-8)."""
    scale = as_numpy(scale)
    safe_scale = np.where(scale == 0, scale.dtype.type(1e-8), scale)
    levels = np.round(as_numpy(input_tensor) / safe_scale + as_numpy(zero).astype(scale.dtype))
    return np.clip(levels, 0, maxq)


def dequantize_with_zero_point(input_tensor, scale, zero):
    """Keras's dequantize_with_zero_point: scale * (q - zero)."""
    scale = as_numpy(scale)
    return scale * (as_numpy(input_tensor) - as_numpy(zero).astype(scale.dtype))


def quantize_with_sz_map(weights_matrix, scale, zero, g_idx, maxq, group_axis=-1):
    """Keras's quantize_with_sz_map: quantize_with_zero_point with each position's group
    parameters, g = int(g_idx[i]) picking along `group_axis` of scale and zero."""
    groups = as_numpy(g_idx).astype(np.int32)
    return quantize_with_zero_point(weights_matrix,
                                    np.take(as_numpy(scale), groups, axis=group_axis),
                                    np.take(as_numpy(zero), groups, axis=group_axis), maxq)


def calibrate(model, config, filters, make_object, missing_data):
    """Model.quantize's GPTQ / AWQ step: the model's block structure, the calibration windows
    from the config's dataset (ValueError `missing_data` without one), then the block-by-block
    calibration of the selected layers by `make_object(layer, config)`."""
    structure = resolve_structure(model, config.mode, config)
    if config.dataset is None or config.tokenizer is None:
        raise ValueError(missing_data)
    dataloader = get_dataloader(config.tokenizer, config.sequence_length, config.dataset,
                                num_samples=config.num_samples)
    run_layerwise(dataloader[:config.num_samples], config, structure, filters, make_object)


# ----------------------------------------------------------------------------- the stored layout

_LAYOUT = ("quantized_kernel", "kernel_scale", "kernel_zero", "g_idx", "awq_scales")


def stored_levels(layer, bits):
    """A calibrated GPTQ / AWQ layer's (units, in) uint8 levels: `quantized_kernel`, unpacked
    when it holds 4-bit values two to a byte."""
    stored = layer._stored("quantized_kernel")
    if bits != 4:
        return stored
    return unpack_int4(stored, layer.units, axis=0, dtype="uint8").to(stored.device)


def dequantized_levels(layer, bits):
    """(levels - zero[g]) * scale[g], as a (units, in) NumPy array (g: each input's group)."""
    return as_numpy(dequantize_with_sz_map(stored_levels(layer, bits),
                                           layer._stored("kernel_scale"),
                                           layer._stored("kernel_zero"), layer._stored("g_idx")))


def dequantized_kernel(layer, bits):
    """The (in, units) float kernel a calibrated layer computes with: the dequantized levels,
    divided back by each input's `awq_scales` on an AWQ layer; cached until a weight changes."""
    def build_value():
        kernel = dequantized_levels(layer, bits).T
        awq_scales = layer._stored("awq_scales")
        if awq_scales is not None:
            kernel = kernel / as_numpy(awq_scales)[:, None]
        device = layer._stored("quantized_kernel").device
        return from_numpy(np.ascontiguousarray(kernel)).to(device)
    return cached_view(layer, "dequantized", _LAYOUT, build_value)
