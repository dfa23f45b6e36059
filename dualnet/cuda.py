"""`dualnet.cuda`: is a GPU there, how many, and the GPU's random stream and memory figures
(the CUDA target itself lives in the core), spelled as `torch.cuda`."""
import gc

from .core import random as _random
from .core.device import _CUDASIM, require_cuda
from .core.device import cuda_device_count as device_count
from .core.device import cuda_is_available as is_available

__all__ = ["is_available", "device_count", "current_device", "synchronize", "manual_seed",
           "manual_seed_all", "memory_allocated", "max_memory_allocated",
           "reset_peak_memory_stats"]


def current_device():
    """The index of the GPU that `"cuda"` without an index means."""
    require_cuda("dualnet.cuda.current_device()")
    if _CUDASIM:
        return 0
    import cupy

    return cupy.cuda.runtime.getDevice()


def _index(device):
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    from .core.device import to_device

    return to_device(device).index or 0


def synchronize(device=None):
    """Wait until every kernel queued on the GPU has finished (timing needs it: launches are
    asynchronous)."""
    require_cuda("dualnet.cuda.synchronize()")
    if _CUDASIM:
        return  # the simulator runs each launch to its end before returning
    import cupy

    with cupy.cuda.Device(_index(device)):
        cupy.cuda.runtime.deviceSynchronize()


def manual_seed(seed):
    """Seed the current GPU's random stream (`dn.manual_seed` seeds it too, with the CPU's)."""
    _random.manual_seed_cuda(seed, 0 if not is_available() else current_device())


def manual_seed_all(seed):
    """Seed the random stream of every GPU."""
    _random.manual_seed_cuda(seed, None)




_peak = {}  # GPU index -> the most bytes seen in use


def memory_allocated(device=None):
    """Bytes held by tensors on the GPU: CuPy's memory pool in use on a GPU; under the
    simulator, the bytes of the distinct arrays of live cuda tensors (found by the garbage
    collector's list, so only a test's figure)."""
    require_cuda("dualnet.cuda.memory_allocated()")
    index = _index(device)
    if _CUDASIM:
        used = _simulated_bytes(index)
    else:
        import cupy

        _track_peak(cupy)
        with cupy.cuda.Device(index):
            used = cupy.get_default_memory_pool().used_bytes()
    _peak[index] = max(_peak.get(index, 0), used)
    return used


def max_memory_allocated(device=None):
    """The most bytes `memory_allocated` has been: on a GPU, recorded after every allocation
    from CuPy's pool once any of these memory functions has been called (a memory hook costs
    every allocation a Python call, so it is not installed before anyone asks); under the
    simulator, at each query."""
    used = memory_allocated(device)
    return max(_peak.get(_index(device), 0), used)


def reset_peak_memory_stats(device=None):
    """Start the peak over from the memory in use now."""
    _peak[_index(device)] = 0
    memory_allocated(device)


def _simulated_bytes(index):
    from .core.tensor import Tensor

    seen, total = set(), 0
    for obj in gc.get_objects():
        if type(obj) is Tensor and obj._device.type == "cuda" and (obj._device.index or 0) == index:
            array = obj._data
            while getattr(array, "base", None) is not None:
                array = array.base
            if id(array) not in seen:
                seen.add(id(array))
                total += array.nbytes
    return total


_hooked = []


def _track_peak(cupy):
    """Record the pool's use after every allocation: a CuPy memory hook, entered once for the
    calling thread and left installed."""
    if _hooked:
        return
    from cupy.cuda import memory_hook

    class PeakHook(memory_hook.MemoryHook):
        name = "dualnet_peak"

        def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
            used = cupy.get_default_memory_pool().used_bytes()
            if used > _peak.get(device_id, 0):
                _peak[device_id] = used

    hook = PeakHook()
    hook.__enter__()
    _hooked.append(hook)
