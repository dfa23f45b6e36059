"""The global random stream and `Generator`s: `dn.manual_seed(s)` makes every random op repeat."""
import numpy as np

_DEFAULT_SEED = 67280421310721  # torch's default seed, so an unseeded run is also repeatable


class Generator:
    """An independent random stream (`generator=` of rand/randn/randperm/DataLoader)."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = _DEFAULT_SEED
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = _check_seed(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        self._seed = int(np.random.SeedSequence().entropy % (1 << 63))
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
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
_seed_hooks = []  # other streams (e.g. the CUDA one) that manual_seed must also reset


def manual_seed(seed):
    """Seed every random op of dualnet (CPU stream and, when present, the GPU one)."""
    default_generator.manual_seed(seed)
    for hook in _seed_hooks:
        hook(default_generator.initial_seed())
    return default_generator


def seed():
    return default_generator.seed()


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
