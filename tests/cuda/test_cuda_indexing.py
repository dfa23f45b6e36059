"""Indexing on CUDA against the CPU: reads, writes and their gradients."""
import numpy as np
import pytest

import dualnet as dn

rng = np.random.default_rng(5)
X = rng.standard_normal((4, 3, 5))
INDEX = np.array([2, 0, 2, 3])  # a repeat: its gradient must accumulate
# index arrays drawn once: the CPU and the CUDA run of a check must see the same ones
GATHER_1 = rng.integers(0, 3, (4, 2, 5))
GATHER_2 = rng.integers(0, 5, (4, 3, 2))
ALONG_2 = rng.integers(0, 5, (4, 3, 1))
MASK_3x5 = rng.random((3, 5)) < 0.5
MASK_5 = rng.random(5) < 0.5


def _on(a, array):
    return dn.tensor(array, device=a.device)


READS = {
    "basic": lambda a: a[1, :, 1:4:2] * 2,
    "none_ellipsis": lambda a: a[None, ..., 0] * 2,
    "int_list": lambda a: a[[0, 2, 2]] * 2,
    "index_tensor": lambda a: a[_on(a, INDEX)] * 2,
    "two_index_tensors": lambda a: a[_on(a, INDEX), :, _on(a, [1, 1, 0, 4])] * 2,
    "split_index_tensors": lambda a: a[_on(a, [0, 3]), 1:, _on(a, [4, 4])] * 2,
    "bool_mask": lambda a: a[a > 0.3] * 2,
    "row_mask": lambda a: a[_on(a, [True, False, True, True])] * 2,
    "index_select": lambda a: a.index_select(2, _on(a, [4, 0, 4])) * 2,
    "gather": lambda a: a.gather(1, _on(a, GATHER_1)) * 2,
    "take_along_dim": lambda a: dn.take_along_dim(a, _on(a, ALONG_2), 2) * 2,
    "masked_select": lambda a: dn.masked_select(a, a < 0) * 2,
    "masked_fill": lambda a: a.masked_fill(a > 1.0, -2.0) * 2,
    "scatter": lambda a: a.scatter(0, _on(a, [[1, 0, 2, 3, 1]]).unsqueeze(1).expand(1, 3, 5)
                                   .contiguous(), a[:1] * 3),
    "scatter_add": lambda a: a.scatter_add(2, _on(a, GATHER_2), a[:, :, :2] * 3),
}


@pytest.mark.parametrize("name", sorted(READS))
def test_indexing_forward_backward(check, name):
    check(READS[name], X)


def test_float32_reads(check):
    check(lambda a: (a[_on(a, INDEX)], a[a > 0], a.gather(2, _on(a, GATHER_2))),
          X.astype(np.float32))


def test_setitem_and_its_gradients(check):
    def writes(a, v):
        c = a * 1.0
        c[0] = 0.5
        c[1, :, 2] = v[:3]
        c[_on(a, [2, 3]), 1] = v
        c[c > 1.5] = -1.0
        return c

    check(writes, X, rng.standard_normal(5))


def test_scatter_add_repeats(check):
    ints = rng.integers(0, 9, (3, 4))
    check(lambda a: a.scatter_add(0, _on(a, [[0, 0, 2, 0]]), a[:1] * 2), ints, grad=False)
    check(lambda a: a.scatter_add(0, _on(a, [[1, 1, 1, 1], [1, 0, 1, 1]]), a[:2, :4] * 2), X[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.int8, np.uint8,
                                   np.float16, np.bool_])
def test_accumulating_kernel_every_dtype(dtype):
    # the atomic-add kernel, and the wider copy for the dtypes atomics lack, against cpu.py
    from dualnet.core.ops.indexing import cpu, cuda

    start = (rng.integers(0, 3, (4, 3)) * 50).astype(dtype)
    values = (rng.integers(0, 3, (5, 3)) * 50).astype(dtype)
    key = (np.array([1, 3, 1, 1, 0]),)
    expected, actual = start.copy(), cuda.xp.asarray(start)
    cpu.index_put_accumulate(expected, key, values)
    cuda.index_put_accumulate(actual, tuple(cuda.xp.asarray(k) for k in key),
                              cuda.xp.asarray(values))
    np.testing.assert_array_equal(dn.core.device.to_host(actual), expected)


def test_masked_fill_inplace_and_nonzero(check):
    def fill(a):
        c = a * 1.0
        c.masked_fill_(_on(a, MASK_3x5), 7.0)  # broadcast over dim 0
        c[1].masked_fill_(_on(a, MASK_5), dn.tensor(-3.0, device=a.device))
        return c

    check(fill, X)
    sparse = np.where(rng.random((3, 4)) < 0.5, X[0, :, :4], 0.0)
    check(lambda a: (a.nonzero(), dn.argwhere(a), *a.nonzero(as_tuple=True)), sparse, grad=False)


def test_cpu_index_tensor_on_cuda_input_is_moved():
    gpu = dn.tensor(X, device="cuda")
    picked = gpu[dn.tensor(INDEX)]
    assert picked.device == "cuda:0"
    np.testing.assert_array_equal(picked.cpu().numpy(), X[INDEX])


def test_mixed_devices_name_both():
    gpu, index = dn.tensor(X, device="cuda"), dn.tensor([[[0]]])
    for op in (lambda: gpu.gather(0, index), lambda: gpu.index_select(0, dn.tensor([0])),
               lambda: gpu.masked_fill(dn.tensor(X) > 0, 1.0),
               lambda: gpu.scatter_add(0, index, gpu[:1, :1, :1])):
        with pytest.raises(RuntimeError, match="cuda:0 and cpu|cpu and cuda:0"):
            op()
