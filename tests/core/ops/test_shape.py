"""The shape family: views (reshape, view, transpose, permute, squeeze, expand, narrow, split,
unbind...) and copies (cat, stack, repeat, tile, flip, roll).

Each op is a row of a table: forward against NumPy, a float64 gradient check, and forward +
backward against torch where it is installed. Then the view contract (which results share
memory and the version counter, exactly where torch's do), in-place changes through views
under autograd, property tests of cat/stack, and one bad input per public op.
"""
import doctest

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.shape import ops as shape_ops

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis comes with the [test] extra
    given = None

RNG = np.random.default_rng(0)


def _array(shape):
    return RNG.standard_normal(shape)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


# --------------------------------------------------------------------------- the table

# (name, op(lib, *tensors) for lib in (dualnet, torch), NumPy reference(*arrays), input shapes)
CASES = [
    ("reshape", lambda L, x: x.reshape(3, -1), lambda a: a.reshape(3, -1), [(2, 3, 2)]),
    ("reshape-tuple", lambda L, x: L.reshape(x, (4, 3)), lambda a: a.reshape(4, 3), [(2, 3, 2)]),
    ("reshape-noncontiguous", lambda L, x: x.transpose(0, 1).reshape(-1),
     lambda a: a.transpose(1, 0).reshape(-1), [(3, 4)]),
    ("reshape-0d", lambda L, x: x.reshape(1, 1), lambda a: a.reshape(1, 1), [()]),
    ("view", lambda L, x: x.view(6, 2), lambda a: a.reshape(6, 2), [(2, 3, 2)]),
    ("view-infer", lambda L, x: x.view(-1), lambda a: a.reshape(-1), [(2, 3)]),
    ("view_as", lambda L, x, y: x.view_as(y), lambda a, b: a.reshape(b.shape), [(2, 3), (3, 2)]),
    ("reshape_as", lambda L, x, y: x.t().reshape_as(y), lambda a, b: a.T.reshape(b.shape),
     [(2, 3), (6,)]),
    ("ravel", lambda L, x: L.ravel(x.t()), lambda a: a.T.ravel(), [(2, 3)]),
    ("flatten", lambda L, x: x.flatten(), lambda a: a.reshape(-1), [(2, 3, 2)]),
    ("flatten-1", lambda L, x: L.flatten(x, 1), lambda a: a.reshape(2, -1), [(2, 3, 2)]),
    ("flatten-0-1", lambda L, x: x.flatten(0, 1), lambda a: a.reshape(6, 2), [(2, 3, 2)]),
    ("unflatten", lambda L, x: x.unflatten(1, (3, -1)), lambda a: a.reshape(2, 3, 2, 2),
     [(2, 6, 2)]),
    ("squeeze", lambda L, x: x.squeeze(), lambda a: a.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze-dim", lambda L, x: x.squeeze(2), lambda a: a.squeeze(2), [(1, 3, 1, 2)]),
    ("squeeze-dims", lambda L, x: L.squeeze(x, (0, 1)), lambda a: a.squeeze(0), [(1, 3, 1)]),
    ("unsqueeze", lambda L, x: x.unsqueeze(0), lambda a: a[None], [(2, 3)]),
    ("unsqueeze-last", lambda L, x: L.unsqueeze(x, -1), lambda a: a[..., None], [(2, 3)]),
    ("transpose", lambda L, x: x.transpose(0, 2), lambda a: a.transpose(2, 1, 0), [(2, 3, 4)]),
    ("swapaxes", lambda L, x: L.swapaxes(x, -1, 0), lambda a: a.swapaxes(-1, 0), [(2, 3)]),
    ("swapdims", lambda L, x: x.swapdims(0, 1), lambda a: a.swapaxes(0, 1), [(2, 3)]),
    ("t", lambda L, x: x.t(), lambda a: a.T, [(2, 3)]),
    ("t-1d", lambda L, x: L.t(x), lambda a: a, [(3,)]),
    ("T", lambda L, x: x.T, lambda a: a.T, [(2, 3)]),
    ("permute", lambda L, x: x.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)]),
    ("permute-tuple", lambda L, x: L.permute(x, (1, -1, 0)), lambda a: a.transpose(1, 2, 0),
     [(2, 3, 4)]),
    ("movedim", lambda L, x: x.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1), [(2, 3, 4)]),
    ("movedim-tuple", lambda L, x: L.movedim(x, (0, 1), (2, 0)),
     lambda a: np.moveaxis(a, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("expand", lambda L, x: x.expand(2, -1, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    ("expand-tuple", lambda L, x: x.expand((3, 2)), lambda a: np.broadcast_to(a, (3, 2)), [(1, 2)]),
    ("expand_as", lambda L, x, y: x.expand_as(y), lambda a, b: np.broadcast_to(a, b.shape),
     [(1, 3), (2, 3)]),
    ("repeat", lambda L, x: x.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)), [(2, 3)]),
    ("repeat-same", lambda L, x: x.repeat(2, 3), lambda a: np.tile(a, (2, 3)), [(2, 1)]),
    ("tile", lambda L, x: L.tile(x, (2,)), lambda a: np.tile(a, 2), [(2, 3)]),
    ("tile-method", lambda L, x: x.tile(2, 1, 1), lambda a: np.tile(a, (2, 1, 1)), [(2, 3)]),
    ("cat", lambda L, x, y: L.cat([x, y], 1), lambda a, b: np.concatenate([a, b], 1),
     [(2, 3), (2, 1)]),
    ("cat-3", lambda L, x, y, z: L.cat((x, y, z), dim=-1), lambda a, b, c: np.concatenate(
        [a, b, c], -1), [(2, 1), (2, 2), (2, 3)]),
    ("concat", lambda L, x, y: L.concat([x, y]), lambda a, b: np.concatenate([a, b]),
     [(1, 3), (2, 3)]),
    ("concatenate", lambda L, x, y: L.concatenate([x, y], 0), lambda a, b: np.concatenate(
        [a, b]), [(2,), (3,)]),
    ("stack", lambda L, x, y: L.stack([x, y]), lambda a, b: np.stack([a, b]), [(2, 3), (2, 3)]),
    ("stack-last", lambda L, x, y: L.stack([x, y], -1), lambda a, b: np.stack([a, b], -1),
     [(2, 3), (2, 3)]),
    ("hstack", lambda L, x, y: L.hstack([x, y]), lambda a, b: np.hstack([a, b]), [(2, 3), (2, 1)]),
    ("vstack", lambda L, x, y: L.vstack([x, y]), lambda a, b: np.vstack([a, b]), [(3,), (2, 3)]),
    ("split", lambda L, x: x.split(2, dim=1), lambda a: np.split(a, [2], 1), [(2, 3)]),
    ("split-sections", lambda L, x: L.split(x, [1, 0, 3], 1), lambda a: np.split(a, [1, 1], 1),
     [(2, 4)]),
    ("chunk", lambda L, x: x.chunk(3), lambda a: np.split(a, [2, 4]), [(5, 2)]),
    ("unbind", lambda L, x: x.unbind(1), lambda a: [a[:, i] for i in range(3)], [(2, 3)]),
    ("unbind-fn", lambda L, x: L.unbind(x), lambda a: list(a), [(2, 3)]),
    ("narrow", lambda L, x: x.narrow(1, 1, 2), lambda a: a[:, 1:3], [(2, 4)]),
    ("narrow-negative", lambda L, x: L.narrow(x, 0, -2, 2), lambda a: a[-2:], [(4, 2)]),
    ("select", lambda L, x: x.select(1, -1), lambda a: a[:, -1], [(2, 3)]),
    ("flip", lambda L, x: x.flip(0, 2), lambda a: a[::-1, :, ::-1], [(2, 3, 2)]),
    ("flip-tuple", lambda L, x: L.flip(x, (1,)), lambda a: a[:, ::-1], [(2, 3)]),
    ("roll", lambda L, x: x.roll(1, 0), lambda a: np.roll(a, 1, 0), [(3, 2)]),
    ("roll-dims", lambda L, x: L.roll(x, (1, -2), (0, 1)), lambda a: np.roll(a, (1, -2), (0, 1)),
     [(3, 4)]),
    ("roll-flat", lambda L, x: x.roll(2), lambda a: np.roll(a, 2), [(3, 2)]),
]

CASE_IDS = [case[0] for case in CASES]


def _run(op, lib, tensors):
    return _outputs(op(lib, *tensors))


@pytest.mark.parametrize("name, op, ref, shapes", CASES, ids=CASE_IDS)
def test_forward_matches_numpy(name, op, ref, shapes):
    arrays = [_array(s) for s in shapes]
    got = _run(op, dn, [dn.tensor(a) for a in arrays])
    want = _outputs(ref(*arrays))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype is dn.float64
        np.testing.assert_array_equal(g.numpy(), w)


@pytest.mark.parametrize("name, op, ref, shapes", CASES, ids=CASE_IDS)
def test_gradcheck(name, op, ref, shapes):
    inputs = tuple(dn.tensor(_array(s), requires_grad=True) for s in shapes)
    assert dn.autograd.gradcheck(lambda *xs: tuple(_run(op, dn, xs)), inputs)


@pytest.mark.parametrize("name, op, ref, shapes", CASES, ids=CASE_IDS)
def test_matches_torch_forward_and_backward(name, op, ref, shapes):
    torch = pytest.importorskip("torch")
    arrays = [_array(s) for s in shapes]
    ours = [dn.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_ours, out_theirs = _run(op, dn, ours), _run(op, torch, theirs)
    assert len(out_ours) == len(out_theirs)
    seeds = [_array(tuple(o.shape)) for o in out_theirs]
    for o, t in zip(out_ours, out_theirs):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    dn.autograd.backward(out_ours, [dn.tensor(s) for s in seeds])
    torch.autograd.backward(out_theirs, [torch.tensor(s) for s in seeds])
    for x, tx in zip(ours, theirs):
        if tx.grad is None:  # view_as's second input only lends its shape
            assert x.grad is None
        else:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def second_derivative_check(op, shapes):
    """gradcheck of d(sum(op(x) ** 3) / 3)/dx = op's backward applied to op(x) ** 2.

    The ops are linear, so the cube is what makes the first derivative depend on x: checking it
    differentiates through the op's backward (what create_graph=True records).
    """
    inputs = tuple(dn.tensor(_array(s), requires_grad=True) for s in shapes)

    def first_derivative(*xs):
        outs = _run(op, dn, xs)
        cubes = [o * o * o / 3 for o in outs]
        ones = [dn.ones(c.shape, dtype=c.dtype) for c in cubes]
        grads = dn.autograd.grad(cubes, xs, ones, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return dn.autograd.gradcheck(first_derivative, inputs)


@pytest.mark.parametrize("name", ["reshape-noncontiguous", "permute", "expand", "cat", "stack",
                                  "repeat", "split", "unbind", "flip", "roll-dims", "narrow"])
def test_second_derivatives(name):
    _, op, _, shapes = CASES[CASE_IDS.index(name)]
    assert second_derivative_check(op, shapes)


def test_cat_promotes_dtypes_and_keeps_int_inputs_out_of_the_graph():
    x = dn.tensor(_array((2, 2)).astype(np.float32), requires_grad=True)
    out = dn.cat([x, dn.arange(2).reshape(1, 2), dn.ones(1, 2, dtype=dn.float64)])
    assert out.dtype is dn.float64 and out.shape == (4, 2)
    np.testing.assert_array_equal(out.detach().numpy()[2], [0, 1])
    out.backward(dn.ones(4, 2, dtype=dn.float64))
    assert x.grad.dtype is dn.float32 and np.array_equal(x.grad.numpy(), np.ones((2, 2)))
    assert dn.stack([dn.tensor([1, 2]), dn.tensor([True, False])]).dtype is dn.int64


def test_cat_skips_legacy_empty_1d_tensors():
    x = dn.ones(2, 3)
    assert dn.cat([dn.tensor([]), x, dn.zeros(0)]).shape == (2, 3)


def test_split_and_chunk_sizes_match_torch():
    torch = pytest.importorskip("torch")
    for size in range(0, 8):
        for n in range(1, 5):
            ours = dn.arange(size).chunk(n)
            theirs = torch.arange(size).chunk(n)
            assert [tuple(p.shape) for p in ours] == [tuple(p.shape) for p in theirs]
            ours = dn.arange(size).split(n)
            theirs = torch.arange(size).split(n)
            assert [tuple(p.shape) for p in ours] == [tuple(p.shape) for p in theirs]


def test_unused_outputs_of_split_get_zero_gradients():
    x = dn.tensor(_array((4, 2)), requires_grad=True)
    a, b = x.split(2)
    b.backward(dn.ones(2, 2, dtype=dn.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [0, 0], [1, 1], [1, 1]])


def test_view_as_another_dtype_reinterprets_the_bytes():
    x = dn.tensor([1.0, -2.0])
    bits = x.view(dn.int32)
    assert bits.dtype is dn.int32 and bits.tolist() == np.array([1.0, -2.0], np.float32).view(
        np.int32).tolist()
    bits[0] = 0
    assert x.tolist() == [0.0, -2.0]
    with pytest.raises(RuntimeError, match="element sizes"):
        x.view(dn.float64)


def test_shape_ops_keep_every_dtype():
    for dtype in (dn.float16, dn.float32, dn.int32, dn.int64, dn.bool, dn.uint8):
        x = dn.zeros(2, 3, dtype=dtype)
        for out in (x.t(), x.reshape(3, 2), dn.cat([x, x]), dn.stack([x, x]), x.repeat(1, 2),
                    x.flip(0), x.roll(1), x.expand(2, 2, 3), x.split(1)[0]):
            assert out.dtype is dtype


def test_iterating_a_tensor_unbinds_it():
    rows = [r.tolist() for r in dn.arange(6).reshape(3, 2)]
    assert rows == [[0, 1], [2, 3], [4, 5]]


# --------------------------------------------------------------------------- views

# (name, op on a (2, 3, 4) tensor (or what the lambda makes of it)); every result is a view
VIEWS = [
    ("reshape", lambda L, x: x.reshape(6, 4)),
    ("view", lambda L, x: x.view(-1)),
    ("flatten", lambda L, x: x.flatten(1)),
    ("unflatten", lambda L, x: x.unflatten(2, (2, 2))),
    ("squeeze", lambda L, x: x[:1].squeeze(0)),
    ("unsqueeze", lambda L, x: x.unsqueeze(1)),
    ("transpose", lambda L, x: x.transpose(0, 1)),
    ("permute", lambda L, x: x.permute(2, 0, 1)),
    ("T", lambda L, x: x[0].T),
    ("t", lambda L, x: x[0].t()),
    ("movedim", lambda L, x: x.movedim(0, 2)),
    ("expand", lambda L, x: x[:, :1].expand(2, 5, 4)),
    ("narrow", lambda L, x: x.narrow(2, 1, 2)),
    ("select", lambda L, x: x.select(1, 2)),
    ("split", lambda L, x: x.split(1, 1)[1]),
    ("chunk", lambda L, x: x.chunk(2, 2)[1]),
    ("unbind", lambda L, x: x.unbind(2)[3]),
    ("reshape-of-transpose-view", lambda L, x: x.transpose(1, 2).reshape(2, 4, 3)),
]

COPIES = [
    ("reshape-noncontiguous", lambda L, x: x.transpose(1, 2).reshape(-1)),
    ("flatten-noncontiguous", lambda L, x: x.permute(2, 1, 0).flatten()),
    ("cat", lambda L, x: L.cat([x, x])),
    ("stack", lambda L, x: L.stack([x])),
    ("repeat", lambda L, x: x.repeat(1, 1, 1)),
    ("flip", lambda L, x: x.flip(0)),
    ("roll", lambda L, x: x.roll(1)),
]


@pytest.mark.parametrize("name, op", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_share_memory_and_version(name, op):
    x = dn.tensor(_array((2, 3, 4)))
    out = op(dn, x)
    assert np.shares_memory(out.numpy(), x.numpy())
    assert out._version is x._version
    before = out._version.value
    x.add_(1.0)  # a change through the base shows in the view, with the shared version
    assert out._version.value == before + 1
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.numpy())
    assert op(torch, tx)._is_view()
    np.testing.assert_array_equal(out.numpy(), op(torch, tx).numpy())


@pytest.mark.parametrize("name, op", COPIES, ids=[c[0] for c in COPIES])
def test_copies_do_not_share_memory(name, op):
    x = dn.tensor(_array((2, 3, 4)))
    out = op(dn, x)
    assert not np.shares_memory(out.numpy(), x.numpy())
    assert out._version is not x._version
    torch = pytest.importorskip("torch")
    assert not op(torch, torch.tensor(x.numpy()))._is_view()


def test_writing_into_a_view_changes_the_base():
    x = dn.zeros(2, 3)
    v = x.view(6)
    v[2] = 5.0
    assert x[0, 2].item() == 5.0 and x._version.value == 1
    x.t()[1].fill_(7.0)
    np.testing.assert_array_equal(x.numpy(), [[0, 7, 5], [0, 7, 0]])


def test_view_of_a_noncontiguous_tensor_raises_and_reshape_copies():
    x = dn.arange(6.0).reshape(2, 3).t()
    with pytest.raises(RuntimeError, match="reshape"):
        x.view(6)
    y = x.reshape(6)
    assert y.tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    assert not np.shares_memory(y.numpy(), x.numpy())
    assert x.view(3, 1, 2).shape == (3, 1, 2)  # splitting and adding size-1 dims is still a view


def test_from_numpy_memory_is_shared_through_views():
    array = np.zeros((2, 3))
    dn.from_numpy(array).t()[0, 1] = 4.0
    assert array[1, 0] == 4.0


@pytest.mark.parametrize("name, change", [
    ("transpose-mul_", lambda y: y.t().mul_(2)),
    ("view-slice-zero_", lambda y: y.view(-1)[1:4].zero_()),
    ("unsqueeze-add_", lambda y: y.unsqueeze(0).add_(1.5)),
    ("narrow-copy_", lambda y: y.narrow(1, 0, 2).copy_(y.narrow(1, 2, 2).detach() * 3)),
    ("chunk-mul_", lambda y: y.chunk(2)[1].mul_(-1)),
])
def test_inplace_through_views_under_autograd_matches_torch(name, change):
    torch = pytest.importorskip("torch")
    array, seed = _array((4, 4)), _array((4, 4))
    x, tx = dn.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    y, ty = x * 2, tx * 2
    change(y)
    if name == "chunk-mul_":  # torch refuses in-place on one of several output views
        ty = ty.clone()
        ty[2:].mul_(-1)
    else:
        change(ty)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    y.backward(dn.tensor(seed))
    ty.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_inplace_on_a_view_of_a_leaf_requiring_grad_raises():
    x = dn.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.t().mul_(2)
    with dn.no_grad():
        x.view(-1)[0] = 4.0
    assert x[0, 0].item() == 4.0


def test_modifying_a_saved_view_input_is_detected():
    x = dn.tensor(_array((2, 3)), requires_grad=True)
    y = x * 1
    out = y.t() * y.t()  # Mul saves the transposed views of y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.backward(dn.ones(3, 2, dtype=dn.float64))


# --------------------------------------------------------------------------- properties

if given is not None:
    _dims = st.lists(st.integers(0, 3), min_size=1, max_size=4)

    @settings(max_examples=60, deadline=None)
    @given(shape=_dims, data=st.data())
    def test_cat_and_stack_match_numpy(shape, data):
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        widths = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
        arrays = []
        for w in widths:
            s = list(shape)
            s[dim] = w
            arrays.append(RNG.standard_normal(s))
        got = dn.cat([dn.tensor(a) for a in arrays], dim)
        np.testing.assert_array_equal(got.numpy(), np.concatenate(arrays, dim))
        same = [RNG.standard_normal(shape) for _ in widths]
        stack_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
        np.testing.assert_array_equal(dn.stack([dn.tensor(a) for a in same], stack_dim).numpy(),
                                      np.stack(same, stack_dim))

    @settings(max_examples=60, deadline=None)
    @given(first=_dims, second=_dims, dim=st.integers(0, 3))
    def test_cat_and_stack_refuse_mismatched_shapes(first, second, dim):
        a, b = dn.zeros(*first), dn.zeros(*second)
        if (0,) in (tuple(first), tuple(second)):
            return  # legacy: a 1-D empty tensor is skipped by cat, whatever its partner
        cat_ok = len(first) == len(second) and all(
            x == y for i, (x, y) in enumerate(zip(first, second)) if i != dim)
        if dim >= len(first):
            with pytest.raises(IndexError, match="cat: dimension out of range"):
                dn.cat([a, b], dim)
        elif cat_ok:
            assert dn.cat([a, b], dim).shape[dim] == first[dim] + second[dim]
        else:
            with pytest.raises(RuntimeError, match=r"cat: .*dim %d, got shapes \[" % dim):
                dn.cat([a, b], dim)
        if tuple(first) != tuple(second):
            with pytest.raises(RuntimeError, match="stack"):
                dn.stack([a, b])

    @settings(max_examples=60, deadline=None)
    @given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=4), data=st.data())
    def test_view_is_possible_exactly_where_torch_allows_it(shape, data):
        torch = pytest.importorskip("torch")
        array = np.arange(float(np.prod(shape))).reshape(shape)
        order = data.draw(st.permutations(range(len(shape))))
        steps = tuple(slice(None, None, data.draw(st.integers(1, 2))) for _ in shape)
        x, tx = dn.tensor(array).permute(*order)[steps], torch.tensor(array).permute(*order)[steps]
        n = x.numel()
        rows = data.draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
        for target in [(n,), (rows, n // rows), (n // rows, 1, rows)]:
            try:
                theirs = tx.view(*target)
            except RuntimeError:
                with pytest.raises(RuntimeError, match="view"):
                    x.view(*target)
            else:
                np.testing.assert_array_equal(x.view(*target).numpy(), theirs.numpy())

    @settings(max_examples=60, deadline=None)
    @given(shape=_dims, data=st.data())
    def test_reshape_round_trips_any_layout(shape, data):
        array = RNG.standard_normal(shape)
        order = data.draw(st.permutations(range(len(shape))))
        x = dn.tensor(array).permute(*order)
        flat = x.reshape(-1)
        np.testing.assert_array_equal(flat.numpy(), array.transpose(order).reshape(-1))
        if np.shares_memory(flat.numpy(), x.numpy()):
            assert np.array_equal(x.view(-1).numpy(), flat.numpy())


# --------------------------------------------------------------------------- bad inputs

# (name, call(lib), the exception class torch raises)
BAD = [
    ("view-size", lambda L: L.zeros(2, 3).view(5), RuntimeError),
    ("view-two-inferred", lambda L: L.zeros(2, 3).view(-1, -1), RuntimeError),
    ("view-noncontiguous", lambda L: L.zeros(2, 3).t().view(6), RuntimeError),
    ("view-float-size", lambda L: L.zeros(2, 3).view(2, 3.0), TypeError),
    ("view_as", lambda L: L.zeros(2, 3).view_as(L.zeros(4)), RuntimeError),
    ("reshape-size", lambda L: L.reshape(L.zeros(2, 3), (4, -1)), RuntimeError),
    ("reshape-negative", lambda L: L.zeros(2, 3).reshape(-2, 3), RuntimeError),
    ("reshape-empty-ambiguous", lambda L: L.zeros(0, 3).reshape(0, -1), RuntimeError),
    ("reshape_as", lambda L: L.zeros(2, 3).reshape_as(L.zeros(5)), RuntimeError),
    ("ravel-not-tensor", lambda L: L.ravel([1, 2]), TypeError),
    ("flatten-order", lambda L: L.zeros(2, 3).flatten(1, 0), RuntimeError),
    ("flatten-dim", lambda L: L.flatten(L.zeros(2, 3), 2), IndexError),
    ("unflatten", lambda L: L.zeros(2, 3).unflatten(1, (2, 2)), RuntimeError),
    ("squeeze-dim", lambda L: L.zeros(2, 3).squeeze(3), IndexError),
    ("unsqueeze-dim", lambda L: L.unsqueeze(L.zeros(2, 3), 4), IndexError),
    ("transpose-dim", lambda L: L.zeros(2, 3).transpose(0, 2), IndexError),
    ("swapaxes-dim", lambda L: L.swapaxes(L.zeros(2, 3), 0, -3), IndexError),
    ("swapdims-dim", lambda L: L.swapdims(L.zeros(2), 0, 1), IndexError),
    ("t-3d", lambda L: L.zeros(2, 3, 4).t(), RuntimeError),
    ("permute-length", lambda L: L.zeros(2, 3).permute(0), RuntimeError),
    ("permute-duplicate", lambda L: L.permute(L.zeros(2, 3), (0, 0)), RuntimeError),
    ("movedim-dim", lambda L: L.zeros(2, 3).movedim(0, 5), IndexError),
    ("moveaxis-duplicate", lambda L: L.moveaxis(L.zeros(2, 3), (0, 0), (0, 1)), RuntimeError),
    ("expand-fewer", lambda L: L.zeros(2, 3).expand(3), RuntimeError),
    ("expand-size", lambda L: L.zeros(2, 3).expand(3, 3), RuntimeError),
    ("expand-new-inferred", lambda L: L.zeros(2, 3).expand(-1, 2, 3), RuntimeError),
    ("expand_as", lambda L: L.zeros(2, 3).expand_as(L.zeros(3, 3)), RuntimeError),
    ("repeat-fewer", lambda L: L.zeros(2, 3).repeat(2), RuntimeError),
    ("tile-float", lambda L: L.tile(L.zeros(2), (2.0,)), TypeError),
    ("cat-empty", lambda L: L.cat([]), ValueError),
    ("cat-shapes", lambda L: L.cat([L.zeros(2, 3), L.zeros(3, 2)]), RuntimeError),
    ("cat-ndim", lambda L: L.cat([L.zeros(2, 3), L.zeros(3)]), RuntimeError),
    ("cat-ndim-last-dim", lambda L: L.cat([L.zeros(2, 3), L.zeros(2)], 1), RuntimeError),
    ("cat-not-tensor", lambda L: L.cat([L.zeros(2), 1]), TypeError),
    ("cat-0d", lambda L: L.cat([L.zeros(()), L.zeros(())]), RuntimeError),
    ("cat-dim", lambda L: L.cat([L.zeros(2), L.zeros(2)], 1), IndexError),
    ("concat-shapes", lambda L: L.concat([L.zeros(2, 3), L.zeros(3, 2)], 1), RuntimeError),
    ("concatenate-empty", lambda L: L.concatenate([]), ValueError),
    ("stack-shapes", lambda L: L.stack([L.zeros(2, 3), L.zeros(3, 2)]), RuntimeError),
    ("stack-empty", lambda L: L.stack([]), RuntimeError),
    ("stack-dim", lambda L: L.stack([L.zeros(2)], 3), IndexError),
    ("hstack-shapes", lambda L: L.hstack([L.zeros(2, 3), L.zeros(3, 3)]), RuntimeError),
    ("vstack-shapes", lambda L: L.vstack([L.zeros(2, 3), L.zeros(2)]), RuntimeError),
    ("split-zero", lambda L: L.zeros(2).split(0), RuntimeError),
    ("split-sections", lambda L: L.split(L.zeros(4), [1, 2]), RuntimeError),
    ("chunk-zero", lambda L: L.chunk(L.zeros(4), 0), RuntimeError),
    ("unbind-dim", lambda L: L.zeros(2, 3).unbind(2), IndexError),
    ("narrow-start", lambda L: L.zeros(2, 3).narrow(0, 6, 1), IndexError),
    ("narrow-length", lambda L: L.narrow(L.zeros(2, 3), 1, 1, 4), RuntimeError),
    ("select-index", lambda L: L.zeros(2, 3).select(1, 3), IndexError),
    ("flip-dim", lambda L: L.zeros(2, 3).flip(2), IndexError),
    ("roll-lengths", lambda L: L.roll(L.zeros(2, 3), (1, 2), 0), RuntimeError),
]


@pytest.mark.parametrize("name, call, exc", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_like_torch(name, call, exc):
    with pytest.raises(exc) as info:
        call(dn)
    assert str(info.value).split(":")[0].strip()  # a message, naming the op
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        call(torch)
    assert isinstance(info.value, type(theirs.value)), (type(info.value), type(theirs.value))


def test_shape_errors_name_the_op_and_every_shape():
    with pytest.raises(RuntimeError, match=r"view: shape \[2, 5\] is invalid for an input of "
                                           r"shape \[2, 3\] \(6 elements\)"):
        dn.zeros(2, 3).view(2, 5)
    with pytest.raises(RuntimeError, match=r"cat: .* dim 0, got shapes \[2, 3\], \[2, 2\]"):
        dn.cat([dn.zeros(2, 3), dn.zeros(2, 2)])


def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(shape_ops, "shape_ops", globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
