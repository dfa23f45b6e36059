"""compile/fit/evaluate/predict of keras_api models: History contents, validation_split,
sample/class weights, DataLoader and generator input, the bad-input errors, and the same
weights as real Keras's fit and as a hand-written loop."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras_dn
from dualnet.keras_api import layers, losses, optimizers
from dualnet.keras_api.callbacks.callback import Callback
from dualnet.utils.data import DataLoader, TensorDataset

RNG = np.random.default_rng(3)
X = RNG.random((40, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 40)


def _model(seed_weights=None):
    model = keras_dn.Sequential([keras_dn.Input((4,)), layers.Dense(6, activation="relu"),
                                 layers.Dense(3, activation="softmax")])
    if seed_weights is not None:
        model.set_weights(seed_weights)
    return model


def _weights():
    rng = np.random.default_rng(4)
    return [rng.normal(size=(4, 6)).astype(np.float32) * 0.5, np.zeros(6, np.float32),
            rng.normal(size=(6, 3)).astype(np.float32) * 0.5, np.zeros(3, np.float32)]


def test_history_keys_and_lengths():
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y, epochs=3, batch_size=8, verbose=0, validation_split=0.25)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2] and model.history is history
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 4}  # 30 samples / 8
    loss, acc = model.evaluate(X, Y, verbose=0)
    assert model.evaluate(X, Y, verbose=0, return_dict=True) == pytest.approx(
        {"accuracy": acc, "loss": loss})
    assert model.predict(X, batch_size=16, verbose=0).shape == (40, 3)
    assert model.metrics_names == ["loss", "compile_metrics"]


def test_validation_split_takes_the_tail_before_shuffling():
    model = _model(_weights())
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    history = model.fit(X, Y, epochs=1, verbose=0, validation_split=0.25)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(X[30:], Y[30:], verbose=0), rel=1e-6)


def test_sample_weight_and_class_weight():
    model = _model(_weights())
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    weights = RNG.random(40).astype(np.float32)
    per_sample = losses.sparse_categorical_crossentropy(Y, dn.tensor(model.predict(
        X, verbose=0))).numpy()
    got = model.evaluate(X, Y, sample_weight=weights, batch_size=40, verbose=0)
    assert got == pytest.approx(float(np.mean(per_sample * weights)), rel=1e-5)
    class_weight = {0: 1.0, 1: 2.0, 2: 0.5}
    history = model.fit(X, Y, class_weight=class_weight, batch_size=40, verbose=0)
    expected = np.mean(per_sample * np.array([class_weight[c] for c in Y]))
    assert history.history["loss"][0] == pytest.approx(float(expected), rel=1e-5)


def test_dataloader_and_generator_input():
    model = _model()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loader = DataLoader(TensorDataset(dn.tensor(X), dn.tensor(Y)), batch_size=10)
    history = model.fit(loader, epochs=2, verbose=0)
    assert history.params["steps"] == 4 and len(history.history["loss"]) == 2

    def batches():
        while True:
            for start in range(0, 40, 10):
                yield X[start:start + 10], Y[start:start + 10]
    history = model.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0,
                        validation_data=(X, Y))
    assert len(history.history["val_loss"]) == 2
    assert isinstance(model.evaluate(loader, verbose=0), list)


def test_same_weights_as_hand_written_loop():
    model = _model(_weights())
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    twin = _model(_weights())
    opt = dn.optim.Adam(twin.parameters(), lr=0.01, eps=1e-7, rule="keras")
    loss_fn = losses.SparseCategoricalCrossentropy()
    for _ in range(2):
        for start in range(0, 40, 8):
            loss = loss_fn(Y[start:start + 8], twin(dn.tensor(X[start:start + 8]),
                                                    training=True))
            opt.zero_grad()
            loss.backward()
            opt.step()
    for ours, theirs in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_fit_matches_real_keras():
    keras = pytest.importorskip("keras")
    ours = _model(_weights())
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                               keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(_weights())
    ours.compile(optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    theirs.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    got = ours.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    want = theirs.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5)


def test_callbacks_hooks_and_stop_training():
    calls = []

    class Recorder(Callback):
        def on_train_batch_end(self, batch, logs=None):
            calls.append(("batch", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch", epoch))
            if epoch == 1:
                self.model.stop_training = True

    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y, epochs=5, batch_size=20, verbose=0, callbacks=[Recorder()])
    assert calls[:3] == [("batch", 0, ["accuracy", "loss"]), ("batch", 1, ["accuracy", "loss"]),
                         ("epoch", 0)]
    assert history.epoch == [0, 1]


def test_train_and_test_on_batch():
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = model.train_on_batch(X[:8], Y[:8])
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert set(model.test_on_batch(X[:8], Y[:8], return_dict=True)) == {"accuracy", "loss"}
    assert model.predict_on_batch(X[:5]).shape == (5, 3)


def test_bad_inputs():
    model = _model()
    with pytest.raises(ValueError, match="compile"):
        model.fit(X, Y, verbose=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"'x' sizes: 40.*'y' sizes: 39"):
        model.fit(X, Y[:39], verbose=0)
    with pytest.raises(ValueError, match=r"label 5 .* 3 classes"):
        model.fit(X, np.full(40, 5), verbose=0)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.compile("adam", "sparse_categorical_crossentropyy")
    with pytest.raises(ValueError, match="rmsprop"):
        model.compile("adamm", "mse")
    with pytest.raises(ValueError, match="accuracy"):
        model.compile("adam", "mse", metrics=["acurracy"])


def test_weights_made_trainable_after_the_optimizer_was_built_need_a_new_compile():
    # Keras's rule (its optimizer refuses unknown variables) instead of a weight left untrained
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.layers[0].trainable = False
    model.fit(X, Y, epochs=1, verbose=0)  # the optimizer is built without the frozen layer
    model.layers[0].trainable = True
    with pytest.raises(ValueError, match=r"Unknown variable: '.*kernel' of shape \(4, 6\).*"
                                         r"compile\(\) again"):
        model.fit(X, Y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Unknown variable"):
        model.train_on_batch(X[:4], Y[:4])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.layers[0].get_weights()[0].copy()
    model.fit(X, Y, epochs=1, verbose=0)
    assert not np.allclose(model.layers[0].get_weights()[0], before)
    model.layers[1].enable_lora(2)  # LoRA's new weights: the same rule
    with pytest.raises(ValueError, match=r"Unknown variable: '.*lora_kernel_a' of shape \(6, 2\)"):
        model.fit(X, Y, epochs=1, verbose=0)


def test_metrics_over_an_epoch_are_those_of_all_its_samples():
    # built-in metrics may update on several batches at once (fit's speed): same totals, and a
    # user's metric function, whose value per batch need not add up, still sees each batch
    x = RNG.random((75, 4)).astype(np.float32)
    y = RNG.integers(0, 3, 75)
    seen = []

    def batch_max(y_true, y_pred):
        seen.append(len(y_pred))
        return dn.tensor(float(np.max(np.asarray(y_pred))))

    model = _model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy", "sparse_top_k_categorical_accuracy", batch_max])
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0).history
    probs = model.predict(x, verbose=0)
    accuracy = np.mean(probs.argmax(-1) == y)
    top5 = 1.0  # 3 classes: always in the top 5
    assert seen[:19] == [4] * 18 + [3]
    per_batch_max = np.mean([probs[i:i + 4].max() for i in range(0, 75, 4)])
    for epoch in range(2):
        np.testing.assert_allclose(history["accuracy"][epoch], accuracy, rtol=1e-6)
        np.testing.assert_allclose(history["sparse_top_k_categorical_accuracy"][epoch], top5)
    # the user's function: the mean of its per-batch values (batches shuffled, so only bounds)
    assert probs.max() >= history["batch_max"][0] >= min(
        probs[i:i + 4].max() for i in range(0, 75, 4)) and per_batch_max > 0
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["accuracy"], accuracy, rtol=1e-6)
    np.testing.assert_allclose(logs["batch_max"], per_batch_max, rtol=1e-6)
    metric = model.metrics[1]  # read mid-way through fit's updates: applied when read
    model.train_on_batch(x[:4], y[:4])
    np.testing.assert_allclose(float(metric.result()), np.mean(probs[:4].argmax(-1) == y[:4]))
