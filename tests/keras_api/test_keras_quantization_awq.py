"""Keras 3's AWQ quantization of keras_api Dense (`AWQConfig`, `layer.quantize("awq", config)`,
`model.quantize("awq", config)` with calibration, the "awq/4/<group>_from_float32" policy): the
scale search, the stored weights, outputs, gradients, weight lists, config, weights files and
`.keras` files, errors - checked against real Keras 3.15 (torch backend) where it is installed,
and alone where the contract can be stated without it.

Keras 3.15.1's calibration patches each Dense's `call`, but a quantized Keras layer runs
`quantized_call`, so its AWQ sees no activations (every awq_scale comes out 1). The model-level
comparisons below give Keras the capture it means to do (`_keras_with_capture`) and check that
both frameworks then compute the same thing."""
import json
from contextlib import contextmanager

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers
from dualnet.keras_api.layers.quantization_awq import (AWQ, AWQConfig, awq_quantize_matrix,
                                                        awq_search_optimal_scales)
from dualnet.keras_api.layers.quantization_calibration import (compute_quantization_parameters,
                                                               dequantize_with_zero_point,
                                                               quantize_with_zero_point)
from dualnet.keras_api.layers.quantization_ops import unpack_int4
from _keras_layer_parity import rand, real_keras, to_np as _np

pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize`",
                                        "ignore::DeprecationWarning")

VOCAB, SEQ = 40, 6
TOKENS = np.random.default_rng(3).integers(0, VOCAB, 150).astype(np.int32)
INDICES = np.random.default_rng(4).integers(0, VOCAB, (2, SEQ)).astype(np.int32)


class _Tokenizer:
    """Never called: the datasets here are token arrays already."""

    def tokenize(self, text):
        raise AssertionError("token arrays need no tokenizer")




def _keras_np(real, value):
    return np.asarray(real.ops.convert_to_numpy(value))


def _config(module_config, structure=None, group_size=4, **kwargs):
    return module_config([TOKENS], _Tokenizer(), num_samples=5, sequence_length=SEQ,
                         group_size=group_size, num_grid_points=8,
                         quantization_layer_structure=structure, **kwargs)


def _model(L, K):
    """Embedding (pre-block) -> two Sequential blocks of Dense "blk*" -> Dense "head"; the
    structure the calibration walks."""
    emb = L.Embedding(VOCAB, 8)
    blocks = [K.Sequential([L.Dense(12, activation="relu", name="blk_a"),
                            L.Dense(8, name="blk_b")]),
              K.Sequential([L.Dense(10, activation="relu", name="blk_c"),
                            L.Dense(8, use_bias=False, name="blk_d")])]
    model = K.Sequential([K.Input((SEQ,), dtype="int32"), emb] + blocks + [L.Dense(3, name="head")])
    return model, {"pre_block_layers": [emb], "sequential_blocks": blocks}


def _set_same_weights(model, seed=0):
    values = [rand(*tuple(w.shape), seed=seed + i) for i, w in enumerate(model.weights)]
    model.set_weights(values)
    return values


def _calibrated(group_size=4, filters="blk"):
    model, structure = _model(layers, keras)
    _set_same_weights(model)
    config = _config(AWQConfig, structure, group_size)
    model.quantize("awq", config=config, filters=filters)
    config.quantization_layer_structure = None  # layers in a config cannot be saved
    return model


def _quantize_blocks(model, config):
    """Each "blk" Dense quantized alone, uncalibrated (model.quantize would calibrate)."""
    for block in model.layers[1:3]:
        for layer in block.layers:
            layer.quantize("awq", config=config)


def _block_inputs(model):
    """The float inputs (all samples, flattened) the first block's first Dense sees."""
    from dualnet.keras_api.layers.quantization_calibration import get_dataloader
    windows = get_dataloader(_Tokenizer(), SEQ, [TOKENS], num_samples=5)
    return np.concatenate([_np(model.layers[0](dn.tensor(w))).reshape(-1, 8) for w in windows])


# ----------------------------------------------------------------------------- without Keras


def test_config_validation_and_serialization():
    config = AWQConfig(["text"], _Tokenizer(), num_samples=3, sequence_length=7, group_size=-1,
                       num_grid_points=5)
    assert config.mode == "awq" and config.dtype_policy_string() == "awq/4/-1"
    saved = config.get_config()
    assert saved == {"dataset": None, "tokenizer": None, "weight_bits": 4, "num_samples": 3,
                     "sequence_length": 7, "group_size": -1, "num_grid_points": 5,
                     "quantization_layer_structure": None}
    assert AWQConfig.from_config(saved).get_config() == saved
    for kwargs, message in (({"weight_bits": 8}, "only supports 4-bit.*weight_bits=8"),
                            ({"num_samples": 0}, "num_samples must be a positive"),
                            ({"sequence_length": -2}, "sequence_length must be a positive"),
                            ({"group_size": 0}, "Invalid group_size.*got 0"),
                            ({"group_size": -3}, "Invalid group_size.*got -3"),
                            ({"num_grid_points": 0}, "num_grid_points must be a positive")):
        with pytest.raises(ValueError, match=message):
            AWQConfig(None, None, **kwargs)


def test_quantize_adds_empty_weights_and_keeps_the_float_kernel():
    dense = layers.Dense(3, name="q")
    dense.build((None, 5))
    kernel, bias = rand(5, 3), rand(3, seed=1)
    dense.set_weights([kernel, bias])
    x = rand(2, 5, seed=2)
    want = x @ kernel + bias
    dense.quantize("awq", config=AWQConfig(None, None, group_size=2))
    assert dense.quantization_mode == "awq" and not dense.is_awq_calibrated
    assert dense.dtype_policy.name == "awq/4/2_from_float32"
    assert [(w.dtype.name, tuple(w.shape)) for w in dense.weights] == [
        ("float32", (5, 3)), ("float32", (3,)), ("uint8", (2, 5)), ("float32", (3, 3)),
        ("uint8", (3, 3)), ("float32", (5,)), ("float32", (5,))]
    assert [tuple(w.shape) for w in dense.trainable_weights] == [(5, 3), (3,)]
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), want, rtol=1e-6)  # float until calibrated
    np.testing.assert_array_equal(_np(dense.kernel), kernel)
    # per channel: one scale per unit
    per_channel = layers.Dense(3)
    per_channel.build((None, 5))
    per_channel.quantize("awq", config=AWQConfig(None, None, group_size=-1))
    assert [tuple(w.shape) for w in per_channel.weights[2:]] == [(2, 5), (3, 1), (3, 1), (5,),
                                                                (5,)]


def test_scale_search_picks_the_best_grid_point():
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((6, 8)).astype(np.float32)
    # equal activations: every grid point gives scales of 1
    np.testing.assert_array_equal(awq_search_optimal_scales(weights, np.full(8, 3.0, np.float32)),
                                  np.ones(8, np.float32))
    magnitudes = np.abs(rng.standard_normal(8)).astype(np.float32) * 4
    magnitudes[0] = 0.0  # a silent channel counts as magnitude 1

    def loss(scales):
        scale, zero, maxq = compute_quantization_parameters(
            weights * scales, bits=4, per_channel=True, group_size=-1)
        rebuilt = dequantize_with_zero_point(quantize_with_zero_point(
            weights * scales, scale, zero, maxq), scale, zero) / scales
        x_max = np.where(magnitudes < 1e-8, 1, magnitudes)
        return np.mean((weights - rebuilt) ** 2 * x_max ** 2)

    chosen = awq_search_optimal_scales(weights, magnitudes, num_grid_points=10)
    assert chosen.dtype == np.float32 and chosen.shape == (8,)
    candidates = []
    for step in range(11):
        raw = np.maximum(np.where(magnitudes < 1e-8, 1, magnitudes) ** (step / 10), 1e-4)
        candidates.append((raw / np.sqrt(raw.max() * raw.min())).astype(np.float32))
    assert loss(chosen) <= min(loss(c) for c in candidates) * (1 + 1e-5)
    assert min(np.abs(chosen - c).max() for c in candidates) < 1e-5
    levels, scale, zero, awq_scales, g_idx = awq_quantize_matrix(weights, magnitudes,
                                                                 num_grid_points=10, group_size=3)
    assert levels.shape == (6, 8) and scale.shape == zero.shape == (6, 3)
    assert zero.dtype == np.uint8 and levels.min() >= 0 and levels.max() <= 15
    np.testing.assert_array_equal(g_idx, np.arange(8) // 3)
    assert g_idx.dtype == np.float32


def test_calibration_stores_the_awq_formula():
    model = _calibrated(group_size=4)
    blk_a = model.layers[1].layers[0]
    assert blk_a.is_awq_calibrated and blk_a.dtype_policy.name == "awq/4/4_from_float32"
    assert [(w.dtype.name, tuple(w.shape)) for w in blk_a.weights] == [
        ("float32", (12,)), ("uint8", (6, 8)), ("float32", (12, 2)), ("uint8", (12, 2)),
        ("float32", (8,)), ("float32", (8,))]
    head = model.layers[-1]
    assert head.quantization_mode is None  # filtered out
    bias, packed, scale, zero, awq_scales, g_idx = blk_a.get_weights()
    np.testing.assert_array_equal(g_idx, np.arange(8) // 4)
    # the scales come from the block's inputs, the largest |x| of each channel
    magnitudes = np.abs(_block_inputs(model)).max(axis=0)
    kernel = rand(8, 12, seed=1)  # what _set_same_weights gave blk_a
    np.testing.assert_allclose(
        awq_scales, awq_search_optimal_scales(kernel.T, magnitudes, num_grid_points=8,
                                              group_size=4), rtol=1e-6)
    levels = _np(unpack_int4(packed, 12, axis=0, dtype="uint8"))
    np.testing.assert_array_equal(_np(blk_a.kernel), levels)  # Keras's `kernel` under AWQ
    groups = g_idx.astype(int)
    zero = zero.astype(np.float32)
    dequantized = ((levels - zero[:, groups]) * scale[:, groups]).T / awq_scales[:, None]
    # the activation-weighted error is no worse than plain 4-bit rounding's (all scales 1)
    plain, p_scale, p_zero, ones, _ = awq_quantize_matrix(kernel.T, np.ones(8, np.float32),
                                                          num_grid_points=8, group_size=4)
    np.testing.assert_array_equal(ones, np.ones(8, np.float32))
    plain = ((plain - p_zero[:, groups].astype(np.float32)) * p_scale[:, groups]).T
    weighted = magnitudes[:, None] ** 2
    assert np.mean((dequantized - kernel) ** 2 * weighted) <= \
        np.mean((plain - kernel) ** 2 * weighted) * (1 + 1e-5)
    x = rand(3, 8, seed=9)
    np.testing.assert_allclose(_np(blk_a(dn.tensor(x))),
                               np.maximum(x @ dequantized + bias, 0), rtol=1e-5, atol=1e-6)
    # the inputs' gradient goes through the dequantized kernel; the AWQ weights get none
    xt = dn.tensor(x, requires_grad=True)
    blk_a(xt).sum().backward()
    mask = (x @ dequantized + bias > 0).astype(np.float32)
    np.testing.assert_allclose(_np(xt.grad), mask @ dequantized.T, rtol=1e-5, atol=1e-6)
    assert [tuple(w.shape) for w in blk_a.trainable_weights] == [(12,)]


def test_save_weights_and_model_round_trip(tmp_path):
    pytest.importorskip("h5py")
    model = _calibrated(group_size=-1)
    want = _np(model(dn.tensor(INDICES)))
    model.save_weights(tmp_path / "awq.weights.h5")
    twin, _ = _model(layers, keras)
    _quantize_blocks(twin, _config(AWQConfig, group_size=-1))
    assert not twin.layers[1].layers[0].is_awq_calibrated
    twin.load_weights(tmp_path / "awq.weights.h5")
    assert twin.layers[1].layers[0].is_awq_calibrated  # a saved AWQ layer is calibrated
    np.testing.assert_allclose(_np(twin(dn.tensor(INDICES))), want, rtol=1e-6)
    model.save(tmp_path / "awq.keras")
    loaded = keras.models.load_model(tmp_path / "awq.keras")
    blk_d = loaded.layers[2].layers[1]
    assert blk_d.dtype_policy.name == "awq/4/-1_from_float32" and blk_d.is_awq_calibrated
    for mine, ref in zip(loaded.get_weights(), model.get_weights()):
        assert mine.dtype == ref.dtype
        np.testing.assert_array_equal(mine, ref)
    np.testing.assert_allclose(_np(loaded(dn.tensor(INDICES))), want, rtol=1e-6)


def test_errors():
    dense = layers.Dense(3, name="plain")
    dense.build((None, 4))
    with pytest.raises(ValueError, match="you must pass an `AWQConfig`"):
        dense.quantize("awq")
    with pytest.raises(ValueError, match="Contradictory.*mode='int8'.*config.mode='awq'"):
        dense.quantize("int8", config=AWQConfig(None, None))
    emb = layers.Embedding(5, 2)
    emb.build()
    with pytest.raises(NotImplementedError, match=r"\('int8', 'int4'\).*quantization_mode=awq"):
        emb.quantize("awq", config=AWQConfig(None, None))
    with pytest.raises(TypeError, match="Unsupported layer type for AWQ"):
        AWQ(emb, AWQConfig(None, None))
    # calibration needs a structure, then data
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="mode='awq'.*quantization structure"):
        model.quantize("awq", config=AWQConfig(["a"], _Tokenizer()))
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    structure = {"pre_block_layers": [], "sequential_blocks": [model.layers[0]]}
    with pytest.raises(ValueError, match="requires a dataset and tokenizer"):
        model.quantize("awq", config=AWQConfig(None, None, quantization_layer_structure=structure))
    # a layer built from its policy has no float kernel, only the empty AWQ weights
    rebuilt = layers.Dense(3, dtype="awq/4/-1_from_float32", name="empty")
    rebuilt.build((None, 4))
    assert [w.dtype.name for w in rebuilt.weights] == ["float32", "uint8", "float32", "uint8",
                                                       "float32", "float32"]
    rebuilt.set_weights([rand(3)] + rebuilt.get_weights()[1:])
    # (Keras's raises here; dualnet runs it on its all-zero levels: it infers shapes by running)
    np.testing.assert_array_equal(_np(rebuilt(dn.ones(2, 4))), np.tile(rand(3), (2, 1)))


# ----------------------------------------------------------------------------- against Keras


@contextmanager
def _keras_with_capture(real):
    """Keras's AWQ calibration, with its per-layer capture hooked on `quantized_call` (what a
    quantized Keras layer runs) instead of `call`."""
    from keras.src.quantizers import awq_core

    @contextmanager
    def capture(layers_map, objects):
        for name, layer in layers_map.items():
            def hooked(*args, _name=name, _run=layer.quantized_call, **kwargs):
                inputs = args[0] if args else kwargs["inputs"]
                objects[_name].update_activation_magnitudes(
                    real.ops.reshape(inputs, (-1, objects[_name].rows)))
                return _run(*args, **kwargs)
            layer.quantized_call = hooked
        try:
            yield
        finally:
            for layer in layers_map.values():
                del layer.quantized_call

    original = awq_core.stream_activations
    awq_core.stream_activations = capture
    try:
        yield
    finally:
        awq_core.stream_activations = original


@pytest.mark.parametrize("group_size", [-1, 4, 5])
def test_scale_search_and_matrix_match_keras(group_size):
    real_keras()
    from keras.src.quantizers import awq as keras_awq
    rng = np.random.default_rng(group_size + 10)
    weights = rng.standard_normal((10, 14)).astype(np.float32)
    magnitudes = np.abs(rng.standard_normal(14)).astype(np.float32) * 3
    magnitudes[:2] = 1e-10
    np.testing.assert_allclose(
        awq_search_optimal_scales(weights, magnitudes, num_grid_points=10,
                                  group_size=group_size),
        np.asarray(keras_awq.awq_search_optimal_scales(weights, magnitudes, num_grid_points=10,
                                                       group_size=group_size)), rtol=1e-5)
    ours = awq_quantize_matrix(weights, magnitudes, num_grid_points=10, group_size=group_size)
    theirs = keras_awq.awq_quantize_matrix(weights, magnitudes, num_grid_points=10,
                                           group_size=group_size)
    for mine, ref in zip(ours, theirs):
        ref = np.asarray(ref)
        assert mine.dtype == ref.dtype and mine.shape == ref.shape
        np.testing.assert_allclose(mine, ref, rtol=1e-5)


def test_layer_weights_and_config_match_keras():
    real = real_keras()
    ours, theirs = layers.Dense(4, name="d"), real.layers.Dense(4, name="d")
    for layer, config in ((ours, AWQConfig(None, None, group_size=3)),
                          (theirs, real.quantizers.AWQConfig(None, None, group_size=3))):
        layer.build((None, 7))
        layer.quantize("awq", config=config)
    assert [(w.dtype.name, tuple(w.shape)) for w in ours.weights] == \
        [(w.dtype, tuple(w.shape)) for w in theirs.weights]
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 2
    assert ours.dtype_policy.name == theirs.dtype_policy.name
    mine, ref = ours.get_config(), theirs.get_config()
    assert mine["dtype"] == ref["dtype"]
    assert mine["quantization_config"] == json.loads(json.dumps(ref["quantization_config"]))
    back = real.layers.Dense.from_config(mine)
    back.build((None, 7))
    clone = layers.Dense.from_config(ref)
    clone.build((None, 7))
    assert [(w.dtype.name, tuple(w.shape)) for w in clone.weights] == \
        [(w.dtype, tuple(w.shape)) for w in back.weights]
    assert clone.get_config() == mine


def _calibrate_both(real, group_size):
    ours, ours_structure = _model(layers, keras)
    theirs, their_structure = _model(real.layers, real)
    theirs.set_weights(_set_same_weights(ours))
    ours.quantize("awq", config=_config(AWQConfig, ours_structure, group_size), filters="blk")
    their_config = _config(real.quantizers.AWQConfig, their_structure, group_size)
    with _keras_with_capture(real):
        theirs.quantize("awq", config=their_config, filters="blk")
    their_config.quantization_layer_structure = None
    ours.layers[1].layers[0].quantization_config.quantization_layer_structure = None
    return ours, theirs


def _close_weights(ours, theirs, real):
    ours = [_np(w) for w in ours]
    theirs = [_keras_np(real, w) for w in theirs]
    assert [(w.dtype, w.shape) for w in ours] == [(w.dtype, w.shape) for w in theirs]
    for mine, ref in zip(ours, theirs):
        if ref.dtype == np.uint8:
            assert (mine == ref).mean() >= 0.99
        else:
            np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("group_size", [-1, 4])
def test_calibrated_model_matches_keras(group_size):
    real = real_keras()
    ours, theirs = _calibrate_both(real, group_size)
    _close_weights(ours.weights, theirs.weights, real)
    want = _keras_np(real, theirs(INDICES))
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))), want, rtol=1e-4,
                               atol=1e-4 * np.abs(want).max())
    # the input gradient of a calibrated layer
    import torch
    mine, ref = ours.layers[1].layers[0], theirs.layers[1].layers[0]
    x, grad_out = rand(3, 8, seed=2), rand(3, 12, seed=3)
    xt = dn.tensor(x, requires_grad=True)
    (mine(xt) * dn.tensor(grad_out)).sum().backward()
    xk = torch.tensor(x, requires_grad=True)
    (ref(xk) * torch.tensor(grad_out)).sum().backward()
    np.testing.assert_allclose(_np(xt.grad), xk.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(_np(mine.kernel), _keras_np(real, ref.kernel))


def test_keras_files_load_both_ways(tmp_path):
    """Our files hold Keras's awq spec (bias, quantized_kernel, kernel_scale, kernel_zero,
    awq_scales, g_idx), which Keras's loader reads. Keras 3.15.1's saver leaves kernel_zero
    out, so neither Keras nor dualnet can load the files it writes: we refuse them, naming
    the count."""
    pytest.importorskip("h5py")
    import h5py
    real = real_keras()
    ours, theirs = _calibrate_both(real, 4)
    mine = _np(ours(dn.tensor(INDICES)))
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    back = real.models.load_model(str(tmp_path / "ours.keras"))
    assert [layer.dtype_policy.name for layer in back.layers[1].layers] == \
        ["awq/4/4_from_float32"] * 2
    assert back.layers[1].layers[0].is_awq_calibrated
    _close_weights(ours.weights, back.weights, real)
    np.testing.assert_allclose(_keras_np(real, back(INDICES)), mine, rtol=1e-5,
                               atol=1e-5 * np.abs(mine).max())
    # (Keras counts a layer's float kernel too: its twin is built from the config, as ours)
    twin = real.Sequential.from_config(back.get_config())
    twin.load_weights(str(tmp_path / "ours.weights.h5"))
    np.testing.assert_allclose(_keras_np(real, twin(INDICES)), mine, rtol=1e-5,
                               atol=1e-5 * np.abs(mine).max())
    # Keras's own file
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    with h5py.File(tmp_path / "theirs.weights.h5") as handle:
        saved = len(handle["layers/sequential/layers/dense/vars"])
    fresh, _ = _model(layers, keras)
    _quantize_blocks(fresh, _config(AWQConfig))
    if saved == 6:  # a Keras that saves the zero points
        fresh.load_weights(tmp_path / "theirs.weights.h5")
        np.testing.assert_allclose(_np(fresh(dn.tensor(INDICES))), mine, rtol=1e-4,
                                   atol=1e-4 * np.abs(mine).max())
    else:
        assert saved == 5
        with pytest.raises(ValueError, match="'blk_a' expects 6 variables.*holds 5"):
            fresh.load_weights(tmp_path / "theirs.weights.h5")


def test_lora_before_calibration_matches_keras():
    """LoRA enabled on the float layer: the uncalibrated AWQ call ignores it (Keras's), and
    calibration quantizes the kernel with the update folded in (what Keras's `kernel` reads)."""
    real = real_keras()
    ours, ours_structure = _model(layers, keras)
    theirs, their_structure = _model(real.layers, real)
    theirs.set_weights(_set_same_weights(ours))
    mine, ref = ours.layers[1].layers[0], theirs.layers[1].layers[0]
    for layer in (mine, ref):
        layer.enable_lora(2)
    values = [_keras_np(real, w) for w in ref.weights]
    values[3] = rand(2, 12, seed=7) * 0.1  # B, so the update is not zero
    mine.set_weights(values)
    ref.set_weights(values)
    ours.quantize("awq", config=_config(AWQConfig, ours_structure), filters="blk")
    with _keras_with_capture(real):
        theirs.quantize("awq", config=_config(real.quantizers.AWQConfig, their_structure),
                        filters="blk")
    _close_weights(mine.weights, ref.weights, real)
    assert len(mine.trainable_weights) == len(ref.trainable_weights) == 3
    want = _keras_np(real, theirs(INDICES))
    np.testing.assert_allclose(_np(ours(dn.tensor(INDICES))), want, rtol=1e-4,
                               atol=1e-4 * np.abs(want).max())
