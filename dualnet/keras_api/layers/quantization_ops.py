"""Array functions of Keras's `keras.quantizers` that several quantization modes share:
packing two int4 values per byte, and dequantizing with per-group scales and zero points.

They take dualnet tensors or NumPy arrays, work in NumPy on the host (as Keras's `to_numpy`
paths do: quantized weights are small and this runs at quantize / load time or on a cached
result), and return dualnet tensors.
"""
import numpy as np

from ...core.creation import from_numpy

__all__ = ["pack_int4", "unpack_int4", "dequantize_with_sz_map", "as_numpy",
           "abs_max_quantize_grouped_with_zero_point"]

_PACKED_DTYPES = ("int8", "uint8")


def as_numpy(x):
    """A host NumPy array of a dualnet tensor (detached) or array-like."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _dtype_name(x):
    return x.dtype.name if hasattr(x, "detach") else np.asarray(x).dtype.name


def _check_packed_dtype(dtype):
    if dtype not in _PACKED_DTYPES:
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")


def pack_int4(arr, axis=0, dtype="int8"):
    """Keras's `pack_int4`: int4 values (in an int8 / uint8 tensor) packed two per byte along
    `axis`, the first of each pair in the low nibble (an odd length is padded with a zero).
    Returns (packed, packed_shape, original_length)."""
    _check_packed_dtype(dtype)
    if _dtype_name(arr) != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got {_dtype_name(arr)}.")
    values = np.moveaxis(as_numpy(arr), axis, 0)
    length = values.shape[0]
    if length % 2:
        values = np.concatenate([values, np.zeros((1,) + values.shape[1:], values.dtype)])
    low = values[0::2].astype(np.uint8) & 0x0F
    high = values[1::2].astype(np.uint8) & 0x0F
    packed = np.moveaxis((low | (high << 4)).view(np.dtype(dtype)), 0, axis)
    packed = np.ascontiguousarray(packed)
    return from_numpy(packed), tuple(packed.shape), length


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Keras's `unpack_int4`: the inverse of `pack_int4`, `orig_len` entries along `axis`;
    dtype "int8" gives signed values in [-8, 7], "uint8" the nibbles 0..15."""
    _check_packed_dtype(dtype)
    if _dtype_name(packed) not in _PACKED_DTYPES:
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got "
                        f"{_dtype_name(packed)}")
    return from_numpy(unpack_int4_numpy(as_numpy(packed), orig_len, axis, dtype))


def unpack_int4_numpy(packed, orig_len, axis=0, dtype="int8"):
    """`unpack_int4` on a NumPy array, returning one."""
    moved = np.moveaxis(packed, axis, 0).view(np.uint8)
    nibbles = np.empty((2 * moved.shape[0],) + moved.shape[1:], np.uint8)
    nibbles[0::2] = moved & 0x0F
    nibbles[1::2] = moved >> 4
    nibbles = nibbles[:orig_len]
    if dtype == "int8":
        nibbles = ((nibbles ^ 8).astype(np.int8) - np.int8(8))
    return np.ascontiguousarray(np.moveaxis(nibbles, 0, axis))


def dequantize_with_sz_map(weights_matrix, scale, zero, g_idx, group_axis=-1):
    """Keras's `dequantize_with_sz_map`: (W - zero[g]) * scale[g], where g = g_idx[i] picks
    each position's group along `group_axis` of `scale` and `zero`."""
    groups = as_numpy(g_idx).astype(np.int64)
    scale = as_numpy(scale)
    scales = np.take(scale, groups, axis=group_axis)
    zeros = np.take(as_numpy(zero), groups, axis=group_axis).astype(scale.dtype)
    weights = as_numpy(weights_matrix)
    return from_numpy(np.ascontiguousarray(((weights - zeros) * scales).astype(scale.dtype)))


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7),
                                             dtype="int8", epsilon=1e-7, to_numpy=False):
    """Keras's grouped asymmetric quantizer of a 2-D (rows, cols) weight: each column's rows
    are cut into groups of `block_size` (the last one zero-padded), and each group maps its
    [min, max] onto `value_range` = [lo, hi]:

        scale = (max - min + epsilon) / (hi - lo),   zero = clip(round(-min / scale) + lo, lo, hi)
        q = clip(round(W / scale) + zero, lo, hi)

    Returns (q in `dtype` (rows, cols), scale (groups, cols) in W's dtype, zero int8 (groups,
    cols)). The arithmetic is NumPy's in W's dtype, as Keras's `to_numpy` path; `to_numpy` is
    accepted for its signature."""
    values = as_numpy(inputs)
    rows, cols = values.shape
    groups = -(-rows // block_size)
    padded = np.zeros((groups * block_size, cols), values.dtype)
    padded[:rows] = values  # the padding rows count in the last group's min and max, as Keras's
    blocks = padded.reshape(groups, block_size, cols)
    low, high = value_range
    smallest = blocks.min(axis=1, keepdims=True)
    scale = (blocks.max(axis=1, keepdims=True) - smallest + epsilon) / (high - low)
    zero = np.clip(np.round(-smallest / scale) + low, low, high)
    quantized = np.clip(np.round(blocks / scale) + zero, low, high).astype(dtype)
    quantized = np.ascontiguousarray(quantized.reshape(groups * block_size, cols)[:rows])
    return (from_numpy(quantized), from_numpy(np.ascontiguousarray(scale[:, 0], values.dtype)),
            from_numpy(np.ascontiguousarray(zero[:, 0].astype(np.int8))))
