"""keras_api models: Sequential / functional / subclassed build and call, summary text and
configs against real Keras, get/set_weights, and the nn.Module door (from_module, hand loops)."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import dualnet as dn  # noqa: E402
import dualnet.nn.functional as F  # noqa: E402
from dualnet import keras_api as keras  # noqa: E402
from dualnet import nn, optim  # noqa: E402
from dualnet.keras_api import layers  # noqa: E402


def _real_keras():
    return pytest.importorskip("keras")


def _summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return "".join(lines)


def _mlp(lib, name):
    return lib.Sequential([lib.Input(shape=(6,)),
                           lib.layers.Dense(5, activation="relu", name="hidden"),
                           lib.layers.BatchNormalization(name="norm"),
                           lib.layers.Dense(3, name="logits")], name=name)


def _branchy(lib):
    inputs = lib.Input(shape=(4,), name="features")
    left = lib.layers.Dense(3, name="left")(inputs)
    right = lib.layers.Dense(3, name="right")(inputs)
    merged = lib.layers.Concatenate(name="merge")([left, right])
    return lib.Model(inputs, lib.layers.Dense(2, name="head")(merged), name="branchy")


# ---------------------------------------------------------------------------- Sequential


def test_sequential_builds_with_input_and_counts_params():
    model = _mlp(keras, "mlp")
    assert [layer.name for layer in model.layers] == ["hidden", "norm", "logits"]
    assert model.output_shape == (None, 3) and model.count_params() == 35 + 20 + 18
    out = model(np.ones((4, 6), "float32"))
    assert tuple(out.shape) == (4, 3)
    assert [n for n, _ in model.named_parameters()] == [
        "hidden.kernel", "hidden.bias", "norm.gamma", "norm.beta", "logits.kernel",
        "logits.bias"]
    assert [n for n, _ in model.named_buffers()] == ["norm.moving_mean", "norm.moving_variance"]
    assert list(model.parameters()) == model.trainable_weights


def test_sequential_defers_build_until_first_call():
    model = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built and model.layers[0].built is False
    model(np.zeros((3, 5), "float32"))
    assert model.built and model.count_params() == 24 + 10
    model.add(layers.Dense(1))
    assert model.output_shape == (3, 1)  # the data's shape, batch included, as Keras records


def test_sequential_input_shape_kwarg_add_and_pop():
    model = keras.Sequential()
    model.add(layers.Dense(4, input_shape=(3,)))
    model.add(layers.Dense(2))
    assert model.built and model.input_shape == (None, 3)
    popped = model.pop()
    assert popped.units == 2 and model.output_shape == (None, 4)
    assert "dense" not in [n.split(".")[0] for n, _ in model.named_parameters()
                           if n.startswith(popped.name)]
    with pytest.raises(ValueError, match="unique names"):
        model.add(model.layers[0])


def test_sequential_explicit_build():
    model = keras.Sequential([layers.Dense(2)])
    model.build((None, 7))
    assert model.count_params() == 16 and model.inputs[0].shape == (None, 7)


# ---------------------------------------------------------------------------- functional


def test_functional_multi_input_output_dicts_and_shared_layer():
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(3,), name="b")
    shared = layers.Dense(2, name="shared")
    sa, sb = shared(a), shared(b)
    total = layers.Add(name="add")([sa, sb])
    model = keras.Model({"a": a, "b": b}, {"sum": total, "left": sa})
    assert len(shared._inbound_nodes) == 2 and model.count_params() == 8
    x = np.arange(6, dtype="float32").reshape(2, 3)
    out = model({"a": x, "b": 2 * x})
    kernel, bias = (w.detach().numpy() for w in shared.weights)
    np.testing.assert_allclose(out["left"].detach().numpy(), x @ kernel + bias, rtol=1e-6)
    np.testing.assert_allclose(out["sum"].detach().numpy(), 3 * x @ kernel + 2 * bias, rtol=1e-5)


def test_functional_nested_model_and_get_layer():
    inner_in = keras.Input(shape=(4,))
    inner = keras.Model(inner_in, layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    outer_in = keras.Input(shape=(4,))
    outer = keras.Model(outer_in, layers.Dense(1, name="top")(inner(outer_in)), name="outer")
    assert [layer.name for layer in outer.layers][1:] == ["inner", "top"]
    assert outer.get_layer("inner") is inner and outer.get_layer(index=-1).name == "top"
    assert [n for n, _ in outer.named_parameters()] == [
        "inner.inner_dense.kernel", "inner.inner_dense.bias", "top.kernel", "top.bias"]
    assert tuple(outer(np.ones((2, 4), "float32")).shape) == (2, 1)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        outer.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        outer.get_layer()


def test_functional_checks_inputs():
    x = keras.Input(shape=(4,))
    unrelated = keras.Input(shape=(4,))
    y = layers.Dense(2)(unrelated)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(x, y)
    model = keras.Model(unrelated, y)
    with pytest.raises(ValueError, match="expected shape=\\(None, 4\\).*\\(2, 5\\)"):
        model(np.ones((2, 5), "float32"))


def test_functional_config_round_trip_matches_outputs():
    model = _branchy(keras)
    clone = keras.Model.from_config(model.get_config())
    assert type(clone).__name__ == "Functional"
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(clone(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)


def test_sequential_config_round_trip():
    model = _mlp(keras, "mlp_cfg")
    config = model.get_config()
    assert [entry["class_name"] for entry in config["layers"]] == [
        "InputLayer", "Dense", "BatchNormalization", "Dense"]
    clone = keras.Sequential.from_config(config)
    clone.set_weights(model.get_weights())
    x = np.ones((2, 6), "float32")
    np.testing.assert_allclose(clone(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------- subclassing


class TwoTower(keras.Model):
    def __init__(self):
        super().__init__()
        self.blocks = [layers.Dense(4, activation="relu"), layers.Dense(4)]
        self.head = layers.Dense(1)

    def call(self, inputs, training=None):
        for block in self.blocks:
            inputs = block(inputs)
        return self.head(inputs)


def test_subclassed_model_tracks_layers_and_lists():
    model = TwoTower()
    assert model.name.startswith("two_tower")
    model(np.ones((2, 3), "float32"))
    assert len(model.layers) == 3 and model.count_params() == 16 + 20 + 5
    assert [n for n, _ in model.named_parameters()][:2] == ["blocks.0.kernel", "blocks.0.bias"]
    assert _summary_text(model).count("(Dense)") == 3


def test_subclassed_model_build_creates_weights():
    model = TwoTower()
    model.build((None, 3))
    assert model.built and len(model.trainable_weights) == 6


# ---------------------------------------------------------------------------- nn door


def test_hand_written_optim_loop_trains_keras_model():
    dn.manual_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3)])
    x = dn.randn(32, 4)
    y = dn.randint(0, 3, (32,))
    opt = optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(model(x, training=True), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_from_module_trains_the_modules_own_parameters():
    dn.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model = keras.Model.from_module(net)
    assert model.trainable_weights == list(net.parameters())
    assert [a is b for a, b in zip(model.parameters(), net.parameters())] == [True] * 4
    before = net[0].weight.detach().numpy().copy()
    model.compile(optimizer="sgd",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16), epochs=1,
              batch_size=8, verbose=0)
    assert not np.allclose(net[0].weight.detach().numpy(), before)
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_from_module_switches_train_and_eval():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model = keras.Model.from_module(net)
    model(np.ones((1, 2), "float32"), training=True)
    assert net.training
    model(np.ones((1, 2), "float32"))
    assert not net.training


def test_batchnorm_stats_are_buffers_not_parameters():
    model = _mlp(keras, "mlp_bn")
    params = {id(p) for p in model.parameters()}
    stats = model.layers[1].non_trainable_weights
    assert len(stats) == 2 and not any(id(s) in params for s in stats)
    assert {"norm.moving_mean", "norm.moving_variance"} <= set(model.state_dict())


# ---------------------------------------------------------------------------- real Keras parity


def test_summary_text_matches_keras_sequential():
    real = _real_keras()
    ours, theirs = _mlp(keras, "mlp_sum"), _mlp(real, "mlp_sum")
    assert _summary_text(ours) == _summary_text(theirs)
    assert _summary_text(ours, line_length=70) == _summary_text(theirs, line_length=70)
    assert (_summary_text(ours, show_trainable=True)
            == _summary_text(theirs, show_trainable=True))


def test_summary_text_matches_keras_functional_and_unbuilt():
    real = _real_keras()
    assert _summary_text(_branchy(keras)) == _summary_text(_branchy(real))
    ours = keras.Sequential([layers.Dense(3, name="lazy")], name="unbuilt")
    theirs = real.Sequential([real.layers.Dense(3, name="lazy")], name="unbuilt")
    assert _summary_text(ours) == _summary_text(theirs)


def test_weights_order_and_outputs_match_keras():
    real = _real_keras()
    ours, theirs = _mlp(keras, "mlp_w"), _mlp(real, "mlp_w")
    weights = theirs.get_weights()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") + (2 if i == 5 else 0)
               for i, w in enumerate(weights)]  # moving variance kept positive
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.normal(size=(5, 6)).astype("float32")
    np.testing.assert_allclose(ours(x).detach().numpy(), np.asarray(theirs(x).detach().cpu()),
                               rtol=1e-4, atol=1e-5)


def test_config_structure_matches_keras():
    real = _real_keras()
    ours, theirs = _branchy(keras).get_config(), _branchy(real).get_config()
    assert set(ours) == set(theirs)
    assert ours["input_layers"] == theirs["input_layers"]
    assert ours["output_layers"] == theirs["output_layers"]
    for mine, ref in zip(ours["layers"], theirs["layers"]):
        assert (mine["class_name"], mine["name"], mine["module"]) == (
            ref["class_name"], ref["name"], ref["module"])
        assert mine["inbound_nodes"] == ref["inbound_nodes"]
    seq_ours, seq_theirs = _mlp(keras, "cfg").get_config(), _mlp(real, "cfg").get_config()
    assert set(seq_ours) == set(seq_theirs)
    assert seq_ours["build_input_shape"] == seq_theirs["build_input_shape"]
    assert ([e.get("build_config") for e in seq_ours["layers"]]
            == [e.get("build_config") for e in seq_theirs["layers"]])
