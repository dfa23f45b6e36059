"""Datasets (torch.utils.data's names): map-style and iterable bases, TensorDataset, Subset,
ConcatDataset, ChainDataset and random_split.

Batch fetching: `__getitems__(indices)` returns the list of samples at `indices` (torch's
protocol, used by the DataLoader when present). A dataset may also define
`_collated_batch(indices)`, returning what `default_collate` would make of those samples; the
DataLoader uses it when no custom `collate_fn` is given, so TensorDataset and MNIST fetch a whole
batch with one fancy index per tensor instead of one `__getitem__` per sample plus a stack.
"""
import bisect
import math
import numbers
import warnings

import numpy as np

from ...core import Tensor
from ...core import random as _random
from ...core.creation import from_numpy as _from_numpy

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset",
           "Subset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and usually `__len__`.

    `a + b` concatenates two datasets.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define `__iter__`. `a + b` chains two streams."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


def _index_array(indices):
    """`indices` (ints, a list, an array or an int tensor) as a 1-D int64 NumPy array."""
    if isinstance(indices, Tensor):
        indices = indices.cpu().numpy()
    array = np.asarray(indices)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise TypeError(f"batch indices must be integers, got an array of {array.dtype}")
    return array.astype(np.int64, copy=False).reshape(-1)


def _take_rows(tensor, rows):
    """tensor[rows] for an int64 array `rows`: one NumPy `take` for plain CPU tensors, the
    autograd-aware indexing op for the rest (tensors that require grad, CUDA tensors)."""
    if tensor.device.type == "cpu" and not tensor.requires_grad:
        try:
            return _from_numpy(np.asarray(tensor).take(rows, axis=0))
        except IndexError:
            pass  # the indexing op below raises the error in its own words
    return tensor[rows]


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension: sample i is
    `tuple(t[i] for t in tensors)`.

    Tensors whose first dimensions differ raise ValueError naming every size (torch asserts).

    >>> import dualnet as dn
    >>> data = TensorDataset(dn.arange(6).reshape(3, 2), dn.tensor([0, 1, 0]))
    >>> len(data), data[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        for position, item in enumerate(tensors):
            if not isinstance(item, Tensor):
                raise TypeError(f"TensorDataset: argument {position} must be a Tensor, got "
                                f"{type(item).__name__}")
            if item.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} is a 0-d tensor; every "
                                 f"tensor needs a first dimension to index samples by")
        sizes = [item.shape[0] for item in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: every tensor must have the same first dimension "
                             f"(the number of samples); got sizes {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(item[index] for item in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitems__(self, indices):
        columns = self._collated_batch(indices)
        return list(zip(*(column.unbind(0) for column in columns)))

    def _collated_batch(self, indices):
        rows = _index_array(indices)
        return [_take_rows(item, rows) for item in self.tensors]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order.

    >>> part = Subset(range(10, 20), [3, 0])
    >>> len(part), part[0], part[1]
    (2, 13, 10)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        inner = self._inner_indices(indices)
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self):
        return len(self.indices)

    def _inner_indices(self, indices):
        if isinstance(self.indices, (np.ndarray, Tensor)):
            return _index_array(self.indices)[_index_array(indices)].tolist()
        return [self.indices[i] for i in indices]

    def __getattr__(self, name):
        # Only the batch fast path is forwarded, and only when the wrapped dataset has one.
        if name == "_collated_batch" and hasattr(self.__dict__.get("dataset"), name):
            return lambda indices: self.dataset._collated_batch(self._inner_indices(indices))
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other.

    >>> both = ConcatDataset([range(3), range(10, 12)])
    >>> len(both), both[3], both[-1], both.cumulative_sizes
    (5, 10, 11, [3, 5])
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset, got none")
        for position, dataset in enumerate(self.datasets):
            if isinstance(dataset, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {position} is an IterableDataset "
                                f"({type(dataset).__name__}); use ChainDataset for streams")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        total = len(self)
        if index < 0:
            if -index > total:
                raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset "
                                 f"of {total} samples")
            index += total
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset of "
                             f"{total} samples")
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets streamed one after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for position, dataset in enumerate(self.datasets):
            if not isinstance(dataset, IterableDataset):
                raise TypeError(f"ChainDataset: dataset {position} must be an IterableDataset, "
                                f"got {type(dataset).__name__}")
            yield from dataset

    def __len__(self):
        return sum(len(dataset) for dataset in self.datasets)


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping random Subsets of the given lengths.

    `lengths` are sample counts summing to len(dataset), or fractions summing to 1 (each part
    gets floor(fraction * len), the remainder going one by one to the first parts). The shuffle
    draws from `generator`, else from the global stream (`dn.manual_seed`).

    >>> import dualnet as dn
    >>> train, val = random_split(range(10), [0.8, 0.2], generator=dn.Generator().manual_seed(0))
    >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
    (8, 2, True)
    """
    lengths = list(lengths)
    total = len(dataset)
    for value in lengths:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"random_split: lengths must be ints or fractions, got {lengths!r}")
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is {fraction}, not "
                                 f"within [0, 1]")
        counts = [int(math.floor(total * fraction)) for fraction in lengths]
        for i in range(total - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: part {i} of the split is empty "
                              f"({lengths[i]} of {total} samples)", stacklevel=2)
        lengths = counts
    if any(not isinstance(n, numbers.Integral) or n < 0 for n in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing "
                         f"to 1, got {lengths!r}")
    if sum(lengths) != total:
        raise ValueError(f"random_split: the lengths {lengths} sum to {sum(lengths)}, but the "
                         f"dataset holds {total} samples")
    order = _random.generator_of(generator).permutation(total).tolist()
    parts, start = [], 0
    for count in lengths:
        parts.append(Subset(dataset, order[start:start + count]))
        start += count
    return parts
