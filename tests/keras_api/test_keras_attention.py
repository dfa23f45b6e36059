"""keras_api MultiHeadAttention: Keras's weight shapes and order, the attention arithmetic against
NumPy, masks (attention_mask, causal), and outputs and scores equal to Keras 3's where installed."""
import os

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(0)
QUERY = RNG.standard_normal((2, 3, 8)).astype(np.float32)
VALUE = RNG.standard_normal((2, 5, 6)).astype(np.float32)
MASK = np.ones((2, 3, 5), dtype=bool)
MASK[0, :, 3:] = False
MASK[1, 2, 0] = False


def _np(t):
    return t.detach().numpy()


def _numpy_mha(weights, query, value, mask=None):
    qk, qb, kk, kb, vk, vb, ok, ob = (w.astype(np.float64) for w in weights)
    q = np.einsum("btd,dhk->bhtk", query, qk) + qb[None, :, None]
    k = np.einsum("bsd,dhk->bhsk", value, kk) + kb[None, :, None]
    v = np.einsum("bsd,dhk->bhsk", value, vk) + vb[None, :, None]
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(qk.shape[-1])
    if mask is not None:
        scores = np.where(mask[:, None], scores, -1e9)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    out = np.einsum("bhts,bhsv->bthv", scores, v)
    return np.einsum("bthv,hvo->bto", out, ok) + ob, scores


def test_shapes_and_numpy_reference():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3,
                                    bias_initializer="random_normal")
    out, scores = mha(dn.tensor(QUERY), dn.tensor(VALUE), attention_mask=dn.tensor(MASK),
                      return_attention_scores=True)
    assert [tuple(w.shape) for w in mha.weights] == [(8, 2, 4), (2, 4), (6, 2, 4), (2, 4),
                                                     (6, 2, 3), (2, 3), (2, 3, 8), (8,)]
    assert out.shape == (2, 3, 8) and scores.shape == (2, 2, 3, 5)
    ref_out, ref_scores = _numpy_mha([_np(w) for w in mha.weights], QUERY, VALUE, MASK)
    np.testing.assert_allclose(_np(out), ref_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(scores), ref_scores, rtol=1e-5, atol=1e-6)
    assert np.all(_np(scores)[0, :, :, 3:] == 0)


def test_causal_mask_output_shape_and_gradients():
    mha = layers.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=5)
    x = dn.tensor(QUERY, requires_grad=True)
    out, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    assert out.shape == (2, 3, 5)
    assert np.all(np.triu(_np(scores)[0, 0], 1) == 0)
    out.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in mha.parameters())


def test_dropout_training_only_and_errors():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    q, v = dn.tensor(QUERY), dn.tensor(VALUE)
    base = _np(mha(q, v))
    np.testing.assert_array_equal(_np(mha(q, v, training=False)), base)
    assert not np.allclose(_np(mha(q, v, training=True)), base)
    with pytest.raises(ValueError):
        layers.MultiHeadAttention(num_heads=0, key_dim=4)
    with pytest.raises(ValueError, match="sliding_window"):
        layers.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=0)
    with pytest.raises(ValueError):
        layers.MultiHeadAttention(num_heads=2, key_dim=4)(dn.tensor(QUERY[0]), dn.tensor(VALUE[0]))


def test_config_round_trip():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1, output_shape=(7,))
    clone = layers.MultiHeadAttention.from_config(mha.get_config())
    assert clone.get_config() == mha.get_config() | {"name": clone.name}


# ----------------------------------------------------------------------------- Keras parity

@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("kwargs", [{}, {"value_dim": 3}, {"use_bias": False},
                                    {"output_shape": 5}, {"dropout": 0.3}])
@pytest.mark.parametrize("with_key", [False, True])
def test_matches_keras(keras, kwargs, with_key):
    key = RNG.standard_normal((2, 5, 7)).astype(np.float32) if with_key else None
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4,
                                             bias_initializer="random_normal"
                                             if kwargs.get("use_bias", True) else "zeros",
                                             **kwargs)
    args = (QUERY, VALUE) + ((key,) if with_key else ())
    theirs(*args)
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=4, **kwargs)
    ours(*[dn.tensor(a) for a in args])
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    for extra in ({}, {"attention_mask": MASK}, {"use_causal_mask": True}):
        t_out, t_scores = theirs(*args, return_attention_scores=True, **extra)
        o_out, o_scores = ours(*[dn.tensor(a) for a in args], return_attention_scores=True,
                               **{k: (dn.tensor(v) if isinstance(v, np.ndarray) else v)
                                  for k, v in extra.items()})
        np.testing.assert_allclose(_np(o_out), keras.ops.convert_to_numpy(t_out), rtol=1e-5,
                                   atol=1e-6, err_msg=str(extra))
        np.testing.assert_allclose(_np(o_scores), keras.ops.convert_to_numpy(t_scores),
                                   rtol=1e-5, atol=1e-6, err_msg=str(extra))
        # without scores Keras takes its fused path: the output must agree with it too
        plain = theirs(*args, **extra)
        np.testing.assert_allclose(_np(ours(*[dn.tensor(a) for a in args], **{
            k: (dn.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in extra.items()})),
            keras.ops.convert_to_numpy(plain), rtol=1e-5, atol=1e-6)


def test_config_keys_match_keras(keras):
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4).get_config()
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=4).get_config()
    missing = set(theirs) - set(ours) - {"flash_attention"}
    assert not missing
    for key in ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape"):
        assert ours[key] == theirs[key], key
