"""dualnet.optim.NAdam: parity with torch.optim.NAdam over 20 steps of the same gradients for
every option that changes the arithmetic (state included, by torch's names), torch-format
state_dicts both ways, the keras rule against a NumPy reference of Keras 3's Nadam, and bad
input."""
import inspect
import itertools

import numpy as np
import pytest

import dualnet as dn
from dualnet import optim

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 20
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

OPTIONS = [dict(zip(("weight_decay", "decoupled_weight_decay", "maximize", "momentum_decay",
                     "betas"), values))
           for values in itertools.product([0.0, 0.1], [False, True], [False, True],
                                           [4e-3, 0.2], [(0.9, 0.999), (0.5, 0.9)])
           if values[0] or not values[1]]


def sample(dtype, steps=STEPS, seed=0):
    """Initial parameters and a gradient sequence; the last parameter misses every 4th grad
    (its step count and momentum product fall behind the others')."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[None if (k == 2 and t % 4 == 3) else rng.standard_normal(s).astype(dtype)
              for k, s in enumerate(SHAPES)] for t in range(steps)]
    return params, grads


def run(lib, cls, arrays, grads, opts, opt=None, params=None, second_lr=None):
    if params is None:
        params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    if opt is None:
        groups = params if second_lr is None else [{"params": params[:2]},
                                                   {"params": params[2:], "lr": second_lr}]
        opt = cls(groups, **opts)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else lib.tensor(g)
        opt.step()
    return params, opt


def numpy_of(t):
    return t.detach().numpy()


def case_id(opts):
    return ",".join(f"{k}={v}" for k, v in opts.items())


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS, ids=[case_id(o) for o in OPTIONS])
def test_matches_torch(opts, dtype):
    torch = pytest.importorskip("torch")
    arrays, grads = sample(dtype)
    opts = dict(opts, lr=0.02)
    ours, our_opt = run(dn, optim.NAdam, arrays, grads, opts, second_lr=0.05)
    theirs, their_opt = run(torch, torch.optim.NAdam, arrays, grads, opts, second_lr=0.05)
    for mine, ref in zip(ours, theirs):
        assert mine.dtype == getattr(dn, np.dtype(dtype).name)
        np.testing.assert_allclose(numpy_of(mine), numpy_of(ref), **TOL[dtype])
        our_state, their_state = our_opt.state[mine], their_opt.state[ref]
        assert sorted(our_state) == sorted(their_state)
        for key in their_state:
            np.testing.assert_allclose(numpy_of(our_state[key]), numpy_of(their_state[key]),
                                       **TOL[dtype])
        assert our_state["mu_product"].dtype == dn.float32
        assert our_state["mu_product"].item() == their_state["mu_product"].item()


@pytest.mark.parity
def test_defaults_signature_and_state_dict_layout_match_torch():
    torch = pytest.importorskip("torch")
    ours = inspect.signature(optim.NAdam).parameters
    theirs = inspect.signature(torch.optim.NAdam).parameters
    assert set(theirs) <= set(ours)
    for key, parameter in theirs.items():
        assert ours[key].default == parameter.default, key
        assert ours[key].kind == parameter.kind, key
    arrays, grads = sample(np.float32, steps=3)
    _, our_opt = run(dn, optim.NAdam, arrays, grads, {}, second_lr=0.5)
    _, their_opt = run(torch, torch.optim.NAdam, arrays, grads, {}, second_lr=0.5)
    our_dict, their_dict = our_opt.state_dict(), their_opt.state_dict()
    assert our_dict["param_groups"] == their_dict["param_groups"]
    for index, their_state in their_dict["state"].items():
        assert sorted(our_dict["state"][index]) == sorted(their_state)
        for key in ("step", "mu_product"):
            assert our_dict["state"][index][key].item() == their_state[key].item()


@pytest.mark.parity
def test_resumes_from_a_torch_state_dict():
    # torch trains 10 steps; we load its optimizer state (torch tensors) and carry on
    torch = pytest.importorskip("torch")
    opts = dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True)
    arrays, grads = sample(np.float64, steps=20)
    theirs, their_opt = run(torch, torch.optim.NAdam, arrays, grads[:10], opts)
    ours = [dn.tensor(numpy_of(p).copy(), requires_grad=True) for p in theirs]
    our_opt = optim.NAdam(ours, **opts)
    our_opt.load_state_dict(their_opt.state_dict())
    assert our_opt.state[ours[0]]["mu_product"].dtype == dn.float32
    run(dn, None, None, grads[10:], opts, opt=our_opt, params=ours)
    run(torch, None, None, grads[10:], opts, opt=their_opt, params=theirs)
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(numpy_of(mine), numpy_of(ref), **TOL[np.float64])


@pytest.mark.parametrize("rule", ["torch", "keras"])
def test_state_dict_round_trip_resumes_exactly(rule, tmp_path):
    opts = dict(lr=0.02, weight_decay=0.01, rule=rule)
    arrays, grads = sample(np.float32, steps=16)
    straight, _ = run(dn, optim.NAdam, arrays, grads, opts)
    first, first_opt = run(dn, optim.NAdam, arrays, grads[:8], opts)
    dn.save(first_opt.state_dict(), tmp_path / "nadam.pt")
    resumed = [dn.tensor(numpy_of(p).copy(), requires_grad=True) for p in first]
    resumed_opt = optim.NAdam(resumed, **opts)
    resumed_opt.load_state_dict(dn.load(tmp_path / "nadam.pt"))
    run(dn, None, None, grads[8:], opts, opt=resumed_opt, params=resumed)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(numpy_of(a), numpy_of(b))


def keras_nadam(p, g, state, *, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    """Keras 3's Nadam.update_step (keras/src/optimizers/nadam.py), formula by formula in
    float64 (the momentum product rounded to float32 as Keras's float32 variable keeps it)."""
    t = state["t"] = state.get("t", 0) + 1
    p = p - p * weight_decay * lr
    u_t = beta_1 * (1.0 - 0.5 * 0.96 ** t)
    u_t_1 = beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
    u_product_t = state["u"] = float(np.float32(state.get("u", 1.0)) * np.float32(u_t))
    u_product_t_1 = u_product_t * u_t_1
    m = state["m"] = state.get("m", 0.0) + (g - state.get("m", 0.0)) * (1 - beta_1)
    v = state["v"] = state.get("v", 0.0) + (g * g - state.get("v", 0.0)) * (1 - beta_2)
    m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
    v_hat = v / (1 - beta_2 ** t)
    return p - m_hat * lr / (np.sqrt(v_hat) + epsilon)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_keras_rule_matches_the_reference(dtype, weight_decay):
    arrays, grads = sample(dtype)
    opts = dict(lr=0.01, eps=1e-7, momentum_decay=1.0, weight_decay=weight_decay, rule="keras")
    ours, _ = run(dn, optim.NAdam, arrays, grads, opts)
    for k, (mine, start) in enumerate(zip(ours, arrays)):
        state, p = {}, start.astype(np.float64)
        for step_grads in grads:
            if step_grads[k] is not None:
                p = keras_nadam(p, step_grads[k].astype(np.float64), state, lr=0.01,
                                weight_decay=weight_decay)
        np.testing.assert_allclose(numpy_of(mine), p, **TOL[dtype])


def test_rules_and_weight_decay_modes_differ():
    arrays, grads = sample(np.float64, steps=5)
    base = dict(lr=0.05, weight_decay=0.5)
    coupled, _ = run(dn, optim.NAdam, arrays, grads, base)
    decoupled, _ = run(dn, optim.NAdam, arrays, grads, dict(base, decoupled_weight_decay=True))
    keras, _ = run(dn, optim.NAdam, arrays, grads, dict(base, rule="keras"))
    assert not np.allclose(numpy_of(coupled[0]), numpy_of(decoupled[0]))
    # keras decays like decoupled torch; with the same schedule only m's rounding differs
    np.testing.assert_allclose(numpy_of(keras[0]), numpy_of(decoupled[0]), rtol=1e-12)


def test_module_level_step_function_updates_in_place():
    from dualnet.core.device import device
    from dualnet.core.ops.optim import ops
    param, grad = np.array([1.0, -2.0]), np.array([2.0, -4.0])
    exp_avg, exp_avg_sq = np.zeros(2), np.zeros(2)
    mu_product = ops.nadam_mu_product(1.0, 1, 0.9, 4e-3)
    ops.nadam(device("cpu"), param, grad, exp_avg, exp_avg_sq, step=1, mu_product=mu_product,
              lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              maximize=False)
    np.testing.assert_allclose(exp_avg, [0.2, -0.4])
    np.testing.assert_allclose(exp_avg_sq, [0.004, 0.016])
    np.testing.assert_allclose(param, [0.8943548, -1.8943548], rtol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(lr=-1.0), "lr must be >= 0"),
    (dict(eps=-1e-8), "eps must be >= 0"),
    (dict(betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (dict(betas=(0.9,)), "betas must be a pair"),
    (dict(weight_decay=-0.1), "weight_decay must be >= 0"),
    (dict(momentum_decay=-1.0), "momentum_decay must be >= 0"),
    (dict(rule="tf"), "rule must be 'torch' or 'keras'"),
    (dict(capturable=True), "capturable=True is not supported"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.NAdam([dn.zeros(2, requires_grad=True)], **kwargs)
