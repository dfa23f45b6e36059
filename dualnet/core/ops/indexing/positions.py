"""The indexing kernels' array-module-generic half, written once for cpu.py and cuda.py.

Every function takes the array module `xp` (NumPy for cpu.py, `cuda_array_module()` for
cuda.py) and uses only calls both modules spell alike. The accumulating write itself
(`accumulate(out, positions, values)` over flattened positions) is each device's own kernel.
"""
import numpy as np


def c_strides(shape):
    """Element strides of a C-contiguous array of `shape`."""
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= shape[d]
    return strides


def along(values, axis, ndim):
    """A 1-D array reshaped to lie along `axis` of an ndim-dimensional broadcast."""
    return values.reshape((1,) * axis + (-1,) + (1,) * (ndim - axis - 1))


def advanced_positions(xp, shape, key):
    """C-order position, in an array of `shape`, of every element of `array[key]`.

    Follows NumPy's (and torch's) layout: the index arrays' broadcast shape replaces the indexed
    dims in place when those are adjacent, and comes first when they are not.
    """
    key = tuple(key) + (slice(None),) * (len(shape) - len(key))
    strides = c_strides(shape)
    indexed = [d for d, k in enumerate(key) if not isinstance(k, slice)]
    arrays = xp.broadcast_arrays(*[xp.asarray(key[d]) for d in indexed])
    bshape = arrays[0].shape
    linear = xp.zeros(bshape, np.intp)
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
        linear = linear + along(xp.arange(shape[d]) * strides[d], axis, ndim)
    for axis, d in enumerate(after, start=len(before) + len(bshape)):
        linear = linear + along(xp.arange(shape[d]) * strides[d], axis, ndim)
    return linear


def scatter_positions(xp, shape, dim, index):
    """C-order position, in an array of `shape`, that scatter/gather pair with each index entry."""
    strides = c_strides(shape)
    linear = index.astype(np.intp) * strides[dim]
    for d, n in enumerate(index.shape):
        if d != dim:
            linear = linear + along(xp.arange(n) * strides[d], d, index.ndim)
    return linear


# --------------------------------------------------------------------------------- reads

def gather(xp, a, dim, index):
    """out[i][j] = a[index[i][j]][j] (dim 0): index may be smaller than `a` off `dim`."""
    region = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
    return xp.take_along_axis(a[region], index, axis=dim)


def nonzero(xp, a):
    """(n, ndim) int64 coordinates of the non-zero elements, in C order."""
    return xp.argwhere(a).astype(np.int64, copy=False)


def nonzero_tuple(xp, a):
    """One int64 index array per dim of the non-zero elements (a 0-d `a` counts as 1-d)."""
    return tuple(i.astype(np.int64, copy=False) for i in xp.nonzero(xp.atleast_1d(a)))


# --------------------------------------------------------------------------------- writes

def index_put(out, basic, advanced, values):
    """out[basic][advanced] = values, broadcast and cast to out's dtype (repeats: last wins)."""
    target = out[basic]
    if advanced is None:
        target[...] = values
    else:
        target[advanced] = values


def index_put_accumulate(xp, accumulate, out, advanced, values):
    """out[advanced] += values for a C-contiguous `out`, repeated indices accumulating."""
    positions = advanced_positions(xp, out.shape, advanced)
    values = xp.ascontiguousarray(xp.broadcast_to(xp.asarray(values), positions.shape),
                                  dtype=out.dtype)
    accumulate(out.reshape(-1), positions.reshape(-1), values.reshape(-1))


def _scatter_source(xp, src, index):
    if not isinstance(src, xp.ndarray) or src.ndim == 0:
        return xp.broadcast_to(xp.asarray(src), index.shape)
    return src[tuple(slice(0, n) for n in index.shape)]


def scatter(xp, out, dim, index, src):
    """out[index[i][j]][j] = src[i][j] (dim 0) for a C-contiguous `out`."""
    positions = scatter_positions(xp, out.shape, dim, index)
    out.reshape(-1)[positions.reshape(-1)] = _scatter_source(xp, src, index).reshape(-1)


def scatter_add(xp, accumulate, out, dim, index, src):
    """out[index[i][j]][j] += src[i][j] (dim 0) for a C-contiguous `out`."""
    positions = scatter_positions(xp, out.shape, dim, index)
    values = xp.ascontiguousarray(_scatter_source(xp, src, index), dtype=out.dtype)
    accumulate(out.reshape(-1), positions.reshape(-1), values.reshape(-1))
