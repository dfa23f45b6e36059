"""LoRA on keras_api Dense and Embedding (`lora_rank=`, `enable_lora`): the frozen base weight,
the weight lists and their order, config, weights files and `.keras` files, errors - each
checked against real Keras 3 (torch backend) where it is installed, and without it where the
contract can be stated alone."""
import re
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet import optim
from dualnet.keras_api import layers
from _keras_layer_parity import compare, config_keys, rand, real_keras

INDICES = np.array([[1, 2, 0, 4], [3, 3, 9, 7]], dtype=np.int64)


def _randomize(*layers_, seed=0):
    """Random values for every weight of our layers (B included, so LoRA changes outputs);
    returns the lists set, one per layer."""
    rng = np.random.default_rng(seed)
    lists = []
    for layer in layers_:
        values = [rng.standard_normal(w.shape).astype(np.float32) * 0.5
                  for w in layer.get_weights()]
        layer.set_weights(values)
        lists.append(values)
    return lists


def _keep(weight):
    """A constraint (keras_api takes callables)."""
    return weight


def _np(value):
    return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)


# ----------------------------------------------------------------------------- without Keras


def test_dense_lora_weights_freezing_and_formula():
    dense = layers.Dense(3, lora_rank=2, name="head")
    dense(dn.ones(1, 4))
    assert dense.lora_enabled and dense.lora_rank == 2 and dense.lora_alpha == 2
    assert [tuple(w.shape) for w in dense.weights] == [(4, 3), (3,), (4, 2), (2, 3)]
    assert dense.trainable_weights == dense.weights[1:]
    assert dense.non_trainable_weights == dense.weights[:1]
    # nn's view: the frozen kernel is a buffer, parameters() are the trainable weights
    assert [n for n, _ in dense.named_parameters()] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    assert list(dense.parameters()) == dense.trainable_weights
    assert set(dense.state_dict()) == {"kernel", "bias", "lora_kernel_a", "lora_kernel_b"}
    assert dense.count_params() == 12 + 3 + 8 + 6
    # B starts at zero: enabling LoRA changes nothing until training moves it
    kernel, bias, a, b = dense.get_weights()
    assert not b.any() and a.dtype == np.float32
    kernel, bias, a, b = _randomize(dense)[0]
    x = rand(5, 4)
    want = x @ (kernel + a @ b) + bias
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(dense.kernel), kernel + a @ b, rtol=1e-6, atol=1e-7)


def test_enable_lora_alpha_scales_the_update_and_3d_inputs():
    dense = layers.Dense(4, use_bias=False)
    dense(dn.ones(1, 3))
    dense.enable_lora(2, lora_alpha=6)
    assert (dense.lora_rank, dense.lora_alpha) == (2, 6)
    kernel, a, b = _randomize(dense)[0]
    x = rand(2, 5, 3)
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), x @ (kernel + 3.0 * a @ b),
                               rtol=1e-5, atol=1e-5)


def test_gradients_reach_lora_weights_only():
    dense = layers.Dense(3, lora_rank=2)
    dense(dn.ones(1, 4))
    _randomize(dense)
    dense(dn.tensor(rand(6, 4))).sum().backward()
    stored_kernel = dense.weights[0]
    assert stored_kernel.grad is None and not stored_kernel.requires_grad
    assert all(w.grad is not None for w in dense.trainable_weights)


def test_embedding_lora_formula_and_weights():
    emb = layers.Embedding(10, 3, lora_rank=2, lora_alpha=2)
    out_before = emb(dn.tensor(INDICES))
    assert tuple(out_before.shape) == (2, 4, 3)
    assert [tuple(w.shape) for w in emb.weights] == [(10, 3), (10, 2), (2, 3)]
    assert emb.non_trainable_weights == emb.weights[:1]
    assert [n for n, _ in emb.named_parameters()] == ["lora_embeddings_a", "lora_embeddings_b"]
    table, a, b = _randomize(emb)[0]
    np.testing.assert_allclose(_np(emb(dn.tensor(INDICES))), (table + a @ b)[INDICES],
                               rtol=1e-5, atol=1e-6)


def test_hand_written_loop_trains_lora_and_keeps_the_kernel():
    dn.manual_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, lora_rank=2, activation="relu"),
                              layers.Dense(1, lora_rank=1)])
    frozen = [model.layers[0].get_weights()[0], model.layers[1].get_weights()[0]]
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = dn.tensor(rand(16, 4)), dn.tensor(rand(16, 1, seed=1))
    first = None
    for _ in range(5):
        loss = ((model(x, training=True) - y) ** 2).mean()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    for layer, kernel in zip(model.layers, frozen):
        np.testing.assert_array_equal(layer.get_weights()[0], kernel)
        assert layer.get_weights()[-1].any()  # B has moved


def test_trainable_toggle_unfreezes_the_kernel_as_keras_does():
    dense = layers.Dense(3, lora_rank=2)
    dense(dn.ones(1, 4))
    dense.trainable = False
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 4
    dense.trainable = True  # Keras sets every variable's `trainable`, the kernel's included
    assert len(dense.trainable_weights) == 4 and dense.non_trainable_weights == []


def test_frozen_kernel_regularizer_stops_counting():
    dense = layers.Dense(3, kernel_regularizer="l2")
    dense(dn.ones(1, 4))
    assert len(dense.losses) == 1
    dense.enable_lora(2)
    _randomize(dense)
    _, _, a, b = dense.get_weights()
    penalties = sorted(float(loss.item()) for loss in dense.losses)
    np.testing.assert_allclose(penalties, sorted([0.01 * (a ** 2).sum(), 0.01 * (b ** 2).sum()]),
                               rtol=1e-5)


def test_config_round_trip():
    dense = layers.Dense(3, lora_rank=2)
    assert dense.get_config()["lora_rank"] == 2 and dense.get_config()["lora_alpha"] == 2
    assert "lora_rank" not in layers.Dense(3).get_config()
    plain = layers.Dense(3)
    plain(dn.ones(1, 4))
    plain.enable_lora(4, lora_alpha=8)
    config = plain.get_config()
    assert (config["lora_rank"], config["lora_alpha"]) == (4, 8)
    clone = layers.Dense.from_config(dense.get_config())
    clone(dn.ones(1, 4))
    assert clone.lora_enabled and clone.lora_rank == 2
    emb = layers.Embedding.from_config(layers.Embedding(5, 2, lora_rank=1).get_config())
    emb.build()
    assert emb.lora_enabled and len(emb.weights) == 3
    assert layers.Embedding(5, 2).get_config()["quantization_config"] is None


def test_constructor_alpha_gives_way_to_rank_at_build_with_a_warning():
    # Keras 3.15's build calls enable_lora(lora_rank) without the constructor's alpha
    dense = layers.Dense(3, lora_rank=2, lora_alpha=8)
    assert dense.lora_alpha == 8
    with pytest.warns(UserWarning, match="lora_alpha=8"):
        dense(dn.ones(1, 4))
    assert dense.lora_alpha == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Dense(3, lora_rank=2, lora_alpha=2)(dn.ones(1, 4))


def test_errors():
    with pytest.raises(ValueError, match="not built"):
        layers.Dense(3).enable_lora(2)
    with pytest.raises(ValueError, match="not built"):
        layers.Embedding(5, 2).enable_lora(2)
    dense = layers.Dense(3, lora_rank=2)
    dense(dn.ones(1, 4))
    with pytest.raises(ValueError, match="already enabled"):
        dense.enable_lora(2)
    with pytest.raises(ValueError, match="kernel_constraint"):
        layers.Dense(3, kernel_constraint=_keep, lora_rank=2)(dn.ones(1, 4))
    emb = layers.Embedding(5, 2, embeddings_constraint=_keep)
    emb.build()
    with pytest.raises(ValueError, match="embeddings_constraint"):
        emb.enable_lora(2)
    fresh = layers.Dense(3)
    fresh(dn.ones(1, 4))
    for rank in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="rank"):
            fresh.enable_lora(rank)
    with pytest.raises(ValueError, match="lora_rank"):
        layers.Dense(3, lora_rank=-2)
    assert not layers.Dense(3, lora_rank=0).lora_enabled  # 0 means no LoRA, as in Keras
    with pytest.raises(ValueError, match="expecting 3|expects 3"):
        layers.Embedding(5, 2, lora_rank=1, weights=np.ones((5, 2), np.float32)).build()
    # quantization (tests/keras_api/test_keras_quantization*.py): a config must be one
    with pytest.raises(ValueError, match="quantization_config"):
        layers.Dense(3, quantization_config={"class_name": "Int5QuantizationConfig"})
    with pytest.raises(ValueError, match="quantization_config"):
        layers.Embedding(5, 2, quantization_config="int8")


def test_save_weights_folds_lora_into_the_kernel(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, lora_rank=2),
                              layers.Embedding(10, 2, lora_rank=1)])
    _randomize(*model.layers)
    x = np.abs(rand(3, 4))
    want = _np(model(dn.tensor(x)))
    path = tmp_path / "lora.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:  # Keras's layout: merged kernel + bias, merged table
        assert sorted(f["layers/dense/vars"]) == ["0", "1"]
        assert sorted(f["layers/embedding/vars"]) == ["0"]
        kernel, _, a, b = model.layers[0].get_weights()
        np.testing.assert_allclose(f["layers/dense/vars/0"][()], kernel + a @ b, rtol=1e-6)
    other = keras.Sequential([keras.Input((4,)), layers.Dense(3, lora_rank=2),
                              layers.Embedding(10, 2, lora_rank=1)])
    _randomize(*other.layers, seed=5)
    other.load_weights(path)
    np.testing.assert_allclose(_np(other(dn.tensor(x))), want, rtol=1e-5, atol=1e-6)
    for layer in other.layers:  # LoRA restarts from zero on the loaded, merged weight
        assert layer.lora_enabled
        assert not any(w.any() for w in layer.get_weights()[-2:])
    plain = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Embedding(10, 2)])
    plain.load_weights(path)
    np.testing.assert_allclose(_np(plain(dn.tensor(x))), want, rtol=1e-5, atol=1e-6)


def test_model_save_and_load_model_round_trip(tmp_path):
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(5, lora_rank=2, activation="relu"),
                              layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    _randomize(model.layers[0])
    model.fit(rand(8, 4), rand(8, 2, seed=1), epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "lora.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    first = loaded.layers[0]
    assert first.lora_enabled and first.get_config()["lora_rank"] == 2
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
    x = rand(3, 4, seed=2)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_port_to_nn_uses_the_merged_kernel():
    from dualnet import port
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, lora_rank=2)])
    _randomize(model.layers[0])
    module = port.to_nn(model)
    x = rand(2, 4)
    np.testing.assert_allclose(_np(module(dn.tensor(x))), _np(model(dn.tensor(x))),
                               rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- against Keras


def _keras_pair(real, make):
    """(ours, theirs) built from the same `make(module)` recipe."""
    return make(layers), make(real.layers)


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 6)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_lora_matches_keras(shape, use_bias):
    real = real_keras()
    ours = layers.Dense(5, activation="tanh", use_bias=use_bias, lora_rank=3)
    theirs = real.layers.Dense(5, activation="tanh", use_bias=use_bias, lora_rank=3)
    ours(dn.tensor(rand(*shape)))
    _randomize(ours)
    compare(ours, theirs, rand(*shape, seed=3), grads=True)
    assert [w.path.split("/")[-1] for w in theirs.trainable_weights] == \
        [n for n, _ in ours.named_parameters()]


def test_enable_lora_with_alpha_matches_keras():
    real = real_keras()
    x = rand(4, 6)
    ours, theirs = layers.Dense(5), real.layers.Dense(5)
    ours(dn.tensor(x))
    theirs(x)
    ours.enable_lora(2, lora_alpha=7)
    theirs.enable_lora(2, lora_alpha=7)
    _randomize(ours)
    compare(ours, theirs, x, grads=True)
    assert ours.get_config()["lora_alpha"] == theirs.get_config()["lora_alpha"] == 7


def test_embedding_lora_matches_keras():
    real = real_keras()
    import torch
    ours = layers.Embedding(10, 4, lora_rank=2)
    theirs = real.layers.Embedding(10, 4, lora_rank=2)
    ours.build()
    theirs.build()
    assert len(ours.get_weights()) == len(theirs.get_weights()) == 3
    theirs.set_weights(_randomize(ours)[0])
    out = ours(dn.tensor(INDICES))
    ref = theirs(torch.tensor(INDICES))
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    grad_out = rand(*out.shape, seed=7)
    (out * dn.tensor(grad_out)).sum().backward()
    (ref * torch.tensor(grad_out)).sum().backward()
    for mine, keras_weight in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_allclose(_np(mine.grad), keras_weight.value.grad.numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_weight_lists_and_flags_match_keras():
    real = real_keras()
    for make, build in ((lambda m: m.Dense(3, lora_rank=2), (None, 4)),
                        (lambda m: m.Dense(3, lora_rank=2, use_bias=False), (None, 4)),
                        (lambda m: m.Embedding(7, 3, lora_rank=2), None)):
        ours, theirs = _keras_pair(real, make)
        ours.build(build) if build else ours.build()
        theirs.build(build) if build else theirs.build()
        assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
        for attr in ("trainable_weights", "non_trainable_weights"):
            assert [tuple(w.shape) for w in getattr(ours, attr)] == \
                [tuple(w.shape) for w in getattr(theirs, attr)], attr
        assert (ours.lora_enabled, ours.lora_rank, ours.lora_alpha) == \
            (theirs.lora_enabled, theirs.lora_rank, theirs.lora_alpha)
        assert ours.count_params() == theirs.count_params()
        config_keys(ours, theirs)
        for key in ("lora_rank", "lora_alpha", "quantization_config"):
            assert ours.get_config()[key] == theirs.get_config()[key], key
        for value in (False, True):
            ours.trainable = theirs.trainable = value
            assert len(ours.trainable_weights) == len(theirs.trainable_weights)
            assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)


def test_constructor_alpha_behaves_as_keras():
    real = real_keras()
    with pytest.warns(UserWarning, match="lora_alpha"):
        ours = layers.Dense(3, lora_rank=2, lora_alpha=8)
        ours.build((None, 4))
    theirs = real.layers.Dense(3, lora_rank=2, lora_alpha=8)
    theirs.build((None, 4))
    assert ours.lora_alpha == theirs.lora_alpha
    assert ours.get_config()["lora_alpha"] == theirs.get_config()["lora_alpha"]


def _summary_counts(model):
    lines = []
    model.summary(print_fn=lambda text, *args, **kwargs: lines.append(text))
    text = "\n".join(lines)
    return {kind: int(re.search(rf"{kind} params: ([\d,]+)", text).group(1).replace(",", ""))
            for kind in ("Total", "Trainable", "Non-trainable")}


def test_summary_param_counts_match_keras():
    real = real_keras()

    def make(module):
        return module.Sequential([module.Input((6,), dtype="int64"),
                                  module.layers.Embedding(20, 4, lora_rank=2),
                                  module.layers.Flatten(),
                                  module.layers.Dense(8, lora_rank=3, activation="relu"),
                                  module.layers.Dense(2)])
    ours, theirs = make(keras), make(real)
    assert _summary_counts(ours) == _summary_counts(theirs)
    # Embedding: table 20*4 frozen, A 20*2, B 2*4; Dense(8): kernel 24*8 frozen, bias 8,
    # A 24*3, B 3*8; Dense(2): 8*2 + 2
    assert _summary_counts(ours) == {"Total": 442, "Trainable": 48 + 104 + 18,
                                     "Non-trainable": 80 + 192}


def _lora_mlp(module):
    return module.Sequential([module.Input((6,)),
                              module.layers.Dense(8, lora_rank=2, activation="relu"),
                              module.layers.Dense(3, lora_rank=3)])


def _embedding_model(module):
    return module.Sequential([module.Input((4,), dtype="int64"),
                              module.layers.Embedding(10, 3, lora_rank=2),
                              module.layers.Flatten(), module.layers.Dense(2)])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("make", [_lora_mlp, _embedding_model], ids=["dense", "embedding"])
def test_training_matches_keras_and_keeps_the_base_frozen(optimizer, make):
    real = real_keras()
    ours, theirs = make(keras), make(real)
    start = _randomize(*ours.layers, seed=11)
    theirs.set_weights([w for values in start for w in values])
    if make is _lora_mlp:
        x, y = rand(16, 6), rand(16, 3, seed=1)
    else:
        x = np.random.default_rng(2).integers(0, 10, (16, 4))
        y = rand(16, 2, seed=1)
    if optimizer == "sgd":
        ours.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
        theirs.compile(real.optimizers.SGD(0.05, momentum=0.9), "mse")
    else:
        ours.compile(keras.optimizers.Adam(0.01), "mse")
        theirs.compile(real.optimizers.Adam(0.01), "mse")
    got = ours.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    want = theirs.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-4)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5)
    for layer, values in zip(ours.layers, start):  # the frozen base weights did not move
        if getattr(layer, "lora_enabled", False):
            np.testing.assert_array_equal(layer.get_weights()[0], values[0])


def test_errors_are_keras_classes():
    real = real_keras()
    for module, constraint in ((layers, _keep), (real.layers, "non_neg")):
        with pytest.raises(ValueError):
            module.Dense(3).enable_lora(2)
        with pytest.raises(ValueError):
            module.Embedding(5, 2).enable_lora(2)
        dense = module.Dense(3, lora_rank=2)
        dense.build((None, 4))
        with pytest.raises(ValueError):
            dense.enable_lora(2)
        with pytest.raises(ValueError):
            module.Dense(3, kernel_constraint=constraint, lora_rank=2).build((None, 4))
        emb = module.Embedding(5, 2, embeddings_constraint=constraint)
        emb.build()
        with pytest.raises(ValueError):
            emb.enable_lora(2)


def test_weights_files_move_both_ways_with_keras(tmp_path):
    pytest.importorskip("h5py")
    real = real_keras()
    x, y = rand(8, 6), rand(8, 3, seed=1)
    ours, theirs = _lora_mlp(keras), _lora_mlp(real)
    start = _randomize(*ours.layers, seed=4)
    theirs.set_weights([w for values in start for w in values])
    ours.compile(keras.optimizers.Adam(0.01), "mse")
    theirs.compile(real.optimizers.Adam(0.01), "mse")
    ours.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    # ours -> Keras and Keras -> ours: same predictions, optimizer state included
    k_loaded, o_loaded = _lora_mlp(real), _lora_mlp(keras)
    k_loaded.compile(real.optimizers.Adam(0.01), "mse")
    o_loaded.compile(keras.optimizers.Adam(0.01), "mse")
    k_loaded.fit(x[:4], y[:4], epochs=1, batch_size=4, verbose=0)
    o_loaded.fit(x[:4], y[:4], epochs=1, batch_size=4, verbose=0)
    k_loaded.load_weights(str(tmp_path / "ours.weights.h5"))
    o_loaded.load_weights(tmp_path / "theirs.weights.h5")
    assert o_loaded.optimizer.iterations == 2
    want = theirs.predict(x, verbose=0)
    for model in (k_loaded, o_loaded, ours):
        np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    # both continue training the same from the loaded state
    k_loaded.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    o_loaded.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for mine, ref in zip(o_loaded.get_weights(), k_loaded.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5)


def test_keras_file_loads_into_ours_and_ours_into_keras(tmp_path):
    pytest.importorskip("h5py")
    real = real_keras()
    theirs = _embedding_model(real)
    theirs.build((None, 4))
    theirs.set_weights([w for values in _randomize(*_embedding_model(keras).layers, seed=9)
                        for w in values])
    x = np.random.default_rng(3).integers(0, 10, (5, 4))
    theirs.save(str(tmp_path / "theirs.keras"))
    ours = keras.models.load_model(tmp_path / "theirs.keras")
    assert ours.layers[0].lora_enabled
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    back = real.models.load_model(str(tmp_path / "ours.keras"))
    assert back.layers[0].lora_enabled
    np.testing.assert_allclose(back.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
