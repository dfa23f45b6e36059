"""The matmul family's products, written once over an array module `xp` for cpu.py (NumPy:
OpenBLAS's GEMMs) and cuda.py (CuPy: cuBLAS's). Both read transposed views through BLAS's
transpose flags, so `grad @ b.mT` copies nothing."""
import math


def matmul(xp, a, b, out=None):
    """a @ b with NumPy's (= PyTorch's) 1-D, 2-D and batch-broadcasting rules."""
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous and out is None:
        # (..., m, k) @ (k, n): one GEMM over all rows instead of one small GEMM per batch entry
        rows = math.prod(a.shape[:-1])
        flat = xp.matmul(a.reshape(rows, a.shape[-1]), b)
        return flat.reshape(a.shape[:-1] + (b.shape[-1],))
    if a.ndim == 1 and b.ndim == 1 and out is None:
        return xp.asarray(xp.dot(a, b))  # xp.matmul would return a NumPy scalar, not an array
    return xp.matmul(a, b, out=out)


def addmm(xp, bias, a, b, beta, alpha, out):
    """out = beta * bias + alpha * (a @ b), bias broadcast to out; a, b 2-D or 3-D (batched)."""
    xp.matmul(a, b, out=out)
    if alpha != 1:
        out *= alpha
    if beta == 1:
        out += bias
    elif beta != 0:  # beta == 0 ignores bias entirely (NaN and inf in it too), as BLAS does
        out += beta * bias
    return out


def einsum(xp, equation, operands, **options):
    """xp.einsum over an explicit equation ('ij,jk->ik'), as an array (never a scalar)."""
    return xp.asarray(xp.einsum(equation, *operands, **options))
