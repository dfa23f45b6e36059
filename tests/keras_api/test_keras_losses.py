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


def _softmax_output(logits, axis=-1):
    from dualnet.keras_api import activations

    x = dn.tensor(logits, requires_grad=True)
    return x, activations.softmax(x, axis=axis)


@pytest.mark.parametrize("sparse", [False, True])
def test_crossentropy_of_a_softmax_output_uses_its_logits(sparse):
    """As Keras's TensorFlow backend: the loss of a softmax output is computed from the logits
    that softmax kept (one stable kernel). Where no probability is clipped it equals the
    probability formula, value and gradient; where one is (p < 1e-7) the loss stays exact
    instead of capping at -log(1e-7), and the gradient does not vanish."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5))
    labels = rng.integers(0, 5, 6)
    y_true = labels if sparse else np.eye(5)[labels]
    fn = losses.sparse_categorical_crossentropy if sparse else losses.categorical_crossentropy
    x, probs = _softmax_output(logits)
    fused = fn(y_true, probs)
    fused.sum().backward()
    plain_x = dn.tensor(logits, requires_grad=True)
    plain_probs = dn.softmax(plain_x, dim=-1)  # no kept logits: the probability formula
    assert getattr(plain_probs, "_keras_logits", None) is None
    plain = fn(y_true, plain_probs)
    plain.sum().backward()
    np.testing.assert_allclose(fused.detach().numpy(), plain.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), plain_x.grad.numpy(), rtol=1e-8, atol=1e-12)

    saturated = np.zeros((1, 5))
    saturated[0, 1] = 40.0  # p(class 0) ~ 4e-18, clipped to 1e-7 by the probability formula
    target = np.array([0]) if sparse else np.eye(5)[[0]]
    x, probs = _softmax_output(saturated)
    value = fn(target, probs)
    value.sum().backward()
    np.testing.assert_allclose(value.detach().numpy(), [40.0], rtol=1e-9)
    assert np.abs(x.grad.numpy()).max() > 0.5
    capped = fn(target, dn.softmax(dn.tensor(saturated), dim=-1))
    np.testing.assert_allclose(capped.numpy(), [-np.log(1e-7)], rtol=1e-6)


def test_crossentropy_along_another_axis_than_the_softmax_uses_the_probabilities():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 4))
    _, probs = _softmax_output(logits, axis=0)
    y_true = np.eye(4)[[0, 1, 2, 3]]
    got = losses.categorical_crossentropy(y_true, probs, axis=-1)
    want = losses.categorical_crossentropy(y_true, dn.softmax(dn.tensor(logits), dim=0), axis=-1)
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-12)
