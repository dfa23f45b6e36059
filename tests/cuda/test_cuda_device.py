"""Tensors on the CUDA device: creation, moves, conversions, autograd, the GPU random stream and
the `dn.cuda` API."""
import pickle

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.device import to_host
from dualnet.core.random import random_array

CUDA = dn.device("cuda:0")


def _is_device_array(t):
    return t.device == CUDA and type(t._data).__module__.split(".")[0] in ("numpy", "cupy")


@pytest.mark.parametrize("make, expected", [
    (lambda d: dn.zeros(2, 3, device=d), np.zeros((2, 3), np.float32)),
    (lambda d: dn.ones((2,), dtype=dn.float64, device=d), np.ones(2)),
    (lambda d: dn.full((2, 2), 7, device=d), np.full((2, 2), 7, np.int64)),
    (lambda d: dn.arange(5, device=d), np.arange(5)),
    (lambda d: dn.arange(0.0, 1.0, 0.25, device=d), np.arange(0, 1, 0.25, dtype=np.float32)),
    (lambda d: dn.linspace(0, 1, 5, device=d), np.linspace(0, 1, 5, dtype=np.float32)),
    (lambda d: dn.eye(3, device=d), np.eye(3, dtype=np.float32)),
    (lambda d: dn.tensor([[1, 2], [3, 4]], device=d), np.array([[1, 2], [3, 4]])),
    (lambda d: dn.zeros_like(dn.ones(3, device=d)), np.zeros(3, np.float32)),
    (lambda d: dn.ones(2, device=d).new_full((2,), 3.0), np.full(2, 3.0, np.float32)),
])
def test_factories_make_cuda_tensors(make, expected):
    t = make("cuda")
    assert _is_device_array(t)
    assert t.dtype.np == expected.dtype
    np.testing.assert_array_equal(t.cpu().numpy(), expected)


def test_empty_has_shape_and_device():
    t = dn.empty(2, 3, device="cuda")
    assert t.shape == (2, 3) and t.device == CUDA and t.is_cuda


def test_moves_copy_and_round_trip():
    source = np.arange(6.0).reshape(2, 3)
    host = dn.tensor(source)
    gpu = host.to("cuda")
    assert gpu.device == CUDA and host.device == "cpu"
    gpu.add_(1.0)  # its own memory: the CPU tensor is unchanged
    np.testing.assert_array_equal(host.numpy(), source)
    back = gpu.cpu()
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), source + 1)
    assert gpu.cuda() is gpu and gpu.to("cuda:0") is gpu and host.cpu() is host
    assert host.cuda(0).device == CUDA and host.to(CUDA, dn.float32).dtype is dn.float32
    assert dn.tensor(gpu).device == "cpu" and dn.tensor(host, device="cuda").device == CUDA
    assert pickle.loads(pickle.dumps(gpu)).device == CUDA


def test_scalar_conversions_copy_to_host():
    gpu = dn.tensor([[1.5, 2.0]], device="cuda")
    assert gpu[0, 0].item() == 1.5 and float(gpu[0, 1]) == 2.0 and gpu.tolist() == [[1.5, 2.0]]
    assert bool(gpu.sum() > 3) and "device='cuda:0'" in repr(gpu)
    with pytest.raises(TypeError, match="cuda:0.*cpu\\(\\)"):
        gpu.numpy()
    with pytest.raises(TypeError, match="cuda:0.*cpu\\(\\)"):
        np.asarray(gpu)
    np.testing.assert_array_equal(gpu.numpy(force=True), [[1.5, 2.0]])


def test_backward_on_cuda_leaves():
    x = dn.tensor([[0.5, -1.0, 2.0]], dtype=dn.float64, device="cuda", requires_grad=True)
    w = dn.randn(3, 2, dtype=dn.float64, device="cuda", requires_grad=True)
    loss = ((x @ w).tanh() ** 2).mean() + x.exp().sum()
    loss.backward()
    assert x.grad.device == CUDA and w.grad.device == CUDA
    xc, wc = x.detach().cpu().requires_grad_(), w.detach().cpu().requires_grad_()
    (((xc @ wc).tanh() ** 2).mean() + xc.exp().sum()).backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xc.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.cpu().numpy(), wc.grad.numpy(), rtol=1e-10)


def test_gradient_flows_back_across_a_move():
    x = dn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x.cuda() * dn.tensor([1.0, 10.0, 100.0], device="cuda")).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 10.0, 100.0])


def test_mixed_devices_name_both():
    cpu, gpu = dn.ones(3), dn.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="cuda:0 and cpu|cpu and cuda:0"):
        cpu + gpu
    with pytest.raises(RuntimeError, match="cuda:0 and cpu|cpu and cuda:0"):
        dn.stack([gpu, cpu])
    with pytest.raises(RuntimeError, match="cuda:0|cpu"):
        gpu + np.ones(3)  # a NumPy array is host memory too


def test_copy_between_devices():
    gpu = dn.zeros(2, 3, device="cuda")
    gpu.copy_(dn.arange(3.0))  # copy_ moves (and broadcasts) like torch's
    np.testing.assert_array_equal(gpu.cpu().numpy(), np.tile(np.arange(3.0), (2, 1)))


def test_bad_device_strings_and_ordinals():
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        dn.zeros(1, device=f"cuda:{dn.cuda.device_count()}")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        dn.ones(1).to(dn.device("cuda", dn.cuda.device_count()))
    moved = dn.ones(1).to(dn.device("cuda"))  # no index: the current GPU, named in full
    assert str(moved.device) == "cuda:0" and moved.device.index == 0
    with pytest.raises(RuntimeError, match="device type"):
        dn.zeros(1, device="gpu")


# ------------------------------------------------------------------------------ random stream

@pytest.mark.parametrize("make", [
    lambda: dn.rand(4, 5, device="cuda"),
    lambda: dn.randn(4, 5, dtype=dn.float64, device="cuda"),
    lambda: dn.randint(-3, 9, (4, 5), device="cuda"),
    lambda: dn.randperm(7, device="cuda"),
    lambda: dn.bernoulli(dn.full((4, 5), 0.3, device="cuda")),
    lambda: dn.normal(2.0, 0.5, size=(3,), device="cuda"),
])
def test_manual_seed_repeats_the_gpu_stream(make):
    dn.manual_seed(123)
    first, second = make(), make()
    dn.manual_seed(123)
    again = make()
    assert first.device == CUDA
    np.testing.assert_array_equal(to_host(first._data), to_host(again._data))
    assert not np.array_equal(to_host(first._data), to_host(second._data)) or first.numel() < 2


def test_gpu_draws_have_the_right_distribution_and_range():
    dn.manual_seed(0)
    uniform = to_host(dn.rand(4000, device="cuda")._data)
    normal = to_host(dn.randn(4000, dtype=dn.float64, device="cuda")._data)
    integers = to_host(dn.randint(2, 6, (4000,), device="cuda")._data)
    assert uniform.dtype == np.float32 and 0 <= uniform.min() and uniform.max() < 1
    assert abs(uniform.mean() - 0.5) < 0.02 and abs(uniform.var() - 1 / 12) < 0.01
    assert abs(normal.mean()) < 0.06 and abs(normal.std() - 1) < 0.05
    assert set(np.unique(integers)) == {2, 3, 4, 5}
    assert sorted(to_host(dn.randperm(50, device="cuda")._data)) == list(range(50))


def test_gpu_stream_matches_its_cpu_reference_and_cuda_seeds():
    from dualnet.core.ops.random import cpu as reference

    dn.cuda.manual_seed(99)
    drawn = to_host(random_array("uniform", (2, 3), np.float64, CUDA))
    np.testing.assert_array_equal(drawn.ravel(), reference.uniform(99, 0, np.empty(6)))
    follow = to_host(random_array("normal", (4,), np.float32, CUDA))  # the stream moved on by 6
    np.testing.assert_allclose(follow, reference.normal(99, 6, np.empty(4, np.float32)),
                               rtol=1e-6, atol=1e-6)
    dn.cuda.manual_seed_all(99)
    np.testing.assert_array_equal(to_host(random_array("uniform", (6,), np.float64, CUDA)),
                                  reference.uniform(99, 0, np.empty(6)))


def test_cuda_generator_is_its_own_stream():
    gen = dn.Generator(device="cuda").manual_seed(5)
    dn.manual_seed(1)
    a = to_host(dn.rand(6, device="cuda", generator=gen)._data)
    gen.manual_seed(5)
    dn.rand(3, device="cuda")  # the global stream moving does not change the generator's
    np.testing.assert_array_equal(to_host(dn.rand(6, device="cuda", generator=gen)._data), a)
    with pytest.raises(RuntimeError, match="'cuda' device type for generator"):
        dn.rand(2, device="cuda", generator=dn.Generator())
    with pytest.raises(ValueError, match="kind"):
        random_array("poisson", (2,), np.float32, CUDA)


def test_cpu_stream_is_unchanged_by_gpu_draws():
    dn.manual_seed(3)
    expected = dn.rand(5).numpy()
    dn.manual_seed(3)
    dn.rand(5, device="cuda")
    np.testing.assert_array_equal(dn.rand(5).numpy(), expected)


# ------------------------------------------------------------------------------ dn.cuda

def test_cuda_module_api():
    assert dn.cuda.is_available() and dn.cuda.device_count() >= 1
    assert dn.cuda.current_device() == 0
    dn.cuda.synchronize()
    dn.cuda.reset_peak_memory_stats()
    before = dn.cuda.memory_allocated()
    block = dn.zeros(1000, dtype=dn.float64, device="cuda")
    during = dn.cuda.memory_allocated()
    assert during >= before + 8000
    del block
    assert dn.cuda.memory_allocated() <= during - 8000
    assert dn.cuda.max_memory_allocated() >= during
