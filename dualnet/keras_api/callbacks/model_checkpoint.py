"""`ModelCheckpoint`: save the model (or its weights) during `fit`, every epoch or every N batches,
optionally only when the monitored quantity improves."""
import os
import warnings

import numpy as np

from .monitor_callback import MonitorCallback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """Save to ``filepath``, a format string filled with ``epoch`` (1-based) and the logs:
    ``"ckpt/{epoch:02d}-{val_loss:.2f}.keras"``. ``save_weights_only`` writes `save_weights`
    files (the path must end in ``.weights.h5``), else `model.save` files (``.keras``).
    ``save_best_only`` saves only when ``monitor`` improves on the best value seen (starting
    from ``initial_value_threshold``); ``save_freq`` is "epoch" or a number of batches."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_since_save = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number "
                             f"of batches, got {save_freq!r}")
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(f"ModelCheckpoint: with save_weights_only=True the filepath must end "
                             f"in `.weights.h5`, got filepath={self.filepath!r}")
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError(f"ModelCheckpoint: the filepath must end in `.keras` (a whole "
                             f"model; use save_weights_only=True for `.weights.h5`), got "
                             f"filepath={self.filepath!r}")

    def _wants_batch_hooks(self, mode):
        return mode == "train" and self.save_freq != "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        # Batch indices restart at 0 each epoch.
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            seen = batch + 1
        else:
            seen = batch - self._last_batch_seen
        self._batches_since_save += seen
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            return True
        return False

    def _file_path(self, epoch, batch, logs):
        fields = dict(logs or {})
        if batch is not None and "batch" not in fields:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except KeyError as err:
            raise KeyError(f"ModelCheckpoint: cannot fill the filepath {self.filepath!r}: "
                           f"{err} is not in the logs ({', '.join(fields) or 'none'})") from None

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"ModelCheckpoint: can save the best model only with {self.monitor!r} "
                          f"in the logs; saving every time", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(f"ModelCheckpoint: the monitored {self.monitor!r} is not a scalar "
                          f"({current}); saving every time", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IsADirectoryError(f"ModelCheckpoint: the filepath {filepath!r} is an existing "
                                    f"directory; give a file name")
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
