"""The matmul family: matmul/@, mm, bmm, mv, dot, vdot, outer, addmm, baddbmm, einsum.

Each op is a row of a table: forward against NumPy, a float64 gradient check, a second-
derivative check, and forward + backward against torch where it is installed.
"""
import doctest

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.matmul import ops as matmul_ops

RNG = np.random.default_rng(0)


def _array(shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def _leaf(array, requires_grad=True):
    return dn.tensor(array, requires_grad=requires_grad)


def _second_derivative_check(fn, inputs):
    """gradcheck of d(sum(fn(*inputs) * seed))/d(inputs), built with create_graph=True.

    The seed is random so that the check also covers the gradient's dependence on it.
    """
    with dn.no_grad():
        seed = dn.tensor(_array(tuple(fn(*inputs).shape)))

    def first_derivative(*args):
        with dn.enable_grad():
            out = fn(*args)
            grads = dn.autograd.grad(out, args, seed, create_graph=True)
        # a gradient that does not depend on the inputs (addmm's for its bias) has no graph:
        # its derivative is zero, and gradcheck compares only outputs that have one
        return tuple(g for g in grads if g.requires_grad)

    return dn.autograd.gradcheck(first_derivative, inputs)


# --------------------------------------------------------------------------- the table

MATMUL_SHAPES = [  # (a, b): every rank combination NumPy / torch define
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast: (2, 1) with (5,)
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((4, 2, 3), (3, 5)),  # a batch of rows times one matrix (a Linear layer)
    ((3, 4), (2, 4, 5)),
    ((1, 2, 3), (4, 3, 2)),
    ((2, 0, 3), (3, 4)),  # empty
    ((2, 0), (0, 3)),  # empty inner dim: zeros
]

# (name, dualnet function, torch function name, operand shapes, extra keyword arguments)
OPS = [
    ("mm", dn.mm, "mm", ((2, 3), (3, 4)), {}),
    ("bmm", dn.bmm, "bmm", ((3, 2, 4), (3, 4, 5)), {}),
    ("mv", dn.mv, "mv", ((3, 4), (4,)), {}),
    ("dot", dn.dot, "dot", ((5,), (5,)), {}),
    ("vdot", dn.vdot, "vdot", ((5,), (5,)), {}),
    ("outer", dn.outer, "outer", ((3,), (4,)), {}),
    ("addmm", dn.addmm, "addmm", ((4,), (2, 3), (3, 4)), {}),
    ("addmm-scaled", dn.addmm, "addmm", ((2, 4), (2, 3), (3, 4)), {"beta": 0.5, "alpha": -2.0}),
    ("addmm-beta0", dn.addmm, "addmm", ((1, 4), (2, 3), (3, 4)), {"beta": 0.0}),
    ("baddbmm", dn.baddbmm, "baddbmm", ((1, 2, 4), (3, 2, 5), (3, 5, 4)), {"alpha": 1.5}),
]

EINSUM_CASES = [  # (equation, operand shapes)
    ("ij,jk->ik", ((2, 3), (3, 4))),
    ("ij,jk", ((2, 3), (3, 4))),
    ("bij,bjk->bik", ((2, 2, 3), (2, 3, 4))),
    ("bhqd,bhkd->bhqk", ((2, 2, 3, 4), (2, 2, 5, 4))),
    ("ij->ji", ((2, 3),)),
    ("ba", ((2, 3),)),  # implicit output 'ab': a transpose
    ("ij->", ((2, 3),)),
    ("ij->j", ((2, 3),)),
    ("i,j->ij", ((3,), (4,))),
    ("i,i->", ((4,), (4,))),
    ("ii->i", ((3, 3),)),
    ("ii,ij->j", ((3, 3), (3, 2))),
    ("ii", ((3, 3),)),
    ("iij->ij", ((3, 3, 2),)),
    ("ijk,jl->il", ((2, 3, 4), (3, 5))),  # k summed by the first operand alone
    ("ij,ij->ij", ((1, 3), (2, 3))),  # size-1 dim broadcast
    ("...ij,...jk->...ik", ((2, 1, 3, 4), (5, 4, 2))),
    ("...ij,...jk", ((2, 1, 3, 4), (5, 4, 2))),
    ("b...,b...->b", ((2, 3, 4), (2, 3, 4))),
    ("ab,bc,cd->ad", ((2, 3), (3, 4), (4, 2))),
    ("Ab,bC->AC", ((2, 3), (3, 4))),
]


# NumPy refuses an output without '...' when the inputs have one; torch sums those dims
_NUMPY_SPELLING = {"b...,b...->b": "bxy,bxy->b"}


def _np_einsum(eq, *arrays):
    return np.einsum(_NUMPY_SPELLING.get(eq, eq), *arrays)


# --------------------------------------------------------------------------- forward vs NumPy

@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_forward_matches_numpy(sa, sb):
    a, b = _array(sa), _array(sb)
    out = dn.matmul(dn.tensor(a), dn.tensor(b))
    expected = np.matmul(a, b)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((dn.tensor(a) @ dn.tensor(b)).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
def test_matmul_dtypes(dtype):
    a = (RNG.integers(-3, 4, (3, 4))).astype(dtype)
    b = (RNG.integers(-3, 4, (4, 2))).astype(dtype)
    out = dn.from_numpy(a) @ dn.from_numpy(b)
    assert out.dtype.np == np.dtype(dtype)
    np.testing.assert_array_equal(out.numpy(), a @ b)


def test_matmul_non_contiguous_inputs():
    base_a, base_b = _array((4, 3)), _array((5, 4, 6))
    a = base_a.T  # (3, 4), Fortran order
    b = base_b[::2, :, ::3]  # (3, 4, 2), strided
    out = dn.from_numpy(a) @ dn.from_numpy(b)
    np.testing.assert_allclose(out.numpy(), np.matmul(a, b), rtol=1e-12)


def test_numpy_array_operand():
    a = _array((2, 3))
    b = dn.tensor(_array((3, 2)))
    np.testing.assert_allclose((a @ b).numpy(), a @ b.numpy(), rtol=1e-12)
    np.testing.assert_allclose((b @ a).numpy(), b.numpy() @ a, rtol=1e-12)


@pytest.mark.parametrize("name, fn, torch_name, shapes, kwargs", OPS, ids=[o[0] for o in OPS])
def test_op_forward_matches_numpy(name, fn, torch_name, shapes, kwargs):
    arrays = [_array(s) for s in shapes]
    out = fn(*(dn.tensor(a) for a in arrays), **kwargs)
    if torch_name in ("addmm", "baddbmm"):
        product = arrays[1] @ arrays[2]
        expected = kwargs.get("beta", 1) * arrays[0] + kwargs.get("alpha", 1) * product
    elif torch_name == "outer":
        expected = np.outer(*arrays)
    else:
        expected = np.matmul(*arrays)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eq, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_forward_matches_numpy(eq, shapes):
    arrays = [_array(s) for s in shapes]
    out = dn.einsum(eq, *(dn.tensor(a) for a in arrays))
    expected = _np_einsum(eq, *arrays)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_einsum_list_and_sublist_forms():
    a, b = _array((2, 3)), _array((3, 4))
    ta, tb = dn.tensor(a), dn.tensor(b)
    expected = a @ b
    np.testing.assert_allclose(dn.einsum("ij,jk->ik", [ta, tb]).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(dn.einsum(ta, [0, 1], tb, [1, 2], [0, 2]).numpy(), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(dn.einsum(ta, [0, 1], tb, [1, 2]).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(dn.einsum(ta, [Ellipsis, 1], [1, Ellipsis]).numpy(), a.T,
                               rtol=1e-12)


# --------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("sa, sb", [s for s in MATMUL_SHAPES if 0 not in s[0] + s[1]])
def test_matmul_gradcheck(sa, sb):
    a, b = _leaf(_array(sa)), _leaf(_array(sb))
    assert dn.autograd.gradcheck(dn.matmul, (a, b))


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 2)),
                                    ((2, 1, 2, 3), (3, 3, 2)), ((3, 2, 3), (3, 2))])
def test_matmul_second_derivatives(sa, sb):
    a, b = _leaf(_array(sa)), _leaf(_array(sb))
    assert _second_derivative_check(dn.matmul, (a, b))


def test_matmul_gradient_of_one_operand_only():
    a, b = _leaf(_array((2, 3))), _leaf(_array((3, 4)), requires_grad=False)
    (a @ b).backward(dn.ones(2, 4, dtype=dn.float64))
    np.testing.assert_allclose(a.grad.numpy(), np.ones((2, 4)) @ b.numpy().T, rtol=1e-12)
    assert b.grad is None


def test_matmul_empty_gradients():
    a, b = _leaf(_array((2, 0))), _leaf(_array((0, 3)))
    (a @ b).backward(dn.ones(2, 3, dtype=dn.float64))
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)


@pytest.mark.parametrize("name, fn, torch_name, shapes, kwargs", OPS, ids=[o[0] for o in OPS])
def test_op_gradcheck(name, fn, torch_name, shapes, kwargs):
    inputs = tuple(_leaf(_array(s)) for s in shapes)
    assert dn.autograd.gradcheck(lambda *xs: fn(*xs, **kwargs), inputs)


@pytest.mark.parametrize("name, fn, torch_name, shapes, kwargs", OPS, ids=[o[0] for o in OPS])
def test_op_second_derivatives(name, fn, torch_name, shapes, kwargs):
    inputs = tuple(_leaf(_array(s)) for s in shapes)
    assert _second_derivative_check(lambda *xs: fn(*xs, **kwargs), inputs)


@pytest.mark.parametrize("eq, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_gradcheck(eq, shapes):
    inputs = tuple(_leaf(_array(s)) for s in shapes)
    assert dn.autograd.gradcheck(lambda *xs: dn.einsum(eq, *xs), inputs)


@pytest.mark.parametrize("eq, shapes", [("ij,jk->ik", ((2, 3), (3, 2))),
                                        ("ii,ij->j", ((3, 3), (3, 2))),
                                        ("ijk,jl->il", ((2, 3, 2), (3, 2))),
                                        ("ij,ij->ij", ((1, 3), (2, 3)))])
def test_einsum_second_derivatives(eq, shapes):
    inputs = tuple(_leaf(_array(s)) for s in shapes)
    assert _second_derivative_check(lambda *xs: dn.einsum(eq, *xs), inputs)


def test_same_tensor_twice():
    a = _leaf(_array((3, 3)))
    (a @ a).backward(dn.ones(3, 3, dtype=dn.float64))
    g = np.ones((3, 3))
    x = a.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), g @ x.T + x.T @ g, rtol=1e-12)


def test_grad_fn_names_the_op():
    a, b = _leaf(_array((2, 3))), _leaf(_array((3, 2)))
    assert "Mm" in repr(dn.mm(a, b).grad_fn)
    assert "Matmul" in repr((a @ b).grad_fn)


def test_no_graph_without_requires_grad():
    out = dn.tensor(_array((2, 3))) @ dn.tensor(_array((3, 2)))
    assert out.grad_fn is None and not out.requires_grad
    a = _leaf(_array((2, 3)))
    with dn.no_grad():
        assert (a @ dn.tensor(_array((3, 2)))).grad_fn is None


def test_in_place_change_of_saved_operand_is_an_error():
    a, b = _leaf(_array((2, 3))), dn.tensor(_array((3, 2)))
    out = a @ b
    b.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.backward(dn.ones(2, 2, dtype=dn.float64))


# --------------------------------------------------------------------------- torch parity

def _torch_check(torch, dn_fn, torch_fn, arrays, dtype, rtol, atol):
    dn_in = [dn.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, t_out = dn_fn(*dn_in), torch_fn(*t_in)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    seed = _array(tuple(t_out.shape)).astype(dtype)
    out.backward(dn.tensor(seed))
    t_out.backward(torch.tensor(seed))
    for x, t in zip(dn_in, t_in):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


TOLERANCES = [(np.float32, 1e-5, 1e-5), (np.float64, 1e-10, 1e-12)]


@pytest.mark.parity
@pytest.mark.parametrize("dtype, rtol, atol", TOLERANCES, ids=["float32", "float64"])
@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_matches_torch(sa, sb, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    _torch_check(torch, dn.matmul, torch.matmul, [_array(sa), _array(sb)], dtype, rtol, atol)


@pytest.mark.parity
@pytest.mark.parametrize("dtype, rtol, atol", TOLERANCES, ids=["float32", "float64"])
@pytest.mark.parametrize("name, fn, torch_name, shapes, kwargs", OPS, ids=[o[0] for o in OPS])
def test_op_matches_torch(name, fn, torch_name, shapes, kwargs, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    torch_fn = getattr(torch, torch_name)
    _torch_check(torch, lambda *xs: fn(*xs, **kwargs), lambda *xs: torch_fn(*xs, **kwargs),
                 [_array(s) for s in shapes], dtype, rtol, atol)


@pytest.mark.parity
@pytest.mark.parametrize("dtype, rtol, atol", TOLERANCES, ids=["float32", "float64"])
@pytest.mark.parametrize("eq, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_torch(eq, shapes, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    _torch_check(torch, lambda *xs: dn.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs),
                 [_array(s) for s in shapes], dtype, rtol, atol)


@pytest.mark.parity
def test_non_contiguous_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = _array((4, 3)).T, _array((2, 5, 4))[:, ::2, :].transpose(0, 2, 1)  # (3, 4), (2, 4, 3)
    out = dn.from_numpy(a) @ dn.from_numpy(b)
    np.testing.assert_allclose(out.numpy(), (torch.from_numpy(a) @ torch.from_numpy(b)).numpy(),
                               rtol=1e-10)


# --------------------------------------------------------------------------- bad inputs

def _t(*shape, dtype=dn.float32):
    return dn.ones(*shape, dtype=dtype)


BAD_INPUTS = [  # (call, exception, message pattern)
    (lambda: dn.matmul(_t(), _t(2, 3)), RuntimeError, r"at least 1-D.*\[\] and \[2, 3\]"),
    (lambda: _t(2, 3) @ _t(4, 5), RuntimeError, r"matmul: .*cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: _t(3) @ _t(4, 5), RuntimeError, r"cannot be multiplied \(3 and 4x5\)"),
    (lambda: _t(2, 3) @ _t(3, dtype=dn.float64), RuntimeError,
     r"matmul: expected both operands to have the same dtype, got float32 and float64"),
    (lambda: _t(2, 2, 3) @ _t(3, 3, 2), RuntimeError, r"batch dims .*\[2, 2, 3\] and \[3, 3, 2\]"),
    (lambda: dn.matmul(_t(2, 2), [[1.0]]), TypeError, r"matmul: expected two Tensors"),
    (lambda: _t(2, 2) @ 3, TypeError, r"@"),
    (lambda: dn.mm(_t(2, 3), _t(4, 5)), RuntimeError,
     r"mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: dn.mm(_t(2, 2, 3), _t(3, 5)), RuntimeError, r"mm: expected a 2-D mat1.*\[2, 2, 3\]"),
    (lambda: dn.mm(_t(2, 3), _t(3, 4, dtype=dn.float64)), RuntimeError, r"mm: .*same dtype"),
    (lambda: dn.bmm(_t(2, 2, 3), _t(3, 3, 4)), RuntimeError, r"bmm: .*same batch size"),
    (lambda: dn.bmm(_t(2, 3), _t(3, 4)), RuntimeError, r"bmm: expected a 3-D batch1"),
    (lambda: dn.bmm(_t(2, 2, 3), _t(2, 4, 4)), RuntimeError, r"bmm: .*\(2x2x3 and 2x4x4\)"),
    (lambda: dn.mv(_t(2, 3), _t(4)), RuntimeError, r"mv: .*\(2x3 and 4\)"),
    (lambda: dn.mv(_t(2, 3), _t(3, 1)), RuntimeError, r"mv: expected a 2-D matrix and a 1-D"),
    (lambda: dn.dot(_t(3), _t(4)), RuntimeError, r"dot: .*\[3\] and \[4\]"),
    (lambda: dn.dot(_t(3, 1), _t(3)), RuntimeError, r"dot: expected a 1-D"),
    (lambda: dn.vdot(_t(3), _t(3, dtype=dn.int64)), RuntimeError, r"same dtype"),
    (lambda: dn.outer(_t(3, 1), _t(2)), RuntimeError, r"outer: expected two 1-D.*\[3, 1\]"),
    (lambda: dn.addmm(_t(3), _t(2, 3), _t(3, 4)), RuntimeError,
     r"addmm: input of shape \[3\] can't be broadcast to the product's shape \[2, 4\]"),
    (lambda: dn.addmm(_t(4), _t(2, 3), _t(2, 4)), RuntimeError, r"addmm: .*\(2x3 and 2x4\)"),
    (lambda: dn.addmm(_t(4, dtype=dn.int64), _t(2, 3, dtype=dn.int64), _t(3, 4, dtype=dn.int64),
                      alpha=0.5), RuntimeError, r"addmm: beta and alpha must be integers"),
    (lambda: dn.baddbmm(_t(2, 5, 4), _t(3, 2, 5), _t(3, 5, 4)), RuntimeError,
     r"baddbmm: input of shape \[2, 5, 4\]"),
    (lambda: dn.einsum("ij,jk->ik", _t(2, 3)), RuntimeError, r"names 2 operand\(s\) but 1"),
    (lambda: dn.einsum("ij,jk->ik", _t(2, 3), _t(4, 5)), RuntimeError,
     r"subscript 'j' .*size 3 .* and 4"),
    (lambda: dn.einsum("ijk->i", _t(2, 3)), RuntimeError, r"operand 0 has 2 dims"),
    (lambda: dn.einsum("ij->ix", _t(2, 3)), RuntimeError, r"output subscript 'x'"),
    (lambda: dn.einsum("ij->ii", _t(2, 3)), RuntimeError, r"more than once"),
    (lambda: dn.einsum("i1->i", _t(2, 3)), RuntimeError, r"invalid subscript"),
    (lambda: dn.einsum("ii->i", _t(2, 3)), RuntimeError, r"repeats in operand 0"),
    (lambda: dn.einsum("i.j->i", _t(2, 3)), RuntimeError, r"'...'"),
    (lambda: dn.einsum("ij,jk", _t(2, 3), _t(3, 4, dtype=dn.float64)), RuntimeError, r"same dtype"),
    (lambda: dn.einsum("ij", [[1.0]]), TypeError, r"operand 0 must be a Tensor"),
    (lambda: dn.einsum(_t(2), [0.5]), ValueError, r"sublist subscripts"),
]


@pytest.mark.parametrize("call, exc, pattern", BAD_INPUTS)
def test_bad_inputs(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# --------------------------------------------------------------------------- methods, docs

def test_tensor_methods():
    a, b = dn.tensor(_array((2, 3))), dn.tensor(_array((3, 2)))
    v = dn.tensor(_array(3))
    np.testing.assert_allclose(a.matmul(b).numpy(), a.numpy() @ b.numpy())
    np.testing.assert_allclose(a.mm(b).numpy(), a.numpy() @ b.numpy())
    np.testing.assert_allclose(a.mv(v).numpy(), a.numpy() @ v.numpy())
    np.testing.assert_allclose(v.dot(v).numpy(), v.numpy() @ v.numpy())
    np.testing.assert_allclose(v.outer(v).numpy(), np.outer(v.numpy(), v.numpy()))
    c = dn.tensor(_array((2, 2, 3)))
    np.testing.assert_allclose(c.bmm(dn.tensor(_array((2, 3, 1)))).shape, (2, 2, 1))
    np.testing.assert_allclose(dn.tensor(_array(2)).addmm(a, b).shape, (2, 2))


@pytest.mark.parametrize("module", [matmul_ops])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------- linear (F.linear)

LINEAR_SHAPES = [((2, 3), (4, 3), (4,)), ((5, 2, 3), (4, 3), (4,)), ((2, 3), (4, 3), None),
                 ((3,), (4, 3), (4,)), ((2, 3), (4, 3), ())]


@pytest.mark.parametrize("shapes", LINEAR_SHAPES)
def test_linear_forward_and_gradcheck(shapes):
    from dualnet.nn import functional as F
    arrays = [_array(s) for s in shapes if s is not None]
    expected = arrays[0] @ arrays[1].T + (arrays[2] if len(arrays) == 3 else 0)
    leaves = [_leaf(a) for a in arrays]
    np.testing.assert_allclose(F.linear(*leaves).detach().numpy(), expected, rtol=1e-12)
    assert dn.autograd.gradcheck(F.linear, tuple(leaves))
    assert _second_derivative_check(F.linear, tuple(leaves))


@pytest.mark.parametrize("shapes", LINEAR_SHAPES)
def test_linear_matches_torch(shapes):
    torch = pytest.importorskip("torch")
    from dualnet.nn import functional as F
    arrays = [_array(s, np.float32) for s in shapes if s is not None]
    ours = [_leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = F.linear(*ours), torch.nn.functional.linear(*theirs)
    seed = _array(tuple(out.shape), np.float32)
    out.backward(dn.tensor(seed))
    expected.backward(torch.tensor(seed))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_linear_bad_inputs_name_the_op_and_shapes():
    from dualnet.nn import functional as F
    with pytest.raises(RuntimeError, match=r"linear: input of shape \[2, 5\].*\[4, 3\]"):
        F.linear(dn.ones(2, 5), dn.ones(4, 3))
    with pytest.raises(TypeError, match="linear"):
        F.linear(np.ones((2, 3)), dn.ones(4, 3))
