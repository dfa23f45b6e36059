"""`keras.utils`: helpers with Keras's names (`to_categorical`, `set_random_seed`, ...)."""
from .numerical_utils import normalize, to_categorical
from .rng_utils import set_random_seed

__all__ = ["normalize", "set_random_seed", "to_categorical"]
