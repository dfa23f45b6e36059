"""Conv kernels: cuda.py (im2col / col2im + products) against cpu.py on the same arrays, both
layouts, strides, padding (asymmetric too), dilation and groups; then the ops end to end."""
import importlib

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.conv import cpu
from dualnet.core.ops.conv.geometry import plan


@pytest.fixture
def cuda():
    """cuda.py of the family, imported in the test: a module-level import would fail at
    collection where there is neither a GPU with CuPy nor the simulator (the tests skip there)."""
    return importlib.import_module("dualnet.core.ops.conv.cuda")


# (input NCHW shape, weight shape, stride, padding, dilation, groups)
CASES = [
    ((2, 3, 5, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 4, 6, 5), (6, 2, 3, 2), (2, 1), ((1, 2), (0, 1)), 1, 2),
    ((1, 2, 7, 7), (2, 2, 2, 3), 2, 1, (2, 1), 1),
    ((2, 4, 4, 4), (4, 1, 3, 3), 1, 1, 1, 4),  # depthwise: cpu.py's direct loops
    ((2, 3, 4, 5), (5, 3, 1, 1), 1, 0, 1, 1),  # pointwise
]


def _geometry(case, layout):
    in_shape, w_shape, stride, padding, dilation, groups = case
    if layout == "NHWC":
        in_shape = (in_shape[0], in_shape[2], in_shape[3], in_shape[1])
    return plan("conv2d", in_shape, w_shape, (w_shape[0],), stride, padding, dilation, groups,
                layout, True, False, 0)[2]


def _arrays(case, layout, dtype):
    rng = np.random.default_rng(1)
    in_shape, w_shape = case[0], case[1]
    x = rng.standard_normal(in_shape).astype(dtype)
    if layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return x, rng.standard_normal(w_shape).astype(dtype), rng.standard_normal(w_shape[0]).astype(
        dtype)


def _out_shape(geom, n, channels, size):
    return (n, *size, channels) if geom.layout == "NHWC" else (n, channels, *size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_kernels_match_cpu(cuda, case, layout, dtype):
    geom = _geometry(case, layout)
    x, w, b = _arrays(case, layout, dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    shape = _out_shape(geom, x.shape[0], w.shape[0], geom.out_size)
    want, got = np.empty(shape, dtype), np.empty(shape, dtype)
    cpu.conv_forward(x, w, b, geom, want)
    cuda.conv_forward(x, w, b, geom, got)
    np.testing.assert_allclose(got, want, **tol)

    grad = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    want, got = np.empty(x.shape, dtype), np.full(x.shape, np.nan, dtype)
    cpu.conv_input_grad(grad, w, geom, want)
    cuda.conv_input_grad(grad, w, geom, got)
    np.testing.assert_allclose(got, want, **tol)

    want, got = np.empty(w.shape, dtype), np.full(w.shape, np.nan, dtype)
    cpu.conv_weight_grad(x, grad, geom, want)
    cuda.conv_weight_grad(x, grad, geom, got)
    np.testing.assert_allclose(got, want, **tol)


# ----------------------------------------------------------------------- the ops end to end

from dualnet.core.ops.conv.ops import convolution, convolution_transpose  # noqa: E402

OPS = [
    ("conv2d", lambda x, w, b: dn.conv2d(x, w, b, stride=2, padding=1), [(2, 2, 5, 5),
                                                                        (3, 2, 3, 3), (3,)]),
    ("conv2d-groups", lambda x, w: dn.conv2d(x, w, groups=2, dilation=(1, 2)),
     [(1, 4, 4, 6), (2, 2, 2, 2)]),
    ("conv1d", lambda x, w, b: dn.conv1d(x, w, b, padding=1), [(2, 2, 6), (3, 2, 3), (3,)]),
    ("conv-nhwc-same", lambda x, w, b: convolution(x, w, b, stride=2, padding="same",
                                                   layout="NHWC"), [(1, 5, 4, 2), (3, 2, 3, 3),
                                                                    (3,)]),
    ("conv-nhwc-relu", lambda x, w, b: convolution(x, w, b, padding=1, layout="NHWC",
                                                   relu=True), [(2, 4, 4, 3), (2, 3, 3, 3),
                                                                (2,)]),
    ("conv-nchw-relu", lambda x, w, b: convolution(x, w, b, stride=2, relu=True),
     [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    ("conv_transpose2d", lambda x, w, b: dn.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                             output_padding=1),
     [(1, 2, 3, 3), (2, 3, 3, 3), (3,)]),
    ("conv_transpose1d", lambda x, w: dn.conv_transpose1d(x, w, stride=2), [(2, 2, 3),
                                                                            (2, 1, 2)]),
    ("conv_transpose-nhwc", lambda x, w: convolution_transpose(x, w, stride=2, layout="NHWC"),
     [(1, 3, 3, 2), (2, 2, 2, 2)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", OPS, ids=[r[0] for r in OPS])
def test_ops_match_cpu(check, row, dtype):
    _, fn, shapes = row
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    check(fn, *arrays, **tol)


def test_double_backward_matches_cpu(check):
    """A gradient penalty: conv's backward ops (input and weight gradients) differentiated."""
    rng = np.random.default_rng(3)

    def penalty(x, w):
        y = dn.conv2d(x, w, stride=2, padding=1)
        gx, gw = dn.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()

    check(penalty, rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)),
          rtol=1e-11, atol=1e-11)
