"""CPU kernels of the matmul family: arrays in, arrays out (an `out` array to fill where given).

Every product goes through NumPy, not Numba: `np.matmul` calls OpenBLAS's GEMM (~180 GFLOP/s
float32 on this machine class, where a Numba triple loop manages a few), and it reads
transposed views through BLAS's transpose flags, so `grad @ b.mT` copies nothing.
`np.einsum(optimize=True)` lowers contractions to the same GEMMs (tensordot) where it can.
"""
import math

import numpy as np


def matmul(a, b, out=None):
    """a @ b with NumPy's (= PyTorch's) 1-D, 2-D and batch-broadcasting rules."""
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous and out is None:
        # (..., m, k) @ (k, n): one GEMM over all rows instead of one small GEMM per batch entry
        rows = math.prod(a.shape[:-1])
        flat = np.matmul(a.reshape(rows, a.shape[-1]), b)
        return flat.reshape(a.shape[:-1] + (b.shape[-1],))
    if a.ndim == 1 and b.ndim == 1 and out is None:
        return np.asarray(np.dot(a, b))  # np.matmul would return a NumPy scalar, not an array
    return np.matmul(a, b, out=out)


def addmm(bias, a, b, beta, alpha, out):
    """out = beta * bias + alpha * (a @ b), bias broadcast to out; a, b 2-D or 3-D (batched)."""
    np.matmul(a, b, out=out)
    if alpha != 1:
        out *= alpha
    if beta == 1:
        out += bias
    elif beta != 0:  # beta == 0 ignores bias entirely (NaN and inf in it too), as BLAS does
        out += beta * bias
    return out


def einsum(equation, *operands):
    """np.einsum over an explicit equation ('ij,jk->ik'), contraction order chosen by NumPy."""
    return np.asarray(np.einsum(equation, *operands, optimize=True))
