"""DataLoader: batches of a dataset in sampler order, collated into tensors (torch's signature).

Loading runs in the calling process. `num_workers > 0` is accepted so ported code runs
unchanged, but starts no worker processes (a warning says so): batches and their order are the
same as with `num_workers=0`, only not loaded in parallel. `pin_memory` changes nothing on the CPU.
"""
import itertools
import numbers
import warnings

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """Always None: dualnet loads data in the main process, never in a worker."""
    return None


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"DataLoader: {name} must be a bool, got {type(value).__name__} {value!r}")


class DataLoader:
    """Iterates over `dataset` in batches: `for images, labels in DataLoader(data, batch_size=64,
    shuffle=True): ...`.

    Options and their incompatibilities are torch's: `sampler` excludes `shuffle`;
    `batch_sampler` excludes `batch_size`, `shuffle`, `sampler` and `drop_last`; an
    IterableDataset takes neither a sampler nor shuffle; `batch_size=None` yields single samples
    (NumPy arrays converted to tensors). Each violation is a ValueError. `generator` drives the
    shuffle; without it the global stream (`dn.manual_seed`) does.

    >>> import dualnet as dn
    >>> from dualnet.utils.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(dn.arange(10)), batch_size=4)
    >>> len(loader), [batch.tolist() for (batch,) in loader]
    (3, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    """

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                            multiprocessing_context)
        _check_bool("drop_last", drop_last)
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral)
                                       or isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, got "
                             f"{batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")

        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader: shuffle must be left unset for an IterableDataset "
                                 f"({type(dataset).__name__} yields its own order), got "
                                 f"shuffle={shuffle!r}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError(f"DataLoader: an IterableDataset ({type(dataset).__name__}) "
                                 f"takes no sampler or batch_sampler: it yields its own order")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: pass either sampler or shuffle=True, not both: the "
                             "sampler already decides the order")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    f"DataLoader: batch_sampler makes the batches itself, so leave batch_size "
                    f"(1), shuffle, sampler and drop_last at their defaults; got "
                    f"batch_size={batch_size!r}, shuffle={shuffle!r}, "
                    f"sampler={type(sampler).__name__ if sampler is not None else None}, "
                    f"drop_last={drop_last!r}")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: drop_last=True needs a batch_size (batch_size=None "
                             "yields single samples, so there is no last batch to drop)")

        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._initialized = True

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers, context):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be >= 0, got {timeout!r}")
        if num_workers == 0:
            for name, value in (("prefetch_factor", prefetch_factor),
                                ("multiprocessing_context", context)):
                if value is not None:
                    raise ValueError(f"DataLoader: {name} is for worker processes; it needs "
                                     f"num_workers > 0, got num_workers=0")
            if persistent_workers:
                raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
        else:
            if prefetch_factor is not None and prefetch_factor < 0:
                raise ValueError(f"DataLoader: prefetch_factor must be >= 0, got {prefetch_factor}")
            warnings.warn(f"DataLoader: num_workers={num_workers} runs in the main process "
                          f"(dualnet starts no worker processes); the batches are the same, "
                          f"loading is not parallel", stacklevel=3)

    def __setattr__(self, name, value):
        if name in self._FROZEN and self.__dict__.get("_initialized"):
            raise ValueError(f"DataLoader: {name} can't be changed after the DataLoader is "
                             f"made; build a new DataLoader instead")
        object.__setattr__(self, name, value)

    @property
    def _auto_collation(self):
        """Whether samples are grouped into batches (for streams too, which have no sampler)."""
        return self.batch_sampler is not None or self.batch_size is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            count = len(self.dataset)  # TypeError when the stream has no length, as in torch
            if self.batch_size is None:
                return count
            return count // self.batch_size if self.drop_last else -(-count // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self):
        return _LoaderIterator(self)

    def _batches(self):
        dataset, collate = self.dataset, self.collate_fn
        if isinstance(dataset, IterableDataset):
            yield from self._stream_batches()
            return
        if not self._auto_collation:
            for index in self.sampler:
                yield collate(dataset[index])
            return
        fetch_collated = getattr(dataset, "_collated_batch", None) if collate is default_collate \
            else None
        if fetch_collated is not None:
            batches = self.batch_sampler
            if type(batches) is BatchSampler and type(batches.sampler) in (SequentialSampler,
                                                                          RandomSampler):
                batches = batches._index_array_batches()  # int64 arrays, no Python int lists
            for indices in batches:
                yield fetch_collated(indices)
            return
        getitems = getattr(dataset, "__getitems__", None)
        for indices in self.batch_sampler:
            samples = getitems(indices) if getitems else [dataset[i] for i in indices]
            yield collate(samples)

    def _stream_batches(self):
        stream, collate = iter(self.dataset), self.collate_fn
        if self.batch_size is None:
            for sample in stream:
                yield collate(sample)
            return
        while True:
            samples = list(itertools.islice(stream, self.batch_size))
            if not samples or (self.drop_last and len(samples) < self.batch_size):
                return
            yield collate(samples)


class _LoaderIterator:
    """One pass over a DataLoader (what `iter(loader)` returns); `len()` is the loader's."""

    def __init__(self, loader):
        self._loader = loader
        self._batches = loader._batches()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        return len(self._loader)
