"""CUDA kernels against the CPU kernels: forward and backward of an op on both devices.

Runs for real on a GPU, and under Numba's CUDA simulator in CI (`NUMBA_ENABLE_CUDASIM=1`,
set by .ci/run in a process of its own); skipped where neither is available. The simulator
runs every GPU thread as a Python thread, so shapes here stay small.
"""
import os
import sys
import threading
import traceback

import numpy as np
import pytest

import dualnet as dn


def _patch_simulated_shared_arrays():
    """numba-cuda 0.30's simulator makes a block's `cuda.shared.array` on first use without a
    lock: two of the block's threads can both find it missing and each get an array of its own,
    so a block reduction sums half the values (seen as the first block's batch-norm channels
    off in 1 of ~7 runs of tests/cuda). The same lookup, under a lock. A simulator bug only:
    on a GPU the array is the block's by construction."""
    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support

    original = kernelapi.FakeCUDAShared.array
    lock = threading.Lock()

    def array(self, shape, dtype, alignment=None):
        if alignment is not None or shape == 0:
            return original(self, shape, dtype, alignment)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = traceback.extract_stack(sys._getframe())[-2][0:2]  # as the original keys it
        with lock:
            found = self._allocations.get(caller)
            if found is None:
                found = self._allocations[caller] = np.empty(shape, dtype)
        return found

    kernelapi.FakeCUDAShared.array = array


if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    # the simulator's launcher polls its threads while they run: at Python's default 5 ms GIL
    # switch interval each syncthreads waits out switches (block reductions ran 5x slower,
    # the whole CUDA suite ~30%)
    sys.setswitchinterval(1e-4)
    _patch_simulated_shared_arrays()


def pytest_collection_modifyitems(config, items):
    if dn.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device (set NUMBA_ENABLE_CUDASIM=1 to simulate one)")
    for item in items:
        if "tests/cuda" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


def _leaves(arrays, device):
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            floating = np.issubdtype(a.dtype, np.floating)
            out.append(dn.tensor(a, device=device, requires_grad=floating))
        else:
            out.append(a)
    return out


def _as_tuple(result):
    return result if isinstance(result, (tuple, list)) else (result,)


def check_op(fn, *arrays, grad=True, rtol=1e-5, atol=1e-6, seed=0):
    """Run `fn(*tensors)` on the CPU and on CUDA from the same NumPy `arrays`; compare the
    outputs and, when `grad`, the gradients of every floating input under one random
    upstream gradient. Non-array arguments pass through unchanged."""
    cpu_in, gpu_in = _leaves(arrays, "cpu"), _leaves(arrays, "cuda")
    cpu_out, gpu_out = _as_tuple(fn(*cpu_in)), _as_tuple(fn(*gpu_in))
    assert len(cpu_out) == len(gpu_out)
    for c, g in zip(cpu_out, gpu_out):
        if not isinstance(c, dn.Tensor):
            continue
        assert g.device.type == "cuda", f"{fn} returned a tensor on {g.device}"
        assert g.dtype == c.dtype and tuple(g.shape) == tuple(c.shape)
        np.testing.assert_allclose(g.detach().cpu().numpy(), c.detach().numpy(), rtol=rtol, atol=atol)
    if not grad:
        return cpu_out, gpu_out
    rng = np.random.default_rng(seed)
    cpu_loss, gpu_loss = 0, 0
    for c, g in zip(cpu_out, gpu_out):
        if isinstance(c, dn.Tensor) and c.requires_grad:
            w = rng.standard_normal(tuple(c.shape)).astype(c.dtype.np)
            cpu_loss = cpu_loss + (c * dn.tensor(w)).sum()
            gpu_loss = gpu_loss + (g * dn.tensor(w, device="cuda")).sum()
    if not isinstance(cpu_loss, dn.Tensor):
        return cpu_out, gpu_out
    cpu_loss.backward()
    gpu_loss.backward()
    for c, g in zip(cpu_in, gpu_in):
        if isinstance(c, dn.Tensor) and c.requires_grad:
            assert (c.grad is None) == (g.grad is None)
            if c.grad is not None:
                assert g.grad.device.type == "cuda"
                np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy(), rtol=rtol,
                                           atol=atol)
    return cpu_out, gpu_out


@pytest.fixture
def check():
    """The `check_op` helper as a fixture: `check(lambda a, b: a * b, x, y)`."""
    return check_op
