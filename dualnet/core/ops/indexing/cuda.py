"""CUDA kernels of the indexing family: the twins of cpu.py, same names and arguments.

Reads (fancy indexing, take_along_axis, nonzero) and plain writes are CuPy's gathers and
scatters, as cpu.py uses NumPy's. Accumulating writes (index_put with accumulate, scatter_add)
are a numba.cuda kernel of atomic adds over flattened positions, so repeated indices add up
(`out[idx] += v` would keep only one of them); masked_fill is a grid-stride kernel.
Keys reaching these kernels are already validated and normalised, as for cpu.py; the position
arithmetic and the reads and plain writes are positions.py's, written once for both.
"""
import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import flat_operand, launch
from . import positions

xp = cuda_array_module()

# dtypes numba.cuda.atomic.add handles; the others accumulate in a wider copy
_ATOMIC = (np.float32, np.float64, np.int32, np.int64, np.uint32, np.uint64)


@cuda.jit
def _scatter_add_kernel(out, positions, values):
    for k in range(cuda.grid(1), positions.size, cuda.gridsize(1)):
        cuda.atomic.add(out, positions[k], values[k])


def scatter_add_flat(out, positions, values):
    """out[positions[k]] += values[k] for every k, repeated positions accumulating."""
    launch(_scatter_add_kernel, positions.size, out, positions, values)


def _accumulate(out, positions, values):
    """scatter_add_flat into a 1-d `out` of any dtype (bool, float16 and small ints through a
    wider copy, which wraps and casts back as the CPU's does)."""
    if out.dtype.type in _ATOMIC:
        scatter_add_flat(out, positions, values.astype(out.dtype, copy=False))
        return
    wide_dtype = np.float32 if out.dtype.kind == "f" else np.int64
    wide = out.astype(wide_dtype)
    scatter_add_flat(wide, positions, values.astype(wide_dtype))
    out[...] = (wide != 0) if out.dtype == np.bool_ else wide.astype(out.dtype)


def advanced_positions(shape, key):
    """C-order position, in an array of `shape`, of every element of `array[key]` (NumPy's and
    torch's layout: see positions.py)."""
    return positions.advanced_positions(xp, shape, key)


def scatter_positions(shape, dim, index):
    """C-order position, in an array of `shape`, that scatter/gather pair with each index entry."""
    return positions.scatter_positions(xp, shape, dim, index)


# --------------------------------------------------------------------------------- reads

def take(a, key):
    """a[key] for an advanced key (a copy)."""
    return a[key]


def gather(a, dim, index):
    """out[i][j] = a[index[i][j]][j] (dim 0): index may be smaller than `a` off `dim`."""
    return positions.gather(xp, a, dim, index)


def nonzero(a):
    """(n, ndim) int64 coordinates of the non-zero elements, in C order."""
    return positions.nonzero(xp, a)


def nonzero_tuple(a):
    return positions.nonzero_tuple(xp, a)


# --------------------------------------------------------------------------------- writes

def index_put(out, basic, advanced, values):
    """out[basic][advanced] = values, broadcast and cast to out's dtype (repeats: last wins)."""
    positions.index_put(out, basic, advanced, values)


def index_put_accumulate(out, advanced, values):
    """out[advanced] += values for a C-contiguous `out`, repeated indices accumulating."""
    positions.index_put_accumulate(xp, _accumulate, out, advanced, values)


def scatter(out, dim, index, src):
    """out[index[i][j]][j] = src[i][j] (dim 0) for a C-contiguous `out`."""
    positions.scatter(xp, out, dim, index, src)


def scatter_add(out, dim, index, src):
    """out[index[i][j]][j] += src[i][j] (dim 0) for a C-contiguous `out`."""
    positions.scatter_add(xp, _accumulate, out, dim, index, src)


@cuda.jit
def _masked_fill_kernel(out, mask, mask_inner, mask_size, value):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        k = i if mask_size == 0 else (i // mask_inner) % mask_size
        if mask[k]:
            out[i] = value[0]


def masked_fill(out, mask, value):
    """out[mask] = value in place, `mask` broadcasting to out's shape."""
    shape = np.broadcast_shapes(tuple(out.shape), tuple(mask.shape))
    if shape != tuple(out.shape):
        raise ValueError(f"a mask of shape {tuple(mask.shape)} can't fill an array of shape "
                         f"{tuple(out.shape)}")
    flat = out.reshape(-1) if out.flags.c_contiguous else xp.ascontiguousarray(out).reshape(-1)
    mask_flat, mask_inner, mask_size = flat_operand(mask, shape, xp)
    value = xp.asarray(value).astype(out.dtype).reshape(1)  # stays on the device: no sync
    launch(_masked_fill_kernel, flat.size, flat, mask_flat, mask_inner, mask_size, value)
    if not out.flags.c_contiguous:
        out[...] = flat.reshape(out.shape)
