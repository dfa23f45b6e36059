"""keras_api SimpleRNN / LSTM / GRU / Bidirectional against a NumPy loop and, where Keras is
installed, Keras 3's outputs, states and gradients with the same weights."""
import os

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 5, 3)).astype(np.float32)
UNITS = 4


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _numpy_lstm(x, kernel, recurrent, bias):
    h = np.zeros((x.shape[0], UNITS))
    c = np.zeros_like(h)
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)  # Keras's gate order i, f, c, o
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def _numpy_gru(x, kernel, recurrent, bias, reset_after):
    h = np.zeros((x.shape[0], UNITS))
    outs = []
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + b_in, 3, axis=-1)  # gates z, r, h
        hz, hr, hh = np.split(h @ recurrent + b_rec, 3, axis=-1)
        z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
        if reset_after:
            cand = np.tanh(xh + r * hh)
        else:
            cand = np.tanh(xh + (r * h) @ recurrent[:, 2 * UNITS:])
        h = z * h + (1 - z) * cand
        outs.append(h)
    return np.stack(outs, 1), h


def _weights(layer):
    return [w.detach().numpy().astype(np.float64) for w in layer.weights]


def test_lstm_weights_defaults_and_numpy_reference():
    lstm = layers.LSTM(UNITS, return_sequences=True, return_state=True)
    seq, h, c = lstm(dn.tensor(X))
    kernel, recurrent, bias = _weights(lstm)
    assert kernel.shape == (3, 16) and recurrent.shape == (4, 16) and bias.shape == (16,)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(4), atol=1e-5)  # orthogonal
    bias[:] = RNG.standard_normal(16)
    lstm.set_weights([kernel, recurrent, bias])
    seq, h, c = lstm(dn.tensor(X))
    ref_seq, ref_h, ref_c = _numpy_lstm(X.astype(np.float64), kernel, recurrent, bias)
    np.testing.assert_allclose(seq.detach().numpy(), ref_seq, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.detach().numpy(), ref_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.detach().numpy(), ref_c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_numpy_reference(reset_after):
    gru = layers.GRU(UNITS, reset_after=reset_after, return_sequences=True,
                     bias_initializer="random_normal")
    out = gru(dn.tensor(X))
    kernel, recurrent, bias = _weights(gru)
    assert bias.shape == ((2, 12) if reset_after else (12,))
    ref, _ = _numpy_gru(X.astype(np.float64), kernel, recurrent, bias, reset_after)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-5, atol=1e-6)


def test_simple_rnn_go_backwards_and_initial_state():
    rnn = layers.SimpleRNN(UNITS, return_sequences=True, go_backwards=True)
    h0 = RNG.standard_normal((2, UNITS)).astype(np.float32)
    out = rnn(dn.tensor(X), initial_state=[dn.tensor(h0)])
    kernel, recurrent, bias = _weights(rnn)
    h, outs = h0.astype(np.float64), []
    for t in reversed(range(5)):
        h = np.tanh(X[:, t] @ kernel + h @ recurrent + bias)
        outs.append(h)
    np.testing.assert_allclose(out.detach().numpy(), np.stack(outs, 1), rtol=1e-5, atol=1e-6)


def test_mask_carries_state_over_masked_steps():
    gru = layers.GRU(UNITS, return_sequences=True)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    out = gru(dn.tensor(X), mask=dn.tensor(mask)).detach().numpy()
    short = gru(dn.tensor(X[:1, :3])).detach().numpy()
    np.testing.assert_allclose(out[0, :3], short[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[0, 3], out[0, 2])
    np.testing.assert_allclose(out[0, 4], out[0, 2])


def test_gradients_reach_every_weight_and_the_input():
    for layer in (layers.LSTM(UNITS), layers.GRU(UNITS), layers.GRU(UNITS, reset_after=False),
                  layers.SimpleRNN(UNITS), layers.Bidirectional(layers.LSTM(UNITS))):
        x = dn.tensor(X, requires_grad=True)
        layer(x).square().sum().backward()
        assert x.grad is not None
        assert all(p.grad is not None for p in layer.parameters()), layer.name


def test_dropout_only_in_training():
    lstm = layers.LSTM(UNITS, dropout=0.5, recurrent_dropout=0.5)
    x = dn.tensor(X)
    base = lstm(x).detach().numpy()
    np.testing.assert_array_equal(lstm(x, training=False).detach().numpy(), base)
    dn.manual_seed(0)
    assert not np.allclose(lstm(x, training=True).detach().numpy(), base)
    gru = layers.GRU(UNITS, recurrent_dropout=0.5)
    assert not np.allclose(gru(x, training=True).detach().numpy(), gru(x).detach().numpy())


def test_bidirectional_merge_modes_and_errors():
    x = dn.tensor(X)
    bi = layers.Bidirectional(layers.GRU(UNITS, return_sequences=True))
    assert bi(x).shape == (2, 5, 2 * UNITS)
    assert [w.shape for w in bi.weights][:3] == [(3, 12), (4, 12), (2, 12)] and len(bi.weights) == 6
    assert bi.forward_layer.name.startswith("forward_") and bi.backward_layer.go_backwards
    for mode in ("sum", "mul", "ave"):
        assert layers.Bidirectional(layers.LSTM(UNITS), merge_mode=mode)(x).shape == (2, UNITS)
    both = layers.Bidirectional(layers.LSTM(UNITS), merge_mode=None)(x)
    assert isinstance(both, list) and len(both) == 2
    with pytest.raises(ValueError):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError):
        layers.LSTM(UNITS)(dn.tensor(X[0]))  # 2-D input
    with pytest.raises(ValueError, match="batch size must be static"):
        layers.LSTM(UNITS, stateful=True)(layers.Input(shape=(5, 3)))


def test_config_round_trip():
    lstm = layers.LSTM(UNITS, return_sequences=True, dropout=0.1, unit_forget_bias=False)
    clone = layers.LSTM.from_config(lstm.get_config())
    assert clone.get_config() == lstm.get_config() | {"name": clone.name}
    bi = layers.Bidirectional(layers.GRU(UNITS, reset_after=False))
    bi(dn.tensor(X))
    again = layers.Bidirectional.from_config(bi.get_config())
    again(dn.tensor(X))
    again.set_weights(bi.get_weights())
    np.testing.assert_allclose(again(dn.tensor(X)).detach().numpy(),
                               bi(dn.tensor(X)).detach().numpy())


# ----------------------------------------------------------------------------- Keras parity

@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _pair(keras, name, **kwargs):
    """The Keras layer and ours, built on X, ours holding Keras's weights."""
    theirs = getattr(keras.layers, name)(UNITS, **kwargs)
    theirs(X)
    ours = getattr(layers, name)(UNITS, **kwargs)
    ours(dn.tensor(X))
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _numpy(keras, value):
    return [_numpy(keras, v) for v in value] if isinstance(value, (list, tuple)) else \
        keras.ops.convert_to_numpy(value)


def _compare(keras, theirs, ours):
    theirs, ours = _numpy(keras, theirs), ours
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=1e-5, atol=1e-6)


CASES = [("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {}),
         ("LSTM", {"activation": "relu"}), ("GRU", {"recurrent_activation": "hard_sigmoid"}),
         ("SimpleRNN", {"activation": "relu", "use_bias": False}), ("LSTM", {"use_bias": False})]
FLAGS = [{}, {"return_sequences": True}, {"return_state": True},
         {"return_sequences": True, "return_state": True, "go_backwards": True}]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("flags", FLAGS)
def test_matches_keras(keras, name, kwargs, flags):
    theirs, ours = _pair(keras, name, bias_initializer="random_normal", **kwargs, **flags)
    _compare(keras, theirs(X), ours(dn.tensor(X)))


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_initial_state_and_mask_match_keras(keras, name):
    theirs, ours = _pair(keras, name, return_sequences=True, return_state=True)
    count = 2 if name == "LSTM" else 1
    states = [RNG.standard_normal((2, UNITS)).astype(np.float32) for _ in range(count)]
    mask = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=bool)
    _compare(keras, theirs(X, initial_state=states, mask=mask),
             ours(dn.tensor(X), initial_state=[dn.tensor(s) for s in states],
                  mask=dn.tensor(mask)))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("flags", [{}, {"return_sequences": True},
                                   {"return_sequences": True, "return_state": True}])
def test_bidirectional_matches_keras(keras, merge_mode, flags):
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, **flags), merge_mode=merge_mode)
    theirs(X)
    ours = layers.Bidirectional(layers.LSTM(UNITS, **flags), merge_mode=merge_mode)
    ours(dn.tensor(X))
    ours.set_weights(theirs.get_weights())
    _compare(keras, theirs(X), ours(dn.tensor(X)))


def test_default_config_matches_keras(keras):
    for name in ("LSTM", "GRU", "SimpleRNN"):
        theirs = getattr(keras.layers, name)(UNITS).get_config()
        ours = getattr(layers, name)(UNITS).get_config()
        skip = {"name", "dtype", "seed"}
        assert {k for k in theirs if k not in skip} == {k for k in ours if k not in skip}, name
        for key in ("units", "activation", "use_bias", "return_sequences", "go_backwards",
                    "dropout", "recurrent_dropout", "unit_forget_bias", "reset_after",
                    "recurrent_activation"):
            if key in theirs:
                assert ours[key] == theirs[key], (name, key)


def test_functional_api_shapes_and_fit():
    from dualnet import keras_api as keras
    inputs = keras.Input((5, 3))
    seq, h, c = layers.LSTM(UNITS, return_sequences=True, return_state=True)(inputs)
    assert seq.shape == (None, 5, UNITS) and h.shape == c.shape == (None, UNITS)
    merged = layers.Bidirectional(layers.GRU(UNITS))(seq)
    assert merged.shape == (None, 2 * UNITS)
    model = keras.Model(inputs, layers.Dense(1)(merged))
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(X, np.ones((2, 1), np.float32), epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("name,kwargs", [("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                         ("SimpleRNN", {})])
def test_gradients_match_keras(keras, name, kwargs):
    torch = pytest.importorskip("torch")
    if keras.backend.backend() != "torch":
        pytest.skip("gradient parity reads Keras's torch-backend variables")
    theirs, ours = _pair(keras, name, return_sequences=True, bias_initializer="random_normal",
                         **kwargs)
    x_theirs = torch.tensor(X, requires_grad=True)
    theirs(x_theirs).square().sum().backward()
    x_ours = dn.tensor(X, requires_grad=True)
    ours(x_ours).square().sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-4, atol=1e-6)
    for mine, their in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(mine.grad.numpy(), their.value.grad.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=their.path)
