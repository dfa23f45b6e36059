"""keras_api.metrics against real Keras on random inputs (accumulated over two batches, with
sample weights), NumPy references where Keras is absent, and compile's 'accuracy' resolution."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import metrics

RNG = np.random.default_rng(1)
N, C = 8, 5


def _batch(kind):
    probs = RNG.random((N, C)).astype(np.float32)
    labels = RNG.integers(0, C, N)
    if kind == "sparse":
        return labels, probs
    if kind == "onehot":
        return np.eye(C, dtype=np.float32)[labels], probs
    if kind == "binary":
        return (RNG.random((N, 1)) > 0.5).astype(np.float32), RNG.random((N, 1)).astype(
            np.float32)
    return RNG.random((N, 3)).astype(np.float32), RNG.random((N, 3)).astype(np.float32)


CASES = [
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "binary"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanSquaredError", {}, "regression"),
    ("Precision", {}, "binary"),
    ("Recall", {}, "binary"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 50, "summation_method": "minoring"}, "binary"),
]


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_metric_matches_keras(name, kwargs, kind):
    keras = pytest.importorskip("keras")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for weighted in (False, True):
        y_true, y_pred = _batch(kind)
        sw = RNG.random(N).astype(np.float32) if weighted else None
        ours.update_state(y_true, dn.tensor(y_pred), sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-5,
                                   atol=1e-6)
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_mean_and_accuracy_numpy_reference():
    mean = metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state(np.array([10.0]), sample_weight=[3.0])
    assert float(mean.result()) == pytest.approx((6 + 30) / 6)
    acc = metrics.SparseCategoricalAccuracy()
    assert float(acc([1, 0, 2], [[0.1, 0.9, 0], [0.8, 0.2, 0], [0.5, 0.4, 0.1]])) == \
        pytest.approx(2 / 3)


def test_compile_metric_resolves_accuracy_by_shape():
    sparse = metrics.compile_metric("accuracy", np.zeros(4), np.zeros((4, 3)))
    onehot = metrics.compile_metric("acc", np.zeros((4, 3)), np.zeros((4, 3)))
    binary = metrics.compile_metric("accuracy", np.zeros((4, 1)), np.zeros((4, 1)))
    assert isinstance(sparse, metrics.SparseCategoricalAccuracy) and sparse.name == "accuracy"
    assert isinstance(onehot, metrics.CategoricalAccuracy) and onehot.name == "acc"
    assert isinstance(binary, metrics.BinaryAccuracy)
    mae = metrics.compile_metric("mae", np.zeros((4, 1)), np.zeros((4, 1)))
    assert mae.name == "mae"


def test_get_errors():
    with pytest.raises(ValueError, match="sparse_categorical_accuracy"):
        metrics.get("accurracy")
