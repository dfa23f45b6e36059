"""Tensor factories (SPEC's list: tensor, zeros, ones, full, arange, linspace, eye, rand, randn,
randint, empty, *_like, from_numpy, as_tensor) and the random stream's reproducibility."""
import numpy as np
import pytest

import dualnet as dn


def test_tensor_copies_and_infers_dtype():
    source = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = dn.tensor(source)
    assert t.shape == (2, 2) and t.dtype == dn.float64
    source[0, 0] = 99
    assert t[0, 0].item() == 1.0  # a copy
    assert dn.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert dn.tensor(3.5).shape == () and dn.tensor(3.5).item() == 3.5
    assert dn.tensor([dn.tensor(1.0), dn.tensor(2.0)]).tolist() == [1.0, 2.0]
    assert dn.tensor((1, 2), dtype=dn.float64).dtype == dn.float64
    other = dn.ones(2)
    assert not np.shares_memory(dn.tensor(other).numpy(), other.numpy())


def test_tensor_requires_grad_and_device():
    t = dn.tensor([1.0, 2.0], requires_grad=True, device="cpu")
    assert t.requires_grad and t.is_leaf and t.device == dn.device("cpu")


@pytest.mark.parametrize("factory, value", [(dn.zeros, 0.0), (dn.ones, 1.0)])
def test_zeros_and_ones(factory, value):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3])):
        assert t.shape == (2, 3) and t.dtype == dn.float32
        assert np.all(t.numpy() == value)
    assert factory(()).shape == () and factory(0).shape == (0,)
    assert factory(2, dtype=dn.int32).dtype == dn.int32
    assert factory(2, requires_grad=True).requires_grad


def test_full_and_empty():
    assert dn.full((2, 2), 7).tolist() == [[7, 7], [7, 7]]
    assert dn.full((2,), 0.5).dtype == dn.float32
    assert dn.full((2,), 1, dtype=dn.float64).dtype == dn.float64
    assert dn.full(3, 2.0).shape == (3,)
    assert dn.full((2,), dn.tensor(4.0)).tolist() == [4.0, 4.0]
    e = dn.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == dn.float32
    assert dn.empty((4,), dtype=dn.int64).dtype == dn.int64


def test_like_factories_follow_their_input():
    base = dn.tensor([[1, 2, 3]], dtype=dn.int32)
    for factory in (dn.zeros_like, dn.ones_like, dn.empty_like):
        t = factory(base)
        assert t.shape == (1, 3) and t.dtype == dn.int32
    assert dn.zeros_like(base).tolist() == [[0, 0, 0]]
    assert dn.ones_like(base, dtype=dn.float64).dtype == dn.float64
    assert dn.full_like(base, 2.7).tolist() == [[2, 2, 2]]  # keeps the int dtype, like torch
    floats = dn.zeros(2, 2)
    assert dn.rand_like(floats).shape == (2, 2) and dn.randn_like(floats).dtype == dn.float32
    r = dn.randint_like(floats, 5)
    assert r.dtype == dn.float32 and np.all((r.numpy() >= 0) & (r.numpy() < 5))
    assert dn.zeros_like(floats, requires_grad=True).requires_grad


def test_arange():
    assert dn.arange(5).tolist() == [0, 1, 2, 3, 4] and dn.arange(5).dtype == dn.int64
    assert dn.arange(5.0).dtype == dn.float32
    assert dn.arange(2, 8, 2).tolist() == [2, 4, 6]
    assert dn.arange(5, 0, -2).tolist() == [5, 3, 1]
    np.testing.assert_allclose(dn.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert dn.arange(0, 1, 0.1).shape == (10,)
    assert dn.arange(3, dtype=dn.float64).dtype == dn.float64
    assert dn.arange(0).shape == (0,)


@pytest.mark.parity
@pytest.mark.parametrize("args", [(5,), (1.0, 2.5, 0.5), (0, 1, 0.1), (-3, 3, 0.7), (10, 0, -3),
                                  (0.5, 10)])
def test_arange_matches_torch(args):
    torch = pytest.importorskip("torch")
    ours, theirs = dn.arange(*args), torch.arange(*args)
    assert repr(ours.dtype) == str(theirs.dtype).replace("torch.", "dualnet.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_linspace_and_logspace():
    np.testing.assert_allclose(dn.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert dn.linspace(0, 1, 5).dtype == dn.float32
    assert dn.linspace(-1, 1, 1).tolist() == [-1.0]
    assert dn.linspace(0, 1, 0).shape == (0,)
    assert dn.linspace(0, 1, 3, dtype=dn.float64).dtype == dn.float64
    np.testing.assert_allclose(dn.logspace(0, 2, 3).numpy(), [1, 10, 100], rtol=1e-6)


def test_eye():
    np.testing.assert_array_equal(dn.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(dn.eye(2, 4).numpy(), np.eye(2, 4))
    assert dn.eye(2).dtype == dn.float32 and dn.eye(2, dtype=dn.int64).dtype == dn.int64


def test_random_factories():
    dn.manual_seed(0)
    assert dn.rand(2, 3).shape == (2, 3) and dn.rand(2, 3).dtype == dn.float32
    u = dn.rand(1000).numpy()
    assert u.min() >= 0 and u.max() < 1
    n = dn.randn(4000, dtype=dn.float64).numpy()
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1
    r = dn.randint(3, 7, (100,))
    assert r.dtype == dn.int64 and r.numpy().min() >= 3 and r.numpy().max() < 7
    assert dn.randint(5, (2, 2)).shape == (2, 2)
    assert sorted(dn.randperm(6).tolist()) == list(range(6))
    assert dn.randperm(4).dtype == dn.int64
    assert dn.randn(2, requires_grad=True).requires_grad
    normal = dn.normal(2.0, 0.5, (3000,)).numpy()
    assert abs(normal.mean() - 2.0) < 0.05
    b = dn.bernoulli(dn.full((1000,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and 0.2 < b.mean() < 0.4
    m = dn.multinomial(dn.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
    assert m.tolist() == [1, 1]


RANDOM_DRAWS = {
    "rand": lambda g=None: dn.rand(3, generator=g),
    "randn": lambda g=None: dn.randn(3, generator=g),
    "randint": lambda g=None: dn.randint(0, 100, (3,), generator=g),
    "randperm": lambda g=None: dn.randperm(8, generator=g),
    "normal": lambda g=None: dn.normal(0.0, 1.0, (3,), generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM_DRAWS))
def test_manual_seed_makes_draws_repeat(name):
    draw = RANDOM_DRAWS[name]
    dn.manual_seed(1234)
    first = [draw().tolist() for _ in range(2)]
    dn.manual_seed(1234)
    second = [draw().tolist() for _ in range(2)]
    assert first == second
    assert first[0] != first[1]
    dn.manual_seed(4321)
    assert draw().tolist() != first[0]


@pytest.mark.parametrize("name", sorted(RANDOM_DRAWS))
def test_generators_are_independent_streams(name):
    draw = RANDOM_DRAWS[name]
    g = dn.Generator().manual_seed(7)
    dn.manual_seed(0)
    first = draw(g).tolist()
    dn.rand(10)  # the global stream moving on does not touch g
    g.manual_seed(7)
    assert draw(g).tolist() == first
    assert g.initial_seed() == 7


def test_rng_state_round_trip():
    dn.manual_seed(99)
    assert dn.initial_seed() == 99
    state = dn.get_rng_state()
    first = dn.randn(4).tolist()
    dn.set_rng_state(state)
    assert dn.randn(4).tolist() == first


def test_from_numpy_shares_memory_both_ways():
    array = np.arange(6.0).reshape(2, 3)
    t = dn.from_numpy(array)
    assert t.dtype == dn.float64 and t.shape == (2, 3)
    array[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.add_(1)
    assert array[1, 2] == 6.0
    assert np.shares_memory(t.numpy(), array)
    strided = dn.from_numpy(array.T)
    assert not strided.is_contiguous() and strided.shape == (3, 2)


def test_as_tensor_shares_when_nothing_changes():
    array = np.ones(3, dtype=np.float32)
    assert np.shares_memory(dn.as_tensor(array).numpy(), array)
    assert np.shares_memory(dn.asarray(array).numpy(), array)
    assert not np.shares_memory(dn.as_tensor(array, dtype=dn.float64).numpy(), array)
    t = dn.ones(2)
    assert dn.as_tensor(t) is t
    assert dn.as_tensor([1, 2]).dtype == dn.int64
