"""keras_api.optimizers: 20 steps on the same weights and gradient sequence match Keras's
optimizers (apply_gradients on keras Variables); schedules' values; names and errors."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import math

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import optimizers

CASES = [
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"learning_rate": 0.01}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 0.5}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.05}),
]


def _sequence(steps=20):
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(3, 4)).astype(np.float32),
               rng.normal(size=(4,)).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in weights]
             for _ in range(steps)]
    return weights, grads


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_optimizer_matches_keras(name, kwargs):
    keras = pytest.importorskip("keras")
    weights, grads = _sequence()
    ours = [dn.tensor(w.copy(), requires_grad=True) for w in weights]
    theirs = [keras.Variable(w.copy()) for w in weights]
    opt, ref = getattr(optimizers, name)(**kwargs), getattr(keras.optimizers, name)(**kwargs)
    for step_grads in grads:
        opt.apply_gradients(zip(step_grads, ours))
        ref.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in step_grads], theirs))
    for mine, keras_var in zip(ours, theirs):
        np.testing.assert_allclose(mine.detach().numpy(),
                                   keras.ops.convert_to_numpy(keras_var), rtol=1e-4, atol=1e-6)
    assert opt.iterations == 20


def test_schedule_drives_learning_rate():
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.SGD(learning_rate=schedule)
    w = dn.tensor([1.0], requires_grad=True)
    moves = []
    for _ in range(4):
        before = w.item()
        opt.apply_gradients([(np.array([1.0], np.float32), w)])
        moves.append(before - w.item())
    np.testing.assert_allclose(moves, [0.1 * 0.5 ** (s / 2) for s in range(4)], rtol=1e-5)
    assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** 2)


def test_schedule_values_match_keras():
    keras = pytest.importorskip("keras")
    pairs = [
        (optimizers.schedules.ExponentialDecay(0.1, 7, 0.9, staircase=True),
         keras.optimizers.schedules.ExponentialDecay(0.1, 7, 0.9, staircase=True)),
        (optimizers.schedules.CosineDecay(0.1, 30, alpha=0.1),
         keras.optimizers.schedules.CosineDecay(0.1, 30, alpha=0.1)),
        (optimizers.schedules.CosineDecay(0.0, 20, warmup_target=0.2, warmup_steps=5),
         keras.optimizers.schedules.CosineDecay(0.0, 20, warmup_target=0.2, warmup_steps=5)),
        (optimizers.schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1]),
         keras.optimizers.schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])),
    ]
    for ours, theirs in pairs:
        for step in (0, 1, 4, 5, 6, 10, 11, 25, 40):
            assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-5, abs=1e-7)


def test_schedules_numpy_reference():
    cosine = optimizers.schedules.CosineDecay(1.0, 10)
    assert cosine(5) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
    assert cosine(20) == pytest.approx(0.0)
    assert optimizers.schedules.PiecewiseConstantDecay([3], [1.0, 2.0])(3) == 1.0


def test_defaults_names_and_errors():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert optimizers.Adam().epsilon == 1e-7 and optimizers.RMSprop().learning_rate == 0.001
    assert optimizers.AdamW().weight_decay == 0.004
    with pytest.raises(ValueError, match="adam"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    opt = optimizers.SGD(0.5)
    opt.learning_rate = 0.25
    assert opt.learning_rate == 0.25
