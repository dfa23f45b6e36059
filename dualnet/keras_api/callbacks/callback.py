"""The `Callback` base class (every hook of Keras's, each a no-op) and `CallbackList`, which
dispatches a hook to many callbacks and tells the trainer whether any batch hook is in use."""

__all__ = ["Callback", "CallbackList"]

_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class of callbacks: override the hooks you need. `self.model` and `self.params`
    ({'verbose', 'epochs', 'steps'}) are set before training starts."""

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Legacy alias of on_train_batch_begin."""

    def on_batch_end(self, batch, logs=None):
        """Legacy alias of on_train_batch_end."""

    def on_epoch_begin(self, epoch, logs=None):
        """At the start of an epoch (fit only)."""

    def on_epoch_end(self, epoch, logs=None):
        """At the end of an epoch (fit only); `logs` holds the epoch's metrics, val_* included."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Before a batch of evaluate (and of fit's validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """After a batch of evaluate; `logs` holds the running metrics."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before a batch of predict."""

    def on_predict_batch_end(self, batch, logs=None):
        """After a batch of predict."""

    def on_train_begin(self, logs=None):
        """At the start of fit."""

    def on_train_end(self, logs=None):
        """At the end of fit."""

    def on_test_begin(self, logs=None):
        """At the start of evaluate (and of fit's validation)."""

    def on_test_end(self, logs=None):
        """At the end of evaluate."""

    def on_predict_begin(self, logs=None):
        """At the start of predict."""

    def on_predict_end(self, logs=None):
        """At the end of predict."""


def _overrides(callback, hook):
    """True when `callback` defines `hook` itself (not the no-op of the base class)."""
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook, None)


class CallbackList(Callback):
    """Many callbacks called as one, in order. `needs_batch_hooks(mode)` says whether any of
    them overrides a batch hook of 'train', 'test' or 'predict' (the trainer skips the batch
    calls, and building the batch logs, when none does)."""

    def __init__(self, callbacks=None, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        self._model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def needs_batch_hooks(self, mode):
        hooks = _BATCH_HOOKS[mode]
        for callback in self.callbacks:
            wants = getattr(callback, "_wants_batch_hooks", None)
            if wants is not None:
                if wants(mode):
                    return True
            elif isinstance(callback, CallbackList):
                if callback.needs_batch_hooks(mode):
                    return True
            elif any(_overrides(callback, hook) for hook in hooks):
                return True
        return False

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def __iter__(self):
        return iter(self.callbacks)
