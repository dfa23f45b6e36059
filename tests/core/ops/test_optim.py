"""The optimizer-update kernels (dualnet.core.ops.optim), each rule and option set one row:
several steps of the array-level update against the NumPy references of tests/naive_optim.py,
torch's and Keras's rules, float32 and float64, contiguous or not."""
import naive_optim
import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.optim import ops

CPU = dn.device("cpu")
STEPS = 6

# (optimizer, options, rules it is checked under)
ROWS = [
    ("sgd", dict(lr=0.1), ("torch", "keras")),
    ("sgd", dict(lr=0.1, momentum=0.9), ("torch", "keras")),
    ("sgd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1), ("torch",)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True),
     ("torch", "keras")),
    ("adam", dict(lr=0.01), ("torch", "keras")),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True),
     ("torch", "keras")),
    ("adam", dict(lr=0.01, weight_decay=0.2, decoupled=True, maximize=True), ("torch",)),
    ("rmsprop", dict(lr=0.01), ("torch", "keras")),
    ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True,
                     weight_decay=0.1), ("torch", "keras")),
    ("rmsprop", dict(lr=0.01, momentum=0.9, maximize=True), ("torch", "keras")),
    ("adagrad", dict(lr=0.1), ("torch", "keras")),
    ("adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.1,
                     eps=1e-7, maximize=True), ("torch", "keras")),
    ("adadelta", dict(lr=1.0), ("torch", "keras")),
    ("adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True),
     ("torch", "keras")),
]
CASES = [(name, opts, rule) for name, opts, rules in ROWS for rule in rules]


def _ids(case):
    name, opts, rule = case
    return f"{name}-{rule}-" + ",".join(f"{k}={v}" for k, v in opts.items())


def run_kernels(name, param, grads, opts, rule):
    """Apply the array-level update `len(grads)` times to `param` (in place)."""
    keras = rule == "keras"
    opts = dict(opts)
    decoupled = opts.pop("decoupled", False) or keras
    zeros = lambda: np.zeros(param.shape, param.dtype)  # noqa: E731
    if name == "sgd":
        opts = {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
                "maximize": False, **opts}
        buf = zeros() if opts["momentum"] else None
        for i, g in enumerate(grads):
            ops.sgd(CPU, param, g, buf, first_step=i == 0, decoupled=decoupled, keras=keras,
                    **opts)
    elif name == "adam":
        opts = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                "maximize": False, **opts}
        beta1, beta2 = opts.pop("betas")
        m, v, vmax = zeros(), zeros(), zeros() if opts["amsgrad"] else None
        for t, g in enumerate(grads, 1):
            ops.adam(CPU, param, g, m, v, vmax, step=t, beta1=beta1, beta2=beta2,
                     decoupled=decoupled, keras=keras, **opts)
    elif name == "rmsprop":
        opts = {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                "centered": False, "maximize": False, **opts}
        v = zeros()
        mean = zeros() if opts["centered"] else None
        buf = zeros() if opts["momentum"] else None
        for g in grads:
            ops.rmsprop(CPU, param, g, v, mean, buf, decoupled=decoupled, keras=keras, **opts)
    elif name == "adagrad":
        opts = {"lr_decay": 0.0, "weight_decay": 0.0, "eps": 1e-10, "maximize": False, **opts}
        state_sum = np.full(param.shape, opts.pop("initial_accumulator_value", 0.0), param.dtype)
        for t, g in enumerate(grads, 1):
            ops.adagrad(CPU, param, g, state_sum, step=t, decoupled=decoupled, keras=keras, **opts)
    elif name == "adadelta":
        opts = {"rho": 0.9, "eps": 1e-6, "weight_decay": 0.0, "maximize": False, **opts}
        v, u = zeros(), zeros()
        for g in grads:
            ops.adadelta(CPU, param, g, v, u, decoupled=decoupled, keras=keras, **opts)


def run_reference(name, param, grads, opts, rule):
    reference = getattr(naive_optim, name)
    state, p = {}, param.astype(np.float64)
    for g in grads:
        p = reference(p, g.astype(np.float64), state, rule=rule, **opts)
    return p


def sample(dtype, shape=(5, 7), seed=0):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(STEPS)]
    return param, grads


TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_kernel_matches_reference(case, dtype):
    name, opts, rule = case
    param, grads = sample(dtype)
    expected = run_reference(name, param, grads, opts, rule)
    run_kernels(name, param, grads, opts, rule)
    assert param.dtype == dtype
    np.testing.assert_allclose(param, expected, **TOLERANCE[dtype])
    assert not np.allclose(param, sample(dtype)[0])  # the parameter did move


@pytest.mark.parametrize("case", CASES[:: 3], ids=[_ids(c) for c in CASES[:: 3]])
def test_non_contiguous_parameter_is_written_back(case):
    name, opts, rule = case
    base, grads = sample(np.float64, shape=(7, 5))
    param = base.T  # a transposed view: not C-contiguous
    assert not param.flags.c_contiguous
    grads = [np.asfortranarray(g.T) for g in grads]  # non-contiguous gradients too
    expected = run_reference(name, param.copy(), grads, opts, rule)
    run_kernels(name, param, grads, opts, rule)
    np.testing.assert_allclose(base.T, expected, **TOLERANCE[np.float64])


def test_gradient_of_another_dtype_is_cast_to_the_parameter():
    param, grads = sample(np.float32)
    expected = run_reference("adam", param, grads, {"lr": 0.01}, "torch")
    run_kernels("adam", param, [g.astype(np.float64) for g in grads], {"lr": 0.01}, "torch")
    assert param.dtype == np.float32
    np.testing.assert_allclose(param, expected, **TOLERANCE[np.float32])


def test_zero_dim_parameter():
    param = np.array(2.0)
    ops.sgd(CPU, param, np.array(0.5), None, lr=0.1, momentum=0.0, dampening=0.0,
            weight_decay=0.0, nesterov=False, maximize=False, first_step=True)
    assert param == pytest.approx(1.95)


def test_the_two_rules_differ_where_spec_says():
    # Keras's RMSprop puts eps under the square root; with a tiny gradient that dominates.
    torch_param, keras_param = np.ones(3), np.ones(3)
    grad = np.full(3, 1e-4)
    for param, rule in ((torch_param, "torch"), (keras_param, "keras")):
        run_kernels("rmsprop", param, [grad], {"lr": 0.01, "eps": 1e-7}, rule)
    assert not np.allclose(torch_param, keras_param, rtol=1e-3, atol=0)


def test_non_contiguous_state_is_written_back():
    # the state arrays are the optimizer's own and contiguous, but loaded ones may not be
    param, grads = sample(np.float64, shape=(7, 5))
    expected_param = param.copy()
    m, v = np.zeros((7, 5)), np.zeros((7, 5))
    m_t, v_t = np.zeros((5, 7)).T, np.zeros((5, 7)).T  # transposed views: not C-contiguous
    for t, g in enumerate(grads, 1):
        options = dict(step=t, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                       amsgrad=False, maximize=False)
        ops.adam(CPU, expected_param, g, m, v, None, **options)
        ops.adam(CPU, param, g, m_t, v_t, None, **options)
    np.testing.assert_array_equal(param, expected_param)
    np.testing.assert_array_equal(m_t, m)
    np.testing.assert_array_equal(v_t, v)
