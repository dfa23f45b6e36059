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


@cuda.jit
def _gather(a, i0, i1, w0, w1, out):
    n_out, inner = out.shape[1], out.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        i = k % inner
        j = (k // inner) % n_out
        o = k // (inner * n_out)
        out[o, j, i] = a[o, i0[j], i] * w0[j] + a[o, i1[j], i] * w1[j]


@cuda.jit
def _scatter(g, i0, i1, w0, w1, out):
    n_out, inner = g.shape[1], g.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, g.size, stride):
        i = k % inner
        j = (k // inner) % n_out
        o = k // (inner * n_out)
        value = g[o, j, i]
        cuda.atomic.add(out, (o, i0[j], i), value * w0[j])
        cuda.atomic.add(out, (o, i1[j], i), value * w1[j])


@cuda.jit
def _gather_taps(a, index, weight, out):
    n_out, inner = out.shape[1], out.shape[2]
    taps = index.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        i = k % inner
        j = (k // inner) % n_out
        o = k // (inner * n_out)
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
        i = k % inner
        j = (k // inner) % n_out
        o = k // (inner * n_out)
        value = g[o, j, i]
        for t in range(taps):
            if index[j, t] >= 0:
                cuda.atomic.add(out, (o, index[j, t], i), value * weight[j, t])


def resize_axis(a, axis, i0, i1, w0, w1):
    """out[..., j, ...] = w0[j] * a[..., i0[j], ...] + w1[j] * a[..., i1[j], ...] along `axis`."""
    dtype = _compute_dtype(a.dtype)
    view = _view(a.astype(dtype, copy=False), axis)
    out = xp.empty((view.shape[0], i0.shape[0], view.shape[2]), dtype)
    launch(_gather, out.size, view, _device(i0, np.int64), _device(i1, np.int64),
           _device(w0, dtype), _device(w1, dtype), out)
    shape = a.shape[:axis] + (i0.shape[0],) + a.shape[axis + 1:]
    return out.reshape(shape).astype(a.dtype, copy=False)


def resize_axis_transpose(g, axis, i0, i1, w0, w1, n_in):
    """The transpose of `resize_axis` (its gradient): each output's value, weighted, added back
    to the two inputs it read."""
    dtype = _compute_dtype(g.dtype)
    view = _view(g.astype(dtype, copy=False), axis)
    out = xp.zeros((view.shape[0], n_in, view.shape[2]), dtype)
    launch(_scatter, view.size, view, _device(i0, np.int64), _device(i1, np.int64),
           _device(w0, dtype), _device(w1, dtype), out)
    shape = g.shape[:axis] + (n_in,) + g.shape[axis + 1:]
    return out.reshape(shape).astype(g.dtype, copy=False)


def resize_axis_taps(a, axis, index, weight):
    """out[..., j, ...] = sum_k weight[j, k] * a[..., index[j, k], ...] along `axis` (index and
    weight (n_out, taps); a tap with index -1 is skipped)."""
    dtype = _compute_dtype(a.dtype)
    view = _view(a.astype(dtype, copy=False), axis)
    out = xp.empty((view.shape[0], index.shape[0], view.shape[2]), dtype)
    launch(_gather_taps, out.size, view, _device(index, np.int64), _device(weight, dtype), out)
    shape = a.shape[:axis] + (index.shape[0],) + a.shape[axis + 1:]
    return out.reshape(shape).astype(a.dtype, copy=False)


def resize_axis_taps_transpose(g, axis, index, weight, n_in):
    """The transpose of `resize_axis_taps` (its gradient): each output's value, weighted, added
    back to every input it read."""
    dtype = _compute_dtype(g.dtype)
    view = _view(g.astype(dtype, copy=False), axis)
    out = xp.zeros((view.shape[0], n_in, view.shape[2]), dtype)
    launch(_scatter_taps, view.size, view, _device(index, np.int64), _device(weight, dtype),
           out)
    shape = g.shape[:axis] + (n_in,) + g.shape[axis + 1:]
    return out.reshape(shape).astype(g.dtype, copy=False)
