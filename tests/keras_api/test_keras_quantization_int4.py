"""Keras 3's int4 quantization of keras_api Dense and Embedding (`quantize("int4")`, the
"int4/<block_size>_from_float32" dtype policies, `Int4QuantizationConfig`): per-channel and
sub-channel (grouped, with zero points) weights, packing, outputs, input gradients, LoRA, config,
weights files and `.keras` files, errors - checked against real Keras 3.15 (torch backend)
where it is installed, and alone where the contract can be stated without it."""
import json

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers
from dualnet.keras_api.layers.quantization import AbsMaxQuantizer, Int8QuantizationConfig
from dualnet.keras_api.layers.quantization_int4 import Int4QuantizationConfig
from dualnet.keras_api.layers.quantization_ops import (
    abs_max_quantize_grouped_with_zero_point, unpack_int4)
from _keras_layer_parity import (built_pair as _pair, fit_matches_keras, rand, real_keras,
                                 same_weights as _same_weights, share_random_weights,
                                 to_np as _np)

pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize`",
                                        "ignore::DeprecationWarning")

INDICES = np.array([[1, 2, 0, 4], [3, 3, 9, 7]], dtype=np.int64)
EPS = np.float32(1e-7)
# (our config, Keras's config kwargs) for the two kinds: per channel, and groups of 3 rows over
# an input_dim of 7 (the last group padded)
BLOCKS = [None, 3]








def _quantize_both(real, ours, theirs, block_size, **kwargs):
    ours.quantize("int4", config=Int4QuantizationConfig(block_size=block_size, **kwargs))
    theirs.quantize("int4", config=real.quantizers.Int4QuantizationConfig(
        block_size=block_size, **kwargs))


def _grouped_reference(w, block):
    """Grouped asymmetric int4 of a (rows, cols) array, straight from the formula (float64,
    then the float32 rounding Keras's NumPy path takes at each step)."""
    rows, cols = w.shape
    groups = -(-rows // block)
    padded = np.concatenate([w, np.zeros((groups * block - rows, cols), w.dtype)])
    blocks = padded.reshape(groups, block, cols)
    low = blocks.min(axis=1)
    scale = ((blocks.max(axis=1) - low) + EPS) / np.float32(15)
    zero = np.clip(np.round(-low / scale) - 8, -8, 7)
    q = np.clip(np.round(w / np.repeat(scale, block, 0)[:rows]) + np.repeat(zero, block, 0)[:rows],
                -8, 7)
    return q.astype(np.int8), scale.astype(np.float32), zero.astype(np.int8)


# ----------------------------------------------------------------------------- without Keras


def test_dense_per_channel_weights_and_formula():
    dense = layers.Dense(5, name="q4")
    dense(dn.ones(1, 4))
    kernel = rand(4, 5)
    kernel[:, 1] = 0.0  # an all-zero column: epsilon keeps its scale finite
    dense.set_weights([kernel, rand(5, seed=1)])
    dense.quantize("int4", config=Int4QuantizationConfig(block_size=None))
    assert dense.quantization_mode == "int4" and dense.dtype_policy.name == "int4/-1_from_float32"
    assert [(w.dtype.name, tuple(w.shape), w.requires_grad) for w in dense.weights] == \
        [("float32", (5,), True), ("int8", (4, 3), False), ("float32", (5,), False)]
    assert [n for n, _ in dense.named_parameters()] == ["bias"]
    bias, packed, scale = dense.get_weights()
    want_scale = np.float32(7) / (np.abs(kernel).max(axis=0) + EPS)
    np.testing.assert_allclose(scale, want_scale, rtol=1e-6)
    values = np.clip(np.round(kernel * want_scale), -8, 7)
    # two values a byte along the units, the first in the low nibble, the odd one padded
    np.testing.assert_array_equal(_np(unpack_int4(packed, 5, axis=-1)), values)
    low = packed.view(np.uint8) & 0x0F
    np.testing.assert_array_equal(np.where(low > 7, low.astype(int) - 16, low), values[:, ::2])
    np.testing.assert_array_equal(_np(dense.kernel), values)  # Keras's `kernel`: the int values
    assert dense.kernel.dtype.name == "int8"
    x = rand(3, 4, seed=2)
    xt = dn.tensor(x, requires_grad=True)
    out = dense(xt)
    np.testing.assert_allclose(_np(out), x @ values / scale + bias, rtol=1e-5, atol=1e-6)
    out.sum().backward()  # through the dequantized kernel, as Keras's custom gradient
    np.testing.assert_allclose(_np(xt.grad), np.ones((3, 5)) @ (values / scale).T, rtol=1e-5)


def test_dense_sub_channel_weights_and_formula():
    dense = layers.Dense(4)
    dense(dn.ones(1, 7))
    kernel = rand(7, 4, seed=3)
    dense.set_weights([kernel, np.zeros(4, np.float32)])
    dense.quantize("int4", config=Int4QuantizationConfig(block_size=3))
    assert dense.dtype_policy.name == "int4/3_from_float32"
    assert [(w.dtype.name, tuple(w.shape)) for w in dense.weights] == \
        [("float32", (4,)), ("int8", (7, 2)), ("float32", (3, 4)), ("int8", (3, 4)),
         ("float32", (7,))]
    assert dense.trainable_weights == dense.weights[:1]
    _, packed, scale, zero, g_idx = dense.get_weights()
    want_q, want_scale, want_zero = _grouped_reference(kernel, 3)
    np.testing.assert_allclose(scale, want_scale, rtol=1e-6)
    np.testing.assert_array_equal(zero, want_zero)
    np.testing.assert_array_equal(g_idx, [0, 0, 0, 1, 1, 1, 2])
    values = _np(unpack_int4(packed, 4, axis=-1))
    np.testing.assert_array_equal(values, want_q)
    groups = g_idx.astype(int)
    float_kernel = (values - zero[groups]) * scale[groups]
    x = rand(2, 7, seed=4)
    xt = dn.tensor(x, requires_grad=True)
    out = dense(xt)
    np.testing.assert_allclose(_np(out), x @ float_kernel, rtol=1e-5, atol=1e-6)
    (out * dn.tensor(rand(2, 4, seed=5))).sum().backward()
    np.testing.assert_allclose(_np(xt.grad), rand(2, 4, seed=5) @ float_kernel.T, rtol=1e-5,
                               atol=1e-6)
    # a changed weight (as load_weights assigns it) is what the next call uses
    dense.weights[2].copy_(dn.tensor(scale * 2))
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), 2 * (x @ float_kernel), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("block_size", [None, 2])
def test_embedding_int4_lookup(block_size):
    emb = layers.Embedding(10, 5)
    emb.build()
    table = rand(10, 5, seed=6)
    emb.set_weights([table])
    emb.quantize("int4", config=Int4QuantizationConfig(block_size=block_size))
    weights = emb.get_weights()
    values = _np(unpack_int4(weights[0], 5, axis=-1))
    np.testing.assert_array_equal(_np(emb.embeddings), values)
    if block_size is None:
        assert [w.shape for w in weights] == [(10, 3), (10,)]
        want = values / weights[1][:, None]
    else:  # groups of 2 along each row's 5 columns
        assert [w.shape for w in weights] == [(10, 3), (10, 3), (10, 3), (5,)]
        q, scale, zero = _grouped_reference(table.T, 2)
        np.testing.assert_array_equal(values, q.T)
        np.testing.assert_array_equal(weights[2], zero.T)
        groups = weights[3].astype(int)
        want = (values - weights[2][:, groups]) * weights[1][:, groups]
    assert emb.trainable_weights == [] and list(emb.parameters()) == []
    np.testing.assert_allclose(_np(emb(dn.tensor(INDICES))), want[INDICES], rtol=1e-6)
    if block_size is None:
        # (Keras's grouped scheme clips the zero point to [-8, 7], so a group whose values
        # all lie far to one side of 0 comes back badly: no closeness claim for it)
        np.testing.assert_allclose(_np(emb(dn.tensor(INDICES))), table[INDICES], atol=0.5)


def test_config_validation_and_serialization():
    config = Int4QuantizationConfig()
    assert config.mode == "int4" and config.block_size == 128
    assert config.weight_quantizer is None and config.activation_quantizer is None
    assert config.get_config() == {"weight_quantizer": None, "activation_quantizer": None,
                                   "block_size": 128}
    # a config saved before block_size existed was per channel
    assert Int4QuantizationConfig.from_config(
        {"weight_quantizer": None, "activation_quantizer": None}).block_size is None
    per_channel = Int4QuantizationConfig(
        weight_quantizer=AbsMaxQuantizer(axis=0, value_range=(-8, 7)),
        activation_quantizer=AbsMaxQuantizer(), block_size=-1)
    again = Int4QuantizationConfig.from_config(json.loads(json.dumps(per_channel.get_config())))
    assert again.get_config() == per_channel.get_config() and again.block_size == -1
    for block_size in (0, -2, 1.5, "8"):
        with pytest.raises(ValueError, match=f"block_size must be None, -1, or a positive "
                                             f"integer. Received: block_size={block_size}"):
            Int4QuantizationConfig(block_size=block_size)
    with pytest.raises(ValueError, match=r"sub-channel.*does not support custom quantizers.*"
                                         r"block_size=128"):
        Int4QuantizationConfig(activation_quantizer=AbsMaxQuantizer())
    with pytest.raises(ValueError, match=r"sub-channel.*block_size=4"):
        Int4QuantizationConfig(weight_quantizer=AbsMaxQuantizer(value_range=(-8, 7)),
                               block_size=4)
    with pytest.raises(ValueError, match=r"value_range=\(-8, 7\). Received: "
                                         r"value_range=\(-127, 127\)"):
        Int4QuantizationConfig(weight_quantizer=AbsMaxQuantizer(), block_size=None)
    with pytest.raises(ValueError, match="output_dtype='int8'. Received: output_dtype=int16"):
        Int4QuantizationConfig(weight_quantizer=AbsMaxQuantizer(value_range=(-8, 7),
                                                                output_dtype="int16"),
                               block_size=None)
    dense = layers.Dense(3)
    dense(dn.ones(1, 4))
    with pytest.raises(ValueError, match="Contradictory.*mode='int8'.*config.mode='int4'"):
        dense.quantize("int8", config=Int4QuantizationConfig())
    with pytest.raises(ValueError, match="Contradictory.*mode='int4'.*config.mode='int8'"):
        dense.quantize("int4", config=Int8QuantizationConfig())
    assert dense.quantization_mode is None


def test_policy_names_build_the_right_weights():
    # Keras lists the trainable bias first, then the quantized weights in creation order
    for dtype, shapes in [("int4/128_from_float32", [(5,), (7, 3), (1, 5), (1, 5), (7,)]),
                          ("int4/3_from_float32", [(5,), (7, 3), (3, 5), (3, 5), (7,)]),
                          ("int4/-1_from_float32", [(5,), (7, 3), (5,)]),
                          ("int4_from_float32", [(5,), (7, 3), (5,)])]:  # legacy: per channel
        dense = layers.Dense(5, dtype=dtype)
        dense.build((None, 7))
        assert dense.dtype_policy.name == dtype and dense.dtype == "float32"
        assert [tuple(w.shape) for w in dense.weights] == shapes, dtype
        assert dense.trainable_weights == [dense.bias]
    emb = layers.Embedding(9, 5, dtype="int4/2_from_float32")
    emb.build()
    assert [tuple(w.shape) for w in emb.weights] == [(9, 3), (9, 3), (9, 3), (5,)]
    np.testing.assert_array_equal(_np(emb.weights[3]), [0, 0, 1, 1, 2])
    # a quantization config beats the policy's block size, as Keras's get_block_size_for_layer
    dense = layers.Dense(5, dtype="int4/3_from_float32",
                         quantization_config=Int4QuantizationConfig(block_size=2))
    dense.build((None, 7))
    assert tuple(dense.weights[2].shape) == (4, 5)
    with pytest.raises(ValueError, match="Invalid mode for Int4DTypePolicy"):
        layers.Dense(2, dtype="int4/x_from_float32")


def test_config_round_trip_and_model_quantize():
    model = keras.Sequential([keras.Input((7,)), layers.Dense(5, activation="relu"),
                              layers.Dropout(0.1), layers.Dense(3)])
    model.quantize("int4")
    dense = model.layers[0]
    assert dense.dtype_policy.name == "int4/128_from_float32"
    config = dense.get_config()
    assert config["dtype"] == {"module": "keras.dtype_policies", "class_name": "Int4DTypePolicy",
                               "config": {"mode": "int4/128", "source_name": "float32"},
                               "registered_name": None}
    assert config["quantization_config"] == {
        "module": "keras.quantizers", "class_name": "Int4QuantizationConfig",
        "config": {"weight_quantizer": None, "activation_quantizer": None, "block_size": 128},
        "registered_name": None}
    clone = layers.Dense.from_config(config)
    clone.build((None, 7))
    clone.set_weights(dense.get_weights())
    x = rand(2, 7)
    np.testing.assert_allclose(_np(clone(dn.tensor(x))), _np(dense(dn.tensor(x))), rtol=1e-6)
    assert clone.get_config() == config
    with pytest.raises(ValueError, match="already quantized.*int4/128_from_float32"):
        dense.quantize("int4")


def test_lora_on_int4_layers():
    for block_size in BLOCKS:
        dense = layers.Dense(5)
        dense(dn.ones(1, 7))
        dense.set_weights([rand(7, 5), rand(5, seed=1)])
        dense.quantize("int4", config=Int4QuantizationConfig(block_size=block_size))
        dense.enable_lora(2)
        # A has the unpacked row count; B the units, not the packed width
        assert [tuple(w.shape) for w in dense.trainable_weights] == [(5,), (7, 2), (2, 5)]
        x = rand(2, 7, seed=2)
        base = _np(dense(dn.tensor(x)))
        a, b = rand(7, 2, seed=3), rand(2, 5, seed=4)
        with dn.no_grad():
            dense.lora_kernel_a.copy_(dn.tensor(a))
            dense.lora_kernel_b.copy_(dn.tensor(b))
        np.testing.assert_allclose(_np(dense(dn.tensor(x))), base + x @ a @ b, rtol=1e-5,
                                   atol=1e-5)
        assert dense.kernel.dtype.name == "float32"
    emb = layers.Embedding(10, 5)
    emb.build()
    emb.quantize("int4", config=Int4QuantizationConfig(block_size=2))
    emb.enable_lora(3)
    assert [tuple(w.shape) for w in emb.trainable_weights] == [(10, 3), (3, 5)]


def test_save_weights_and_model_round_trip(tmp_path):
    pytest.importorskip("h5py")

    def make():
        return keras.Sequential([keras.Input((4,)), layers.Embedding(10, 5), layers.Flatten(),
                                 layers.Dense(3, activation="tanh")])
    model = make()
    model.set_weights([rand(*w.shape, seed=i) for i, w in enumerate(model.weights)])
    model.quantize("int4", config=Int4QuantizationConfig(block_size=3))
    want = _np(model(dn.tensor(INDICES)))
    model.save_weights(tmp_path / "q.weights.h5")
    twin = make()
    twin.quantize("int4", config=Int4QuantizationConfig(block_size=3))
    twin.load_weights(tmp_path / "q.weights.h5")
    np.testing.assert_allclose(_np(twin(dn.tensor(INDICES))), want, rtol=1e-6)
    model.save(tmp_path / "q.keras")
    loaded = keras.models.load_model(tmp_path / "q.keras")
    assert [layer.dtype_policy.name for layer in loaded.layers[::2]] == \
        ["int4/3_from_float32", "int4/3_from_float32"]
    for mine, ref in zip(loaded.get_weights(), model.get_weights()):
        assert mine.dtype == ref.dtype
        np.testing.assert_array_equal(mine, ref)
    np.testing.assert_allclose(_np(loaded(dn.tensor(INDICES))), want, rtol=1e-6)


# ----------------------------------------------------------------------------- against Keras


def test_grouped_quantizer_matches_keras():
    real = real_keras()
    w = rand(7, 4, seed=9)
    w[3:6, 1] = 0.25  # a constant group
    for block in (1, 3, 7, 128):
        ours = abs_max_quantize_grouped_with_zero_point(w, block_size=block)
        theirs = real.quantizers.abs_max_quantize_grouped_with_zero_point(
            w, block_size=block, to_numpy=True)
        _same_weights(ours, [real.ops.convert_to_numpy(t) for t in theirs])


@pytest.mark.parametrize("block_size", BLOCKS)
@pytest.mark.parametrize("use_bias, activation", [(True, None), (False, "relu")])
def test_dense_int4_matches_keras(block_size, use_bias, activation):
    real = real_keras()
    import torch
    ours, theirs = _pair(real, lambda L: L.Dense(5, use_bias=use_bias, activation=activation),
                         lambda L: L.Dense(5, use_bias=use_bias, activation=activation),
                         (None, 7))
    _quantize_both(real, ours, theirs, block_size)
    _same_weights(ours.weights, theirs.weights)
    assert ours.dtype_policy.name == theirs.dtype_policy.name
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    np.testing.assert_array_equal(_np(ours.kernel), real.ops.convert_to_numpy(theirs.kernel))
    x, grad_out = rand(2, 3, 7, seed=7) * 3, rand(2, 3, 5, seed=8)
    xt = dn.tensor(x, requires_grad=True)
    (ours(xt) * dn.tensor(grad_out)).sum().backward()
    xk = torch.tensor(x, requires_grad=True)
    out_k = theirs(xk)
    (out_k * torch.tensor(grad_out)).sum().backward()
    np.testing.assert_allclose(_np(ours(dn.tensor(x))), out_k.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(_np(xt.grad), xk.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_int4_with_quantizers_matches_keras():
    """Per channel, a custom weight quantizer and an activation quantizer (int8 inputs)."""
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Dense(6), lambda L: L.Dense(6), (None, 5))
    ours.quantize("int4", config=Int4QuantizationConfig(
        weight_quantizer=AbsMaxQuantizer(axis=0, value_range=(-8, 7), epsilon=1e-3),
        activation_quantizer=AbsMaxQuantizer(), block_size=None))
    q = real.quantizers
    theirs.quantize("int4", config=q.Int4QuantizationConfig(
        weight_quantizer=q.AbsMaxQuantizer(axis=0, value_range=(-8, 7), epsilon=1e-3),
        activation_quantizer=q.AbsMaxQuantizer(), block_size=None))
    _same_weights(ours.weights, theirs.weights)
    x = rand(4, 5, seed=11) * 2
    np.testing.assert_allclose(_np(ours(dn.tensor(x))), real.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-6)
    assert json.loads(json.dumps(ours.get_config()["quantization_config"])) == \
        json.loads(json.dumps(theirs.get_config()["quantization_config"]))


@pytest.mark.parametrize("block_size", [None, 2, 128])
def test_embedding_int4_matches_keras(block_size):
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Embedding(10, 5), lambda L: L.Embedding(10, 5), None)
    _quantize_both(real, ours, theirs, block_size)
    _same_weights(ours.weights, theirs.weights)
    assert ours.dtype_policy.name == theirs.dtype_policy.name
    np.testing.assert_array_equal(_np(ours.embeddings),
                                  real.ops.convert_to_numpy(theirs.embeddings))
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))),
                               real.ops.convert_to_numpy(theirs(INDICES)), rtol=1e-6)
    for layer in (ours, theirs):
        layer.enable_lora(2)
    values = [real.ops.convert_to_numpy(w) for w in theirs.weights]
    values[1] = rand(2, 5, seed=8)  # B, so the update is not zero
    ours.set_weights(values)
    theirs.set_weights(values)
    _same_weights(ours.weights, theirs.weights)
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))),
                               real.ops.convert_to_numpy(theirs(INDICES)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("block_size", [None, -1, 3])
def test_config_matches_keras(block_size):
    real = real_keras()
    ours, theirs = _pair(real, lambda L: L.Dense(4, name="d"), lambda L: L.Dense(4, name="d"),
                         (None, 7))
    _quantize_both(real, ours, theirs, block_size)
    mine, ref = ours.get_config(), theirs.get_config()
    assert mine["dtype"] == ref["dtype"]
    assert mine["quantization_config"] == json.loads(json.dumps(ref["quantization_config"]))
    # each side rebuilds the other's quantized config into the same weights
    back = real.layers.Dense.from_config(mine)
    back.build((None, 7))
    twin = layers.Dense.from_config(ref)
    twin.build((None, 7))
    assert [tuple(w.shape) for w in twin.weights] == [tuple(w.shape) for w in back.weights] == \
        [tuple(w.shape) for w in theirs.weights]
    assert twin.dtype_policy.name == back.dtype_policy.name == theirs.dtype_policy.name


def test_errors_match_keras():
    real = real_keras()
    q = real.quantizers
    cases = [(dict(block_size=0), {}), (dict(block_size=-5), {}),
             (dict(activation_quantizer=AbsMaxQuantizer()),
              dict(activation_quantizer=q.AbsMaxQuantizer())),
             (dict(weight_quantizer=AbsMaxQuantizer(value_range=(-8, 7)), block_size=16),
              dict(weight_quantizer=q.AbsMaxQuantizer(value_range=(-8, 7)), block_size=16)),
             (dict(weight_quantizer=AbsMaxQuantizer(value_range=(-7, 7)), block_size=None),
              dict(weight_quantizer=q.AbsMaxQuantizer(value_range=(-7, 7)), block_size=None))]
    for ours_kwargs, their_kwargs in cases:
        their_kwargs = {**ours_kwargs, **their_kwargs}
        with pytest.raises(ValueError) as theirs:
            q.Int4QuantizationConfig(**their_kwargs)
        with pytest.raises(ValueError) as mine:
            Int4QuantizationConfig(**ours_kwargs)
        assert str(mine.value) == str(theirs.value)


def _embedding_dense(L, module):
    return module.Sequential([module.Input((4,)), L.Embedding(10, 5), L.Flatten(),
                              L.Dense(3, activation="tanh")])


@pytest.mark.parametrize("block_size", [None, 3])
def test_keras_files_load_both_ways(tmp_path, block_size):
    pytest.importorskip("h5py")
    real = real_keras()
    theirs = _embedding_dense(real.layers, real)
    theirs.set_weights([rand(*w.shape, seed=i) for i, w in enumerate(theirs.get_weights())])
    theirs.quantize("int4", config=real.quantizers.Int4QuantizationConfig(block_size=block_size))
    want = real.ops.convert_to_numpy(theirs(INDICES))
    theirs.save(str(tmp_path / "theirs.keras"))
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    ours = keras.models.load_model(tmp_path / "theirs.keras")
    _same_weights(ours.weights, theirs.weights)
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))), want, rtol=1e-5)
    fresh = _embedding_dense(layers, keras)
    fresh.quantize("int4", config=Int4QuantizationConfig(block_size=block_size))
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    _same_weights(fresh.weights, theirs.weights)
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    back = real.models.load_model(str(tmp_path / "ours.keras"))
    assert [layer.dtype_policy.name for layer in back.layers] == \
        [layer.dtype_policy.name for layer in theirs.layers]
    np.testing.assert_allclose(real.ops.convert_to_numpy(back(INDICES)), want, rtol=1e-5)
    twin = _embedding_dense(real.layers, real)
    twin.quantize("int4", config=real.quantizers.Int4QuantizationConfig(block_size=block_size))
    twin.load_weights(str(tmp_path / "ours.weights.h5"))
    _same_weights(fresh.weights, twin.weights)


@pytest.mark.parametrize("block_size", BLOCKS)
def test_lora_merged_save_matches_keras(tmp_path, block_size):
    pytest.importorskip("h5py")
    import h5py
    real = real_keras()
    model_o = keras.Sequential([keras.Input((4,)), layers.Embedding(10, 7), layers.Flatten(),
                                layers.Dense(5)])
    model_t = real.Sequential([real.Input((4,)), real.layers.Embedding(10, 7),
                               real.layers.Flatten(), real.layers.Dense(5)])
    values = [rand(*w.shape, seed=i) for i, w in enumerate(model_t.get_weights())]
    model_o.set_weights(values)
    model_t.set_weights(values)
    model_o.quantize("int4", config=Int4QuantizationConfig(block_size=block_size))
    model_t.quantize("int4", config=real.quantizers.Int4QuantizationConfig(block_size=block_size))
    for layer in model_o.layers[::2] + model_t.layers[::2]:
        layer.enable_lora(2)
    values = [real.ops.convert_to_numpy(w) for w in model_t.weights]
    for i, w in enumerate(model_t.weights):
        if "lora" in w.path:
            values[i] = rand(*w.shape, seed=20 + i) * 0.3
    model_o.set_weights(values)
    model_t.set_weights(values)
    _same_weights(model_o.weights, model_t.weights)
    np.testing.assert_allclose(_np(model_o(dn.tensor(INDICES))),
                               real.ops.convert_to_numpy(model_t(INDICES)), rtol=1e-5, atol=1e-5)
    model_o.save_weights(tmp_path / "o.weights.h5")
    model_t.save_weights(str(tmp_path / "t.weights.h5"))
    with h5py.File(tmp_path / "o.weights.h5") as mine, h5py.File(tmp_path / "t.weights.h5") as ref:
        for group in ("layers/embedding/vars", "layers/dense/vars"):
            assert sorted(mine[group]) == sorted(ref[group])
            keys = sorted(ref[group], key=int)
            _same_weights([mine[group][k][()] for k in keys], [ref[group][k][()] for k in keys])
    # loading the merged file into a LoRA model sets the packed weights and zeroes A, B
    model_o.load_weights(tmp_path / "t.weights.h5")
    model_t.load_weights(str(tmp_path / "t.weights.h5"))
    _same_weights(model_o.weights, model_t.weights)
    np.testing.assert_allclose(_np(model_o(dn.tensor(INDICES))),
                               real.ops.convert_to_numpy(model_t(INDICES)), rtol=1e-5, atol=1e-6)


def test_training_lora_on_int4_matches_keras():
    """fit() on a sub-channel int4 model with LoRA: the int4 weights stay, the bias and A, B
    learn as Keras's do."""
    real = real_keras()

    def make(L, module):
        return module.Sequential([module.Input((5,)), L.Dense(8, activation="relu"), L.Dense(3)])
    ours, theirs = make(layers, keras), make(real.layers, real)
    share_random_weights(ours, theirs)
    ours.quantize("int4", config=Int4QuantizationConfig(block_size=2))
    theirs.quantize("int4", config=real.quantizers.Int4QuantizationConfig(block_size=2))
    a = rand(8, 2, seed=21) * 0.1
    for model in (ours, theirs):
        model.layers[1].enable_lora(2)
        weights = model.layers[1].get_weights()
        model.layers[1].set_weights([weights[0], a] + weights[2:])
    fit_matches_keras(real, ours, theirs, epochs=2)
