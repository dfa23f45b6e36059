"""keras_api.optimizers.Nadam: 20 steps match keras.optimizers.Nadam (apply_gradients on keras
Variables), its variables line up with Keras's (momentum, velocity per variable, then the
momentum product), "nadam" by name in get / compile, config round trip, saved state resumes."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras_dn
from dualnet.keras_api import layers, optimizers
from dualnet.keras_api.saving.optimizer_state import optimizer_slots

CASES = [{}, {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-5},
         {"learning_rate": 0.01, "weight_decay": 0.05},
         {"learning_rate": 0.01, "clipnorm": 0.5}]


def _sequence(steps=20):
    rng = np.random.default_rng(5)
    weights = [rng.normal(size=(3, 4)).astype(np.float32),
               rng.normal(size=(4,)).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in weights]
             for _ in range(steps)]
    return weights, grads


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
def test_nadam_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    weights, grads = _sequence()
    ours = [dn.tensor(w.copy(), requires_grad=True) for w in weights]
    theirs = [keras.Variable(w.copy()) for w in weights]
    opt, ref = optimizers.Nadam(**kwargs), keras.optimizers.Nadam(**kwargs)
    for step_grads in grads:
        opt.apply_gradients(zip(step_grads, ours))
        ref.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in step_grads], theirs))
    for mine, keras_var in zip(ours, theirs):
        np.testing.assert_allclose(mine.detach().numpy(),
                                   keras.ops.convert_to_numpy(keras_var), rtol=1e-4, atol=1e-6)
    assert opt.iterations == 20
    # the variables Keras saves, in its order: iteration, learning rate, m and v of each
    # variable, the momentum product
    slots = optimizer_slots(opt)
    assert [s.shape for s in slots] == [tuple(v.shape) for v in ref.variables]
    for slot, variable in zip(slots, ref.variables):
        np.testing.assert_allclose(slot.numpy(), keras.ops.convert_to_numpy(variable),
                                   rtol=1e-4, atol=1e-6)


def test_defaults_names_and_config():
    opt = optimizers.get("nadam")
    assert isinstance(opt, optimizers.Nadam) and isinstance(optimizers.get("Nadam"),
                                                            optimizers.Nadam)
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert opt.name == "nadam"
    copy = optimizers.deserialize(optimizers.serialize(optimizers.Nadam(0.01, beta_1=0.8)))
    assert isinstance(copy, optimizers.Nadam)
    assert (copy.learning_rate, copy.beta_1) == (0.01, 0.8)
    with pytest.raises(ValueError, match="nadam"):
        optimizers.get("nadamm")


@pytest.mark.parity
def test_defaults_match_keras():
    keras = pytest.importorskip("keras")
    ours, theirs = optimizers.Nadam().get_config(), keras.optimizers.Nadam().get_config()
    for key in ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm",
                "clipvalue", "global_clipnorm"):  # not "name": Keras numbers its instances
        assert ours[key] == pytest.approx(theirs[key]), key


def _model():
    model = keras_dn.Sequential([keras_dn.Input((4,)), layers.Dense(5, activation="relu"),
                                 layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(size=(4, 5)).astype(np.float32) * 0.5,
                       np.zeros(5, np.float32),
                       rng.normal(size=(5, 3)).astype(np.float32) * 0.5,
                       np.zeros(3, np.float32)])
    return model


def test_compile_by_name_trains_and_saved_state_resumes(tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(2)
    x, y = rng.random((32, 4)).astype(np.float32), rng.integers(0, 3, 32)
    model = _model()
    model.compile("nadam", "sparse_categorical_crossentropy")
    assert isinstance(model.optimizer, optimizers.Nadam)
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    other = _model()
    other.compile("nadam", "sparse_categorical_crossentropy")
    other.fit(x[:8], y[:8], epochs=1, batch_size=8, verbose=0)  # builds its optimizer
    other.load_weights(path)
    assert other.optimizer.iterations == 12
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    other.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
