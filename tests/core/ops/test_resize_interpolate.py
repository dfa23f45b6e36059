"""The resize family: F.interpolate's modes (nearest, nearest-exact, linear, bilinear, bicubic,
trilinear, area, lanczos; size or scale_factor; align_corners; antialias) against NumPy loop
references and torch (forward and input gradient), float64 gradient checks to second order,
and bad input."""
import doctest
import math

import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet import nn
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
    tol = 1e-6 if dtype == "float32" else 1e-12
    _match_torch(shape, kwargs, dtype, tol, 10 * tol)


def _match_torch(shape, kwargs, dtype, tol, grad_tol):
    """F.interpolate's output and input gradient (under one random upstream) against torch's."""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(shape).astype(dtype)
    ours_in = dn.tensor(x, requires_grad=True)
    theirs_in = torch.tensor(x, requires_grad=True)
    ours = F.interpolate(ours_in, **kwargs)
    theirs = torch.nn.functional.interpolate(theirs_in, **kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol)
    upstream = RNG.standard_normal(tuple(theirs.shape)).astype(dtype)
    (ours * dn.tensor(upstream)).sum().backward()
    (theirs * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=grad_tol,
                               atol=grad_tol)


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
    with pytest.raises(NotImplementedError, match="bicubic mode needs 4D input"):
        F.interpolate(dn.ones(1, 1, 4), scale_factor=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="'cubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(ValueError, match="spatial dimensions"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(TypeError, match="Tensor"):
        F.interpolate(np.ones((1, 1, 4, 4)), scale_factor=2)


# --------------------------------------------------------------- bicubic, antialias, area

def _keys(x, a):
    """Keys' cubic convolution kernel at |x|."""
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _bicubic_1d(x, n_out, align_corners):
    """Plain-loop bicubic resize of the last axis: torch's source index (not clamped at 0),
    4 taps around floor(src) clamped to the border, Keys' weights with a = -0.75."""
    n_in = x.shape[-1]
    out = np.zeros(x.shape[:-1] + (n_out,))
    for j in range(n_out):
        if align_corners:
            src = j * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            src = (j + 0.5) * n_in / n_out - 0.5
        base = min(int(math.floor(src)), n_in - 1)
        t = min(max(src - base, 0.0), 1.0)
        for k in range(-1, 3):
            out[..., j] += _keys(t - k, -0.75) * x[..., min(max(base + k, 0), n_in - 1)]
    return out


def _antialias_1d(x, n_out, align_corners, kernel, half_width):
    """Plain-loop antialiased resize of the last axis (PIL's and torch's): output j centred at
    c = scale * (j + 0.5), the filter stretched by scale when downsampling, the weights of the
    inputs inside the window normalised to sum 1."""
    n_in = x.shape[-1]
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        scale = n_in / n_out
    stretch = max(scale, 1.0)
    support = half_width * stretch
    out = np.zeros(x.shape[:-1] + (n_out,))
    for j in range(n_out):
        center = scale * (j + 0.5)
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
        weights = np.array([kernel((i + 0.5 - center) / stretch) for i in range(lo, hi)])
        out[..., j] = x[..., lo:hi] @ (weights / weights.sum())
    return out


_FILTERS = {"bilinear": (lambda v: max(0.0, 1.0 - abs(v)), 1.0),
            "bicubic": (lambda v: _keys(v, -0.5), 2.0),
            "lanczos": (lambda v: np.sinc(v) * np.sinc(v / 3) if abs(v) < 3 else 0.0, 3.0)}


def _separable(fn, x, size, **kwargs):
    """fn (a last-axis resize) applied along W, then along H."""
    out = fn(x, size[1], **kwargs)
    return np.swapaxes(fn(np.swapaxes(out, -1, -2), size[0], **kwargs), -1, -2)


@pytest.mark.parametrize("size", [(9, 4), (3, 11), (2, 2), (1, 6)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_bicubic_matches_the_loop_reference(size, align_corners):
    x = RNG.standard_normal((2, 3, 5, 7))
    out = F.interpolate(dn.tensor(x), size=size, mode="bicubic", align_corners=align_corners)
    ref = _separable(_bicubic_1d, x, size, align_corners=align_corners)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode,align_corners", [("bilinear", False), ("bilinear", True),
                                                ("bicubic", False), ("bicubic", True),
                                                ("lanczos", False)])
@pytest.mark.parametrize("size", [(3, 2), (2, 13), (9, 5)])
def test_antialias_matches_the_loop_reference(mode, align_corners, size):
    x = RNG.standard_normal((2, 3, 8, 11))
    out = F.interpolate(dn.tensor(x), size=size, mode=mode, align_corners=align_corners,
                        antialias=True)
    kernel, half_width = _FILTERS[mode]
    ref = _separable(_antialias_1d, x, size, align_corners=align_corners, kernel=kernel,
                     half_width=half_width)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)


def test_area_is_adaptive_average_pooling():
    x = RNG.standard_normal((2, 3, 7, 10))
    out = F.interpolate(dn.tensor(x), size=(3, 4), mode="area").numpy()
    np.testing.assert_allclose(out, F.adaptive_avg_pool2d(dn.tensor(x), (3, 4)).numpy(),
                               rtol=0, atol=0)
    ref = np.empty((2, 3, 3, 4))
    for i in range(3):
        for j in range(4):
            rows = slice(i * 7 // 3, -(-(i + 1) * 7 // 3))
            cols = slice(j * 10 // 4, -(-(j + 1) * 10 // 4))
            ref[..., i, j] = x[..., rows, cols].mean(axis=(-2, -1))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


NEW_TORCH_CASES = [  # shape, keyword arguments: every new mode x align_corners x antialias,
    # up and down, size and scale_factor (kept or recomputed), 3-D / 4-D / 5-D where allowed
    ((2, 3, 5, 7), dict(size=(9, 13), mode="bicubic")),
    ((2, 3, 9, 8), dict(size=(4, 3), mode="bicubic")),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6), mode="bicubic")),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6), mode="bicubic", recompute_scale_factor=True)),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bicubic", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=2.5, mode="bicubic", align_corners=True)),
    ((2, 3, 5, 7), dict(size=(1, 7), mode="bicubic", align_corners=True)),
    ((2, 3, 12, 13), dict(size=(5, 3), mode="bilinear", antialias=True)),
    ((2, 3, 5, 7), dict(size=(9, 16), mode="bilinear", antialias=True)),
    ((2, 3, 12, 13), dict(scale_factor=(0.3, 0.45), mode="bilinear", antialias=True)),
    ((2, 3, 12, 13), dict(scale_factor=(0.3, 1.5), mode="bilinear", antialias=True,
                          align_corners=True)),
    ((2, 3, 12, 13), dict(size=(5, 3), mode="bicubic", antialias=True)),
    ((2, 3, 5, 7), dict(size=(9, 16), mode="bicubic", antialias=True)),
    ((2, 3, 12, 13), dict(scale_factor=0.35, mode="bicubic", antialias=True,
                          recompute_scale_factor=True)),
    ((2, 3, 12, 13), dict(size=(4, 20), mode="bicubic", antialias=True, align_corners=True)),
    ((2, 3, 12, 13), dict(size=(5, 3), mode="lanczos", antialias=True)),
    ((2, 3, 5, 7), dict(scale_factor=(2.2, 0.6), mode="lanczos", antialias=True)),
    ((2, 3, 12, 13), dict(size=(12, 5), mode="bilinear", antialias=True)),  # one dim kept
    ((2, 3, 7), dict(size=3, mode="area")),
    ((2, 3, 7), dict(scale_factor=1.6, mode="area")),
    ((2, 3, 7, 10), dict(size=(3, 4), mode="area")),
    ((2, 3, 7, 10), dict(scale_factor=(1.5, 0.35), mode="area")),
    ((1, 2, 5, 6, 7), dict(size=(3, 9, 4), mode="area")),
    ((1, 2, 5, 6, 7), dict(scale_factor=0.5, mode="area")),
]


@pytest.mark.parametrize("shape,kwargs", NEW_TORCH_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_new_modes_forward_and_gradient_match_torch(shape, kwargs, dtype):
    # float32: torch's build evaluates the cubic weights with fused multiply-adds, which moves
    # the far taps' weights (a cancelling polynomial) by up to ~1e-6
    tol = 1e-5 if dtype == "float32" else 1e-12
    _match_torch(shape, kwargs, dtype, tol, tol)


@pytest.mark.parametrize("kwargs", [dict(size=(5, 3), mode="bicubic"),
                                    dict(size=(2, 6), mode="bicubic", align_corners=True),
                                    dict(size=(2, 3), mode="bilinear", antialias=True),
                                    dict(size=(5, 2), mode="bicubic", antialias=True),
                                    dict(size=(2, 3), mode="lanczos", antialias=True),
                                    dict(scale_factor=(1.1, 0.5), mode="bicubic",
                                         antialias=True),
                                    dict(size=(2, 3), mode="area")])
def test_new_modes_gradcheck_float64_to_second_order(kwargs):
    x = dn.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, **kwargs), (x,))
    assert gradgradcheck(lambda t: F.interpolate(t, **kwargs), (x,))


def test_gradient_is_the_transpose_where_the_size_is_kept():
    """scale_factor=1.1 on a size of 6 keeps 6 outputs but moves the samples. torch's forward
    resamples (bicubic) or skips the dim (antialias); its backward copies the gradient
    (bicubic) or resamples it (antialias), neither the forward's transpose. Ours is the
    transpose: the gradient check passes."""
    x = dn.tensor(RNG.standard_normal((1, 1, 6, 6)), requires_grad=True)
    for kwargs in (dict(mode="bicubic"), dict(mode="bilinear", antialias=True)):
        assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.1, **kwargs), (x,))
    out = F.interpolate(x, scale_factor=1.1, mode="bilinear", antialias=True)
    np.testing.assert_array_equal(out.detach().numpy(), x.detach().numpy())  # torch's skip


def test_new_modes_bad_input():
    x = dn.ones(1, 1, 4, 4)
    with pytest.raises(ValueError, match="anti-alias.*'nearest'.*\\[1, 1, 4, 4\\]"):
        F.interpolate(x, scale_factor=2, antialias=True)
    with pytest.raises(ValueError, match="anti-alias.*\\[1, 1, 4\\]"):
        F.interpolate(dn.ones(1, 1, 4), scale_factor=2, mode="linear", antialias=True)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, size=2, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="lanczos mode requires antialias=True"):
        F.interpolate(x, size=2, mode="lanczos")
    with pytest.raises(ValueError, match="lanczos mode does not support align_corners"):
        F.interpolate(x, size=2, mode="lanczos", antialias=True, align_corners=True)
    with pytest.raises(NotImplementedError, match="lanczos mode needs 4D input"):
        F.interpolate(dn.ones(1, 1, 4), size=2, mode="lanczos")
    with pytest.raises(NotImplementedError, match="int64 input.*\\[1, 1, 4, 4\\]"):
        F.interpolate(dn.ones(1, 1, 4, 4, dtype=dn.int64), size=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="area.*int64"):
        F.interpolate(dn.ones(1, 1, 4, 4, dtype=dn.int64), size=2, mode="area")
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.interpolate(x, size=(0, 2), mode="bicubic", antialias=True)


def test_upsample_module_takes_the_new_modes():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((1, 2, 5, 6)).astype("float32")
    for kwargs in (dict(scale_factor=2, mode="bicubic"), dict(size=(3, 4), mode="area"),
                   dict(size=(7, 3), mode="bicubic", align_corners=True)):
        ours = nn.Upsample(**kwargs)(dn.tensor(x)).numpy()
        theirs = torch.nn.Upsample(**kwargs)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_doctests():
    assert doctest.testmod(resize_ops).failed == 0
