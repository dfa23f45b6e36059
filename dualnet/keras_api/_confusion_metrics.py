"""Keras 3's confusion-matrix metrics: `Precision` and `Recall` (one or several thresholds,
`top_k`, `class_id`) and `AUC` (ROC, PR and PRGAIN curves, the three summation methods,
`multi_label` / `num_labels`, `label_weights`, `from_logits`). Their state is the weighted count
of true/false positives (and negatives) at each threshold, float32 NumPy arrays as Keras's
variables are, updated from each batch as Keras's `update_confusion_matrix_variables` does:
labels are positive where nonzero, a prediction is positive where it is above the threshold.
Exported by `dualnet.keras_api.metrics`."""
import numpy as np

from ..core.config import KERAS_EPSILON as _EPSILON
from .metrics import Metric, _array

__all__ = ["Precision", "Recall", "AUC"]

NEG_INF = -1e10  # the threshold under top_k: every kept prediction is above it (Keras's value)


# ------------------------------------------------------------------ counting

def _match_rank(x1, x2, expand_rank_1=True):
    """Keras's squeeze_or_expand_to_same_rank: ranks differing by a trailing 1 are aligned."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _evenly_spaced(thresholds):
    """Keras's is_evenly_distributed_thresholds: i/(n-1), n >= 3, within 1e-7. Such thresholds
    are counted in one bucketing pass (and predictions clipped to [0, 1] first), as Keras does."""
    count = len(thresholds)
    return count >= 3 and np.allclose(thresholds, np.arange(count, dtype=np.float32)
                                      / (count - 1), atol=_EPSILON)


def _check_thresholds(metric, thresholds):
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"{metric}: threshold values must be in [0, 1]. Received: {bad}")


def _top_k_only(y_pred, k):
    """Predictions outside the k largest of the last axis set to NEG_INF (Keras's
    _filter_top_k), so that no threshold counts them as positive."""
    if k >= y_pred.shape[-1]:
        return y_pred
    cut = np.argpartition(-y_pred, k - 1, axis=-1)[..., :k]
    keep = np.zeros(y_pred.shape, bool)
    np.put_along_axis(keep, cut, True, axis=-1)
    return np.where(keep, y_pred, np.float32(NEG_INF))


def confusion_counts(y_true, y_pred, thresholds, evenly=False, top_k=None, class_id=None,
                     sample_weight=None, multi_label=False, label_weights=None):
    """Weighted (tp, fp, tn, fn) of one batch at each threshold: arrays of shape
    (thresholds,), or (thresholds, labels) with `multi_label` (the last axis of a rank-2
    y_pred is the label axis). `label_weights` (per last-axis entry) weigh the counts when not
    multi_label."""
    y_true = _array(y_true)
    y_pred = _array(y_pred).astype(np.float32, copy=False)
    y_pred, y_true = _match_rank(y_pred, y_true)
    weights = None
    if sample_weight is not None:
        weights = _array(sample_weight).astype(np.float32)[..., None]
        _, weights = _match_rank(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        y_pred = _top_k_only(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = np.ones(y_pred.shape, np.float64) if weights is None else \
        np.broadcast_to(weights, y_pred.shape).astype(np.float64)
    if label_weights is not None and not multi_label:
        weights = weights * np.broadcast_to(np.asarray(label_weights, np.float32), y_pred.shape)
    positive = np.broadcast_to(y_true, y_pred.shape) != 0
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                             f"{y_pred.ndim}. Full shape received for `y_pred`: {y_pred.shape}")
    else:
        y_pred, positive, weights = y_pred.reshape(-1, 1), positive.reshape(-1, 1), \
            weights.reshape(-1, 1)
    true_weight, false_weight = weights * positive, weights * ~positive
    count = len(thresholds)
    if evenly:
        # bucket i holds predictions in (t_i, t_{i+1}]: a prediction is above threshold i iff
        # its bucket is >= i, so the counts are reversed cumulative sums of the buckets
        y_pred = np.clip(y_pred, np.float32(0), np.float32(1))
        buckets = (np.ceil(y_pred * np.float32(count - 1)) - 1).astype(np.int64)
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:  # the outer thresholds carry epsilon
            buckets = np.maximum(buckets, 0)
        tp, fp = [], []
        for column in range(y_pred.shape[1]):
            kept = buckets[:, column] >= 0
            for out, data in ((tp, true_weight), (fp, false_weight)):
                per_bucket = np.bincount(buckets[kept, column], data[kept, column],
                                         minlength=count)
                out.append(np.cumsum(per_bucket[::-1])[::-1])
        tp, fp = np.stack(tp, 1), np.stack(fp, 1)
    else:
        above = y_pred[None] > np.asarray(thresholds, np.float32)[:, None, None]
        tp = np.einsum("tnl,nl->tl", above, true_weight)
        fp = np.einsum("tnl,nl->tl", above, false_weight)
    fn = true_weight.sum(0) - tp
    tn = false_weight.sum(0) - fp
    if not multi_label:
        tp, fp, tn, fn = tp[:, 0], fp[:, 0], tn[:, 0], fn[:, 0]
    return tp, fp, tn, fn


def _divide_no_nan(numerator, denominator):
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator,
                                                                           np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


# ------------------------------------------------------------------ Precision, Recall

class _Thresholded(Metric):
    """Precision / Recall: counts at each threshold (default 0.5; with top_k, every prediction
    among the k largest counts as positive)."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        cls = type(self).__name__
        if thresholds is not None:
            listed = [thresholds] if np.isscalar(thresholds) else list(thresholds)
            _check_thresholds(cls, listed)
        if top_k is not None and not (isinstance(top_k, (int, np.integer)) and top_k > 0):
            raise ValueError(f"{cls}: top_k must be a positive int, got {top_k!r}")
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = [default] if thresholds is None else (
            [thresholds] if np.isscalar(thresholds) else list(thresholds))
        self._evenly = _evenly_spaced(self.thresholds)
        self.reset_state()

    def reset_state(self):
        size = len(self.thresholds)
        self.true_positives = np.zeros(size, np.float32)
        self.false_positives = np.zeros(size, np.float32)
        self.false_negatives = np.zeros(size, np.float32)

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, _, fn = confusion_counts(y_true, y_pred, self.thresholds, self._evenly,
                                         self.top_k, self.class_id, sample_weight)
        self.true_positives += tp.astype(np.float32)
        self.false_positives += fp.astype(np.float32)
        self.false_negatives += fn.astype(np.float32)

    def _value(self, result):
        result = result.astype(np.float32)
        return result[0] if len(self.thresholds) == 1 else result

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_Thresholded):
    """tp / (tp + fp): the share of positive predictions that are right, at each threshold.

    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(float(m.result()), 4)
    0.6667
    """

    def result(self):
        return self._value(_divide_no_nan(self.true_positives,
                                          self.true_positives + self.false_positives))


class Recall(_Thresholded):
    """tp / (tp + fn): the share of positive labels predicted positive, at each threshold.

    >>> m = Recall(thresholds=[0.3, 0.7])
    >>> m.update_state([1, 1, 0], [0.5, 0.9, 0.8])
    >>> m.result().tolist()
    [1.0, 0.5]
    """

    def result(self):
        return self._value(_divide_no_nan(self.true_positives,
                                          self.true_positives + self.false_negatives))


# ------------------------------------------------------------------ AUC

_CURVES = {"roc": "ROC", "ROC": "ROC", "pr": "PR", "PR": "PR", "prgain": "PRGAIN",
           "PRGAIN": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "Interpolation": "interpolation",
               "majoring": "majoring", "Majoring": "majoring", "minoring": "minoring",
               "Minoring": "minoring"}


class AUC(Metric):
    """Area under the ROC curve (or the precision-recall curve, curve="PR"; or the PR-gain
    curve) from the counts at `num_thresholds` evenly spaced thresholds (the two outer ones
    KERAS_EPSILON outside [0, 1]) or at the given `thresholds`. summation_method
    'interpolation': the trapezoidal rule for ROC, Davis & Goadrich's interpolation for PR;
    'minoring' / 'majoring': lower / upper Riemann sums. multi_label=True: one curve per label
    (the columns of a rank-2 y_pred; `num_labels` makes the state up front), averaged with
    `label_weights` (which otherwise weigh the flattened counts).

    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> round(float(m.result()), 4)
    0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if curve not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             f'["PR", "ROC", "PRGAIN"]')
        if summation_method not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             f'Expected values are ["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(thresholds)
            _check_thresholds("AUC", inner)
            self._evenly = _evenly_spaced(np.array([0.0] + inner + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self.num_thresholds = len(inner) + 2
        self._thresholds = np.array([0.0 - _EPSILON] + inner + [1.0 + _EPSILON])
        self.curve, self.summation_method = _CURVES[curve], _SUMMATIONS[summation_method]
        super().__init__(name, dtype)
        self.multi_label, self.num_labels = multi_label, num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights,
                                                                           np.float32)
        self.from_logits = from_logits
        self._num_labels = None
        if not multi_label and num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self._build(num_labels if multi_label else None)

    @property
    def thresholds(self):
        """The thresholds the counts are taken at, the two outer ones included."""
        return list(self._thresholds)

    def _build(self, num_labels):
        """Make the counts: (thresholds,), or (thresholds, num_labels) with multi_label (None
        until the first batch shows the number of labels)."""
        self._num_labels = num_labels
        if self.multi_label and num_labels is None:
            self.true_positives = self.false_positives = None
            self.true_negatives = self.false_negatives = None
            return
        shape = (self.num_thresholds,) + ((num_labels,) if self.multi_label else ())
        self.true_positives = np.zeros(shape, np.float32)
        self.false_positives = np.zeros(shape, np.float32)
        self.true_negatives = np.zeros(shape, np.float32)
        self.false_negatives = np.zeros(shape, np.float32)

    def reset_state(self):
        self._build(self._num_labels)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        if self.true_positives is None:
            if y_pred.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {y_pred.ndim}. Full shape received for `y_pred`: "
                                 f"{y_pred.shape}")
            self._build(y_pred.shape[1])
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred.astype(np.float32)))
        counts = confusion_counts(y_true, y_pred, self._thresholds, self._evenly,
                                  sample_weight=sample_weight, multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else
                                  self.label_weights)
        for state, count in zip((self.true_positives, self.false_positives,
                                 self.true_negatives, self.false_negatives), counts):
            state += count.astype(np.float32)

    def _average(self, by_threshold):
        """Sum over thresholds; with multi_label the mean over labels (label_weights-weighted)."""
        by_label = np.sum(by_threshold, axis=0)
        if not self.multi_label:
            return np.float32(by_label)
        if self.label_weights is None:
            return np.float32(np.mean(by_label))
        return np.float32(_divide_no_nan(np.sum(by_label * self.label_weights),
                                         np.sum(self.label_weights)))

    def _interpolate_pr_auc(self, tp, fp, fn):
        """Davis & Goadrich's PR interpolation in Keras's closed form: within each interval
        TP and P = TP + FP vary linearly, so the area is
        slope * (dTP + intercept * log(P_A / P_B)) / (TP_B + FN_B)."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both_positive, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return self._average(_divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                            np.maximum(tp[1:] + fn[1:], 0)))

    def result(self):
        if self.true_positives is None:
            return np.float32(0.0)
        tp, fp, tn, fn = (np.asarray(v, np.float64) for v in (
            self.true_positives, self.false_positives, self.true_negatives,
            self.false_negatives))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * _divide_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * _divide_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
