"""keras_api extras against Keras 3.15: Bidirectional's `weights` argument (Keras 3 splits it
into forward_layer / backward_layer `initial_weights` and never applies it) and
MultiHeadAttention's `sliding_window` (a |i - j| < w band ANDed with the other masks) and
`use_gate` (sigmoid(query W_gate + b_gate) times the attended values, before the output dense):
weights, their order, names and .weights.h5 groups, outputs, scores and gradients equal to
Keras's with the same weights, and get_config round trips."""
import os
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 5, 3)).astype(np.float32)
QUERY = RNG.standard_normal((2, 7, 8)).astype(np.float32)
VALUE = RNG.standard_normal((2, 4, 6)).astype(np.float32)
KEY = RNG.standard_normal((2, 4, 5)).astype(np.float32)
MASK = RNG.random((2, 7, 4)) > 0.3
TOL = {"rtol": 1e-5, "atol": 1e-6}
UNITS = 4


def _np(t):
    return t.detach().numpy()


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _lstm_weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in
            ((3, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,))]


# ------------------------------------------------------------------- Bidirectional(weights=...)

def test_bidirectional_weights_are_stored_not_applied_as_in_keras_3():
    given = _lstm_weights(1) + _lstm_weights(2)
    with pytest.warns(UserWarning, match=r"Bidirectional.*6 arrays.*set_weights"):
        bi = layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True), weights=given)
    # Keras 3's split: the first len // 2 arrays forwards, the rest backwards
    assert [w is g for w, g in zip(bi.forward_layer.initial_weights, given[:3])] == [True] * 3
    assert [w is g for w, g in zip(bi.backward_layer.initial_weights, given[3:])] == [True] * 3
    bi(dn.tensor(X))
    assert not any(np.allclose(w, g) for w, g in zip(bi.get_weights(), given))
    assert "weights" not in bi.get_config()
    # an odd count: Keras gives the extra array to the backward layer
    with pytest.warns(UserWarning):
        odd = layers.Bidirectional(layers.GRU(UNITS), weights=given[:3])
    assert len(odd.forward_layer.initial_weights) == 1
    assert len(odd.backward_layer.initial_weights) == 2
    # none or an empty list: nothing stored, nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = layers.Bidirectional(layers.GRU(UNITS), weights=[])
    assert not hasattr(plain.forward_layer, "initial_weights")


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
def test_bidirectional_weights_match_keras(keras, merge_mode):
    given = _lstm_weights(3) + _lstm_weights(4)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True),
                                        merge_mode=merge_mode, weights=given)
    with pytest.warns(UserWarning):
        ours = layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True),
                                    merge_mode=merge_mode, weights=given)
    for side in ("forward_layer", "backward_layer"):
        their_stored = getattr(theirs, side).initial_weights
        our_stored = getattr(ours, side).initial_weights
        assert len(our_stored) == len(their_stored)
        for a, b in zip(our_stored, their_stored):
            np.testing.assert_array_equal(a, b)
    theirs(X)
    ours(dn.tensor(X))
    # neither applied them
    for layer in (theirs, ours):
        assert not any(np.allclose(w, g) for w, g in zip(layer.get_weights(), given))
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    # set_weights is how the arrays get in, in both; then the outputs agree
    theirs.set_weights(given)
    ours.set_weights(given)
    their_out, our_out = theirs(X), ours(dn.tensor(X))
    if merge_mode is None:
        for a, b in zip(our_out, their_out):
            np.testing.assert_allclose(_np(a), keras.ops.convert_to_numpy(b), **TOL)
    else:
        np.testing.assert_allclose(_np(our_out), keras.ops.convert_to_numpy(their_out), **TOL)


# ------------------------------------------------ MultiHeadAttention(sliding_window, use_gate)

def _numpy_mha(weights, query, value, window=None, gate=False, causal=False):
    """Keras's arithmetic in NumPy (3-D inputs, key = value, explicit-scores path)."""
    weights = [w.astype(np.float64) for w in weights]
    qk, qb, kk, kb = weights[:4]
    gk, gb = weights[4:6] if gate else (None, None)
    vk, vb, ok, ob = weights[-4:]
    q = np.einsum("btd,dhk->bhtk", query, qk) + qb[None, :, None]
    k = np.einsum("bsd,dhk->bhsk", value, kk) + kb[None, :, None]
    v = np.einsum("bsd,dhk->bhsk", value, vk) + vb[None, :, None]
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(qk.shape[-1])
    rows, cols = np.arange(query.shape[1])[:, None], np.arange(value.shape[1])[None, :]
    keep = np.ones((query.shape[1], value.shape[1]), dtype=bool)
    if window is not None:
        keep &= np.abs(rows - cols) < window
    if causal:
        keep &= rows >= cols
    scores = np.where(keep, scores, -1e9)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores = np.where(keep, scores / scores.sum(-1, keepdims=True), 0.0)
    out = np.einsum("bhts,bhsv->bthv", scores, v)
    if gate:
        out = out * _sigmoid(np.einsum("btd,dhv->bthv", query, gk) + gb)
    return np.einsum("bthv,hvo->bto", out, ok) + ob, scores


@pytest.mark.parametrize("window, gate, causal", [(2, False, False), (1, True, False),
                                                  (3, True, True), (None, True, False),
                                                  (20, False, True)])
def test_numpy_reference(window, gate, causal):
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, sliding_window=window,
                                    use_gate=gate, bias_initializer="random_normal")
    out, scores = mha(dn.tensor(QUERY), dn.tensor(VALUE), return_attention_scores=True,
                      use_causal_mask=causal)
    ref_out, ref_scores = _numpy_mha(mha.get_weights(), QUERY, VALUE, window, gate, causal)
    np.testing.assert_allclose(_np(out), ref_out, **TOL)
    np.testing.assert_allclose(_np(scores), ref_scores, **TOL)
    if window is not None:  # outside the band the weights are exactly zero
        band = np.abs(np.arange(7)[:, None] - np.arange(4)[None, :]) < window
        assert np.all(_np(scores)[:, :, ~band] == 0)


def test_gate_weights_order_names_and_gradients():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, use_gate=True)
    query = dn.tensor(QUERY, requires_grad=True)
    mha(query, dn.tensor(VALUE)).sum().backward()
    # Keras builds query, key, gate (from the query), value, then the output projection
    assert [tuple(w.shape) for w in mha.weights] == [(8, 2, 4), (2, 4), (6, 2, 4), (2, 4),
                                                     (8, 2, 3), (2, 3), (6, 2, 3), (2, 3),
                                                     (2, 3, 8), (8,)]
    assert [name for name, _ in mha.named_parameters()][4:6] == ["_gate_dense.kernel",
                                                                 "_gate_dense.bias"]
    # query 64 + 8, key 48 + 8, gate 48 + 6, value 36 + 6, output 48 + 8
    assert mha._gate_dense.name == "gate" and mha.count_params() == 280
    assert query.grad is not None and all(p.grad is not None for p in mha.parameters())
    no_gate = layers.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=2)
    no_gate(dn.tensor(QUERY), dn.tensor(VALUE))
    assert len(no_gate.weights) == 8 and not hasattr(no_gate, "_gate_dense")


def test_config_round_trip():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True, sliding_window=3,
                                    dropout=0.1)
    config = mha.get_config()
    assert config["use_gate"] is True and config["sliding_window"] == 3
    keys = list(config)
    assert keys.index("use_gate") == keys.index("use_bias") + 1
    assert keys.index("sliding_window") == keys.index("attention_axes") + 1
    clone = layers.MultiHeadAttention.from_config(config)
    assert clone.get_config() == config | {"name": clone.name}
    default = layers.MultiHeadAttention(num_heads=2, key_dim=4).get_config()
    assert default["use_gate"] is False and default["sliding_window"] is None


@pytest.mark.parametrize("window", [0, -2, 1.5, "2", True])
def test_bad_sliding_window(window):
    with pytest.raises(ValueError, match=rf"MultiHeadAttention.*sliding_window={window!r}"):
        layers.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=window)


CASES = [{"sliding_window": 2}, {"sliding_window": 1}, {"sliding_window": 9},
         {"use_gate": True}, {"use_gate": True, "sliding_window": 3},
         {"use_gate": True, "value_dim": 3, "output_shape": 5},
         {"use_gate": True, "use_bias": False, "sliding_window": 2},
         {"use_gate": True, "sliding_window": 2, "dropout": 0.3}]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(f"{a}={b}" for a, b in
                                                                k.items()))
@pytest.mark.parametrize("with_key", [False, True])
def test_matches_keras(keras, kwargs, with_key):
    args = (QUERY, VALUE) + ((KEY,) if with_key else ())
    # random biases, so that set_weights carries them (and both configs say the same)
    kwargs = dict(kwargs, num_heads=2, key_dim=4, bias_initializer="random_normal")
    theirs = keras.layers.MultiHeadAttention(**kwargs)
    theirs(*args)
    ours = layers.MultiHeadAttention(**kwargs)
    ours(*[dn.tensor(a) for a in args])
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path.split("/")[-2] for w in theirs.weights] == \
        [layer.name for layer in ours._sublayers() for _ in layer.weights]
    ours.set_weights(theirs.get_weights())
    assert ours.get_config() | {"name": theirs.name} == theirs.get_config()
    for extra in ({}, {"attention_mask": MASK}, {"use_causal_mask": True}):
        ours_extra = {k: (dn.tensor(v) if isinstance(v, np.ndarray) else v)
                      for k, v in extra.items()}
        t_out, t_scores = theirs(*args, return_attention_scores=True, **extra)
        o_out, o_scores = ours(*[dn.tensor(a) for a in args], return_attention_scores=True,
                               **ours_extra)
        np.testing.assert_allclose(_np(o_out), keras.ops.convert_to_numpy(t_out), **TOL,
                                   err_msg=str(extra))
        np.testing.assert_allclose(_np(o_scores), keras.ops.convert_to_numpy(t_scores), **TOL,
                                   err_msg=str(extra))
        # without scores Keras takes its fused path (rows with nothing to attend to differ)
        plain = theirs(*args, **extra)
        np.testing.assert_allclose(_np(ours(*[dn.tensor(a) for a in args], **ours_extra)),
                                   keras.ops.convert_to_numpy(plain), **TOL, err_msg=str(extra))


EMPTY_ROW_MASK = MASK.copy()
EMPTY_ROW_MASK[1, 2] = False  # query 2 of sample 1 may attend to nothing


@pytest.mark.parametrize("kwargs, mask", [
    ({"use_gate": True}, None), ({"use_gate": True, "sliding_window": 2}, None),
    ({"sliding_window": 3}, MASK), ({}, EMPTY_ROW_MASK)],
    ids=["gate", "gate-window", "window-mask", "empty-row-mask"])
@pytest.mark.parametrize("scores", [False, True])
def test_gradients_match_keras(keras, kwargs, mask, scores):
    """The sliding window leaves the last queries (7 of them, 4 keys) nothing to attend to: on
    Keras's fused path (no scores asked) such a row is uniform and passes gradients to its
    scores, on its explicit path it is zero; both agree with Keras's torch backend."""
    torch = pytest.importorskip("torch")
    if keras.backend.backend() != "torch":
        pytest.skip("gradients are compared through Keras's torch backend")
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3,
                                             bias_initializer="random_normal", **kwargs)
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, **kwargs)
    t_query, t_value = torch.tensor(QUERY, requires_grad=True), torch.tensor(VALUE)
    theirs(t_query, t_value)
    o_query, o_value = dn.tensor(QUERY, requires_grad=True), dn.tensor(VALUE)
    ours(o_query, o_value)
    ours.set_weights(theirs.get_weights())
    t_extra = {} if mask is None else {"attention_mask": torch.tensor(mask)}
    o_extra = {} if mask is None else {"attention_mask": dn.tensor(mask)}
    t_out = theirs(t_query, t_value, return_attention_scores=scores, **t_extra)
    o_out = ours(o_query, o_value, return_attention_scores=scores, **o_extra)
    t_out, o_out = (t_out[0], o_out[0]) if scores else (t_out, o_out)
    np.testing.assert_allclose(_np(o_out), t_out.detach().numpy(), **TOL)
    seed = RNG.standard_normal((2, 7, 8)).astype(np.float32)
    (t_out * torch.tensor(seed)).sum().backward()
    (o_out * dn.tensor(seed)).sum().backward()
    np.testing.assert_allclose(_np(o_query.grad), t_query.grad.numpy(), **TOL)
    for mine, variable in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(_np(mine.grad), variable.value.grad.numpy(), **TOL,
                                   err_msg=variable.path)


def test_weights_file_moves_both_ways(keras, tmp_path):
    """A Keras .weights.h5 with a gate loads into ours (group `_gate_dense`), and back."""
    from dualnet import keras_api

    def model(lib, seed_weights=None):
        query, value = lib.Input((7, 8)), lib.Input((4, 6))
        mha = lib.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True,
                                            sliding_window=2)
        return lib.Model([query, value], mha(query, value))

    theirs, ours = model(keras), model(keras_api)
    theirs.set_weights([RNG.standard_normal(w.shape).astype(np.float32)
                        for w in theirs.get_weights()])
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    ours.load_weights(tmp_path / "theirs.weights.h5")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(_np(ours([dn.tensor(QUERY), dn.tensor(VALUE)])),
                               keras.ops.convert_to_numpy(theirs([QUERY, VALUE])), **TOL)
    ours.set_weights([w * 0.5 for w in ours.get_weights()])
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
