"""`LearningRateScheduler`: set the learning rate at each epoch's start from a function."""
import numpy as np

from .callback import Callback
from .monitor_callback import get_learning_rate, set_learning_rate

__all__ = ["LearningRateScheduler"]


class LearningRateScheduler(Callback):
    """At the start of each epoch, lr = ``schedule(epoch, lr)`` (epoch 0-based; a one-argument
    ``schedule(epoch)`` works too). Adds ``learning_rate`` to the epoch logs.

    >>> scheduler = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        current = get_learning_rate(optimizer)
        try:
            learning_rate = self.schedule(epoch, current)
        except TypeError:  # the older one-argument form
            learning_rate = self.schedule(epoch)
        if isinstance(learning_rate, np.ndarray) and learning_rate.ndim == 0:
            learning_rate = learning_rate.item()
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, got "
                             f"{learning_rate!r} for epoch {epoch}")
        set_learning_rate(optimizer, float(learning_rate))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(self.model.optimizer)
