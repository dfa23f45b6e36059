"""Keras 3's GPTQ quantization of keras_api Dense (`GPTQConfig`, `layer.quantize("gptq")`,
`model.quantize("gptq", config=...)` with its block-by-block calibration, the
"gptq/<bits>/<group>_from_float32" policy) and the calibration helpers it shares with AWQ:
weights, outputs, config, weights files, errors - checked against real Keras 3.15 (torch
backend) where it is installed, and alone where the contract can be stated without it."""
import functools
import json
from contextlib import contextmanager

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.keras_api import layers
from dualnet.keras_api.layers import quantization_calibration as calib
from dualnet.keras_api.layers import quantization_gptq as gptq
from dualnet.keras_api.layers.quantization_gptq import GPTQConfig
from dualnet.keras_api.layers.quantization_ops import unpack_int4
from _keras_layer_parity import rand, real_keras, to_np as _np

pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize`",
                                        "ignore:.*Invalid quantization mode",
                                        "ignore::DeprecationWarning")

TOKENS = [np.random.default_rng(1).integers(0, 20, size=300)]
SETTINGS = dict(num_samples=8, sequence_length=7)




def _model(L, Input, Model, Sequential):
    """Embedding -> two blocks of Dense layers (the structure GPTQ walks)."""
    emb = L.Embedding(20, 12)
    blocks = [Sequential([L.Dense(16, activation="relu"), L.Dense(12)]),
              Sequential([L.Dense(10)])]
    inputs = Input((None,), dtype="int32")
    out = inputs
    for layer in [emb] + blocks:
        out = layer(out)
    return Model(inputs, out), {"pre_block_layers": [emb], "sequential_blocks": blocks}


def _ours(weights=None):
    model, structure = _model(layers, keras.Input, keras.Model, keras.Sequential)
    if weights is not None:
        model.set_weights(weights)
    return model, structure


def _levels(dense):
    """The calibrated layer's (out, in) levels."""
    stored = _np(dense.quantized_kernel)
    if dense.dtype_policy.weight_bits == 4:
        return _np(unpack_int4(stored, dense.units, axis=0, dtype="uint8"))
    return stored


def _dense_layers(structure):
    return [layer for block in structure["sequential_blocks"] for layer in block.layers]


# ----------------------------------------------------------------------------- without Keras

def test_config_validation_and_round_trip():
    config = GPTQConfig([1, 2], object(), weight_bits=3, group_size=-1, symmetric=True,
                        activation_order=True, hessian_damping=0.5)
    assert config.mode == "gptq" and config.dtype_policy_string() == "gptq/3/-1"
    saved = config.get_config()
    assert saved["dataset"] is None and saved["tokenizer"] is None  # never serialized
    again = GPTQConfig.from_config(saved)
    assert again.get_config() == saved
    for kwargs, message in [({"weight_bits": 5}, "Unsupported weight_bits 5"),
                            ({"num_samples": 0}, "num_samples must be a positive"),
                            ({"sequence_length": -1}, "sequence_length must be a positive"),
                            ({"hessian_damping": 1.5}, "hessian_damping must be between"),
                            ({"group_size": 0}, "Invalid group_size"),
                            ({"group_size": -2}, "Invalid group_size")]:
        with pytest.raises(ValueError, match=message):
            GPTQConfig(None, None, **kwargs)


def test_quantize_needs_a_config_and_a_dense():
    dense = layers.Dense(3)
    dense.build((None, 4))
    with pytest.raises(ValueError, match="For GPTQ, you must pass a `GPTQConfig`"):
        dense.quantize("gptq")
    emb = layers.Embedding(5, 3)
    emb.build((None, 2))
    with pytest.raises(NotImplementedError, match="Invalid quantization mode"):
        emb.quantize("gptq", config=GPTQConfig(None, None))


def test_layer_quantize_adds_uncalibrated_weights():
    dense = layers.Dense(5, name="g")
    dense.build((None, 6))
    kernel, bias = rand(6, 5), rand(5, seed=1)
    dense.set_weights([kernel, bias])
    dense.quantize("gptq", config=GPTQConfig(None, None, weight_bits=4, group_size=4))
    assert dense.dtype_policy.name == "gptq/4/4_from_float32"
    assert not dense.is_gptq_calibrated
    # Keras's order: trainable (float kernel, bias), then the GPTQ weights; 4 bits pack the
    # output axis two per byte
    assert [(w.dtype.name, tuple(w.shape)) for w in dense.weights] == [
        ("float32", (6, 5)), ("float32", (5,)), ("uint8", (3, 6)), ("float32", (5, 2)),
        ("uint8", (5, 2)), ("float32", (6,))]
    assert len(dense.trainable_weights) == 2
    x = rand(3, 6, seed=2)
    np.testing.assert_allclose(_np(dense(dn.tensor(x))), x @ kernel + bias, rtol=1e-6)
    np.testing.assert_array_equal(_np(dense.kernel), kernel)  # the float kernel until calibrated
    with pytest.raises(NotImplementedError, match="lora is not currently supported with GPTQ"):
        dense.enable_lora(2)


def test_model_quantize_errors():
    model, structure = _ours()
    with pytest.raises(ValueError, match="a valid quantization structure must be provided"):
        model.quantize("gptq", config=GPTQConfig(TOKENS, object()))
    model, structure = _ours()
    with pytest.raises(ValueError, match="requires a dataset and a tokenizer"):
        model.quantize("gptq", config=GPTQConfig(
            TOKENS, None, quantization_layer_structure=structure))
    model, structure = _ours()
    with pytest.raises(ValueError, match="No sequential blocks found"):
        model.quantize("gptq", config=GPTQConfig(
            TOKENS, object(), quantization_layer_structure={"pre_block_layers": []}))


def test_calibration_writes_the_gptq_weights():
    model, structure = _ours()
    config = GPTQConfig(TOKENS, object(), weight_bits=8, group_size=4,
                        quantization_layer_structure=structure, **SETTINGS)
    model.quantize("gptq", config=config)
    dense = structure["sequential_blocks"][0].layers[0]
    assert dense.is_gptq_calibrated and dense.dtype_policy.name == "gptq/8/4_from_float32"
    # the float kernel is gone; `kernel` reads the (out, in) levels, as Keras's property
    assert [(w.dtype.name, tuple(w.shape)) for w in dense.weights] == [
        ("float32", (16,)), ("uint8", (16, 12)), ("float32", (16, 3)), ("uint8", (16, 3)),
        ("float32", (12,))]
    np.testing.assert_array_equal(_np(dense.kernel), _levels(dense))
    # Keras's g_idx: input / group_size, a fraction whose integer part is the group
    np.testing.assert_array_equal(_np(dense.g_idx), np.arange(12, dtype=np.float32) / 4)
    scale, zero = _np(dense.kernel_scale), _np(dense.kernel_zero).astype(np.float32)
    groups = np.arange(12) // 4
    dequantized = ((_levels(dense) - zero[:, groups]) * scale[:, groups]).T
    x_in = rand(2, 12, seed=3)
    np.testing.assert_allclose(_np(dense(dn.tensor(x_in))),
                               np.maximum(x_in @ dequantized + _np(dense.bias), 0), rtol=1e-5,
                               atol=1e-6)


def test_calibration_uses_the_hessian_of_the_inputs():
    """GPTQ's error feedback beats plain rounding on the calibration inputs' outputs."""
    model, structure = _ours()
    dense = structure["sequential_blocks"][0].layers[0]
    kernel = _np(dense.kernel).copy()
    model.quantize("gptq", config=GPTQConfig(
        TOKENS, object(), weight_bits=4, group_size=-1,
        quantization_layer_structure=structure, **SETTINGS))
    scale, zero = _np(dense.kernel_scale), _np(dense.kernel_zero).astype(np.float32)
    rtn_levels = np.clip(np.round(kernel.T / scale + zero), 0, 15)
    rtn = ((rtn_levels - zero) * scale).T
    ours = ((_levels(dense) - zero) * scale).T
    inputs = calib.get_dataloader(None, 7, TOKENS, num_samples=8)
    feats = _np(structure["pre_block_layers"][0](dn.from_numpy(inputs[:, 0]))).reshape(-1, 12)
    assert np.linalg.norm(feats @ (ours - kernel)) < np.linalg.norm(feats @ (rtn - kernel))


def test_strings_with_a_tokenizer_and_activation_order():
    class Tokenizer:
        def tokenize(self, text):
            return np.array([ord(ch) % 20 for ch in text])

    model, structure = _ours()
    model.quantize("gptq", config=GPTQConfig(
        ["the quick brown fox", "jumps over the lazy dog"], Tokenizer(), weight_bits=2,
        group_size=8, activation_order=True, symmetric=True,
        quantization_layer_structure=structure, **SETTINGS))
    for dense in _dense_layers(structure):
        assert dense.is_gptq_calibrated and _levels(dense).max() <= 3
        assert (_np(dense.kernel_zero) == 2).all()  # symmetric: (maxq + 1) / 2


def test_filters_leave_layers_float():
    model, structure = _ours()
    first, second = structure["sequential_blocks"][0].layers
    model.quantize("gptq", config=GPTQConfig(TOKENS, object(), group_size=4,
                                             quantization_layer_structure=structure,
                                             **SETTINGS), filters=first.name)
    assert first.is_gptq_calibrated and second.quantization_mode is None


def test_group_across_blocks_is_refused():
    dense = layers.Dense(3, name="wide")
    dense.build((None, 200))
    dense.quantize("gptq", config=GPTQConfig(None, None, group_size=-1))
    state = gptq.GPTQ(dense, dense.quantization_config)
    state.update(dn.tensor(rand(10, 200)))
    with pytest.raises(ValueError, match="'wide'.*block of 128"):
        state.quantize()


def test_capture_inputs_restores_calls():
    dense = layers.Dense(2)
    dense.build((None, 3))

    class Recorder:
        rows = 3
        seen = []

        def update(self, x):
            self.seen.append(tuple(x.shape))

    with pytest.raises(RuntimeError):
        with calib.capture_inputs({"d": dense}, {"d": Recorder()}):
            dense(dn.ones(2, 4, 3))
            raise RuntimeError("stop")
    assert Recorder.seen == [(8, 3)] and "call" not in dense.__dict__
    dense(dn.ones(1, 3))
    assert Recorder.seen == [(8, 3)]


def test_weights_file_and_keras_file_round_trip(tmp_path):
    pytest.importorskip("h5py")
    model, structure = _ours()
    config = GPTQConfig(TOKENS, object(), weight_bits=4, group_size=4,
                        quantization_layer_structure=structure, **SETTINGS)
    model.quantize("gptq", config=config)
    x = dn.tensor(np.array([[3, 1, 4, 1, 5]]))
    want = _np(model(x))
    model.save_weights(tmp_path / "g.weights.h5")
    config.quantization_layer_structure = None  # layers do not serialize (Keras fails too)
    model.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    assert all(d.is_gptq_calibrated for d in loaded.layers[2].layers)
    np.testing.assert_allclose(_np(loaded(x)), want, rtol=1e-6)
    # a model rebuilt from its config (GPTQ policy, zero weights) takes the weights file
    twin = keras.Model.from_config(model.get_config())
    assert not twin.layers[2].layers[0].is_gptq_calibrated
    twin.load_weights(tmp_path / "g.weights.h5")
    assert twin.layers[2].layers[0].is_gptq_calibrated
    np.testing.assert_allclose(_np(twin(x)), want, rtol=1e-6)


# ----------------------------------------------------------------------------- against Keras

def test_quantizer_helpers_match_keras():
    real = real_keras()
    from keras.src.quantizers import quantizers as kq
    rng = np.random.default_rng(0)
    for kwargs in [dict(bits=4), dict(bits=4, per_channel=True, group_size=4),
                   dict(bits=3, symmetric=True, per_channel=True),
                   dict(bits=8, signed=True), dict(bits=4, per_channel=True, epsilon=1e-3),
                   dict(bits=2, signed=True, symmetric=True, per_channel=True, group_size=3)]:
        x = rng.standard_normal((6, 10)).astype(np.float32)
        x[1], x[2] = 0.5, np.abs(x[2]) + 1  # a constant row; a positive one (zero wraps)
        ref = kq.compute_quantization_parameters(x, **kwargs)
        mine = calib.compute_quantization_parameters(x, **kwargs)
        for a, b in zip(mine[:2], ref[:2]):
            b = real.ops.convert_to_numpy(b)
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
        assert float(mine[2]) == float(ref[2])
        scale, zero, maxq = mine
        q = calib.quantize_with_zero_point(x[:, :1], scale[:, :1], zero[:, :1], maxq)
        np.testing.assert_array_equal(q, real.ops.convert_to_numpy(kq.quantize_with_zero_point(
            x[:, :1], scale[:, :1], zero[:, :1], maxq)))
        np.testing.assert_array_equal(
            calib.dequantize_with_zero_point(q, scale[:, :1], zero[:, :1]),
            real.ops.convert_to_numpy(kq.dequantize_with_zero_point(q, scale[:, :1],
                                                                    zero[:, :1])))
    g_idx = np.arange(10, dtype=np.float32) / 4
    scale, zero, maxq = calib.compute_quantization_parameters(x, bits=4, per_channel=True,
                                                              group_size=4)
    np.testing.assert_array_equal(
        calib.quantize_with_sz_map(x, scale, zero, g_idx, maxq),
        real.ops.convert_to_numpy(kq.quantize_with_sz_map(x, scale, zero, g_idx, maxq)))


def test_dataloader_matches_keras():
    real_keras()
    from keras.src.quantizers import gptq_core

    class Tokenizer:
        def tokenize(self, text):
            return np.array([ord(ch) % 31 for ch in text])

    pieces = [np.arange(n) % 17 for n in (7, 13, 5)]
    for kwargs in [dict(), dict(strategy="linspace"), dict(strategy="random", seed=3),
                   dict(stride=2)]:
        ref = gptq_core.get_dataloader(None, 6, pieces, num_samples=9, **kwargs)
        mine = calib.get_dataloader(None, 6, pieces, num_samples=9, **kwargs)
        assert mine.dtype == ref.dtype == np.int32
        np.testing.assert_array_equal(mine, ref)
    texts = ["hello world", "abc"]
    np.testing.assert_array_equal(
        calib.get_dataloader(Tokenizer(), 4, texts, num_samples=5, eos_id=0),
        gptq_core.get_dataloader(Tokenizer(), 4, texts, num_samples=5, eos_id=0))
    for bad, error in [("text", TypeError), ([], ValueError)]:
        with pytest.raises(error):
            calib.get_dataloader(None, 4, bad)
    with pytest.raises(ValueError, match="Unknown strategy"):
        calib.get_dataloader(None, 4, pieces, strategy="nope")


@pytest.mark.parametrize("out_features,in_features,group_size,order,bits,symmetric", [
    (8, 6, 4, False, 4, False), (7, 40, 8, True, 3, True), (5, 300, -1, False, 8, False),
    (6, 300, 48, True, 2, False)])
def test_quantize_matrix_matches_keras(out_features, in_features, group_size, order, bits,
                                       symmetric):
    real = real_keras()
    import torch
    from keras.src.quantizers import gptq as kgptq
    from keras.src.quantizers import quantizers as kq
    weights = rand(out_features, in_features)
    feats = rand(50, in_features, seed=1)
    hessian = (np.float32(2 / 50) * feats.T @ feats + np.float32(0.1) * np.eye(
        in_features, dtype=np.float32)).astype(np.float32)
    inverse = np.linalg.inv(hessian)
    kwargs = dict(bits=bits, symmetric=symmetric, per_channel=True, group_size=group_size)
    ref = kgptq.gptq_quantize_matrix(
        torch.tensor(weights), torch.tensor(inverse), group_size=group_size,
        activation_order=order, order_metric=torch.tensor(np.diagonal(hessian).copy()),
        compute_scale_zero=functools.partial(kq.compute_quantization_parameters, **kwargs))
    mine = gptq.gptq_quantize_matrix(
        weights, inverse, group_size=group_size, activation_order=order,
        order_metric=np.diagonal(hessian),
        compute_scale_zero=functools.partial(calib.compute_quantization_parameters, **kwargs))
    ref = [real.ops.convert_to_numpy(r) for r in ref]
    for a, b in zip(mine, ref):
        assert a.dtype == b.dtype and a.shape == b.shape
    assert (mine[0] == ref[0]).mean() >= 0.99
    np.testing.assert_allclose(mine[1], ref[1], rtol=1e-5)
    assert (mine[2] == ref[2]).mean() >= 0.99
    np.testing.assert_array_equal(mine[3], ref[3])


def test_gptq_layer_object_matches_keras():
    """Same kernel, same batches: Keras's GPTQ and ours give the same Hessian and weights."""
    real = real_keras()
    import torch
    from keras.quantizers import GPTQConfig as KerasConfig
    from keras.src.quantizers.gptq import GPTQ as KerasGPTQ
    settings = dict(weight_bits=4, group_size=4, activation_order=True)
    kernel = rand(6, 9) * np.float32(0.3)
    theirs = real.layers.Dense(9)
    theirs.build((None, 6))
    theirs.set_weights([kernel, np.zeros(9, np.float32)])
    theirs.quantize("gptq", config=KerasConfig(None, None, **settings))
    ours = layers.Dense(9)
    ours.build((None, 6))
    ours.set_weights([kernel, np.zeros(9, np.float32)])
    ours.quantize("gptq", config=GPTQConfig(None, None, **settings))
    ref_state = KerasGPTQ(theirs, theirs.quantization_config)
    state = gptq.GPTQ(ours, ours.quantization_config)
    for seed in range(4):
        batch = rand(2, 5, 6, seed=seed)
        ref_state.update_hessian_with_batch(torch.tensor(batch))
        state.update(dn.tensor(batch))
    np.testing.assert_allclose(state.hessian, real.ops.convert_to_numpy(ref_state.hessian),
                               rtol=1e-5, atol=1e-7)
    ref_state.quantize_and_correct_layer()
    state.quantize()
    ref_weights = [real.ops.convert_to_numpy(w) for w in theirs.weights]
    mine = [_np(w) for w in ours.weights]
    assert [(w.dtype, w.shape) for w in mine] == [(w.dtype, w.shape) for w in ref_weights]
    for a, b in zip(mine, ref_weights):
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5)
    with pytest.raises(ValueError, match=r"Hessian dimensions \(6\) do not match"):
        gptq.GPTQ(_fresh_gptq_dense(), ours.quantization_config).update(dn.ones(3, 5))


def _fresh_gptq_dense():
    dense = layers.Dense(2)
    dense.build((None, 6))
    dense.quantize("gptq", config=GPTQConfig(None, None, group_size=-1))
    return dense


@contextmanager
def _keras_hessian_streams(layers_map, objects):
    """Keras 3.15.1's own stream_hessians patches `layer.call`, which a quantized Keras layer
    never calls (Layer.__call__ goes to quantized_call), so its Hessians stay zero; this one
    hooks `_gptq_call`, as the algorithm means."""
    for name, layer in layers_map.items():
        original = layer._gptq_call

        def hook(inputs, *args, _name=name, _original=original, **kwargs):
            objects[_name].update_hessian_with_batch(
                real_keras().ops.reshape(inputs, (-1, objects[_name].rows)))
            return _original(inputs, *args, **kwargs)
        layer.__dict__["_gptq_call"] = hook
    try:
        yield
    finally:
        for layer in layers_map.values():
            layer.__dict__.pop("_gptq_call", None)


@pytest.mark.parametrize("bits,group_size,order", [(4, 4, False), (3, -1, True)])
def test_model_calibration_matches_keras(monkeypatch, tmp_path, bits, group_size, order):
    real = real_keras()
    from keras.quantizers import GPTQConfig as KerasConfig
    from keras.src.quantizers import gptq_core
    monkeypatch.setattr(gptq_core, "stream_hessians", _keras_hessian_streams)
    theirs, their_structure = _model(real.layers, real.Input, real.Model, real.Sequential)
    weights = [rand(*w.shape, seed=i) * np.float32(0.3) for i, w in
               enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours, structure = _ours(weights)
    settings = dict(weight_bits=bits, group_size=group_size, activation_order=order,
                    **SETTINGS)
    their_config = KerasConfig(TOKENS, object(), quantization_layer_structure=their_structure,
                               **settings)
    our_config = GPTQConfig(TOKENS, object(), quantization_layer_structure=structure,
                            **settings)
    theirs.quantize("gptq", config=their_config)
    ours.quantize("gptq", config=our_config)
    mine, ref = [_np(w) for w in ours.weights], [real.ops.convert_to_numpy(w)
                                                 for w in theirs.weights]
    assert [(w.dtype, w.shape) for w in mine] == [(w.dtype, w.shape) for w in ref]
    for a, b in zip(_dense_layers(structure), _dense_layers(their_structure)):
        levels = real.ops.convert_to_numpy(b.kernel)
        assert (_levels(a) == levels).mean() >= 0.99
        np.testing.assert_allclose(_np(a.kernel_scale), real.ops.convert_to_numpy(
            b.kernel_scale), rtol=1e-4)
        np.testing.assert_array_equal(_np(a.g_idx), real.ops.convert_to_numpy(b.g_idx))
    x = np.array([[1, 5, 7, 2, 19], [0, 3, 3, 8, 11]])
    np.testing.assert_allclose(_np(ours(dn.tensor(x))),
                               real.ops.convert_to_numpy(theirs(x)), atol=2e-2)
    # config and policy serialize as Keras's (less the structure: layers, which Keras's
    # serialization cannot write either)
    their_config.quantization_layer_structure = our_config.quantization_layer_structure = None
    mine_config = structure["sequential_blocks"][0].layers[0].get_config()
    ref_config = their_structure["sequential_blocks"][0].layers[0].get_config()
    for key in ("dtype", "quantization_config"):
        assert mine_config[key] == json.loads(json.dumps(ref_config[key]))


def test_keras_loads_our_files(tmp_path):
    real = real_keras()
    ours, structure = _ours()
    config = GPTQConfig(TOKENS, object(), weight_bits=4, group_size=4,
                        quantization_layer_structure=structure, **SETTINGS)
    ours.quantize("gptq", config=config)
    x = np.array([[3, 1, 4, 1, 5]])
    want = _np(ours(dn.tensor(x)))
    ours.save_weights(tmp_path / "g.weights.h5")
    config.quantization_layer_structure = None
    ours.save(tmp_path / "g.keras")
    theirs = real.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(real.ops.convert_to_numpy(theirs(x)), want, rtol=1e-6)
    # all five GPTQ entries (Keras 3.15.1's own files drop kernel_zero, which it then cannot
    # load back; we refuse them the same way)
    theirs.load_weights(tmp_path / "g.weights.h5")
    np.testing.assert_allclose(real.ops.convert_to_numpy(theirs(x)), want, rtol=1e-6)
    theirs.save_weights(tmp_path / "k.weights.h5")
    with pytest.raises(ValueError, match="expects 5 variables"):
        ours.load_weights(tmp_path / "k.weights.h5")
