"""CUDA kernels of the embedding family: the row gather is the array module's `take` (memory
bound, as on the CPU); the backward's row scatter-add is a numba.cuda kernel whose atomic adds
let repeated indices accumulate (rows not looked up stay 0), after an atomic count of each
index for scale_grad_by_freq; one_hot is a numba.cuda fill."""
import math

import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()


def gather_rows(weight, indices):
    return xp.take(weight, indices, axis=0)


@cuda.jit
def _count_rows(counts, indices):
    # one thread per index: how many times each row is looked up
    start, step = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, indices.size, step):
        cuda.atomic.add(counts, indices[k], 1)


@cuda.jit
def _scatter_rows(out, indices, grad_rows, skip, scale):
    # one thread per element of grad_rows (K, D); scale: one factor per row of out, or empty
    start, step = cuda.grid(1), cuda.gridsize(1)
    dim = grad_rows.shape[1]
    for i in range(start, grad_rows.size, step):
        k, j = i // dim, i % dim
        row = indices[k]
        if row != skip:
            value = grad_rows[k, j]
            if scale.size:
                value *= scale[row]
            cuda.atomic.add(out, (row, j), value)


def scatter_rows(num_rows, indices, grad_rows, skip, scale_grad_by_freq):
    """Sum the rows of grad_rows (K, dim) into a zero (num_rows, dim) array at `indices`, except
    `skip`; with scale_grad_by_freq each row's terms are multiplied by 1 / (how many times its
    index occurs in `indices`), the factor rounded to the gradient's dtype as torch does."""
    dtype = grad_rows.dtype
    work = np.float32 if dtype == np.float16 else dtype  # no float16 atomics
    indices = xp.ascontiguousarray(indices)
    scale = xp.empty(0, dtype=work)
    if scale_grad_by_freq:
        counts = xp.zeros(num_rows, dtype=np.int64)
        launch(_count_rows, indices.size, counts, indices)
        scale = (1.0 / xp.maximum(counts, 1)).astype(work)  # rows never looked up: unused
    out = xp.zeros((num_rows,) + grad_rows.shape[1:], dtype=work)
    dim = math.prod(grad_rows.shape[1:])
    rows = xp.ascontiguousarray(grad_rows, dtype=work).reshape(grad_rows.shape[0], dim)
    launch(_scatter_rows, rows.size, out.reshape(num_rows, dim), indices, rows, skip, scale)
    return out if work == dtype else out.astype(dtype)


@cuda.jit
def _one_hot(indices, out):
    start, step = cuda.grid(1), cuda.gridsize(1)
    classes = out.shape[1]
    for i in range(start, out.size, step):
        k, c = i // classes, i % classes
        out[k, c] = 1 if indices[k] == c else 0


def one_hot(indices, num_classes):
    out = xp.empty(indices.shape + (num_classes,), dtype=np.int64)
    launch(_one_hot, out.size, xp.ascontiguousarray(indices).reshape(-1),
           out.reshape(indices.size, num_classes))
    return out
