"""dualnet.optim.lr_scheduler against torch.optim.lr_scheduler: the learning rates (and OneCycle's
momenta) of 60 steps, two parameter groups, the same arithmetic so the values agree to float64
rounding; state_dict resumes exactly; bad input."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet import optim
from dualnet.optim import lr_scheduler

STEPS = 60


def _make(lib, opt_name="SGD", **opt_kwargs):
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    opt_cls = getattr(lib.optim, opt_name)
    opt_kwargs = {"lr": 0.1, **({"momentum": 0.9} if opt_name == "SGD" else {}), **opt_kwargs}
    return opt_cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.04}], **opt_kwargs)


def _lambda_sched(module, opt):
    return module.LambdaLR(opt, [lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e)])


def _sequential(module, opt):
    warmup = module.LinearLR(opt, start_factor=0.1, total_iters=5)
    decay = module.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3)
    tail = module.ExponentialLR(opt, gamma=0.9)
    return module.SequentialLR(opt, [warmup, decay, tail], milestones=[5, 30])


# name -> (optimizer name, build(module, optimizer), metric-driven?)
SCHEDULERS = {
    "StepLR": ("SGD", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    "StepLR-default-gamma": ("SGD", lambda m, o: m.StepLR(o, 3)),
    "MultiStepLR": ("SGD", lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 40], gamma=0.3)),
    "ExponentialLR": ("SGD", lambda m, o: m.ExponentialLR(o, gamma=0.93)),
    "CosineAnnealingLR": ("SGD", lambda m, o: m.CosineAnnealingLR(o, T_max=17, eta_min=0.002)),
    "CosineAnnealingLR-default": ("SGD", lambda m, o: m.CosineAnnealingLR(o, T_max=10)),
    "LambdaLR": ("SGD", _lambda_sched),
    "LinearLR": ("SGD", lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9,
                                                total_iters=12)),
    "LinearLR-default": ("SGD", lambda m, o: m.LinearLR(o)),
    "SequentialLR": ("SGD", _sequential),
    "OneCycleLR-cos-sgd": ("SGD", lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2],
                                                            total_steps=STEPS + 1)),
    "OneCycleLR-linear-three-phase-adam": (
        "Adam", lambda m, o: m.OneCycleLR(o, max_lr=0.3, epochs=4, steps_per_epoch=16,
                                          pct_start=0.25, anneal_strategy="linear",
                                          three_phase=True, div_factor=10.0)),
    "OneCycleLR-no-momentum": ("SGD", lambda m, o: m.OneCycleLR(
        o, max_lr=0.1, total_steps=STEPS, cycle_momentum=False, final_div_factor=100.0)),
}
PLATEAU = {
    "min-rel": dict(patience=2, factor=0.5),
    "max-abs-cooldown": dict(mode="max", threshold_mode="abs", threshold=0.01, patience=1,
                             cooldown=3, factor=0.3, min_lr=[0.01, 0.001]),
    "defaults": {},
}


def _metric(step):
    # falls, stalls, wobbles: crosses every branch of the plateau logic
    return 1.0 / (1 + step) if step < 10 else 0.1 + 0.01 * math.sin(step)


def _trace(lib, module, opt_name, build, steps=STEPS):
    opt = _make(lib, opt_name)
    sched = build(module, opt)
    lrs, momenta = [sched.get_last_lr()], []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        momenta.append([g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
    return lrs, momenta, [g["lr"] for g in opt.param_groups]


@pytest.mark.parity
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    opt_name, build = SCHEDULERS[name]
    ours = _trace(dn, lr_scheduler, opt_name, build)
    theirs = _trace(torch, torch.optim.lr_scheduler, opt_name, build)
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(np.array(mine, float), np.array(ref, float), rtol=1e-13,
                                   atol=1e-15)


@pytest.mark.parity
@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(name):
    torch = pytest.importorskip("torch")
    traces = []
    for lib, module in ((dn, lr_scheduler), (torch, torch.optim.lr_scheduler)):
        opt = _make(lib)
        sched = module.ReduceLROnPlateau(opt, **PLATEAU[name])
        trace = []
        for step in range(STEPS):
            sched.step(_metric(step))
            trace.append(sched.get_last_lr() + [sched.num_bad_epochs, sched.cooldown_counter])
        traces.append(trace)
    assert traces[0] == traces[1]


@pytest.mark.parity
def test_step_with_an_epoch_uses_the_closed_form_like_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib, module in ((dn, lr_scheduler), (torch, torch.optim.lr_scheduler)):
        opt = _make(lib)
        sched = module.CosineAnnealingLR(opt, T_max=10)
        with pytest.warns(UserWarning):
            sched.step(7)
        opt.step()
        sched.step()
        results.append(sched.get_last_lr())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_resumes_exactly(name):
    opt_name, build = SCHEDULERS[name]
    straight, _, _ = _trace(dn, lr_scheduler, opt_name, build)
    opt = _make(dn, opt_name)
    sched = build(lr_scheduler, opt)
    for _ in range(25):
        opt.step()
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched
    new_opt = _make(dn, opt_name)
    new_sched = build(lr_scheduler, new_opt)  # construct first (it rewrites lrs), then load
    new_opt.load_state_dict(saved_opt)
    new_sched.load_state_dict(saved_sched)
    resumed = []
    for _ in range(STEPS - 25):
        new_opt.step()
        new_sched.step()
        resumed.append(new_sched.get_last_lr())
    assert resumed == straight[26:]


def test_reduce_on_plateau_state_dict_resumes():
    opt = _make(dn)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for step in range(15):
        sched.step(_metric(step))
    new_opt = _make(dn)
    new_sched = lr_scheduler.ReduceLROnPlateau(new_opt, patience=5)
    new_opt.load_state_dict(opt.state_dict())
    new_sched.load_state_dict(sched.state_dict())
    for step in range(15, 40):
        sched.step(_metric(step))
        new_sched.step(_metric(step))
        assert new_sched.get_last_lr() == sched.get_last_lr()


def test_initial_lr_and_base_lrs():
    opt = _make(dn)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    assert sched.base_lrs == [0.1, 0.04] and sched.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.04]
    assert sched.get_last_lr() == [0.1, 0.04]


def test_schedules_drive_the_optimizer():
    p = dn.ones(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[1])
    sched.step()
    p.grad = dn.ones(1)
    opt.step()
    assert p.item() == pytest.approx(0.9)


@pytest.mark.parametrize("make,error,match", [
    (lambda o: lr_scheduler.StepLR("sgd", 3), TypeError, "expected a dualnet.optim.Optimizer"),
    (lambda o: lr_scheduler.StepLR(o, 0), ValueError, "step_size must be a positive int, got 0"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be > 0"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "start_factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "end_factor .* 1.5"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]), ValueError, "one value per parameter "
                                                                     r"group \(2\), got 1"),
    (lambda o: lr_scheduler.LambdaLR(o, 3), TypeError, "callable"),
    (lambda o: lr_scheduler.StepLR(o, 2, last_epoch=4), KeyError, "initial_lr"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor must be < 1.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "'min' or 'max'"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "'rel'"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "min_lr"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=-3), ValueError, "-3"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=9, pct_start=2.0), ValueError,
     "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=9, anneal_strategy="exp"),
     ValueError, "anneal_strategy"),
    (lambda o: lr_scheduler.SequentialLR(o, [], []), ValueError, "at least one"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [3]), ValueError,
     "1 schedulers need 0 milestones, got 1"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []), ValueError,
     "ReduceLROnPlateau"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(_make(dn), 2)], []), ValueError,
     "another optimizer"),
])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make(_make(dn))


def test_one_cycle_refuses_steps_past_the_end_and_optimizers_without_momentum():
    opt = _make(dn)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="stepped 4 times, past total_steps=3"):
        sched.step()
    with pytest.raises(ValueError, match="momentum or betas"):
        lr_scheduler.OneCycleLR(_make(dn, "Adagrad"), max_lr=0.5, total_steps=3)
