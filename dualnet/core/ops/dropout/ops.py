"""Dropout: zero elements (or whole channels) with probability p and scale the rest by 1/(1-p)
(inverted dropout, so evaluation needs no rescaling). Masks come from dualnet's random stream,
so `dn.manual_seed` makes them repeat; the gradient is the same mask times the incoming grad.
"""
import numbers

import numpy as np

from ...random import random_array
from ...tensor import Tensor
from .._views import apply_inplace


def _check(op, input, p):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _mask(input, p, shape):
    """A tensor of 0 and 1/(1-p), broadcastable to input, in input's dtype and device."""
    dtype = input.dtype.np
    # uniforms drawn in float32 for float32 input (half the bytes of NumPy's float64 default),
    # on the input's device from its stream; keep-flags become the mask in place: two passes
    # over the mask, not four
    uniform = random_array("uniform", shape, np.float32 if dtype == np.float32 else np.float64,
                           input.device)
    array = (uniform >= p).astype(dtype)
    if p != 1.0:
        array *= dtype.type(1.0 / (1.0 - p))
    return Tensor._make(array, input.device, input.dtype, False, None, 0, None)


def _apply(op, input, p, training, inplace, mask_shape):
    _check(op, input, p)
    if not training or p == 0.0:
        return input
    mask = _mask(input, p, mask_shape)
    if inplace:
        return apply_inplace(input, op + "_", lambda x: x * mask)
    return input * mask


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p, scaling the kept ones by 1/(1-p) (training only)."""
    return _apply("dropout", input, p, training, inplace, tuple(input.shape) if
                  isinstance(input, Tensor) else ())


def _channel_dropout(op, input, p, training, inplace, spatial_dims):
    if isinstance(input, Tensor) and input.ndim not in (spatial_dims + 1, spatial_dims + 2):
        raise RuntimeError(f"{op}: expected a {spatial_dims + 1}-D (unbatched) or "
                           f"{spatial_dims + 2}-D (batched) input, got shape {list(input.shape)}")
    shape = tuple(input.shape[:-spatial_dims]) + (1,) * spatial_dims if isinstance(
        input, Tensor) else ()
    return _apply(op, input, p, training, inplace, shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) input (the same mask along L)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input (the same mask over H and W)."""
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout("dropout3d", input, p, training, inplace, 3)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value, then an
    affine correction keeps mean and variance (Klambauer et al., 2017)."""
    _check("alpha_dropout", input, p)
    if not training or p == 0.0:
        return input
    alpha_prime = -1.7580993408473766  # -selu_scale * selu_alpha
    keep = _mask(input, p, tuple(input.shape)) * (1.0 - p)  # 0/1 mask
    a = (1.0 / ((1.0 - p) * (1.0 + p * alpha_prime ** 2)) ** 0.5)
    b = -a * alpha_prime * p
    out = (input * keep + (1.0 - keep) * alpha_prime) * a + b
    return input.copy_(out) if inplace else out


FUNCTIONAL = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]
__all__ = ["dropout", "alpha_dropout"]
METHODS = {}
