"""`Trainer`: the mixin that gives `keras_api.Model` Keras's compile / fit / evaluate / predict
(and the *_on_batch methods). One training loop: forward with training=True, the compiled loss
plus the model's regularization losses, backward, one optimizer step; metrics are NumPy
accumulators and callbacks' batch hooks run only when some callback defines them."""
import math

import numpy as np

from ..core.autograd import no_grad
from ..core.creation import from_numpy
from ..core.tensor import Tensor
from . import _devices
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .callbacks.callback import CallbackList
from .callbacks.history import History
from .callbacks.progbar_logger import ProgbarLogger

__all__ = ["Trainer"]


# ------------------------------------------------------------------ data handling

def _is_array_like(value):
    return isinstance(value, (np.ndarray, Tensor)) or (
        hasattr(value, "__array__") and hasattr(value, "shape"))


def _is_array_structure(value):
    """An array, or a list/tuple/dict of arrays (several inputs or outputs)."""
    if value is None:
        return True
    if _is_array_like(value):
        return True
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_is_array_like(v) for v in value)
    if isinstance(value, dict):
        return all(_is_array_like(v) for v in value.values())
    return False


def _to_numpy(value):
    """NumPy array of an array-like; float arrays become float32 (Keras's floatx)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    value = np.asarray(value)
    if value.dtype.kind == "f" and value.dtype != np.float32:
        value = value.astype(np.float32)
    elif value.dtype == np.bool_:
        value = value.astype(np.float32)
    return value


def _input_batch(value):
    """An input batch from an iterable: a tensor stays a tensor on its device (a DataLoader's
    GPU batch goes to the model without a trip through host memory), in Keras's float32 when
    it holds floats or bools; anything else becomes a NumPy array as `_to_numpy` makes it."""
    if not isinstance(value, Tensor):
        return _to_numpy(value)
    value = value.detach()
    kind = value.dtype.np.kind
    return value.float() if (kind == "f" and value.dtype.np != np.float32) or kind == "b" \
        else value


def _map(fn, structure):
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {k: fn(v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [fn(v) for v in structure]
    return fn(structure)


def _flatten(structure):
    if structure is None:
        return []
    if isinstance(structure, dict):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


def _to_tensor(array, device=None):
    """A tensor over the NumPy batch (shared memory when contiguous), moved to `device` when
    given (the device of the model's weights)."""
    if not isinstance(array, Tensor):
        if not (type(array) is np.ndarray and array.flags.c_contiguous):
            array = np.ascontiguousarray(array)
        array = from_numpy(array)
    return array if device is None or array.device == device else array.to(device)


def _host(value):
    """A prediction as a NumPy array in host memory (a CPU tensor's own array, no copy)."""
    return value.numpy(force=True) if isinstance(value, Tensor) else value


def _check_cardinality(x, y, sample_weight):
    sizes = {}
    for label, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        lengths = [int(a.shape[0]) for a in _flatten(part)]
        if lengths:
            sizes[label] = lengths
    if len({n for lengths in sizes.values() for n in lengths}) > 1:
        facts = ", ".join(f"'{label}' sizes: {', '.join(map(str, lengths))}"
                          for label, lengths in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous: x and y must contain the same number "
                         f"of samples. Got {facts}")


def _class_weights_to_sample_weights(y, class_weight):
    labels = _to_numpy(_flatten(y)[0])
    if labels.ndim > 1 and labels.shape[-1] != 1:
        labels = np.argmax(labels, axis=-1)
    labels = np.round(labels.reshape(labels.shape[0], -1)[:, 0]).astype(np.int64)
    weights = np.ones(labels.shape[0], np.float32)
    for cls, weight in class_weight.items():
        weights[labels == int(cls)] = weight
    return weights


class _ArrayData:
    """In-memory arrays cut into batches, reshuffled each epoch when asked."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle, steps=None):
        self.x = _map(_to_numpy, x)
        self.y = _map(_to_numpy, y)
        self.sample_weight = _map(_to_numpy, sample_weight)
        _check_cardinality(self.x, self.y, self.sample_weight)
        self.size = int(_flatten(self.x)[0].shape[0])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps = steps if steps is not None else math.ceil(self.size / batch_size)

    def __iter__(self):
        order = np.random.permutation(self.size) if self.shuffle else None
        size, batch_size = self.size, self.batch_size
        x, y, sample_weight = self.x, self.y, self.sample_weight
        plain = type(x) is np.ndarray and (y is None or type(y) is np.ndarray) and \
            sample_weight is None  # one input, one target: no structure to walk per batch
        for step in range(self.steps):
            start = (step * batch_size) % size if size else 0
            if order is None:
                index = slice(start, min(start + batch_size, size))
            else:
                index = order[start:start + batch_size]
            if plain:
                yield x[index], (None if y is None else y[index]), None
                continue
            take = lambda a: a[index]  # noqa: E731
            yield (_map(take, x), _map(take, y), _map(take, sample_weight))


class _IterableData:
    """Batches from a DataLoader, a generator or any iterable of (x, y[, sample_weight])."""

    def __init__(self, source, steps=None, class_weight=None):
        self.source = source
        self.class_weight = class_weight
        self.steps = steps
        if steps is None:
            try:
                self.steps = len(source)
            except TypeError:
                self.steps = None
        self._iterator = None
        self._reiterable = iter(source) is not source if hasattr(source, "__iter__") else False

    def __iter__(self):
        if self._reiterable or self._iterator is None:
            self._iterator = iter(self.source)
        iterator = self._iterator
        step = 0
        while self.steps is None or step < self.steps:
            try:
                batch = next(iterator)
            except StopIteration:
                if self._reiterable and self.steps is not None and step < self.steps:
                    iterator = self._iterator = iter(self.source)
                    try:
                        batch = next(iterator)
                    except StopIteration:
                        return
                else:
                    return
            step += 1
            yield self._unpack(batch)

    def _unpack(self, batch):
        if isinstance(batch, (list, tuple)) and not _is_array_like(batch):
            if len(batch) == 1:
                x, y, sample_weight = batch[0], None, None
            elif len(batch) == 2:
                (x, y), sample_weight = batch, None
            elif len(batch) == 3:
                x, y, sample_weight = batch
            else:
                raise ValueError(f"Each batch of the data must be (x,), (x, y) or "
                                 f"(x, y, sample_weight); got a sequence of {len(batch)} items")
        else:
            x, y, sample_weight = batch, None, None
        x = _map(_input_batch, x)
        y = _map(_to_numpy, y)
        sample_weight = _map(_to_numpy, sample_weight)
        if self.class_weight is not None and y is not None and sample_weight is None:
            sample_weight = _class_weights_to_sample_weights(y, self.class_weight)
        return x, y, sample_weight


def _make_data(x, y, sample_weight, batch_size, shuffle, steps, class_weight):
    if _is_array_structure(x):
        if x is None:
            raise ValueError("fit/evaluate/predict need input data: x is None")
        if class_weight is not None:
            if y is None:
                raise ValueError("class_weight needs targets y")
            if sample_weight is not None:
                raise ValueError("You cannot pass both class_weight and sample_weight")
            sample_weight = _class_weights_to_sample_weights(y, class_weight)
        return _ArrayData(x, y, sample_weight, batch_size, shuffle, steps)
    if y is not None:
        raise ValueError(f"When x is a data iterable ({type(x).__name__}), y must not be given: "
                         f"the iterable yields (x, y) batches itself")
    if sample_weight is not None:
        raise ValueError(f"When x is a data iterable ({type(x).__name__}), sample_weight must "
                         f"not be given: yield (x, y, sample_weight) batches instead")
    return _IterableData(x, steps, class_weight)


def _split_validation(x, y, sample_weight, validation_split):
    """The last `validation_split` of the samples, taken before any shuffling (Keras's rule)."""
    if not _is_array_structure(x):
        raise ValueError(f"validation_split is only supported for NumPy arrays and tensors, got "
                         f"x of type {type(x).__name__}; pass validation_data instead")
    x, y, sample_weight = (_map(_to_numpy, part) for part in (x, y, sample_weight))
    _check_cardinality(x, y, sample_weight)
    size = int(_flatten(x)[0].shape[0])
    split_at = int(math.floor(size * (1.0 - validation_split)))
    if split_at == 0 or split_at == size:
        raise ValueError(f"validation_split={validation_split} leaves no samples on one side: "
                         f"{size} samples give {split_at} for training and {size - split_at} "
                         f"for validation")

    def head(a):
        return a[:split_at]

    def tail(a):
        return a[split_at:]
    train = tuple(_map(head, part) for part in (x, y, sample_weight))
    val = tuple(_map(tail, part) for part in (x, y, sample_weight))
    return train, val


def _unpack_validation_data(validation_data):
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3) and \
            _is_array_structure(validation_data[0]):
        x, y = validation_data[0], validation_data[1]
        sample_weight = validation_data[2] if len(validation_data) == 3 else None
        return x, y, sample_weight
    return validation_data, None, None


# ------------------------------------------------------------------ the mixin

class Trainer:
    """compile / fit / evaluate / predict for a model (an nn.Module called as
    `model(x, training=...)`)."""

    compiled = False
    stop_training = False
    _batch_device = None  # where fit's batches go, fixed for an epoch (see `_data_device`)
    _pending = ()  # metric updates not applied yet (`_defer_metric_update`); a list once compiled
    optimizer = None
    loss = None

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto"):
        """Configure training: the optimizer (name or instance), the loss (name, function, Loss,
        or a list/dict of them per output) and the metrics to report."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        self.loss_weights = loss_weights
        self._loss_objects = self._resolve_losses(loss)
        for spec in _flatten(metrics) + _flatten(weighted_metrics):
            for item in _flatten(spec) if isinstance(spec, (list, tuple, dict)) else [spec]:
                if not (isinstance(item, str) and item in ("accuracy", "acc")):
                    metrics_module.get(item)  # unknown names fail here, listing valid ones
        self._metric_specs = metrics
        self._weighted_metric_specs = weighted_metrics
        self._compile_metrics = None  # built on the first batch, when shapes are known
        self._pending = []  # metric updates not applied yet (`_defer_metric_update`)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.run_eagerly, self.steps_per_execution = run_eagerly, steps_per_execution
        self.jit_compile = jit_compile
        self.compiled = True
        self.stop_training = False

    def _resolve_losses(self, loss):
        if loss is None:
            return None
        if isinstance(loss, (list, tuple)):
            return [losses_module.loss_object(item) for item in loss]
        if isinstance(loss, dict):
            return {key: losses_module.loss_object(item) for key, item in loss.items()}
        return losses_module.loss_object(loss)

    # ------------------------------------------------------------------ metrics

    @property
    def metrics(self):
        self._flush_metric_updates()
        found = []
        if self.compiled:
            found.append(self._loss_tracker)
            found.extend(self._compile_metrics or [])
        return found

    @property
    def metrics_names(self):
        """Keras 3's names: 'loss', then 'compile_metrics' when compile was given metrics."""
        if not self.compiled:
            return []
        names = ["loss"]
        if self._metric_specs or self._weighted_metric_specs:
            names.append("compile_metrics")
        return names

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def _build_compile_metrics(self, y, y_pred):
        """The compiled metrics as (metric, output index or None, weighted) triples."""
        built = []
        outputs = y_pred if isinstance(y_pred, (list, tuple)) else None
        names = list(getattr(self, "output_names", None) or [])
        for specs, weighted in ((self._metric_specs, False), (self._weighted_metric_specs,
                                                               True)):
            if not specs:
                continue
            if outputs is None:
                if isinstance(specs, dict):
                    specs = next(iter(specs.values()))
                for spec in specs:
                    built.append((metrics_module.compile_metric(spec, y, y_pred), None,
                                  weighted))
                continue
            if isinstance(specs, dict):
                per_output = [specs.get(name, []) for name in names]
            elif specs and all(isinstance(s, (list, tuple)) for s in specs):
                per_output = list(specs)
            else:
                raise ValueError(f"For a model with {len(outputs)} outputs, metrics must be a "
                                 f"list of lists or a dict keyed by output name, got {specs!r}")
            for index, specs_of_output in enumerate(per_output):
                prefix = names[index] if index < len(names) else f"output_{index + 1}"
                for spec in _flatten(specs_of_output) if not isinstance(
                        specs_of_output, str) else [specs_of_output]:
                    metric = metrics_module.compile_metric(spec, y[index], outputs[index])
                    metric.name = f"{prefix}_{metric.name}"
                    built.append((metric, index, weighted))
        self._compile_entries = built
        self._compile_metrics = [metric for metric, _, _ in built]
        self._deferrable = bool(built) and all(index is None and not weighted and _additive(m)
                                               for m, index, weighted in built)

    def _update_metrics(self, loss_value, batch_size, y, y_pred, sample_weight):
        self._loss_tracker.update_state(loss_value, sample_weight=batch_size)
        if self._compile_metrics is None:
            self._build_compile_metrics(y, y_pred)
        if not self._compile_entries or y is None:
            return
        if self._deferrable and type(y) is np.ndarray and isinstance(y_pred, Tensor) and \
                getattr(y_pred, "_keras_mask", None) is None:
            pred = _host(y_pred)
            if pred.nbytes <= _DEFER_BYTES:
                self._defer_metric_update(y, pred)
                return
        self._flush_metric_updates()
        pred = _map(_host, y_pred)
        masks = _map(_mask_array, y_pred)
        for metric, index, weighted in self._compile_entries:
            weight = sample_weight if weighted else None
            if index is None:
                metric.update_state(y, pred, _masked_weight(weight, masks))
            else:
                metric.update_state(y[index], pred[index], _masked_weight(weight, masks[index]))

    def _defer_metric_update(self, y, pred):
        """Keep a batch's (targets, predictions) for the built-in, additive metrics: they update
        once per `_DEFER_STEPS` batches on the batches joined, which costs one set of NumPy
        calls instead of one per batch (~2% of a small model's step), with the same totals.
        Copies, as a data source may reuse its arrays; any read of the metrics applies them."""
        pending = self._pending
        if pending and (pending[0][0].shape[1:] != y.shape[1:] or pending[0][1].shape[1:] !=
                        pred.shape[1:] or pending[0][0].dtype != y.dtype):
            self._flush_metric_updates()
        pending.append((np.array(y), np.array(pred)))
        if len(pending) >= _DEFER_STEPS:
            self._flush_metric_updates()

    def _flush_metric_updates(self):
        pending = self._pending
        if not pending:
            return
        self._pending = []
        y = pending[0][0] if len(pending) == 1 else np.concatenate([p[0] for p in pending])
        pred = pending[0][1] if len(pending) == 1 else np.concatenate([p[1] for p in pending])
        for metric, _, _ in self._compile_entries:
            metric.update_state(y, pred, None)

    def _logs(self):
        results = {metric.name: float(metric.result()) for metric in self.metrics}
        return dict(sorted(results.items()))

    # ------------------------------------------------------------------ one step

    def _data_device(self):
        """Where the batches go: the device of the model's weights (before a deferred build,
        where its weights will be created: a `keras.device` scope's, else the GPU if any)."""
        return _devices.input_device(self)

    def _forward(self, x, training):
        device = self._batch_device or self._data_device()
        if isinstance(x, (np.ndarray, Tensor)):
            return self(_to_tensor(x, device), training=training)
        return self(_map(lambda a: _to_tensor(a, device), x), training=training)

    def _compute_loss(self, y, y_pred, sample_weight, training):
        losses = self._loss_objects
        total = None
        if losses is not None:
            device = _flatten(y_pred)[0].device  # targets and weights join the predictions
            weights = sample_weight if sample_weight is None else _to_tensor(sample_weight,
                                                                             device)
            if isinstance(losses, (list, dict)):
                outputs = list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]
                names = list(getattr(self, "output_names", None) or [])
                targets = y if isinstance(y, (list, tuple)) else (
                    [y[name] for name in names] if isinstance(y, dict) else [y])
                if isinstance(losses, dict):
                    losses = [losses.get(name) for name in names]
                loss_weights = self.loss_weights
                if isinstance(loss_weights, dict):
                    loss_weights = [loss_weights.get(name, 1.0) for name in names]
                for index, (loss_fn, target, output) in enumerate(zip(losses, targets, outputs)):
                    if loss_fn is None:
                        continue
                    value = loss_fn(_to_tensor(target, output.device), output, weights)
                    if loss_weights is not None:
                        value = value * float(loss_weights[index])
                    total = value if total is None else total + value
            else:
                total = losses(_to_tensor(y, device), y_pred, weights)
                if self.loss_weights is not None:
                    total = total * float(_flatten(self.loss_weights)[0])
        extra = getattr(self, "losses", None) if training else None
        if extra:
            for penalty in extra:
                total = penalty if total is None else total + penalty
        if total is None:
            raise ValueError("No loss to compute: compile() was given no loss and the model "
                             "added none; pass loss= to compile()")
        return total

    def _trainable_variables(self):
        weights = getattr(self, "trainable_weights", None)
        if weights is None:
            weights = [p for p in self.parameters() if p.requires_grad]
        return list(weights)

    def _check_optimizer_variables(self):
        """Keras's rule: a built optimizer updates only the variables it was built with, so a
        weight made trainable since (a layer unfrozen, LoRA's after `enable_lora`) is an error
        rather than a weight that silently never trains: compile again for a new optimizer."""
        optimizer = self.optimizer
        if not optimizer.built:
            return
        known = {id(v) for v in optimizer._variables}
        for weight in self._trainable_variables():
            if id(weight) not in known:
                name = next((n for n, p in self.named_parameters() if p is weight), "?")
                raise ValueError(f"Unknown variable: '{name}' of shape {tuple(weight.shape)}. "
                                 f"This optimizer can only be called for the variables it was "
                                 f"originally built with; the model has gained trainable "
                                 f"weights since (a layer unfrozen, enable_lora): call "
                                 f"compile() again to get a new optimizer")

    def _train_step(self, x, y, sample_weight):
        optimizer = self.optimizer
        # gradients are dropped before the forward pass, so that its arrays reuse their memory
        if optimizer.built:
            optimizer.zero_grad()
        y_pred = self._forward(x, True)
        if not optimizer.built:  # after the first call, which builds a deferred model's weights
            optimizer.build(self._trainable_variables())
            optimizer.zero_grad()
        loss = self._compute_loss(y, y_pred, sample_weight, True)
        loss.backward()
        optimizer.step()
        batch_size = int(_flatten(x)[0].shape[0])
        self._update_metrics(loss.item(), batch_size, y, y_pred, sample_weight)

    def _test_step(self, x, y, sample_weight):
        with no_grad():
            y_pred = self._forward(x, False)
            loss = self._compute_loss(y, y_pred, sample_weight, False) \
                if self._loss_objects is not None else None
        batch_size = int(_flatten(x)[0].shape[0])
        self._update_metrics(0.0 if loss is None else loss.item(), batch_size, y, y_pred,
                             sample_weight)

    # ------------------------------------------------------------------ fit

    def _assert_compiled(self):
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")

    def _callbacks(self, callbacks, verbose, epochs, steps):
        if isinstance(callbacks, CallbackList):
            return callbacks
        callback_list = CallbackList(callbacks)
        if verbose:
            callback_list.append(ProgbarLogger())
        callback_list.set_model(self)
        callback_list.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        return callback_list

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns the History (also kept as `model.history`)."""
        self._assert_compiled()
        verbose = 1 if verbose == "auto" else verbose
        batch_size = 32 if batch_size is None else batch_size
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = _split_validation(
                x, y, sample_weight, validation_split)
        data = _make_data(x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                          class_weight)
        val_data = None
        if validation_data is not None:
            val_x, val_y, val_weight = _unpack_validation_data(validation_data)
            val_data = _make_data(val_x, val_y, val_weight, validation_batch_size or batch_size,
                                  False, validation_steps, None)

        history = History()
        callback_list = self._callbacks(callbacks, verbose, epochs, data.steps)
        callback_list.append(history)
        history.set_model(self)
        history.set_params(callback_list.params)
        batch_hooks = callback_list.needs_batch_hooks("train")
        self._check_optimizer_variables()
        self.history = history
        self.stop_training = False
        callback_list.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            step = -1
            # looked up once an epoch (a callback may move the model between epochs)
            self._batch_device = self._data_device()
            try:
                for step, (bx, by, bw) in enumerate(data):
                    if batch_hooks:
                        callback_list.on_train_batch_begin(step)
                    self._train_step(bx, by, bw)
                    # the batch's arrays go back to the allocator before the next batch is cut,
                    # which then reuses their (cached) memory, as a hand-written loop does
                    bx = by = bw = None
                    if batch_hooks:
                        callback_list.on_train_batch_end(step, self._logs())
                    if self.stop_training:
                        break
            finally:
                self._batch_device = None
            if step < 0:
                raise ValueError("The training data produced no batch; check x (an empty array "
                                 "or an exhausted generator?)")
            epoch_logs = self._logs()
            if val_data is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_data(val_data, callback_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return history

    # ------------------------------------------------------------------ evaluate / predict

    def _evaluate_data(self, data, callback_list):
        self.reset_metrics()
        batch_hooks = callback_list.needs_batch_hooks("test")
        callback_list.on_test_begin()
        for step, (bx, by, bw) in enumerate(data):
            if batch_hooks:
                callback_list.on_test_batch_begin(step)
            self._test_step(bx, by, bw)
            if batch_hooks:
                callback_list.on_test_batch_end(step, self._logs())
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics over the data: a scalar (loss only), a list [loss, *metrics] or,
        with return_dict, a dict."""
        self._assert_compiled()
        verbose = 1 if verbose == "auto" else verbose
        data = _make_data(x, y, sample_weight, batch_size or 32, False, steps, None)
        callback_list = self._callbacks(callbacks, verbose, 1, data.steps)
        logs = self._evaluate_data(data, callback_list)
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in self._compile_metrics or []]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs over `x`, batch by batch, as NumPy arrays (concatenated)."""
        verbose = 1 if verbose == "auto" else verbose
        data = _make_data(x, None, None, batch_size or 32, False, steps, None)
        callback_list = self._callbacks(callbacks, verbose, 1, data.steps)
        batch_hooks = callback_list.needs_batch_hooks("predict")
        callback_list.on_predict_begin()
        outputs = []
        with no_grad():
            for step, (bx, _, _) in enumerate(data):
                if batch_hooks:
                    callback_list.on_predict_batch_begin(step)
                y_pred = self._forward(bx, False)
                outputs.append(_map(lambda t: np.array(_host(t)), y_pred))
                if batch_hooks:
                    callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict got no batch from x (an empty array or an exhausted "
                             "generator?)")
        first = outputs[0]
        if isinstance(first, dict):
            return {k: np.concatenate([o[k] for o in outputs]) for k in first}
        if isinstance(first, list):
            return [np.concatenate([o[i] for o in outputs]) for i in range(len(first))]
        return np.concatenate(outputs)

    # ------------------------------------------------------------------ single batches

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimizer step on one batch; returns the batch's loss and metrics."""
        self._assert_compiled()
        self._check_optimizer_variables()
        self.reset_metrics()
        data = _make_data(x, y, sample_weight, 1 << 62, False, 1, class_weight)
        for bx, by, bw in data:
            self._train_step(bx, by, bw)
        return self._batch_result(return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled()
        self.reset_metrics()
        data = _make_data(x, y, sample_weight, 1 << 62, False, 1, None)
        for bx, by, bw in data:
            self._test_step(bx, by, bw)
        return self._batch_result(return_dict)

    def predict_on_batch(self, x):
        with no_grad():
            y_pred = self._forward(_map(_to_numpy, x), False)
        return _map(lambda t: np.array(_host(t)), y_pred)

    def _batch_result(self, return_dict):
        logs = self._logs()
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in self._compile_metrics or []]
        return values[0] if len(values) == 1 else values


# a batch's metric update may wait for up to _DEFER_STEPS batches of predictions of up to
# _DEFER_BYTES each (see `Trainer._defer_metric_update`)
_DEFER_STEPS, _DEFER_BYTES = 32, 1 << 16


def _additive(metric):
    """Whether a compiled metric is one of dualnet's own (not a user's class or function), whose
    state sums over samples, so that updating on batches joined gives the same result."""
    if not type(metric).__module__.startswith("dualnet.keras_api."):
        return False
    fn = getattr(metric, "_fn", None)
    return fn is None or getattr(fn, "__module__", "").startswith("dualnet.keras_api.")


def _mask_array(value):
    """A prediction's Keras mask (`_keras_mask`) as a NumPy array, or None."""
    mask = getattr(value, "_keras_mask", None) if isinstance(value, Tensor) else None
    return None if mask is None else mask.detach().cpu().numpy()


def _masked_weight(sample_weight, mask):
    """Keras's metrics fold a prediction's mask into the sample weights (masked entries weigh
    0), whether or not sample weights were given."""
    if not isinstance(mask, np.ndarray):
        return sample_weight
    weight = mask.astype(np.float32)
    if sample_weight is None:
        return weight
    sample_weight = np.asarray(sample_weight, dtype=np.float32)
    while sample_weight.ndim > weight.ndim and sample_weight.shape[-1] == 1:
        sample_weight = sample_weight[..., 0]
    while sample_weight.ndim < weight.ndim:
        sample_weight = sample_weight[..., None]
    return sample_weight * weight
