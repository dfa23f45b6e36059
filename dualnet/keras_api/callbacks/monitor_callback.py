"""`MonitorCallback`: the shared part of EarlyStopping, ModelCheckpoint and ReduceLROnPlateau -
which logged quantity to watch, whether lower or higher is better, and what counts as better."""
import operator
import warnings

import numpy as np

from .callback import Callback

__all__ = ["MonitorCallback", "get_learning_rate", "set_learning_rate"]

# Metrics whose name says "higher is better" when the model cannot tell (mode="auto").
_HIGHER_IS_BETTER = {"acc", "accuracy", "auc", "precision", "recall", "f1", "iou", "r2"}
_LOWER_IS_BETTER = {"loss", "error", "crossentropy", "hinge", "divergence", "poisson", "mse",
                    "mae", "mape", "msle", "rmse", "logcosh"}


class MonitorCallback(Callback):
    """Base of the callbacks that watch ``monitor`` in the epoch logs. ``mode`` is "min", "max"
    or "auto" (a loss is minimized; a metric follows its own direction, else its name); a new
    value improves on the reference when it beats it by more than ``min_delta``."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__}: mode {mode!r} is unknown (expected 'auto', "
                          f"'min' or 'max'); using 'auto'", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _metric_direction(self, metric_name):
        for metric in getattr(self.model, "metrics", None) or []:
            for inner in getattr(metric, "metrics", None) or [metric]:
                if getattr(inner, "name", None) == metric_name and hasattr(inner, "_direction"):
                    return inner._direction
        words = set(metric_name.split("_"))
        if words & _LOWER_IS_BETTER:
            return "down"
        if words & _HIGHER_IS_BETTER:
            return "up"
        return None

    def _set_monitor_op(self):
        if self.mode == "min":
            direction = "down"
        elif self.mode == "max":
            direction = "up"
        else:
            name = self.monitor[len("val_"):] if self.monitor.startswith("val_") else self.monitor
            direction = "down" if name == "loss" else self._metric_direction(name)
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__}: cannot tell whether monitor={self.monitor!r} should "
                    f"go up or down; pass mode='max' to keep its highest value or mode='min' "
                    f"to keep its lowest")
        self.monitor_op = operator.lt if direction == "down" else operator.gt
        if direction == "down":
            self.min_delta = -abs(self.min_delta)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


def _scalar(value):
    return float(np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value))


def get_learning_rate(optimizer):
    """The optimizer's current learning rate as a float (a keras_api optimizer's
    ``learning_rate``, or the first parameter group's ``lr`` of a dualnet.optim one)."""
    if optimizer is None:
        raise ValueError("the model has no optimizer: compile it first")
    if hasattr(optimizer, "learning_rate"):
        return _scalar(optimizer.learning_rate)
    if hasattr(optimizer, "param_groups"):
        return float(optimizer.param_groups[0]["lr"])
    raise ValueError(f"optimizer {type(optimizer).__name__} has no learning_rate attribute")


def set_learning_rate(optimizer, value):
    if hasattr(optimizer, "learning_rate"):
        optimizer.learning_rate = value
    elif hasattr(optimizer, "param_groups"):
        for group in optimizer.param_groups:
            group["lr"] = value
    else:
        raise ValueError(f"optimizer {type(optimizer).__name__} has no learning_rate attribute")
