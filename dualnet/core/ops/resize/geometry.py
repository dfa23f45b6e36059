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
import math

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


def _keys_near(x, a, real):
    """Keys' cubic convolution kernel for |x| <= 1: (a + 2)|x|^3 - (a + 3)|x|^2 + 1."""
    a = real(a)
    return (((a + real(2)) * x - (a + real(3))) * x * x + real(1)).astype(real)


def _keys_far(x, a, real):
    """Keys' cubic convolution kernel for 1 < |x| < 2: a|x|^3 - 5a|x|^2 + 8a|x| - 4a."""
    a = real(a)
    return (((a * x - real(5) * a) * x + real(8) * a) * x - real(4) * a).astype(real)


def _area_pixel_scale(n_in, n_out, factor, align_corners, real):
    """torch's area_pixel_compute_scale: (in - 1) / (out - 1) with align_corners, else the
    kept factor's inverse or in / out."""
    if align_corners:
        return real(n_in - 1) / real(n_out - 1) if n_out > 1 else real(0)
    return _scale(n_in, n_out, factor, real)


@functools.lru_cache(maxsize=256)
def cubic_plan(n_in, n_out, factor, align_corners, dtype_name):
    """(index, weight), both (n_out, 4), of torch's bicubic along one axis: output j reads
    inputs floor(src) - 1 .. floor(src) + 2 (clamped to the border) with Keys' weights
    (a = -0.75) at t = src - floor(src); src = scale * (j + 0.5) - 0.5 (not clamped at 0, unlike
    linear), or scale * j with align_corners."""
    real = np.dtype(dtype_name).type
    dst = np.arange(n_out, dtype=real)
    scale = _area_pixel_scale(n_in, n_out, factor, align_corners, real)
    src = scale * dst if align_corners else scale * (dst + real(0.5)) - real(0.5)
    # torch floors with floorf, in single precision whatever the input's type
    base = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
    t = np.clip(src - base.astype(real), real(0), real(1)).astype(real)
    rest = (real(1) - t).astype(real)
    weight = np.stack([_keys_far(t + real(1), -0.75, real), _keys_near(t, -0.75, real),
                       _keys_near(rest, -0.75, real), _keys_far(rest + real(1), -0.75, real)],
                      axis=1)
    index = np.clip(base[:, None] + np.arange(-1, 3), 0, n_in - 1)
    return _frozen(np.ascontiguousarray(index), np.ascontiguousarray(weight, dtype=real))


def _triangle(x, real):
    return np.where(x < real(1), real(1) - x, real(0)).astype(real)


def _keys_half(x, real):
    """The cubic filter of torch's antialiased bicubic (and PIL's): Keys with a = -0.5."""
    return np.where(x < real(1), _keys_near(x, -0.5, real),
                    np.where(x < real(2), _keys_far(x, -0.5, real), real(0))).astype(real)


def _lanczos3(x, real):
    """Lanczos-3 window: sinc(x) sinc(x / 3) for |x| < 3 (computed in double)."""
    x = x.astype(np.float64)
    return np.where(x < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0).astype(real)


_AA_FILTERS = {"linear": (1.0, _triangle), "cubic": (2.0, _keys_half),  # half-width, filter
               "lanczos": (3.0, _lanczos3)}


@functools.lru_cache(maxsize=256)
def antialias_plan(n_in, n_out, factor, align_corners, kind, dtype_name):
    """(index, weight), both (n_out, taps), of torch's antialiased linear / cubic / Lanczos-3
    resize along one axis (`_upsample_bilinear2d_aa`, `_upsample_bicubic2d_aa`,
    `_upsample_lanczos2d_aa`; PIL's resampling).

    Output j is centred at c = scale * (j + 0.5) in input coordinates. Downsampling
    (scale >= 1) stretches the filter by the scale: support s = half-width * scale, and input i
    weighs filter((i + 0.5 - c) / scale); upsampling keeps the filter as is. Inputs
    [trunc(c - s + 0.5), trunc(c + s + 0.5)) inside the axis are read and the weights
    normalised to sum 1 (so the border renormalises instead of clamping). Taps past an output's
    window have index -1. Precision as torch's: c, the window bounds and the filter argument
    in double, rounded to the input's type where torch stores them.
    """
    real = np.dtype(dtype_name).type
    half_width, filter_fn = _AA_FILTERS[kind]
    scale = _area_pixel_scale(n_in, n_out, factor, align_corners, real)
    downsampling = scale >= 1.0
    support = real(half_width * float(scale)) if downsampling else real(half_width)
    taps = int(math.ceil(support)) * 2 + 1
    inv_scale = real(1.0 / float(scale)) if downsampling else real(1)
    dst = np.arange(n_out, dtype=np.float64)
    center = (np.float64(scale) * (dst + 0.5)).astype(real)
    first = np.maximum(np.trunc(center.astype(np.float64) - float(support) + 0.5), 0)
    first = first.astype(np.int64)
    stop = np.minimum(np.trunc(center.astype(np.float64) + float(support) + 0.5), n_in)
    count = np.clip(stop.astype(np.int64) - first, 0, taps)
    offset = np.arange(taps)
    index = first[:, None] + offset
    inside = offset < count[:, None]
    arg = (index.astype(real) - center[:, None]).astype(np.float64) + 0.5
    weight = filter_fn(np.abs((arg * float(inv_scale)).astype(real)), real)
    weight = np.where(inside, weight, real(0)).astype(real)
    total = np.cumsum(weight, axis=1, dtype=real)[:, -1:]  # torch sums the taps in order
    weight = np.where(total != 0, weight / np.where(total != 0, total, real(1)), weight)
    index = np.where(inside, index, -1)
    index[:, 0] = np.minimum(first, n_in - 1)  # the first tap always reads (weight 0 if empty)
    return _frozen(np.ascontiguousarray(index), np.ascontiguousarray(weight, dtype=real))
