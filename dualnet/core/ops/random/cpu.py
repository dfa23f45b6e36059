"""CPU kernels of the random family: Philox4x32-10 counter-based draws, in NumPy.

The CPU random stream is NumPy's PCG64 (`dualnet.core.random`); these are the reference of the
GPU stream's kernels in cuda.py (the same numbers, bit for bit for `uniform`), used by tests
and by anyone who wants the GPU's sequence on the host. Element i of a draw is the Philox block
of counter (offset + i) under the key `seed` (Salmon et al., "Parallel random numbers: as easy
as 1, 2, 3", SC 2011; the generator of cuRAND and of torch's CUDA stream).
"""
import numpy as np

_MASK = np.uint64(0xFFFFFFFF)
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_ROUNDS = 10


def _philox(seed, offset, n):
    """The four 32-bit words (uint64 arrays) of the Philox blocks of counters offset..offset+n-1."""
    counter = np.arange(n, dtype=np.uint64) + np.uint64(offset)
    c0, c1 = counter & _MASK, counter >> np.uint64(32)
    c2 = c3 = np.zeros(n, np.uint64)
    k0, k1 = np.uint64(seed) & _MASK, np.uint64(seed) >> np.uint64(32)
    for _ in range(_ROUNDS):
        p0, p1 = _M0 * c0, _M1 * c2  # 32 x 32 -> 64 bits: never overflows uint64
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _MASK,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _MASK)
        k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return c0, c1, c2, c3


def _unit53(high, low):
    """A float64 in [0, 1) from 53 bits of two words."""
    return (((high >> np.uint64(5)) << np.uint64(26)) | (low >> np.uint64(6))) * 2.0 ** -53


def uniform(seed, offset, out):
    """out (1-d, float32 or float64) filled with U[0, 1) draws number offset.. of stream `seed`."""
    w0, w1, _, _ = _philox(seed, offset, out.size)
    if out.dtype == np.float32:  # 24 bits: a float32 in [0, 1) that never rounds up to 1
        out[...] = (w0 >> np.uint64(8)) * np.float32(2.0 ** -24)
    else:
        out[...] = _unit53(w0, w1)
    return out


def normal(seed, offset, out):
    """out (1-d, float32 or float64) filled with N(0, 1) draws (Box-Muller on one block each)."""
    w0, w1, w2, w3 = _philox(seed, offset, out.size)
    radius = np.sqrt(-2.0 * np.log(1.0 - _unit53(w0, w1)))  # 1 - u is in (0, 1]: no log(0)
    out[...] = radius * np.cos(2.0 * np.pi * _unit53(w2, w3))
    return out
