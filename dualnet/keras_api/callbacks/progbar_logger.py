"""`ProgbarLogger`: the callback fit/evaluate/predict add when verbose != 0; it drives a
`Progbar` per epoch (and per evaluate / predict call)."""
from ..utils.progbar import Progbar
from .callback import Callback

__all__ = ["ProgbarLogger"]


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and a progress line per epoch (verbose 1: a live bar on a terminal;
    verbose 2: one line per epoch)."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _wants_batch_hooks(self, mode):
        """Batch hooks matter to a live bar (verbose 1 on a terminal), or to count the steps
        when their number is unknown; otherwise the bar is drawn once, at the end."""
        if self.verbose == 1 and Progbar(None, verbose=0)._dynamic_display:
            return True
        return self.target is None

    def _new_bar(self, target):
        self.seen = 0
        self.progbar = Progbar(target=target, verbose=self.verbose, unit_name="step")

    def _update(self, batch, logs):
        self.seen = batch + 1
        if self.progbar is not None:
            self.progbar.update(self.seen, logs, finalize=False)

    def _finish(self, logs):
        if self.progbar is None:
            return
        if not self.seen and self.target is not None:  # batch hooks were skipped
            self.seen = self.target
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.seen, logs, finalize=True)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar(self.target)
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar(self.target)

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar(self.target)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finish(None)
