"""Embedding lookups and one_hot on CUDA against the CPU (repeated indices accumulate in the
backward's atomic scatter, padding_idx gets no gradient, max_norm renormalises on the device)."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F

INDICES = np.array([[1, 3, 1], [0, 4, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_matches_cpu(check, dtype, padding_idx):
    weight = np.random.default_rng(0).standard_normal((5, 3)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12  # repeated rows add up in any order
    check(lambda i, w: F.embedding(i, w, padding_idx=padding_idx), INDICES, weight, rtol=tol,
          atol=tol)


def test_embedding_max_norm_renormalises_rows_on_the_device():
    weight = np.random.default_rng(1).standard_normal((5, 3)) * 3
    rows = {}
    for device in ("cpu", "cuda"):
        w = dn.tensor(weight, device=device)
        F.embedding(dn.tensor(INDICES, device=device), w, max_norm=1.0)
        rows[device] = w.cpu().numpy()
    np.testing.assert_allclose(rows["cuda"], rows["cpu"], rtol=1e-12)
    assert np.linalg.norm(rows["cpu"][[0, 1, 3, 4]], axis=1).max() <= 1.0 + 1e-6


def test_one_hot_matches_cpu():
    for device_out in ("cuda",):
        got = F.one_hot(dn.tensor(INDICES, device=device_out), 6)
        assert got.device.type == "cuda" and got.dtype == dn.int64
        np.testing.assert_array_equal(got.cpu().numpy(), F.one_hot(dn.tensor(INDICES), 6).numpy())


def test_mixed_devices_name_both():
    with pytest.raises(RuntimeError, match="embedding: .*cpu and cuda:0"):
        F.embedding(dn.tensor(INDICES), dn.ones(5, 3, device="cuda"))
