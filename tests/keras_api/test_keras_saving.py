"""save_weights / load_weights in Keras 3's .weights.h5 layout and model.save / load_model (.keras):
round trips, the exact group layout, interop with real Keras both ways, atomic writes."""
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
h5py = pytest.importorskip("h5py")

from dualnet import keras_api as keras  # noqa: E402
from dualnet.keras_api import layers  # noqa: E402
from dualnet.keras_api import saving  # noqa: E402
from dualnet.keras_api.models import Sequential, load_model  # noqa: E402
from dualnet.keras_api.saving import weights_h5  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.random((8, 4), dtype=np.float32)
Y = RNG.random((8, 2), dtype=np.float32)


def _model(compile_with="adam"):
    # BatchNormalization first: a Dense bias just before one has a zero gradient in exact
    # arithmetic, and Adam would blow its rounding noise up in the training comparisons.
    model = Sequential([keras.Input((4,)), layers.BatchNormalization(),
                        layers.Dense(3, activation="relu"), layers.Dense(2)])
    if compile_with:
        model.compile(optimizer=compile_with, loss="mse")
    return model


def _tree(path):
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(
            name, (dict(obj.attrs), getattr(obj, "shape", None))))
    return found


def test_layout_is_keras_groups_by_class_name(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    tree = _tree(path)
    assert tree["vars"][0] == {"name": model.name}
    assert tree["layers/dense/vars"][0] == {"name": model.layers[1].name}
    assert tree["layers/dense_1/vars"][0] == {"name": model.layers[2].name}
    assert tree["layers/dense/vars/0"][1] == (4, 3) and tree["layers/dense/vars/1"][1] == (3,)
    # BatchNormalization: gamma, beta (trainable) then moving mean and variance
    assert [tree[f"layers/batch_normalization/vars/{i}"][1] for i in range(4)] == [(4,)] * 4
    # Adam: iterations, learning rate, then m and v of each variable in order
    assert tree["optimizer/vars"][0] == {"name": "adam"}
    shapes = [tree[f"optimizer/vars/{i}"][1] for i in range(14)]
    assert shapes[:2] == [(), ()] and shapes[6:8] == [(4, 3), (4, 3)]
    assert shapes[2:6] == [(4,)] * 4 and shapes[-2:] == [(2,), (2,)]
    with h5py.File(path, "r") as f:
        assert int(f["optimizer/vars/0"][()]) == 2  # two batches of 4


def test_round_trip_restores_weights_and_optimizer_state(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    other = _model()
    other.fit(X[:4], Y[:4], epochs=1, batch_size=4, verbose=0)  # builds its optimizer
    other.load_weights(path)
    for ours, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert other.optimizer.iterations == model.optimizer.iterations == 4
    # the same state gives the same next steps
    model.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    other.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_load_rejects_shape_mismatch_and_names_the_layer(tmp_path):
    model = _model(None)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    other = Sequential([keras.Input((4,)), layers.BatchNormalization(),
                        layers.Dense(5, activation="relu"), layers.Dense(2)])
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match=r"layer 'dense.*\(4, 3\).*\(4, 5\)"):
        other.load_weights(path)
    for old, new in zip(before, other.get_weights()):
        np.testing.assert_array_equal(old, new)  # nothing half-loaded


def test_file_names_must_be_keras_suffixes(tmp_path):
    model = _model(None)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.h5")


def test_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    model = _model(None)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    before = path.read_bytes()
    real_write = weights_h5.write_entries

    def write_then_fail(h5file, model):
        real_write(h5file, model)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(weights_h5, "write_entries", write_then_fail)
    model.layers[1].set_weights([np.ones((4, 3), np.float32), np.ones(3, np.float32)])
    with pytest.raises(OSError, match="simulated"):
        model.save_weights(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.weights.h5"]  # no temporary file left behind


def test_missing_h5py_says_how_to_install(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="pip install h5py"):
        saving.save_weights(_model(None), tmp_path / "m.weights.h5")


def test_keras_file_round_trip_with_compile_state(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    loaded = load_model(path)
    assert type(loaded) is Sequential and [l.name for l in loaded.layers] == \
        [l.name for l in model.layers]
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    uncompiled = load_model(path, compile=False)
    assert not getattr(uncompiled, "compiled", False)


def _keras_model(keras_module):
    model = keras_module.Sequential([
        keras_module.Input((4,)), keras_module.layers.BatchNormalization(),
        keras_module.layers.Dense(3, activation="relu"), keras_module.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_our_weights_load_into_keras_and_train_the_same(tmp_path):
    real = pytest.importorskip("keras")
    ours = _model()
    ours.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / "ours.weights.h5"
    ours.save_weights(path)
    theirs = _keras_model(real)
    theirs.fit(X[:4], Y[:4], epochs=1, batch_size=4, verbose=0)  # builds the optimizer
    theirs.load_weights(str(path))
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert int(theirs.optimizer.iterations.numpy()) == 4
    ours.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    theirs.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_keras_weights_load_into_ours(tmp_path):
    real = pytest.importorskip("keras")
    theirs = _keras_model(real)
    theirs.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / "theirs.weights.h5"
    theirs.save_weights(str(path))
    ours = _model()
    ours.fit(X[:4], Y[:4], epochs=1, batch_size=4, verbose=0)
    ours.load_weights(path)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert ours.optimizer.iterations == 4


def test_functional_model_layout_matches_keras(tmp_path):
    real = pytest.importorskip("keras")
    inputs = keras.Input((5,))
    added = layers.Add()([layers.Dense(3)(inputs), layers.Dense(3)(inputs)])
    ours = keras.Model(inputs, added)
    k_inputs = real.Input((5,))
    k_added = real.layers.Add()([real.layers.Dense(3)(k_inputs), real.layers.Dense(3)(k_inputs)])
    theirs = real.Model(k_inputs, k_added)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    ours_tree = {k: v[1] for k, v in _tree(tmp_path / "ours.weights.h5").items()}
    theirs_tree = {k: v[1] for k, v in _tree(tmp_path / "theirs.weights.h5").items()}
    assert ours_tree == theirs_tree
    theirs.load_weights(str(tmp_path / "ours.weights.h5"))
    x = RNG.random((2, 5), dtype=np.float32)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), ours.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_keras_written_model_file_loads_into_ours(tmp_path):
    # Keras 3.15 writes input_axes/output_axes into every VarianceScaling preset's config
    real = pytest.importorskip("keras")
    theirs = _keras_model(real)
    theirs.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "theirs.keras"
    theirs.save(str(path))
    ours = load_model(path)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
