"""dualnet.optim's optimizers: parity with torch.optim over 25 steps of the same gradients for
every option that changes the arithmetic (and their state, by torch's names), state_dict round
trips that resume exactly, the keras rule against tests/naive_optim.py, the Optimizer API
(groups, zero_grad, closures, skipped parameters) and bad input."""
import copy
import inspect
import itertools

import naive_optim
import numpy as np
import pytest

import dualnet as dn
from dualnet import optim

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 25
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def grid(**axes):
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


SGD_OPTIONS = [o for o in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.5], nesterov=[False, True],
                               weight_decay=[0.0, 0.1], maximize=[False, True])
               if not (o["nesterov"] and (o["momentum"] == 0 or o["dampening"] != 0))]
ADAM_OPTIONS = grid(amsgrad=[False, True], weight_decay=[0.0, 0.1], maximize=[False, True],
                    betas=[(0.9, 0.999), (0.5, 0.9)])
RMSPROP_OPTIONS = grid(momentum=[0.0, 0.9], centered=[False, True], weight_decay=[0.0, 0.1],
                       maximize=[False, True], alpha=[0.99, 0.7])
ADAGRAD_OPTIONS = grid(lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                       initial_accumulator_value=[0.0, 0.3], maximize=[False, True])
ADADELTA_OPTIONS = grid(rho=[0.9, 0.5], weight_decay=[0.0, 0.1], maximize=[False, True])

PARITY = ([("SGD", dict(lr=0.05, **o)) for o in SGD_OPTIONS]
          + [("Adam", dict(lr=0.02, **o)) for o in ADAM_OPTIONS]
          + [("AdamW", dict(lr=0.02, **o)) for o in ADAM_OPTIONS]
          + [("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True))]
          + [("RMSprop", dict(lr=0.01, **o)) for o in RMSPROP_OPTIONS]
          + [("Adagrad", dict(lr=0.1, **o)) for o in ADAGRAD_OPTIONS]
          + [("Adadelta", dict(lr=0.5, **o)) for o in ADADELTA_OPTIONS])


def case_id(case):
    name, opts = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in opts.items())


def sample(dtype, steps=STEPS, seed=0):
    """Initial parameters and a gradient sequence; the last parameter misses every 4th grad."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[None if (k == 2 and t % 4 == 3) else rng.standard_normal(s).astype(dtype)
              for k, s in enumerate(SHAPES)] for t in range(steps)]
    return params, grads


def groups_of(params, lrs):
    """Two parameter groups, the second with its own learning rate when `lrs` asks for it."""
    if lrs is None:
        return params
    return [{"params": params[:2]}, {"params": params[2:], "lr": lrs}]


def run(lib, optim_cls, arrays, grads, opts, second_lr=None, opt=None, params=None):
    """Parameters of `lib` (dualnet or torch) after stepping through `grads`; returns
    (params, optimizer)."""
    if params is None:
        params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    if opt is None:
        opt = optim_cls(groups_of(params, second_lr), **opts)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else lib.tensor(g)
        opt.step()
    return params, opt


def numpy_of(t):
    return t.detach().numpy()


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", PARITY, ids=[case_id(c) for c in PARITY])
def test_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    name, opts = case
    arrays, grads = sample(dtype)
    second_lr = opts["lr"] * 3 if name in ("SGD", "Adam", "RMSprop") else None
    ours, our_opt = run(dn, getattr(optim, name), arrays, grads, opts, second_lr)
    theirs, their_opt = run(torch, getattr(torch.optim, name), arrays, grads, opts, second_lr)
    for mine, ref in zip(ours, theirs):
        assert mine.dtype == getattr(dn, np.dtype(dtype).name)
        np.testing.assert_allclose(numpy_of(mine), numpy_of(ref), **TOL[dtype])
    for mine, ref in zip(ours, theirs):
        our_state, their_state = our_opt.state.get(mine, {}), their_opt.state.get(ref, {})
        assert sorted(our_state) == sorted(their_state)
        for key in their_state:
            np.testing.assert_allclose(numpy_of(our_state[key]), numpy_of(their_state[key]),
                                       **TOL[dtype])


@pytest.mark.parity
def test_param_groups_and_state_dict_layout_match_torch():
    torch = pytest.importorskip("torch")
    arrays, grads = sample(np.float32, steps=3)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"):
        opts = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
        _, ours = run(dn, getattr(optim, name), arrays, grads, opts, second_lr=0.5)
        _, theirs = run(torch, getattr(torch.optim, name), arrays, grads, opts, second_lr=0.5)
        our_dict, their_dict = ours.state_dict(), theirs.state_dict()
        assert our_dict["param_groups"] == their_dict["param_groups"], name
        assert sorted(our_dict["state"]) == sorted(their_dict["state"]), name
        for index, their_state in their_dict["state"].items():
            assert sorted(our_dict["state"][index]) == sorted(their_state), name
            if "step" in their_state:
                assert our_dict["state"][index]["step"].dtype == dn.float32
                assert our_dict["state"][index]["step"].item() == their_state["step"].item()


@pytest.mark.parity
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_signature_defaults_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert set(theirs) <= set(ours)
    for key, parameter in theirs.items():
        assert ours[key].default == parameter.default, (name, key)
        assert ours[key].kind == parameter.kind, (name, key)


@pytest.mark.parity
@pytest.mark.parametrize("name,opts", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                       ("Adam", dict(lr=0.02, amsgrad=True)),
                                       ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
                                       ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
                                       ("Adadelta", dict(lr=0.5))])
def test_resumes_from_a_torch_state_dict(name, opts):
    # torch trains 10 steps; we load its optimizer state (torch tensors) and carry on
    torch = pytest.importorskip("torch")
    arrays, grads = sample(np.float64, steps=20)
    theirs, their_opt = run(torch, getattr(torch.optim, name), arrays, grads[:10], opts)
    ours = [dn.tensor(numpy_of(p).copy(), requires_grad=True) for p in theirs]
    our_opt = getattr(optim, name)(ours, **opts)
    our_opt.load_state_dict(their_opt.state_dict())
    run(dn, None, None, grads[10:], opts, opt=our_opt, params=ours)
    run(torch, None, None, grads[10:], opts, opt=their_opt, params=theirs)
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(numpy_of(mine), numpy_of(ref), **TOL[np.float64])


# --------------------------------------------------------------------------- state_dict

RESUME = [("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1)),
          ("SGD", dict(lr=0.05, momentum=0.9, rule="keras")),
          ("Adam", dict(lr=0.02, amsgrad=True)), ("AdamW", dict(lr=0.02, rule="keras")),
          ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
          ("Adagrad", dict(lr=0.1, lr_decay=0.01)), ("Adadelta", dict(lr=0.5))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", RESUME, ids=[case_id(c) for c in RESUME])
def test_state_dict_round_trip_resumes_exactly(case, dtype, tmp_path):
    name, opts = case
    cls = getattr(optim, name)
    arrays, grads = sample(dtype, steps=20)
    straight, _ = run(dn, cls, arrays, grads, opts, second_lr=0.03)
    first, first_opt = run(dn, cls, arrays, grads[:10], opts, second_lr=0.03)
    dn.save(first_opt.state_dict(), tmp_path / "optim.pt")
    resumed = [dn.tensor(numpy_of(p).copy(), requires_grad=True) for p in first]
    resumed_opt = cls(groups_of(resumed, 0.7), **opts)  # the saved lr (0.03) must win
    resumed_opt.load_state_dict(dn.load(tmp_path / "optim.pt"))
    assert resumed_opt.param_groups[1]["lr"] == 0.03
    run(dn, None, None, grads[10:], opts, opt=resumed_opt, params=resumed)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(numpy_of(a), numpy_of(b))


def test_load_state_dict_copies_and_casts_state():
    arrays, grads = sample(np.float64, steps=3)
    _, source = run(dn, optim.Adam, arrays, grads, {"lr": 0.1})
    saved = source.state_dict()
    params = [dn.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    target = optim.Adam(params, lr=0.1)
    target.load_state_dict(saved)
    state = target.state[params[0]]
    assert state["exp_avg"].dtype == dn.float32 and state["step"].dtype == dn.float32
    assert state["exp_avg"] is not saved["state"][0]["exp_avg"]
    np.testing.assert_allclose(numpy_of(state["exp_avg"]),
                               numpy_of(saved["state"][0]["exp_avg"]), rtol=1e-6)
    before = numpy_of(saved["state"][0]["exp_avg"]).copy()
    params[0].grad = dn.ones(SHAPES[0])
    target.step()
    np.testing.assert_array_equal(numpy_of(saved["state"][0]["exp_avg"]), before)


def test_load_state_dict_rejects_mismatched_groups():
    params = [dn.zeros(2, requires_grad=True), dn.zeros(3, requires_grad=True)]
    saved = optim.SGD(params, lr=0.1).state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer 2"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="2 parameters in the state dict, 1"):
        optim.SGD(params[:1], lr=0.1).load_state_dict(saved)


# --------------------------------------------------------------------------- keras rule

KERAS = [("SGD", "sgd", dict(lr=0.05)), ("SGD", "sgd", dict(lr=0.05, momentum=0.9)),
         ("SGD", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
         ("Adam", "adam", dict(lr=0.02, eps=1e-7)),
         ("Adam", "adam", dict(lr=0.02, eps=1e-7, amsgrad=True, weight_decay=0.05)),
         ("AdamW", "adam", dict(lr=0.02, eps=1e-7, weight_decay=0.004)),
         ("RMSprop", "rmsprop", dict(lr=1e-3, alpha=0.9, eps=1e-7)),
         ("RMSprop", "rmsprop", dict(lr=1e-3, alpha=0.9, eps=1e-7, momentum=0.5, centered=True,
                                     weight_decay=0.1)),
         ("Adagrad", "adagrad", dict(lr=0.05, initial_accumulator_value=0.1, eps=1e-7)),
         ("Adadelta", "adadelta", dict(lr=0.05, rho=0.95, eps=1e-7, weight_decay=0.1))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", KERAS, ids=[f"{c[0]}-{c[2]}" for c in KERAS])
def test_keras_rule_matches_the_reference(case, dtype):
    name, reference, opts = case
    arrays, grads = sample(dtype, steps=20)
    ours, _ = run(dn, getattr(optim, name), arrays, grads, dict(opts, rule="keras"))
    ref_opts = dict(opts, weight_decay=opts.get("weight_decay", 0.0 if name != "AdamW" else 1e-2))
    if name == "AdamW":
        ref_opts["decoupled"] = True
    fn = getattr(naive_optim, reference)
    for k, (mine, start) in enumerate(zip(ours, arrays)):
        state, p = {}, start.astype(np.float64)
        for step_grads in grads:
            if step_grads[k] is not None:
                p = fn(p, step_grads[k].astype(np.float64), state, rule="keras", **ref_opts)
        np.testing.assert_allclose(numpy_of(mine), p, **TOL[dtype])


def test_keras_rule_differs_from_torch_rule():
    arrays, grads = sample(np.float64, steps=5)
    torch_rule, _ = run(dn, optim.RMSprop, arrays, grads, dict(lr=0.01, eps=1e-3))
    keras_rule, _ = run(dn, optim.RMSprop, arrays, grads, dict(lr=0.01, eps=1e-3, rule="keras"))
    assert not np.allclose(numpy_of(torch_rule[0]), numpy_of(keras_rule[0]))


# --------------------------------------------------------------------------- API

def test_param_groups_get_defaults_and_own_options():
    a, b = dn.zeros(2, requires_grad=True), dn.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    assert opt.param_groups[1]["params"] == [b]
    c = dn.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    assert "Parameter Group 2" in repr(opt)


def test_parameters_without_grad_are_skipped():
    a, b = dn.ones(2, requires_grad=True), dn.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = dn.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state
    assert a.tolist() != [1.0, 1.0] and opt.state[a]["step"].item() == 1


def test_zero_grad():
    p = dn.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = dn.ones(2)
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_its_loss_and_records_the_graph():
    w = dn.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with dn.no_grad():  # the closure still records: step enables grad around it
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.tolist() == [1.5]  # 3 - 0.25 * 6
    assert opt.step() is None


def test_step_bumps_the_version_so_autograd_sees_the_change():
    w = dn.tensor([2.0], requires_grad=True)
    y = (w * w).sum()  # saves w for backward
    w.grad = dn.ones(1)
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_works_with_a_real_backward():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w0 = rng.standard_normal((8, 3)), rng.standard_normal(3)
    results = []
    for lib, opt_cls in ((dn, optim.Adam), (torch, torch.optim.Adam)):
        w = lib.tensor(w0.copy(), requires_grad=True)
        xs = lib.tensor(x)
        opt = opt_cls([w], lr=0.05)
        for _ in range(30):
            opt.zero_grad()
            ((xs @ w).tanh() ** 2).mean().backward()
            opt.step()
        results.append(numpy_of(w))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_integer_parameters_are_refused_at_step():
    p = dn.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.data = dn.zeros(2, dtype=dn.float16)
    p.grad = dn.zeros(2, dtype=dn.float16)
    with pytest.raises(TypeError, match="float32 or float64, got"):
        opt.step()


def test_deepcopy_of_a_state_dict_is_loadable():
    arrays, grads = sample(np.float32, steps=2)
    params, opt = run(dn, optim.RMSprop, arrays, grads, {"lr": 0.01, "momentum": 0.5})
    other = optim.RMSprop(params, lr=0.01, momentum=0.5)
    other.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert other.state[params[0]]["momentum_buffer"].shape == params[0].shape


# --------------------------------------------------------------------------- bad input

def _leaf():
    return dn.zeros(2, requires_grad=True)


@pytest.mark.parametrize("make,error,match", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "parameter list is empty"),
    (lambda: optim.SGD(_leaf(), lr=0.1), TypeError, "single Tensor"),
    (lambda: optim.SGD([np.zeros(2)], lr=0.1), TypeError, "ndarray"),
    (lambda: optim.SGD({_leaf()}, lr=0.1), TypeError, "a set"),
    (lambda: optim.SGD(5, lr=0.1), TypeError, "got int"),
    (lambda: optim.SGD([_leaf() * 2], lr=0.1), ValueError, "non-leaf"),
    (lambda: optim.SGD([_leaf()], lr=-0.1), ValueError, r"SGD: lr must be >= 0.0, got -0.1"),
    (lambda: optim.SGD([_leaf()], momentum=-1), ValueError, "momentum must be >= 0.0, got -1"),
    (lambda: optim.SGD([_leaf()], weight_decay=-1e-3), ValueError, "got -0.001"),
    (lambda: optim.SGD([_leaf()], nesterov=True), ValueError, "nesterov"),
    (lambda: optim.SGD([_leaf()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "dampening=0.1"),
    (lambda: optim.SGD([_leaf()], momentum=0.9, dampening=0.1, rule="keras"), ValueError,
     "keras rule has no dampening"),
    (lambda: optim.SGD([_leaf()], rule="tf"), ValueError, "rule must be 'torch' or 'keras'"),
    (lambda: optim.Adam([_leaf()], betas=(1.0, 0.999)), ValueError, r"betas\[0\] .* got 1.0"),
    (lambda: optim.Adam([_leaf()], betas=(0.9, -0.1)), ValueError, r"betas\[1\] .* got -0.1"),
    (lambda: optim.Adam([_leaf()], betas=0.9), ValueError, "pair"),
    (lambda: optim.AdamW([_leaf()], eps=-1e-8), ValueError, "AdamW: eps must be >= 0.0"),
    (lambda: optim.Adam([_leaf()], lr=float("nan")), ValueError, "got nan"),
    (lambda: optim.Adam([_leaf()], differentiable=True), ValueError, "differentiable"),
    (lambda: optim.RMSprop([_leaf()], alpha=-0.5), ValueError, "alpha must be >= 0.0"),
    (lambda: optim.RMSprop([_leaf()], eps=-1.0), ValueError, "RMSprop: eps"),
    (lambda: optim.Adagrad([_leaf()], lr_decay=-1), ValueError, "lr_decay"),
    (lambda: optim.Adagrad([_leaf()], initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value"),
    (lambda: optim.Adadelta([_leaf()], rho=1.5), ValueError, r"rho must be in \[0, 1\], got 1.5"),
])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_parameter_in_two_groups_is_refused():
    p = _leaf()
    with pytest.raises(ValueError, match="another parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.5}], lr=0.1)
    opt = optim.Adam([p])
    with pytest.raises(ValueError, match="another parameter group"):
        opt.add_param_group({"params": p})
    with pytest.raises(TypeError, match="must be a dict"):
        opt.add_param_group([p])
