"""CUDA kernels of the random family: the GPU random stream, twins of cpu.py.

Counter-based (Philox4x32-10, as cuRAND and torch's CUDA stream): element i of a draw is a
pure function of (seed, offset + i), so one thread per element needs no state, the numbers do
not depend on the launch geometry (the simulator's few threads draw what a GPU draws), and the
stream is two integers that `dn.manual_seed` resets. All integer math is 32 x 32 -> 64 bits in
uint64 (typed module constants: a Python int literal would turn uint64 math into float64).
"""
import math

import numpy as np
from numba import cuda

from .._cuda import launch

_MASK = np.uint64(0xFFFFFFFF)
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_SHIFT5, _SHIFT6, _SHIFT8 = np.uint64(5), np.uint64(6), np.uint64(8)
_SHIFT26, _SHIFT32 = np.uint64(26), np.uint64(32)
_ZERO = np.uint64(0)
_TWO_TO_MINUS_24 = np.float32(2.0 ** -24)
_TWO_TO_MINUS_53 = np.float64(2.0 ** -53)
_MINUS_TWO = np.float64(-2.0)
_ONE = np.float64(1.0)
_TWO_PI = np.float64(2.0 * math.pi)


@cuda.jit(device=True)
def _philox(key, counter):
    c0, c1 = counter & _MASK, counter >> _SHIFT32
    c2, c3 = _ZERO, _ZERO
    k0, k1 = key & _MASK, key >> _SHIFT32
    for _ in range(10):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _SHIFT32) ^ c1 ^ k0, p1 & _MASK,
                          (p0 >> _SHIFT32) ^ c3 ^ k1, p0 & _MASK)
        k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return c0, c1, c2, c3


@cuda.jit(device=True)
def _unit53(high, low):
    return (((high >> _SHIFT5) << _SHIFT26) | (low >> _SHIFT6)) * _TWO_TO_MINUS_53


@cuda.jit
def _uniform_kernel(key, offset, single, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        w0, w1, w2, w3 = _philox(key, offset + np.uint64(i))
        if single:  # 24 bits: a float32 in [0, 1) that never rounds up to 1
            out[i] = (w0 >> _SHIFT8) * _TWO_TO_MINUS_24
        else:
            out[i] = _unit53(w0, w1)


@cuda.jit
def _normal_kernel(key, offset, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        w0, w1, w2, w3 = _philox(key, offset + np.uint64(i))
        radius = math.sqrt(_MINUS_TWO * math.log(_ONE - _unit53(w0, w1)))  # 1 - u > 0
        out[i] = radius * math.cos(_TWO_PI * _unit53(w2, w3))


def uniform(seed, offset, out):
    """out (1-d, float32 or float64) filled with U[0, 1) draws number offset.. of stream `seed`."""
    launch(_uniform_kernel, out.size, np.uint64(seed), np.uint64(offset),
           out.dtype == np.float32, out)
    return out


def normal(seed, offset, out):
    """out (1-d, float32 or float64) filled with N(0, 1) draws (Box-Muller on one block each)."""
    launch(_normal_kernel, out.size, np.uint64(seed), np.uint64(offset), out)
    return out
