"""Embedding lookups and one-hot encoding.

`embedding` gathers rows of a weight matrix; its gradient is dense (torch's sparse=False) and
non-zero only in the rows looked up, never in `padding_idx`'s row. With scale_grad_by_freq each
row's gradient is divided by how often its index occurs in the batch (torch's rule): a frequent
word does not get a step many times larger than a rare one.
"""
from ...autograd import Function, no_grad
from ...device import array_module
from ...dispatch import kernels
from ...tensor import Tensor
from .._common import check_same_device, shape_str


def _k(dev):
    return kernels("embedding", dev)


def _indices(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected an index Tensor, got {type(input).__name__}")
    if input.dtype.name not in ("int64", "int32", "int16", "int8", "uint8"):
        raise RuntimeError(f"{op}: expected an integer index tensor (Long or Int), got "
                           f"{input.dtype}")
    return input._data


class Embedding(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, indices, weight, padding_idx, scale_grad_by_freq):
        ctx.num_rows, ctx.padding_idx = weight._data.shape[0], padding_idx
        ctx.scale_grad_by_freq = scale_grad_by_freq
        ctx.indices = indices._data
        return _k(weight._device).gather_rows(weight._data, indices._data)

    @staticmethod
    def backward(ctx, grad):
        if grad.requires_grad:  # double backward: keep the graph (the lookup is linear in weight)
            raise RuntimeError("embedding: double backward through the weight is not supported")
        dim = grad._data.shape[len(ctx.indices.shape):]
        rows = grad._data.reshape((-1,) + dim)
        skip = -1 if ctx.padding_idx is None else ctx.padding_idx
        dense = _k(grad._device).scatter_rows(ctx.num_rows, ctx.indices.reshape(-1), rows, skip,
                                              ctx.scale_grad_by_freq)
        return (None, Tensor._make(dense, grad._device, grad._dtype, False, None, 0, None), None,
                None)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of `weight` (num_embeddings, dim) at the integer `input`: output input.shape + (dim,).

    out[i] = weight[input[i]]; grad_weight[r] = sum over i with input[i] == r of grad_out[i],
    divided by count(r) = #{i : input[i] == r} when scale_grad_by_freq (0 for padding_idx).

    >>> import dualnet as dn, dualnet.nn.functional as F
    >>> F.embedding(dn.tensor([2, 0]), dn.arange(6.0).reshape(3, 2)).tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    >>> w = dn.ones(3, 2, requires_grad=True)
    >>> F.embedding(dn.tensor([2, 2, 0]), w, scale_grad_by_freq=True).sum().backward()
    >>> w.grad.tolist()
    [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    """
    array = _indices("embedding", input)
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be a 2-D tensor (num_embeddings, "
                           f"embedding_dim), got {shape_str(getattr(weight, 'shape', ()))}")
    check_same_device("embedding", input, weight)
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within the "
                             f"{rows} embeddings")
        padding_idx %= rows
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= rows:
            raise IndexError(f"embedding: index {high if high >= rows else low} is out of range "
                             f"for a weight with {rows} rows")
    if sparse:
        raise ValueError("embedding: sparse=True is not supported: dualnet has no sparse tensors; "
                         "use sparse=False (the default), whose weight gradient is a dense tensor "
                         "that is zero in the rows not looked up")
    if max_norm is not None:
        _renorm_rows(weight, array, max_norm, norm_type)
    return Embedding.apply(input, weight, padding_idx, bool(scale_grad_by_freq))


def _renorm_rows(weight, indices, max_norm, norm_type):
    """torch's max_norm: rows looked up are rescaled in place to norm <= max_norm."""
    xp = array_module(weight.device)
    with no_grad():
        rows = xp.unique(indices.reshape(-1))
        data = weight._data
        norms = xp.linalg.norm(data[rows], ord=norm_type, axis=1)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        data[rows] *= scale[:, None].astype(data.dtype)
        weight._version.value += 1


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size num_classes (max + 1 when -1)."""
    array = _indices("one_hot", tensor)
    if array.size and int(array.min()) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(array.min())}")
    if num_classes == -1:
        if not array.size:
            raise RuntimeError("one_hot: can not infer the total number of classes from an "
                               "empty tensor; pass num_classes")
        num_classes = int(array.max()) + 1
    elif array.size and int(array.max()) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {int(array.max())}")
    return Tensor._make(_k(tensor._device).one_hot(array, num_classes), tensor._device, None,
                        False, None, 0, None)


FUNCTIONAL = ["embedding", "one_hot"]
__all__ = []
METHODS = {}
