"""dualnet: one tensor core with autograd and Numba kernels, under two front doors.

`import dualnet as dn` gives the tensor API (PyTorch's spellings); `dualnet.nn` / `dualnet.optim`
the PyTorch-style frontend and `dualnet.keras_api` the Keras-style one.
"""
from . import autograd, cuda
from .core import Size, Tensor
from .core import ops as _ops
from .core.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .core.creation import *  # noqa: F401,F403  (tensor, zeros, arange, rand, ...)
from .core.creation import __all__ as _creation_names
from .core.device import device
from .core.dlpack import from_dlpack
from .core.dtypes import (bool_ as bool, double, dtype, float, float16, float32, float64,
                          get_default_dtype, half, int, int8, int16, int32, int64, long,
                          set_default_dtype, short, uint8)
from .core.random import (Generator, get_rng_state, initial_seed, manual_seed, seed,
                          set_rng_state)
from .core.serialization import load, save

globals().update(_ops.public_functions())

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def _tensor_arg(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    return input


def is_floating_point(input):
    return _tensor_arg("is_floating_point", input).is_floating_point()


def numel(input):
    return _tensor_arg("numel", input).numel()


__all__ = sorted(set(_creation_names) | set(_ops.public_functions()) | {
    "Tensor", "Size", "autograd", "cuda", "device", "dtype", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "inference_mode", "manual_seed", "seed",
    "initial_seed", "get_rng_state", "set_rng_state", "Generator", "save", "load", "is_tensor",
    "is_floating_point", "numel", "from_dlpack",
    "get_default_dtype", "set_default_dtype", "float16", "float32",
    "float64", "uint8", "int8", "int16", "int32", "int64", "bool", "half", "float", "double",
    "short", "int", "long"})
