"""CPU kernels of the embedding family: row gathers (NumPy: memory bound) and the row
scatter-add of the backward (Numba: repeated indices accumulate, rows not looked up stay 0;
optionally each row's sum divided by its index's count, torch's scale_grad_by_freq)."""
import numba
import numpy as np


def gather_rows(weight, indices):
    return np.take(weight, indices, axis=0)


@numba.njit(cache=True)
def _scatter_rows(out, indices, grad_rows, skip, scale):
    # scale: one factor per row of out, or empty for none (a factor of 1: exact)
    dim = grad_rows.shape[1]
    one = scale.dtype.type(1)
    for k in range(indices.size):
        row = indices[k]
        if row != skip:
            factor = scale[row] if scale.size else one
            for j in range(dim):
                out[row, j] += grad_rows[k, j] * factor


def scatter_rows(num_rows, indices, grad_rows, skip, scale_grad_by_freq):
    """Sum the rows of grad_rows (K, dim) into a zero (num_rows, dim) array at `indices`, except
    `skip`; with scale_grad_by_freq each row's terms are multiplied by 1 / (how many times its
    index occurs in `indices`), the factor rounded to the gradient's dtype as torch does."""
    dtype = grad_rows.dtype
    work = np.float32 if dtype == np.float16 else dtype  # Numba has no float16 arithmetic
    scale = np.empty(0, dtype=work)
    if scale_grad_by_freq:
        counts = np.bincount(indices, minlength=num_rows)
        scale = (1.0 / np.maximum(counts, 1)).astype(work)  # rows never looked up: unused
    out = np.zeros((num_rows,) + grad_rows.shape[1:], dtype=dtype)
    if dtype == np.float16:
        keep = indices != skip
        rows = grad_rows[keep]
        if scale.size:
            rows = (rows * scale[indices[keep]][:, None]).astype(dtype)
        np.add.at(out, indices[keep], rows)
    else:
        _scatter_rows(out, indices, grad_rows, skip, scale)
    return out


def one_hot(indices, num_classes):
    out = np.zeros(indices.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)
    return out
