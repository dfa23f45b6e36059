"""`keras.device(name)` without a GPU: the default device of a keras_api model is the CPU, a
"cpu" scope works, and asking for a GPU says what is missing and how to install it (the GPU
side is in tests/cuda/test_cuda_keras_device.py)."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import keras_api as keras

pytestmark = pytest.mark.skipif(dn.cuda.is_available(),
                                reason="checks the behaviour on a machine without a GPU")


def _model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


def test_the_default_device_is_the_cpu():
    model = _model()
    assert {w.device.type for w in model.weights} == {"cpu"}
    model.compile("sgd", "mse")
    x = np.ones((4, 4), np.float32)
    model.fit(x, np.zeros((4, 3), np.float32), verbose=0)
    assert {w.device.type for w in model.weights} == {"cpu"}
    assert type(model.predict(x, verbose=0)) is np.ndarray


@pytest.mark.parametrize("name", ["cuda", "gpu", "gpu:0", "cuda:1"])
def test_asking_for_a_gpu_says_how_to_install(name):
    with pytest.raises(RuntimeError, match=r"needs CUDA.*pip install dualnet\[cuda\]"):
        keras.device(name)


def test_a_cpu_scope_places_weights_and_is_left_on_errors():
    with keras.device("cpu:0") as where:
        model = _model()
    assert where == dn.device("cpu")
    assert {w.device.type for w in model.weights} == {"cpu"}
    with pytest.raises(ZeroDivisionError):
        with keras.device("cpu"):
            1 / 0
    from dualnet.keras_api import _devices
    assert _devices._STATE.scopes == [] and _devices.default_device() == dn.device("cpu")


def test_a_device_name_must_be_a_string():
    with pytest.raises(ValueError, match="Expected a string like 'gpu:0' or 'cpu'"):
        keras.device(0)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        keras.device("tpu")
