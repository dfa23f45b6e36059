"""keras.datasets.mnist.load_data and keras.utils (to_categorical, normalize, set_random_seed):
Keras's shapes, dtypes and values, checked against NumPy and, where installed, real Keras."""
import os
import random
from pathlib import Path

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api.datasets import mnist
from dualnet.keras_api.utils import normalize, set_random_seed, to_categorical

FULL_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def _check_mnist(splits, n_train, n_test):
    (x_train, y_train), (x_test, y_test) = splits
    assert x_train.shape == (n_train, 28, 28) and x_test.shape == (n_test, 28, 28)
    assert y_train.shape == (n_train,) and y_test.shape == (n_test,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))


def test_load_data_small_subset_only_when_asked():
    _check_mnist(mnist.load_data(subset="small"), 10_000, 2_000)


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason="the full MNIST files are not next to the repo")
def test_load_data_from_a_path_is_the_full_set():
    _check_mnist(mnist.load_data(path=str(FULL_MNIST)), 60_000, 10_000)


def test_load_data_reads_dualnet_data(monkeypatch, tmp_path):
    from dualnet.datasets import write_idx
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([1, 2, 3], np.uint8)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, images)
    np.testing.assert_array_equal(y_test, labels)


def test_load_data_rejects_path_with_subset(tmp_path):
    with pytest.raises(ValueError, match="path or subset"):
        mnist.load_data(path=str(tmp_path), subset="small")


def test_to_categorical_matches_numpy_reference():
    labels = np.array([[2], [0], [1]])
    expected = np.eye(4)[[2, 0, 1]]
    out = to_categorical(labels, num_classes=4)
    assert out.dtype == np.float64 and out.shape == (3, 4)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(to_categorical([0, 3]), np.eye(4)[[0, 3]])
    assert to_categorical(np.zeros((2, 5), int), 3).shape == (2, 5, 3)


def test_to_categorical_tensor_gives_float32_tensor():
    out = to_categorical(dn.tensor([1, 0]), 2)
    assert isinstance(out, dn.Tensor) and out.dtype == dn.float32
    np.testing.assert_array_equal(out.numpy(), [[0, 1], [1, 0]])


def test_to_categorical_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        to_categorical([0, 3], num_classes=3)


def test_to_categorical_and_normalize_match_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    labels = np.array([[1], [4], [0], [2]])
    for num_classes in (None, 6):
        ours, theirs = to_categorical(labels, num_classes), keras.utils.to_categorical(labels, num_classes)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    for axis, order in ((-1, 2), (1, 1)):  # (Keras turns axis=0 into -1)
        np.testing.assert_allclose(normalize(x, axis, order), keras.utils.normalize(x, axis, order))


def test_normalize_divides_by_the_norm():
    np.testing.assert_allclose(normalize(np.array([[3.0, 4.0], [0.0, 0.0]])),
                               [[0.6, 0.8], [0.0, 0.0]])


def test_set_random_seed_repeats_python_numpy_and_dualnet():
    def draw():
        return random.random(), np.random.rand(), dn.rand(3).numpy().tolist()
    set_random_seed(7)
    first = draw()
    set_random_seed(7)
    assert draw() == first
    set_random_seed(8)
    assert draw() != first


def test_set_random_seed_rejects_non_integers():
    with pytest.raises(ValueError, match="integer"):
        set_random_seed(1.5)
