"""CUDA kernels of the padding family: constant padding is one numba.cuda gather (each output
element reads its source or takes the fill value); the reflect / replicate / circular index
tables are tiny host computations handed to the device (the gather is the indexing family's)."""
import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()


@cuda.jit
def _constant_pad(src, dst, out_shape, src_shape, before, value, ndim):
    # dst, src flat C-order; out position -> source position by subtracting `before` per dim
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dst.size, step):
        rest = i
        offset = 0
        stride = 1
        inside = True
        for d in range(ndim - 1, -1, -1):
            pos = rest % out_shape[d] - before[d]
            rest //= out_shape[d]
            if pos < 0 or pos >= src_shape[d]:
                inside = False
            offset += pos * stride
            stride *= src_shape[d]
        dst[i] = src[offset] if inside else value


def constant_pad(a, widths, value):
    """Pad with `value`; a negative width crops that side instead."""
    out_shape = tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, widths))
    out = xp.empty(out_shape, a.dtype)
    if out.size == 0:
        return out
    if a.ndim == 0:
        out[...] = a
        return out
    src = xp.ascontiguousarray(a).reshape(-1)
    shape_arr = xp.asarray(np.array(out_shape, np.int64))
    src_shape = xp.asarray(np.array(a.shape, np.int64))
    before = xp.asarray(np.array([lo for lo, _ in widths], np.int64))
    launch(_constant_pad, out.size, src, out.reshape(-1), shape_arr, src_shape, before,
           a.dtype.type(value), a.ndim)
    return out


def source_index(size, before, after, mode):
    """For each position of a padded dim, the input position it copies (reflect, replicate,
    circular)."""
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    # size + before + after ints: built on the host, then copied to the device
    return xp.asarray(np.pad(np.arange(size, dtype=np.int64), (before, after), mode=numpy_mode))
