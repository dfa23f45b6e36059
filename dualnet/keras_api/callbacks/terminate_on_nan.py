"""`TerminateOnNaN`: stop `fit` as soon as a batch's loss is NaN or infinite."""
import math

import numpy as np

from .callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """After each training batch, check ``logs["loss"]``: NaN or inf stops training (with a
    message naming the batch), or raises RuntimeError when ``raise_error`` is set."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if hasattr(loss, "detach"):
            loss = loss.detach().cpu().numpy()
        value = float(np.asarray(loss))
        if math.isfinite(value):
            return
        if self.raise_error:
            raise RuntimeError(f"TerminateOnNaN: loss is {value} at batch {batch}; "
                               f"stopping training")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
