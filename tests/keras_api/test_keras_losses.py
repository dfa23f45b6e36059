"""keras_api.losses against real Keras (values on random inputs, both from_logits settings,
label smoothing, sample weights) and against NumPy formulas where Keras is absent."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import losses

RNG = np.random.default_rng(0)
N, C = 6, 4


def _probs():
    p = RNG.random((N, C)).astype(np.float32) + 0.05
    return p / p.sum(-1, keepdims=True)


def _cases():
    labels = RNG.integers(0, C, N)
    onehot = np.eye(C, dtype=np.float32)[labels]
    logits = RNG.normal(size=(N, C)).astype(np.float32)
    binary = (RNG.random((N, 3)) > 0.5).astype(np.float32)
    return [
        ("SparseCategoricalCrossentropy", {}, labels, _probs()),
        ("SparseCategoricalCrossentropy", {"from_logits": True}, labels, logits),
        ("CategoricalCrossentropy", {}, onehot, _probs()),
        ("CategoricalCrossentropy", {"from_logits": True}, onehot, logits),
        ("CategoricalCrossentropy", {"label_smoothing": 0.2}, onehot, _probs()),
        ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, onehot,
         logits),
        ("BinaryCrossentropy", {}, binary, RNG.random((N, 3)).astype(np.float32)),
        ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, binary,
         RNG.normal(size=(N, 3)).astype(np.float32)),
        ("MeanSquaredError", {}, logits, _probs()),
        ("MeanAbsoluteError", {}, logits, _probs()),
        ("Huber", {"delta": 0.5}, logits, _probs()),
        ("KLDivergence", {}, _probs(), _probs()),
    ]


CASES = _cases()


@pytest.mark.parametrize("name,kwargs,y_true,y_pred", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_loss_matches_keras(name, kwargs, y_true, y_pred):
    keras = pytest.importorskip("keras")
    weight = RNG.random(N).astype(np.float32)
    ours, theirs = getattr(losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    for sw in (None, weight):
        got = float(ours(y_true, dn.tensor(y_pred), sample_weight=sw))
        want = float(theirs(y_true, y_pred, sample_weight=sw))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    none = getattr(losses, name)(reduction="none", **kwargs)
    np.testing.assert_allclose(none(y_true, dn.tensor(y_pred)).numpy(),
                               getattr(keras.losses, name)(reduction="none", **kwargs)(
                                   y_true, y_pred).cpu().numpy(), rtol=1e-5, atol=1e-6)


def test_sparse_crossentropy_numpy_reference():
    p = _probs()
    labels = np.array([0, 1, 2, 3, 0, 1])
    want = -np.log(np.clip(p[np.arange(N), labels], 1e-7, 1 - 1e-7)).mean()
    got = losses.SparseCategoricalCrossentropy()(labels, dn.tensor(p))
    np.testing.assert_allclose(float(got), want, rtol=1e-6)
    # clipping: a zero probability costs -log(1e-7), not inf
    zero = np.array([[1.0, 0.0]], np.float32)
    np.testing.assert_allclose(float(losses.sparse_categorical_crossentropy(
        np.array([1]), dn.tensor(zero))[0]), -np.log(1e-7), rtol=1e-4)


def test_gradient_flows():
    logits = dn.tensor(RNG.normal(size=(N, C)).astype(np.float32), requires_grad=True)
    loss = losses.CategoricalCrossentropy(from_logits=True)(
        np.eye(C, dtype=np.float32)[RNG.integers(0, C, N)], logits)
    loss.backward()
    assert logits.grad.shape == (N, C)
    np.testing.assert_allclose(logits.grad.numpy().sum(-1), 0.0, atol=1e-6)


def test_get_and_errors():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("kld") is losses.kl_divergence
    assert isinstance(losses.get("Huber"), losses.Huber)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.get("not_a_loss")
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match=r"label 7 .* 4 classes"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 7]), dn.tensor(_probs()[:2]))
