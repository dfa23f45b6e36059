"""Asking for CUDA where there is none: a RuntimeError that says which part is missing and how
to install it, never a silent copy to the CPU (runs in the normal, non-simulated process)."""
import sys
import types

import pytest

import dualnet as dn
from dualnet.core import device as device_module

pytestmark = pytest.mark.skipif(device_module._CUDASIM or device_module.cuda_is_available(),
                                reason="CUDA (or its simulator) is available here")

ASKS = {
    "factory": lambda: dn.zeros(2, device="cuda"),
    "tensor": lambda: dn.tensor([1.0], device="cuda:0"),
    "to": lambda: dn.ones(2).to("cuda"),
    "cuda()": lambda: dn.ones(2).cuda(),
    "random": lambda: dn.randn(2, device="cuda"),
    "device index": lambda: dn.ones(2).to(0),
    "device object": lambda: dn.ones(2).to(dn.device("cuda")),
    "synchronize": lambda: dn.cuda.synchronize(),
    "memory": lambda: dn.cuda.memory_allocated(),
}


@pytest.fixture
def without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError


@pytest.fixture
def cupy_without_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    from numba import cuda

    monkeypatch.setattr(cuda, "is_available", lambda: False)


@pytest.mark.parametrize("ask", sorted(ASKS))
def test_without_cupy_says_so_and_how_to_install(without_cupy, ask):
    with pytest.raises(RuntimeError, match=r"CuPy is not installed.*pip install dualnet\[cuda\]"):
        ASKS[ask]()


@pytest.mark.parametrize("ask", ["factory", "to", "random"])
def test_without_a_gpu_says_so(cupy_without_gpu, ask):
    with pytest.raises(RuntimeError, match=r"no CUDA GPU is visible.*'cpu'"):
        ASKS[ask]()


def test_queries_answer_without_raising(without_cupy):
    assert dn.cuda.is_available() is False
    assert dn.cuda.device_count() == 0
    dn.cuda.manual_seed(3)  # recorded for later, as torch's lazy seeding
    dn.cuda.manual_seed_all(3)
    dn.manual_seed(3)  # seeds the (unused) GPU stream without touching CUDA
    assert dn.device("cuda:1").index == 1  # naming a device is no request for one
    assert dn.ones(2).device == "cpu" and not dn.ones(2).is_cuda
