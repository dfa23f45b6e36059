"""Keras's losses (classes, functions and string names) over the core loss ops: probability
inputs by default (`from_logits=False`, clipped to [1e-7, 1 - 1e-7]), per-sample values reduced
'sum_over_batch_size' with optional sample weights, as Keras 3 does."""
import numpy as np

from ..core.creation import as_tensor
from ..core.ops.elementwise import ops as _ew
from ..core.ops.loss import ops as _loss
from ..core.ops.reduction import ops as _red
from ..core.tensor import Tensor
from . import _config

__all__ = ["Loss", "LossFunctionWrapper", "SparseCategoricalCrossentropy",
           "CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError", "Huber", "KLDivergence", "sparse_categorical_crossentropy",
           "categorical_crossentropy", "binary_crossentropy", "mean_squared_error",
           "mean_absolute_error", "huber", "kl_divergence", "get", "serialize", "deserialize"]

EPSILON = _loss.KERAS_EPSILON
REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none", None)


# ------------------------------------------------------------------ glue

def _tensor(value, like=None, floating=True):
    """`value` as a Tensor; a float target takes the prediction's dtype (Keras casts y_true)."""
    if not isinstance(value, Tensor):
        value = as_tensor(np.asarray(value))
    if like is not None and value.device != like.device:  # targets join the predictions
        value = value.to(like.device)
    if floating and like is not None and value.dtype != like.dtype:
        value = value.to(like.dtype)
    return value


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank: ranks differing by one trailing 1 are aligned."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1) if y_true.ndim == 1 else y_true
        if y_true.ndim != y_pred.ndim:
            y_pred = y_pred.squeeze(-1)
    return y_true, y_pred


def _check_labels(op, labels, classes, ignore_class=None):
    """Sparse labels must be class indices in [0, classes) (or `ignore_class`): ValueError
    naming the bad one."""
    if labels.device.type != "cpu" or labels.numel() == 0:
        return
    values = labels.numpy()
    if ignore_class is not None:
        values = values[values != ignore_class]
        if values.size == 0:
            return
    low, high = values.min(), values.max()
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise ValueError(f"{op}: label {bad:g} is out of range for {classes} classes; sparse "
                         f"labels must be integers in [0, {classes}) (predictions have shape "
                         f"{tuple(labels.shape) + (classes,)})")


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Weight the per-sample losses and reduce them as Keras does: 'sum_over_batch_size' (and
    'mean') divide the weighted sum by the number of loss values, 'mean_with_sample_weight' by
    the sum of the weights, 'sum' sums, 'none'/None keeps them. A boolean `mask` (a loss
    function's `_keras_mask`, such as ignore_class's) joins the weights as Keras's apply_mask
    does: masked values weigh 0, and the means count only the unmasked ones (0 when none is)."""
    if mask is not None:
        sample_weight = _mask_weight(mask, values, sample_weight, reduction)
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, values)
        while sample_weight.ndim > values.ndim and sample_weight.shape[-1] == 1:
            sample_weight = sample_weight.squeeze(-1)
        while sample_weight.ndim < values.ndim:
            sample_weight = sample_weight.unsqueeze(-1)
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0 or values.numel() == 0:
        return values
    total = _red.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        weight_sum = float(_red.sum(sample_weight).item()) * (values.numel()
                                                              / sample_weight.numel())
        return total / weight_sum if weight_sum else total * 0.0
    return total / values.numel()


def _mask_weight(mask, values, sample_weight, reduction):
    """Keras's apply_mask: for the means the unmasked entries weigh total / valid, so that
    dividing by the number of values divides by the number of unmasked ones."""
    float_mask = mask.to(values.dtype)
    if reduction in ("sum_over_batch_size", "mean"):
        valid = float(_red.sum(float_mask).item())
        float_mask = float_mask * (mask.numel() / valid if valid else 0.0)
    if sample_weight is None:
        return float_mask
    sample_weight = _tensor(sample_weight, values)
    while sample_weight.ndim > float_mask.ndim and sample_weight.shape[-1] == 1:
        sample_weight = sample_weight.squeeze(-1)
    while sample_weight.ndim < float_mask.ndim:
        sample_weight = sample_weight.unsqueeze(-1)
    return sample_weight * float_mask


# ------------------------------------------------------------------ functions (per sample)

def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log(p[label]) per sample; probabilities renormalised and clipped unless from_logits.
    Positions whose label is `ignore_class` (e.g. a segmentation map's void class, -1 or 255)
    give 0 and are masked (the result's `_keras_mask`), so the Loss classes and compile leave
    them out of the mean, as Keras does.

    >>> import numpy as np
    >>> values = sparse_categorical_crossentropy(np.array([1, -1]),
    ...                                          np.array([[0.25, 0.75], [0.5, 0.5]]),
    ...                                          ignore_class=-1)
    >>> [round(v, 4) for v in values.tolist()], values._keras_mask.tolist()
    ([0.2877, 0.0], [True, False])
    """
    return _sparse_ce(y_true, y_pred, from_logits, axis, "none", ignore_class)


def _logits_of(y_pred, from_logits, axis):
    """(y_pred, from_logits), or (its logits, True) when y_pred is the output of Keras's softmax
    along `axis` (Keras's TensorFlow backend takes the same shortcut: one fused, stable kernel;
    the results differ from log(clip(p)) only where p was clipped, below 1e-7)."""
    cached = getattr(y_pred, "_keras_logits", None)
    if cached is None or from_logits or not isinstance(axis, int):
        return y_pred, from_logits
    logits, softmax_axis = cached
    return (logits, True) if softmax_axis == axis % y_pred.ndim else (y_pred, from_logits)


def _sparse_ce(y_true, y_pred, from_logits, axis, reduction, ignore_class=None):
    y_pred, from_logits = _logits_of(_tensor(y_pred), from_logits, axis)
    y_true = _tensor(y_true, floating=False)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_true.dtype.is_floating_point:
        y_true = y_true.long()
    _check_labels("sparse_categorical_crossentropy", y_true, y_pred.shape[axis], ignore_class)
    # the core ops' ignore_index gives ignored positions a loss of 0 and no gradient
    ignore = {} if ignore_class is None else {"ignore_index": int(ignore_class)}
    if from_logits:
        values = _loss.cross_entropy_dim(y_pred, y_true, axis, reduction=reduction, **ignore)
    else:
        probs = y_pred / _red.sum(y_pred, axis, keepdim=True)
        log_probs = _ew.log(_ew.clamp(probs, EPSILON, 1.0 - EPSILON))
        values = _loss.nll_loss_dim(log_probs, y_true, axis, reduction=reduction, **ignore)
    if ignore:
        values._keras_mask = _ew.ne(y_true, int(ignore_class))
    return values


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p)) along `axis`; y_true smoothed to (1-s)*y + s/classes."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: y_true and y_pred must have the same "
                         f"shape, got y_true {tuple(y_true.shape)} and y_pred "
                         f"{tuple(y_pred.shape)}")
    y_pred, from_logits = _logits_of(y_pred, from_logits, axis)
    if from_logits:
        return _loss.cross_entropy_dim(y_pred, y_true, axis, reduction="none",
                                       label_smoothing=label_smoothing)
    if label_smoothing:
        classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    return _loss.categorical_crossentropy_probs(y_pred, y_true, axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over `axis` of -(y log p + (1-y) log(1-p)); y smoothed to (1-s)*y + s/2."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred), y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = _loss.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        values = _loss.binary_crossentropy_probs(y_pred, y_true)
    return _red.mean(values, axis)


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred), y_pred)
    return _red.mean(_loss.mse_loss(y_pred, y_true, reduction="none"), -1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred), y_pred)
    return _red.mean(_loss.l1_loss(y_pred, y_true, reduction="none"), -1)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e^2 (|e| <= delta) or delta (|e| - 0.5 delta)."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred), y_pred)
    return _red.mean(_loss.huber_loss(y_pred, y_true, reduction="none", delta=delta), -1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred), y_pred)
    y_true = _ew.clamp(y_true, EPSILON, 1.0)
    log_pred = _ew.log(_ew.clamp(y_pred, EPSILON, 1.0))
    return _red.sum(_loss.kl_div(log_pred, y_true, reduction="none"), -1)


# ------------------------------------------------------------------ classes

class Loss:
    """Base class: `__call__(y_true, y_pred, sample_weight=None)` runs `call` (per-sample
    losses) and reduces them with `reduction`."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{list(REDUCTIONS)}. Received: reduction={reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        # as Keras: the prediction's mask (a masked sequence model's output) and the loss
        # function's own mask both leave the masked entries out
        in_mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        mask = out_mask if in_mask is None else (
            in_mask if out_mask is None else in_mask & out_mask)
        return reduce_values(values, sample_weight, self.reduction, mask)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A loss class around a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of integer labels against per-class probabilities (or logits).

    >>> import numpy as np
    >>> loss = SparseCategoricalCrossentropy()
    >>> round(float(loss(np.array([1]), np.array([[0.25, 0.75]], "float32"))), 4)
    0.2877
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None and self.ignore_class is None and self.reduction in (
                "sum_over_batch_size", "mean", "mean_with_sample_weight") and getattr(
                y_pred, "_keras_mask", None) is None:
            # the mean of the per-row losses in the fused op (no (N,) tensor in between)
            return _sparse_ce(y_true, y_pred, self.from_logits, self.axis, "mean")
        return super().__call__(y_true, y_pred, sample_weight)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of one-hot (or soft) labels against probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy of 0/1 labels against probabilities (or logits), mean over the last axis."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class Huber(LossFunctionWrapper):
    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


def _snake(name):
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


# ------------------------------------------------------------------ lookup

_CLASSES = {cls.__name__: cls for cls in (
    SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy,
    MeanSquaredError, MeanAbsoluteError, Huber, KLDivergence)}
_FUNCTIONS = {
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "huber": huber, "huber_loss": huber,
    "kl_divergence": kl_divergence, "kld": kl_divergence, "kullback_leibler_divergence":
        kl_divergence,
}


def get(identifier):
    """A loss from a string (function name, alias or class name), a config dict, a Loss, a
    callable, or None."""
    return _config.get(identifier, "loss", Loss, _FUNCTIONS, _CLASSES, deserialize)


def serialize(loss):
    if isinstance(loss, Loss):
        return _config.serialize(loss)
    return getattr(loss, "__name__", loss)


def deserialize(config):
    return _config.deserialize(config, "loss class", _CLASSES, get)


def loss_object(identifier):
    """A Loss instance for compile: functions and names wrapped so sample weights and reduction
    apply uniformly. The fast SparseCategoricalCrossentropy class stands in for its function."""
    loss = get(identifier)
    if isinstance(loss, Loss):
        return loss
    if loss is sparse_categorical_crossentropy:
        return SparseCategoricalCrossentropy()
    return LossFunctionWrapper(loss, name=getattr(loss, "__name__", "loss"))
