"""CUDA kernels of the matmul family: every product goes through the array module, i.e.
CuPy's cuBLAS GEMMs (NumPy under the simulator), as the CPU twins go through NumPy's BLAS;
transposed views reach cuBLAS through its transpose flags, so `grad @ b.mT` copies nothing."""
import math

from ...device import cuda_array_module

xp = cuda_array_module()


def matmul(a, b, out=None):
    """a @ b with NumPy's (= PyTorch's) 1-D, 2-D and batch-broadcasting rules."""
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous and out is None:
        # (..., m, k) @ (k, n): one GEMM over all rows instead of a batch of small ones
        rows = math.prod(a.shape[:-1])
        flat = xp.matmul(a.reshape(rows, a.shape[-1]), b)
        return flat.reshape(a.shape[:-1] + (b.shape[-1],))
    if a.ndim == 1 and b.ndim == 1 and out is None:
        return xp.asarray(xp.dot(a, b))  # a 0-d array, as the CPU twin returns
    return xp.matmul(a, b, out=out)


def addmm(bias, a, b, beta, alpha, out):
    """out = beta * bias + alpha * (a @ b), bias broadcast to out; a, b 2-D or 3-D (batched)."""
    xp.matmul(a, b, out=out)
    if alpha != 1:
        out *= alpha
    if beta == 1:
        out += bias
    elif beta != 0:  # beta == 0 ignores bias entirely (NaN and inf in it too), as BLAS does
        out += beta * bias
    return out


def einsum(equation, *operands):
    """xp.einsum over an explicit equation ('ij,jk->ik'); CuPy lowers contractions to cuBLAS."""
    return xp.asarray(xp.einsum(equation, *operands))
