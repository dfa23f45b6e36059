"""CPU kernels of the shape family: arrays in, arrays out.

Views (reshape, transpose, slicing, expand) need no kernel: they are NumPy arrays with other
strides over the same memory. What is left is data movement (concatenate, stack, tile, flip,
roll), which NumPy already does at memory bandwidth: a Numba loop would only re-implement
memcpy, so these call NumPy.
"""
import numpy as np


def reshape_view(a, shape):
    """`a` seen with `shape` without copying, or None when its strides don't allow that."""
    if a.flags.c_contiguous:
        return a.reshape(shape)  # always a view; 6x faster than reshape(copy=False)
    try:
        return np.reshape(a, shape, copy=False)
    except ValueError:
        return None


def reshape(a, shape):
    """`a` with `shape`: a view where the strides allow it, else a contiguous copy."""
    return a.reshape(shape)


def concatenate(arrays, axis, np_dtype):
    if all(a.dtype == np_dtype for a in arrays):
        return np.concatenate(arrays, axis=axis)  # the casting machinery costs ~3 us a call
    return np.concatenate(arrays, axis=axis, dtype=np_dtype, casting="unsafe")


def stack(arrays, axis, np_dtype):
    if all(a.dtype == np_dtype for a in arrays):
        return np.stack(arrays, axis=axis)
    return np.stack(arrays, axis=axis, dtype=np_dtype, casting="unsafe")


def tile(a, reps):
    return np.tile(a, reps)


def flip(a, axes):
    # a copy, as in torch (whose strides cannot be negative)
    return np.ascontiguousarray(np.flip(a, axes))


def roll(a, shifts, axes):
    return np.roll(a, shifts, axes)
