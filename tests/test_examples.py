"""The example scripts run end to end (short versions; the full runs' figures are in
bench/RESULTS.md)."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_mnist_nn_learns_on_the_shipped_subset(tmp_path, capsys):
    """40 Adadelta steps of the PyTorch examples' convnet, then save, reload and re-score."""
    accuracy = _load("mnist_nn").main(["--subset", "small", "--epochs", "1", "--max-batches",
                                       "40", "--save-model", str(tmp_path / "net.pt")])
    assert accuracy > 0.7
    assert (tmp_path / "net.pt").exists()
    assert "final test accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_the_readme_demo_reaches_ninety_percent(capsys):
    accuracy = _load("demo").main()
    assert accuracy > 0.9
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_mnist_keras_learns_on_the_shipped_subset(capsys):
    """One epoch of the Keras simple-convnet example on the subset, through fit/evaluate and a
    weights-file round trip."""
    accuracy = _load("mnist_keras").main(["--subset", "small", "--epochs", "1"])
    assert accuracy > 0.85
    out = capsys.readouterr().out
    assert "Total params: 34,826" in out and "test accuracy" in out
