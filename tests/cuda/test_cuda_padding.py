"""Padding on CUDA against the CPU: every mode (constant with a value and with negative widths
cropping, reflect, replicate, circular), forward and backward; and the kernels directly."""
import numpy as np
import pytest

import dualnet.nn.functional as F

PADS = [
    ("constant", (1, 2), {"value": 1.5}),
    ("constant-crop", (-1, 2, 1, -1), {}),
    ("reflect", (2, 1, 1, 2), {"mode": "reflect"}),
    ("replicate", (1, 3), {"mode": "replicate"}),
    ("circular", (2, 2, 1, 0), {"mode": "circular"}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", PADS, ids=[r[0] for r in PADS])
def test_pad_matches_cpu(check, row, dtype):
    _, pad, options = row
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12  # copies of an edge add up in any order
    check(lambda x: F.pad(x, pad, **options), x, rtol=tol, atol=tol)


def test_pad_kernels_match_cpu():
    from dualnet.core.ops.padding import cpu, cuda

    a = np.arange(24).reshape(2, 3, 4)
    widths = ((1, 0), (-1, 2), (2, -3))
    np.testing.assert_array_equal(cuda.constant_pad(a, widths, 7), cpu.constant_pad(a, widths, 7))
    for mode in ("reflect", "replicate", "circular"):
        np.testing.assert_array_equal(cuda.source_index(4, 3, 2, mode),
                                      cpu.source_index(4, 3, 2, mode))
