"""Pooling kernels: cuda.py against cpu.py on the same arrays (max with indices, its backward and
the index gather, average with each divisor rule and its backward; fixed and adaptive windows,
padding, dilation, ceil_mode, both layouts), then the ops end to end."""
import importlib

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.pooling import cpu, geometry


@pytest.fixture
def cuda():
    """cuda.py of the family, imported in the test: a module-level import would fail at
    collection where there is neither a GPU with CuPy nor the simulator (the tests skip there)."""
    return importlib.import_module("dualnet.core.ops.pooling.cuda")


# (kind, geometry builder arguments after op and shape) for an NCHW (2, 3, 7, 6) input
CASES = [
    ("fixed", (2, 2, 0, 1, False, True, 0)),
    ("fixed", (3, 2, 1, 1, True, False, 0)),
    ("fixed", ((3, 2), 1, (1, 0), (2, 1), False, True, 0)),
    ("fixed", (3, 2, 1, 1, False, True, 5)),
    ("adaptive", ((3, 4),)),
    ("adaptive", (1,)),
]
SHAPE = (2, 3, 7, 6)


def _geometry(case, layout):
    kind, args = case
    shape = SHAPE if layout == "NCHW" else (SHAPE[0], SHAPE[2], SHAPE[3], SHAPE[1])
    if kind == "adaptive":
        return geometry.adaptive("pool", shape, layout, *args)
    return geometry.fixed("pool", shape, layout, *args)


def _input(geom, dtype, nan=False):
    x = np.random.default_rng(3).standard_normal(geom.kernel_in).astype(dtype)
    if nan:
        x.reshape(-1)[[5, 40]] = np.nan
    return x


TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-13, atol=1e-13)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_max_kernels_match_cpu(cuda, case, layout, dtype):
    geom = _geometry(case, layout)
    x = _input(geom, dtype, nan=case is CASES[1])
    want, want_idx = np.empty(geom.kernel_out, dtype), np.empty(geom.kernel_out, np.int64)
    got, got_idx = np.empty_like(want), np.empty_like(want_idx)
    cpu.max_pool(x, geom.windows, geom.channels_last, want, want_idx)
    cuda.max_pool(x, geom.windows, geom.channels_last, got, got_idx)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_idx, want_idx)

    grad = np.random.default_rng(4).standard_normal(geom.kernel_out).astype(dtype)
    want, got = np.empty(x.shape, dtype), np.full(x.shape, np.nan, dtype)
    cpu.max_pool_backward(grad, want_idx, geom.channels_last, want)
    cuda.max_pool_backward(grad, want_idx, geom.channels_last, got)
    np.testing.assert_allclose(got, want, **TOL[dtype])

    want, got = np.empty(geom.kernel_out, dtype), np.empty(geom.kernel_out, dtype)
    cpu.gather_indices(x, want_idx, geom.channels_last, want)
    cuda.gather_indices(x, want_idx, geom.channels_last, got)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_avg_kernels_match_cpu(cuda, case, layout, dtype):
    geom = _geometry(case, layout)
    x = _input(geom, dtype)
    want, got = np.empty(geom.kernel_out, dtype), np.empty(geom.kernel_out, dtype)
    cpu.avg_pool(x, geom.windows, geom.divisor, geom.channels_last, want)
    cuda.avg_pool(x, geom.windows, geom.divisor, geom.channels_last, got)
    np.testing.assert_allclose(got, want, **TOL[dtype])

    grad = np.random.default_rng(4).standard_normal(geom.kernel_out).astype(dtype)
    want, got = np.empty(x.shape, dtype), np.full(x.shape, np.nan, dtype)
    cpu.avg_pool_backward(grad, geom.windows, geom.divisor, geom.channels_last, want)
    cuda.avg_pool_backward(grad, geom.windows, geom.divisor, geom.channels_last, got)
    np.testing.assert_allclose(got, want, **TOL[dtype])


# ----------------------------------------------------------------------- the ops end to end

import dualnet.nn.functional as F  # noqa: E402

OPS = [
    ("max_pool2d", lambda x: F.max_pool2d(x, 2, stride=1, padding=1), (2, 2, 4, 5)),
    ("max_pool2d_with_indices", lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True,
                                                       return_indices=True), (1, 2, 5, 5)),
    ("max_pool1d", lambda x: F.max_pool1d(x, 2, dilation=2), (2, 2, 7)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
     (1, 2, 5, 6)),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 2), (2, 3, 6)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 5)),
    ("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 4), (1, 2, 7)),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), (2, 3, 3, 4)),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), (1, 2, 7)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", OPS, ids=[r[0] for r in OPS])
def test_ops_match_cpu(check, row, dtype):
    _, fn, shape = row
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    check(fn, x, **TOL[dtype])


def test_max_pool_double_backward_matches_cpu(check):
    # grad of the gradient: MaxPoolBackward's backward is the index gather
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 4))

    def grad_of_pool(x):
        y = F.max_pool2d(x, 2)
        (g,) = dn.autograd.grad(y.sum() * 1.0, x, create_graph=True)
        return g * x

    check(grad_of_pool, x, rtol=1e-12, atol=1e-12)
