"""The progress output of fit/evaluate/predict for verbose 0/1/2 (Keras's line format) and the
Progbar itself, captured with capsys (not a terminal: verbose=1 prints once per epoch)."""
import re

import numpy as np

from dualnet import keras_api as keras_dn
from dualnet.keras_api import layers
from dualnet.keras_api.utils.progbar import Progbar

X = np.random.default_rng(5).random((20, 4)).astype(np.float32)
Y = np.arange(20) % 3
METRICS = r" - accuracy: \d\.\d{4} - loss: \d\.\d{4}"


def _model():
    model = keras_dn.Sequential([keras_dn.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_verbose_0_prints_nothing(capsys):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_1_one_bar_per_epoch(capsys):
    _model().fit(X, Y, epochs=2, batch_size=8, verbose=1, validation_data=(X, Y))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    bar = r"3/3 ━{20} \d+s \d+(ms|us|s)/step" + METRICS + r" - val_accuracy: \d\.\d{4}" \
        r" - val_loss: \d\.\d{4}$"
    assert re.match(bar, lines[1]) and re.match(bar, lines[3]), lines


def test_verbose_2_one_line_per_epoch(capsys):
    _model().fit(X, Y, epochs=1, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert re.fullmatch(r"3/3 - \d+s - \d+(ms|us|s)/step" + METRICS + "\n", out), out


def test_evaluate_and_predict_bars(capsys):
    model = _model()
    model.evaluate(X, Y, batch_size=5, verbose=1)
    model.predict(X, batch_size=5, verbose="auto")
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(ms|us|s)/step" + METRICS, lines[0]), lines
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(ms|us|s)/step", lines[1]), lines


def test_progbar_values_and_unknown_target(capsys):
    bar = Progbar(None, verbose=2, stateful_metrics=["acc"])
    bar.update(1, [("loss", 1.0), ("acc", 0.5)])
    bar.update(3, [("loss", 4.0), ("acc", 0.25)], finalize=True)
    out = capsys.readouterr().out
    # loss averaged over the steps (1*1 + 4*2)/3, acc shown as given
    assert "loss: 3.0000" in out and "acc: 0.2500" in out
    assert out.startswith("      3/Unknown - ")


def test_tiny_values_use_exponent(capsys):
    Progbar(1, verbose=2).update(1, [("loss", 1e-5)])
    assert "loss: 1.0000e-05" in capsys.readouterr().out
