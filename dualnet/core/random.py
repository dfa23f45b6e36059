"""The global random stream and `Generator`s: `dn.manual_seed(s)` makes every random op repeat."""
import numpy as np

_DEFAULT_SEED = 67280421310721  # torch's default seed, so an unseeded run is also repeatable


class CudaStream:
    """The GPU random stream: a seed and a count of the numbers drawn so far.

    Its kernels (ops/random/cuda.py) are counter-based (Philox4x32-10): draw k of the stream is a
    pure function of (seed, k), so the stream is reproducible whatever the launch geometry, and
    seeding is just resetting these two integers (nothing touches the GPU until a draw)."""

    __slots__ = ("seed", "offset")

    def __init__(self, seed=_DEFAULT_SEED):
        self.seed, self.offset = seed, 0

    def reset(self, seed):
        self.seed, self.offset = seed, 0

    def take(self, n):
        """(seed, offset) for the next n draws, which the stream then counts as used."""
        start = self.offset
        self.offset = (start + n) % (1 << 64)
        return self.seed, start


class Generator:
    """An independent random stream (`generator=` of rand/randn/randperm/DataLoader);
    `Generator(device="cuda")` draws on the GPU (its own `CudaStream`)."""

    def __init__(self, device="cpu"):
        from .device import device as _device_cls

        self.device = _device_cls(device) if isinstance(device, str) else device
        self._seed = _DEFAULT_SEED
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        self._cuda = CudaStream(self._seed)

    def manual_seed(self, seed):
        self._seed = _check_seed(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        self._cuda.reset(self._seed)
        return self

    def seed(self):
        self._seed = int(np.random.SeedSequence().entropy % (1 << 63))
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        self._cuda.reset(self._seed)
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .creation import tensor

        state = self._rng.bit_generator.state
        words = [state["state"]["state"], state["state"]["inc"], state["has_uint32"],
                 state["uinteger"]]
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        return tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state):
        raw = bytes(np.asarray(new_state.numpy() if hasattr(new_state, "numpy") else new_state,
                               dtype=np.uint8))
        if len(raw) != 64:
            raise RuntimeError(f"set_state: expected a state of 64 bytes, got {len(raw)}")
        words = [int.from_bytes(raw[i:i + 16], "little") for i in range(0, 64, 16)]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64", "state": {"state": words[0], "inc": words[1]},
            "has_uint32": words[2], "uinteger": words[3]}
        return self


def _check_seed(seed):
    if hasattr(seed, "item"):
        seed = seed.item()
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if not -(1 << 63) <= seed < (1 << 64):
        raise RuntimeError(f"manual_seed: seed must be within the range of a 64-bit integer, "
                           f"got {seed}")
    return int(seed) % (1 << 64)


default_generator = Generator()
_seed_hooks = []  # other streams that manual_seed must also reset
_cuda_streams = {}  # GPU index -> that GPU's default CudaStream, made on first use
_cuda_seed = [_DEFAULT_SEED]  # the seed a GPU stream made later starts from


def manual_seed(seed):
    """Seed every random op of dualnet (CPU stream and, when present, the GPU one)."""
    default_generator.manual_seed(seed)
    manual_seed_cuda(default_generator.initial_seed(), None)
    for hook in _seed_hooks:
        hook(default_generator.initial_seed())
    return default_generator


def seed():
    """Seed every stream from fresh entropy; returns the seed."""
    new_seed = default_generator.seed()
    manual_seed_cuda(new_seed, None)
    return new_seed


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def generator_of(generator):
    """The NumPy generator behind `generator`, or the global stream when None."""
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a dualnet.Generator, got {type(generator).__name__}")
    return generator._rng


# ------------------------------------------------------------------------------ GPU streams

def cuda_stream(index):
    """The default GPU random stream of GPU `index`."""
    stream = _cuda_streams.get(index)
    if stream is None:
        stream = _cuda_streams[index] = CudaStream(_cuda_seed[0])
    return stream


def manual_seed_cuda(seed, index):
    """Seed GPU `index`'s default stream (every GPU's when index is None): `dn.cuda.manual_seed`."""
    seed = _check_seed(seed)
    if index is None:
        for stream in _cuda_streams.values():
            stream.reset(seed)
        _cuda_seed[0] = seed
    else:
        cuda_stream(index).reset(seed)


def random_array(kind, shape, np_dtype, device, generator=None):
    """An array of `shape` and `np_dtype` on `device` of U[0, 1) (`kind="uniform"`) or N(0, 1)
    (`"normal"`) draws: from the CPU stream (NumPy's PCG64) for "cpu", from the device's GPU
    stream (Philox, `ops/random/cuda.py`) for "cuda"; both reset by `dn.manual_seed`."""
    if kind not in ("uniform", "normal"):
        raise ValueError(f"random_array: kind must be 'uniform' or 'normal', got {kind!r}")
    np_dtype = np.dtype(np_dtype)
    if device.type == "cpu":
        rng = generator_of(generator)
        draw = rng.random if kind == "uniform" else rng.standard_normal
        if np_dtype in (np.float32, np.float64):
            return draw(shape, dtype=np_dtype)
        return draw(shape).astype(np_dtype)
    from .device import array_module
    from .dispatch import kernels

    if generator is None:
        stream = cuda_stream(device.index or 0)
    elif not isinstance(generator, Generator):
        raise TypeError(f"generator must be a dualnet.Generator, got {type(generator).__name__}")
    elif generator.device.type != "cuda":
        raise RuntimeError(f"Expected a 'cuda' device type for generator but found "
                           f"'{generator.device.type}'")
    else:
        stream = generator._cuda
    compute = np_dtype if np_dtype in (np.float32, np.float64) else np.dtype(np.float32)
    out = array_module(device).empty(shape, compute)
    seed, offset = stream.take(out.size)
    getattr(kernels("random", device), kind)(seed, offset, out.reshape(-1))
    return out if compute == np_dtype else out.astype(np_dtype)
