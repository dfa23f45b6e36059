"""Keras's metrics: stateful objects (update_state / result / reset_state) whose state is a few
NumPy scalars, updated from each batch's predictions with cheap array operations (no tensors,
no autograd: a metric never enters the training graph)."""
import numpy as np

from ..core.tensor import Tensor
from . import _config

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanAbsoluteError", "MeanSquaredError",
           "Precision", "Recall", "AUC", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "mean_absolute_error", "mean_squared_error",
           "get", "serialize", "deserialize"]


def _array(value):
    """A NumPy view of a tensor (detached, on the CPU) or array-like."""
    if isinstance(value, Tensor):
        value = value.detach()
        if value.device.type != "cpu":
            value = value.cpu()
        return value.numpy()
    return np.asarray(value)


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank on NumPy arrays."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    return y_true, y_pred


# ------------------------------------------------------------------ per-sample functions

def accuracy(y_true, y_pred):
    """1 where y_true == y_pred, averaged over the last axis."""
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return np.mean(y_true == y_pred, axis=-1, dtype=np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) equals y_true, averaged over the last axis."""
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return np.mean(y_true == (y_pred > threshold), axis=-1, dtype=np.float32)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) == argmax(y_true) (one-hot labels)."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float32)


def _labels(y_true, y_pred):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals the integer label."""
    y_pred = _array(y_pred)
    y_true = _labels(_array(y_true), y_pred)
    return (y_pred.argmax(-1) == y_true).astype(np.float32)


def _in_top_k(labels, y_pred, k):
    """1 where the label's score is among the k largest (fewer than k scores beat it)."""
    labels = labels.astype(np.int64)
    scores = np.take_along_axis(y_pred, labels[..., None], -1)
    return (np.sum(y_pred > scores, -1) < k).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = _array(y_pred)
    return _in_top_k(np.argmax(_array(y_true), -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = _array(y_pred)
    return _in_top_k(_labels(_array(y_true), y_pred), y_pred, k)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return np.mean(np.abs(y_true - y_pred), -1, dtype=np.float32)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    return np.mean(np.square(y_true - y_pred), -1, dtype=np.float32)


# ------------------------------------------------------------------ base classes

class Metric:
    """Base class: subclasses define `update_state(...)`, `result()` and `reset_state()`."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype or "float32"

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def reset_state(self):
        raise NotImplementedError(f"{type(self).__name__} must define reset_state")

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """The (weighted) sum of every value seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        values = _array(values)
        if sample_weight is not None:
            values = values * _weights_like(sample_weight, values)
        self.total += float(np.sum(values, dtype=np.float64))

    def result(self):
        return np.float32(self.total)


def _weights_like(sample_weight, values):
    weights = _array(sample_weight).astype(np.float32, copy=False)
    while weights.ndim > values.ndim and weights.shape[-1] == 1:
        weights = weights[..., 0]
    while weights.ndim < values.ndim:
        weights = weights[..., None]
    return np.broadcast_to(weights, values.shape)


class Mean(Metric):
    """The (weighted) mean of every value seen: total / count (accumulated in float64, the
    result a float32 like Keras's)."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        if isinstance(values, (float, int)) and (sample_weight is None
                                                 or isinstance(sample_weight, (float, int))):
            # the trainer's per-step loss: plain Python arithmetic, no arrays
            weight = 1.0 if sample_weight is None else float(sample_weight)
            self.total += values * weight
            self.count += weight
            return
        values = _array(values)
        if sample_weight is None:
            self.total += float(values.sum(dtype=np.float64))
            self.count += values.size
        else:
            weights = _weights_like(sample_weight, values)
            self.total += float(np.dot(values.ravel().astype(np.float64, copy=False),
                                       weights.ravel()))
            self.count += float(weights.sum(dtype=np.float64))

    def result(self):
        return np.float32(self.total / self.count) if self.count else np.float32(0.0)


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function `fn(y_true, y_pred, **kwargs)` over all samples."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


def _wrapper(fn, default_name, **fixed):
    class Wrapped(MeanMetricWrapper):
        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name=name, dtype=dtype, **{**fixed, **kwargs})
    return Wrapped


class Accuracy(_wrapper(accuracy, "accuracy")):
    """How often predictions equal labels."""


class BinaryAccuracy(_wrapper(binary_accuracy, "binary_accuracy")):
    """How often (prediction > threshold) equals the 0/1 label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(_wrapper(categorical_accuracy, "categorical_accuracy")):
    """How often argmax of the prediction matches argmax of the one-hot label."""


class SparseCategoricalAccuracy(_wrapper(sparse_categorical_accuracy,
                                         "sparse_categorical_accuracy")):
    """How often argmax of the prediction matches the integer label.

    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([1, 0], [[0.2, 0.8], [0.3, 0.7]])
    >>> float(m.result())
    0.5
    """


class TopKCategoricalAccuracy(_wrapper(top_k_categorical_accuracy,
                                       "top_k_categorical_accuracy")):
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(_wrapper(sparse_top_k_categorical_accuracy,
                                             "sparse_top_k_categorical_accuracy")):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype, k=k)


class MeanAbsoluteError(_wrapper(mean_absolute_error, "mean_absolute_error")):
    pass


class MeanSquaredError(_wrapper(mean_squared_error, "mean_squared_error")):
    pass


def _snake(name):
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


# Precision, Recall and AUC live in their own module, which builds on the base classes above
from ._confusion_metrics import AUC, Precision, Recall  # noqa: E402


# ------------------------------------------------------------------ lookup

_CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanAbsoluteError,
    MeanSquaredError, Precision, Recall, AUC)}
_FUNCTIONS = {
    "accuracy": accuracy, "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
}
_LOWER = {"auc": AUC, "precision": Precision, "recall": Recall}


def _valid_names():
    return sorted(set(_FUNCTIONS) | set(_CLASSES) | set(_LOWER) | {"acc"})


def get(identifier):
    """A metric from a string (function name, alias or class name), a config dict, a Metric,
    a callable, or None."""
    return _config.get(identifier, "metric", Metric, _FUNCTIONS, _CLASSES, deserialize,
                       aliases=_LOWER, valid=_valid_names())


def serialize(metric):
    if isinstance(metric, Metric):
        return _config.serialize(metric)
    return getattr(metric, "__name__", metric)


def deserialize(config):
    return _config.deserialize(config, "metric class", _CLASSES, get)


def compile_metric(identifier, y_true, y_pred, loss=None):
    """The Metric object that compile's `identifier` stands for, once the first batch's shapes
    are known: 'accuracy'/'acc' resolve to binary, sparse categorical or categorical accuracy
    by the shapes of y_true and y_pred, as Keras does; strings keep their spelling as name."""
    if isinstance(identifier, str) and identifier in ("accuracy", "acc"):
        true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
        if pred_shape and pred_shape[-1] == 1:
            return BinaryAccuracy(name=identifier)
        if len(true_shape) < len(pred_shape) or (true_shape and true_shape[-1] == 1):
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    metric = get(identifier)
    if isinstance(metric, Metric):
        return metric
    name = identifier if isinstance(identifier, str) else getattr(metric, "__name__", "metric")
    return MeanMetricWrapper(metric, name=name)
