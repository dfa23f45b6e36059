"""Shape ops: views (reshape, view, transpose, permute, squeeze, expand, narrow, split, ...) and
copies (cat, stack, repeat, flip, roll).

A view is a NumPy array with other strides over its input's memory; `mark_view` gives it the
input's version counter and the function that makes it again from its base, so an in-place
change of either is seen by autograd. Which ops return views follows PyTorch: `reshape` copies
only when the strides allow no view, and `view` then raises instead.
"""
import operator

import numpy as np

from ...autograd import Function
from ...dispatch import kernels
from ...dtypes import result_type, to_dtype
from ...tensor import Tensor
from .._common import normalize_dim, normalize_dims, shape_str
from .._views import mark_view
from ..elementwise.ops import BroadcastTo, sum_to
from ..indexing.ops import basic_index


def _k(dev):
    return kernels("shape", dev)


def _tensor(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")


def _sizes(op, args, what="size"):
    """A tuple of ints from `f(2, 3)`, `f((2, 3))`, `f([2, 3])` or `f(dn.Size(...))`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    try:
        return tuple(operator.index(s) for s in args)
    except TypeError:
        kinds = ", ".join(type(s).__name__ for s in args)
        raise TypeError(f"{op}: {what} must be a sequence of ints, got ({kinds})") from None


def _fill_inferred(op, sizes, numel, what):
    """`sizes` with its one -1 filled in so that they hold exactly `numel` elements.

    `what()` describes the input for the error message (built only when there is one).
    """
    for i, s in enumerate(sizes):
        if s < -1:
            raise RuntimeError(f"{op}: invalid size {s} at index {i} of {shape_str(sizes)}")
    if sizes.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (-1), got {shape_str(sizes)}")
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    if -1 in sizes:
        if numel == 0 and known == 0:
            raise RuntimeError(f"{op}: cannot reshape 0 elements into {shape_str(sizes)}: the -1 "
                               f"could be any size")
        if known and numel % known == 0:
            return tuple(numel // known if s == -1 else s for s in sizes)
    elif known == numel:
        return sizes
    raise RuntimeError(f"{op}: shape {shape_str(sizes)} is invalid for {what()}")


def _infer_shape(op, x, shape):
    if shape == x._data.shape:
        return shape
    numel = x._data.size
    return _fill_inferred(op, shape, numel,
                          lambda: f"an input of shape {shape_str(x.shape)} ({numel} elements)")


# ------------------------------------------------------------------------------------- views

class View(Function):
    """The same memory seen with another shape (no copy; the strides must allow it)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        out = _k(x._device).reshape_view(x._data, shape)
        if out is None:
            raise RuntimeError(f"view: a tensor of shape {shape_str(x.shape)} and strides "
                               f"{list(x.stride())} can't be viewed as {shape_str(shape)} without "
                               f"a copy (a new dim would span non-contiguous memory); use "
                               f".reshape(...) instead")
        return out

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, ctx.in_shape), None


class Reshape(Function):
    """A reshaped copy, for inputs whose strides allow no view."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return _k(x._device).reshape(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, ctx.in_shape), None


def _view(x, shape):
    # the view function reshapes: CopySlices also applies it to gradients of any layout
    return mark_view(View.apply(x, shape), x, lambda base: reshape(base, shape))


def view(input, *shape):
    """The same memory with another shape; -1 infers one size. `x.view(2, -1)`.

    Raises RuntimeError when the strides allow no view (use `reshape`). `x.view(dtype)`
    reinterprets the bytes as another dtype of the same size.

    >>> import dualnet as dn
    >>> dn.arange(6).view(2, -1).shape
    dualnet.Size([2, 3])
    """
    _tensor("view", input)
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer, Tensor)):
        return _view_dtype(input, shape[0])
    return _view(input, _infer_shape("view", input, _sizes("view", shape)))


def _view_dtype(input, dtype):
    dtype = to_dtype(dtype)
    if dtype.itemsize != input._dtype.itemsize:
        raise RuntimeError(f"view: can't view a {input._dtype.name} tensor as {dtype.name} "
                           f"(element sizes {input._dtype.itemsize} and {dtype.itemsize} bytes "
                           f"differ)")
    out = Tensor._make(input._data.view(dtype.np), input._device, dtype, False, None, 0, None)
    return mark_view(out, input, lambda base: _view_dtype(base, dtype))


def reshape(input, *shape):
    """`input` with another shape: a view where the strides allow it, else a copy.

    >>> import dualnet as dn
    >>> dn.arange(6).reshape(3, 2).tolist()
    [[0, 1], [2, 3], [4, 5]]
    """
    _tensor("reshape", input)
    shape = _infer_shape("reshape", input, _sizes("reshape", shape))
    array = input._data
    if array.flags.c_contiguous or _k(input._device).reshape_view(array, shape) is not None:
        return _view(input, shape)
    return Reshape.apply(input, shape)


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def ravel(input):
    """A 1-D view of a contiguous input, else a 1-D copy."""
    _tensor("ravel", input)
    return reshape(input, -1)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one: `flatten(x, 1)` keeps the batch dim.

    >>> import dualnet as dn
    >>> dn.zeros(2, 3, 4).flatten(1).shape
    dualnet.Size([2, 12])
    """
    _tensor("flatten", input)
    ndim = input._data.ndim
    if ndim == 0:
        return reshape(input, 1)
    start = normalize_dim(start_dim, ndim, "flatten")
    end = normalize_dim(end_dim, ndim, "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim})")
    if start == end:
        return input
    shape = input._data.shape
    return reshape(input, shape[:start] + (-1,) + shape[end + 1:])


def unflatten(input, dim, sizes):
    """Split dim `dim` into `sizes` (one may be -1): `unflatten(x, 1, (2, 3))`."""
    _tensor("unflatten", input)
    shape = input._data.shape
    d = normalize_dim(dim, input._data.ndim, "unflatten")
    sizes = _sizes("unflatten", (sizes,), "sizes")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    sizes = _fill_inferred("unflatten", sizes, shape[d], lambda: f"dim {d} of size {shape[d]} of "
                           f"the input of shape {shape_str(shape)}")
    return _view(input, shape[:d] + sizes + shape[d + 1:])


def squeeze(input, dim=None):
    """Drop size-1 dims: all of them, or only those in `dim` (an int or a tuple).

    >>> import dualnet as dn
    >>> dn.zeros(1, 3, 1).squeeze().shape, dn.zeros(1, 3, 1).squeeze(0).shape
    (dualnet.Size([3]), dualnet.Size([3, 1]))
    """
    _tensor("squeeze", input)
    shape = input._data.shape
    dims = normalize_dims(dim, input._data.ndim, "squeeze")
    return _view(input, tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)))


def unsqueeze(input, dim):
    """Insert a size-1 dim at `dim` (in [-ndim-1, ndim]).

    >>> import dualnet as dn
    >>> dn.zeros(2, 3).unsqueeze(-1).shape
    dualnet.Size([2, 3, 1])
    """
    _tensor("unsqueeze", input)
    shape = input._data.shape
    d = normalize_dim(dim, len(shape) + 1, "unsqueeze")
    return _view(input, shape[:d] + (1,) + shape[d:])


class Permute(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return permute(grad, tuple(np.argsort(ctx.dims).tolist())), None


def permute(input, dims):
    """Reorder the dims: out.shape[i] = input.shape[dims[i]] (a view).

    >>> import dualnet as dn
    >>> dn.zeros(2, 3, 4).permute(2, 0, 1).shape
    dualnet.Size([4, 2, 3])
    """
    _tensor("permute", input)
    dims = _sizes("permute", (dims,), "dims")
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(f"permute: the input of shape {shape_str(input.shape)} has {ndim} dims "
                           f"but the order {list(dims)} names {len(dims)}")
    dims = normalize_dims(dims, ndim, "permute")
    return mark_view(Permute.apply(input, dims), input, lambda base: permute(base, dims))


def transpose(input, dim0, dim1):
    """Swap two dims (a view): out[..., j, ..., i, ...] = input[..., i, ..., j, ...].

    >>> import dualnet as dn
    >>> dn.arange(6).reshape(2, 3).transpose(0, 1).tolist()
    [[0, 3], [1, 4], [2, 5]]
    """
    _tensor("transpose", input)
    ndim = input._data.ndim
    d0 = normalize_dim(dim0, ndim, "transpose")
    d1 = normalize_dim(dim1, ndim, "transpose")
    if ndim < 2:
        return _view(input, input._data.shape)
    dims = list(range(ndim))
    dims[d0], dims[d1] = d1, d0
    dims = tuple(dims)
    return mark_view(Permute.apply(input, dims), input, lambda base: permute(base, dims))


swapaxes = swapdims = transpose


def t(input):
    """Transpose a 2-D tensor; 0-D and 1-D come back as they are (as views)."""
    _tensor("t", input)
    if input._data.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got one of shape "
                           f"{shape_str(input.shape)}; use transpose(dim0, dim1) or .mT")
    return transpose(input, 0, -1)


def movedim(input, source, destination):
    """Move dims `source` to positions `destination` (ints or equal-length tuples)."""
    _tensor("movedim", input)
    ndim = input._data.ndim
    source = normalize_dims(source, ndim, "movedim")
    destination = normalize_dims(destination, ndim, "movedim")
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: source {list(source)} and destination {list(destination)} "
                           f"must have the same number of dims")
    order = [d for d in range(ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return permute(input, tuple(order))


moveaxis = movedim


def expand(input, *sizes):
    """Broadcast size-1 dims to `sizes` without copying (stride 0); -1 keeps a size.

    >>> import dualnet as dn
    >>> dn.tensor([[1], [2]]).expand(-1, 3).tolist()
    [[1, 1, 1], [2, 2, 2]]
    """
    _tensor("expand", input)
    sizes = _sizes("expand", sizes)
    shape = input._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                           f"number of dims of the tensor of shape {shape_str(shape)}")
    target = []
    for i, s in enumerate(sizes):
        own = shape[i - lead] if i >= lead else None
        if s == -1 and own is not None:
            s = own
        if s < 0 or (own is not None and own != 1 and own != s):
            raise RuntimeError(f"expand: the tensor of shape {shape_str(shape)} can't be expanded "
                               f"to {list(sizes)} (dim {i}: size {s} where the tensor has "
                               f"{'no dim' if own is None else own}; only size-1 dims can grow)")
        target.append(s)
    target = tuple(target)
    return mark_view(BroadcastTo.apply(input, target), input, lambda base: expand(base, target))


def expand_as(input, other):
    return expand(input, other.shape)


def narrow(input, dim, start, length):
    """The slice start:start+length of dim `dim` (a view).

    >>> import dualnet as dn
    >>> dn.arange(5).narrow(0, 1, 3).tolist()
    [1, 2, 3]
    """
    _tensor("narrow", input)
    d = normalize_dim(dim, input._data.ndim, "narrow")
    size = input._data.shape[d]
    start, length = operator.index(start), operator.index(length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {size} "
                         f"(expected in [{-size}, {size}])")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > size:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds the size {size} "
                           f"of dim {d}")
    return basic_index(input, (slice(None),) * d + (slice(start, start + length),))


def select(input, dim, index):
    """input[..., index, ...] at dim `dim`: a view with that dim removed."""
    _tensor("select", input)
    d = normalize_dim(dim, input._data.ndim, "select")
    index, size = operator.index(index), input._data.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select: index {index} is out of range for dim {d} of size {size} "
                         f"(input of shape {shape_str(input.shape)})")
    return basic_index(input, (slice(None),) * d + (index,))


class Split(Function):
    """Consecutive pieces of one dim, each a view; backward concatenates their gradients."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.sizes, ctx.dim = sizes, dim
        head, start, pieces = (slice(None),) * dim, 0, []
        for s in sizes:
            pieces.append(x._data[head + (slice(start, start + s),)])
            start += s
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


def _split_sizes(input, dim, sizes):
    pieces = Split.apply(input, tuple(sizes), dim)
    starts = np.cumsum((0,) + tuple(sizes)).tolist()
    return tuple(mark_view(p, input, lambda base, s=s, n=n: narrow(base, dim, s, n))
                 for p, s, n in zip(pieces, starts, sizes))


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of `split_size` along dim (the last may be smaller), or of the listed sizes.

    >>> import dualnet as dn
    >>> [p.tolist() for p in dn.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    """
    _tensor("split", tensor)
    d = normalize_dim(dim, tensor._data.ndim, "split")
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = _sizes("split", (split_size_or_sections,), "split sizes")
        if sum(sizes) != size or any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split sizes {list(sizes)} must be non-negative and sum to "
                               f"{size}, the size of dim {d} of the input of shape "
                               f"{shape_str(tensor.shape)}")
    else:
        step = operator.index(split_size_or_sections)
        if step < 0 or (step == 0 and size):
            raise RuntimeError(f"split: split_size must be positive (0 only for an empty dim), got "
                               f"{step} for dim {d} of size {size}")
        sizes = [step] * (size // step) + [size % step] if step else [0]
        if sizes[-1] == 0 and len(sizes) > 1:
            sizes.pop()  # no empty last piece, unless the dim itself is empty
    return _split_sizes(tensor, d, sizes)


def chunk(input, chunks, dim=0):
    """Split into `chunks` pieces of ceil(size / chunks) (fewer when the size runs out).

    >>> import dualnet as dn
    >>> [p.tolist() for p in dn.arange(5).chunk(2)]
    [[0, 1, 2], [3, 4]]
    """
    _tensor("chunk", input)
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be greater than 0, got {chunks}")
    d = normalize_dim(dim, input._data.ndim, "chunk")
    size = input._data.shape[d]
    if size == 0:  # as torch: `chunks` empty pieces
        return _split_sizes(input, d, [0] * chunks)
    return split(input, -(-size // chunks), dim)


class Unbind(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        head = (slice(None),) * dim
        return tuple(x._data[head + (i, Ellipsis)] for i in range(x._data.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


def unbind(input, dim=0):
    """The slices along dim, each a view without that dim.

    >>> import dualnet as dn
    >>> [r.tolist() for r in dn.arange(4).reshape(2, 2).unbind(1)]
    [[0, 2], [1, 3]]
    """
    _tensor("unbind", input)
    if input._data.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
    d = normalize_dim(dim, input._data.ndim, "unbind")
    outs = Unbind.apply(input, d)
    return tuple(mark_view(o, input, lambda base, i=i: select(base, d, i))
                 for i, o in enumerate(outs))


# ------------------------------------------------------------------------------------- copies

class _EmptyListError(RuntimeError, ValueError):
    """torch raises ValueError for `cat([])` but RuntimeError for `stack([])`: catch either."""


def _tensor_list(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise _EmptyListError(f"{op}: expected a non-empty list of Tensors")
    for i, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            raise TypeError(f"{op}: expected a Tensor as element {i}, got {type(item).__name__}")
    dev = tensors[0]._device
    for item in tensors:
        if item._device != dev:
            raise RuntimeError(f"{op}: expected all tensors to be on the same device, got {dev} "
                               f"and {item._device}")
    return list(tensors)


def _grads_for(ctx, pieces):
    return (None,) + tuple(p if need else None for p, need in zip(pieces, ctx.needs_input_grad[1:]))


class Cat(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, dim, *tensors):
        dtype = result_type(*tensors)
        ctx.dim, ctx.sizes = dim, [item._data.shape[dim] for item in tensors]
        return _k(tensors[0]._device).concatenate([item._data for item in tensors], dim, dtype.np)

    @staticmethod
    def backward(ctx, grad):
        return _grads_for(ctx, split(grad, ctx.sizes, ctx.dim))


def cat(tensors, dim=0):
    """Join tensors along an existing dim; dtypes promote as in arithmetic.

    >>> import dualnet as dn
    >>> dn.cat([dn.zeros(2, 3), dn.ones(1, 3)]).shape
    dualnet.Size([3, 3])
    """
    return _cat("cat", _tensor_list("cat", tensors), dim)


def _cat(op, tensors, dim):
    for i, item in enumerate(tensors):
        if item._data.ndim == 0:
            raise RuntimeError(f"{op}: zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated; unsqueeze it or use stack")
    # torch's legacy rule: 1-D empty tensors are skipped, whatever the others' shapes
    kept = [item for item in tensors if item._data.shape != (0,)] or tensors[:1]
    first = kept[0]._data.shape
    d = normalize_dim(dim, len(first), op)
    outside = first[:d] + (None,) + first[d + 1:]
    for item in kept:
        shape = item._data.shape
        if len(shape) != len(first) or shape[:d] + (None,) + shape[d + 1:] != outside:
            shapes = ", ".join(shape_str(x.shape) for x in tensors)
            raise RuntimeError(f"{op}: tensors must have the same number of dims and the same "
                               f"sizes in every dim except dim {d}, got shapes {shapes}")
    return Cat.apply(d, *kept)


concat = concatenate = cat


class Stack(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, dim, *tensors):
        dtype = result_type(*tensors)
        ctx.dim = dim
        return _k(tensors[0]._device).stack([item._data for item in tensors], dim, dtype.np)

    @staticmethod
    def backward(ctx, grad):
        return _grads_for(ctx, unbind(grad, ctx.dim))


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim `dim`.

    >>> import dualnet as dn
    >>> dn.stack([dn.zeros(2), dn.ones(2)], dim=1).shape
    dualnet.Size([2, 2])
    """
    tensors = _tensor_list("stack", tensors)
    shape = tensors[0]._data.shape
    for i, item in enumerate(tensors):
        if item._data.shape != shape:
            raise RuntimeError(f"stack: expects every tensor to have the same shape, got "
                               f"{shape_str(shape)} at entry 0 and {shape_str(item.shape)} at "
                               f"entry {i}")
    d = normalize_dim(dim, len(shape) + 1, "stack")
    return Stack.apply(d, *tensors)


def hstack(tensors):
    """cat along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [reshape(x, 1) if x.ndim == 0 else x for x in _tensor_list("hstack", tensors)]
    return _cat("hstack", tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """cat along dim 0, 1-D tensors becoming rows."""
    tensors = [reshape(x, 1, -1) if x.ndim < 2 else x for x in _tensor_list("vstack", tensors)]
    return _cat("vstack", tensors, 0)


class Repeat(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape, ctx.reps = x._data.shape, reps
        return _k(x._device).tile(x._data, reps)

    @staticmethod
    def backward(ctx, grad):
        padded = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + ctx.in_shape
        # give each copy its own axis next to the dim it repeats; summing those axes folds them
        interleaved = sum(((r, s) for r, s in zip(ctx.reps, padded)), ())
        folded = sum(((1, s) for s in padded), ())
        return reshape(sum_to(reshape(grad, interleaved), folded), ctx.in_shape), None


def repeat(input, *sizes):
    """Tile the tensor `sizes[i]` times along dim i (torch's Tensor.repeat; a copy).

    >>> import dualnet as dn
    >>> dn.tensor([1, 2]).repeat(2).tolist()
    [1, 2, 1, 2]
    """
    _tensor("repeat", input)
    sizes = _sizes("repeat", sizes, "repeats")
    if len(sizes) < input._data.ndim:
        raise RuntimeError(f"repeat: the number of repeats ({len(sizes)}) must be at least the "
                           f"number of dims of the tensor of shape {shape_str(input.shape)}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {list(sizes)}")
    return Repeat.apply(input, sizes)


def tile(input, dims):
    """Like `repeat`, with missing leading repeats taken as 1 (numpy.tile).

    >>> import dualnet as dn
    >>> dn.tile(dn.tensor([[1, 2]]), (2,)).tolist()
    [[1, 2, 1, 2]]
    """
    _tensor("tile", input)
    dims = _sizes("tile", (dims,), "dims")
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


class Flip(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return _k(x._device).flip(x._data, dims)

    @staticmethod
    def backward(ctx, grad):
        return flip(grad, ctx.dims), None


def flip(input, *dims):
    """Reverse the order of elements along `dims` (a copy, as in torch).

    >>> import dualnet as dn
    >>> dn.arange(3).flip(0).tolist()
    [2, 1, 0]
    """
    _tensor("flip", input)
    dims = normalize_dims(_sizes("flip", dims, "dims"), input._data.ndim, "flip")
    return Flip.apply(input, dims)


class Roll(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return _k(x._device).roll(x._data, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        return Roll.apply(grad, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(input, shifts, dims=None):
    """out[(i + shift) % n] = input[i] along dims (over the flattened tensor if dims is None).

    >>> import dualnet as dn
    >>> dn.arange(4).roll(1).tolist()
    [3, 0, 1, 2]
    """
    _tensor("roll", input)
    shifts = _sizes("roll", (shifts,), "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: without dims, shifts must be a single int, got "
                               f"{list(shifts)}")
    else:
        dims = normalize_dims(dims, input._data.ndim, "roll")
        if len(dims) != len(shifts):
            raise RuntimeError(f"roll: shifts {list(shifts)} and dims {list(dims)} must have the "
                               f"same length")
    return Roll.apply(input, shifts, dims)


METHODS = {name: globals()[name] for name in (
    "view", "view_as", "reshape", "reshape_as", "ravel", "flatten", "unflatten", "squeeze",
    "unsqueeze", "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis", "expand",
    "expand_as", "narrow", "select", "split", "chunk", "unbind", "repeat", "flip", "roll")}
METHODS["permute"] = lambda self, *dims: permute(self, dims[0] if len(dims) == 1 else dims)
METHODS["tile"] = lambda self, *dims: tile(self, dims[0] if len(dims) == 1 else dims)

__all__ = [
    "reshape", "ravel", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose",
    "swapaxes", "swapdims", "t", "movedim", "moveaxis", "narrow", "select", "split", "chunk",
    "unbind", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "tile", "flip", "roll",
]
