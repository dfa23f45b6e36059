"""dualnet.utils.data: datasets, samplers, collation and DataLoader, against torch.utils.data
where torch is installed (shuffles are compared as sets and counts: the RNGs differ)."""
import collections
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                                IterableDataset, RandomSampler, Sampler, SequentialSampler,
                                Subset, SubsetRandomSampler, TensorDataset,
                                WeightedRandomSampler, default_collate, default_convert,
                                get_worker_info, random_split)

Point = collections.namedtuple("Point", "x y")


def _torch():
    return pytest.importorskip("torch")


class Squares(Dataset):
    """Sample i is (i, i*i) as Python ints; counts its __getitem__ calls."""

    def __init__(self, size):
        self.size, self.calls = size, 0

    def __getitem__(self, index):
        if not 0 <= index < self.size:
            raise IndexError(index)
        self.calls += 1
        return index, index * index

    def __len__(self):
        return self.size


class Counting(IterableDataset):
    def __init__(self, size, with_len=True):
        self.size, self.with_len = size, with_len

    def __iter__(self):
        return iter(range(self.size))

    def __len__(self):
        if not self.with_len:
            raise TypeError("no len")
        return self.size


def _xy(n=10):
    return TensorDataset(dn.arange(n * 2, dtype=dn.float32).reshape(n, 2), dn.arange(n))


# ------------------------------------------------------------------------------ datasets

def test_tensor_dataset_items_and_len():
    data = _xy(5)
    assert len(data) == 5
    x, y = data[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and y.dtype == dn.int64
    assert [t.tolist() for t in data[-1]] == [[8.0, 9.0], 4]


def test_tensor_dataset_size_mismatch_names_the_sizes():
    with pytest.raises(ValueError, match=r"TensorDataset.*\[3, 4\]"):
        TensorDataset(dn.zeros(3, 2), dn.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="argument 1 must be a Tensor, got ndarray"):
        TensorDataset(dn.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(dn.tensor(1.0))


def test_tensor_dataset_getitems_is_the_list_of_samples():
    data = _xy(6)
    samples = data.__getitems__([4, 0, 4])
    assert len(samples) == 3 and all(isinstance(s, tuple) and len(s) == 2 for s in samples)
    assert [(x.tolist(), y.item()) for x, y in samples] == [
        ([8.0, 9.0], 4), ([0.0, 1.0], 0), ([8.0, 9.0], 4)]
    with pytest.raises(IndexError, match="6"):
        data.__getitems__([6])


def test_tensor_dataset_batch_of_grad_tensor_keeps_the_graph():
    weights = dn.ones(4, 2, requires_grad=True)
    x, = TensorDataset(weights)._collated_batch([1, 3])
    x.sum().backward()
    assert weights.grad.tolist() == [[0, 0], [1, 1], [0, 0], [1, 1]]


def test_subset_and_its_batch_path():
    data = _xy(10)
    part = Subset(data, [9, 2, 5])
    assert len(part) == 3 and part[0][1].item() == 9 and part[-1][1].item() == 5
    assert [y.item() for _, y in part.__getitems__([2, 0])] == [5, 9]
    x, y = part._collated_batch([1, 2])
    assert y.tolist() == [2, 5] and x.shape == (2, 2)
    # an array of indices and a subset of a plain dataset (no batch path)
    assert Subset(data, np.array([1, 7]))._collated_batch([1])[1].tolist() == [7]
    plain = Subset(Squares(5), [4, 1])
    assert not hasattr(plain, "_collated_batch")
    assert plain.__getitems__([0, 1]) == [(4, 16), (1, 1)]


def test_concat_dataset_indexing_and_add():
    both = ConcatDataset([Squares(3), Squares(2)])
    assert len(both) == 5 and both.cumulative_sizes == [3, 5]
    assert [both[i][0] for i in range(5)] == [0, 1, 2, 0, 1]
    assert both[-1] == (1, 1) and both[-5] == (0, 0)
    for bad in (5, -6):
        with pytest.raises(IndexError, match=f"index {bad} is out of range.*5 samples"):
            both[bad]
    assert len(Squares(2) + Squares(4)) == 6
    with pytest.raises(ValueError, match="at least one"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([Squares(2), Counting(3)])


def test_chain_dataset():
    chain = Counting(2) + Counting(3)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    with pytest.raises(TypeError, match="dataset 1 must be an IterableDataset"):
        list(ChainDataset([Counting(1), Squares(2)]))


def test_base_classes_ask_for_their_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(IterableDataset())
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(Sampler())


# ------------------------------------------------------------------------------ random_split

@pytest.mark.parametrize("size, lengths", [
    (10, [3, 7]), (10, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]),
    (7, [0.1, 0.2, 0.7]), (5, [1.0]), (100, [0.33, 0.33, 0.34]), (3, [0, 3])])
def test_random_split_lengths_match_torch(size, lengths):
    torch = _torch()
    ours = random_split(range(size), lengths, generator=dn.Generator().manual_seed(0))
    theirs = torch.utils.data.random_split(range(size), lengths,
                                           generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    assert sorted(i for p in ours for i in p) == list(range(size))


def test_random_split_is_reproducible_and_validates():
    a = random_split(range(20), [10, 10], generator=dn.Generator().manual_seed(3))
    b = random_split(range(20), [10, 10], generator=dn.Generator().manual_seed(3))
    assert list(a[0]) == list(b[0]) and list(a[0]) != list(range(10))
    dn.manual_seed(5)
    c = list(random_split(range(20), [10, 10])[0])
    dn.manual_seed(5)
    assert list(random_split(range(20), [10, 10])[0]) == c
    with pytest.raises(ValueError, match=r"sum to 9.*10 samples"):
        random_split(range(10), [4, 5])
    with pytest.raises(ValueError, match="within"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(TypeError, match="ints or fractions"):
        random_split(range(10), ["5", 5])
    with pytest.warns(UserWarning, match="empty"):
        random_split(range(2), [0.9, 0.05, 0.05])


# ------------------------------------------------------------------------------ samplers

def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert len(SequentialSampler(range(4))) == 4
    batches = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6]] and len(batches) == 3
    batches = BatchSampler(SequentialSampler(range(7)), 3, drop_last=True)
    assert list(batches) == [[0, 1, 2], [3, 4, 5]] and len(batches) == 2
    # any iterable of indices works as the inner sampler
    assert list(BatchSampler([5, 3, 1], 2, False)) == [[5, 3], [1]]
    assert all(type(i) is int for batch in BatchSampler(RandomSampler(range(5)), 2, False)
               for i in batch)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last must be a bool"):
        BatchSampler(range(3), 2, 1)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("size, batch", [(10, 3), (9, 3), (2, 5), (0, 4)])
def test_batch_sampler_len_matches_torch(size, batch, drop_last):
    torch = _torch()
    ours = BatchSampler(SequentialSampler(range(size)), batch, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(size)),
                                           batch, drop_last)
    assert len(ours) == len(theirs) and list(ours) == list(theirs)


def test_random_sampler_permutes_each_epoch():
    sampler = RandomSampler(range(50), generator=dn.Generator().manual_seed(0))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))
    again = list(RandomSampler(range(50), generator=dn.Generator().manual_seed(0)))
    assert again == first


def test_random_sampler_num_samples_and_replacement():
    sampler = RandomSampler(range(4), num_samples=10, generator=dn.Generator().manual_seed(1))
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]  # whole permutations first
    with_replacement = list(RandomSampler(range(3), replacement=True, num_samples=200))
    assert len(with_replacement) == 200 and set(with_replacement) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement must be a bool"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples must be a positive int, got 0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="dualnet.Generator"):
        RandomSampler(range(3), generator=np.random.default_rng(0))
    assert list(RandomSampler([])) == []


def test_random_sampler_follows_the_global_seed():
    dn.manual_seed(11)
    first = list(RandomSampler(range(30)))
    dn.manual_seed(11)
    assert list(RandomSampler(range(30))) == first


def test_subset_random_and_weighted_samplers():
    sampler = SubsetRandomSampler([10, 20, 30, 40], generator=dn.Generator().manual_seed(0))
    assert len(sampler) == 4 and sorted(sampler) == [10, 20, 30, 40]
    weighted = WeightedRandomSampler([0.0, 3.0, 1.0], 400, generator=dn.Generator().manual_seed(0))
    counts = np.bincount(list(weighted), minlength=3)
    assert len(weighted) == 400 and counts[0] == 0 and 240 < counts[1] < 360
    no_repeat = list(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False))
    assert sorted(no_repeat) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="can't draw 4 distinct"):
        WeightedRandomSampler([1, 1, 1, 0], 4, replacement=False)
    with pytest.raises(RuntimeError, match="non-negative"):
        WeightedRandomSampler([1, -1], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1, 1], 0)


# ------------------------------------------------------------------------------ collation

def test_default_collate_dtypes_and_structure():
    ints = default_collate([1, 2, 3])
    assert ints.dtype == dn.int64 and ints.tolist() == [1, 2, 3]
    assert default_collate([0.5, 1.5]).dtype == dn.float64
    assert default_collate([True, False]).dtype == dn.bool
    assert default_collate(["a", "b"]) == ["a", "b"]
    stacked = default_collate([dn.zeros(2, 3), dn.ones(2, 3)])
    assert stacked.shape == (2, 2, 3) and stacked[1].sum().item() == 6
    arrays = default_collate([np.zeros(3, np.float32), np.ones(3, np.float32)])
    assert isinstance(arrays, dn.Tensor) and arrays.dtype == dn.float32 and arrays.shape == (2, 3)
    scalars = default_collate([np.float32(1), np.float32(2)])
    assert scalars.dtype == dn.float32 and scalars.shape == (2,)
    assert default_collate([np.int16(1), np.int16(2)]).dtype == dn.int16


def test_default_collate_containers():
    x, y = default_collate([(dn.zeros(2), 0), (dn.ones(2), 1)])
    assert x.shape == (2, 2) and y.tolist() == [0, 1]
    assert isinstance(default_collate([(1, 2), (3, 4)]), list)  # tuples give a list, as torch
    batch = default_collate([{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}])
    assert batch["a"].tolist() == [1, 2]
    assert [t.tolist() for t in batch["b"]] == [[1.0, 3.0], [2.0, 4.0]]
    ordered = default_collate([collections.OrderedDict(z=1), collections.OrderedDict(z=2)])
    assert isinstance(ordered, collections.OrderedDict) and ordered["z"].tolist() == [1, 2]
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(point, Point) and point.x.tolist() == [1, 3]
    assert point.y.dtype == dn.float64
    with pytest.raises(RuntimeError, match=r"same number of items.*\[1, 2\]"):
        default_collate([[1], [1, 2]])
    with pytest.raises(RuntimeError, match="same shape"):
        default_collate([dn.zeros(2), dn.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])
    with pytest.raises(TypeError, match="dtype <U1"):
        default_collate([np.array(["a"])])


def _structure(value):
    """A comparable picture of a collated batch: container types, shapes, dtypes, values."""
    if hasattr(value, "numpy") and hasattr(value, "dtype"):
        return ("tensor", str(value.dtype).split(".")[-1], value.numpy().tolist())
    if isinstance(value, dict):
        return ("dict", {k: _structure(v) for k, v in value.items()})
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return ("namedtuple", [_structure(v) for v in value])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_structure(v) for v in value])
    return ("value", value)


@pytest.mark.parametrize("samples", [
    [1, 2], [1.5, 2.5], [True, False], ["a", "b"],
    [(1, "a", 2.0), (2, "b", 3.0)],
    [[1, 2.0], [3, 4.0]],
    [{"k": 1, "s": "x"}, {"k": 2, "s": "y"}],
    [Point(1, 2.0), Point(3, 4.0)],
    [np.arange(3), np.arange(3) + 1],
    [np.float32(1.0), np.float32(2.0)],
    [(np.ones((2, 2), np.float32), {"label": 3})] * 3,
])
def test_default_collate_matches_torch(samples):
    torch = _torch()
    from torch.utils.data import default_collate as torch_collate
    assert _structure(default_collate(samples)) == _structure(torch_collate(samples))


def test_default_convert():
    converted = default_convert((np.arange(2), {"v": np.float32(3)}, "s", 4))
    assert isinstance(converted, list) and converted[0].tolist() == [0, 1]
    assert converted[1]["v"].dtype == dn.float32 and converted[2:] == ["s", 4]
    assert isinstance(default_convert(Point(np.zeros(1), 1)).x, dn.Tensor)


# ------------------------------------------------------------------------------ DataLoader

def test_loader_len_and_batches_sequential():
    loader = DataLoader(_xy(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert isinstance(batches[0], list) and [b[1].tolist() for b in batches] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == dn.float32
    dropped = DataLoader(_xy(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[1].shape[0] for b in dropped] == [4, 4]
    assert len(iter(loader)) == 3


@pytest.mark.parametrize("size, batch, drop_last", [
    (10, 3, False), (10, 3, True), (60, 32, False), (60, 32, True), (4, 8, False), (4, 8, True)])
def test_loader_batch_counts_and_shapes_match_torch(size, batch, drop_last):
    torch = _torch()
    ours = DataLoader(_xy(size), batch_size=batch, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.zeros(size, 2), torch.arange(size)),
        batch_size=batch, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [tuple(x.shape) for x, _ in ours] == [tuple(x.shape) for x, _ in theirs]
    assert [y.tolist() for _, y in ours] == [y.tolist() for _, y in theirs]


def test_loader_on_plain_dataset_collates_samples():
    data = Squares(5)
    batches = list(DataLoader(data, batch_size=2))
    assert [[t.tolist() for t in b] for b in batches] == [[[0, 1], [0, 1]], [[2, 3], [4, 9]],
                                                           [[4], [16]]]
    assert data.calls == 5


def test_loader_uses_getitems_and_custom_collate():
    class Batched(Squares):
        def __getitems__(self, indices):
            self.batched = getattr(self, "batched", 0) + 1
            return [(i, -i) for i in indices]

    data = Batched(6)
    out = list(DataLoader(data, batch_size=4, collate_fn=lambda samples: samples))
    assert out == [[(0, 0), (1, -1), (2, -2), (3, -3)], [(4, -4), (5, -5)]]
    assert data.batched == 2 and data.calls == 0
    # a custom collate on a TensorDataset sees the per-sample tuples
    seen = list(DataLoader(_xy(3), batch_size=2, collate_fn=lambda s: [y.item() for _, y in s]))
    assert seen == [[0, 1], [2]]


def test_shuffle_visits_every_index_once_per_epoch():
    loader = DataLoader(_xy(103), batch_size=10, shuffle=True)
    epochs = [[i for _, y in loader for i in y.tolist()] for _ in range(2)]
    for order in epochs:
        assert sorted(order) == list(range(103))
    assert epochs[0] != epochs[1] and epochs[0] != list(range(103))
    dropped = [i for _, y in DataLoader(_xy(103), batch_size=10, shuffle=True, drop_last=True)
               for i in y.tolist()]
    assert len(dropped) == 100 and len(set(dropped)) == 100


def test_generator_seed_repeats_the_order():
    def order(seed):
        loader = DataLoader(_xy(50), batch_size=8, shuffle=True,
                            generator=dn.Generator().manual_seed(seed))
        return [y.tolist() for _, y in loader]

    assert order(7) == order(7) and order(7) != order(8)
    dn.manual_seed(3)
    first = [y.tolist() for _, y in DataLoader(_xy(50), batch_size=8, shuffle=True)]
    dn.manual_seed(3)
    assert [y.tolist() for _, y in DataLoader(_xy(50), batch_size=8, shuffle=True)] == first


def test_custom_sampler_and_batch_sampler():
    loader = DataLoader(_xy(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [y.tolist() for _, y in loader] == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(_xy(6), batch_sampler=[[0, 5], [2]])
    assert len(loader) == 2 and [y.tolist() for _, y in loader] == [[0, 5], [2]]
    assert loader.batch_size is None and loader.drop_last is False
    loader = DataLoader(_xy(6), sampler=SubsetRandomSampler([1, 3]), batch_size=4)
    assert sorted(next(iter(loader))[1].tolist()) == [1, 3]


def test_no_auto_batching_with_batch_size_none():
    samples = list(DataLoader(_xy(3), batch_size=None))
    assert len(samples) == 3 and samples[1][1].item() == 1 and samples[1][0].shape == (2,)

    class Arrays(Dataset):
        def __getitem__(self, i):
            return np.full(2, i), i

        def __len__(self):
            return 2

    first = next(iter(DataLoader(Arrays(), batch_size=None)))
    assert isinstance(first[0], dn.Tensor) and first[1] == 0


def test_iterable_dataset_loading():
    loader = DataLoader(Counting(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    dropped = DataLoader(Counting(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in dropped] == [[0, 1, 2], [3, 4, 5]] and len(dropped) == 2
    assert list(DataLoader(Counting(2), batch_size=None)) == [0, 1]  # ints stay ints, as torch
    with pytest.raises(TypeError):
        len(DataLoader(Counting(3, with_len=False)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler or shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler"),
    (dict(batch_sampler=[[0]], shuffle=True), "batch_sampler"),
    (dict(batch_sampler=[[0]], sampler=[0]), "batch_sampler"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler"),
    (dict(batch_size=None, drop_last=True), "drop_last"),
    (dict(batch_size=0), "batch_size must be a positive int"),
    (dict(num_workers=-1), "num_workers"),
    (dict(timeout=-1), "timeout"),
    (dict(prefetch_factor=2), "prefetch_factor"),
    (dict(persistent_workers=True), "persistent_workers"),
])
def test_incompatible_options_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(_xy(4), **kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_size=None, drop_last=True), dict(num_workers=-1), dict(persistent_workers=True),
    dict(prefetch_factor=2)])
def test_torch_rejects_the_same_options_with_value_error(kwargs):
    torch = _torch()
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4)), **kwargs)


def test_iterable_dataset_refuses_shuffle_and_samplers():
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="IterableDataset"):
            DataLoader(Counting(3), **kwargs)
    assert len(DataLoader(Counting(3), shuffle=False)) == 3


def test_frozen_attributes_and_type_errors():
    loader = DataLoader(_xy(4), batch_size=2)
    for name in ("batch_size", "sampler", "dataset", "drop_last"):
        with pytest.raises(ValueError, match=f"{name} can't be changed"):
            setattr(loader, name, None)
    loader.num_workers = 0  # not frozen, as in torch
    with pytest.raises(TypeError, match="drop_last must be a bool"):
        DataLoader(_xy(4), drop_last="yes")
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(_xy(4), collate_fn=3)


def test_num_workers_runs_in_process_with_a_warning():
    with pytest.warns(UserWarning, match="num_workers=2 runs in the main process"):
        loader = DataLoader(_xy(9), batch_size=4, num_workers=2, prefetch_factor=2,
                            persistent_workers=True, pin_memory=True)
    assert [y.tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    assert get_worker_info() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader(_xy(4), pin_memory=True)  # no warning without workers


def test_fast_batch_path_equals_the_per_sample_path():
    data = TensorDataset(dn.randn(40, 3, 4), dn.randint(0, 10, (40,)), dn.rand(40) > 0.5)
    fast = list(DataLoader(data, batch_size=16, shuffle=True,
                           generator=dn.Generator().manual_seed(2)))
    slow = list(DataLoader(data, batch_size=16, shuffle=True,
                           collate_fn=lambda s: default_collate(s),
                           generator=dn.Generator().manual_seed(2)))
    assert len(fast) == len(slow) == 3
    for got, want in zip(fast, slow):
        assert isinstance(got, list) and len(got) == 3
        for a, b in zip(got, want):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fast_batch_does_not_alias_the_dataset():
    data = TensorDataset(dn.zeros(4, 2))
    (batch,) = next(iter(DataLoader(data, batch_size=2)))
    batch.fill_(5.0)
    assert data.tensors[0].sum().item() == 0.0


def test_loader_over_subset_from_random_split_uses_the_subset_indices():
    train, val = random_split(_xy(20), [15, 5], generator=dn.Generator().manual_seed(0))
    seen = [i for _, y in DataLoader(val, batch_size=2) for i in y.tolist()]
    assert seen == [val.indices[i] for i in range(5)]
    assert sorted(i for _, y in DataLoader(train, batch_size=4, shuffle=True)
                  for i in y.tolist()) == sorted(train.indices)
