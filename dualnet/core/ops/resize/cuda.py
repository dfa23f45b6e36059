"""CUDA kernels of the resize family, the twins of cpu.py: one axis of an interpolation as a
two-tap (or many-tap) gather, one thread per output element, on the (outer, size, inner) view
around the axis (no transpose copies); its transpose (the gradient) scatters each value to its
taps with atomic adds. The tap tables (host arrays cached by the geometry) go to the device once."""
import math

import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()
_ON_DEVICE = {}  # id(host table) -> (host table, its device copy in the table's dtype)


def _device(table, dtype):
    key = (id(table), np.dtype(dtype).char)
    entry = _ON_DEVICE.get(key)
    if entry is None or entry[0] is not table:
        if len(_ON_DEVICE) > 4096:
            _ON_DEVICE.clear()
        entry = _ON_DEVICE[key] = (table, xp.asarray(table.astype(dtype, copy=False)))
    return entry[1]


def _view(a, axis):
    """a as (outer, size, inner) around `axis` (C-contiguous)."""
    a = xp.ascontiguousarray(a)
    return a.reshape(math.prod(a.shape[:axis]), a.shape[axis], math.prod(a.shape[axis + 1:]))


def _compute_dtype(dtype):
    return np.float32 if dtype == np.float16 else dtype  # no half arithmetic or atomics


@cuda.jit(device=True)
def _position(k, n, inner):
    """(outer, axis, inner) indices of the flat element k of an (outer, n, inner) array."""
    return k // (inner * n), (k // inner) % n, k % inner


@cuda.jit
def _gather(a, i0, i1, w0, w1, out):
    n_out, inner = out.shape[1], out.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        o, j, i = _position(k, n_out, inner)
        out[o, j, i] = a[o, i0[j], i] * w0[j] + a[o, i1[j], i] * w1[j]


@cuda.jit
def _scatter(g, i0, i1, w0, w1, out):
    n_out, inner = g.shape[1], g.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, g.size, stride):
        o, j, i = _position(k, n_out, inner)
        value = g[o, j, i]
        cuda.atomic.add(out, (o, i0[j], i), value * w0[j])
        cuda.atomic.add(out, (o, i1[j], i), value * w1[j])


@cuda.jit
def _gather_taps(a, index, weight, out):
    n_out, inner = out.shape[1], out.shape[2]
    taps = index.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        o, j, i = _position(k, n_out, inner)
        total = a[o, index[j, 0], i] * weight[j, 0]
        for t in range(1, taps):
            if index[j, t] >= 0:
                total += a[o, index[j, t], i] * weight[j, t]
        out[o, j, i] = total


@cuda.jit
def _scatter_taps(g, index, weight, out):
    n_out, inner = g.shape[1], g.shape[2]
    taps = index.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, g.size, stride):
        o, j, i = _position(k, n_out, inner)
        value = g[o, j, i]
        for t in range(taps):
            if index[j, t] >= 0:
                cuda.atomic.add(out, (o, index[j, t], i), value * weight[j, t])


def _run(kernel, x, axis, size, indices, weights, scatter=False):
    """Launch a gather (one thread per output element) or a scatter (one per input element,
    into zeros) on x's (outer, size, inner) view: index tables as int64, weight tables in the
    compute dtype; the result has `size` along `axis`, in x's dtype."""
    dtype = _compute_dtype(x.dtype)
    view = _view(x.astype(dtype, copy=False), axis)
    out = (xp.zeros if scatter else xp.empty)((view.shape[0], size, view.shape[2]), dtype)
    launch(kernel, view.size if scatter else out.size, view,
           *(_device(t, np.int64) for t in indices), *(_device(t, dtype) for t in weights), out)
    shape = x.shape[:axis] + (size,) + x.shape[axis + 1:]
    return out.reshape(shape).astype(x.dtype, copy=False)


def resize_axis(a, axis, i0, i1, w0, w1):
    """out[..., j, ...] = w0[j] * a[..., i0[j], ...] + w1[j] * a[..., i1[j], ...] along `axis`."""
    return _run(_gather, a, axis, i0.shape[0], (i0, i1), (w0, w1))


def resize_axis_transpose(g, axis, i0, i1, w0, w1, n_in):
    """The transpose of `resize_axis` (its gradient): each output's value, weighted, added back
    to the two inputs it read."""
    return _run(_scatter, g, axis, n_in, (i0, i1), (w0, w1), scatter=True)


def resize_axis_taps(a, axis, index, weight):
    """out[..., j, ...] = sum_k weight[j, k] * a[..., index[j, k], ...] along `axis` (index and
    weight (n_out, taps); a tap with index -1 is skipped)."""
    return _run(_gather_taps, a, axis, index.shape[0], (index,), (weight,))


def resize_axis_taps_transpose(g, axis, index, weight, n_in):
    """The transpose of `resize_axis_taps` (its gradient): each output's value, weighted, added
    back to every input it read."""
    return _run(_scatter_taps, g, axis, n_in, (index,), (weight,), scatter=True)
