"""Keras 3's "float8" mode of keras_api Dense (`layer.quantize("float8")`, the
"float8_from_float32" policy): the delayed-scaling weights, the float8 rounding, the call and its
gradients, the optimizers overwriting scales with their gradients, config and weights files -
checked against real Keras 3.15 (torch backend) where it is installed, and alone where the
contract can be stated without it."""
import json
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers
from dualnet.keras_api.layers.quantization_float8 import (Float8QuantizationConfig,
                                                          round_to_format)
from _keras_layer_parity import rand, real_keras, share_random_weights, to_np as _np

pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize`",
                                        "ignore::DeprecationWarning")

SCALES = ["inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
          "outputs_grad_scale", "outputs_grad_amax_history"]
E4M3_MAX, E5M2_MAX = 448.0, 57344.0




def _float8_values(name):
    """Every finite value of a float8 format, from ml_dtypes (the reference, test-side only)."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.arange(256, dtype=np.uint8).view(getattr(ml_dtypes, name)).astype(np.float32)
    return np.unique(values[np.isfinite(values)])


def _reference_round(x, name):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    return np.asarray(x, np.float32).astype(getattr(ml_dtypes, name)).astype(np.float32)


def _edge_values(name, largest, count=3000, seed=0):
    """Each representable value, each midpoint (a tie) and its float32 neighbours, the
    subnormals, values past the range, and random values over many magnitudes."""
    grid = _float8_values(name)
    mids = ((grid[1:].astype(np.float64) + grid[:-1]) / 2).astype(np.float32)
    rng = np.random.default_rng(seed)
    spread = rng.standard_normal(count) * 10.0 ** rng.uniform(-6, 5, count)
    return np.concatenate([grid, mids, np.nextafter(mids, np.float32(np.inf)),
                           np.nextafter(mids, np.float32(-np.inf)),
                           np.float32([largest * 1.01, -largest * 3, 1e-30, -0.0]),
                           spread.astype(np.float32)]).astype(np.float32)


def _qdq(x, scale, name, largest):
    return _reference_round(np.clip(x / np.float32(scale), -largest, largest), name) * \
        np.float32(scale)


def _float8_dense(units=3, in_dim=4, seed=0, **kwargs):
    dense = layers.Dense(units, name="f8", **kwargs)
    dense.build((None, in_dim))
    dense.set_weights([rand(*w.shape, seed=seed + i) for i, w in enumerate(dense.weights)])
    dense.quantize("float8")
    return dense


# ----------------------------------------------------------------------------- without Keras


def test_inference_reuses_the_rounded_kernel_until_it_changes():
    """Without autograd (predict) the kernel's and bias's roundings are cached: the same
    outputs as the autograd path, and new ones once the weights change."""
    dense = _float8_dense()
    x = dn.tensor(rand(5, 4, seed=9))
    with dn.no_grad():
        cached = _np(dense(x))
    np.testing.assert_array_equal(cached, _np(dense(x)))
    weights = dense.get_weights()
    dense.set_weights([weights[0] * 2, weights[1] + 1] + weights[2:])
    with dn.no_grad():
        changed = _np(dense(x))
    np.testing.assert_array_equal(changed, _np(dense(x)))
    assert not np.allclose(changed, cached)


@pytest.mark.parametrize("name, largest", [("float8_e4m3fn", E4M3_MAX),
                                           ("float8_e5m2", E5M2_MAX)])
def test_float8_rounding_matches_ml_dtypes(name, largest):
    x = np.clip(_edge_values(name, largest), -largest, largest)
    np.testing.assert_array_equal(_np(round_to_format(dn.tensor(x), name)),
                                  _reference_round(x, name))
    # ties go to the even neighbour: 1.0625 lies between 1.0 and 1.125 (e4m3), -> 1.0
    assert _np(round_to_format(dn.tensor([1.0625, 1.1875, 2.0 ** -10]), "float8_e4m3fn")
               ).tolist() == [1.0, 1.25, 0.0]


def test_bfloat16_rounding_matches_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.concatenate([_edge_values("float8_e5m2", E5M2_MAX),
                        np.float32([1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 3e38, 1e-40])])
    want = x.astype(ml_dtypes.bfloat16).astype(np.float32)
    np.testing.assert_array_equal(_np(round_to_format(dn.tensor(x), "bfloat16")), want)


def test_float8_weights_after_quantize():
    dense = layers.Dense(3, name="f8")
    dense(dn.ones(1, 4))
    kernel = _np(dense.kernel).copy()
    dense.quantize("float8")
    assert dense.quantization_mode == "float8"
    assert dense.dtype_policy.name == "float8_from_float32"
    assert dense.dtype_policy.amax_history_length == 1024
    assert [n for n, _ in dense.named_parameters()] == ["kernel", "bias"] + SCALES
    assert [(tuple(w.shape), w.dtype.name) for w in dense.weights] == \
        [((4, 3), "float32"), ((3,), "float32")] + [((), "float32"), ((1024,), "float32")] * 3
    assert dense.trainable_weights == dense.weights  # the scales too: they get "gradients"
    assert [getattr(w, "overwrite_with_gradient", False) for w in dense.weights] == \
        [False, False] + [True] * 6
    np.testing.assert_array_equal(_np(dense.kernel), kernel)  # float8 keeps the float kernel
    values = dense.get_weights()
    assert [float(v) for v in values[2::2]] == [1.0, 1.0, 1.0]
    assert not any(v.any() for v in values[3::2])


def test_float8_policy_builds_scales_first():
    policy = {"module": "keras.dtype_policies", "class_name": "QuantizedFloat8DTypePolicy",
              "config": {"mode": "float8", "source_name": "float32", "amax_history_length": 16},
              "registered_name": None}
    dense = layers.Dense(2, dtype=policy, name="p")
    dense.build((None, 3))
    assert [n for n, _ in dense.named_parameters()] == SCALES + ["kernel", "bias"]
    assert [tuple(w.shape) for w in dense.weights] == [(), (16,)] * 3 + [(3, 2), (2,)]
    assert dense.dtype_policy.amax_history_length == 16
    named = layers.Dense(2, dtype="float8_from_float32", use_bias=False)
    named.build((None, 3))
    assert [tuple(w.shape) for w in named.weights] == [(), (1024,)] * 3 + [(3, 2)]


def test_float8_call_and_gradients_formula():
    pytest.importorskip("ml_dtypes")
    dense = _float8_dense()
    kernel, bias = dense.get_weights()[:2]
    x = rand(5, 4, seed=9) * 3
    scales = {"inputs_scale": 0.02, "kernel_scale": 0.004, "outputs_grad_scale": 0.003}
    for name, value in scales.items():
        getattr(dense, name).data.fill_(value)
    xq = _qdq(x, 0.02, "float8_e4m3fn", E4M3_MAX)
    wq = _qdq(kernel, 0.004, "float8_e4m3fn", E4M3_MAX)
    bias16 = _reference_round(bias, "bfloat16")
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), xq @ wq + bias16, rtol=1e-6, atol=1e-6)
    assert not (xq == x).all() and not (bias16 == bias).all()  # the rounding is really there
    xt = dn.tensor(x, requires_grad=True)
    grad_out = rand(5, 3, seed=10)
    (dense(xt, training=True) * dn.tensor(grad_out)).sum().backward()
    gq = _qdq(grad_out, 0.003, "float8_e5m2", E5M2_MAX)
    np.testing.assert_allclose(_np(xt.grad), gq @ wq.T, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_np(dense.kernel.grad), xq.T @ gq, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_np(dense.bias.grad),
                               _reference_round(grad_out.sum(0), "bfloat16"), rtol=1e-6)
    # the scales' "gradients": new scales from the (all-zero) histories keep the scale as
    # 1 / (1 / scale); the histories roll left and take max|v| in front
    for name, value in scales.items():
        want = np.float32(1) / (np.float32(1) / np.float32(value))
        assert _np(getattr(dense, name).grad) == want
    for name, seen in (("inputs", x), ("kernel", kernel), ("outputs_grad", grad_out)):
        history = _np(getattr(dense, f"{name}_amax_history").grad)
        assert history[0] == np.abs(seen).max() and not history[1:].any()


def test_float8_inference_gives_scales_no_new_values():
    dense = _float8_dense()
    xt = dn.tensor(rand(2, 4), requires_grad=True)
    dense(xt).sum().backward()  # training=None: no update of the inputs' and kernel's scales
    assert dense.inputs_scale.grad is None and dense.kernel_amax_history.grad is None
    assert dense.outputs_grad_scale.grad is not None  # (Keras's backward always makes these)


def _fit_model(amax_history_length=8):
    policy = {"class_name": "QuantizedFloat8DTypePolicy",
              "config": {"mode": "float8", "source_name": "float32",
                         "amax_history_length": amax_history_length}}
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, dtype=policy)])
    model.layers[0].kernel.data.copy_(dn.tensor(rand(4, 3)))
    model.layers[0].bias.data.copy_(dn.tensor(rand(3, seed=1)))
    return model


def test_optimizer_overwrites_scales_with_their_gradients():
    x, y = rand(8, 4, seed=1) * 2, rand(8, 3, seed=2)
    model = _fit_model()
    dense = model.layers[0]
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.5, clipnorm=1e-3)
    model.compile(optimizer=optimizer, loss="mse")
    kernel_before = _np(dense.kernel).copy()
    model.train_on_batch(x, y)
    history = _np(dense.inputs_amax_history)
    assert history[0] == np.abs(x).max() and not history[1:].any()  # not decayed nor clipped
    assert _np(dense.kernel_amax_history)[0] == np.abs(kernel_before).max()
    assert float(_np(dense.inputs_scale)) == 1.0  # from the all-zero history before the step
    assert all(w.grad is None for w in model.weights[:6])
    # momentum state for kernel and bias only, as Keras builds none for the scales
    assert [tuple(v.shape) for v in optimizer.variables] == [(4, 3), (3,)]
    assert not np.allclose(_np(dense.kernel), kernel_before)
    model.train_on_batch(x, y)
    assert float(_np(dense.inputs_scale)) == pytest.approx(np.abs(x).max() / E4M3_MAX, 1e-6)
    assert _np(dense.inputs_amax_history)[-1] == np.abs(x).max()  # rolled left


def test_fit_updates_scales_and_predict_evaluate_do_not():
    x, y = rand(8, 4, seed=1), rand(8, 3, seed=2)
    model = _fit_model()
    model.compile(optimizer="adam", loss="mse")
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert not any(_np(w).any() for w in model.weights[1:6:2])  # histories untouched
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert all(_np(w).any() for w in model.weights[1:6:2])
    before = [_np(w).copy() for w in model.weights]
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, _np(b))


def test_float8_config_round_trip():
    dense = _float8_dense(activation="relu")
    config = dense.get_config()
    assert config["dtype"]["class_name"] == "QuantizedFloat8DTypePolicy"
    assert config["dtype"]["config"] == {"mode": "float8", "source_name": "float32",
                                         "amax_history_length": 1024}
    assert config["quantization_config"] == {
        "module": "keras.quantizers", "class_name": "Float8QuantizationConfig", "config": {},
        "registered_name": None}
    clone = layers.Dense.from_config(json.loads(json.dumps(config)))
    assert isinstance(clone.quantization_config, Float8QuantizationConfig)
    clone.build((None, 4))
    assert [n for n, _ in clone.named_parameters()] == SCALES + ["kernel", "bias"]
    assert clone.get_config() == config
    assert isinstance(keras.quantizers.get("float8_quantization_config"),
                      Float8QuantizationConfig)


def test_float8_refusals(tmp_path):
    emb = layers.Embedding(5, 2)
    emb.build()
    with pytest.raises(NotImplementedError,
                       match=r"Expected one of \('int8', 'int4'\).*quantization_mode=float8"):
        emb.quantize("float8")
    dense = _float8_dense()
    with pytest.raises(ValueError, match="'f8' is already quantized.*float8_from_float32"):
        dense.quantize("float8")
    dense.enable_lora(2)
    with pytest.raises(NotImplementedError, match="'f8'.*`_float8_call` doesn't support LoRA"):
        dense(dn.ones(1, 4))
    model = keras.Sequential([keras.Input((4,)), dense])
    pytest.importorskip("h5py")
    with pytest.raises(ValueError, match="'f8'.*Unsupported quantization mode: float8"):
        model.save_weights(tmp_path / "lora.weights.h5")  # Keras cannot merge LoRA into it


def test_save_weights_and_model_round_trip(tmp_path):
    pytest.importorskip("h5py")
    x, y = rand(8, 4, seed=1), rand(8, 3, seed=2)
    model = _fit_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    want = _np(model(dn.tensor(x)))
    model.save_weights(tmp_path / "f8.weights.h5")
    twin = _fit_model()
    twin.set_weights([np.zeros_like(w) for w in twin.get_weights()])
    twin.load_weights(tmp_path / "f8.weights.h5")
    for mine, ref in zip(twin.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mine, ref)
    model.save(tmp_path / "f8.keras")
    loaded = keras.models.load_model(tmp_path / "f8.keras")
    assert loaded.layers[0].dtype_policy.name == "float8_from_float32"
    np.testing.assert_allclose(_np(loaded(dn.tensor(x))), want, rtol=1e-6)


# ----------------------------------------------------------------------------- against Keras


def _pair(real, units=3, in_dim=4, seed=0, **kwargs):
    """The same float Dense in dualnet and Keras, random weights, both quantized to float8."""
    ours, theirs = layers.Dense(units, **kwargs), real.layers.Dense(units, **kwargs)
    ours.build((None, in_dim))
    theirs.build((None, in_dim))
    share_random_weights(ours, theirs, seed)
    ours.quantize("float8")
    theirs.quantize("float8")
    return ours, theirs


def _set_scales(layers_, inputs, kernel, outputs_grad):
    for layer in layers_:
        weights = layer.get_weights()
        start = 2 if layer.use_bias else 1
        for offset, value in zip((0, 2, 4), (inputs, kernel, outputs_grad)):
            weights[start + offset] = np.float32(value)
        layer.set_weights(weights)


def test_weights_and_config_match_keras():
    real = real_keras()
    for use_bias in (True, False):
        ours, theirs = _pair(real, use_bias=use_bias, name="d")
        assert [n for n, _ in ours.named_parameters()] == [w.name for w in theirs.weights]
        assert [(tuple(w.shape), w.dtype.name) for w in ours.weights] == \
            [(tuple(w.shape), w.dtype) for w in theirs.weights]
        assert [getattr(w, "overwrite_with_gradient", False) for w in ours.weights] == \
            [w.overwrite_with_gradient for w in theirs.weights]
        assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    mine, ref = ours.get_config(), json.loads(json.dumps(theirs.get_config()))
    assert mine["dtype"] == ref["dtype"]
    assert mine["quantization_config"] == ref["quantization_config"]
    assert real.layers.Dense.from_config(mine).dtype_policy.name == "float8_from_float32"
    assert layers.Dense.from_config(ref).quantization_mode == "float8"


@pytest.mark.parametrize("use_bias, activation, batch_shape",
                         [(True, None, (6,)), (False, "relu", (2, 3)), (True, "tanh", (4,))])
def test_call_and_gradients_match_keras(use_bias, activation, batch_shape):
    real = real_keras()
    import torch
    ours, theirs = _pair(real, in_dim=5, units=4, use_bias=use_bias, activation=activation)
    # powers of two keep v / scale exact, so the inputs sit on float8 ties and subnormals
    _set_scales((ours, theirs), 0.25, 2.0 ** -9, 2.0 ** -12)
    grid = _float8_values("float8_e4m3fn")
    ties = ((grid[1:] + grid[:-1]) / 2)
    rng = np.random.default_rng(3)
    x = rng.choice(np.concatenate([ties, grid[:20], [500.0, -1e3]]), batch_shape + (5,))
    x = (x * 0.25).astype(np.float32)
    e5m2 = _float8_values("float8_e5m2")
    grad_out = (rng.choice((e5m2[1:] + e5m2[:-1]) / 2, batch_shape + (4,)) *
                2.0 ** -12).astype(np.float32)
    for training in (False, True):
        xt, xk = dn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = ours(xt, training=training)
        ref = theirs(xk, training=training)
        np.testing.assert_allclose(_np(out), ref.detach().numpy(), rtol=1e-6, atol=1e-6)
        for w in ours.weights:
            w.grad = None
        for w in theirs.weights:
            w.value.grad = None
        (out * dn.tensor(grad_out)).sum().backward()
        (ref * torch.tensor(grad_out)).sum().backward()
        np.testing.assert_allclose(_np(xt.grad), xk.grad.numpy(), rtol=1e-6, atol=1e-6)
        for mine, w in zip(ours.weights, theirs.weights):
            if w.value.grad is None:
                assert mine.grad is None, w.name
            else:
                np.testing.assert_allclose(_np(mine.grad), w.value.grad.numpy(), rtol=1e-6,
                                           atol=1e-6, err_msg=w.name)


def _model(L, module):
    return module.Sequential([module.Input((5,)), L.Dense(8, activation="relu"), L.Dense(3)])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_matches_keras(optimizer):
    real = real_keras()
    ours, theirs = _model(layers, keras), _model(real.layers, real)
    share_random_weights(ours, theirs)
    ours.quantize("float8")
    theirs.quantize("float8")
    if optimizer == "sgd":  # decay and clipping must leave the scales alone, as in Keras
        make = {"learning_rate": 0.05, "momentum": 0.5, "clipnorm": 1.0, "weight_decay": 0.01}
        ours.compile(optimizer=keras.optimizers.SGD(**make), loss="mse")
        theirs.compile(optimizer=real.optimizers.SGD(**make), loss="mse")
    else:
        ours.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        theirs.compile(optimizer=real.optimizers.Adam(0.01), loss="mse")
    x, y = rand(16, 5, seed=30) * 3, rand(16, 3, seed=31)
    ours.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for step in range(2):
        ours.train_on_batch(x[step::2], y[step::2])
        theirs.train_on_batch(x[step::2], y[step::2])
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=2e-6)
    assert len(ours.optimizer.variables) == len(theirs.optimizer.variables) - 2  # - iterations, lr
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


def _named(model):
    """{(layer index, weight name): value}: a model rebuilt from a float8 config creates the
    scales before the kernel, so weight lists are compared by name."""
    found = {}
    for index, layer in enumerate(model.layers):
        if hasattr(layer, "_weight_infos"):  # ours (Keras's torch layers are Modules too)
            found.update({(index, n): _np(w) for n, w in layer.named_parameters()})
        else:
            found.update({(index, w.name): np.asarray(w.numpy()) for w in layer.weights})
    return found


def _same_named(ours, theirs):
    mine, ref = _named(ours), _named(theirs)
    assert sorted(mine) == sorted(ref)
    for key, value in ref.items():
        np.testing.assert_array_equal(mine[key], value, err_msg=str(key))


def test_keras_files_load_both_ways(tmp_path):
    pytest.importorskip("h5py")
    real = real_keras()
    theirs = _model(real.layers, real)
    theirs.set_weights([rand(*w.shape, seed=i) for i, w in enumerate(theirs.get_weights())])
    theirs.quantize("float8")
    theirs.compile(optimizer=real.optimizers.Adam(0.01), loss="mse")
    x, y = rand(8, 5, seed=1) * 3, rand(8, 3, seed=2)
    theirs.fit(x, y, epochs=1, batch_size=4, verbose=0)
    want = real.ops.convert_to_numpy(theirs(x))
    theirs.save(str(tmp_path / "theirs.keras"))
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    ours = keras.models.load_model(tmp_path / "theirs.keras")
    _same_named(ours, theirs)
    np.testing.assert_allclose(_np(ours(dn.tensor(x))), want, rtol=1e-5)
    fresh = _model(layers, keras)
    fresh.quantize("float8")
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    _same_named(fresh, theirs)
    ours.fit(x, y, epochs=1, batch_size=4, verbose=0)  # the optimizer state rides along too
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when optimizer variables do not fit
        back = real.models.load_model(str(tmp_path / "ours.keras"))
    assert [layer.dtype_policy.name for layer in back.layers] == ["float8_from_float32"] * 2
    _same_named(ours, back)
    assert len(back.optimizer.variables) == len(ours.optimizer.variables) + 2
    twin = _model(real.layers, real)
    twin.quantize("float8")
    twin.load_weights(str(tmp_path / "ours.weights.h5"))
    _same_named(ours, twin)


def test_quantizers_functions_match_keras():
    real = real_keras()
    q = keras.quantizers
    x, history = rand(3, 5, seed=4) * 50, np.abs(rand(6, seed=5))
    for amax in (np.float32(3.7), np.float32(0.0), np.float32(np.inf)):
        np.testing.assert_array_equal(
            _np(q.compute_float8_scale(dn.tensor(amax), dn.tensor(np.float32(0.3)), 448.0)),
            real.ops.convert_to_numpy(real.quantizers.compute_float8_scale(
                amax, np.float32(0.3), np.float32(448.0))))
    np.testing.assert_array_equal(
        _np(q.compute_float8_amax_history(dn.tensor(x), dn.tensor(history))),
        real.ops.convert_to_numpy(real.quantizers.compute_float8_amax_history(x, history)))
    for name in ("float8_e4m3fn", "float8_e5m2"):
        np.testing.assert_array_equal(
            _np(q.quantize_and_dequantize(dn.tensor(x), dn.tensor(np.float32(0.07)), name,
                                          "float32")),
            real.ops.convert_to_numpy(real.quantizers.quantize_and_dequantize(
                x, np.float32(0.07), name, "float32")))
