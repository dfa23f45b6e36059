"""MultiHeadAttention(attention_axes=...) on inputs of rank 3 to 5 against Keras 3: outputs,
attention scores (Keras's (B, *other dims, heads, *query axes, *key axes) layout), masks,
gradients and config, with the same weights."""
import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers

from _keras_layer_parity import real_keras

RNG = np.random.default_rng(0)

CASES = [  # input shape, attention_axes, an attention_mask shape or None
    ((2, 5, 6), (1,), (2, 5, 5)),
    ((2, 3, 4, 6), (2,), (2, 4, 4)),
    ((2, 3, 4, 6), (1, 2), None),
    ((2, 3, 4, 6), None, (2, 3, 4, 3, 4)),
    ((2, 3, 4, 6), -3, (2, 4, 3, 3)),
    ((2, 2, 3, 2, 6), (1, 3), None),
]


def _pair(keras, shape, axes):
    ours = layers.MultiHeadAttention(2, 3, value_dim=4, attention_axes=axes)
    theirs = keras.layers.MultiHeadAttention(2, 3, value_dim=4, attention_axes=axes)
    q = RNG.standard_normal(shape).astype(np.float32)
    v = RNG.standard_normal(shape[:-1] + (5,)).astype(np.float32)
    ours(dn.tensor(q), dn.tensor(v))
    theirs(q, v)
    ours.set_weights([RNG.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                      for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    return ours, theirs, q, v


@pytest.mark.parametrize("shape,axes,mask_shape", CASES)
def test_outputs_scores_and_gradients_match_keras(shape, axes, mask_shape):
    keras = real_keras()
    import torch
    ours, theirs, q, v = _pair(keras, shape, axes)
    mask = None if mask_shape is None else RNG.uniform(size=mask_shape) > 0.3
    kw_ours = {} if mask is None else {"attention_mask": dn.tensor(mask)}
    kw_theirs = {} if mask is None else {"attention_mask": torch.tensor(mask)}
    qo, qt = dn.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    out, scores = ours(qo, dn.tensor(v), return_attention_scores=True, **kw_ours)
    ref, ref_scores = theirs(qt, torch.tensor(v), return_attention_scores=True, **kw_theirs)
    assert tuple(scores.shape) == tuple(ref_scores.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(scores.detach().numpy(), ref_scores.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    upstream = RNG.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * dn.tensor(upstream)).sum().backward()
    (ref * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(qo.grad.numpy(), qt.grad.numpy(), rtol=1e-4, atol=1e-5)
    # without scores (Keras's fused path for 3-D inputs), the same output
    plain = ours(dn.tensor(q), dn.tensor(v), **kw_ours)
    plain_ref = theirs(q, v, **kw_theirs)
    np.testing.assert_allclose(plain.detach().numpy(), plain_ref.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    assert ours.get_config()["attention_axes"] == tuple(theirs.get_config()["attention_axes"])


def test_bad_attention_axes():
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes="time")
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes=(3,))(dn.ones(1, 4, 6), dn.ones(1, 4, 6))
    with pytest.raises(ValueError, match="same rank"):
        layers.MultiHeadAttention(2, 3)(dn.ones(1, 4, 6), dn.ones(1, 2, 4, 6))
