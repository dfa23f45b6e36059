"""stateful=True recurrent layers (states carried from one batch to the next, reset_states())
and GRU(reset_after=False), against Keras 3 with the same weights."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers

from _keras_layer_parity import real_keras

RNG = np.random.default_rng(3)
BATCHES = [RNG.standard_normal((2, 4, 3)).astype(np.float32) for _ in range(3)]


def _model(lib, make):
    return lib.Sequential([lib.Input(batch_shape=(2, 4, 3)), make(lib)])


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.SimpleRNN(5, stateful=True),
    lambda lib: lib.layers.LSTM(5, stateful=True, return_sequences=True),
    lambda lib: lib.layers.GRU(5, stateful=True, go_backwards=True),
    lambda lib: lib.layers.GRU(5, stateful=True, reset_after=False),
    lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(5, stateful=True)),
])
def test_states_carry_across_batches_and_reset_like_keras(make):
    k = real_keras()
    ours, theirs = _model(keras, make), _model(k, make)
    theirs.set_weights(ours.get_weights())
    assert len(ours.weights) == len(theirs.weights)  # the states are not weights
    mine = [ours(x).detach().numpy() for x in BATCHES]
    ref = [theirs(x).detach().numpy() for x in BATCHES]
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(mine[0], _call_again(ours, BATCHES[0]))  # the state moved on
    ours.layers[0].reset_states()
    theirs.layers[0].reset_states()
    np.testing.assert_allclose(ours(BATCHES[0]).detach().numpy(), mine[0], rtol=1e-6)
    np.testing.assert_allclose(theirs(BATCHES[0]).detach().numpy(), ref[0], rtol=1e-6)


def _call_again(model, x):
    return model(x).detach().numpy()


def test_stateful_rnn_errors_and_training():
    with pytest.raises(ValueError, match="batch size must be static"):
        layers.LSTM(3, stateful=True)(keras.Input(shape=(4, 3)))
    model = _model(keras, lambda lib: lib.layers.LSTM(5, stateful=True))
    with pytest.raises(ValueError, match="batch size"):
        model(np.ones((3, 4, 3), np.float32))
    with pytest.raises(AttributeError, match="stateful"):
        layers.Bidirectional(layers.LSTM(3)).reset_states()
    # training across batches: gradients stop at the batch boundary (the carried state is
    # detached), and the state keeps moving during fit
    model = keras.Sequential([keras.Input(batch_shape=(2, 4, 3)),
                              layers.GRU(5, stateful=True), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.concatenate(BATCHES)
    history = model.fit(x, np.ones((6, 1), np.float32), batch_size=2, shuffle=False, epochs=2,
                        verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    state = model.layers[0].states[0]
    assert tuple(state.shape) == (2, 5) and not state.requires_grad
    assert np.abs(state.numpy()).sum() > 0


@pytest.mark.parametrize("options", [{}, {"return_sequences": True, "go_backwards": True},
                                     {"use_bias": False}, {"activation": "relu"}])
def test_gru_reset_before_matches_keras_with_gradients(options):
    k = real_keras()
    import torch
    ours = layers.GRU(4, reset_after=False, **options)
    theirs = k.layers.GRU(4, reset_after=False, **options)
    x = BATCHES[0]
    ours(dn.tensor(x))
    theirs(x)
    weights = [RNG.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    xo, xt = dn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    (out ** 2).sum().backward()
    (ref ** 2).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    for a, b in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_allclose(a.grad.numpy(), b.value.grad.numpy(), rtol=1e-4, atol=1e-6)
