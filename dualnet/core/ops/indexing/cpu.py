"""CPU kernels of the indexing family: arrays in, an `out` array to fill (or a result returned).

Reads (fancy indexing, take_along_axis, nonzero) are NumPy's: it gathers at memory bandwidth.
Accumulating writes are a Numba loop over flattened positions: `np.add.at` handles repeated
indices correctly but runs ~20x slower, and a plain `out[idx] += v` silently drops repeats.
Keys reaching these kernels are already validated and normalised (no negative indices): a basic
key is ints, slices, None and a final Ellipsis; an advanced key is full slices and int arrays.
The position arithmetic and the NumPy-spelled reads and writes are positions.py's, shared with
cuda.py.
"""
import numba
import numpy as np

from . import positions


@numba.njit(cache=True)
def scatter_add_flat(out, positions, values):
    """out[positions[k]] += values[k] for every k, repeated positions accumulating."""
    for k in range(positions.size):
        out[positions[k]] += values[k]


def _accumulate(out, positions, values):
    if out.dtype == np.float16 or out.dtype == np.bool_:
        np.add.at(out, positions, values)  # Numba has no float16 arithmetic
    else:
        scatter_add_flat(out, positions, values)


def advanced_positions(shape, key):
    """C-order position, in an array of `shape`, of every element of `array[key]`."""
    return positions.advanced_positions(np, shape, key)


def scatter_positions(shape, dim, index):
    """C-order position, in an array of `shape`, that scatter/gather pair with each index entry."""
    return positions.scatter_positions(np, shape, dim, index)


# --------------------------------------------------------------------------------- reads

def take(a, key):
    """a[key] for an advanced key (a copy)."""
    return a[key]


def gather(a, dim, index):
    """out[i][j] = a[index[i][j]][j] (dim 0): index may be smaller than `a` off `dim`."""
    return positions.gather(np, a, dim, index)


def nonzero(a):
    """(n, ndim) int64 coordinates of the non-zero elements, in C order."""
    return positions.nonzero(np, a)


def nonzero_tuple(a):
    return positions.nonzero_tuple(np, a)


# --------------------------------------------------------------------------------- writes

def index_put(out, basic, advanced, values):
    """out[basic][advanced] = values, broadcast and cast to out's dtype (repeats: last wins)."""
    positions.index_put(out, basic, advanced, values)


def index_put_accumulate(out, advanced, values):
    """out[advanced] += values for a C-contiguous `out`, repeated indices accumulating."""
    positions.index_put_accumulate(np, _accumulate, out, advanced, values)


def scatter(out, dim, index, src):
    """out[index[i][j]][j] = src[i][j] (dim 0) for a C-contiguous `out`."""
    positions.scatter(np, out, dim, index, src)


def scatter_add(out, dim, index, src):
    """out[index[i][j]][j] += src[i][j] (dim 0) for a C-contiguous `out`."""
    positions.scatter_add(np, _accumulate, out, dim, index, src)


def masked_fill(out, mask, value):
    """out[mask] = value in place, `mask` broadcasting to out's shape."""
    np.copyto(out, value, casting="unsafe", where=mask)
