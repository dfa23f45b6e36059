"""Matrix products on CUDA against the CPU: every op of the matmul family, forward and backward,
float32 and float64 (the products go through the array module on both devices)."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F

# (name, fn, operand shapes)
ROWS = [
    ("matmul-2d", lambda a, b: a @ b, [(3, 4), (4, 2)]),
    ("matmul-batched-broadcast", dn.matmul, [(2, 1, 3, 4), (3, 4, 2)]),
    ("matmul-rows-by-matrix", dn.matmul, [(2, 3, 4), (4, 5)]),
    ("matmul-vector-left", dn.matmul, [(4,), (2, 4, 3)]),
    ("matmul-vector-right", dn.matmul, [(2, 3, 4), (4,)]),
    ("mm", dn.mm, [(2, 3), (3, 4)]),
    ("bmm", dn.bmm, [(2, 3, 4), (2, 4, 2)]),
    ("mv", dn.mv, [(3, 4), (4,)]),
    ("dot", dn.dot, [(5,), (5,)]),
    ("vdot", dn.vdot, [(5,), (5,)]),
    ("outer", dn.outer, [(3,), (4,)]),
    ("addmm", lambda c, a, b: dn.addmm(c, a, b, beta=0.5, alpha=2.0), [(4,), (3, 2), (2, 4)]),
    ("baddbmm", lambda c, a, b: dn.baddbmm(c, a, b, alpha=-1.5), [(2, 3, 1), (2, 3, 4),
                                                                   (2, 4, 1)]),
    ("linear", F.linear, [(3, 4), (5, 4), (5,)]),
    ("linear-3d", F.linear, [(2, 3, 4), (5, 4), (5,)]),
    ("einsum-contract", lambda a, b: dn.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 2)]),
    ("einsum-trace", lambda a: dn.einsum("ii", a), [(3, 3)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_matches_cpu(check, row, dtype):
    _, fn, shapes = row
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    check(fn, *arrays, **tol)


def test_mixed_devices_name_both():
    a, b = dn.ones(2, 2), dn.ones(2, 2, device="cuda")
    with pytest.raises(RuntimeError, match="cuda:0.*cpu|cpu.*cuda:0"):
        dn.matmul(a, b)
