"""The Tensor object: attributes, conversions (numpy, item, tolist, to, NumPy's protocol),
printing (torch's format), devices, and the Python protocols (len, iter, bool, float, index)."""
import copy
import pickle

import numpy as np
import pytest

import dualnet as dn

# ----------------------------------------------------------------------------- attributes


def test_shape_size_and_friends():
    t = dn.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple) and isinstance(t.shape, dn.Size)
    assert repr(t.shape) == "dualnet.Size([2, 3, 4])"
    assert t.shape[1:] == (3, 4) and isinstance(t.shape[1:], dn.Size)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == t.ndim == 3
    assert t.numel() == 24 == t.shape.numel() == dn.numel(t)
    assert t.element_size() == 4 and t.nbytes == 96
    assert t.stride() == (12, 4, 1) and t.stride(0) == 12
    assert t.is_contiguous() and t.is_floating_point() and dn.is_floating_point(t)
    assert not t.is_cuda and t.device == dn.device("cpu")
    assert dn.is_tensor(t) and not dn.is_tensor(np.zeros(2))


def test_numpy_shares_memory():
    t = dn.tensor([1.0, 2.0])
    array = t.numpy()
    array[0] = 5.0
    assert t.tolist() == [5.0, 2.0]


def test_numpy_of_a_tensor_that_requires_grad_raises():
    t = dn.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0]
    assert t.numpy(force=True).tolist() == [1.0]


def test_numpy_array_protocol():
    t = dn.tensor([1.0, 2.0])
    assert np.shares_memory(np.asarray(t), t.numpy())
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert not np.shares_memory(np.array(t), t.numpy())
    assert np.exp(t).dtype == np.float32  # NumPy's ufuncs accept tensors
    assert isinstance(np.float32(2) * t, dn.Tensor)


def test_item_and_tolist():
    assert dn.tensor([2.5]).item() == 2.5 and isinstance(dn.tensor(2.5).item(), float)
    assert isinstance(dn.tensor(3).item(), int) and dn.tensor(True).item() is True
    assert dn.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert dn.tensor(2.0).tolist() == 2.0
    with pytest.raises(RuntimeError, match="2 elements"):
        dn.tensor([1, 2]).item()


def test_to_dtype_device_and_copy():
    t = dn.tensor([1.0, 2.5])
    assert t.to(dn.float32) is t and t.to("cpu") is t
    assert t.to(dn.float32, copy=True) is not t
    assert t.to(dn.int64).tolist() == [1, 2]
    assert t.to("cpu", dn.float64).dtype == dn.float64
    assert t.to(dtype=dn.float64, device="cpu").dtype == dn.float64
    assert t.to(dn.tensor([1], dtype=dn.int32)).dtype == dn.int32
    assert t.double().dtype == dn.float64 and t.long().dtype == dn.int64
    assert t.int().dtype == dn.int32 and t.half().dtype == dn.float16
    assert t.bool().dtype == dn.bool and t.float().dtype == dn.float32
    assert t.cpu() is t
    assert t.type() == "dualnet.float32" and t.type(dn.float64).dtype == dn.float64
    with pytest.raises(RuntimeError, match="tpu"):
        t.to("tpu")
    with pytest.raises(TypeError, match="to"):
        t.to([1])


def test_to_is_differentiable():
    x = dn.tensor([1.0, 2.0], dtype=dn.float64, requires_grad=True)
    (x.to(dn.float32) * 3).backward(dn.ones(2))
    assert x.grad.dtype == dn.float64 and x.grad.tolist() == [3.0, 3.0]


def test_clone_and_contiguous():
    x = dn.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.data_ptr() != x.data_ptr() and c.grad_fn is not None
    (c * 2).backward(dn.ones(2))
    assert x.grad.tolist() == [2.0, 2.0]
    t = dn.ones(2, 3)
    assert t.contiguous() is t
    strided = dn.from_numpy(np.ones((3, 2)).T)
    fixed = strided.contiguous()
    assert not strided.is_contiguous() and fixed.is_contiguous()
    np.testing.assert_array_equal(fixed.numpy(), strided.numpy())


def test_data_is_the_same_memory_outside_the_graph():
    x = dn.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.data_ptr() == x.data_ptr()
    x.data = dn.tensor([5.0, 6.0])
    assert x.detach().tolist() == [5.0, 6.0] and x.requires_grad


def test_new_factories_keep_dtype():
    t = dn.tensor([1], dtype=dn.int32)
    assert t.new_zeros(2, 2).dtype == dn.int32 and t.new_zeros(2, 2).shape == (2, 2)
    assert t.new_ones(3).tolist() == [1, 1, 1]
    assert t.new_full((2,), 7).tolist() == [7, 7]
    assert t.new_tensor([1.5]).dtype == dn.int32
    assert t.new_empty(4).shape == (4,)


def test_pickle_and_deepcopy():
    x = dn.tensor([[1.0, 2.0]], dtype=dn.float64, requires_grad=True)
    back = pickle.loads(pickle.dumps(x))
    assert back.dtype == dn.float64 and back.requires_grad and back.tolist() == x.tolist()
    clone = copy.deepcopy(x)
    assert clone.data_ptr() != x.data_ptr() and clone.requires_grad
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)


# ----------------------------------------------------------------------------- printing

REPRS = [
    (lambda m: m.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda m: m.tensor([1, 2]), "tensor([1, 2])"),
    (lambda m: m.tensor([1.5, 2.25]), "tensor([1.5000, 2.2500])"),
    (lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
     "tensor([1.5000, 2.0000], dtype=dualnet.float64)"),
    (lambda m: m.tensor([1, 2], dtype=m.int32), "tensor([1, 2], dtype=dualnet.int32)"),
    (lambda m: m.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
     "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda m: m.tensor([1.0, 2.0], requires_grad=True) + 1,
     "tensor([2., 3.], grad_fn=<AddBackward0>)"),
    (lambda m: m.tensor(3.5), "tensor(3.5000)"),
    (lambda m: m.tensor([True, False]), "tensor([ True, False])"),
    (lambda m: m.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda m: m.tensor([], dtype=m.int32), "tensor([], dtype=dualnet.int32)"),
    (lambda m: m.tensor([-1.5, 2.0]), "tensor([-1.5000,  2.0000])"),
    (lambda m: m.tensor([1e-5, 1e5]), "tensor([1.0000e-05, 1.0000e+05])"),
    (lambda m: m.tensor([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
    (lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
]
MORE_REPRS = [  # long outputs: compared with torch's own repr only
    lambda m: m.arange(2000.0),
    lambda m: m.arange(30.0) / 7,
    lambda m: m.ones(40, 40),
    lambda m: m.arange(100) * 1000,
    lambda m: m.tensor([0.5, 1.0], dtype=m.float16),
    lambda m: m.tensor([[-1.0, 1e-3], [5.0, 7.0]]),
]


@pytest.mark.parametrize("make, expected", REPRS, ids=[r for _, r in REPRS])
def test_repr_looks_like_torch(make, expected):
    assert repr(make(dn)) == expected
    assert str(make(dn)) == expected


@pytest.mark.parity
@pytest.mark.parametrize("make", [m for m, _ in REPRS] + MORE_REPRS)
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(dn)) == repr(make(torch)).replace("torch.", "dualnet.")


def test_format():
    assert f"{dn.tensor(2.5):.2f}" == "2.50"
    assert f"{dn.tensor([1.0])}" == "tensor([1.])"


# ----------------------------------------------------------------------------- devices


def test_device_objects():
    cpu = dn.device("cpu")
    assert cpu == "cpu" and cpu == dn.device(cpu) and str(cpu) == "cpu"
    assert repr(cpu) == "device(type='cpu')" and cpu.type == "cpu" and cpu.index is None
    gpu = dn.device("cuda:1")
    assert gpu == dn.device("cuda", 1) and gpu.index == 1 and str(gpu) == "cuda:1"
    assert hash(dn.device("cuda", 0)) == hash(dn.device("cuda:0"))
    assert dn.ones(1).device == "cpu"
    with pytest.raises(RuntimeError, match="tpu"):
        dn.device("tpu")
    with pytest.raises(TypeError):
        dn.device(3.5)


def test_cuda_is_not_available_here_and_says_how_to_get_it():
    if dn.cuda.is_available():
        pytest.skip("a CUDA device (or the simulator) is available")
    assert dn.cuda.device_count() == 0
    for move in (lambda t: t.to("cuda"), lambda t: t.cuda(), lambda t: dn.ones(2, device="cuda")):
        with pytest.raises(RuntimeError, match=r"(?s)CUDA.*(pip install|GPU)") as info:
            move(dn.ones(2))
        assert "cpu" in str(info.value)


def _fake_cuda_tensor():
    """A tensor whose device says cuda:0 (its array is still NumPy): enough to test the checks."""
    return dn.Tensor._make(np.ones(3, dtype=np.float32), dn.device("cuda", 0), None, False, None, 0,
                           None)


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a.double() * b, lambda a, b: dn.maximum(a, b),
    lambda a, b: dn.where(a > 0, a, b), lambda a, b: dn.clamp(a, min=b),
])
def test_mixing_devices_raises(op):
    with pytest.raises(RuntimeError, match=r"(?s)device.*(cpu.*cuda|cuda.*cpu)"):
        op(dn.ones(3), _fake_cuda_tensor())


def test_numpy_of_a_non_cpu_tensor_raises():
    with pytest.raises(TypeError, match="cpu"):
        _fake_cuda_tensor().numpy()
    with pytest.raises(TypeError, match="cpu"):
        np.asarray(_fake_cuda_tensor())


# ----------------------------------------------------------------------------- Python protocols


def test_len_and_iter():
    t = dn.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, dn.Tensor) for r in rows)
    assert rows[2].tolist() == [5, 6]
    assert [v.item() for v in dn.tensor([7, 8])] == [7, 8]
    with pytest.raises(TypeError, match="0-d"):
        len(dn.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(dn.tensor(1.0))


def test_bool_float_int():
    assert bool(dn.tensor([1])) and not bool(dn.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(dn.ones(2))
    with pytest.raises(RuntimeError):
        bool(dn.ones(0))
    assert float(dn.tensor([2])) == 2.0 and int(dn.tensor(3.7)) == 3 and int(dn.tensor(-3.7)) == -3
    with pytest.raises(ValueError, match="one"):
        float(dn.ones(2))
    with pytest.raises(ValueError, match="one"):
        int(dn.ones(2))


def test_index_protocol():
    assert [10, 20, 30][dn.tensor(1)] == 20
    assert list(range(dn.tensor(3))) == [0, 1, 2]
    with pytest.raises(TypeError, match="integer"):
        [10, 20][dn.tensor(1.0)]
    with pytest.raises(TypeError, match="integer"):
        [10, 20][dn.tensor([0, 1])]


def test_tensors_hash_by_identity():
    a, b = dn.ones(1), dn.ones(1)
    assert len({a, b}) == 2 and a in {a: 1}


def test_comparison_operators_give_bool_tensors():
    t = dn.tensor([1.0, 2.0])
    assert (t == 1.0).tolist() == [True, False]
    assert (t != t).tolist() == [False, False]
    assert isinstance(t == "a", bool) and (t == "a") is False  # not a tensor: plain inequality
