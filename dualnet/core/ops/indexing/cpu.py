"""CPU kernels of the indexing family: arrays in, an `out` array to fill (or a result returned).

Reads (fancy indexing, take_along_axis, nonzero) are NumPy's: it gathers at memory bandwidth.
Accumulating writes are a Numba loop over flattened positions: `np.add.at` handles repeated
indices correctly but runs ~20x slower, and a plain `out[idx] += v` silently drops repeats.
Keys reaching these kernels are already validated and normalised (no negative indices): a basic
key is ints, slices, None and a final Ellipsis; an advanced key is full slices and int arrays.
"""
import numba
import numpy as np


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


def _c_strides(shape):
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= shape[d]
    return strides


def _along(values, axis, ndim):
    """A 1-D array reshaped to lie along `axis` of an ndim-dimensional broadcast."""
    return values.reshape((1,) * axis + (-1,) + (1,) * (ndim - axis - 1))


def advanced_positions(shape, key):
    """C-order position, in an array of `shape`, of every element of `array[key]`.

    Follows NumPy's (and torch's) layout: the index arrays' broadcast shape replaces the indexed
    dims in place when those are adjacent, and comes first when they are not.
    """
    key = tuple(key) + (slice(None),) * (len(shape) - len(key))
    strides = _c_strides(shape)
    indexed = [d for d, k in enumerate(key) if not isinstance(k, slice)]
    arrays = np.broadcast_arrays(*[key[d] for d in indexed])
    bshape = arrays[0].shape
    linear = np.zeros(bshape, np.intp)
    for array, d in zip(arrays, indexed):
        linear += array.astype(np.intp, copy=False) * strides[d]
    rest = [d for d in range(len(shape)) if d not in indexed]
    if indexed[-1] - indexed[0] == len(indexed) - 1:
        before = [d for d in rest if d < indexed[0]]
    else:
        before = []
    after = rest[len(before):]
    ndim = len(before) + len(bshape) + len(after)
    linear = linear.reshape((1,) * len(before) + bshape + (1,) * len(after))
    for axis, d in enumerate(before):
        linear = linear + _along(np.arange(shape[d]) * strides[d], axis, ndim)
    for axis, d in enumerate(after, start=len(before) + len(bshape)):
        linear = linear + _along(np.arange(shape[d]) * strides[d], axis, ndim)
    return linear


def scatter_positions(shape, dim, index):
    """C-order position, in an array of `shape`, that scatter/gather pair with each index entry."""
    strides = _c_strides(shape)
    linear = index.astype(np.intp) * strides[dim]
    for d, n in enumerate(index.shape):
        if d != dim:
            linear = linear + _along(np.arange(n) * strides[d], d, index.ndim)
    return linear


# --------------------------------------------------------------------------------- reads

def take(a, key):
    """a[key] for an advanced key (a copy)."""
    return a[key]


def gather(a, dim, index):
    """out[i][j] = a[index[i][j]][j] (dim 0): index may be smaller than `a` off `dim`."""
    region = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
    return np.take_along_axis(a[region], index, axis=dim)


def nonzero(a):
    """(n, ndim) int64 coordinates of the non-zero elements, in C order."""
    return np.argwhere(a).astype(np.int64, copy=False)


def nonzero_tuple(a):
    return tuple(i.astype(np.int64, copy=False) for i in np.nonzero(np.atleast_1d(a)))


# --------------------------------------------------------------------------------- writes

def index_put(out, basic, advanced, values):
    """out[basic][advanced] = values, broadcast and cast to out's dtype (repeats: last wins)."""
    target = out[basic]
    if advanced is None:
        target[...] = values
    else:
        target[advanced] = values


def index_put_accumulate(out, advanced, values):
    """out[advanced] += values for a C-contiguous `out`, repeated indices accumulating."""
    positions = advanced_positions(out.shape, advanced)
    values = np.ascontiguousarray(np.broadcast_to(values, positions.shape), dtype=out.dtype)
    _accumulate(out.reshape(-1), positions.reshape(-1), values.reshape(-1))


def _scatter_source(src, index):
    if np.ndim(src) == 0:
        return np.broadcast_to(src, index.shape)
    return src[tuple(slice(0, n) for n in index.shape)]


def scatter(out, dim, index, src):
    """out[index[i][j]][j] = src[i][j] (dim 0) for a C-contiguous `out`."""
    positions = scatter_positions(out.shape, dim, index)
    out.reshape(-1)[positions.reshape(-1)] = _scatter_source(src, index).reshape(-1)


def scatter_add(out, dim, index, src):
    """out[index[i][j]][j] += src[i][j] (dim 0) for a C-contiguous `out`."""
    positions = scatter_positions(out.shape, dim, index)
    values = np.ascontiguousarray(_scatter_source(src, index), dtype=out.dtype)
    _accumulate(out.reshape(-1), positions.reshape(-1), values.reshape(-1))


def masked_fill(out, mask, value):
    """out[mask] = value in place, `mask` broadcasting to out's shape."""
    np.copyto(out, value, casting="unsafe", where=mask)
