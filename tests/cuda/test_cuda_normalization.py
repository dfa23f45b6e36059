"""Normalization kernels: cuda.py against cpu.py on the same arrays (batch norm training and
evaluation with both views, the running-statistics update, group norm channels-first and
channels-last, layer norm; forward statistics and every backward output), then the ops end to
end."""
import importlib

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.normalization import cpu


@pytest.fixture
def cuda():
    """cuda.py of the family, imported in the test: a module-level import would fail at
    collection where there is neither a GPU with CuPy nor the simulator (the tests skip there)."""
    return importlib.import_module("dualnet.core.ops.normalization.cuda")


TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-11)}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _both(cuda, name, *args, outputs):
    """Run kernel `name` of cpu.py and of `cuda` (cuda.py) on copies of `args`; return both
    copies of the arguments at positions `outputs` (the arrays the kernel fills)."""
    results = []
    for module in (cpu, cuda):
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        getattr(module, name)(*copies)
        results.append([copies[i] for i in outputs])
    return results


def _compare(results, dtype):
    want, got = results
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 4, 5), (12, 4, 1)], ids=["NCHW", "channels-last"])
def test_batch_norm_kernels(cuda, shape, dtype):
    rng = _rng()
    x = (rng.standard_normal(shape) * 3 + 5).astype(dtype)
    channels = shape[1]
    w, b = rng.standard_normal(channels).astype(dtype), rng.standard_normal(channels).astype(dtype)
    empty = lambda *s, t=np.float64: np.full(s, np.nan, t)  # noqa: E731
    results = _both(cuda, "batch_norm_train", x, w, b, 1e-5, empty(*shape, t=dtype), empty(channels),
                    empty(channels), empty(channels), outputs=(4, 5, 6, 7))
    _compare(results, dtype)
    mean, rstd = results[0][1], results[0][3]

    running_mean, running_var = rng.standard_normal(channels), np.abs(rng.standard_normal(channels))
    _compare(_both(cuda, "batch_norm_eval", x, running_mean, running_var, w, b, 1e-5,
                   empty(*shape, t=dtype), empty(channels), empty(channels),
                   outputs=(6, 7, 8)), dtype)
    _compare(_both(cuda, "update_running", running_mean.astype(dtype), mean, 0.9, 0.1,
                   outputs=(0,)), dtype)

    grad = rng.standard_normal(shape).astype(dtype)
    for batch_stats in (True, False):
        _compare(_both(cuda, "batch_norm_backward", grad, x, mean, rstd, w, batch_stats,
                       empty(*shape, t=dtype), empty(channels), empty(channels),
                       outputs=(6, 7, 8)), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 1, 3, 2, 5), (2, 6, 2, 3, 1)],
                         ids=["channels-first", "channels-last"])
def test_group_norm_kernels(cuda, shape, dtype):
    rng = _rng(1)
    x = (rng.standard_normal(shape) + 2).astype(dtype)
    batch, groups, per_group = shape[0], shape[2], shape[3]
    w = rng.standard_normal((groups, per_group)).astype(dtype)
    b = rng.standard_normal((groups, per_group)).astype(dtype)
    stats = lambda: np.full((batch, groups), np.nan)  # noqa: E731
    results = _both(cuda, "group_norm_forward", x, w, b, 1e-5, np.empty_like(x), stats(), stats(),
                    stats(), outputs=(4, 5, 6, 7))
    _compare(results, dtype)
    mean, rstd = results[0][1], results[0][3]
    grad = rng.standard_normal(shape).astype(dtype)
    params = lambda: np.full((groups, per_group), np.nan)  # noqa: E731
    _compare(_both(cuda, "group_norm_backward", grad, x, mean, rstd, w, np.empty_like(x), params(),
                   params(), outputs=(5, 6, 7)), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_kernels(cuda, dtype):
    rng = _rng(2)
    rows, n = 5, 7
    x = (rng.standard_normal((rows, n)) - 1).astype(dtype)
    w, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    results = _both(cuda, "layer_norm_forward", x, w, b, 1e-5, np.empty_like(x), np.empty(rows),
                    np.empty(rows), outputs=(4, 5, 6))
    _compare(results, dtype)
    mean, rstd = results[0][1], results[0][2]
    grad = rng.standard_normal((rows, n)).astype(dtype)
    _compare(_both(cuda, "layer_norm_backward", grad, x, mean, rstd, w, np.empty_like(x),
                   np.empty(n), np.empty(n), outputs=(5, 6, 7)), dtype)
    # grad_in not wanted: only the parameter gradients
    _compare(_both(cuda, "layer_norm_backward", grad, x, mean, rstd, w, None, np.empty(n),
                   np.empty(n), outputs=(6, 7)), dtype)


# ----------------------------------------------------------------------- the ops end to end

import dualnet.nn.functional as F  # noqa: E402

OPS = [
    ("batch_norm-train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     [(3, 2, 2, 3), (2,), (2,)]),
    ("batch_norm-channels-last", lambda x, w, b: F.batch_norm(x, None, None, w, b,
                                                              training=True, axis=-1),
     [(4, 3, 2), (2,), (2,)]),
    ("batch_norm-2d", lambda x: F.batch_norm(x, None, None, training=True), [(5, 3)]),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    ("group_norm-channels-last", lambda x, w, b: F.group_norm(x, 2, w, b, axis=-1),
     [(2, 3, 4), (4,), (4,)]),
    ("instance_norm", lambda x: F.instance_norm(x), [(2, 3, 4)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [(2, 2, 3), (2, 3), (2, 3)]),
    ("normalize", lambda x: F.normalize(x, dim=1), [(3, 4)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", OPS, ids=[r[0] for r in OPS])
def test_ops_match_cpu(check, row, dtype):
    _, fn, shapes = row
    rng = np.random.default_rng(0)
    arrays = [(rng.standard_normal(s) + 1).astype(dtype) for s in shapes]
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)
    check(fn, *arrays, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_running_statistics_and_eval(check, dtype):
    """Training updates the running statistics in place on the device; evaluation uses them."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 3, 2)) * 2 + 1).astype(dtype)
    stats = {}
    for device in ("cpu", "cuda"):
        mean = dn.zeros(3, dtype=dn.float32 if dtype == np.float32 else dn.float64,
                        device=device)
        var = dn.ones(3, dtype=mean.dtype, device=device)
        F.batch_norm(dn.tensor(x, device=device), mean, var, training=True, momentum=0.3)
        assert mean.device.type == device
        stats[device] = (mean, var)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for cpu_stat, gpu_stat in zip(stats["cpu"], stats["cuda"]):
        np.testing.assert_allclose(gpu_stat.cpu().numpy(), cpu_stat.numpy(), **tol)
    assert not np.allclose(stats["cpu"][0].numpy(), 0)
    mean, var = (s.numpy() for s in stats["cpu"])
    check(lambda x, w: F.batch_norm(x, dn.tensor(mean, device=x.device),
                                    dn.tensor(var, device=x.device), w, training=False),
          x, rng.standard_normal(3).astype(dtype), **tol)
