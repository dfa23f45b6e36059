"""keras_api Embedding: Keras's `embeddings` weight and uniform(-0.05, 0.05) init, the lookup
against NumPy indexing, mask_zero, gradients, and Keras 3's outputs where it is installed."""
import os

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers

os.environ.setdefault("KERAS_BACKEND", "torch")

INDICES = np.array([[1, 2, 0, 4], [3, 3, 9, 0]], dtype=np.int64)


def test_lookup_init_and_shape():
    dn.manual_seed(0)
    emb = layers.Embedding(10, 6)
    out = emb(dn.tensor(INDICES))
    table = emb.embeddings.detach().numpy()
    assert [n for n, _ in emb.named_parameters()] == ["embeddings"]
    assert table.shape == (10, 6) and np.abs(table).max() <= 0.05 and table.std() > 0.02
    np.testing.assert_array_equal(out.detach().numpy(), table[INDICES])
    assert emb.compute_output_shape((None, 4)) == (None, 4, 6)
    # int32 and float indices work too (Keras casts floats to int)
    np.testing.assert_array_equal(emb(INDICES.astype(np.int32)).detach().numpy(), table[INDICES])
    np.testing.assert_array_equal(emb(INDICES.astype(np.float32)).detach().numpy(),
                                  table[INDICES])


def test_mask_zero_gradient_and_errors():
    emb = layers.Embedding(10, 3, mask_zero=True)
    x = dn.tensor(INDICES)
    assert emb.compute_mask(x).tolist() == (INDICES != 0).tolist()
    assert layers.Embedding(10, 3).compute_mask(x) is None
    emb(x).sum().backward()
    counts = np.bincount(INDICES.ravel(), minlength=10)
    np.testing.assert_array_equal(emb.embeddings.grad.numpy(), np.repeat(counts[:, None], 3, 1))
    with pytest.raises(ValueError):
        layers.Embedding(0, 3)
    with pytest.raises(IndexError):
        emb(dn.tensor([[10]]))


def test_config_round_trip_and_weights_argument():
    emb = layers.Embedding(7, 2, mask_zero=True, embeddings_regularizer="l2")
    clone = layers.Embedding.from_config(emb.get_config())
    assert clone.get_config() == emb.get_config() | {"name": clone.name}
    table = np.arange(14, dtype=np.float32).reshape(7, 2)
    preset = layers.Embedding(7, 2, weights=[table])
    assert preset(dn.tensor([[6]])).tolist() == [[[12.0, 13.0]]]


def test_regularizer_adds_loss():
    emb = layers.Embedding(5, 2, embeddings_regularizer="l2")
    emb(dn.tensor([[1]]))
    table = emb.embeddings.detach().numpy()
    assert sum(loss.item() for loss in emb.losses) == pytest.approx(0.01 * (table ** 2).sum(),
                                                                     rel=1e-5)


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def test_matches_keras(keras):
    theirs = keras.layers.Embedding(10, 6, mask_zero=True)
    theirs(INDICES)
    ours = layers.Embedding(10, 6, mask_zero=True)
    ours(dn.tensor(INDICES))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_array_equal(ours(dn.tensor(INDICES)).detach().numpy(),
                                  keras.ops.convert_to_numpy(theirs(INDICES)))
    np.testing.assert_array_equal(ours.compute_mask(dn.tensor(INDICES)).numpy(),
                                  keras.ops.convert_to_numpy(theirs.compute_mask(INDICES)))
    theirs_config, ours_config = theirs.get_config(), ours.get_config()
    assert set(theirs_config) - {"lora_rank", "lora_alpha", "quantization_config"} <= \
        set(ours_config)
    for key in ("input_dim", "output_dim", "mask_zero", "embeddings_initializer"):
        assert ours_config[key] == theirs_config[key], key
