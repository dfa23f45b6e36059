"""Interpolation on CUDA against the CPU: every mode (bicubic, antialiased and area among them),
forward and backward (the transposes' atomic scatter-adds), float32 and float64; and the axis
kernels, two-tap and many-tap, on the same arrays."""
import importlib

import numpy as np
import pytest

import dualnet.nn.functional as F
from dualnet.core.ops.resize import cpu, geometry
from dualnet.core.ops.resize.ops import resize


@pytest.fixture
def cuda():
    """cuda.py of the family, imported in the test: a module-level import would fail at
    collection where there is neither a GPU with CuPy nor the simulator (the tests skip there)."""
    return importlib.import_module("dualnet.core.ops.resize.cuda")


ROWS = [
    ("nearest-up", lambda x: F.interpolate(x, scale_factor=2), (1, 2, 3)),
    ("nearest-exact", lambda x: F.interpolate(x, size=(5, 2), mode="nearest-exact"),
     (1, 2, 3, 4)),
    ("linear", lambda x: F.interpolate(x, size=7, mode="linear"), (2, 1, 4)),
    ("bilinear-align", lambda x: F.interpolate(x, size=(4, 5), mode="bilinear",
                                               align_corners=True), (1, 2, 3, 3)),
    ("bilinear-down", lambda x: F.interpolate(x, scale_factor=0.5, mode="bilinear"),
     (1, 1, 5, 6)),
    ("trilinear", lambda x: F.interpolate(x, size=(2, 3, 3), mode="trilinear"),
     (1, 1, 2, 2, 2)),
    ("channels-last-resize", lambda x: resize(x, (4, 3), (1, 2)), (1, 2, 2, 3)),
    ("bicubic", lambda x: F.interpolate(x, size=(4, 2), mode="bicubic"), (1, 1, 3, 3)),
    ("bicubic-align", lambda x: F.interpolate(x, size=(2, 5), mode="bicubic",
                                              align_corners=True), (1, 1, 3, 2)),
    ("bilinear-antialias", lambda x: F.interpolate(x, size=(2, 3), mode="bilinear",
                                                   antialias=True), (1, 1, 5, 4)),
    ("bicubic-antialias", lambda x: F.interpolate(x, size=(2, 4), mode="bicubic",
                                                  antialias=True), (1, 1, 5, 3)),
    ("lanczos", lambda x: F.interpolate(x, size=(2, 2), mode="lanczos", antialias=True),
     (1, 1, 4, 3)),
    ("area", lambda x: F.interpolate(x, size=(2, 3), mode="area"), (1, 2, 3, 4)),
    ("channels-last-bicubic", lambda x: resize(x, (3, 2), (1, 2), mode="bicubic"),
     (1, 2, 2, 2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_matches_cpu(check, row, dtype):
    _, fn, shape = row
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    check(fn, x, **tol)


def test_axis_kernels_match_cpu(cuda):
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    plan = geometry.linear_plan(5, 8, None, False, "float64")
    got, want = cuda.resize_axis(x, 1, *plan), cpu.resize_axis(x, 1, *plan)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    g = np.random.default_rng(2).standard_normal((2, 8, 3))
    np.testing.assert_allclose(cuda.resize_axis_transpose(g, 1, *plan, 5),
                               cpu.resize_axis_transpose(g, 1, *plan, 5), rtol=1e-13)


def test_many_tap_axis_kernels_match_cpu(cuda):
    x = np.random.default_rng(3).standard_normal((2, 6, 3))
    for plan in (geometry.cubic_plan(6, 4, None, False, "float64"),
                 geometry.antialias_plan(6, 2, None, False, "cubic", "float64")):
        np.testing.assert_allclose(cuda.resize_axis_taps(x, 1, *plan),
                                   cpu.resize_axis_taps(x, 1, *plan), rtol=1e-13)
        g = np.random.default_rng(4).standard_normal((2, plan[0].shape[0], 3))
        np.testing.assert_allclose(cuda.resize_axis_taps_transpose(g, 1, *plan, 6),
                                   cpu.resize_axis_taps_transpose(g, 1, *plan, 6),
                                   rtol=1e-13, atol=1e-13)
