"""Where each output position of a resize reads, per resized dim: torch's `F.interpolate` rules
(pure Python + NumPy, cached), as index pairs and weights for one axis.

linear (align_corners=False): src = scale * (dst + 0.5) - 0.5, clamped below at 0, with
scale = in / out (or 1 / scale_factor when the caller's factor is kept); align_corners=True:
src = dst * (in - 1) / (out - 1). The output mixes inputs floor(src) and the next one (the
last input repeats at the edge) with weights 1 - frac, frac, computed in the input's float
type as torch does. nearest: floor(dst * scale); nearest-exact: floor((dst + 0.5) * scale);
both capped at in - 1 (torch's float32 arithmetic, and its exact shortcuts for out == in and
out == 2 * in).
"""
import functools

import numpy as np


def _frozen(*arrays):
    for a in arrays:
        a.flags.writeable = False  # shared by every call through the cache
    return arrays


def _scale(n_in, n_out, factor, real):
    """torch's compute_scales_value: 1 / factor when a factor is kept, else in / out."""
    if factor is not None and factor > 0:
        return real(1.0 / factor)
    return real(n_in) / real(n_out)


@functools.lru_cache(maxsize=256)
def linear_plan(n_in, n_out, factor, align_corners, dtype_name):
    """(i0, i1, w0, w1) for one axis: out[j] = w0[j] * x[i0[j]] + w1[j] * x[i1[j]]."""
    real = np.dtype(dtype_name).type
    dst = np.arange(n_out, dtype=real)
    if align_corners:
        scale = real(n_in - 1) / real(n_out - 1) if n_out > 1 else real(0)
        src = scale * dst
    else:
        scale = _scale(n_in, n_out, factor, real)
        src = np.maximum(scale * (dst + real(0.5)) - real(0.5), real(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    w1 = np.clip(src - i0.astype(real), real(0), real(1)).astype(real)
    w0 = (real(1) - w1).astype(real)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return _frozen(i0, i1, w0, w1)


@functools.lru_cache(maxsize=256)
def nearest_plan(n_in, n_out, factor, exact, dtype_name):
    """(i0, i1, w0, w1) of a nearest resize: one source per output (weights 1 and 0)."""
    real = np.dtype(dtype_name).type
    if not exact and n_out == n_in:
        index = np.arange(n_out, dtype=np.int64)
    elif not exact and n_out == 2 * n_in:
        index = np.arange(n_out, dtype=np.int64) >> 1
    else:
        scale = _scale(n_in, n_out, factor, np.float32)
        dst = np.arange(n_out, dtype=np.int64)
        if exact:  # torch: (index + 0.5) in double times the float scale, floored as a float
            src = ((dst + 0.5) * np.float64(scale)).astype(np.float32)
        else:
            src = dst.astype(np.float32) * scale
        index = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    ones = np.ones(n_out, dtype=real)
    return _frozen(index, index.copy(), ones, np.zeros(n_out, dtype=real))
