"""`TensorBoard`: scalar event files for TensorBoard, written through tensorboardX (optional:
`pip install tensorboardX`)."""
import os
import time
import warnings

import numpy as np

from .callback import Callback
from .monitor_callback import get_learning_rate

__all__ = ["TensorBoard"]


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as err:
        raise ImportError("keras.callbacks.TensorBoard writes its event files with tensorboardX: "
                          "pip install tensorboardX") from err
    return SummaryWriter


class TensorBoard(Callback):
    """Log the epoch metrics as Keras does: ``epoch_<metric>`` scalars (step = epoch, 0-based)
    under ``<log_dir>/train`` and, for the ``val_`` logs, under ``<log_dir>/validation``, plus
    ``epoch_learning_rate``. ``update_freq`` ("epoch", "batch" or a number of batches) also logs
    ``batch_<metric>`` every that many batches; ``histogram_freq`` N > 0 logs a histogram of
    every weight each N epochs; ``write_steps_per_second`` logs the training speed.
    No graph, image, profile or embedding is written: those options warn when switched on
    (``write_graph`` is on by default in Keras and is ignored quietly)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        self._writer_class = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_steps_per_second = write_steps_per_second
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"number of batches, got {update_freq!r}")
        self.update_freq = update_freq
        for option, value in (("write_images", write_images), ("profile_batch", profile_batch),
                              ("embeddings_freq", embeddings_freq),
                              ("embeddings_metadata", embeddings_metadata)):
            if value:
                warnings.warn(f"TensorBoard: {option}={value!r} is not supported by dualnet; "
                              f"only scalars and weight histograms are written", stacklevel=2)
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start_time = 0.0
        self._epoch_batches = 0

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = self._writer_class(os.path.join(self.log_dir, run))
        return self._writers[run]

    @staticmethod
    def _value(value):
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        return float(np.asarray(value))

    def _wants_batch_hooks(self, mode):
        return mode == "train" and (self.update_freq != "epoch" or self.write_steps_per_second)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = time.time()
        self._epoch_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        self._epoch_batches += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", self._value(value), self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and "learning_rate" not in train:
            train["learning_rate"] = get_learning_rate(optimizer)
        if self.write_steps_per_second:
            elapsed = time.time() - self._epoch_start_time
            train["steps_per_second"] = self._epoch_batches / elapsed if elapsed > 0 else 0.0
        for run, values in (("train", train), ("validation", validation)):
            if values:
                writer = self._writer(run)
                for name, value in values.items():
                    if np.ndim(value) == 0:
                        writer.add_scalar(f"epoch_{name}", self._value(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for layer in getattr(self.model, "layers", []):
                for index, weight in enumerate(layer.weights):
                    tag = f"{layer.name}/{getattr(weight, 'name', None) or index}_histogram"
                    writer.add_histogram(tag, weight.detach().cpu().numpy(), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
