"""CPU kernels of the embedding family: row gathers (NumPy: memory bound) and the row
scatter-add of the backward (Numba: repeated indices accumulate, rows not looked up stay 0)."""
import numba
import numpy as np


def gather_rows(weight, indices):
    return np.take(weight, indices, axis=0)


@numba.njit(cache=True)
def _scatter_rows(out, indices, grad_rows, skip):
    for k in range(indices.size):
        row = indices[k]
        if row != skip:
            out[row] += grad_rows[k]


def scatter_rows(num_rows, indices, grad_rows, skip):
    """Sum the rows of grad_rows into a zero (num_rows, dim) array at `indices`, except `skip`."""
    out = np.zeros((num_rows,) + grad_rows.shape[1:], dtype=grad_rows.dtype)
    if out.dtype == np.float16:
        keep = indices != skip
        np.add.at(out, indices[keep], grad_rows[keep])  # Numba has no float16 arithmetic
    else:
        _scatter_rows(out, indices, grad_rows, skip)
    return out


def one_hot(indices, num_classes):
    out = np.zeros(indices.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)
    return out
