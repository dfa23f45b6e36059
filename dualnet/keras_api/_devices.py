"""Where a keras_api model's weights live: `keras.device(name)` scopes, else the GPU when one is
visible (Keras's torch backend picks "cuda" when `torch.cuda.is_available()`), else the CPU.

`with keras.device("cpu"):` forces the CPU for the weights created inside it, as in Keras 3;
`CUDA_VISIBLE_DEVICES=""` (no GPU visible) makes the default the CPU. A layer built while called
on tensors, outside any scope, creates its weights on those tensors' device, so a deferred
build follows the data (which `fit` sends to the device of the model's weights).
"""
import functools
import os
import threading

from ..core.device import cuda_is_available, device as _device_class, to_device
from ..core.tensor import Tensor

__all__ = ["device", "default_device", "weight_device", "building_on", "input_device"]


class _State(threading.local):
    def __init__(self):
        self.scopes = []  # devices of the open `device(...)` scopes, innermost last
        self.builds = []  # devices of the tensors that layers being built were called on


_STATE = _State()


@functools.lru_cache(maxsize=None)
def _gpu_present():
    return cuda_is_available()  # (a failed `import cupy` costs a sys.path scan: once only)


def default_device():
    """The device of a new keras_api weight outside any scope: "cuda" when a GPU is visible
    (and CUDA_VISIBLE_DEVICES does not hide them all), else "cpu"."""
    if _STATE.scopes:
        return _STATE.scopes[-1]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.split(",")[0].strip() in ("", "-1"):
        return to_device("cpu")
    return to_device("cuda" if _gpu_present() else "cpu")


def weight_device():
    """The device `add_weight` puts a new weight on: the innermost `device()` scope, else the
    device of the tensors the layer being built was called on, else `default_device()`."""
    state = _STATE
    if state.scopes:
        return state.scopes[-1]
    if state.builds and state.builds[-1] is not None:
        return state.builds[-1]
    return default_device()


def _parse(device_name):
    """Keras's device names ("cpu", "cpu:0", "gpu", "gpu:1", "cuda:0") as a dualnet device."""
    if isinstance(device_name, _device_class):
        return to_device(device_name)
    if not isinstance(device_name, str):
        raise ValueError(f"Invalid value for argument `device_name`. Expected a string like "
                         f"'gpu:0' or 'cpu'. Received: device_name={device_name!r}")
    name = device_name.lower().replace("gpu", "cuda")
    return to_device(name)


class device:
    """`with keras.device("cpu"):` — the weights created inside live on that device (Keras 3's
    `keras.device(device_name)`); "gpu"/"gpu:N" mean "cuda"/"cuda:N". Asking for a GPU where
    none is visible raises a RuntimeError saying how to install the CUDA extras.

    >>> from dualnet import keras_api as keras
    >>> with keras.device("cpu"):
    ...     layer = keras.layers.Dense(2)
    ...     layer.build((None, 3))
    >>> layer.kernel.device.type
    'cpu'
    """

    def __init__(self, device_name):
        self.device = _parse(device_name)

    def __enter__(self):
        _STATE.scopes.append(self.device)
        return self.device

    def __exit__(self, *exc):
        _STATE.scopes.pop()
        return False

    def __repr__(self):
        return f"keras.device({str(self.device)!r})"


class building_on:
    """While a layer builds from a call on tensors: the device of the first of them (None when
    the inputs hold no tensor), which its new weights take outside any `device()` scope."""

    __slots__ = ("device",)

    def __init__(self, inputs):
        self.device = _first_device(inputs)

    def __enter__(self):
        _STATE.builds.append(self.device)

    def __exit__(self, *exc):
        _STATE.builds.pop()
        return False


def _first_device(value):
    if isinstance(value, Tensor):
        return value.device
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _first_device(item)
            if found is not None:
                return found
    return None


def input_device(module):
    """Where a module's non-tensor (NumPy) inputs go: the device of its weights, or where its
    weights would be created when it has none yet."""
    for weight in module.parameters():
        return weight.device
    for weight in module.buffers():
        return weight.device
    return weight_device()
