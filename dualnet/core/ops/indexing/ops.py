"""Indexing ops: `t[key]` reads and writes, index_select, gather, scatter, masked_fill, nonzero.

A key is split in two, as PyTorch does: ints, slices, None and Ellipsis make a view of the
input (basic indexing, `mark_view`), then integer and boolean index tensors pick elements out
of that view (advanced indexing, a copy). The gradient of a pick scatter-adds into zeros, so
an element picked twice gets both gradients.
"""
import numbers
import operator

import numpy as np

from ...autograd import Function, is_grad_enabled
from ...device import array_module, to_host
from ...dispatch import kernels
from ...dtypes import bool_, int64
from ...tensor import Tensor
from .._common import broadcast_shape, check_same_device, normalize_dim, shape_str
from .._views import apply_inplace, mark_view
from ..elementwise.ops import broadcast_to, sum_to, where


def _k(dev):
    return kernels("indexing", dev)


def _wrap(array, dev, dtype=None):
    return Tensor._make(array, dev, dtype, False, None, 0, None)


# ------------------------------------------------------------------------------ key parsing

def _index_array(op, item, dev):
    """An index tensor / array / list as a host-or-device array, refusing float indices."""
    if isinstance(item, Tensor):
        array = item._data
    else:
        array = np.asarray(item)
        if array.size == 0 and array.dtype.kind == "f":  # `t[[]]` is an empty int index
            array = array.astype(np.int64)
        if array.dtype == object:
            raise IndexError(f"{op}: can't index with the nested sequence {item!r}")
    if array.dtype.kind not in "biu":
        raise IndexError(f"{op}: tensors used as indices must be long, int, byte or bool tensors, "
                         f"got {array.dtype}")
    if isinstance(item, Tensor):
        if item._device == dev:
            return array
        array = to_host(array)  # indices on the other device are moved, as torch does
    return array_module(dev).asarray(array)


def _check_bounds(op, array, size, dim):
    if array.size == 0:
        return array
    low, high = int(array.min()), int(array.max())
    if low < -size or high >= size:
        bad = high if high >= size else low
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")
    return array + size * (array < 0) if low < 0 else array


def parse_key(op, shape, key, dev):
    """(basic, advanced) for `t[key]`: a view key or None, then an index key or None."""
    if type(key) is int:  # fast path: t[i]
        size = shape[0] if shape else _too_many(op, len(shape))
        if not -size <= key < size:
            raise IndexError(f"{op}: index {key} is out of bounds for dimension 0 with size {size}")
        return (key, Ellipsis), None
    items = key if type(key) is tuple else (key,)
    if len(items) <= len(shape):  # fast path: ints and slices only (t[:, 0], t[1:3, ::2])
        for d, item in enumerate(items):
            kind = type(item)
            if kind is int:
                if not -shape[d] <= item < shape[d]:
                    break
            elif kind is not slice or (item.step is not None and item.step <= 0):
                break
        else:
            return items + (Ellipsis,), None
    kinds, consumed = [], 0
    for item in items:
        if item is None or item is Ellipsis:
            kind = item
        elif isinstance(item, (bool, np.bool_)):
            kind, item = "bool", bool(item)
        elif isinstance(item, (int, np.integer)):
            kind, item, consumed = "int", int(item), consumed + 1
        elif isinstance(item, slice):
            kind, consumed = "slice", consumed + 1
            if item.step is not None and operator.index(item.step) <= 0:
                raise ValueError(f"{op}: step must be greater than zero, got {item.step} (negative "
                                 f"steps are not supported; use flip())")
        elif isinstance(item, (Tensor, np.ndarray, list, tuple)):
            item = _index_array(op, item, dev)
            if item.dtype == np.bool_ or item.dtype == np.uint8:  # uint8: torch's legacy masks
                kind = "mask" if item.ndim else "bool"
                if kind == "bool":
                    item = bool(item)
                consumed += item.ndim if kind == "mask" else 0
            else:
                kind, consumed = "array", consumed + 1
        else:
            raise IndexError(f"{op}: only integers, slices (`:`), ellipsis (`...`), None, bools "
                             f"and integer or bool tensors are valid indices, got "
                             f"{type(item).__name__}")
        if kind is Ellipsis and any(k is Ellipsis for k, _ in kinds):
            raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
        kinds.append((kind, item))
    if consumed > len(shape):
        _too_many(op, len(shape))
    basic, advanced, in_dim, out_dim = [], [], 0, 0
    for kind, item in kinds:
        if kind == "int":
            size = shape[in_dim]
            if not -size <= item < size:
                raise IndexError(f"{op}: index {item} is out of bounds for dimension {in_dim} with "
                                 f"size {size}")
            basic.append(item)
            in_dim += 1
        elif kind == "slice":
            basic.append(item)
            in_dim, out_dim = in_dim + 1, out_dim + 1
        elif kind is None or kind == "bool":
            basic.append(None)
            if item is False:  # t[False] selects nothing along a new dim
                advanced.append((out_dim, array_module(dev).zeros(0, np.intp)))
            out_dim += 1
        elif kind is Ellipsis:
            n = len(shape) - consumed
            basic.extend([slice(None)] * n)
            in_dim, out_dim = in_dim + n, out_dim + n
        elif kind == "mask":
            covered = tuple(shape[in_dim:in_dim + item.ndim])
            if tuple(item.shape) != covered:
                raise IndexError(f"{op}: the mask of shape {shape_str(item.shape)} does not match "
                                 f"the indexed tensor's shape {shape_str(shape)} at dims "
                                 f"{in_dim}..{in_dim + item.ndim - 1} ({shape_str(covered)})")
            for coords in _k(dev).nonzero_tuple(item):
                basic.append(slice(None))
                advanced.append((out_dim, coords))
                in_dim, out_dim = in_dim + 1, out_dim + 1
        else:
            basic.append(slice(None))
            advanced.append((out_dim, _check_bounds(op, item, shape[in_dim], in_dim)))
            in_dim, out_dim = in_dim + 1, out_dim + 1
    if not advanced:
        return tuple(basic) + (Ellipsis,), None
    try:
        if len(advanced) > 1:
            broadcast_shape(op, *[tuple(a.shape) for _, a in advanced])
    except RuntimeError:
        shapes = ", ".join(shape_str(a.shape) for _, a in advanced)
        raise IndexError(f"{op}: shape mismatch: the index tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    key = [slice(None)] * (advanced[-1][0] + 1)
    for d, array in advanced:
        key[d] = array
    plain = all(type(b) is slice and b == slice(None) for b in basic)
    return (None if plain else tuple(basic) + (Ellipsis,)), tuple(key)


def _too_many(op, ndim):
    raise IndexError(f"{op}: too many indices for tensor of dimension {ndim}")


# ------------------------------------------------------------------------------ reading

class BasicIndex(Function):
    """A view picked by ints, slices and None; backward places the gradient into zeros."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape, ctx.key = x._data.shape, key
        return x._data[key]

    @staticmethod
    def backward(ctx, grad):
        return BasicIndexBackward.apply(grad, ctx.in_shape, ctx.key), None


class BasicIndexBackward(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, grad, in_shape, key):
        ctx.key = key
        out = array_module(grad._device).zeros(in_shape, grad._data.dtype)
        _k(grad._device).index_put(out, key, None, grad._data)
        return out

    @staticmethod
    def backward(ctx, grad_grad):
        return basic_index(grad_grad, ctx.key), None, None


def basic_index(input, key):
    """input[key] for an already validated basic key (ints, slices, None): a view."""
    if not key or key[-1] is not Ellipsis:
        key = tuple(key) + (Ellipsis,)
    return mark_view(BasicIndex.apply(input, key), input, lambda base: basic_index(base, key))


class AdvancedIndex(Function):
    """Elements picked by index arrays (a copy); backward scatter-adds into zeros."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape, ctx.key = x._data.shape, key
        return _k(x._device).take(x._data, key)

    @staticmethod
    def backward(ctx, grad):
        return AdvancedIndexBackward.apply(grad, ctx.in_shape, ctx.key), None


class AdvancedIndexBackward(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, grad, in_shape, key):
        ctx.key = key
        out = array_module(grad._device).zeros(in_shape, grad._data.dtype)
        _k(grad._device).index_put_accumulate(out, key, grad._data)
        return out

    @staticmethod
    def backward(ctx, grad_grad):
        return AdvancedIndex.apply(grad_grad, ctx.key), None, None


def getitem(input, key):
    """`input[key]`: ints, slices (step > 0), None, ..., bools, int/bool index tensors or lists.

    >>> import dualnet as dn
    >>> x = dn.arange(6).reshape(2, 3)
    >>> x[1, 1:].tolist(), x[:, [0, 2]].tolist(), x[x > 3].tolist()
    ([4, 5], [[0, 2], [3, 5]], [4, 5])
    """
    basic, advanced = parse_key("index", input._data.shape, key, input._device)
    out = input if basic is None else basic_index(input, basic)
    return out if advanced is None else AdvancedIndex.apply(out, advanced)


# ------------------------------------------------------------------------------ writing

class IndexPut(Function):
    """A copy of x with x[key] = value; the overwritten region passes no gradient to x."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, value, basic, advanced):
        ctx.basic, ctx.advanced = basic, advanced
        ctx.value_shape = value._data.shape if isinstance(value, Tensor) else ()
        out = x._data.copy()
        _put(out, basic, advanced, value, x)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_x = grad_value = None
        if ctx.needs_input_grad[0]:
            grad_x = IndexPut.apply(grad, 0.0, ctx.basic, ctx.advanced)
        if ctx.needs_input_grad[1]:
            picked = grad if ctx.basic is None else basic_index(grad, ctx.basic)
            if ctx.advanced is not None:
                picked = AdvancedIndex.apply(picked, ctx.advanced)
            grad_value = _sum_to_value(picked, ctx.value_shape)
        return grad_x, grad_value, None, None


def _sum_to_value(grad, shape):
    extra = len(shape) - grad._data.ndim  # a value may carry leading size-1 dims
    if extra <= 0:
        return sum_to(grad, shape)
    return sum_to(grad, shape[extra:]).reshape(shape)


def _put(out, basic, advanced, value, target):
    array = value._data if isinstance(value, Tensor) else value
    try:
        _k(target._device).index_put(out, Ellipsis if basic is None else basic, advanced, array)
    except ValueError:
        region = out[Ellipsis if basic is None else basic]
        if advanced is not None:
            region = region[advanced]
        raise RuntimeError(f"index assignment: a value of shape {shape_str(np.shape(array))} can't "
                           f"be broadcast to the indexed region of shape {shape_str(region.shape)} "
                           f"(tensor of shape {shape_str(target.shape)})") from None


def setitem(self, key, value):
    """`self[key] = value`: a number, tensor, array or list, broadcast and cast to self's dtype.

    >>> import dualnet as dn
    >>> x = dn.zeros(2, 3)
    >>> x[:, 0] = 1
    >>> x.tolist()
    [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    if isinstance(value, Tensor):
        if value._device != self._device:
            raise RuntimeError(f"index assignment: the value is on {value._device} but the tensor "
                               f"is on {self._device}")
    elif isinstance(value, (np.ndarray, list, tuple)):
        value = Tensor._from_value(value, self._dtype, self._device)
    elif not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"index assignment: the value must be a number, a tensor or an array, got "
                        f"{type(value).__name__}")
    basic, advanced = parse_key("index assignment", self._data.shape, key, self._device)
    _check_writeable("index assignment", self)
    if is_grad_enabled() and (self._requires_grad or (isinstance(value, Tensor) and
                                                      value._requires_grad)):
        apply_inplace(self, "index assignment", lambda t, v: IndexPut.apply(t, v, basic, advanced),
                      value)
        return
    _put(self._data, basic, advanced, value, self)
    self._version.value += 1


def _check_writeable(op, t):
    if t._device.type == "cpu" and not t._data.flags.writeable:
        raise RuntimeError(f"{op}: the tensor of shape {shape_str(t.shape)} is an expanded view "
                           f"(several elements share one memory location); clone() it first")


# ------------------------------------------------------------------------------ select, gather

def _int_index(op, index):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: index must be a Tensor, got {type(index).__name__}")
    if index._dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{op}: expected an int64 or int32 index tensor, got {index._dtype}")
    return index._data


def index_select(input, dim, index):
    """The entries `index` (a 1-D int tensor) of dim `dim`: out[i] = input[index[i]] (dim 0).

    >>> import dualnet as dn
    >>> dn.arange(6).reshape(3, 2).index_select(0, dn.tensor([2, 0])).tolist()
    [[4, 5], [0, 1]]
    """
    check_same_device("index_select", input, index)
    d = normalize_dim(dim, input._data.ndim, "index_select")
    array = _int_index("index_select", index)
    if array.ndim > 1:
        raise IndexError(f"index_select: index must be a vector (0-D or 1-D), got shape "
                         f"{shape_str(array.shape)}")
    array = array.reshape(-1)
    size = input._data.shape[d] if input._data.ndim else 1
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= size:
            raise IndexError(f"index_select: index {high if high >= size else low} is out of range "
                             f"for dim {d} of size {size}")
    if input._data.ndim == 0:
        return getitem(input, (None,))[array]
    return AdvancedIndex.apply(input, (slice(None),) * d + (array,))


def _check_gather_args(op, input, dim, index, src=None):
    check_same_device(op, input, index, src)
    d = normalize_dim(dim, input._data.ndim, op)
    array = _int_index(op, index)
    if array.ndim != input._data.ndim and not (array.size == 0 and array.ndim == 1):
        raise RuntimeError(f"{op}: the index must have as many dims as the input, got index shape "
                           f"{shape_str(array.shape)} for input shape {shape_str(input.shape)}")
    if src is not None and src._data.ndim != array.ndim:
        raise RuntimeError(f"{op}: the index must have as many dims as src, got index shape "
                           f"{shape_str(array.shape)} for src shape {shape_str(src.shape)}")
    for i, n in enumerate(array.shape):
        if (i != d and n > input._data.shape[i]) or (src is not None and n > src._data.shape[i]):
            raise RuntimeError(f"{op}: the index of shape {shape_str(array.shape)} must be no "
                               f"larger than the input {shape_str(input.shape)} apart from dim "
                               f"{d}" +
                               ("" if src is None else f", nor than src {shape_str(src.shape)}"))
    if array.size:
        low, high = int(array.min()), int(array.max())
        size = input._data.shape[d]
        if low < 0 or high >= size:
            raise RuntimeError(f"{op}: index {high if high >= size else low} is out of bounds for "
                               f"dimension {d} with size {size}")
    return d, array


class Gather(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dim, index):
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.in_shape, ctx.dim = x._data.shape, dim
            ctx.save_for_backward(index)
        return _k(x._device).gather(x._data, dim, index._data)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        zeros = Tensor._zeros(ctx.in_shape, grad._dtype, grad._device)
        return ScatterAdd.apply(zeros, ctx.dim, index, grad), None, None


def gather(input, dim, index):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for other dims).

    >>> import dualnet as dn
    >>> dn.tensor([[1, 2], [3, 4]]).gather(1, dn.tensor([[1], [0]])).tolist()
    [[2], [3]]
    """
    d, _ = _check_gather_args("gather", input, dim, index)
    return Gather.apply(input, d, index)


class ScatterAdd(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dim, index, src):
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.dim = dim
            ctx.save_for_backward(index)
        out = x._data.copy()  # C-contiguous, as the kernel needs
        _k(x._device).scatter_add(out, dim, index._data, src._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return grad, None, None, gather(grad, ctx.dim, index) if ctx.needs_input_grad[3] else None


class Scatter(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dim, index, src):
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.dim = dim
            ctx.save_for_backward(index)
        out = x._data.copy()
        source = src._data if isinstance(src, Tensor) else x._dtype.np.type(src)
        _k(x._device).scatter(out, dim, index._data, source)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_x = Scatter.apply(grad, ctx.dim, index, 0.0) if ctx.needs_input_grad[0] else None
        grad_src = gather(grad, ctx.dim, index) if ctx.needs_input_grad[3] else None
        return grad_x, None, None, grad_src


def _scatter_src(op, input, src, value):
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{op}: expected src (a tensor) or value (a number)")
    if isinstance(src, Tensor):
        if src._dtype is not input._dtype:
            raise RuntimeError(f"{op}: expected src of the input's dtype {input._dtype.name}, got "
                               f"{src._dtype.name}")
        return src
    if not isinstance(src, (numbers.Number, np.generic)):
        raise TypeError(f"{op}: src must be a tensor or a number, got {type(src).__name__}")
    return src


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of input with out[index[i][j]][j] = src[i][j] (dim 0); src may be a number.

    reduce='add' accumulates instead (as scatter_add). Where an index repeats, one write wins.
    """
    src = _scatter_src("scatter", input, src, value)
    if reduce is not None:
        if reduce != "add":
            raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
        if not isinstance(src, Tensor):
            _int_index("scatter", index)
            src = Tensor._full(index._data.shape, src, input._dtype, input._device)
        return scatter_add(input, dim, index, src)
    sized = src if isinstance(src, Tensor) else None
    d, _ = _check_gather_args("scatter", input, dim, index, sized)
    return Scatter.apply(input, d, index, src)


def scatter_add(input, dim, index, src):
    """A copy of input with out[index[i][j]][j] += src[i][j] (dim 0), repeats accumulating.

    >>> import dualnet as dn
    >>> dn.zeros(3).scatter_add(0, dn.tensor([0, 0, 2]), dn.ones(3)).tolist()
    [2.0, 0.0, 1.0]
    """
    src = _scatter_src("scatter_add", input, src, None)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    d, _ = _check_gather_args("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, d, index, src)


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    """In-place scatter."""
    args = (src if src is not None else value,)
    return apply_inplace(self, "scatter_", lambda t, s: scatter(t, dim, index, s, reduce=reduce),
                         *args)


def scatter_add_(self, dim, index, src):
    """In-place scatter_add."""
    return apply_inplace(self, "scatter_add_", lambda t, s: scatter_add(t, dim, index, s), src)


def take_along_dim(input, indices, dim=None):
    """Pick along `dim` with `indices`, broadcast against input off `dim` (flat if dim is None).

    >>> import dualnet as dn
    >>> dn.tensor([[3, 1], [0, 5]]).take_along_dim(dn.tensor([[1], [0]]), 1).tolist()
    [[1], [0]]
    """
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = normalize_dim(dim, input._data.ndim, "take_along_dim")
    _int_index("take_along_dim", indices)
    if indices._data.ndim != input._data.ndim:
        raise RuntimeError(f"take_along_dim: input {shape_str(input.shape)} and indices "
                           f"{shape_str(indices.shape)} must have the same number of dims")
    off = [s for i, s in enumerate(input._data.shape) if i != d]
    idx_off = [s for i, s in enumerate(indices._data.shape) if i != d]
    common = list(broadcast_shape("take_along_dim", tuple(off), tuple(idx_off)))
    common.insert(d, None)
    in_shape = tuple(input._data.shape[d] if s is None else s for s in common)
    idx_shape = tuple(indices._data.shape[d] if s is None else s for s in common)
    xp = array_module(indices._device)
    index = _wrap(xp.ascontiguousarray(xp.broadcast_to(indices._data, idx_shape)), indices._device)
    return gather(broadcast_to(input, in_shape), d, index)


# ------------------------------------------------------------------------------ masks

def _bool_mask(op, mask):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: mask must be a bool Tensor, got {type(mask).__name__}")
    if mask._dtype is not bool_:
        raise RuntimeError(f"{op}: expected a bool mask, got one of dtype {mask._dtype.name}")
    return mask


def masked_fill(input, mask, value):
    """A copy of input with `value` (a number or 0-d tensor) where mask is True.

    >>> import dualnet as dn
    >>> dn.zeros(3).masked_fill(dn.tensor([True, False, True]), 5.0).tolist()
    [5.0, 0.0, 5.0]
    """
    value = _check_masked_fill("masked_fill", input, mask, value)
    return where(mask, value.to(input._dtype), input)


def _check_masked_fill(op, input, mask, value):
    _bool_mask(op, mask)
    check_same_device(op, input, mask)
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"{op}: only supports a 0-dimensional value tensor, got one of "
                               f"shape {shape_str(value.shape)}")
    elif isinstance(value, (numbers.Number, np.generic)):
        value = Tensor._from_value(value, input._dtype, input._device)
    else:
        raise TypeError(f"{op}: value must be a number or a 0-d tensor, got {type(value).__name__}")
    if broadcast_shape(op, mask.shape, input.shape) != input._data.shape:
        raise RuntimeError(f"{op}: the mask of shape {shape_str(mask.shape)} can't be broadcast to "
                           f"the input's shape {shape_str(input.shape)}")
    return value


def masked_fill_(self, mask, value):
    """In-place masked_fill."""
    if is_grad_enabled() and (self._requires_grad or (isinstance(value, Tensor) and
                                                      value._requires_grad)):
        return apply_inplace(self, "masked_fill_", lambda t, v: masked_fill(t, mask, v), value)
    value = _check_masked_fill("masked_fill_", self, mask, value)
    _check_writeable("masked_fill_", self)
    _k(self._device).masked_fill(self._data, mask._data, value._data)
    self._version.value += 1
    return self


def masked_select(input, mask):
    """The elements where mask (broadcast with input) is True, as a 1-D copy.

    >>> import dualnet as dn
    >>> dn.arange(4).masked_select(dn.tensor([True, False, False, True])).tolist()
    [0, 3]
    """
    _bool_mask("masked_select", mask)
    shape = broadcast_shape("masked_select", input.shape, mask.shape)
    values = broadcast_to(input, shape)
    mask_array = array_module(mask._device).broadcast_to(mask._data, shape)
    return getitem(values, _wrap(mask_array, mask._device, bool_))


def nonzero(input, *, as_tuple=False):
    """Coordinates of the non-zero elements: an int64 (n, ndim) tensor, or one 1-D tensor per dim.

    >>> import dualnet as dn
    >>> dn.tensor([[0, 1], [2, 0]]).nonzero().tolist()
    [[0, 1], [1, 0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"nonzero: expected a Tensor as input, got {type(input).__name__}")
    if as_tuple:
        coords = _k(input._device).nonzero_tuple(input._data)
        return tuple(_wrap(c, input._device, int64) for c in coords)
    return _wrap(_k(input._device).nonzero(input._data), input._device, int64)


def argwhere(input):
    """nonzero(input) as an (n, ndim) tensor."""
    return nonzero(input)


METHODS = {name: globals()[name] for name in (
    "index_select", "gather", "scatter", "scatter_add", "scatter_", "scatter_add_", "masked_fill",
    "masked_fill_", "masked_select", "nonzero", "argwhere", "take_along_dim")}
METHODS["__getitem__"] = getitem
METHODS["__setitem__"] = setitem

__all__ = ["index_select", "gather", "scatter", "scatter_add", "masked_fill", "masked_select",
           "nonzero", "argwhere", "take_along_dim"]
