"""`default_collate` / `default_convert`: turn a list of samples into one batch, as torch does.

Tensors and NumPy arrays are stacked, Python ints become int64, floats float64 and bools bool
tensors; strings stay as they come; tuples and lists are transposed (a tuple sample gives a list),
dicts are collated key by key and namedtuples field by field.
"""
import collections.abc
import copy

import numpy as np

from ...core import Tensor
from ...core import creation as _creation
from ...core.dtypes import float64 as _float64
from ...core.ops.shape.ops import stack as _stack

__all__ = ["default_collate", "default_convert"]

_SUPPORTED = "tensors, NumPy arrays, numbers, strings, dicts or lists"


def _numeric_array(array):
    """True for an array dtype a tensor can hold (not strings, bytes or objects)."""
    return array.dtype.kind not in "SaUOV"


def _rebuild(elem, values, error_type=TypeError):
    """A container like `elem` holding `values` (a plain list when its type can't be rebuilt)."""
    try:
        return type(elem)(values)
    except error_type:
        return list(values)


def default_collate(batch):
    """One batch from a list of samples, keeping the samples' structure.

    >>> import dualnet as dn
    >>> images, labels = default_collate([(dn.zeros(2), 1), (dn.ones(2), 0)])
    >>> images.shape, labels.tolist(), labels.dtype
    (dualnet.Size([2, 2]), [1, 0], dualnet.int64)
    >>> default_collate([{"x": 0.5, "name": "a"}, {"x": 1.5, "name": "b"}])
    {'x': tensor([0.5000, 1.5000], dtype=dualnet.float64), 'name': ['a', 'b']}
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if not batch:
        raise ValueError("default_collate: the batch is empty (no samples to collate)")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        if not _numeric_array(elem):
            raise TypeError(f"default_collate: can't make a tensor from a NumPy array of dtype "
                            f"{elem.dtype}; samples must hold {_SUPPORTED}")
        return default_collate([_creation.as_tensor(item) for item in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return _creation.tensor(np.asarray(batch))
    if isinstance(elem, float):
        return _creation.tensor(batch, dtype=_float64)
    if isinstance(elem, int):  # bools too: a list of bools gives a bool tensor
        return _creation.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch  # as given: a list at the top, a tuple inside a transposed sample
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)  # keeps the sample's mapping type (OrderedDict, defaultdict...)
            clone.update(collated)
            return clone
        return _rebuild(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = {len(sample) for sample in batch}
        if len(sizes) != 1:
            raise RuntimeError(f"default_collate: every sample of the batch must have the same "
                               f"number of items; got lengths {sorted(sizes)}")
        columns = [default_collate(field) for field in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # as torch: tuple samples give a list of batched fields
        return _rebuild(elem, columns)
    raise TypeError(f"default_collate: samples must hold {_SUPPORTED}; found "
                    f"{type(elem).__name__}")


def default_convert(data):
    """NumPy arrays and scalars inside `data` become tensors; nothing is stacked (batch_size=None).

    >>> default_convert({"x": np.arange(3)})
    {'x': tensor([0, 1, 2])}
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return _creation.as_tensor(data) if _numeric_array(data) else data
    if isinstance(data, (np.bool_, np.number)):
        return _creation.as_tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        return _rebuild(data, converted)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(item) for item in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]
    if isinstance(data, collections.abc.Sequence):
        return _rebuild(data, [default_convert(item) for item in data])
    return data
