"""The Keras frontend on the GPU: a keras_api model's weights go to "cuda" when a GPU is there
(unless `keras.device("cpu")` or CUDA_VISIBLE_DEVICES="" forces the CPU), fit / evaluate /
predict send every batch to the device of the weights, and the numbers match the same model on
the CPU. Tiny models: the simulator runs every GPU thread in Python."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras
from dualnet.utils.data import DataLoader, TensorDataset


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    return x, y


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _devices(model):
    return {w.device.type for w in model.weights}


def test_fit_evaluate_predict_on_cuda_match_the_cpu():
    x, y = _data()
    gpu = _model()
    with keras.device("cpu"):
        cpu = _model()
    assert _devices(gpu) == {"cuda"} and _devices(cpu) == {"cpu"}
    cpu.set_weights(gpu.get_weights())
    gpu_history = gpu.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    cpu_history = cpu.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert gpu_history.keys() == cpu_history.keys() == {"loss", "accuracy"}
    for key in gpu_history:
        np.testing.assert_allclose(gpu_history[key], cpu_history[key], rtol=1e-5, err_msg=key)
    assert _devices(gpu) == {"cuda"} and _devices(cpu) == {"cpu"}
    for got, want in zip(gpu.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gpu.evaluate(x, y, batch_size=8, verbose=0),
                               cpu.evaluate(x, y, batch_size=8, verbose=0), rtol=1e-5)
    predicted = gpu.predict(x, batch_size=8, verbose=0)
    assert type(predicted) is np.ndarray and predicted.shape == (16, 3)
    np.testing.assert_allclose(predicted, cpu.predict(x, batch_size=8, verbose=0), rtol=1e-5,
                               atol=1e-6)
    assert type(gpu.predict_on_batch(x[:3])) is np.ndarray


def test_dataloader_and_dict_batches_go_to_the_weights():
    x, y = _data()
    loader = DataLoader(TensorDataset(dn.tensor(x), dn.tensor(y)), batch_size=8)
    model = _model()
    model.fit(loader, epochs=1, verbose=0)
    loss, accuracy = model.evaluate(loader, verbose=0)
    assert _devices(model) == {"cuda"}
    np.testing.assert_allclose(loss, model.evaluate(x, y, batch_size=8, verbose=0)[0],
                               rtol=1e-5)

    inputs = keras.Input((4,), name="features")
    functional = keras.Model({"features": inputs}, keras.layers.Dense(2)(inputs))
    functional.compile("adam", "mse")
    functional.fit({"features": x}, np.ones((16, 2), np.float32), batch_size=8, verbose=0)
    assert _devices(functional) == {"cuda"}
    assert functional.predict({"features": x}, verbose=0).shape == (16, 2)


def test_gpu_batches_of_a_dataloader_stay_on_the_gpu(monkeypatch):
    """A DataLoader over GPU tensors feeds fit / evaluate without copying x to the host and
    back: the input batch reaches the model as the loader's tensor (float64 cast to float32)."""
    x, y = _data()
    loader = DataLoader(TensorDataset(dn.tensor(x.astype(np.float64), device="cuda"),
                                      dn.tensor(y, device="cuda")), batch_size=8)
    model = _model()
    seen = []
    call = type(model).__call__

    def spy(self, inputs, *args, **kwargs):
        seen.append(inputs)
        return call(self, inputs, *args, **kwargs)

    monkeypatch.setattr(type(model), "__call__", spy)
    to_host = dn.Tensor.cpu
    hosted = []
    monkeypatch.setattr(dn.Tensor, "cpu", lambda t: hosted.append(t.shape) or to_host(t))
    history = model.fit(loader, epochs=2, verbose=0).history
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    assert seen and all(isinstance(t, dn.Tensor) and t.device.type == "cuda"
                        and t.dtype == dn.float32 for t in seen)
    assert (8, 4) not in hosted  # labels (and predictions, for metrics) may visit the host
    monkeypatch.undo()
    with keras.device("cpu"):
        reference = _model()
    reference.set_weights(model.get_weights())
    np.testing.assert_allclose(model.evaluate(loader, verbose=0),
                               reference.evaluate(x, y, batch_size=8, verbose=0), rtol=1e-5)


def test_model_to_cpu_is_honoured():
    x, y = _data()
    model = _model().to("cpu")
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, verbose=0)
    assert _devices(model) == {"cpu"}
    assert type(model.predict(x, verbose=0)) is np.ndarray


def test_deferred_builds_and_subclassed_models_follow_the_device():
    x, y = _data()
    deferred = keras.Sequential([keras.layers.Dense(3)])  # no Input: built by fit
    deferred.compile("sgd", "mse")
    deferred.fit(x, np.zeros((16, 3), np.float32), batch_size=8, verbose=0)
    assert _devices(deferred) == {"cuda"}

    class TwoLayer(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = keras.layers.Dense(5), keras.layers.Dense(2)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    built = TwoLayer()
    built.build((None, 4))
    assert _devices(built) == {"cuda"}
    assert built(x).device.type == "cuda"  # NumPy inputs go to the weights
    with keras.device("cpu"):
        on_cpu = TwoLayer()
        on_cpu.build((None, 4))
    assert _devices(on_cpu) == {"cpu"}

    # a half-built model on the CPU: the rest builds where the data goes (the CPU), outside
    # any scope
    with keras.device("cpu"):
        first = keras.layers.Dense(5)
        first.build((None, 4))
    mixed = keras.Sequential([first, keras.layers.Dense(2)])
    mixed.compile("sgd", "mse")
    mixed.fit(x, np.zeros((16, 2), np.float32), batch_size=8, verbose=0)
    assert _devices(mixed) == {"cpu"}


def test_device_names_and_hidden_gpus(monkeypatch):
    with keras.device("gpu:0") as where:
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
    assert where == dn.device("cuda:0") and _devices(layer) == {"cuda"}
    with keras.device("cpu"):
        with keras.device("cuda"):
            inner = keras.layers.Dense(2)
            inner.build((None, 3))
        outer = keras.layers.Dense(2)
        outer.build((None, 3))
    assert _devices(inner) == {"cuda"} and _devices(outer) == {"cpu"}
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        keras.device("gpu:7")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    hidden = keras.layers.Dense(2)
    hidden.build((None, 3))
    assert _devices(hidden) == {"cpu"}


def test_batches_follow_a_model_moved_between_epochs():
    # fit looks up the weights' device once an epoch: a callback may move the model in between
    x, y = _data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert _devices(model) == {"cuda"}
    moved = []

    class MoveToCPU(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.to("cpu")
                moved.append(epoch)

    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[MoveToCPU()])
    assert moved == [1] and _devices(model) == {"cpu"}
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
