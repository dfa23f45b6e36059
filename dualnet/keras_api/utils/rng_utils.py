"""`set_random_seed`: one call seeds every random source a Keras-style program touches."""
import random

import numpy as np

from ...core.random import manual_seed

__all__ = ["set_random_seed"]


def set_random_seed(seed):
    """Seed Python's `random`, NumPy's global RNG and dualnet's generator (weight
    initializers, dropout, shuffling in `fit`) with ``seed``, like `keras.utils.set_random_seed`.

    >>> set_random_seed(0); a = np.random.rand()
    >>> set_random_seed(0); a == np.random.rand()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"set_random_seed: seed must be an integer, got {seed!r} "
                         f"(of type {type(seed).__name__})")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (1 << 32))  # NumPy's legacy seeding takes 32 bits
    manual_seed(seed)
