"""Keras 3's int8 quantization of keras_api Dense and Embedding (`layer.quantize("int8")`,
`model.quantize("int8")`, the "int8_from_float32" dtype policy): the int8 weights and scales,
outputs, gradients, weight lists, config, weights files and `.keras` files, errors - checked
against real Keras 3.15 (torch backend) where it is installed, and alone where the contract
can be stated without it."""
import json
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers
from dualnet.keras_api.layers.quantization import Int8QuantizationConfig
from _keras_layer_parity import (built_pair as _pair, fit_matches_keras, rand, real_keras,
                                 same_weights as _same_weights, share_random_weights,
                                 to_np as _np)

# Model.quantize warns for each layer it skips (Flatten, Dropout...), as Keras does
pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize`",
                                        "ignore::DeprecationWarning")

INDICES = np.array([[1, 2, 0, 4], [3, 3, 9, 7]], dtype=np.int64)








# ----------------------------------------------------------------------------- without Keras


def test_dense_int8_weights_and_formula():
    dense = layers.Dense(3, name="q")
    dense(dn.ones(1, 4))
    kernel = rand(4, 3)
    kernel[:, 2] = 0.0  # an all-zero column: epsilon keeps its scale finite
    dense.set_weights([kernel, np.ones(3, np.float32)])
    dense.quantize("int8")
    assert dense.quantization_mode == "int8" and dense.dtype_policy.name == "int8_from_float32"
    assert [(w.dtype.name, tuple(w.shape)) for w in dense.weights] == \
        [("float32", (3,)), ("int8", (4, 3)), ("float32", (3,))]
    assert dense.trainable_weights == dense.weights[:1]
    assert [n for n, _ in dense.named_parameters()] == ["bias"]
    bias, q_kernel, scale = dense.get_weights()
    want_scale = np.float32(127) / (np.abs(kernel).max(axis=0) + np.float32(1e-7))
    np.testing.assert_allclose(scale, want_scale, rtol=1e-6)
    np.testing.assert_array_equal(q_kernel, np.clip(np.round(kernel * want_scale), -127, 127))
    x = rand(2, 4, seed=1)
    x_scale = np.float32(127) / (np.abs(x).max(axis=-1, keepdims=True) + np.float32(1e-7))
    x_q = np.clip(np.round(x * x_scale), -127, 127)
    want = (x_q.astype(np.int32) @ q_kernel.astype(np.int32)).astype(np.float32) / (
        scale * x_scale) + bias
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), want, rtol=1e-6)
    # the gradient w.r.t. the inputs goes through the dequantized kernel (Keras's custom rule)
    xt = dn.tensor(x, requires_grad=True)
    dense(xt).sum().backward()
    np.testing.assert_allclose(_np(xt.grad), np.ones((2, 3)) @ (q_kernel / scale).T, rtol=1e-6)


def test_embedding_int8_weights_and_lookup():
    emb = layers.Embedding(10, 3)
    emb.build()
    table = rand(10, 3)
    emb.set_weights([table])
    emb.quantize("int8")
    assert [(w.dtype.name, tuple(w.shape)) for w in emb.weights] == \
        [("int8", (10, 3)), ("float32", (10,))]
    assert emb.trainable_weights == [] and list(emb.parameters()) == []
    q_table, scale = emb.get_weights()
    np.testing.assert_allclose(_np(emb(dn.tensor(INDICES))),
                               q_table[INDICES] / scale[INDICES][..., None], rtol=1e-6)
    np.testing.assert_allclose(_np(emb(dn.tensor(INDICES))), table[INDICES], atol=0.01)


def test_quantized_dtype_policy_config_round_trip():
    dense = layers.Dense(3, activation="relu", name="d")
    dense(dn.ones(1, 4))
    dense.quantize("int8")
    config = dense.get_config()
    assert config["dtype"]["class_name"] == "QuantizedDTypePolicy"
    assert config["dtype"]["config"] == {"mode": "int8", "source_name": "float32"}
    assert config["quantization_config"]["class_name"] == "Int8QuantizationConfig"
    clone = layers.Dense.from_config(config)
    assert clone.quantization_mode == "int8" and not clone.built
    clone.build((None, 4))
    assert [w.dtype.name for w in clone.weights] == ["float32", "int8", "float32"]
    clone.set_weights(dense.get_weights())
    x = rand(2, 4)
    np.testing.assert_allclose(_np(clone(dn.tensor(x))), _np(dense(dn.tensor(x))), rtol=1e-6)
    assert clone.get_config() == config
    # a policy name works as Keras's dtype argument
    emb = layers.Embedding(5, 2, dtype="int8_from_float32")
    emb.build()
    assert emb.dtype_policy.name == "int8_from_float32" and emb.dtype == "float32"
    assert [w.dtype.name for w in emb.weights] == ["int8", "float32"]
    # an unquantized layer reports a float policy and no quantization config
    plain = layers.Dense(2)
    assert plain.quantization_mode is None and plain.get_config()["quantization_config"] is None
    assert layers.Dense(2, quantization_config=Int8QuantizationConfig()).get_config()[
        "quantization_config"]["class_name"] == "Int8QuantizationConfig"


def test_quantize_errors():
    with pytest.raises(ValueError, match="isn't yet built.*'late'"):
        layers.Dense(3, name="late").quantize("int8")
    dense = layers.Dense(3, name="twice")
    dense(dn.ones(1, 4))
    for mode in ("int9", "INT8"):
        with pytest.raises(ValueError, match=f"Invalid quantization mode.*{mode}"):
            dense.quantize(mode)
    with pytest.raises(ValueError, match="either `mode` or `config`"):
        dense.quantize()
    with pytest.raises(ValueError, match="GPTQConfig"):
        dense.quantize("gptq")
    with pytest.raises(ValueError, match="AWQConfig"):
        dense.quantize("awq")
    with pytest.raises(ValueError, match="Contradictory.*mode='int4'.*config.mode='int8'"):
        dense.quantize("int4", config=Int8QuantizationConfig())
    assert dense.quantization_mode is None  # a refused mode changes nothing
    emb = layers.Embedding(5, 2)
    emb.build()
    for mode in ("float8",):  # Keras's Embedding quantizes to int8 and int4 only
        with pytest.raises(NotImplementedError, match=r"one of \('int8', 'int4'\).*" + mode):
            emb.quantize(mode)
    assert emb.quantization_mode is None and [w.dtype.name for w in emb.weights] == ["float32"]
    dense.quantize("int8")
    with pytest.raises(ValueError, match="'twice' is already quantized.*int8_from_float32"):
        dense.quantize("int8")

    class MyDense(layers.Dense):
        pass

    mine = MyDense(2)
    mine(dn.ones(1, 3))
    with pytest.raises(NotImplementedError, match="MyDense does not have a `quantize`"):
        mine.quantize("int8")
    mine.quantize("int8", type_check=False)
    assert mine.quantization_mode == "int8"
    with pytest.raises(NotImplementedError, match="quantization_mode=float8"):
        layers.Embedding(5, 2, dtype="float8_from_float32").build()


def test_model_quantize_skips_other_layers_with_a_warning():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu"),
                              layers.Dropout(0.2), layers.Dense(2)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize("int8")
    assert any("Dropout does not have a `quantize`" in str(w.message) for w in caught)
    assert [layer.quantization_mode for layer in model.layers if hasattr(
        layer, "quantization_mode")] == ["int8", "int8"]
    filtered = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="keep"),
                                 layers.Dense(2, name="quant_me")])
    filtered.quantize("int8", filters="quant")
    assert [layer.quantization_mode for layer in filtered.layers] == [None, "int8"]
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        filtered.quantize("int3")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embedded = keras.Sequential([keras.Input((3,), dtype="int64"), layers.Embedding(5, 2)])
        embedded.quantize("float8")
    assert any("quantization_mode=float8" in str(w.message) for w in caught)
    assert embedded.layers[0].quantization_mode is None


def test_lora_on_a_quantized_dense():
    dense = layers.Dense(3)
    dense(dn.ones(1, 4))
    dense.quantize("int8")
    dense.enable_lora(2)
    assert [tuple(w.shape) for w in dense.trainable_weights] == [(3,), (4, 2), (2, 3)]
    assert [w.dtype.name for w in dense.non_trainable_weights] == ["int8", "float32"]
    x = rand(2, 4)
    base = _np(dense(dn.tensor(x)))
    a = rand(4, 2, seed=3)
    b = rand(2, 3, seed=4)
    dense.set_weights([dense.get_weights()[0], a, b] + dense.get_weights()[3:])
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), base + x @ a @ b, rtol=1e-5, atol=1e-5)
    assert dense.kernel.dtype.name == "float32"  # int8 W + the update, in the compute dtype


def test_save_weights_and_model_round_trip(tmp_path):
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((4,)), layers.Embedding(10, 3), layers.Flatten(),
                              layers.Dense(2, activation="tanh")])
    model.set_weights([rand(*w.shape, seed=i) for i, w in enumerate(model.weights)])
    model.quantize("int8")
    want = _np(model(dn.tensor(INDICES)))
    model.save_weights(tmp_path / "q.weights.h5")
    twin = keras.Sequential([keras.Input((4,)), layers.Embedding(10, 3), layers.Flatten(),
                             layers.Dense(2, activation="tanh")])
    twin.quantize("int8")
    twin.load_weights(tmp_path / "q.weights.h5")
    np.testing.assert_allclose(_np(twin(dn.tensor(INDICES))), want, rtol=1e-6)
    model.save(tmp_path / "q.keras")
    loaded = keras.models.load_model(tmp_path / "q.keras")
    assert [layer.quantization_mode for layer in loaded.layers if hasattr(
        layer, "quantization_mode")] == ["int8", "int8"]
    for mine, ref in zip(loaded.get_weights(), model.get_weights()):
        assert mine.dtype == ref.dtype
        np.testing.assert_array_equal(mine, ref)
    np.testing.assert_allclose(_np(loaded(dn.tensor(INDICES))), want, rtol=1e-6)


# ----------------------------------------------------------------------------- against Keras


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("input_shape", [(6, 5), (2, 3, 5)])
def test_dense_int8_matches_keras(use_bias, activation, input_shape):
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Dense(4, use_bias=use_bias, activation=activation),
                         lambda L: L.Dense(4, use_bias=use_bias, activation=activation),
                         (None, 5))
    ours.quantize("int8")
    theirs.quantize("int8")
    _same_weights(ours.weights, theirs.get_weights())
    assert ours.dtype_policy.name == theirs.dtype_policy.name
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    x = rand(*input_shape, seed=7) * 3
    np.testing.assert_allclose(_np(ours(dn.tensor(x))),
                               real.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-6)


def test_embedding_int8_matches_keras():
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Embedding(10, 6), lambda L: L.Embedding(10, 6),
                         None)
    ours.quantize("int8")
    theirs.quantize("int8")
    _same_weights(ours.weights, theirs.get_weights())
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))),
                               real.ops.convert_to_numpy(theirs(INDICES)), rtol=1e-5)
    # LoRA on the quantized table: same weight lists, same outputs
    for layer in (ours, theirs):
        layer.enable_lora(2)
    values = [np.asarray(real.ops.convert_to_numpy(w)) for w in theirs.weights]
    values[1] = rand(2, 6, seed=8)  # B, so the update is not zero
    ours.set_weights(values)
    theirs.set_weights(values)
    _same_weights(ours.weights, theirs.get_weights())
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))),
                               real.ops.convert_to_numpy(theirs(INDICES)), rtol=1e-5, atol=1e-6)


def test_config_matches_keras():
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Dense(4, name="d"), lambda L: L.Dense(4, name="d"),
                         (None, 5))
    ours.quantize("int8")
    theirs.quantize("int8")
    mine, ref = ours.get_config(), theirs.get_config()
    assert mine["dtype"] == ref["dtype"]
    assert mine["quantization_config"] == json.loads(json.dumps(ref["quantization_config"]))
    # each side rebuilds the other's quantized config
    assert real.layers.Dense.from_config(mine).dtype_policy.name == "int8_from_float32"
    assert layers.Dense.from_config(ref).quantization_mode == "int8"


def _model(L, real_keras_module):
    return real_keras_module.Sequential([
        real_keras_module.Input((5,)), L.Dense(8, activation="relu"), L.Dense(3)])


def test_training_after_quantization_matches_keras():
    real = real_keras()
    ours, theirs = _model(layers, keras), _model(real.layers, real)
    share_random_weights(ours, theirs)
    ours.quantize("int8")
    theirs.quantize("int8")
    ours.layers[1].enable_lora(2)
    theirs.layers[1].enable_lora(2)
    a = rand(*theirs.layers[1].lora_kernel_a.shape, seed=21) * 0.1
    for model in (ours, theirs):
        weights = model.layers[1].get_weights()
        model.layers[1].set_weights([weights[0], a] + weights[2:])
    _same_weights(ours.weights, [np.asarray(real.ops.convert_to_numpy(w))
                                 for w in theirs.weights])
    assert [tuple(w.shape) for w in ours.trainable_weights] == \
        [tuple(w.shape) for w in theirs.trainable_weights]
    fit_matches_keras(real, ours, theirs, epochs=3)


def test_input_gradient_matches_keras():
    real = real_keras()
    import torch
    ours, theirs = _pair(real, lambda L: L.Dense(4), lambda L: L.Dense(4), (None, 5))
    ours.quantize("int8")
    theirs.quantize("int8")
    x, grad_out = rand(3, 5, seed=2), rand(3, 4, seed=3)
    xt = dn.tensor(x, requires_grad=True)
    (ours(xt) * dn.tensor(grad_out)).sum().backward()
    xk = torch.tensor(x, requires_grad=True)
    (theirs(xk) * torch.tensor(grad_out)).sum().backward()
    np.testing.assert_allclose(_np(xt.grad), xk.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(ours.bias.grad), theirs.bias.value.grad.numpy(),
                               rtol=1e-5, atol=1e-6)


def _embedding_dense(L, module):
    return module.Sequential([module.Input((4,)), L.Embedding(10, 3), L.Flatten(),
                              L.Dense(2, activation="tanh")])


def test_keras_files_load_both_ways(tmp_path):
    pytest.importorskip("h5py")
    real = real_keras()
    theirs = _embedding_dense(real.layers, real)
    theirs.set_weights([rand(*w.shape, seed=i) for i, w in enumerate(theirs.get_weights())])
    theirs.quantize("int8")
    want = real.ops.convert_to_numpy(theirs(INDICES))
    theirs.save(str(tmp_path / "theirs.keras"))
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    ours = keras.models.load_model(tmp_path / "theirs.keras")
    _same_weights(ours.weights, theirs.get_weights())
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))), want, rtol=1e-5)
    fresh = _embedding_dense(layers, keras)
    fresh.quantize("int8")
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    _same_weights(fresh.weights, theirs.get_weights())
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    back = real.models.load_model(str(tmp_path / "ours.keras"))
    assert [layer.dtype_policy.name for layer in back.layers] == \
        ["int8_from_float32", "float32", "int8_from_float32"]
    np.testing.assert_allclose(real.ops.convert_to_numpy(back(INDICES)), want, rtol=1e-5)
    twin = _embedding_dense(real.layers, real)
    twin.quantize("int8")
    twin.load_weights(str(tmp_path / "ours.weights.h5"))
    _same_weights(fresh.weights, twin.get_weights())


def test_lora_merged_save_matches_keras(tmp_path):
    pytest.importorskip("h5py")
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Dense(4), lambda L: L.Dense(4), (None, 5))
    for layer in (ours, theirs):
        layer.quantize("int8")
        layer.enable_lora(2)
    values = [np.asarray(real.ops.convert_to_numpy(w)) for w in theirs.weights]
    values[2] = rand(2, 4, seed=5)  # B, so the update is not zero
    ours.set_weights(values)
    theirs.set_weights(values)
    o_model = keras.Sequential([keras.Input((5,)), ours])
    t_model = real.Sequential([real.Input((5,)), theirs])
    o_model.save_weights(tmp_path / "o.weights.h5")
    t_model.save_weights(str(tmp_path / "t.weights.h5"))
    import h5py
    with h5py.File(tmp_path / "o.weights.h5") as mine, h5py.File(tmp_path / "t.weights.h5") as ref:
        group = "layers/dense/vars"
        assert sorted(mine[group]) == sorted(ref[group]) == ["0", "1", "2"]
        _same_weights([mine[group][k][()] for k in "012"], [ref[group][k][()] for k in "012"])


def test_quantizers_namespace():
    """`keras_api.quantizers` has Keras's names; get / serialize / deserialize as Keras's."""
    real = real_keras()
    quantizers = keras.quantizers
    assert set(quantizers.__all__) <= set(dir(real.quantizers)) | {"dequantize_with_sz_map"}
    for name in quantizers.__all__:
        assert callable(getattr(quantizers, name)), name
    theirs = real.quantizers.AbsMaxQuantizer(axis=0, value_range=(-8, 7))
    ours = quantizers.get(json.loads(json.dumps(real.quantizers.serialize(theirs))))
    assert isinstance(ours, quantizers.AbsMaxQuantizer) and ours.axis == (0,)
    assert json.loads(json.dumps(quantizers.serialize(ours))) == \
        json.loads(json.dumps(real.quantizers.serialize(theirs)))
    config = quantizers.get("int8_quantization_config")
    assert isinstance(config, quantizers.Int8QuantizationConfig)
    assert json.loads(json.dumps(quantizers.serialize(config))) == json.loads(json.dumps(
        real.quantizers.serialize(real.quantizers.Int8QuantizationConfig())))
    assert quantizers.get(None) is None
    with pytest.raises(ValueError, match="Could not interpret quantizer identifier: nope"):
        quantizers.get("nope")
    with pytest.raises(AttributeError, match="no_such"):
        quantizers.no_such


@pytest.mark.parametrize("num_bits, narrow_range, axis", [(8, False, None), (3, True, None),
                                                           (4, False, -1), (2, False, 1)])
def test_fake_quant_with_min_max_vars(num_bits, narrow_range, axis):
    """Values and gradients (x, min, max) as Keras's on its torch backend, whose per-channel
    path takes the channels on the last axis (ours are moved to `axis` and back)."""
    real = real_keras()
    import torch
    x = rand(4, 3, 5, seed=1) * 3
    x[0, 0, :2] = [-1.0, 1.0]  # on the range ends
    channels = 5 if axis is not None else None
    lo = -np.abs(rand(channels or 1, seed=2)) - 0.2
    hi = np.abs(rand(channels or 1, seed=3)) + 0.5
    if channels is None:
        lo, hi = lo.reshape(()), hi.reshape(())
    grad = rand(4, 3, 5, seed=4)
    move = (lambda a: a) if axis is None else (lambda a: np.moveaxis(a, 2, axis))
    back = (lambda a: a) if axis is None else (lambda a: np.moveaxis(a, axis, 2))
    ours_x, ours_lo, ours_hi = (dn.tensor(v, requires_grad=True) for v in (move(x), lo, hi))
    out = keras.quantizers.fake_quant_with_min_max_vars(ours_x, ours_lo, ours_hi, num_bits,
                                                        narrow_range, axis=axis)
    out.backward(dn.tensor(move(grad)))
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    ref = real.quantizers.fake_quant_with_min_max_vars(*theirs, num_bits, narrow_range,
                                                       axis=None if axis is None else 2)
    ref.backward(torch.tensor(grad))
    np.testing.assert_allclose(back(_np(out)), ref.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(back(_np(ours_x.grad)), theirs[0].grad.numpy())
    for mine, their in zip((ours_lo, ours_hi), theirs[1:]):
        np.testing.assert_allclose(_np(mine.grad), their.grad.numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"need 5 entries.*\(4, 3, 5\)"):
        keras.quantizers.fake_quant_with_min_max_vars(dn.tensor(x), dn.zeros(3), dn.ones(3),
                                                      axis=2)


@pytest.mark.parametrize("inputs", [1000, 5000])
def test_int8_product_is_exact_on_either_side_of_the_float32_bound(inputs):
    """The integer product is summed in float32 below 1024 inputs (every partial sum under
    2**24) and in float64 from there: both give the exact integer sum, rounded once to
    float32 (at 5000 inputs a float32 sum is off: this fails if that path summed in float32)."""
    dense = layers.Dense(2, use_bias=False)
    dense.build((None, inputs))
    dense.set_weights([np.full((inputs, 2), 1.0, np.float32)])
    dense.quantize("int8")  # every kernel value 127
    _, scale = dense.get_weights()
    x = np.ones((1, inputs), np.float32)
    x[0, 1::3] = 0.99  # quantized to 126: the sum is not a multiple of a power of two
    x_scale = np.float32(127) / (np.float32(1) + np.float32(1e-7))
    x_q = np.clip(np.round(x * x_scale), -127, 127).astype(np.int64)
    exact = (x_q @ np.full((inputs, 2), 127, np.int64)).astype(np.float32)
    np.testing.assert_array_equal(_np(dense(dn.tensor(x))), exact / (scale * x_scale))
