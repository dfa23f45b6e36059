"""CUDA kernels of the shape family: the twins of cpu.py, same names and arguments.

Views (reshape, transpose, slicing, expand) need no kernel: CuPy arrays take other strides over
the same memory as NumPy's do. What is left is data movement (concatenate, stack, tile, flip,
roll), which CuPy's copy kernels already do at memory bandwidth: a numba.cuda loop would only
re-implement a device memcpy, so these call the array module, as cpu.py calls NumPy.
"""
from ...device import cuda_array_module

xp = cuda_array_module()


def reshape_view(a, shape):
    """`a` seen with `shape` without copying, or None when its strides don't allow that."""
    if a.flags.c_contiguous:
        return a.reshape(shape)
    seen = a.reshape(shape)  # a view when the strides allow it, else a copy
    return seen if (seen.size == 0 or xp.shares_memory(seen, a)) else None


def reshape(a, shape):
    """`a` with `shape`: a view where the strides allow it, else a contiguous copy."""
    return a.reshape(shape)


def concatenate(arrays, axis, np_dtype):
    return xp.concatenate([a if a.dtype == np_dtype else a.astype(np_dtype) for a in arrays],
                          axis=axis)


def stack(arrays, axis, np_dtype):
    return xp.stack([a if a.dtype == np_dtype else a.astype(np_dtype) for a in arrays], axis=axis)


def tile(a, reps):
    return xp.tile(a, reps)


def flip(a, axes):
    # a copy, as in torch (whose strides cannot be negative)
    return xp.ascontiguousarray(xp.flip(a, axes))


def roll(a, shifts, axes):
    return xp.roll(a, shifts, axes)
