"""`dualnet.cuda`: is a GPU there, and how many (the CUDA target itself lives in the core)."""
from .core.device import cuda_is_available as is_available

__all__ = ["is_available", "device_count"]


def device_count():
    if not is_available():
        return 0
    from .core.device import _CUDASIM

    if _CUDASIM:
        return 1
    import cupy

    return cupy.cuda.runtime.getDeviceCount()
