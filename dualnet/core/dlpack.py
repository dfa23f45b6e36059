"""DLPack exchange: `dn.from_dlpack(x)` and `Tensor.__dlpack__` / `__dlpack_device__`, sharing
memory (no copy) with NumPy, torch, CuPy, JAX and any other library that speaks the protocol.

A dualnet tensor's array is a NumPy array (CPU) or a CuPy array (CUDA), and both implement
DLPack; so exporting hands the protocol to the array, and importing asks the array module of
the producer's device to import. A write through either side is seen by the other; dualnet's
version counter does not see writes made outside dualnet (nor does torch's).
"""
from .device import array_module, cuda_is_available
from .device import device as _device
from .dtypes import from_numpy_dtype
from .tensor import Tensor

# DLPack's DLDeviceType codes (dlpack.h)
_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13


def from_dlpack(ext_tensor):
    """A tensor sharing memory with `ext_tensor`, any object with `__dlpack__` and
    `__dlpack_device__` (a NumPy or CuPy array, a torch tensor, ...), as torch.from_dlpack.

    >>> import numpy as np, dualnet as dn
    >>> array = np.zeros(3, dtype=np.float32)
    >>> t = dn.from_dlpack(array)
    >>> array[0] = 5.0
    >>> t
    tensor([5., 0., 0.])
    """
    if not (hasattr(ext_tensor, "__dlpack__") and hasattr(ext_tensor, "__dlpack_device__")):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ and __dlpack_device__ "
                        f"(a NumPy or CuPy array, a torch tensor...), got "
                        f"{type(ext_tensor).__name__}")
    kind, index = ext_tensor.__dlpack_device__()
    if kind in (_DL_CPU, _DL_CUDA_HOST):
        dev = _device("cpu")
    elif kind in (_DL_CUDA, _DL_CUDA_MANAGED):
        dev = _device("cuda", int(index))
        if not cuda_is_available():
            raise RuntimeError(f"from_dlpack: the {type(ext_tensor).__name__} lives on {dev}, "
                               f"but CUDA is not available here; copy it to the CPU on its side "
                               f"first")
    else:
        raise RuntimeError(f"from_dlpack: the {type(ext_tensor).__name__} lives on DLPack device "
                           f"type {kind}; dualnet has only CPU (1) and CUDA (2) memory")
    xp = array_module(dev)
    try:
        if dev.type == "cuda" and hasattr(xp, "cuda"):
            with xp.cuda.Device(dev.index):
                array = xp.from_dlpack(ext_tensor)
        else:
            array = xp.from_dlpack(ext_tensor)
    except (RuntimeError, BufferError, TypeError, ValueError) as err:
        dtype = getattr(ext_tensor, "dtype", None)
        raise RuntimeError(f"from_dlpack: can't import the {type(ext_tensor).__name__}"
                           + (f" of dtype {dtype}" if dtype is not None else "")
                           + f" on {dev}: {err}") from None
    try:
        dtype = from_numpy_dtype(array.dtype)
    except TypeError as err:
        raise TypeError(f"from_dlpack: {err}") from None
    return Tensor._make(array, dev, dtype, False, None, 0, None)


def to_dlpack(tensor, stream=None, max_version=None, dl_device=None, copy=None):
    """`tensor.__dlpack__(...)`: the DLPack capsule of the tensor's array (no copy)."""
    if tensor.requires_grad:
        raise RuntimeError("__dlpack__: can't export a tensor that requires grad (the other "
                           "library would bypass autograd); use tensor.detach() first")
    options = {"stream": stream, "max_version": max_version, "dl_device": dl_device,
               "copy": copy}
    # only what the caller asked for: older array libraries take fewer keywords
    return tensor._data.__dlpack__(**{k: v for k, v in options.items() if v is not None})


def dlpack_device(tensor):
    """`tensor.__dlpack_device__()`: (DLPack device type, device index)."""
    return tensor._data.__dlpack_device__()
