"""Optimizer-update kernels: cuda.py against cpu.py on the same arrays, every rule and option
set, float32 and float64, a few steps each (the states must evolve the same way too)."""
import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.optim import ops

CPU, CUDA = dn.device("cpu"), dn.device("cuda")
STEPS = 2

# (kernel, keyword options of its *_args function, number of state arrays, states left None)
ROWS = [
    ("sgd", dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False), 1, (0,)),
    ("sgd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1, nesterov=False,
                 maximize=False), 1, ()),
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=0.05, nesterov=True,
                 maximize=True), 1, ()),
    ("adam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
                  maximize=False), 3, (2,)),
    ("adam", dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, amsgrad=True,
                  maximize=True), 3, ()),
    ("rmsprop", dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                     centered=False, maximize=False), 3, (1, 2)),
    ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5,
                     centered=True, maximize=True), 3, ()),
    ("adagrad", dict(lr=0.1, lr_decay=0.1, eps=1e-7, weight_decay=0.1, maximize=True), 1, ()),
    ("adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True), 2, ()),
    ("nadam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1,
                   momentum_decay=0.004, maximize=False), 2, ()),
]
CASES = [(row, keras) for row in ROWS for keras in (False, True)]


def _args(name, options, step, keras):
    options = dict(options, keras=keras, decoupled=keras)
    if name == "sgd":
        options["first_step"] = step == 1
    if name in ("adam", "adagrad", "nadam"):
        options["step"] = step
    if name == "nadam":
        product = 1.0
        for t in range(1, step + 1):
            product = ops.nadam_mu_product(product, t, options["beta1"],
                                           options["momentum_decay"])
        options["mu_product"] = product
    return getattr(ops, f"{name}_args")(**options)


def _run(dev, case, dtype):
    (name, options, n_states, unused), keras = case
    rng = np.random.default_rng(0)
    param = rng.standard_normal(12).astype(dtype)
    states = tuple(None if i in unused else np.zeros(12, dtype)
                   for i in range(n_states))
    for step in range(1, STEPS + 1):
        grad = rng.standard_normal(12).astype(dtype)
        ops.launch(dev, name, param, grad, states, _args(name, options, step, keras))
    return param, states


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[f"{r[0]}-{i // 2}-{'keras' if k else 'torch'}"
                                            for i, (r, k) in enumerate(CASES)])
def test_update_matches_cpu(case, dtype):
    want_param, want_states = _run(CPU, case, dtype)
    got_param, got_states = _run(CUDA, case, dtype)
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    assert got_param.dtype == dtype
    np.testing.assert_allclose(got_param, want_param, **tol)
    for got, want in zip(got_states, want_states):
        if want is not None:
            np.testing.assert_allclose(got, want, **tol)
    start = np.random.default_rng(0).standard_normal(12).astype(dtype)
    assert not np.allclose(got_param, start)  # the update did move the parameter


# ------------------------------------------------- dualnet.optim on parameters on the device

from dualnet import optim  # noqa: E402

OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", dict(lr=1.0)),
    ("NAdam", dict(lr=0.01)),
]


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_optimizer_steps_match_cpu_and_keep_state_on_the_device(name, options):
    rng = np.random.default_rng(3)
    start, grads = rng.standard_normal((3, 4)), [rng.standard_normal((3, 4)) for _ in range(2)]
    results = {}
    for device in ("cpu", "cuda"):
        param = dn.tensor(start, dtype=dn.float32, device=device, requires_grad=True)
        optimizer = getattr(optim, name)([param], **options)
        for g in grads:
            param.grad = dn.tensor(g, dtype=dn.float32, device=device)
            optimizer.step()
        for key, value in optimizer.state[param].items():
            # per-element states live with the parameter; scalars (step, NAdam's mu_product)
            # stay on the CPU, as in torch
            if isinstance(value, dn.Tensor) and value.shape == param.shape:
                assert value.device.type == device, f"{name} state {key!r} on {value.device}"
        results[device] = param.detach().cpu().numpy()
    np.testing.assert_allclose(results["cuda"], results["cpu"], rtol=2e-6, atol=1e-7)
    assert not np.allclose(results["cpu"], start)
