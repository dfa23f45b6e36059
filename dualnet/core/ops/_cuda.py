"""Launch geometry shared by the CUDA kernel files: one place that turns an element count
into a grid, so every family's kernels launch the same way (grid-stride loops inside)."""
import os

import numpy as np

_SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

if not _SIMULATED and "NUMBA_CUDA_ARRAY_INTERFACE_SYNC" not in os.environ:
    # numba would synchronise the host with the stream of every CuPy array passed through
    # __cuda_array_interface__ at every launch; CuPy's arrays and these kernels share the
    # legacy default stream (which orders all blocking streams), so that wait buys nothing
    try:
        from numba.cuda.core import config as _numba_cuda_config
    except ImportError:  # older numba-cuda
        from numba.core import config as _numba_cuda_config
    _numba_cuda_config.CUDA_ARRAY_INTERFACE_SYNC = False

THREADS = 256
MAX_BLOCKS = 4096  # grid-stride loops cover the rest


def grid(n, threads=THREADS):
    """(blocks, threads) for a grid-stride kernel over n elements."""
    if _SIMULATED:  # every simulated thread is a Python thread: few, or launches crawl (a
        # launch costs ~0.25 ms per thread); two blocks of 16 still test the grid-stride loops
        threads = min(threads, 16)
    blocks = max(1, min(2 if _SIMULATED else MAX_BLOCKS, (n + threads - 1) // threads))
    return blocks, threads


def launch(kernel, n, *args):
    """Run a grid-stride `kernel` over n elements: `kernel[grid(n)](*args)`; no-op when n == 0."""
    if n == 0:
        return
    blocks, threads = grid(n)
    if _SIMULATED:  # the simulator copies every array argument back after the launch, which
        # fails on read-only NumPy views (broadcasts): hand it writable copies of those
        args = [np.array(a) if isinstance(a, np.ndarray) and not a.flags.writeable else a
                for a in args]
    kernel[blocks, threads](*args)


def flat_operand(x, shape, xp):
    """(flat array, inner, size) for operand `x` (an array or a scalar) of a result of `shape`:
    output element i reads flat[i] when size == 0, else flat[(i // inner) % size].

    That covers an operand of the result's shape, a scalar, and any operand whose non-1 dims are
    one run of the result's (a bias (C,) under (N, C), (N, 1) under (N, M), (1, C, 1, 1) under
    NCHW, either side of an outer sum (N, 1) + (1, M)) without copying it; other broadcasts
    (an (N, 1, W) operand under (N, H, W)) and strided views are made contiguous first.
    """
    if not isinstance(x, xp.ndarray):
        x = xp.full((1,), x, dtype=np.asarray(x).dtype)
        return x, 1, 1
    if x.size == 1:
        return x.reshape(1), 1, 1
    if tuple(x.shape) == tuple(shape):
        return xp.ascontiguousarray(x).reshape(-1), 1, 0
    dims = (1,) * (len(shape) - x.ndim) + tuple(x.shape)
    kept = [d for d, n in enumerate(dims) if n != 1]
    first, last = kept[0], kept[-1]
    if all(dims[d] == shape[d] for d in range(first, last + 1)):
        inner = 1
        for n in shape[last + 1:]:
            inner *= n
        return xp.ascontiguousarray(x).reshape(-1), inner, x.size
    return xp.ascontiguousarray(xp.broadcast_to(x, shape)).reshape(-1), 1, 0


def flat_out(out, shape, dtype, xp):
    """A contiguous 1-d array a kernel fills, and the array to return: `out` itself when given
    contiguous, a new array otherwise (copied into a strided `out` by `finish_out`)."""
    if out is None:
        result = xp.empty(shape, dtype)
        return result.reshape(-1), result
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"an output of shape {tuple(out.shape)} can't hold a result of shape "
                         f"{tuple(shape)}")
    if out.flags.c_contiguous:
        return out.reshape(-1), out
    scratch = xp.empty(shape, out.dtype)
    return scratch.reshape(-1), scratch


def finish_out(result, out):
    """`result` written back into a strided `out` (the scratch case of `flat_out`)."""
    if out is None or result is out:
        return result
    out[...] = result
    return out
