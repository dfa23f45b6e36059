"""The Keras callbacks on tiny models trained by fit: EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback, TensorBoard."""
import csv
import math
import os

import numpy as np
import pytest

from dualnet import keras_api as keras
from dualnet.keras_api import layers
from dualnet.keras_api.callbacks.csv_logger import CSVLogger
from dualnet.keras_api.callbacks.early_stopping import EarlyStopping
from dualnet.keras_api.callbacks.lambda_callback import LambdaCallback
from dualnet.keras_api.callbacks.learning_rate_scheduler import LearningRateScheduler
from dualnet.keras_api.callbacks.model_checkpoint import ModelCheckpoint
from dualnet.keras_api.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from dualnet.keras_api.callbacks.terminate_on_nan import TerminateOnNaN

RNG = np.random.default_rng(0)
X = RNG.random((16, 3), dtype=np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


def _model(learning_rate=0.01):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _scripted(values, key="val_loss"):
    """A LambdaCallback that overwrites `key` in each epoch's logs with the scripted value, placed
    before the callback under test so that it sees those values."""
    def on_epoch_end(epoch, logs):
        logs[key] = values[epoch]
    return LambdaCallback(on_epoch_end=on_epoch_end)


def test_early_stopping_patience_and_restore_best_weights():
    model = _model()
    snapshots = []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(X, Y, epochs=10, batch_size=8, verbose=0,
                        callbacks=[keep, _scripted([5, 3, 1, 2, 4, 0, 0, 0, 0, 0]), stopper])
    assert len(history.history["loss"]) == 5  # best at epoch 2, two epochs without improvement
    assert stopper.stopped_epoch == 4 and stopper.best_epoch == 2 and stopper.best == 1
    for restored, best in zip(model.get_weights(), snapshots[2]):
        np.testing.assert_array_equal(restored, best)


def test_early_stopping_min_delta_baseline_and_start_epoch():
    model = _model()
    stopper = EarlyStopping(monitor="val_loss", min_delta=0.5, patience=1)
    history = model.fit(X, Y, epochs=6, verbose=0,
                        callbacks=[_scripted([5, 4.8, 4.6, 4.4, 4.2, 4.0]), stopper])
    assert len(history.history["loss"]) == 2  # improvements below min_delta do not count
    waiting = EarlyStopping(monitor="val_loss", patience=1, start_from_epoch=3)
    history = _model().fit(X, Y, epochs=6, verbose=0,
                           callbacks=[_scripted([5, 6, 7, 8, 9, 10]), waiting])
    assert len(history.history["loss"]) == 5  # epochs 0-2 are not watched
    # improvements that do not beat the baseline do not restart the patience count
    for baseline, epochs_run in ((None, 4), (1.0, 3)):
        stopper = EarlyStopping(monitor="val_loss", patience=2, baseline=baseline)
        history = _model().fit(X, Y, epochs=6, verbose=0,
                               callbacks=[_scripted([5, 4, 4, 4, 4, 4]), stopper])
        assert len(history.history["loss"]) == epochs_run


def test_early_stopping_mode_max_and_auto_accuracy():
    stopper = EarlyStopping(monitor="val_accuracy", patience=0)
    history = _model().fit(X, Y, epochs=5, verbose=0,
                           callbacks=[_scripted([0.5, 0.6, 0.55, 0.7, 0.8], "val_accuracy"),
                                      stopper])
    assert len(history.history["loss"]) == 3 and stopper.monitor_op(2, 1)
    with pytest.raises(ValueError, match="mode='max'"):
        _model().fit(X, Y, epochs=2, verbose=0,
                     callbacks=[_scripted([1, 2], "val_thing"), EarlyStopping("val_thing")])


def test_model_checkpoint_names_files_from_epoch_and_logs(tmp_path):
    pattern = str(tmp_path / "ckpt" / "w-{epoch:02d}-{val_loss:.2f}.weights.h5")
    checkpoint = ModelCheckpoint(pattern, save_weights_only=True)
    _model().fit(X, Y, epochs=3, verbose=0,
                 callbacks=[_scripted([0.5, 0.25, 0.125]), checkpoint])
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "w-01-0.50.weights.h5", "w-02-0.25.weights.h5", "w-03-0.12.weights.h5"]


def test_model_checkpoint_save_best_only_keeps_the_best_weights(tmp_path):
    path = str(tmp_path / "best.weights.h5")
    model = _model()
    snapshots = []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    saves = []
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True,
                                 save_weights_only=True)
    spy = LambdaCallback(on_epoch_end=lambda epoch, logs: saves.append(os.path.getmtime(path)))
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[keep, _scripted([3, 1, 2, 4]), checkpoint, spy])
    assert checkpoint.best == 1
    fresh = _model()
    fresh.load_weights(path)
    for loaded, best in zip(fresh.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(loaded, best)


def test_model_checkpoint_whole_model_and_batch_frequency(tmp_path):
    pattern = str(tmp_path / "m-{epoch}-{batch}.keras")
    _model().fit(X, Y, epochs=2, batch_size=4, verbose=0,
                 callbacks=[ModelCheckpoint(pattern, save_freq=3)])
    # 4 batches per epoch, a save every 3 batches: global batches 3 and 6
    assert sorted(os.listdir(tmp_path)) == ["m-1-3.keras", "m-2-2.keras"]
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        ModelCheckpoint(str(tmp_path / "x.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.keras"):
        ModelCheckpoint(str(tmp_path / "x.h5"))


def test_learning_rate_scheduler_sets_the_optimizer_rate():
    model = _model(0.1)
    seen = []
    record = LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(
        model.optimizer.learning_rate))
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: lr * 0.5), record])
    np.testing.assert_allclose(seen, [0.05, 0.025, 0.0125])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025, 0.0125])
    one_argument = _model(0.1)
    one_argument.fit(X, Y, epochs=2, verbose=0,
                     callbacks=[LearningRateScheduler(lambda epoch: 0.3 + epoch)])
    assert one_argument.optimizer.learning_rate == pytest.approx(1.3)
    with pytest.raises(ValueError, match="float"):
        _model().fit(X, Y, epochs=1, verbose=0,
                     callbacks=[LearningRateScheduler(lambda epoch, lr: "fast")])


def test_a_scheduled_rate_changes_the_update():
    frozen, moving = _model(0.1), _model(0.1)
    moving.set_weights(frozen.get_weights())
    frozen.fit(X, Y, epochs=1, shuffle=False, verbose=0,
               callbacks=[LearningRateScheduler(lambda epoch, lr: 0.0)])
    before = moving.get_weights()
    moving.fit(X, Y, epochs=1, shuffle=False, verbose=0,
               callbacks=[LearningRateScheduler(lambda epoch, lr: 0.2)])
    for start, kept in zip(before, frozen.get_weights()):
        np.testing.assert_array_equal(start, kept)  # lr 0: nothing moves
    assert not np.allclose(before[0], moving.get_weights()[0])


def test_reduce_lr_on_plateau_with_cooldown_and_min_lr():
    model = _model(1.0)
    rates = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: rates.append(
        model.optimizer.learning_rate))
    reducer = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=2,
                                min_lr=0.3)
    model.fit(X, Y, epochs=6, verbose=0, callbacks=[_scripted([1, 1, 1, 1, 1, 1]), reducer,
                                                    record])
    np.testing.assert_allclose(rates, [1.0, 0.5, 0.5, 0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    _model().fit(X, Y, epochs=2, verbose=0, validation_split=0.25,
                 callbacks=[CSVLogger(str(path))])
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert list(rows[0]) == ["epoch", "loss", "val_loss"]
    assert all(float(row["loss"]) >= 0 for row in rows)
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[CSVLogger(str(path), separator=";",
                                                                 append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("0;") and lines[-1].endswith(";NA")


def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    model = _model()
    bad_y = Y.copy()
    bad_y[5] = np.nan
    batches = []
    count = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = model.fit(X, bad_y, epochs=3, batch_size=4, shuffle=False, verbose=0,
                        callbacks=[count, TerminateOnNaN()])
    assert batches == [0, 1] and math.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="batch 1"):
        _model().fit(X, bad_y, epochs=1, batch_size=4, shuffle=False, verbose=0,
                     callbacks=[TerminateOnNaN(raise_error=True)])


def test_lambda_callback_hooks_and_extra_attributes():
    events = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: events.append("begin"),
        on_epoch_end=lambda epoch, logs: events.append(f"epoch {epoch}"),
        on_train_batch_begin=lambda batch, logs: events.append(f"batch {batch}"),
        on_train_end=lambda logs: events.append("end"), note="kept")
    _model().fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert events == ["begin", "batch 0", "batch 1", "epoch 0", "batch 0", "batch 1", "epoch 1",
                      "end"]
    assert callback.note == "kept"


def test_tensorboard_writes_scalars_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboardX")
    from tensorboardX.proto import event_pb2
    from dualnet.keras_api.callbacks.tensorboard import TensorBoard
    _model().fit(X, Y, epochs=2, batch_size=8, verbose=0, validation_split=0.25,
                 callbacks=[TensorBoard(log_dir=str(tmp_path), update_freq=1)])

    def scalars(run):
        found = {}
        for name in os.listdir(tmp_path / run):
            data = (tmp_path / run / name).read_bytes()
            offset = 0
            while offset < len(data):  # TFRecord: length, crc, payload, crc
                length = int.from_bytes(data[offset:offset + 8], "little")
                event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
                offset += 16 + length
                for value in event.summary.value:
                    found.setdefault(value.tag, []).append((event.step, value.simple_value))
        return found

    train, validation = scalars("train"), scalars("validation")
    assert [step for step, _ in train["epoch_loss"]] == [0, 1]
    assert [step for step, _ in validation["epoch_loss"]] == [0, 1]
    assert train["epoch_learning_rate"][0][1] == pytest.approx(0.01)
    assert len(train["batch_loss"]) == 4  # 12 training samples, batch 8: 2 batches per epoch


def test_tensorboard_without_the_writer_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    from dualnet.keras_api.callbacks.tensorboard import TensorBoard
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoard()
