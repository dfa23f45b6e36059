"""Samplers: the order in which a DataLoader visits a dataset's indices (torch.utils.data's names).

Random samplers draw from a `dn.Generator` when given one, else from the global stream that
`dn.manual_seed` resets, so a seeded run repeats its shuffles exactly.
"""
import numbers

import numpy as np

from ...core import random as _random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Sampler:
    """Base class: a sampler is an iterable of indices (or of index lists, for batch samplers)."""

    def __init__(self, data_source=None):
        pass  # torch's signature; the base class keeps nothing

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1, every epoch.

    >>> list(SequentialSampler(range(4)))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)

    def _index_array(self):
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(Sampler):
    """Indices in random order: a fresh permutation each epoch, or draws with replacement.

    `num_samples` (default len(data_source)) may exceed the dataset's length without
    replacement: whole permutations follow each other, the last one cut short.

    >>> import dualnet as dn
    >>> sorted(RandomSampler(range(5), generator=dn.Generator().manual_seed(0)))
    [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got "
                            f"{type(replacement).__name__} {replacement!r}")
        if num_samples is not None and (not _is_int(num_samples) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got "
                             f"{num_samples!r}")
        if generator is not None:
            _random.generator_of(generator)  # TypeError now rather than at the first epoch
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        return iter(self._index_array().tolist())

    def _index_array(self):
        """This epoch's indices as one int64 array (what __iter__ yields, drawn the same way)."""
        size, count = len(self.data_source), self.num_samples
        if size == 0:
            if count:
                raise ValueError(f"RandomSampler: can't draw {count} samples from an empty dataset")
            return np.zeros(0, np.int64)
        rng = _random.generator_of(self.generator)
        if self.replacement:
            return rng.integers(0, size, count, dtype=np.int64)
        rounds = [rng.permutation(size) for _ in range(-(-count // size))]
        return np.concatenate(rounds)[:count].astype(np.int64, copy=False)


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order each epoch (no replacement).

    >>> import dualnet as dn
    >>> sorted(SubsetRandomSampler([7, 3, 9], generator=dn.Generator().manual_seed(1)))
    [3, 7, 9]
    """

    def __init__(self, indices, generator=None):
        if generator is not None:
            _random.generator_of(generator)
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        order = _random.generator_of(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices in [0, len(weights)), index i drawn with probability ~ weights[i].

    >>> import dualnet as dn
    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=dn.Generator().manual_seed(0)))
    [1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive int, got "
                             f"{num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement must be a bool, got "
                             f"{replacement!r}")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights must be a sequence of numbers, got "
                             f"shape {weights.shape}")
        if weights.size == 0 or not np.all(np.isfinite(weights)) or (weights < 0).any() \
                or weights.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite, non-negative and "
                               "not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise RuntimeError(f"WeightedRandomSampler: can't draw {num_samples} distinct indices "
                               f"from {np.count_nonzero(weights)} non-zero weights")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = _random.generator_of(self.generator)
        picks = rng.choice(self.weights.size, self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(picks.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size` (the last one shorter unless
    `drop_last`).

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        if type(self.sampler) in (SequentialSampler, RandomSampler):
            # Our own samplers hand over the epoch's indices as one array: slicing it is
            # several times cheaper than collecting ints one by one.
            order = self._index_array_batches()
            return (batch.tolist() for batch in order)
        return self._collect()

    def _index_array_batches(self):
        """This epoch's batches as int64 arrays; only for SequentialSampler / RandomSampler."""
        order = self.sampler._index_array()
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        return (order[start:start + self.batch_size] for start in range(0, stop, self.batch_size))

    def _collect(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        count = len(self.sampler)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)
