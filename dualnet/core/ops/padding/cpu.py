"""CPU kernels of the padding family (data movement only: NumPy)."""
import numpy as np


def constant_pad(a, widths, value):
    """Pad with `value`; a negative width crops that side instead."""
    crop = tuple(slice(max(-lo, 0), a.shape[d] - max(-hi, 0)) for d, (lo, hi) in enumerate(widths))
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    return np.pad(a[crop], grow, mode="constant", constant_values=value)


def source_index(size, before, after, mode):
    """For each position of a padded dim, the input position it copies (reflect/replicate/circular)."""
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return np.pad(np.arange(size, dtype=np.int64), (before, after), mode=numpy_mode)
