"""Keras's automatic mask propagation: Embedding(mask_zero=True) and Masking attach a time-step
mask to their outputs (`_keras_mask`), elementwise layers pass it on, RNNs / Bidirectional /
GlobalAveragePooling1D / MultiHeadAttention consume it; Sequential, functional and eager calls
all match Keras 3 (torch backend) on padded sequences with the same weights."""
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers

from _keras_layer_parity import real_keras

TOKENS = np.array([[3, 1, 4, 0, 0, 0], [2, 7, 1, 8, 2, 0], [5, 0, 0, 0, 0, 0]], dtype=np.int64)
VALID = TOKENS != 0


def _np(t):
    return t.detach().numpy()


def _same_weights(ours, theirs, x):
    """Build both on x, copy our weights into Keras's, return (ours(x), theirs(x))."""
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    return _np(ours(x)), theirs(x).detach().cpu().numpy()


def _stack(lib, rnn):
    return lib.Sequential([lib.layers.Embedding(10, 4, mask_zero=True), rnn,
                           lib.layers.Dense(2)])


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [{}, {"return_sequences": True},
                                     {"go_backwards": True},
                                     {"return_sequences": True, "go_backwards": True}])
def test_sequential_embedding_rnn_parity(kind, options):
    k = real_keras()
    ours = _stack(keras, getattr(layers, kind)(3, **options))
    theirs = _stack(k, getattr(k.layers, kind)(3, **options))
    mine, ref = _same_weights(ours, theirs, TOKENS)
    np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    # the mask does change the numbers: the same stack without it differs
    unmasked = _stack(keras, getattr(layers, kind)(3, **options))
    unmasked.layers[0].mask_zero = unmasked.layers[0].supports_masking = False
    unmasked(TOKENS)
    unmasked.set_weights(ours.get_weights())
    assert not np.allclose(_np(unmasked(TOKENS)), mine, atol=1e-4)


def test_masked_steps_keep_the_previous_state_and_output():
    emb = layers.Embedding(10, 4, mask_zero=True)
    lstm = layers.LSTM(3, return_sequences=True, return_state=True)
    embedded = emb(dn.tensor(TOKENS))
    assert embedded._keras_mask.tolist() == VALID.tolist()
    seq, h, c = lstm(embedded)
    seq = _np(seq)
    # row 0 is valid for 3 steps: later outputs repeat step 2, the final state is step 2's
    np.testing.assert_array_equal(seq[0, 3:], np.repeat(seq[0, 2:3], 3, axis=0))
    np.testing.assert_array_equal(_np(h)[0], seq[0, 2])
    # the sequence output carries the input's mask, the states carry none
    assert seq.shape == (3, 6, 3)
    out_seq = lstm(embedded)[0]
    assert out_seq._keras_mask.tolist() == VALID.tolist()
    assert getattr(lstm(embedded)[1], "_keras_mask", None) is None
    # the automatic mask is the explicit one
    explicit = lstm(emb(dn.tensor(TOKENS)).detach(), mask=dn.tensor(VALID))[0]
    np.testing.assert_array_equal(_np(explicit), seq)


def test_functional_bidirectional_dropout_dense_pooling_parity_and_gradients():
    k = real_keras()
    import torch

    def build(lib):
        inp = lib.Input(shape=(6,), dtype="int64")
        x = lib.layers.Embedding(10, 4, mask_zero=True)(inp)
        x = lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True))(x)
        x = lib.layers.Dropout(0.5)(x)
        x = lib.layers.Activation("tanh")(x)
        x = lib.layers.Dense(2)(x)
        out = lib.layers.GlobalAveragePooling1D()(x)
        return lib.Model(inp, out)
    ours, theirs = build(keras), build(k)
    mine, ref = _same_weights(ours, theirs, TOKENS)
    np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    # gradients of the weights through the masked graph
    (ours(TOKENS) ** 2).sum().backward()
    (theirs(torch.tensor(TOKENS)) ** 2).sum().backward()
    for a, b in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_allclose(_np(a.grad), b.value.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
def test_bidirectional_masks_parity(merge_mode):
    k = real_keras()

    def build(lib):
        inp = lib.Input(shape=(6,), dtype="int64")
        x = lib.layers.Embedding(10, 4, mask_zero=True)(inp)
        out = lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True),
                                       merge_mode=merge_mode)(x)
        if merge_mode is None:
            out = lib.layers.Concatenate()(out)
        out = lib.layers.LSTM(2)(out)  # consumes the mask passed on by the merge
        return lib.Model(inp, out)
    mine, ref = _same_weights(build(keras), build(k), TOKENS)
    np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)


def test_masking_layer_parity_and_mask():
    k = real_keras()
    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[1, 1] = 0.0
    x[2, 4, 0] = 0.0  # one zero feature is not a masked step

    def build(lib):
        return lib.Sequential([lib.layers.Masking(mask_value=0.0),
                               lib.layers.SimpleRNN(3, return_sequences=True),
                               lib.layers.LSTM(2)])
    mine, ref = _same_weights(build(keras), build(k), x)
    np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    out = layers.Masking()(dn.tensor(x))
    expected = np.any(x != 0, axis=-1)
    assert out._keras_mask.tolist() == expected.tolist()
    np.testing.assert_array_equal(_np(out), np.where(expected[..., None], x, 0))
    assert layers.Masking(mask_value=-1.0).get_config()["mask_value"] == -1.0


@pytest.mark.parametrize("scores", [False, True])
def test_multi_head_attention_consumes_masks_parity(scores):
    k = real_keras()

    def build(lib):
        inp = lib.Input(shape=(6,), dtype="int64")
        x = lib.layers.Embedding(10, 8, mask_zero=True)(inp)
        att = lib.layers.MultiHeadAttention(num_heads=2, key_dim=4)(
            x, x, return_attention_scores=scores)
        # with scores Keras zeroes fully masked rows; without, its fused kernel leaves them
        # uniform: both paths are followed
        return lib.Model(inp, att[0] if scores else att)
    ours, theirs = build(keras), build(k)
    ours.layers[2].set_weights([np.random.default_rng(i).standard_normal(w.shape).astype(
        np.float32) for i, w in enumerate(ours.layers[2].get_weights())])
    mine, ref = _same_weights(ours, theirs, TOKENS)
    # padded query rows attend to nothing: Keras gives them the output bias only
    np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-5)
    # eager: the output carries the query's mask, the inputs' masks are consumed
    emb, mha = ours.layers[1], ours.layers[2]
    x = emb(dn.tensor(TOKENS))
    out = mha(x, x)
    assert out._keras_mask.tolist() == VALID.tolist()
    assert getattr(x, "_keras_mask", None) is None


def test_dense_on_3d_passes_the_mask_and_conv_destroys_it_with_a_warning():
    x = layers.Embedding(10, 4, mask_zero=True)(dn.tensor(TOKENS))
    y = layers.Dense(3)(x)
    assert y._keras_mask.tolist() == VALID.tolist()
    z = layers.Activation("relu")(layers.Dropout(0.2)(y, training=True))
    assert z._keras_mask.tolist() == VALID.tolist()
    with pytest.warns(UserWarning, match="does not support masking"):
        w = layers.Conv1D(2, 3)(z)
    assert getattr(w, "_keras_mask", None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Dense(3)(dn.ones(2, 4))  # no mask, no warning


def test_merge_layer_masks_match_keras():
    k = real_keras()
    import torch
    a, b = TOKENS, np.roll(TOKENS, 1, axis=1)
    ours_emb, theirs_emb = layers.Embedding(10, 4, mask_zero=True), k.layers.Embedding(
        10, 4, mask_zero=True)
    xa, xb = ours_emb(dn.tensor(a)), ours_emb(dn.tensor(b))
    ta, tb = theirs_emb(torch.tensor(a)), theirs_emb(torch.tensor(b))
    for name in ("Add", "Multiply", "Average", "Concatenate"):
        mine = getattr(layers, name)()([xa, xb])._keras_mask
        ref = getattr(k.layers, name)()([ta, tb])._keras_mask
        np.testing.assert_array_equal(mine.numpy(), ref.cpu().numpy())
    # an unmasked input: Add's mask is None, Concatenate's counts it as all valid
    plain = dn.ones(3, 6, 4)
    assert getattr(layers.Add()([xa, plain]), "_keras_mask", None) is None
    assert layers.Concatenate()([xa, plain])._keras_mask.numpy().all()


def test_model_call_with_explicit_mask_and_lambda_mask():
    inp = keras.Input(shape=(6, 2))
    out = layers.SimpleRNN(3)(inp)
    model = keras.Model(inp, out)
    x = np.random.default_rng(1).standard_normal((3, 6, 2)).astype(np.float32)
    with pytest.warns(UserWarning, match="does not support masking"):  # as Keras warns
        via_model = _np(model(dn.tensor(x), mask=dn.tensor(VALID)))
    direct = _np(model.layers[1](dn.tensor(x), mask=dn.tensor(VALID)))
    np.testing.assert_array_equal(via_model, direct)
    seq = keras.Sequential([keras.Input(shape=(6, 2)), layers.SimpleRNN(3)])
    seq.layers[0].set_weights(model.layers[1].get_weights())
    with pytest.warns(UserWarning, match="does not support masking"):
        np.testing.assert_array_equal(_np(seq(dn.tensor(x), mask=dn.tensor(VALID))), direct)
    # Lambda: a callable mask computes the output mask, none drops it
    x = layers.Embedding(10, 4, mask_zero=True)(dn.tensor(TOKENS))
    flipped = layers.Lambda(lambda t: t * 1.0, mask=lambda t, m: ~m)(x)
    assert flipped._keras_mask.tolist() == (~VALID).tolist()
    with pytest.warns(UserWarning):
        dropped = layers.Lambda(lambda t: t * 2)(x)
    assert getattr(dropped, "_keras_mask", None) is None


def test_masked_model_trains_with_fit_and_saves(tmp_path):
    dn.manual_seed(0)
    model = keras.Sequential([keras.Input(shape=(6,), dtype="int64"),
                              layers.Embedding(10, 4, mask_zero=True),
                              layers.LSTM(3), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    y = np.array([[1.0], [0.0], [1.0]], np.float32)
    before = model.get_weights()[0].copy()
    history = model.fit(TOKENS, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert not np.allclose(model.get_weights()[0], before)
    path = str(tmp_path / "masked.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(_np(again(TOKENS)), _np(model(TOKENS)), rtol=1e-6)
    # trailing padding changes nothing: the same weights on the sequences cut after their
    # last token (column 5 is padding in every row) give the same outputs
    shorter = keras.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3),
                                layers.Dense(1, activation="sigmoid")])
    shorter(TOKENS[:, :5])
    shorter.set_weights(model.get_weights())
    np.testing.assert_allclose(_np(shorter(TOKENS[:, :5])), _np(model(TOKENS)), rtol=1e-6)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "mse"])
def test_masked_outputs_leave_the_padding_out_of_the_loss_like_keras(loss):
    k = real_keras()

    def build(lib):
        model = lib.Sequential([lib.Input(shape=(6,), dtype="int64"),
                                lib.layers.Embedding(10, 4, mask_zero=True),
                                lib.layers.GRU(3, return_sequences=True),
                                lib.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=lib.optimizers.SGD(0.5), loss=loss,
                      metrics=["accuracy"] if loss.startswith("sparse") else ["mae"])
        return model
    ours, theirs = build(keras), build(k)
    theirs.set_weights(ours.get_weights())
    y = (TOKENS % 3) if loss.startswith("sparse") else np.random.default_rng(2).uniform(
        size=(3, 6, 3)).astype(np.float32)
    # the loss and the metrics (accuracy, mae) count only the unmasked steps, as in Keras
    mine = ours.evaluate(TOKENS, y, verbose=0, return_dict=True)
    ref = theirs.evaluate(TOKENS, y, verbose=0, return_dict=True)
    assert set(mine) == set(ref)
    for name in ref:
        np.testing.assert_allclose(mine[name], ref[name], rtol=1e-5, err_msg=name)
    # the padded steps do not count: changing their targets changes nothing
    y2 = y.copy()
    y2[~VALID] = (y2[~VALID] + 1) % 3 if loss.startswith("sparse") else 0.0
    again = ours.evaluate(TOKENS, y2, verbose=0, return_dict=True)
    for name in mine:
        np.testing.assert_allclose(again[name], mine[name], rtol=1e-6, err_msg=name)
    ours.fit(TOKENS, y, epochs=2, batch_size=3, shuffle=False, verbose=0)
    theirs.fit(TOKENS, y, epochs=2, batch_size=3, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_batch_normalization_masked_moments_in_training_match_keras():
    k = real_keras()
    import torch

    def build(lib):
        return (lib.layers.Embedding(10, 4, mask_zero=True),
                lib.layers.BatchNormalization(momentum=0.5))
    (o_emb, o_bn), (t_emb, t_bn) = build(keras), build(k)
    o_bn(o_emb(dn.tensor(TOKENS)))
    t_bn(t_emb(torch.tensor(TOKENS)))
    t_emb.set_weights(o_emb.get_weights())
    o_bn.set_weights([np.array([1.5, 0.5, 1.0, 2.0], np.float32),
                      np.array([0.1, -0.2, 0.0, 0.3], np.float32)] + o_bn.get_weights()[2:])
    t_bn.set_weights(o_bn.get_weights())
    mine = o_bn(o_emb(dn.tensor(TOKENS)), training=True)
    ref = t_bn(t_emb(torch.tensor(TOKENS)), training=True)
    np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    for a, b in zip(o_bn.get_weights(), t_bn.get_weights()):  # moving statistics too
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert mine._keras_mask.tolist() == VALID.tolist()
    (mine ** 2).sum().backward()
    (ref ** 2).sum().backward()
    for a, b in zip(o_bn.trainable_weights, t_bn.trainable_weights):
        np.testing.assert_allclose(a.grad.numpy(), b.value.grad.numpy(), rtol=1e-4, atol=1e-5)
    # inference uses the moving statistics, mask or not
    np.testing.assert_allclose(o_bn(o_emb(dn.tensor(TOKENS))).detach().numpy(),
                               t_bn(t_emb(torch.tensor(TOKENS))).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_symbolic_tensors_carry_mask_specs_like_keras():
    k = real_keras()

    def specs(lib):
        inp = lib.Input(shape=(6,), dtype="int64")
        x = lib.layers.Embedding(10, 4, mask_zero=True)(inp)
        y = lib.layers.Dense(3)(x)
        seq = lib.layers.GRU(2, return_sequences=True)(y)
        last = lib.layers.GRU(2)(y)
        both = lib.layers.Concatenate()([y, seq])
        masked = lib.layers.Masking()(lib.Input(shape=(5, 3)))
        return [getattr(t, "_keras_mask", None) for t in (inp, x, y, seq, last, both, masked)]
    mine, ref = specs(keras), specs(k)
    for a, b in zip(mine, ref):
        assert (a is None) == (b is None)
        if a is not None:
            assert (a.shape, a.dtype) == (tuple(b.shape), b.dtype)
