"""The pooling family: max / average pooling over fixed and adaptive windows, 1-D and 2-D.

Each op is a row of a table, run forward against a NumPy reference written with plain loops,
through a float64 gradient check, and forward + backward (and the max indices) against torch
where it is installed. Then the layouts (NHWC / NLC give the same numbers as NCHW / NCL),
Keras's "valid" / "same" padding, second derivatives, NaN and dtype rules, the parallel build,
and bad input.
"""
import doctest
import math

import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet.core.ops.pooling import ops as pooling

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------- NumPy references

def _out_size(n, k, s, before, after, d, ceil_mode):
    """torch's rule, spelled out: the last window must start inside the input or left pad."""
    span = n + before + after - d * (k - 1) - 1
    out = (math.ceil if ceil_mode else math.floor)(span / s) + 1
    if ceil_mode and (out - 1) * s >= n + before:
        out -= 1
    return out


def _fixed_windows(n, k, s, before, after, d, ceil_mode, count_pad):
    """[(taps inside the input, divisor)] of each output along one dim."""
    windows = []
    for o in range(_out_size(n, k, s, before, after, d, ceil_mode)):
        start = o * s - before
        taps = [start + j * d for j in range(k) if 0 <= start + j * d < n]
        divisor = min(start + k, n + after) - start if count_pad else len(taps)
        windows.append((taps, divisor))
    return windows


def reference(x, kind, rows, cols, divisor=None):
    """Pool a float64 (N, C, H, W) array over window tables; (values, flat indices)."""
    n, c = x.shape[:2]
    width = x.shape[3]
    out = np.zeros((n, c, len(rows), len(cols)))
    indices = np.zeros(out.shape, np.int64)
    for i, (hs, hdiv) in enumerate(rows):
        for j, (ws, wdiv) in enumerate(cols):
            window = x[:, :, hs][:, :, :, ws].reshape(n, c, -1)
            if kind == "max":
                arg = window.argmax(-1)  # the first max, as torch
                out[:, :, i, j] = window.max(-1)
                indices[:, :, i, j] = np.array(hs)[arg // len(ws)] * width + \
                    np.array(ws)[arg % len(ws)]
            else:
                size = divisor or (hdiv or len(hs)) * (wdiv or len(ws))
                out[:, :, i, j] = window.sum(-1) / size
    return out, indices


def _pairs(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def ref_fixed(kind, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
              count_include_pad=True, divisor_override=None):
    def run(x):
        spatial = x.ndim - 2
        ks, ss = _pairs(kernel, spatial), _pairs(stride or kernel, spatial)
        ps, ds = _pairs(padding, spatial), _pairs(dilation, spatial)
        axes = [_fixed_windows(n, k, s, p, p, d, ceil_mode, count_include_pad)
                for n, k, s, p, d in zip(x.shape[2:], ks, ss, ps, ds)]
        return _pool(x, kind, axes, divisor_override)
    return run


def ref_adaptive(kind, size):
    def run(x):
        sizes = [n if s is None else s for n, s in zip(x.shape[2:], _pairs(size, x.ndim - 2))]
        axes = [[(list(range(i * n // o, -(-(i + 1) * n // o))), None) for i in range(o)]
                for n, o in zip(x.shape[2:], sizes)]
        return _pool(x, kind, axes)
    return run


def _pool(x, kind, axes, divisor=None):
    """reference() for (N, C, H, W) or (N, C, L) input (a height of one window of one tap)."""
    if x.ndim == 3:
        out, indices = reference(x[:, :, None], kind, [([0], 1)], axes[0], divisor)
        return out[:, :, 0], indices[:, :, 0]
    return reference(x, kind, axes[0], axes[1], divisor)


# --------------------------------------------------------------------------- the table
# (name, input shape, call(torch.nn.functional-like module, x), NumPy reference)
OPS = [
    ("max2d-k2", (2, 3, 6, 7), lambda L, x: L.max_pool2d(x, 2), ref_fixed("max", 2)),
    ("max2d-k3-s2-p1-ceil", (2, 2, 9, 8),
     lambda L, x: L.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
     ref_fixed("max", 3, 2, 1, ceil_mode=True)),
    ("max2d-rect-dilated", (1, 2, 9, 8),
     lambda L, x: L.max_pool2d(x, (2, 3), (1, 2), (1, 1), (2, 1), return_indices=True),
     ref_fixed("max", (2, 3), (1, 2), (1, 1), (2, 1))),
    ("max2d-ceil-overhang", (1, 2, 10, 7),
     lambda L, x: L.max_pool2d(x, 2, 3, 1, ceil_mode=True, return_indices=True),
     ref_fixed("max", 2, 3, 1, ceil_mode=True)),
    ("max2d-k4-not-unrolled", (1, 1, 5, 5), lambda L, x: L.max_pool2d(x, 4, 1, 2),
     ref_fixed("max", 4, 1, 2)),
    ("max1d-k3-s2-p1-d2-ceil", (2, 3, 11),
     lambda L, x: L.max_pool1d(x, 3, 2, 1, 2, True, True),
     ref_fixed("max", 3, 2, 1, 2, True)),
    ("max1d-k2", (2, 3, 9), lambda L, x: L.max_pool1d(x, 2), ref_fixed("max", 2)),
    ("avg2d-k2", (2, 3, 6, 7), lambda L, x: L.avg_pool2d(x, 2), ref_fixed("avg", 2)),
    ("avg2d-k3-s2-p1-ceil", (2, 2, 9, 8), lambda L, x: L.avg_pool2d(x, 3, 2, 1, True),
     ref_fixed("avg", 3, 2, 1, ceil_mode=True)),
    ("avg2d-no-pad-count", (2, 2, 10, 7), lambda L, x: L.avg_pool2d(x, 3, 2, 1, True, False),
     ref_fixed("avg", 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ("avg2d-divisor", (1, 2, 7, 6), lambda L, x: L.avg_pool2d(x, (3, 2), (2, 1), (1, 0),
                                                              divisor_override=5),
     ref_fixed("avg", (3, 2), (2, 1), (1, 0), divisor_override=5)),
    ("avg1d-k4-s3-p2-ceil", (2, 3, 11), lambda L, x: L.avg_pool1d(x, 4, 3, 2, True),
     ref_fixed("avg", 4, 3, 2, ceil_mode=True)),
    ("adaptive-avg2d", (2, 2, 10, 7), lambda L, x: L.adaptive_avg_pool2d(x, (4, 3)),
     ref_adaptive("avg", (4, 3))),
    ("adaptive-avg2d-global", (2, 3, 5, 4), lambda L, x: L.adaptive_avg_pool2d(x, 1),
     ref_adaptive("avg", 1)),
    ("adaptive-max2d-none", (2, 2, 10, 7),
     lambda L, x: L.adaptive_max_pool2d(x, (4, None), True), ref_adaptive("max", (4, None))),
    ("adaptive-max2d-grow", (1, 2, 3, 4), lambda L, x: L.adaptive_max_pool2d(x, 5, True),
     ref_adaptive("max", 5)),
    ("adaptive-max1d", (2, 3, 10), lambda L, x: L.adaptive_max_pool1d(x, 4, True),
     ref_adaptive("max", 4)),
    ("adaptive-avg1d", (2, 3, 10), lambda L, x: L.adaptive_avg_pool1d(x, 3),
     ref_adaptive("avg", 3)),
]
IDS = [row[0] for row in OPS]


def _values(result):
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("name, shape, call, ref", OPS, ids=IDS)
def test_forward_matches_numpy(name, shape, call, ref):
    x = RNG.standard_normal(shape)
    got = call(F, dn.tensor(x))
    want, want_indices = ref(x)
    np.testing.assert_allclose(_values(got).numpy(), want, rtol=1e-12, atol=1e-12)
    if isinstance(got, tuple):
        assert got[1].dtype is dn.int64
        np.testing.assert_array_equal(got[1].numpy(), want_indices)


@pytest.mark.parametrize("name, shape, call, ref", OPS, ids=IDS)
def test_gradcheck(name, shape, call, ref):
    x = dn.tensor(RNG.standard_normal(shape), requires_grad=True)
    assert dn.autograd.gradcheck(lambda t: _values(call(F, t)), (x,))


@pytest.mark.parametrize("name, shape, call, ref", OPS, ids=IDS)
def test_matches_torch(name, shape, call, ref):
    torch = pytest.importorskip("torch")
    # a non-contiguous input: the values are a transposed copy's
    base = RNG.standard_normal(shape[:-2] + (shape[-1], shape[-2]) if len(shape) == 4
                               else shape[:-1] + (shape[-1] + 3,))
    x = dn.tensor(base, requires_grad=True)
    tx = torch.tensor(base, requires_grad=True)
    view = x.transpose(-1, -2) if len(shape) == 4 else x[..., 1:shape[-1] + 1]
    tview = tx.transpose(-1, -2) if len(shape) == 4 else tx[..., 1:shape[-1] + 1]
    got, want = call(F, view), call(torch.nn.functional, tview)
    if isinstance(want, tuple):
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    got, want = _values(got), _values(want)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    seed = RNG.standard_normal(tuple(want.shape))
    got.backward(dn.tensor(seed))
    want.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["max2d-k2", "max2d-k3-s2-p1-ceil", "avg2d-k3-s2-p1-ceil",
                                  "adaptive-max2d-none", "adaptive-avg2d-global"])
def test_float32_matches_torch(name):
    torch = pytest.importorskip("torch")
    _, shape, call, _ = OPS[IDS.index(name)]
    shape = (shape[0] + 1, shape[1] + 2) + shape[2:]
    base = RNG.standard_normal(shape).astype(np.float32)
    x, tx = dn.tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
    got, want = _values(call(F, x)), _values(call(torch.nn.functional, tx))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    seed = RNG.standard_normal(tuple(want.shape)).astype(np.float32)
    got.backward(dn.tensor(seed))
    want.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert x.grad.dtype is dn.float32


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_parallel_build_matches_the_reference(layout):
    """Arrays above config.PARALLEL_MIN_ELEMENTS (the output gradient too) run prange builds."""
    from dualnet.core.config import PARALLEL_MIN_ELEMENTS

    shape = (4, 8, 144, 132)
    assert math.prod(shape) // 4 >= PARALLEL_MIN_ELEMENTS
    base = RNG.standard_normal(shape).astype(np.float32)
    to_layout = (0, 2, 3, 1) if layout == "NHWC" else (0, 1, 2, 3)
    x = dn.tensor(np.ascontiguousarray(base.transpose(to_layout)), requires_grad=True)
    out, indices = pooling.max_pool(x, 2, return_indices=True, layout=layout)
    seed = RNG.standard_normal(tuple(out.shape)).astype(np.float32)
    out.backward(dn.tensor(seed))
    want, want_indices = ref_fixed("max", 2)(base.astype(np.float64))
    np.testing.assert_array_equal(out.detach().numpy(), want.transpose(to_layout))
    np.testing.assert_array_equal(indices.numpy(), want_indices.transpose(to_layout))
    grad = np.zeros_like(base).reshape(32, -1)
    seed = np.ascontiguousarray(seed.transpose(np.argsort(to_layout)))
    np.put_along_axis(grad, want_indices.reshape(32, -1), seed.reshape(32, -1), axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), grad.reshape(shape).transpose(to_layout))


# --------------------------------------------------------------------------- layouts

# (name, spatial rank, call(x, layout)): the same call in both layouts of that rank
LAYOUT_CALLS = [
    ("max", 2, lambda x, lay: pooling.max_pool(x, 3, 2, 1, 1, True, True, layout=lay)),
    ("max-dilated", 2, lambda x, lay: pooling.max_pool(x, 2, 1, 1, 2, return_indices=True,
                                                       layout=lay)),
    ("avg", 2, lambda x, lay: pooling.avg_pool(x, 3, 2, 1, True, False, layout=lay)),
    ("adaptive-max", 2, lambda x, lay: pooling.adaptive_max_pool(x, (3, 2), True, layout=lay)),
    ("adaptive-avg", 2, lambda x, lay: pooling.adaptive_avg_pool(x, (3, 2), layout=lay)),
    ("global-avg", 2, lambda x, lay: pooling.adaptive_avg_pool(x, 1, layout=lay)),
    ("max-1d", 1, lambda x, lay: pooling.max_pool(x, 3, 2, 1, 2, True, True, layout=lay)),
    ("avg-1d", 1, lambda x, lay: pooling.avg_pool(x, 3, 2, 1, True, False, layout=lay)),
    ("adaptive-max-1d", 1, lambda x, lay: pooling.adaptive_max_pool(x, 4, True, layout=lay)),
    ("adaptive-avg-1d", 1, lambda x, lay: pooling.adaptive_avg_pool(x, 4, layout=lay)),
]


@pytest.mark.parametrize("name, spatial, call", LAYOUT_CALLS, ids=[c[0] for c in LAYOUT_CALLS])
def test_channels_last_gives_the_channels_first_numbers(name, spatial, call):
    shape = (2, 3, 7, 6) if spatial == 2 else (2, 3, 9)
    first, last = ("NCHW", "NHWC") if spatial == 2 else ("NCL", "NLC")
    to_last = (0, 2, 3, 1) if spatial == 2 else (0, 2, 1)
    base = RNG.standard_normal(shape)
    x = dn.tensor(base, requires_grad=True)
    x_last = dn.tensor(np.ascontiguousarray(base.transpose(to_last)), requires_grad=True)
    want, got = call(x, first), call(x_last, last)
    if isinstance(want, tuple):
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy().transpose(to_last))
        want, got = want[0], got[0]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy().transpose(to_last),
                               rtol=1e-12)
    seed = RNG.standard_normal(tuple(want.shape))
    want.backward(dn.tensor(seed))
    got.backward(dn.tensor(np.ascontiguousarray(seed.transpose(to_last))))
    np.testing.assert_allclose(x_last.grad.numpy(), x.grad.numpy().transpose(to_last),
                               rtol=1e-12)
    assert dn.autograd.gradcheck(lambda t: _values(call(t, last)), (x_last,))


def test_unbatched_input():
    x = RNG.standard_normal((3, 6, 5))
    batched = F.max_pool2d(dn.tensor(x[None]), 2, return_indices=True)
    alone = F.max_pool2d(dn.tensor(x), 2, return_indices=True)
    assert alone[0].shape == (3, 3, 2)
    np.testing.assert_array_equal(alone[0].numpy(), batched[0].numpy()[0])
    np.testing.assert_array_equal(alone[1].numpy(), batched[1].numpy()[0])
    last = pooling.avg_pool(dn.tensor(x.transpose(1, 2, 0).copy()), 2, layout="NHWC")
    np.testing.assert_allclose(last.numpy(), F.avg_pool2d(dn.tensor(x), 2).numpy()
                               .transpose(1, 2, 0))
    assert F.avg_pool1d(dn.tensor(x[0]), 2).shape == (6, 2)


def test_empty_batch():
    out = F.max_pool2d(dn.zeros(0, 3, 4, 4, requires_grad=True), 2)
    assert out.shape == (0, 3, 2, 2)
    out.sum().backward()


# --------------------------------------------------------------------------- Keras padding

def test_keras_same_max_pooling_doc_example():
    # keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same") on 1..9
    x = dn.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    out = pooling.max_pool(x, 2, 1, padding="same", layout="NHWC")
    assert out.reshape(3, 3).tolist() == [[5, 6, 6], [8, 9, 9], [8, 9, 9]]


def test_keras_same_average_pooling_does_not_count_padding():
    # keras.layers.AveragePooling1D(pool_size=2, strides=1, padding="same") on [1, 2, 3, 4, 5]
    x = dn.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    out = pooling.avg_pool(x, 2, 1, padding="same", count_include_pad=False, layout="NLC")
    assert out.reshape(-1).tolist() == [1.5, 2.5, 3.5, 4.5, 5.0]


@pytest.mark.parametrize("size, pool, stride", [(7, 2, 2), (6, 3, 2), (5, 3, 1), (8, 3, 3)])
def test_keras_padding_follows_tensorflow(size, pool, stride):
    base = RNG.standard_normal((2, size, size + 1, 3))
    x = dn.tensor(base)
    for padding in ("valid", "same"):
        got_max = pooling.max_pool(x, pool, stride, padding, layout="NHWC")
        got_avg = pooling.avg_pool(x, pool, stride, padding, count_include_pad=False,
                                   layout="NHWC")
        axes = []
        for n in (size, size + 1):
            out = -(-n // stride) if padding == "same" else (n - pool) // stride + 1
            total = max((out - 1) * stride + pool - n, 0) if padding == "same" else 0
            windows = _fixed_windows(n, pool, stride, total // 2, total - total // 2, 1, False,
                                     False)
            assert len(windows) == out
            axes.append(windows)
        nchw = base.transpose(0, 3, 1, 2)
        for got, kind in ((got_max, "max"), (got_avg, "avg")):
            want = reference(nchw, kind, *axes)[0].transpose(0, 2, 3, 1)
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


# --------------------------------------------------------------------------- second derivatives

@pytest.mark.parametrize("call", [
    lambda t: F.max_pool2d(t, 3, 2, 1),
    lambda t: F.avg_pool2d(t, 3, 2, 1, True, False),
    lambda t: F.adaptive_avg_pool2d(t, (2, 3)),
    lambda t: pooling.max_pool(t, 2, 1, layout="NHWC"),
], ids=["max", "avg", "adaptive-avg", "max-nhwc"])
def test_second_derivatives(call):
    x = dn.tensor(RNG.standard_normal((1, 2, 5, 6)), requires_grad=True)
    assert dn.autograd.gradgradcheck(lambda t: call(t) * call(t), (x,))


def test_gradient_of_the_backward_is_the_forward_gather():
    x = dn.tensor(RNG.standard_normal((2, 2, 4, 4)), requires_grad=True)
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    seed = dn.tensor(RNG.standard_normal(tuple(out.shape)), requires_grad=True)
    (grad,) = dn.autograd.grad(out, x, seed, create_graph=True)
    weight = RNG.standard_normal(tuple(x.shape))
    (grad_of_seed,) = dn.autograd.grad((grad * dn.tensor(weight)).sum(), seed)
    want = np.take_along_axis(weight.reshape(4, -1), indices.numpy().reshape(4, -1), axis=1)
    np.testing.assert_allclose(grad_of_seed.numpy(), want.reshape(out.shape))


# --------------------------------------------------------------------------- values and dtypes

def test_nan_and_infinity_follow_torch():
    torch = pytest.importorskip("torch")
    base = RNG.standard_normal((1, 2, 6, 6))
    base[0, 0, 1, 1] = base[0, 0, 0, 1] = np.nan  # two NaNs in one window: the last one wins
    base[0, 1, 2:4, 2:4] = -np.inf
    base[0, 1, 4, 5] = np.inf
    for call in (lambda L, t: L.max_pool2d(t, 2, return_indices=True),
                 lambda L, t: L.max_pool2d(t, 3, 1, 1, return_indices=True),
                 lambda L, t: L.adaptive_max_pool2d(t, 4, return_indices=True)):
        got, want = call(F, dn.tensor(base)), call(torch.nn.functional, torch.tensor(base))
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    got = F.avg_pool2d(dn.tensor(base), 2).numpy()
    np.testing.assert_array_equal(got, torch.nn.functional.avg_pool2d(torch.tensor(base), 2))


def test_channels_last_nan_follows_channels_first():
    base = RNG.standard_normal((1, 2, 4, 4))
    base[0, 1, 0, 1] = base[0, 1, 1, 0] = np.nan
    out, indices = F.max_pool2d(dn.tensor(base), 2, return_indices=True)
    last, last_indices = pooling.max_pool(dn.tensor(base.transpose(0, 2, 3, 1).copy()), 2,
                                          return_indices=True, layout="NHWC")
    np.testing.assert_array_equal(last.numpy(), out.numpy().transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(last_indices.numpy(), indices.numpy().transpose(0, 2, 3, 1))
    assert indices[0, 1, 0, 0].item() == 4


@pytest.mark.parametrize("dtype", ["int64", "uint8", "float16"])
def test_other_dtypes_follow_torch(dtype):
    torch = pytest.importorskip("torch")
    base = RNG.integers(-50 if dtype[0] != "u" else 0, 50, (2, 3, 7, 6)).astype(dtype)
    x, tx = dn.tensor(base), torch.tensor(base)
    calls = [lambda L, t: L.max_pool2d(t, 3, 2, 1, return_indices=True)]
    if dtype in ("int64", "float16"):  # torch averages no other integers
        calls.append(lambda L, t: (L.avg_pool2d(t, 3, 2, 1), None))
    for call in calls:
        got, want = call(F, x), call(torch.nn.functional, tx)
        assert got[0].dtype.name == dtype
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
        if want[1] is not None:
            np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())


def test_half_gradient():
    x = dn.tensor(RNG.standard_normal((1, 1, 4, 4)), dtype=dn.float16, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.dtype is dn.float16 and x.grad.sum().item() == 4


def test_returned_indices_changed_in_place_leave_the_gradient_alone():
    x = dn.tensor(RNG.standard_normal((1, 1, 4, 4)), requires_grad=True)
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    expected = indices.numpy().copy()
    indices.zero_()
    out.sum().backward()
    grad = np.zeros(16)
    grad[expected.reshape(-1)] = 1
    np.testing.assert_array_equal(x.grad.numpy().reshape(-1), grad)


def test_exported_names():
    for name in pooling.FUNCTIONAL:
        assert getattr(F, name) is getattr(pooling, name)
    for name in pooling.__all__:
        assert getattr(dn, name) is getattr(pooling, name)
    values, indices = F.max_pool1d_with_indices(dn.tensor([[[1.0, 3.0, 2.0]]]), 2)
    assert values.tolist() == [[[3.0]]] and indices.tolist() == [[[1]]]


def test_doc_examples():
    result = doctest.testmod(pooling, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- bad input

def _x(*shape):
    return dn.ones(*shape)


BAD = [
    ("max_pool2d", lambda: F.max_pool2d(_x(4, 4), 2), RuntimeError, "[4, 4]"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 3, 4, 5), 2), RuntimeError, "[1, 2, 3, 4, 5]"),
    ("max_pool1d", lambda: F.max_pool1d(_x(1, 2, 3, 4), 2), RuntimeError, "[1, 2, 3, 4]"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 3, 3), 4), RuntimeError, "[1, 2, 3, 3]"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 3, 3), 4, padding=(0, 1)), RuntimeError,
     "3x5"),
    ("max_pool1d", lambda: F.max_pool1d(_x(1, 2, 3), 2, dilation=3), RuntimeError, "[1, 2, 3]"),
    ("avg_pool2d", lambda: F.avg_pool2d(_x(1, 2, 5, 5), 2, padding=2), RuntimeError,
     "padding"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), 3, padding=2), RuntimeError,
     "padding"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), 2, padding=-1), RuntimeError,
     "padding"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), 2, stride=0), RuntimeError, "stride"),
    ("avg_pool1d", lambda: F.avg_pool1d(_x(1, 2, 5), 2, stride=-1), RuntimeError, "stride"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), 0), RuntimeError, "kernel_size"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), 2, dilation=0), RuntimeError,
     "dilation"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), (2, 2, 2)), RuntimeError,
     "kernel_size"),
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 2, 5, 5), 2.5), TypeError, "kernel_size"),
    # torch returns -inf and an index outside the plane here, and its backward writes there
    ("max_pool2d", lambda: F.max_pool2d(_x(1, 1, 2, 2), 2, 1, 1, 3), RuntimeError,
     "padding only"),
    ("avg_pool2d", lambda: F.avg_pool2d(_x(1, 2, 5, 5), 2, divisor_override=0), RuntimeError,
     "divisor"),
    ("adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(_x(2, 3, 0, 7), 2), RuntimeError,
     "[2, 3, 0, 7]"),
    ("adaptive_max_pool2d", lambda: F.adaptive_max_pool2d(_x(5, 5), 2), RuntimeError, "[5, 5]"),
    ("adaptive_max_pool2d", lambda: F.adaptive_max_pool2d(_x(1, 2, 5, 5), (2, -1)),
     RuntimeError, "output_size"),
    ("adaptive_avg_pool1d", lambda: F.adaptive_avg_pool1d(_x(1, 2, 5), (2, 2)), TypeError,
     "output_size"),
    ("max_pool2d", lambda: F.max_pool2d(dn.ones(1, 1, 4, 4, dtype=dn.bool), 2), RuntimeError,
     "bool"),
    ("max_pool2d", lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2), TypeError, "Tensor"),
    ("max_pool", lambda: pooling.max_pool(_x(1, 4, 4, 2), 2, layout="HWC"), ValueError,
     "layout"),
    ("max_pool2d", lambda: pooling.max_pool(_x(1, 4, 4, 2), 2, padding="full", layout="NHWC"),
     ValueError, "padding"),
]


@pytest.mark.parametrize("op, call, exc, says", BAD, ids=[f"{r[0]}-{r[3]}" for r in BAD])
def test_bad_input(op, call, exc, says):
    with pytest.raises(exc) as info:
        call()
    assert op in str(info.value) and says in str(info.value), str(info.value)


@pytest.mark.parametrize("call", [
    lambda F, ones: F.max_pool2d(ones(1, 2, 3, 3), 4),
    lambda F, ones: F.max_pool2d(ones(1, 2, 5, 5), 3, padding=2),
    lambda F, ones: F.max_pool2d(ones(1, 2, 5, 5), 2, stride=0),
    lambda F, ones: F.max_pool2d(ones(4, 4), 2),
    lambda F, ones: F.avg_pool2d(ones(1, 2, 5, 5), 2, padding=-1),
    lambda F, ones: F.adaptive_avg_pool2d(ones(2, 3, 0, 7), 2),
])
def test_bad_input_raises_torchs_class(call):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        call(torch.nn.functional, torch.ones)
    with pytest.raises(type(theirs.value)):
        call(F, dn.ones)
