"""CUDA kernels of the matmul family: every product goes through the array module, i.e.
CuPy's cuBLAS GEMMs (NumPy under the simulator), as the CPU twins go through NumPy's BLAS;
transposed views reach cuBLAS through its transpose flags, so `grad @ b.mT` copies nothing.
The code is products.py's, shared with cpu.py."""
from ...device import cuda_array_module
from . import products

xp = cuda_array_module()


def matmul(a, b, out=None):
    """a @ b with NumPy's (= PyTorch's) 1-D, 2-D and batch-broadcasting rules."""
    return products.matmul(xp, a, b, out)


def addmm(bias, a, b, beta, alpha, out):
    """out = beta * bias + alpha * (a @ b), bias broadcast to out; a, b 2-D or 3-D (batched)."""
    return products.addmm(xp, bias, a, b, beta, alpha, out)


def einsum(equation, *operands):
    """xp.einsum over an explicit equation ('ij,jk->ik'); CuPy lowers contractions to cuBLAS."""
    return products.einsum(xp, equation, operands)
