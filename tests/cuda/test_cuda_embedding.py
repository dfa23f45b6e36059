"""Embedding lookups and one_hot on CUDA against the CPU (repeated indices accumulate in the
backward's atomic scatter, padding_idx gets no gradient, scale_grad_by_freq divides by the
atomically counted occurrences, max_norm renormalises on the device)."""
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("indices", [INDICES, INDICES[1]], ids=["2d", "1d"])
def test_embedding_scale_grad_by_freq_matches_cpu(check, dtype, padding_idx, indices):
    weight = np.random.default_rng(2).standard_normal((5, 3)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    check(lambda i, w: F.embedding(i, w, padding_idx=padding_idx, scale_grad_by_freq=True),
          indices, weight, rtol=tol, atol=tol)


def test_embedding_scale_grad_by_freq_with_max_norm_matches_cpu(check):
    weight = np.random.default_rng(3).standard_normal((5, 3)) * 3
    check(lambda i, w: F.embedding(i, w, max_norm=1.0, scale_grad_by_freq=True), INDICES, weight,
          rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_scatter_rows_kernel_matches_cpu(dtype, index_dtype, scale_grad_by_freq):
    from dualnet.core.ops.embedding import cpu, cuda
    indices = np.array([2, 0, 2, 4, 2, 4], dtype=index_dtype)
    rows = np.random.default_rng(4).standard_normal((6, 2)).astype(dtype)
    expected = cpu.scatter_rows(5, indices, rows, 4, scale_grad_by_freq)
    got = cuda.scatter_rows(5, cuda.xp.asarray(indices), cuda.xp.asarray(rows), 4,
                            scale_grad_by_freq)
    assert got.dtype == expected.dtype == dtype
    tol = 1e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(np.asarray(got.get() if hasattr(got, "get") else got),
                               expected, rtol=tol, atol=tol)
    if scale_grad_by_freq:  # row 2 is looked up 3 times, row 4 (skipped) twice
        np.testing.assert_allclose(expected[2], rows[[0, 2, 4]].astype(np.float64).sum(0) / 3,
                                   rtol=tol, atol=tol)
        assert not expected[4].any()


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
