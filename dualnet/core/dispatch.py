"""The one place that picks an op family's CPU or CUDA kernels for a device.

Kernel modules are imported on first use, so `import dualnet` neither imports Numba nor
compiles anything.
"""
import importlib

from .device import require_cuda

_loaded = {}


def kernels(family, dev):
    """The kernel module (`cpu.py` or `cuda.py`) of op family `family` for device `dev`."""
    key = (family, dev.type)
    module = _loaded.get(key)
    if module is None:
        module = _load(family, dev.type)
        _loaded[key] = module
    return module


def _load(family, kind):
    if kind == "cuda":
        require_cuda(f"the {family} ops")
    try:
        return importlib.import_module(f"dualnet.core.ops.{family}.{kind}")
    except ModuleNotFoundError as err:
        if kind == "cuda" and err.name and err.name.endswith(f"{family}.cuda"):
            raise RuntimeError(f"the {family} ops have no CUDA implementation yet; "
                               f"move the tensors to the CPU with .cpu()") from None
        raise
