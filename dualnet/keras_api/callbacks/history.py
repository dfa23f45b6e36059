"""`History`: the callback fit always adds; it records each epoch's logs."""
from .callback import Callback

__all__ = ["History"]


class History(Callback):
    """`history.history` maps each metric name to its per-epoch values; `history.epoch` lists
    the epochs run. `model.fit` returns it (and keeps it as `model.history`)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self

    def plot(self, keys=None, ax=None):
        """Plot each metric (or those in `keys`) against the epoch with matplotlib; returns the
        axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("History.plot needs matplotlib: pip install matplotlib") from None
        if ax is None:
            ax = plt.figure().gca()
        for key in keys or list(self.history):
            ax.plot(self.epoch, self.history[key], label=key)
        ax.set_xlabel("epoch")
        ax.legend()
        return ax
