"""The one place that picks an op family's CPU or CUDA kernels for a device.

Kernel modules are imported on first use, so `import dualnet` neither imports Numba nor
compiles anything.
"""
import ctypes
import importlib
import os
import sys

from . import config
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
    if not _loaded:
        tune_malloc()
        _prefer_workqueue_threads()
    if kind == "cuda":
        require_cuda(f"the {family} ops")
    try:
        return importlib.import_module(f"dualnet.core.ops.{family}.{kind}")
    except ModuleNotFoundError as err:
        if kind == "cuda" and err.name and err.name.endswith(f"{family}.cuda"):
            raise RuntimeError(f"the {family} ops have no CUDA implementation yet; "
                               f"move the tensors to the CPU with .cpu()") from None
        raise


def tune_malloc():
    """Keep big freed buffers in the process (glibc only; see config.MALLOC_*)."""
    if not sys.platform.startswith("linux") or os.environ.get("DUALNET_MALLOC_TUNING") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameter numbers from <malloc.h>
    return bool(libc.mallopt(m_mmap_threshold, config.MALLOC_MMAP_THRESHOLD)
                and libc.mallopt(m_trim_threshold, config.MALLOC_TRIM_THRESHOLD))


def _prefer_workqueue_threads():
    """Numba's OpenMP pool and OpenBLAS's threads fight: a prange kernel between two BLAS
    products cost ~7 ms per switch (conv backward), against ~0 with Numba's own workqueue
    layer. Chosen before the first parallel kernel runs, unless NUMBA_THREADING_LAYER says
    otherwise. (workqueue is not meant for parallel kernels called from several Python
    threads at once; set NUMBA_THREADING_LAYER=omp for such programs.)"""
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    import numba

    numba.config.THREADING_LAYER = "workqueue"
