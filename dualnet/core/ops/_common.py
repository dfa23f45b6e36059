"""Argument checks and conversions shared by every op family (validation at the boundary)."""
import numbers

import numpy as np

from ..dtypes import result_type
from ..tensor import Tensor


def normalize_dim(dim, ndim, op):
    """A dim in [-ndim, ndim) made non-negative; IndexError naming the op otherwise."""
    if isinstance(dim, Tensor):
        dim = dim.__index__()
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-rank}, {rank - 1}], but got {dim})")
    return int(dim) % rank


def normalize_dims(dims, ndim, op):
    """A tuple of distinct non-negative dims from an int, a sequence, or None (all dims)."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    out = tuple(normalize_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {list(dims)} appears multiple times in the list of dims")
    return out


def shape_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def describe(value):
    if isinstance(value, Tensor):
        return f"{shape_str(value.shape)} {value.dtype.name}"
    if isinstance(value, np.ndarray):
        return f"{shape_str(value.shape)} array"
    return repr(value)


def check_same_device(op, *tensors):
    dev = None
    for t in tensors:
        if isinstance(t, Tensor):
            if dev is None:
                dev = t._device
            elif t._device != dev:
                raise RuntimeError(f"{op}: expected all tensors to be on the same device, but found "
                                   f"at least two devices, {dev} and {t._device}")
    return dev


def is_scalar(value):
    return isinstance(value, numbers.Number) or (isinstance(value, np.generic))


def check_operand(op, value):
    if isinstance(value, (Tensor, np.ndarray)) or is_scalar(value):
        return
    raise TypeError(f"{op}: expected a Tensor, a NumPy array or a number, got "
                    f"{type(value).__name__}")


def to_kernel_operand(value, dtype, dev, xp):
    """The array (or typed scalar) a kernel gets for one operand, cast to the compute dtype."""
    if isinstance(value, Tensor):
        array = value._data
        return array if array.dtype == dtype.np else array.astype(dtype.np)
    if isinstance(value, np.ndarray):
        if dev.type != "cpu":  # also under the simulator, whose device arrays are NumPy's
            raise RuntimeError(f"expected all tensors to be on the same device, but found a NumPy "
                               f"array (cpu) and a tensor on {dev}")
        return value.astype(dtype.np, copy=False)
    return dtype.np.type(value)


def common_dtype(op, *operands):
    for v in operands:
        check_operand(op, v)
    return result_type(*operands)


def broadcast_error(op, *operands):
    shapes = [tuple(np.shape(v._data if isinstance(v, Tensor) else v)) for v in operands]
    return RuntimeError(f"{op}: shapes {' and '.join(shape_str(s) for s in shapes)} cannot be "
                        f"broadcast together (sizes must match or be 1 at each trailing dimension)")


def broadcast_shape(op, *shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {' and '.join(shape_str(s) for s in shapes)} cannot be "
                           f"broadcast together (sizes must match or be 1 at each trailing "
                           f"dimension)") from None
