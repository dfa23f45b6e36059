"""Arithmetic on KerasTensors (x + y, x * 2, -x, x @ w, x[:, 0], comparisons) records operation
nodes in the functional graph as Keras 3 does: the model runs, trains, summarises (same table
as Keras), serialises to Keras's config entries, and saves / loads (also Keras-written files)."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import dualnet as dn  # noqa: E402
from dualnet import keras_api as keras  # noqa: E402
from dualnet.keras_api import layers, ops  # noqa: E402
from dualnet.keras_api.layers.keras_tensor import reset_names  # noqa: E402

W = np.arange(8, dtype=np.float32).reshape(4, 2) / 10
X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)


def _real_keras():
    real = pytest.importorskip("keras")
    if real.backend.backend() != "torch":
        pytest.skip("keras is not on the torch backend")
    return real


def _graph(lib):
    inp = lib.Input(shape=(3,), name="x")
    d = lib.layers.Dense(4, name="dense")(inp)
    y = d + 1.0
    z = -(y * 2) @ W
    first = z[:, 0]
    return lib.Model(inp, [first, (d - y) / (abs(d) + 1.0), 2.0 ** z], name="arith")


def _summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "".join(lines)


def test_graph_parity_summary_and_config_with_keras():
    real = _real_keras()
    reset_names()
    ours = _graph(keras)
    real.backend.clear_session()
    theirs = _graph(real)
    theirs.set_weights(ours.get_weights())
    for mine, ref in zip(ours(X), theirs(X)):
        np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert [type(l).__name__ for l in ours.layers] == ["InputLayer", "Dense"]
    assert ([(type(o).__name__, o.name) for o in ours.operations]
            == [(type(o).__name__, o.name) for o in theirs.operations])
    assert _summary_text(ours) == _summary_text(theirs)
    mine = {e["name"]: e for e in ours.get_config()["layers"]}
    for entry in theirs.get_config()["layers"]:
        if entry["module"].startswith("keras.src.ops"):
            got = mine[entry["name"]]
            assert (got["module"], got["class_name"], got["config"]) == (
                entry["module"], entry["class_name"], entry["config"])
            assert len(got["inbound_nodes"]) == len(entry["inbound_nodes"])


def test_reverse_operators_comparisons_and_logic():
    inp = keras.Input(shape=(4,))
    outputs = [1.0 - inp, 3.0 * inp, 1.0 / (inp * inp + 1.0), inp ** 2, inp // 1.0,
               (inp > 0.0) & (inp < 1.0), ~(inp >= 0.0) | (inp <= -1.0), inp != 0.0,
               inp[:, 1:3], inp[..., ::2]]
    model = keras.Model(inp, outputs)
    x = np.array([[-1.5, 0.0, 0.5, 2.0]], np.float32)
    got = [o.numpy() for o in model(x)]
    expected = [1 - x, 3 * x, 1 / (x * x + 1), x ** 2, x // 1, (x > 0) & (x < 1),
                ~(x >= 0) | (x <= -1), x != 0, x[:, 1:3], x[..., ::2]]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # a KerasTensor keeps identity equality (dict keys, `in` tests)
    assert inp == inp and inp in [inp] and {inp: 1}[inp] == 1


def test_two_inputs_gradients_and_training():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    hidden = layers.Dense(3, name="h")(a)
    out = layers.Dense(1, name="o")(hidden * b + a)[:, 0]
    model = keras.Model([a, b], out)
    xa, xb = X, X[::-1].copy()
    ta, tb = dn.tensor(xa, requires_grad=True), dn.tensor(xb, requires_grad=True)
    model([ta, tb]).sum().backward()
    h_kernel, h_bias, o_kernel, _ = [w.detach().numpy() for w in model.weights]
    # d/d b of sum(((a K + c) * b + a) @ v) = (a K + c) * v^T
    np.testing.assert_allclose(tb.grad.numpy(), (xa @ h_kernel + h_bias) * o_kernel[:, 0],
                               rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()[0].copy()
    model.fit([xa, xb], np.ones(5, np.float32), epochs=1, batch_size=5, verbose=0)
    assert not np.allclose(before, model.get_weights()[0])


def test_save_load_roundtrip(tmp_path):
    model = _graph(keras)
    path = str(tmp_path / "arith.keras")
    model.save(path)
    again = keras.models.load_model(path)
    assert [type(o).__name__ for o in again.operations] == [
        type(o).__name__ for o in model.operations]
    for mine, ref in zip(again(X), model(X)):
        np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    clone = keras.Model.from_config(model.get_config())
    assert len(clone.operations) == len(model.operations)


def test_loads_a_keras_written_model_with_operations(tmp_path):
    real = _real_keras()
    inp = real.Input(shape=(3,))
    hidden = real.layers.Activation("relu")(inp * 2.0 - 1.0)
    out = real.layers.Concatenate()([hidden[:, :2], -inp[:, 1:]]) @ W
    path = str(tmp_path / "from_keras.keras")
    real.Model(inp, out).save(path)
    model = keras.models.load_model(path)
    expected = real.models.load_model(path)(X).detach().numpy()
    np.testing.assert_allclose(model(X).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_ops_functions_compute_on_tensors_and_record_on_symbols():
    a, b = dn.tensor([1.0, -2.0]), dn.tensor([3.0, 4.0])
    assert ops.add(a, b).tolist() == [4.0, 2.0]
    assert ops.absolute(a).tolist() == [1.0, 2.0]
    assert ops.matmul(a, b).item() == -5.0
    assert ops.get_item(b, 1).item() == 4.0
    inp = keras.Input(shape=(2,))
    out = ops.multiply(inp, 3.0)
    assert out.shape == (None, 2) and isinstance(out._keras_history[0], ops.Multiply)
    with pytest.raises(TypeError, match="symbolic"):
        bool(inp > 0.0)


def _chain(lib):
    inp = lib.Input(shape=(3,))
    y = lib.layers.Dense(4)(inp) * 2.0
    return lib.Model(inp, lib.layers.Dense(2)(-y)[:, :1])


def test_sequential_like_summary_matches_keras():
    real = _real_keras()
    reset_names()
    ours = _summary_text(_chain(keras))
    real.backend.clear_session()
    assert ours == _summary_text(_chain(real))
    assert "negative (Negative)" in ours and "Connected to" not in ours


def test_keras_loads_our_file_with_operations(tmp_path):
    real = _real_keras()
    model = _graph(keras)
    path = str(tmp_path / "ours.keras")
    model.save(path)
    theirs = real.models.load_model(path)
    for mine, ref in zip(model(X), theirs(X)):
        np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-6,
                                   atol=1e-7)


def _shapes(lib):
    inp = lib.Input(shape=(4,))
    a = inp.reshape((-1, 2, 2))
    b = lib.ops.expand_dims(inp, 1).squeeze(1)
    c = lib.ops.expand_dims(inp * 1.0, -1).squeeze()
    return lib.Model(inp, [a, b, c])


def test_reshape_squeeze_expand_dims_match_keras():
    real = _real_keras()
    reset_names()
    ours = _shapes(keras)
    real.backend.clear_session()
    theirs = _shapes(real)
    assert [t.shape for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    x = X[:, :1].repeat(4, 1) + np.arange(4, dtype=np.float32)
    for mine, ref in zip(ours(x), theirs(x)):
        np.testing.assert_array_equal(mine.numpy(), ref.detach().numpy())
    mine = {e["name"]: e["config"] for e in ours.get_config()["layers"]}
    for entry in theirs.get_config()["layers"][1:]:
        assert mine[entry["name"]] == entry["config"]
    clone = keras.Model.from_config(ours.get_config())
    np.testing.assert_array_equal(clone(x)[0].numpy(), ours(x)[0].numpy())
