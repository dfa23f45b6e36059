"""Devices: where a tensor's array lives and which array module (NumPy or CuPy) serves it."""
import os

import numpy as np

_CUDASIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


class device:
    """`dn.device("cpu")`, `dn.device("cuda:0")`, `dn.device("cuda", 1)`; compares with strings."""

    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, num = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {spec}")
        if num:
            if not num.isdigit():
                raise RuntimeError(f"invalid device string {spec!r}: the index must be a non-negative int")
            if index is not None:
                raise RuntimeError(f"device {spec!r} given an index twice")
            index = int(num)
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"CPU device index must be 0 or absent, got {index}")
        self.type = kind
        self.index = index if kind == "cuda" else None

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def to_device(spec):
    """Normalise a user's device argument; cuda without an index means the current GPU (0)."""
    if spec is None:
        return CPU
    if isinstance(spec, device):
        if spec.type == "cpu" or (spec.index is not None and spec in _checked):
            return spec
        d = spec
    else:
        d = device(f"cuda:{spec}" if isinstance(spec, int) else spec)
        if d.type == "cpu":
            return d
    require_cuda(f"device '{d}'")
    if d.index is None:
        d = device("cuda", 0)
    count = cuda_device_count()
    if d.index >= count:
        raise RuntimeError(f"device '{d}': invalid device ordinal, this process sees "
                           f"{count} CUDA device{'s' if count != 1 else ''}")
    if isinstance(spec, device) and spec.index is not None:
        _checked.add(spec)  # a device object seen valid once needs no checks again
    return d


_checked = set()


def cuda_array_module():
    """CuPy on a real GPU; NumPy under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)."""
    if _CUDASIM:
        return np
    import cupy

    return cupy


def cuda_device_count():
    """How many GPUs this process sees: 1 under the simulator, 0 without CUDA."""
    if not cuda_is_available():
        return 0
    if _CUDASIM:
        return 1
    import cupy

    return cupy.cuda.runtime.getDeviceCount()


def to_host(array):
    """A NumPy array with the contents of a device array (a copy from the GPU; under the
    simulator the NumPy array itself)."""
    return array if isinstance(array, np.ndarray) else array.get()


def cuda_is_available():
    if _CUDASIM:
        return True
    try:
        import cupy  # noqa: F401
        from numba import cuda
    except ImportError:
        return False
    try:
        return cuda.is_available()
    except Exception:  # a broken driver is "not available", not a crash
        return False


def require_cuda(what):
    if cuda_is_available():
        return
    try:
        import cupy  # noqa: F401
        reason = "no CUDA GPU is visible to this process"
    except ImportError:
        reason = "CuPy is not installed"
    raise RuntimeError(f"{what} needs CUDA, but {reason}; keep the tensors on 'cpu' "
                       f"(the default), or on a machine with an NVIDIA GPU install the CUDA "
                       f"extras with `pip install dualnet[cuda]` (CuPy and numba-cuda)")


def array_module(dev):
    return np if dev.type == "cpu" else cuda_array_module()
