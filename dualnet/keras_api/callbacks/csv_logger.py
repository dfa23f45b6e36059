"""`CSVLogger`: one CSV row of epoch logs per epoch."""
import collections.abc
import csv
import os

import numpy as np

from .callback import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Write ``epoch`` and every logged value, columns in sorted key order, to ``filename``
    (``separator`` between fields). ``append`` keeps an existing file's rows (and its header).
    Without validation data the ``val_`` columns are still written, as "NA", like Keras."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        mode = "w"
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as existing:
                    self.append_header = not existing.readline()
            mode = "a"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    @staticmethod
    def _cell(value):
        if isinstance(value, str):
            return value
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if isinstance(value, collections.abc.Iterable) and np.ndim(value) > 0:
            return f'"[{", ".join(map(str, value))}]"'
        return value.item() if isinstance(value, np.ndarray) else value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(f"val_{key}" for key in list(self.keys))
        if self.writer is None:
            dialect = type("SeparatorDialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, self._cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
