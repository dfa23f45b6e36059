"""keras_api.metrics Precision / Recall (thresholds lists, top_k, class_id) and AUC (ROC / PR /
PRGAIN, every summation method, multi_label / num_labels, label_weights, from_logits, custom
thresholds) against real Keras on random data accumulated over two batches (the second
weighted); NumPy references and errors where Keras is absent."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import metrics

RNG = np.random.default_rng(11)
N, C = 64, 4


def _data(kind):
    """(y_true, y_pred) of one batch: 'binary' (N, 1) probabilities, 'multi' (N, C) multi-hot
    labels with probabilities, 'onehot' (N, C) one-hot with softmax-like scores, 'logits'
    (N, C) multi-hot with unbounded scores, 'soft' (N, C) labels in [0, 1) (nonzero is
    positive)."""
    if kind == "binary":
        return (RNG.random((N, 1)) > 0.5).astype(np.float32), RNG.random((N, 1)).astype(
            np.float32)
    labels = (RNG.random((N, C)) > 0.6).astype(np.float32)
    if kind == "onehot":
        labels = np.eye(C, dtype=np.float32)[RNG.integers(0, C, N)]
    if kind == "soft":
        labels = labels * RNG.random((N, C)).astype(np.float32)
    if kind == "logits":
        return labels, RNG.normal(scale=2.0, size=(N, C)).astype(np.float32)
    return labels, RNG.random((N, C)).astype(np.float32)


THRESHOLDED = [
    ({}, "binary"), ({"thresholds": 0.3}, "binary"),
    ({"thresholds": [0.2, 0.5, 0.85]}, "multi"),
    ({"thresholds": [0.0, 0.5, 1.0]}, "logits"),  # evenly spaced: Keras's bucketed count
    ({"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multi"),
    ({"top_k": 1}, "onehot"), ({"top_k": 2}, "multi"),
    ({"class_id": 2}, "multi"), ({"class_id": 1, "thresholds": [0.3, 0.6]}, "multi"),
    ({"top_k": 2, "class_id": 3}, "multi"), ({"top_k": 2, "thresholds": [0.3, 0.7]}, "multi"),
    ({}, "soft"),
]
AUCS = [
    ({}, "binary"), ({"curve": "PR"}, "binary"), ({}, "multi"), ({"curve": "PR"}, "multi"),
    ({"curve": "PR", "summation_method": "minoring"}, "multi"),
    ({"curve": "PR", "summation_method": "majoring"}, "multi"),
    ({"summation_method": "majoring", "num_thresholds": 13}, "multi"),
    ({"curve": "PRGAIN"}, "multi"),
    ({"num_thresholds": 7, "curve": "pr"}, "multi"),
    ({"thresholds": [0.1, 0.35, 0.4, 0.9]}, "multi"),
    ({"thresholds": [0.25, 0.5, 0.75], "curve": "PR"}, "multi"),  # evenly spaced, given
    ({"multi_label": True}, "multi"), ({"multi_label": True, "curve": "PR"}, "multi"),
    ({"multi_label": True, "num_labels": C, "curve": "PR", "summation_method": "majoring"},
     "multi"),
    ({"multi_label": True, "label_weights": [0.1, 0.2, 0.3, 0.4]}, "multi"),
    ({"multi_label": True, "label_weights": [1.0, 0.0, 2.0, 0.5], "curve": "PR"}, "multi"),
    ({"label_weights": [0.5, 1.0, 2.0, 0.0]}, "multi"),
    ({"from_logits": True}, "logits"), ({"from_logits": True, "multi_label": True}, "logits"),
    ({}, "logits"),  # scores outside [0, 1]: clipped, as Keras's bucketing does
    ({"curve": "PR"}, "soft"),
]
CASES = ([("Precision", kwargs, kind) for kwargs, kind in THRESHOLDED]
         + [("Recall", kwargs, kind) for kwargs, kind in THRESHOLDED]
         + [("AUC", kwargs, kind) for kwargs, kind in AUCS])


@pytest.mark.parity
@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_matches_keras(name, kwargs, kind):
    keras = pytest.importorskip("keras")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for weighted in (False, True):
        y_true, y_pred = _data(kind)
        sw = RNG.random(N).astype(np.float32) if weighted else None
        ours.update_state(y_true, dn.tensor(y_pred), sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
        np.testing.assert_allclose(np.asarray(ours.result()),
                                   keras.ops.convert_to_numpy(theirs.result()), rtol=1e-5,
                                   atol=1e-6)
    counts = {"Precision": ["true_positives", "false_positives"],
              "Recall": ["true_positives", "false_negatives"]}.get(
        name, ["true_positives", "false_positives", "true_negatives", "false_negatives"])
    for count in counts:
        np.testing.assert_allclose(getattr(ours, count),
                                   keras.ops.convert_to_numpy(getattr(theirs, count)),
                                   rtol=1e-5, atol=1e-5)
    ours.reset_state()
    assert not np.any(ours.result())


@pytest.mark.parity
def test_configs_match_keras():
    keras = pytest.importorskip("keras")
    for name, kwargs in [("Precision", {"thresholds": [0.2, 0.4], "class_id": 1}),
                         ("Recall", {"top_k": 3}),
                         ("AUC", {"curve": "PR", "multi_label": True, "num_labels": 3,
                                  "label_weights": [1.0, 2.0, 3.0]}),
                         ("AUC", {"thresholds": [0.1, 0.5], "from_logits": True})]:
        ours = getattr(metrics, name)(name="m", **kwargs).get_config()
        theirs = getattr(keras.metrics, name)(name="m", **kwargs).get_config()
        theirs.pop("dtype")
        ours.pop("dtype")
        if theirs.get("label_weights") is not None:
            theirs["label_weights"] = np.asarray(
                keras.ops.convert_to_numpy(theirs["label_weights"])).tolist()
        assert ours == theirs, name
        rebuilt = metrics.deserialize(metrics.serialize(getattr(metrics, name)(**kwargs)))
        assert rebuilt.get_config() == getattr(metrics, name)(**kwargs).get_config()


def test_numpy_reference_precision_recall_top_k_class_id():
    y_true = np.array([[0, 1, 1], [1, 0, 0], [0, 0, 1]], np.float32)
    y_pred = np.array([[0.9, 0.8, 0.1], [0.2, 0.7, 0.6], [0.3, 0.1, 0.5]], np.float32)
    # top-2 positives: (0,0) (0,1) | (1,1) (1,2) | (2,0) (2,2); 2 of them labelled positive
    precision = metrics.Precision(top_k=2)
    precision.update_state(y_true, y_pred)
    assert float(precision.result()) == pytest.approx(2 / 6)
    recall = metrics.Recall(top_k=2)
    recall.update_state(y_true, y_pred)
    assert float(recall.result()) == pytest.approx(2 / 4)
    # class 2 alone at thresholds 0.4 and 0.55: predictions 0.1, 0.6, 0.5 against 1, 0, 1
    per_class = metrics.Precision(class_id=2, thresholds=[0.4, 0.55])
    per_class.update_state(y_true, y_pred)
    np.testing.assert_allclose(per_class.result(), [1 / 2, 0.0])


def test_numpy_reference_auc():
    # a perfect ranking has ROC and PR areas of 1, a reversed one an ROC area of 0
    y_true = np.array([0, 0, 1, 1], np.float32)
    perfect = metrics.AUC(num_thresholds=101)
    perfect.update_state(y_true, [0.1, 0.2, 0.8, 0.9])
    assert float(perfect.result()) == pytest.approx(1.0)
    reversed_auc = metrics.AUC(num_thresholds=101)
    reversed_auc.update_state(y_true, [0.9, 0.8, 0.2, 0.1])
    assert float(reversed_auc.result()) == pytest.approx(0.0, abs=1e-6)
    pr = metrics.AUC(curve="PR", num_thresholds=101)
    pr.update_state(y_true, [0.1, 0.2, 0.8, 0.9])
    assert float(pr.result()) == pytest.approx(1.0)
    # multi_label: the mean of the per-label areas (1 and 0 here), label_weights weighting it
    two = np.stack([y_true, y_true], 1)
    scores = np.array([[0.1, 0.9], [0.2, 0.8], [0.8, 0.2], [0.9, 0.1]], np.float32)
    for weights, expected in ((None, 0.5), ([3.0, 1.0], 0.75)):
        multi = metrics.AUC(num_thresholds=101, multi_label=True, label_weights=weights)
        multi.update_state(two, scores)
        assert multi.true_positives.shape == (101, 2)
        assert float(multi.result()) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("make,match", [
    (lambda: metrics.Precision(thresholds=[0.5, 1.5]), r"must be in \[0, 1\]"),
    (lambda: metrics.Recall(top_k=0), "top_k must be a positive int"),
    (lambda: metrics.AUC(curve="RC"), "Invalid AUC curve"),
    (lambda: metrics.AUC(summation_method="mid"), "Invalid AUC summation method"),
    (lambda: metrics.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: metrics.AUC(num_labels=3), "only when `multi_label` is True"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_shapes():
    with pytest.raises(ValueError, match="rank 2 when `multi_label=True`"):
        metrics.AUC(multi_label=True).update_state(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="class_id is provided"):
        metrics.Precision(class_id=0).update_state(np.zeros(4), np.zeros(4))
