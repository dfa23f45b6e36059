"""`LambdaCallback`: a callback made of plain functions, for one-off hooks."""
from .callback import Callback

__all__ = ["LambdaCallback"]

_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
          "on_train_batch_begin", "on_train_batch_end")


class LambdaCallback(Callback):
    """Each given function replaces that hook: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``; other keyword
    arguments (``on_test_end=...`` and the like) become attributes, as in Keras.

    >>> print_epoch = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        given = dict(zip(_HOOKS, (on_epoch_begin, on_epoch_end, on_train_begin, on_train_end,
                                  on_train_batch_begin, on_train_batch_end)))
        for hook, function in given.items():
            if function is not None:
                setattr(self, hook, function)

    def _wants_batch_hooks(self, mode):
        """The trainer calls batch hooks only for callbacks that want them: here, those given
        as functions (instance attributes, which a look at the class cannot see)."""
        prefix = {"train": ("on_train_batch_", "on_batch_"), "test": ("on_test_batch_",),
                  "predict": ("on_predict_batch_",)}[mode]
        return any(key.startswith(prefix) and callable(value)
                   for key, value in self.__dict__.items())
