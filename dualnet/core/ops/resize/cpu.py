"""CPU kernels of the resize family: one axis of an interpolation as a two-tap gather (linear,
nearest) or a many-tap one (bicubic, antialiased filters), and their transposes, scatter-adds,
for the gradient. Arrays in, arrays out."""
import numba
import numpy as np


@numba.njit(cache=True)
def _gather(a, i0, i1, w0, w1):
    rows = a.shape[0]
    n_out = i0.shape[0]
    out = np.empty((rows, n_out), dtype=a.dtype)
    for r in range(rows):
        for j in range(n_out):
            out[r, j] = a[r, i0[j]] * w0[j] + a[r, i1[j]] * w1[j]
    return out


@numba.njit(cache=True)
def _scatter(g, i0, i1, w0, w1, n_in):
    rows = g.shape[0]
    n_out = i0.shape[0]
    out = np.zeros((rows, n_in), dtype=g.dtype)
    for r in range(rows):
        for j in range(n_out):
            v = g[r, j]
            out[r, i0[j]] += v * w0[j]
            out[r, i1[j]] += v * w1[j]
    return out


@numba.njit(cache=True)
def _gather_taps(a, index, weight):
    rows = a.shape[0]
    n_out, taps = index.shape
    out = np.empty((rows, n_out), dtype=a.dtype)
    for r in range(rows):
        for j in range(n_out):
            total = a[r, index[j, 0]] * weight[j, 0]  # in the input's type, taps in order
            for k in range(1, taps):
                if index[j, k] >= 0:
                    total += a[r, index[j, k]] * weight[j, k]
            out[r, j] = total
    return out


@numba.njit(cache=True)
def _scatter_taps(g, index, weight, n_in):
    rows = g.shape[0]
    n_out, taps = index.shape
    out = np.zeros((rows, n_in), dtype=g.dtype)
    for r in range(rows):
        for j in range(n_out):
            v = g[r, j]
            for k in range(taps):
                if index[j, k] >= 0:
                    out[r, index[j, k]] += v * weight[j, k]
    return out


def _rows(a, axis):
    """`a` with `axis` moved last, as a C-contiguous (rows, size) matrix, and its moved shape."""
    moved = np.moveaxis(a, axis, -1)
    return np.ascontiguousarray(moved).reshape(-1, moved.shape[-1]), moved.shape


def _unrows(out, shape, axis):
    """A kernel's (rows, n) result back in place: `shape` (from `_rows`) with n last, moved to
    `axis`, C-contiguous."""
    return np.ascontiguousarray(np.moveaxis(out.reshape(shape[:-1] + (out.shape[-1],)), -1,
                                            axis))


def resize_axis(a, axis, i0, i1, w0, w1):
    """out[..., j, ...] = w0[j] * a[..., i0[j], ...] + w1[j] * a[..., i1[j], ...] along `axis`."""
    rows, shape = _rows(a, axis)
    out = _gather(rows, i0, i1, w0.astype(a.dtype, copy=False), w1.astype(a.dtype, copy=False))
    return _unrows(out, shape, axis)


def resize_axis_transpose(g, axis, i0, i1, w0, w1, n_in):
    """The transpose of `resize_axis` (its gradient): each output's value, weighted, added back
    to the two inputs it read."""
    rows, shape = _rows(g, axis)
    out = _scatter(rows, i0, i1, w0.astype(g.dtype, copy=False), w1.astype(g.dtype, copy=False),
                   n_in)
    return _unrows(out, shape, axis)


def resize_axis_taps(a, axis, index, weight):
    """out[..., j, ...] = sum_k weight[j, k] * a[..., index[j, k], ...] along `axis` (index and
    weight (n_out, taps); a tap with index -1 is skipped)."""
    rows, shape = _rows(a, axis)
    return _unrows(_gather_taps(rows, index, weight.astype(a.dtype, copy=False)), shape, axis)


def resize_axis_taps_transpose(g, axis, index, weight, n_in):
    """The transpose of `resize_axis_taps` (its gradient): each output's value, weighted, added
    back to every input it read."""
    rows, shape = _rows(g, axis)
    return _unrows(_scatter_taps(rows, index, weight.astype(g.dtype, copy=False), n_in), shape,
                   axis)
