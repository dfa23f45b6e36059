"""The indexing family: `t[key]` and `t[key] = value`, index_select, gather, scatter,
scatter_add, masked_fill, masked_select, take_along_dim, nonzero.

Reads and writes are rows of tables run forward against NumPy, through a float64 gradient
check, and forward + backward against torch where it is installed. Then the view contract
(basic indexing shares memory, advanced indexing copies), assignment under autograd (also
through views), property tests with random keys, and one bad input per public op.
"""
import doctest

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.indexing import ops as indexing_ops

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis comes with the [test] extra
    given = None

RNG = np.random.default_rng(0)
MASK = np.array([[True, False, True, False],
                 [False, False, False, False],
                 [True, True, False, True]])


def _array(shape):
    return RNG.standard_normal(shape)


def _np_key(key):
    """The same key for NumPy: tensors become arrays."""
    if isinstance(key, tuple):
        return tuple(_np_key(k) for k in key)
    return key.numpy() if isinstance(key, dn.Tensor) else key


def _torch_of(x, requires_grad=False):
    import torch

    return torch.tensor(x.detach().numpy(), requires_grad=requires_grad)


def _ones(t):
    return dn.ones(t.shape, dtype=t.dtype)


# --------------------------------------------------------------------------- reading

# (name, shape, key(lib), NumPy reference of a[key] where torch's rule differs from NumPy's)
GETITEM = [
    ("int", (3, 4), lambda L: 1, None),
    ("negative-int", (3, 4), lambda L: -3, None),
    ("int-int", (3, 4), lambda L: (2, -1), None),
    ("slice", (5, 3), lambda L: slice(1, None, 2), None),
    ("slices", (4, 5), lambda L: (slice(None), slice(1, 4)), None),
    ("slice-clipped", (3,), lambda L: slice(1, 10), None),
    ("slice-empty", (3, 2), lambda L: slice(2, 1), None),
    ("none", (2, 3), lambda L: (None, 1, None), None),
    ("ellipsis", (2, 3, 4), lambda L: (Ellipsis, 1), None),
    ("ellipsis-middle", (2, 3, 4), lambda L: (0, Ellipsis, slice(1, 3)), None),
    ("ellipsis-none", (2, 3), lambda L: (None, Ellipsis, None), None),
    ("true", (2, 3), lambda L: True, None),
    ("false", (2, 3), lambda L: False, None),
    ("list", (4, 3), lambda L: [0, 2, 2], None),
    ("index-tensor-2d", (4, 3), lambda L: L.tensor([[0, 1], [3, 3]]), None),
    ("negative-index-tensor", (4, 3), lambda L: L.tensor([-1, 0, -1]), None),
    ("0d-index-tensor", (4, 3), lambda L: L.tensor(2), None),
    ("int32-index", (4, 3), lambda L: L.tensor([3, 1], dtype=L.int32), None),
    ("numpy-index", (4, 3), lambda L: np.array([1, 0, 1]), None),
    ("empty-list", (3, 2), lambda L: [], None),
    ("arrays-apart", (3, 4, 5), lambda L: (L.tensor([0, 2]), slice(None), L.tensor([1, 4])), None),
    ("arrays-adjacent", (3, 4, 5), lambda L: (slice(None), L.tensor([0, 2]), L.tensor([1, 4])),
     None),
    ("arrays-broadcast", (3, 4), lambda L: (L.tensor([[0], [2]]), L.tensor([1, 3, 0])), None),
    ("array-and-slice", (3, 4), lambda L: (slice(1, None), L.tensor([3, 0, 3])), None),
    ("array-none-array", (3, 4), lambda L: (L.tensor([0, 1]), None, L.tensor([2, 3])), None),
    ("int-adjacent-array", (3, 4, 5), lambda L: (slice(None), L.tensor([0, 2]), 1), None),
    # torch applies ints before index tensors, so they never push the result dims to the front
    ("int-apart-array", (3, 4, 5), lambda L: (1, slice(None), L.tensor([0, 2])),
     lambda a: a[1][:, [0, 2]]),
    ("mask", (3, 4), lambda L: L.tensor(MASK), None),
    ("row-mask", (3, 4), lambda L: L.tensor([True, False, True]), None),
    ("mask-after-slice", (3, 4), lambda L: (slice(1, 3), L.tensor([True, False, True, True])),
     None),
    ("mask-and-array", (3, 4), lambda L: (L.tensor([True, False, True]), L.tensor([0, 3])), None),
    ("mask-3d-leading", (3, 4, 2), lambda L: (L.tensor(MASK), 1), lambda a: a[..., 1][MASK]),
]
GETITEM_IDS = [row[0] for row in GETITEM]


def _reference(ref, key, array):
    return ref(array) if ref is not None else array[_np_key(key(dn))]


@pytest.mark.parametrize("name, shape, key, ref", GETITEM, ids=GETITEM_IDS)
def test_getitem_matches_numpy(name, shape, key, ref):
    array = _array(shape)
    got = dn.tensor(array)[key(dn)]
    want = _reference(ref, key, array)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("name, shape, key, ref", GETITEM, ids=GETITEM_IDS)
def test_getitem_gradcheck(name, shape, key, ref):
    x = dn.tensor(_array(shape), requires_grad=True)
    assert dn.autograd.gradcheck(lambda t: t[key(dn)], (x,))


@pytest.mark.parametrize("name, shape, key, ref", GETITEM, ids=GETITEM_IDS)
def test_getitem_matches_torch(name, shape, key, ref):
    torch = pytest.importorskip("torch")
    x = dn.tensor(_array(shape), requires_grad=True)
    tx = _torch_of(x, requires_grad=True)
    out, tout = x[key(dn)], tx[key(torch)]
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    seed = _array(tuple(tout.shape))
    out.backward(dn.tensor(seed))
    tout.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_repeated_indices_accumulate_their_gradients():
    weight = dn.tensor(_array((50, 8)), requires_grad=True)
    index = RNG.integers(0, 50, size=(64, 3))
    seed = _array((64, 3, 8))
    weight[dn.tensor(index)].backward(dn.tensor(seed))
    want = np.zeros((50, 8))
    np.add.at(want, index, seed)
    np.testing.assert_allclose(weight.grad.numpy(), want, rtol=1e-12)


def test_indexing_keeps_every_dtype_and_half_gradients_accumulate():
    for dtype in (dn.float16, dn.float32, dn.int32, dn.int64, dn.bool, dn.uint8):
        x = dn.zeros(3, 4, dtype=dtype)
        for out in (x[1], x[:, [0, 0]], x[x == x], x.gather(0, dn.tensor([[2, 1]]))):
            assert out.dtype is dtype
        x[0, [1, 1]] = 1
        assert x[0, 1].item() == 1
    w = dn.zeros(4, 2, dtype=dn.float16, requires_grad=True)
    w[dn.tensor([3, 3, 0])].backward(dn.ones(3, 2, dtype=dn.float16))
    assert w.grad.dtype is dn.float16 and w.grad.tolist() == [[1, 1], [0, 0], [0, 0], [2, 2]]


def test_getitem_second_derivative():
    x = dn.tensor(_array((4, 3)), requires_grad=True)

    def first_derivative(t):
        picked = t[dn.tensor([0, 0, 2]), 1:]
        (grad,) = dn.autograd.grad(picked * picked * picked, t, _ones(picked), create_graph=True)
        return grad

    assert dn.autograd.gradcheck(first_derivative, (x,))


# --------------------------------------------------------------------------- views and copies

@pytest.mark.parametrize("key", [1, (slice(None), 2), (None, Ellipsis, slice(0, 3, 2)), (0, 1)],
                         ids=["int", "column", "none-step", "scalar"])
def test_basic_indexing_returns_a_view(key):
    x = dn.tensor(_array((3, 4)))
    view = x[key]
    assert np.shares_memory(view.numpy(), x.numpy()) and view._version is x._version
    x.mul_(2.0)
    assert view._version.value == 1
    np.testing.assert_array_equal(view.numpy(), x.numpy()[key])
    torch = pytest.importorskip("torch")
    assert _torch_of(x)[key]._is_view()


@pytest.mark.parametrize("key", [[0, 1], (slice(None), [1]), MASK], ids=["list", "column", "mask"])
def test_advanced_indexing_returns_a_copy(key):
    x = dn.tensor(_array((3, 4)))
    key = dn.tensor(key) if isinstance(key, np.ndarray) else key
    out = x[key]
    assert not np.shares_memory(out.numpy(), x.numpy()) and out._version is not x._version
    torch = pytest.importorskip("torch")
    tkey = _torch_of(key) if isinstance(key, dn.Tensor) else key
    assert not _torch_of(x)[tkey]._is_view()


def test_a_write_through_a_view_shows_in_the_base_and_bumps_the_version():
    x = dn.zeros(3, 4)
    row = x[1]
    row[2] = 5.0
    assert x[1, 2].item() == 5.0
    assert x._version.value == row._version.value == 1
    x[0] = dn.arange(4.0)
    assert x._version.value == 2 and x[0, 3].item() == 3.0


# --------------------------------------------------------------------------- writing

# (name, shape, key(lib), value(lib)): y = x * 1; y[key] = value
SETITEM = [
    ("int-scalar", (3, 4), lambda L: 1, lambda L: 2.5),
    ("column-scalar", (3, 4), lambda L: (slice(None), 0), lambda L: 0.0),
    ("row-tensor", (3, 4), lambda L: 0, lambda L: L.tensor(_array(4), requires_grad=True)),
    ("broadcast", (3, 4), lambda L: slice(1, None), lambda L: L.tensor(_array((1, 4)),
                                                                          requires_grad=True)),
    ("leading-one-dims", (3, 4), lambda L: 2, lambda L: L.tensor(_array((1, 1, 4)),
                                                                requires_grad=True)),
    ("0d-tensor", (3, 4), lambda L: (Ellipsis, 1), lambda L: L.tensor(3.0, dtype=L.float64,
                                                                        requires_grad=True)),
    ("list-index", (4, 3), lambda L: [0, 2],
     lambda L: L.tensor(_array((2, 3)), requires_grad=True)),
    ("mask", (3, 4), lambda L: L.tensor(MASK), lambda L: L.tensor(_array(int(MASK.sum())),
                                                                  requires_grad=True)),
    ("mask-scalar", (3, 4), lambda L: L.tensor(MASK), lambda L: -1.0),
    ("arrays", (3, 4, 2), lambda L: (L.tensor([0, 2]), slice(None), L.tensor([1, 0])),
     lambda L: L.tensor(_array((2, 4)), requires_grad=True)),
    ("int-apart-array", (3, 4, 5), lambda L: (1, slice(None), L.tensor([0, 2])),
     lambda L: L.tensor(_array((4, 2)), requires_grad=True)),
]
SETITEM_IDS = [row[0] for row in SETITEM]


@pytest.mark.parametrize("name, shape, key, value", SETITEM, ids=SETITEM_IDS)
def test_setitem_matches_numpy(name, shape, key, value):
    array = _array(shape)
    x = dn.tensor(array)
    v = value(dn)
    x[key(dn)] = v.detach() if isinstance(v, dn.Tensor) else v
    want = array.copy()
    v_np = v.detach().numpy() if isinstance(v, dn.Tensor) else v
    if name == "int-apart-array":
        want[1][:, [0, 2]] = v_np
    else:
        want[_np_key(key(dn))] = v_np
    np.testing.assert_array_equal(x.numpy(), want)


@pytest.mark.parametrize("name, shape, key, value", SETITEM, ids=SETITEM_IDS)
def test_setitem_gradcheck(name, shape, key, value):
    x = dn.tensor(_array(shape), requires_grad=True)
    v = value(dn)

    def assign(x, *v):
        y = x * 1
        y[key(dn)] = v[0] if v else value(dn)
        return y

    inputs = (x, v) if isinstance(v, dn.Tensor) else (x,)
    assert dn.autograd.gradcheck(assign, inputs)


@pytest.mark.parametrize("name, shape, key, value", SETITEM, ids=SETITEM_IDS)
def test_setitem_under_autograd_matches_torch(name, shape, key, value):
    torch = pytest.importorskip("torch")
    array, seed = _array(shape), _array(shape)
    x, tx = dn.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    v = value(dn)
    tv = _torch_of(v, requires_grad=True) if isinstance(v, dn.Tensor) else v
    y, ty = x * 1, tx * 1
    y[key(dn)] = v
    ty[key(torch)] = tv
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    y.backward(dn.tensor(seed))
    ty.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    if isinstance(v, dn.Tensor):
        np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy())


def test_assigning_into_a_copy_zeroes_the_column_gradient():
    # y = x * 1; y[:, 0] = 0; y.sum().backward(): column 0 of x gets no gradient
    torch = pytest.importorskip("torch")
    array = _array((3, 4))
    x, tx = dn.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    y, ty = x * 1, tx * 1
    y[:, 0] = 0
    ty[:, 0] = 0
    y.backward(_ones(y))
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert not x.grad.numpy()[:, 0].any()


def test_inplace_on_an_indexed_view_matches_torch():
    # v = y[0]; v.mul_(2): the base takes the view's new history
    torch = pytest.importorskip("torch")
    array, seed = _array((3, 4)), _array((3, 4))
    x, tx = dn.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    y, ty = x * x, tx * tx
    v, tv = y[0], ty[0]
    v.mul_(2)
    tv.mul_(2)
    v[1:3] = 0.5
    tv[1:3] = 0.5
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    assert v.requires_grad and y.grad_fn is not None
    y.backward(dn.tensor(seed))
    ty.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_assigning_a_tensor_that_requires_grad_into_a_plain_tensor():
    torch = pytest.importorskip("torch")
    value = dn.tensor(_array(3), requires_grad=True)
    tvalue = _torch_of(value, requires_grad=True)
    buffer, tbuffer = dn.zeros(2, 3, dtype=dn.float64), torch.zeros(2, 3, dtype=torch.float64)
    buffer[1] = value * 2
    tbuffer[1] = tvalue * 2
    assert buffer.requires_grad
    buffer.backward(dn.tensor(np.arange(6.0).reshape(2, 3)))
    tbuffer.backward(torch.arange(6.0, dtype=torch.float64).reshape(2, 3))
    np.testing.assert_allclose(value.grad.numpy(), tvalue.grad.numpy())


def test_setitem_on_a_leaf_requiring_grad_raises_unless_under_no_grad():
    x = dn.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 2
    with dn.no_grad():
        x[0] = 2
    assert x.tolist() == [2.0, 0.0, 0.0] and x._version.value == 1


def test_setitem_after_saving_is_detected_by_backward():
    x = dn.tensor(_array(3), requires_grad=True)
    y = x * 1
    z = y * y
    y[0] = 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward(_ones(z))


def test_setitem_casts_to_the_tensor_dtype():
    x = dn.zeros(3, dtype=dn.int64)
    x[0] = 2.7
    x[1:] = dn.tensor([1.9, -1.9])
    assert x.dtype is dn.int64 and x.tolist() == [2, 1, -1]
    y = dn.zeros(2)
    y[:] = np.array([1, 2])
    y[0] = dn.tensor(5, dtype=dn.int64)
    assert y.dtype is dn.float32 and y.tolist() == [5.0, 2.0]


def test_setitem_into_an_expanded_view_raises():
    x = dn.zeros(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match="clone"):
        x[0, 0] = 1.0


# --------------------------------------------------------------------------- functions

INDEX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])

# (name, op(lib, *tensors), NumPy reference(*arrays), input shapes)
OPS = [
    ("index_select", lambda L, x: x.index_select(1, L.tensor([3, 0, 3])),
     lambda a: a[:, [3, 0, 3]], [(2, 4)]),
    ("index_select-fn", lambda L, x: L.index_select(x, -2, L.tensor([1])), lambda a: a[[1]],
     [(2, 4)]),
    ("gather", lambda L, x: x.gather(0, L.tensor(INDEX)),
     lambda a: np.take_along_axis(a, INDEX, 0), [(3, 4)]),
    ("gather-smaller", lambda L, x: L.gather(x, 1, L.tensor(INDEX[:, :2])),
     lambda a: np.take_along_axis(a[:2], INDEX[:, :2], 1), [(3, 4)]),
    ("scatter", lambda L, x, s: x.scatter(1, L.tensor([[0, 3], [1, 2], [2, 0]]), s),
     lambda a, s: _np_scatter(a, s, [[0, 3], [1, 2], [2, 0]]), [(3, 4), (3, 2)]),
    ("scatter-value", lambda L, x: L.scatter(x, 0, L.tensor([[1, 0, 2, 1]]), 7.0),
     lambda a: _np_put_rows(a, [[1, 0, 2, 1]], 7.0), [(3, 4)]),
    ("scatter_add", lambda L, x, s: x.scatter_add(0, L.tensor(INDEX), s),
     lambda a, s: _np_scatter_add(a, s, INDEX), [(3, 4), (2, 4)]),
    ("masked_fill", lambda L, x: x.masked_fill(L.tensor(MASK), -2.0),
     lambda a: np.where(MASK, -2.0, a), [(3, 4)]),
    ("masked_fill-broadcast",
     lambda L, x: L.masked_fill(x, L.tensor([True, False, False, True]), 1),
     lambda a: np.where([True, False, False, True], 1.0, a), [(3, 4)]),
    ("masked_fill-tensor", lambda L, x, v: x.masked_fill(L.tensor(MASK), v),
     lambda a, v: np.where(MASK, v, a), [(3, 4), ()]),
    ("masked_select", lambda L, x: x.masked_select(L.tensor(MASK)), lambda a: a[MASK], [(3, 4)]),
    ("masked_select-broadcast", lambda L, x: L.masked_select(x, L.tensor(MASK)),
     lambda a: np.broadcast_to(a, (3, 4))[MASK], [(4,)]),
    ("take_along_dim", lambda L, x: L.take_along_dim(x, L.tensor([[0], [3], [1]]), 1),
     lambda a: np.take_along_axis(a, np.array([[0], [3], [1]]), 1), [(3, 4)]),
    ("take_along_dim-flat", lambda L, x: x.take_along_dim(L.tensor([5, 0, 11])),
     lambda a: a.reshape(-1)[[5, 0, 11]], [(3, 4)]),
]
OPS_IDS = [row[0] for row in OPS]


def _np_scatter(a, s, index):
    out = a.copy()
    for i, row in enumerate(index):
        for j, k in enumerate(row):
            out[i, k] = s[i, j]
    return out


def _np_put_rows(a, index, value):
    out = a.copy()
    for i, row in enumerate(index):
        for j, k in enumerate(row):
            out[k, j] = value
    return out


def _np_scatter_add(a, s, index):
    out = a.copy()
    for i, row in enumerate(index):
        for j, k in enumerate(row):
            out[k, j] += s[i, j]
    return out


@pytest.mark.parametrize("name, op, ref, shapes", OPS, ids=OPS_IDS)
def test_op_matches_numpy(name, op, ref, shapes):
    arrays = [_array(s) for s in shapes]
    got = op(dn, *[dn.tensor(a) for a in arrays])
    np.testing.assert_allclose(got.numpy(), ref(*arrays), rtol=1e-14)


@pytest.mark.parametrize("name, op, ref, shapes", OPS, ids=OPS_IDS)
def test_op_gradcheck(name, op, ref, shapes):
    inputs = tuple(dn.tensor(_array(s), requires_grad=True) for s in shapes)
    assert dn.autograd.gradcheck(lambda *xs: op(dn, *xs), inputs)


@pytest.mark.parametrize("name, op, ref, shapes", OPS, ids=OPS_IDS)
def test_op_matches_torch(name, op, ref, shapes):
    torch = pytest.importorskip("torch")
    arrays = [_array(s) for s in shapes]
    ours = [dn.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = op(dn, *ours), op(torch, *theirs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-14)
    seed = _array(tuple(tout.shape))
    out.backward(dn.tensor(seed))
    tout.backward(torch.tensor(seed))
    for x, tx in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["gather", "scatter", "scatter_add", "index_select",
                                  "masked_fill"])
def test_op_second_derivative(name):
    _, op, _, shapes = OPS[OPS_IDS.index(name)]
    inputs = tuple(dn.tensor(_array(s), requires_grad=True) for s in shapes)

    def first_derivative(*xs):
        out = op(dn, *xs)
        grads = dn.autograd.grad(out * out * out, xs, _ones(out), create_graph=True)
        return grads

    assert dn.autograd.gradcheck(first_derivative, inputs)


def test_inplace_scatter_and_masked_fill():
    x = dn.zeros(3, 4)
    summed = x.scatter(0, dn.tensor(INDEX), dn.ones(2, 4), reduce="add")
    added = dn.zeros(3, 4).scatter_add(0, dn.tensor(INDEX), dn.ones(2, 4))
    assert summed.tolist() == added.tolist()
    x.scatter_add_(0, dn.tensor(INDEX), dn.ones(2, 4))
    np.testing.assert_array_equal(x.numpy(), _np_scatter_add(np.zeros((3, 4)), np.ones((2, 4)),
                                                             INDEX))
    x.scatter_(1, dn.tensor([[0], [1], [2]]), 9.0)
    assert [x[i, i].item() for i in range(3)] == [9.0, 9.0, 9.0]
    version = x._version.value
    x.masked_fill_(dn.tensor(MASK), -1.0)
    assert x._version.value == version + 1 and x.numpy()[MASK].tolist() == [-1.0] * MASK.sum()
    torch = pytest.importorskip("torch")
    array = _array((3, 4))
    w, tw = dn.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    y, ty = w * 2, tw * 2
    y.masked_fill_(dn.tensor(MASK), 0.0)
    ty.masked_fill_(torch.tensor(MASK), 0.0)
    y.scatter_add_(1, dn.tensor([[0, 0]] * 3), dn.ones(3, 2, dtype=dn.float64))
    ty.scatter_add_(1, torch.tensor([[0, 0]] * 3), torch.ones(3, 2, dtype=torch.float64))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    y.backward(dn.tensor(array))
    ty.backward(torch.tensor(array))
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), ()])
def test_nonzero_and_argwhere_match_torch(shape):
    array = (RNG.integers(0, 3, size=shape) > 0)
    x = dn.tensor(array.astype(np.float32))
    assert x.nonzero().dtype is dn.int64
    np.testing.assert_array_equal(x.nonzero().numpy(), np.argwhere(array))
    np.testing.assert_array_equal(dn.argwhere(x).numpy(), np.argwhere(array))
    for got, want in zip(dn.nonzero(x, as_tuple=True), np.nonzero(np.atleast_1d(array))):
        np.testing.assert_array_equal(got.numpy(), want)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(array)
    assert tuple(x.nonzero().shape) == tuple(tx.nonzero().shape)
    assert len(x.nonzero(as_tuple=True)) == len(tx.nonzero(as_tuple=True))
    np.testing.assert_array_equal(dn.where(x > 0)[0].numpy(), torch.where(tx)[0].numpy())


# --------------------------------------------------------------------------- properties

if given is not None:
    @st.composite
    def _shape_and_key(draw, allow_int_with_arrays):
        shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
        key, dim, has_array, has_int = [], 0, False, False
        for _ in range(draw(st.integers(1, len(shape) + 1))):
            if dim == len(shape):
                break
            size = shape[dim]
            kind = draw(st.sampled_from(["int", "slice", "none", "array", "mask", "ellipsis"]))
            if kind == "int":
                key.append(draw(st.integers(-size, size - 1)))
                has_int = True
            elif kind == "slice":
                key.append(slice(draw(st.none() | st.integers(-size - 1, size + 1)),
                                 draw(st.none() | st.integers(-size - 1, size + 1)),
                                 draw(st.none() | st.integers(1, 3))))
            elif kind == "none":
                key.append(None)
                continue
            elif kind == "array":
                n = draw(st.integers(1, 3))
                key.append(np.array(draw(st.lists(st.integers(-size, size - 1), min_size=n,
                                                  max_size=n))))
                has_array = True
            elif kind == "mask":
                key.append(np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))))
                has_array = True
            else:
                key.append(Ellipsis)
                break  # the ellipsis takes every dim that is left
            dim += 1
        if has_int and has_array and not allow_int_with_arrays:
            key = [slice(None) if isinstance(k, int) else k for k in key]
        return shape, tuple(key)

    @settings(max_examples=80, deadline=None)
    @given(case=_shape_and_key(allow_int_with_arrays=False))
    def test_random_keys_match_numpy(case):
        shape, key = case
        array = RNG.standard_normal(shape)
        try:
            want = array[key]
        except IndexError:
            with pytest.raises(IndexError):
                dn.tensor(array)[key]
            return
        x = dn.tensor(array, requires_grad=True)
        got = x[key]
        np.testing.assert_array_equal(got.detach().numpy(), want)
        seed = RNG.standard_normal(want.shape)
        got.backward(dn.tensor(seed))
        expected = np.zeros(shape)
        np.add.at(expected, key, seed)
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
        target = array.copy()
        target[key] = -seed
        written = dn.tensor(array)
        written[key] = dn.tensor(-seed)
        np.testing.assert_array_equal(written.numpy(), target)

    @settings(max_examples=80, deadline=None)
    @given(case=_shape_and_key(allow_int_with_arrays=True))
    def test_random_keys_match_torch(case):
        torch = pytest.importorskip("torch")
        shape, key = case
        array = RNG.standard_normal(shape)
        tkey = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)
        try:
            want = torch.tensor(array)[tkey]
        except IndexError:
            with pytest.raises(IndexError):
                dn.tensor(array)[key]
            return
        got = dn.tensor(array)[tuple(dn.from_numpy(k) if isinstance(k, np.ndarray) else k
                                     for k in key)]
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


# --------------------------------------------------------------------------- bad inputs

# (name, call(lib), the exception class torch raises)
BAD = [
    ("index-float-tensor", lambda L: L.zeros(3)[L.tensor([0.0])], IndexError),
    ("index-float", lambda L: L.zeros(3)[1.5], IndexError),
    ("index-out-of-range", lambda L: L.zeros(3)[5], IndexError),
    ("index-negative-out-of-range", lambda L: L.zeros(2, 3)[:, -4], IndexError),
    ("index-tensor-out-of-range", lambda L: L.zeros(3)[L.tensor([0, 3])], IndexError),
    ("index-too-many", lambda L: L.zeros(2, 3)[0, 0, 0], IndexError),
    ("index-negative-step", lambda L: L.zeros(3)[::-1], ValueError),
    ("index-zero-step", lambda L: L.zeros(3)[::0], ValueError),
    ("index-mask-shape", lambda L: L.zeros(2, 3)[L.tensor([True, False, True])], IndexError),
    ("index-arrays-broadcast", lambda L: L.zeros(3, 3)[L.tensor([0, 1]), L.tensor([0, 1, 2])],
     IndexError),
    ("setitem-leaf", lambda L: L.zeros(3, requires_grad=True).__setitem__(0, 2.0), RuntimeError),
    ("setitem-shape", lambda L: L.zeros(2, 3).__setitem__(0, L.zeros(2)), RuntimeError),
    ("setitem-out-of-range", lambda L: L.zeros(2, 3).__setitem__((0, 3), 1.0), IndexError),
    ("setitem-value-type", lambda L: L.zeros(3).__setitem__(0, "a"), TypeError),
    ("index_select-float", lambda L: L.zeros(2, 3).index_select(0, L.tensor([0.0])), RuntimeError),
    ("index_select-2d", lambda L: L.index_select(L.zeros(2, 3), 0, L.tensor([[0]])), IndexError),
    ("index_select-range", lambda L: L.zeros(2, 3).index_select(0, L.tensor([2])), IndexError),
    ("gather-ndim", lambda L: L.zeros(2, 3).gather(0, L.tensor([0])), RuntimeError),
    ("gather-range", lambda L: L.gather(L.zeros(2, 3), 0, L.tensor([[2]])), RuntimeError),
    ("gather-float", lambda L: L.zeros(2, 3).gather(0, L.tensor([[0.0]])), RuntimeError),
    ("gather-size", lambda L: L.zeros(2, 3).gather(0, L.tensor([[0, 0, 0, 0]])), RuntimeError),
    ("scatter-dtype", lambda L: L.zeros(2, 3).scatter(0, L.tensor([[0]]),
                                                      L.ones(1, 1, dtype=L.float64)), RuntimeError),
    ("scatter-range", lambda L: L.scatter(L.zeros(2, 3), 1, L.tensor([[3]]), 1.0), RuntimeError),
    ("scatter_add-range", lambda L: L.zeros(2, 3).scatter_add(0, L.tensor([[-1]]), L.ones(1, 1)),
     RuntimeError),
    ("scatter_add-src-size", lambda L: L.scatter_add(L.zeros(2, 3), 0, L.tensor([[0, 1]]),
                                                     L.ones(1, 1)), RuntimeError),
    ("scatter_add-src-ndim", lambda L: L.zeros(2, 3).scatter_add(0, L.tensor([[0]]),
                                                                 L.ones(1, 1, 1)), RuntimeError),
    ("scatter_-float-index", lambda L: L.zeros(2, 3).scatter_(0, L.tensor([[0.0]]), 1.0),
     RuntimeError),
    ("scatter_add_-leaf", lambda L: L.zeros(2, requires_grad=True).scatter_add_(
        0, L.tensor([0]), L.ones(1)), RuntimeError),
    ("masked_fill-float-mask", lambda L: L.zeros(3).masked_fill(L.tensor([1.0, 0.0, 1.0]), 1.0),
     RuntimeError),
    ("masked_fill-value-shape", lambda L: L.masked_fill(L.zeros(3), L.tensor([True, False, True]),
                                                        L.ones(2)), RuntimeError),
    ("masked_fill-broadcast", lambda L: L.zeros(2, 3).masked_fill(L.tensor([True, False]), 1.0),
     RuntimeError),
    ("masked_fill_-float-mask", lambda L: L.zeros(3).masked_fill_(L.zeros(3), 1.0), RuntimeError),
    ("masked_select-float-mask", lambda L: L.zeros(3).masked_select(L.zeros(3)), RuntimeError),
    ("masked_select-broadcast", lambda L: L.masked_select(L.zeros(2, 3), L.tensor([True, False])),
     RuntimeError),
    ("take_along_dim-ndim", lambda L: L.take_along_dim(L.zeros(2, 3), L.tensor([1]), 0),
     RuntimeError),
    ("take_along_dim-float", lambda L: L.zeros(2, 3).take_along_dim(L.tensor([[0.0]]), 1),
     RuntimeError),
    ("nonzero-not-tensor", lambda L: L.nonzero([1, 0]), TypeError),
    ("argwhere-not-tensor", lambda L: L.argwhere(np.array([1, 0])), TypeError),
]


@pytest.mark.parametrize("name, call, exc", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_like_torch(name, call, exc):
    with pytest.raises(exc) as info:
        call(dn)
    assert str(info.value)
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        call(torch)
    assert isinstance(info.value, type(theirs.value)), (type(info.value), type(theirs.value))


def test_index_errors_name_the_op_the_index_and_the_size():
    with pytest.raises(IndexError, match="index: index 5 is out of bounds for dimension 0 with "
                                         "size 3"):
        dn.zeros(3)[5]
    with pytest.raises(IndexError, match="long, int, byte or bool"):
        dn.zeros(3)[dn.tensor([1.0])]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        dn.zeros(3)[::-1]
    with pytest.raises(RuntimeError, match=r"shape \[2\] .* region of shape \[3\]"):
        dn.zeros(2, 3)[0] = dn.zeros(2)


def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(indexing_ops, "indexing_ops", globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
