"""The resize family: F.interpolate's modes (nearest, nearest-exact, linear, bilinear,
trilinear; size or scale_factor; align_corners) against a NumPy loop reference and torch
(forward and input gradient), float64 gradient checks to second order, and bad input."""
import doctest
import math

import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet.autograd import gradcheck, gradgradcheck
from dualnet.core.ops.resize import ops as resize_ops

RNG = np.random.default_rng(0)


def _linear_1d(x, n_out, align_corners, factor=None):
    """Plain-loop linear resize of the last axis (torch's source-index rule, float64)."""
    n_in = x.shape[-1]
    out = np.empty(x.shape[:-1] + (n_out,))
    for j in range(n_out):
        if align_corners:
            src = j * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            scale = 1.0 / factor if factor else n_in / n_out
            src = max((j + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        i1 = i0 + 1 if i0 < n_in - 1 else i0
        w1 = min(max(src - i0, 0.0), 1.0)
        out[..., j] = (1 - w1) * x[..., i0] + w1 * x[..., i1]
    return out


def _nearest_1d(x, n_out, exact):
    n_in = x.shape[-1]
    scale = n_in / n_out
    index = [min(int(math.floor(((j + 0.5) if exact else j) * scale)), n_in - 1)
             for j in range(n_out)]
    return x[..., index]


@pytest.mark.parametrize("n_in,n_out", [(5, 9), (7, 3), (4, 8), (6, 6), (1, 4), (4, 1)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_linear_matches_the_loop_reference(n_in, n_out, align_corners):
    x = RNG.standard_normal((2, 3, n_in))
    out = F.interpolate(dn.tensor(x), size=n_out, mode="linear", align_corners=align_corners)
    np.testing.assert_allclose(out.numpy(), _linear_1d(x, n_out, align_corners), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("size", [(9, 4), (3, 11), (10, 14)])
def test_bilinear_is_the_two_linear_passes_and_nearest_the_loop_reference(size):
    x = RNG.standard_normal((2, 3, 5, 7))
    out = F.interpolate(dn.tensor(x), size=size, mode="bilinear", align_corners=False).numpy()
    ref = _linear_1d(x, size[1], False)
    ref = np.swapaxes(_linear_1d(np.swapaxes(ref, -1, -2), size[0], False), -1, -2)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    for mode, exact in (("nearest", False), ("nearest-exact", True)):
        out = F.interpolate(dn.tensor(x), size=size, mode=mode).numpy()
        ref = _nearest_1d(np.swapaxes(_nearest_1d(x, size[1], exact), -1, -2), size[0], exact)
        np.testing.assert_array_equal(out, np.swapaxes(ref, -1, -2))


TORCH_CASES = [  # shape, keyword arguments
    ((2, 3, 6), dict(size=11, mode="linear")),
    ((2, 3, 6), dict(scale_factor=1.5, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=0.7, mode="nearest")),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear")),
    ((2, 3, 5, 7), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6), mode="bilinear")),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6), mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(size=(11, 3))),
    ((2, 3, 5, 7), dict(scale_factor=3)),
    ((2, 3, 5, 7), dict(scale_factor=2.5, mode="nearest-exact")),
    ((2, 3, 5, 7), dict(size=(13, 20), mode="nearest-exact")),
    ((1, 2, 3, 4, 5), dict(size=(5, 3, 7), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
]


@pytest.mark.parametrize("shape,kwargs", TORCH_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_and_gradient_match_torch(shape, kwargs, dtype):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(shape).astype(dtype)
    ours_in = dn.tensor(x, requires_grad=True)
    theirs_in = torch.tensor(x, requires_grad=True)
    ours = F.interpolate(ours_in, **kwargs)
    theirs = torch.nn.functional.interpolate(theirs_in, **kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol)
    upstream = RNG.standard_normal(tuple(theirs.shape)).astype(dtype)
    (ours * dn.tensor(upstream)).sum().backward()
    (theirs * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=10 * tol,
                               atol=10 * tol)


@pytest.mark.parametrize("kwargs", [dict(size=(4, 5), mode="bilinear"),
                                    dict(scale_factor=(0.6, 1.5), mode="bilinear",
                                         align_corners=True),
                                    dict(size=(5, 2), mode="nearest"),
                                    dict(scale_factor=1.5, mode="nearest-exact")])
def test_gradcheck_float64_to_second_order(kwargs):
    x = dn.tensor(RNG.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, **kwargs), (x,))
    assert gradgradcheck(lambda t: F.interpolate(t, **kwargs), (x,))


def test_channels_last_resize_equals_channels_first_interpolate():
    x = RNG.standard_normal((2, 5, 7, 3))
    nhwc = resize_ops.resize(dn.tensor(x), (9, 4), (1, 2), mode="bilinear").numpy()
    nchw = F.interpolate(dn.tensor(x.transpose(0, 3, 1, 2)), size=(9, 4),
                         mode="bilinear").numpy()
    np.testing.assert_allclose(nhwc, nchw.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)


def test_bad_input():
    x = dn.ones(1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="linear mode needs 3D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="spatial dimensions"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(TypeError, match="Tensor"):
        F.interpolate(np.ones((1, 1, 4, 4)), scale_factor=2)


def test_doctests():
    assert doctest.testmod(resize_ops).failed == 0
