"""Keras weight files that do not fit the model, or are broken: errors that name the file and
the layer or variable, and a model left exactly as it was. Files come from real Keras where it
is installed."""
import os
import warnings
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
h5py = pytest.importorskip("h5py")

from dualnet import keras_api as keras  # noqa: E402
from dualnet.keras_api import layers  # noqa: E402
from dualnet.keras_api.models import Sequential, load_model  # noqa: E402


def _ours(*units):
    return Sequential([keras.Input((4,))] + [layers.Dense(n) for n in units])


def _weights_file(tmp_path, *units):
    """A .weights.h5 of Dense layers of `units`, written by real Keras when it is installed."""
    path = tmp_path / "w.weights.h5"
    try:
        import keras as real
    except ImportError:
        _ours(*units).save_weights(path)
        return path
    model = real.Sequential([real.Input((4,))] + [real.layers.Dense(n) for n in units])
    model.save_weights(str(path))
    return path


def _unchanged(model, before):
    after = model.get_weights()
    assert len(after) == len(before)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)


def test_mis_shaped_variable_names_file_layer_and_variable(tmp_path):
    path = _weights_file(tmp_path, 3, 2)
    model = _ours(3, 5)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense.*', variable 0: '\S*w\.weights\.h5' holds "
                                         r"shape \(3, 2\) at 'layers/dense_1/vars/0', the model's "
                                         r"variable has shape \(3, 5\)"):
        model.load_weights(path)
    _unchanged(model, before)  # the first layer fits, and was not loaded either


def test_missing_layer_names_file_and_layer(tmp_path):
    path = _weights_file(tmp_path, 3)
    model = _ours(3, 2)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense.*' expects 2 variables, but "
                                         r"'\S*w\.weights\.h5' holds 0 at 'layers/dense_1/vars'"):
        model.load_weights(path)
    _unchanged(model, before)


def test_extra_variable_in_a_layer(tmp_path):
    path = _weights_file(tmp_path, 3, 2)
    with h5py.File(path, "a") as h5file:
        h5file["layers/dense_1/vars"].create_dataset("2", data=np.zeros(2, np.float32))
    model = _ours(3, 2)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"expects 2 variables, but '\S*w\.weights\.h5' holds 3 "
                                         r"at 'layers/dense_1/vars'"):
        model.load_weights(path)
    _unchanged(model, before)


def test_missing_variable_name_in_a_layer(tmp_path):
    path = _weights_file(tmp_path, 3)
    with h5py.File(path, "a") as h5file:
        group = h5file["layers/dense/vars"]
        group.move("1", "7")
    model = _ours(3)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"'\S*w\.weights\.h5' has no variable '1' at "
                                         r"'layers/dense/vars' \(it holds \['0', '7'\]\)"):
        model.load_weights(path)
    _unchanged(model, before)


def test_extra_layer_in_the_file_loads_the_rest_and_warns(tmp_path):
    path = _weights_file(tmp_path, 3, 2)
    model = _ours(3)
    with pytest.warns(UserWarning, match=r"'\S*w\.weights\.h5' holds weights the model has no "
                                         r"place for, ignored: layers/dense_1/vars"):
        model.load_weights(path)  # Keras itself loads such a file, silently
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(model.get_weights()[0], h5file["layers/dense/vars/0"][()])


def test_matching_file_loads_without_warnings(tmp_path):
    path = _weights_file(tmp_path, 3, 2)
    model = _ours(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.load_weights(path)
    with h5py.File(path, "r") as h5file:
        np.testing.assert_array_equal(model.get_weights()[2], h5file["layers/dense_1/vars/0"][()])


def test_truncated_weights_file_names_the_file(tmp_path):
    path = _weights_file(tmp_path, 3)
    path.write_bytes(path.read_bytes()[:300])
    model = _ours(3)
    before = model.get_weights()
    with pytest.raises(OSError, match=r"load_weights: can't read '\S*w\.weights\.h5' as a Keras "
                                      r"weights file"):
        model.load_weights(path)
    _unchanged(model, before)


def test_truncated_or_corrupt_keras_file_names_the_file(tmp_path):
    path = tmp_path / "m.keras"
    _ours(3).save(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"load_model: '\S*m\.keras' is not a readable \.keras "
                                         r"file \(truncated or corrupt"):
        load_model(path)
    with zipfile.ZipFile(path, "w") as archive:  # a sound zip around broken weights
        with zipfile.ZipFile(_saved(tmp_path)) as good:
            for name in good.namelist():
                payload = good.read(name)
                archive.writestr(name, payload[:64] if name == "model.weights.h5" else payload)
    with pytest.raises(ValueError, match=r"model\.weights\.h5 inside '\S*m\.keras' is not "
                                         r"readable HDF5"):
        load_model(path)


def _saved(tmp_path):
    path = tmp_path / "good.keras"
    _ours(3).save(path)
    return path
