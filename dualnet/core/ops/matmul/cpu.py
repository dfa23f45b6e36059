"""CPU kernels of the matmul family: arrays in, arrays out (an `out` array to fill where given).

Every product goes through NumPy, not Numba: `np.matmul` calls OpenBLAS's GEMM (~180 GFLOP/s
float32 on this machine class, where a Numba triple loop manages a few), and it reads
transposed views through BLAS's transpose flags, so `grad @ b.mT` copies nothing.
`np.einsum(optimize=True)` lowers contractions to the same GEMMs (tensordot) where it can.
The code is products.py's, shared with cuda.py.
"""
import numpy as np

from . import products


def matmul(a, b, out=None):
    """a @ b with NumPy's (= PyTorch's) 1-D, 2-D and batch-broadcasting rules."""
    return products.matmul(np, a, b, out)


def addmm(bias, a, b, beta, alpha, out):
    """out = beta * bias + alpha * (a @ b), bias broadcast to out; a, b 2-D or 3-D (batched)."""
    return products.addmm(np, bias, a, b, beta, alpha, out)


def einsum(equation, *operands):
    """np.einsum over an explicit equation ('ij,jk->ik'), contraction order chosen by NumPy."""
    return products.einsum(np, equation, operands, optimize=True)
