"""Elementwise ops, each one row of a table (STYLE.md 18).

Generic tests run every row: forward against the NumPy references of tests/naive.py in float32
and float64 (also broadcast, non-contiguous and with scalar operands), a float64 gradcheck for
each differentiable row, gradgradcheck on a sample, and forward + backward against torch where
it is installed. Then in-place ops, integer arithmetic and NaN / inf handling.
"""
from typing import Callable, NamedTuple

import naive
import numpy as np
import pytest

import dualnet as dn

# ----------------------------------------------------------------------------- input domains
# Each takes (rng, shape, NumPy dtype) and returns an array where the op is smooth enough for
# finite differences (away from kinks, poles and the ends of the domain).


def normal(rng, shape, dtype):
    return np.asarray(rng.standard_normal(shape)).astype(dtype)


def positive(rng, shape, dtype):
    return np.asarray(rng.uniform(0.5, 2.0, shape)).astype(dtype)


def nonzero(rng, shape, dtype):
    return np.asarray(rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)).astype(dtype)


def unit(rng, shape, dtype):
    return np.asarray(rng.uniform(-0.9, 0.9, shape)).astype(dtype)


def small_ints(rng, shape, dtype):
    """Few distinct values, so comparisons meet ties."""
    return np.asarray(rng.integers(-2, 3, shape)).astype(dtype)


def off_integers(rng, shape, dtype):
    """Away from integers and halves (floor, round...: piecewise constant, ties to even)."""
    return np.asarray(rng.integers(-3, 4, shape) + rng.choice([-0.3, -0.2, 0.2, 0.3], shape)
                      ).astype(dtype)


# ----------------------------------------------------------------------------- the table


class Op(NamedTuple):
    name: str
    call: Callable  # call(module, *inputs): one line that runs on dualnet and on torch
    ref: Callable  # the NumPy reference, on arrays
    domains: tuple  # one input generator per operand
    grad: bool = True  # differentiable: gradcheck and torch backward parity
    out: str = "same"  # result dtype: "same" as the inputs, or "bool"
    torch: bool = True  # torch spells it the same way


def unary(name, ref, domain=normal, **kw):
    return Op(name, lambda m, x: getattr(m, name)(x), ref, (domain,), **kw)


def binary(name, ref, domains=(normal, normal), **kw):
    return Op(name, lambda m, a, b: getattr(m, name)(a, b), ref, domains, **kw)


UNARY = [
    unary("neg", np.negative),
    unary("negative", np.negative),
    unary("abs", np.abs, nonzero),
    unary("absolute", np.abs, nonzero),
    unary("sign", np.sign, nonzero),
    unary("square", naive.square),
    unary("exp", np.exp),
    unary("expm1", np.expm1),
    unary("log", np.log, positive),
    unary("log2", np.log2, positive),
    unary("log10", np.log10, positive),
    unary("log1p", np.log1p, positive),
    unary("sqrt", np.sqrt, positive),
    unary("rsqrt", naive.rsqrt, positive),
    unary("reciprocal", np.reciprocal, nonzero),
    unary("sin", np.sin),
    unary("cos", np.cos),
    unary("tan", np.tan, unit),
    unary("erf", naive.erf),
    unary("floor", np.floor, off_integers),
    unary("ceil", np.ceil, off_integers),
    unary("round", np.round, off_integers),
    unary("trunc", np.trunc, off_integers),
    unary("relu", naive.relu, nonzero),
    unary("sigmoid", naive.sigmoid),
    unary("tanh", np.tanh),
    unary("isnan", np.isnan, grad=False, out="bool"),
    unary("isinf", np.isinf, grad=False, out="bool"),
    unary("isfinite", np.isfinite, grad=False, out="bool"),
    unary("logical_not", np.logical_not, small_ints, grad=False, out="bool"),
]

BINARY = [
    binary("add", np.add),
    binary("sub", np.subtract),
    binary("mul", np.multiply),
    binary("div", np.divide, (normal, nonzero)),
    binary("true_divide", np.divide, (normal, nonzero)),
    binary("pow", np.power, (positive, normal)),
    binary("maximum", naive.maximum),
    binary("minimum", naive.minimum),
    binary("atan2", np.arctan2, (normal, nonzero)),
    binary("remainder", naive.remainder, (normal, nonzero)),
    binary("fmod", np.fmod, (normal, nonzero)),
    binary("floor_divide", np.floor_divide, (normal, nonzero), grad=False),
] + [
    binary(name, ref, (small_ints, small_ints), grad=False, out="bool")
    for name, ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                      ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal), ("greater", np.greater),
                      ("greater_equal", np.greater_equal), ("less", np.less),
                      ("less_equal", np.less_equal), ("not_equal", np.not_equal),
                      ("logical_and", np.logical_and), ("logical_or", np.logical_or),
                      ("logical_xor", np.logical_xor), ("isclose", np.isclose)]
]

OTHER = [
    Op("clamp", lambda m, x: m.clamp(x, -0.5, 0.5), lambda x: naive.clamp(x, -0.5, 0.5), (normal,)),
    Op("clamp_min", lambda m, x: m.clamp_min(x, 0.2), lambda x: naive.clamp(x, 0.2), (normal,)),
    Op("clamp_max", lambda m, x: m.clamp_max(x, 0.2), lambda x: naive.clamp(x, None, 0.2),
       (normal,)),
    Op("clip", lambda m, x: m.clip(x, min=-0.3), lambda x: naive.clamp(x, -0.3), (normal,)),
    Op("clamp(tensor bounds)", lambda m, x, low: m.clamp(x, min=low, max=low + 1),
       lambda x, low: naive.clamp(x, low, low + 1), (normal, normal)),
    Op("where", lambda m, c, a, b: m.where(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
       (nonzero, normal, normal)),
    Op("where(scalar)", lambda m, c, a: m.where(c > 0, a, 0.5),
       lambda c, a: np.where(c > 0, a, 0.5), (nonzero, normal)),
    Op("clone", lambda m, x: m.clone(x), np.copy, (normal,)),
    Op("broadcast_to", lambda m, x: m.broadcast_to(x, (4, 2, 3)),
       lambda x: np.broadcast_to(x, (4, 2, 3)), (normal,)),
    Op("sum_to", lambda m, x: m.sum_to(x, (1, 3)), lambda x: naive.sum_to(x, (1, 3)), (normal,),
       torch=False),
]

OPS = UNARY + BINARY + OTHER
DIFFERENTIABLE = [op for op in OPS if op.grad]
FLOATS = ["float32", "float64"]
# forward against NumPy: same formulas, so a few ulps at most
NUMPY_TOL = {"float32": dict(rtol=2e-6, atol=1e-7), "float64": dict(rtol=1e-12, atol=1e-14)}
TORCH_TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def by_name(ops):
    return pytest.mark.parametrize("op", ops, ids=[op.name for op in ops])


def make_inputs(op, dtype, shapes=None, seed=0):
    rng = np.random.default_rng(seed)
    shapes = shapes or [(2, 3)] * len(op.domains)
    return [domain(rng, shape, dtype) for domain, shape in zip(op.domains, shapes)]


def check(op, got, expected, dtype, tol=NUMPY_TOL):
    assert isinstance(got, dn.Tensor), f"{op.name} returned {type(got).__name__}"
    want = "bool" if op.out == "bool" else dtype
    assert got.dtype == getattr(dn, want), f"{op.name}: {got.dtype}, expected {want}"
    assert tuple(got.shape) == np.shape(expected)
    if op.out == "bool":
        np.testing.assert_array_equal(got.detach().numpy(), expected)
    else:
        np.testing.assert_allclose(got.detach().numpy(), expected, **tol[dtype])


# ----------------------------------------------------------------------------- forward


@by_name(OPS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_forward_matches_numpy(op, dtype):
    arrays = make_inputs(op, dtype)
    check(op, op.call(dn, *[dn.tensor(a) for a in arrays]), op.ref(*arrays), dtype)


def _non_contiguous(array, i):
    if i % 2 == 0:
        return np.asfortranarray(array)  # transposed memory order
    return np.repeat(array, 2, axis=-1)[..., ::2]  # every other element of a wider array


@by_name(OPS)
def test_forward_non_contiguous_inputs(op):
    arrays = make_inputs(op, "float32")
    strided = [_non_contiguous(a, i) for i, a in enumerate(arrays)]
    tensors = [dn.from_numpy(a) for a in strided]
    assert not any(t.is_contiguous() for t in tensors)
    check(op, op.call(dn, *tensors), op.ref(*arrays), "float32")


BROADCAST_SHAPES = [((2, 1, 3), (4, 1)), ((), (2, 3)), ((3,), (2, 3)), ((2, 3), ()),
                    ((1, 3), (2, 1))]


@by_name([op for op in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_forward_broadcasting(op, shapes):
    arrays = make_inputs(op, "float32", shapes)
    got = op.call(dn, *[dn.tensor(a) for a in arrays])
    assert tuple(got.shape) == naive.broadcast_shape(*shapes)
    check(op, got, op.ref(*arrays), "float32")


def test_where_broadcasts_all_three():
    cond = np.array([True, False, True])
    a = np.arange(6.0, dtype=np.float32).reshape(2, 1, 3)
    got = dn.where(dn.tensor(cond), dn.tensor(a), dn.tensor(np.float32(-1.0)))
    np.testing.assert_array_equal(got.numpy(), np.where(cond, a, -1.0))


SCALAR_OPERANDS = [
    ("2 - t", lambda t: 2 - t, lambda a: 2 - a),
    ("t - 2", lambda t: t - 2, lambda a: a - 2),
    ("2.5 * t", lambda t: 2.5 * t, lambda a: 2.5 * a),
    ("t * 2.5", lambda t: t * 2.5, lambda a: a * 2.5),
    ("3 + t", lambda t: 3 + t, lambda a: 3 + a),
    ("t / 4", lambda t: t / 4, lambda a: a / 4),
    ("4 / t", lambda t: 4 / t, lambda a: 4 / a),
    ("t ** 2", lambda t: t ** 2, lambda a: a ** 2),
    ("2 ** t", lambda t: 2 ** t, lambda a: 2 ** a),
    ("t % 1.5", lambda t: t % 1.5, lambda a: naive.remainder(a, np.float32(1.5))),
    ("t // 0.5", lambda t: t // 0.5, lambda a: np.floor_divide(a, np.float32(0.5))),
    ("-t", lambda t: -t, lambda a: -a),
    ("abs(t)", lambda t: abs(t), np.abs),
    ("t > 0", lambda t: t > 0, lambda a: a > 0),
    ("0 < t", lambda t: 0 < t, lambda a: 0 < a),
    ("t == t", lambda t: t == t, lambda a: a == a),
    ("arr * t", lambda t: ARR * t, lambda a: ARR * a),
    ("t * arr", lambda t: t * ARR, lambda a: a * ARR),
    ("arr - t", lambda t: ARR - t, lambda a: ARR - a),
    ("arr / t", lambda t: ARR / t, lambda a: ARR / a),
    ("np.float32(2) * t", lambda t: np.float32(2) * t, lambda a: np.float32(2) * a),
]
ARR = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)


@pytest.mark.parametrize("case", SCALAR_OPERANDS, ids=[c[0] for c in SCALAR_OPERANDS])
def test_scalar_and_array_operands_on_either_side(case):
    _, fn, ref = case
    a = nonzero(np.random.default_rng(1), (2, 3), np.float32)
    got = fn(dn.tensor(a))
    expected = ref(a)
    assert isinstance(got, dn.Tensor)
    assert got.dtype == (dn.bool if expected.dtype == np.bool_ else dn.float32)
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-6)


# ----------------------------------------------------------------------------- gradients


@by_name(DIFFERENTIABLE)
def test_gradcheck(op):
    arrays = make_inputs(op, "float64", seed=2)
    inputs = tuple(dn.tensor(a, requires_grad=True) for a in arrays)
    assert dn.autograd.gradcheck(lambda *xs: op.call(dn, *xs), inputs)


@by_name([op for op in BINARY if op.grad])
def test_gradcheck_broadcasting(op):
    arrays = make_inputs(op, "float64", [(2, 1, 3), (4, 1)], seed=3)
    inputs = tuple(dn.tensor(a, requires_grad=True) for a in arrays)
    assert dn.autograd.gradcheck(lambda *xs: op.call(dn, *xs), inputs)


GRADGRAD = ["mul", "div", "exp", "tanh", "sigmoid", "pow", "relu", "log", "sin", "atan2",
            "clamp(tensor bounds)", "where"]


@by_name([op for op in OPS if op.name in GRADGRAD])
def test_gradgradcheck(op):
    arrays = make_inputs(op, "float64", seed=4)
    inputs = tuple(dn.tensor(a, requires_grad=True) for a in arrays)
    assert dn.autograd.gradgradcheck(lambda *xs: op.call(dn, *xs), inputs)


def test_gradient_with_scalar_operands():
    x = dn.tensor([0.5, -1.5, 2.0], dtype=dn.float64, requires_grad=True)
    assert dn.autograd.gradcheck(lambda t: (2 - t) * (t / 3) + 2 ** t + t ** 3 - 1 / t, (x,))


@by_name([op for op in OPS if op.out == "bool"])
def test_bool_results_record_nothing(op):
    inputs = [dn.tensor(a, requires_grad=True) for a in make_inputs(op, "float32")]
    out = op.call(dn, *inputs)
    assert not out.requires_grad and out.grad_fn is None


# ----------------------------------------------------------------------------- against torch


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parity
@by_name([op for op in OPS if op.torch])
@pytest.mark.parametrize("dtype", FLOATS)
def test_matches_torch(op, dtype):
    torch = _torch()
    arrays = make_inputs(op, dtype, seed=5)
    ours = [dn.tensor(a, requires_grad=op.grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=op.grad) for a in arrays]
    out, expected = op.call(dn, *ours), op.call(torch, *theirs)
    check(op, out, expected.detach().numpy(), dtype, TORCH_TOL)
    if not op.grad:
        return
    seed = np.random.default_rng(6).standard_normal(tuple(expected.shape)).astype(dtype)
    out.backward(dn.tensor(seed))
    expected.backward(torch.tensor(seed))
    for i, (mine, ref) in enumerate(zip(ours, theirs)):
        if ref.grad is None:
            assert mine.grad is None or not np.any(mine.grad.numpy()), f"input {i}"
            continue
        assert mine.grad is not None, f"{op.name}: no gradient for input {i}"
        assert mine.grad.dtype == mine.dtype
        np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), **TORCH_TOL[dtype],
                                   err_msg=f"{op.name}: gradient of input {i}")


@pytest.mark.parity
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "exp", "sin", "abs", "sqrt"])
def test_second_derivative_matches_torch(name):
    torch = _torch()
    values = [0.3, -0.7, 1.9] if name != "sqrt" else [0.3, 0.7, 1.9]
    x = dn.tensor(values, dtype=dn.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (g,) = dn.autograd.grad(getattr(dn, name)(x), x, dn.ones(3, dtype=dn.float64),
                            create_graph=True)
    (tg,) = torch.autograd.grad(getattr(torch, name)(tx), tx, torch.ones(3, dtype=torch.float64),
                                create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    assert g.requires_grad == tg.requires_grad
    if tg.requires_grad:
        (gg,) = dn.autograd.grad(g, x, dn.ones(3, dtype=dn.float64), allow_unused=True)
        (tgg,) = torch.autograd.grad(tg, tx, torch.ones(3, dtype=torch.float64), allow_unused=True)
        expected = np.zeros(3) if tgg is None else (tgg + 0).numpy()  # (tgg may be a ZeroTensor)
        np.testing.assert_allclose(np.zeros(3) if gg is None else gg.numpy(), expected, rtol=1e-12)


# ----------------------------------------------------------------------------- in-place ops

INPLACE = [
    ("add_", lambda m, t: t.add_(2.0), lambda a: a + 2),
    ("add_", lambda m, t: t.add_(m.tensor([1.0, 2.0, 3.0], dtype=t.dtype)),
     lambda a: a + [1, 2, 3]),
    ("add_", lambda m, t: t.add_(m.ones(3, dtype=t.dtype), alpha=2), lambda a: a + 2),
    ("sub_", lambda m, t: t.sub_(0.5), lambda a: a - 0.5),
    ("mul_", lambda m, t: t.mul_(m.full((2, 1), 3.0, dtype=t.dtype)), lambda a: a * 3),
    ("div_", lambda m, t: t.div_(4.0), lambda a: a / 4),
    ("zero_", lambda m, t: t.zero_(), np.zeros_like),
    ("fill_", lambda m, t: t.fill_(7.0), lambda a: np.full_like(a, 7)),
    ("fill_", lambda m, t: t.fill_(m.tensor(-1.0, dtype=t.dtype)), lambda a: np.full_like(a, -1)),
    ("clamp_", lambda m, t: t.clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    ("copy_", lambda m, t: t.copy_(m.full((2, 3), 4.0, dtype=t.dtype)),
     lambda a: np.full_like(a, 4)),
    ("copy_", lambda m, t: t.copy_(m.tensor([1, 2, 3])),  # broadcast and cast from int64
     lambda a: np.broadcast_to([1.0, 2.0, 3.0], a.shape)),
]
INPLACE_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(INPLACE)]


@pytest.mark.parametrize("case", INPLACE, ids=INPLACE_IDS)
def test_inplace_writes_into_the_same_memory_and_bumps_the_version(case):
    _, fn, ref = case
    array = np.random.default_rng(7).standard_normal((2, 3)).astype(np.float32)
    expected = ref(array.copy()).astype(np.float32)
    t = dn.from_numpy(array)
    pointer, version = t.data_ptr(), t._version.value
    assert fn(dn, t) is t
    assert t.data_ptr() == pointer
    np.testing.assert_allclose(array, expected, rtol=1e-6)  # the NumPy array sees the change
    assert t._version.value == version + 1


@pytest.mark.parametrize("case", INPLACE, ids=INPLACE_IDS)
def test_inplace_on_a_leaf_that_requires_grad_raises(case):
    name, fn, ref = case
    t = dn.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=rf"{name}.*leaf"):
        fn(dn, t)
    with dn.no_grad():  # what optimizers do
        fn(dn, t)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None


@pytest.mark.parity
@pytest.mark.parametrize("case", INPLACE, ids=INPLACE_IDS)
def test_inplace_on_a_non_leaf_gives_torchs_gradients(case):
    torch = _torch()
    _, fn, _ = case
    values = np.random.default_rng(8).standard_normal((2, 3))
    grads = []
    for m in (dn, torch):
        x = m.tensor(values, requires_grad=True)
        y = x * 1.5 + 0.25
        fn(m, y)
        out = y * x + y.exp()
        out.backward(m.ones(2, 3, dtype=out.dtype))
        grads.append((y.detach().numpy().copy(), x.grad.numpy().copy(), y.requires_grad))
    (ours, our_grad, our_req), (theirs, their_grad, their_req) = grads
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-12)
    assert our_req == their_req


@pytest.mark.parity
def test_inplace_with_an_operand_that_requires_grad_matches_torch():
    torch = _torch()
    results = []
    for m in (dn, torch):
        x = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
        w = m.tensor([1.5, 2.0, -0.5], dtype=m.float64, requires_grad=True)
        y = x.exp()
        y = y * 1  # exp saved its output: change a copy of it
        y.mul_(w)
        y.add_(x, alpha=2)
        y.sub_(w * w)
        y.div_(w + 3)
        y.clamp_(-1.0, 3.0)
        (y * y).backward(m.ones(3, dtype=m.float64))
        results.append((y.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    for mine, ref in zip(*results):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


@pytest.mark.parity
def test_inplace_on_a_view_of_a_non_leaf_matches_torch():
    torch = _torch()
    results = []
    for m in (dn, torch):
        x = m.tensor([[0.5, -1.0, 2.0], [1.0, 3.0, -2.0]], dtype=m.float64, requires_grad=True)
        y = x * 2
        y[0].mul_(3)  # a basic-indexing view: y's history goes through CopySlices
        y.transpose(0, 1)[1].fill_(0.5)
        (y * x).backward(m.ones(2, 3, dtype=m.float64))
        results.append((y.detach().numpy(), x.grad.numpy()))
    for mine, ref in zip(*results):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


def test_a_view_taken_before_its_base_changed_in_place_sees_the_change():
    # torch regenerates such a view's history from the base; keeping the old one would skip
    # the in-place op: a silently wrong gradient
    x = dn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 2
    view = y[0]
    y.mul_(3)
    (view * view).backward(dn.ones(2))
    np.testing.assert_allclose(view.detach().numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [[72.0, 144.0], [0.0, 0.0]])


def test_inplace_result_that_cannot_be_cast_raises():
    t = dn.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match=r"add_.*float32.*int64"):
        t.add_(1.5)
    assert t.tolist() == [1, 2, 3]


def test_inplace_shape_that_cannot_be_written_raises():
    t = dn.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"add_.*\[2, 3\].*\[4\]"):
        t.add_(dn.ones(4))
    with pytest.raises(RuntimeError, match=r"mul_"):
        t.mul_(dn.ones(2, 2, 3))  # broadcasts, but to a larger shape than t


def test_operator_inplace_on_tensor_keeps_identity():
    t = dn.ones(3)
    alias = t
    t += 1
    t *= 3
    t -= 1
    t /= 5
    assert t is alias
    np.testing.assert_allclose(alias.numpy(), [1.0, 1.0, 1.0])


# ----------------------------------------------------------------------------- integers, bools

INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64"]
INT_OPS = [
    ("add", lambda m, a, b: a + b, np.add),
    ("sub", lambda m, a, b: a - b, np.subtract),
    ("mul", lambda m, a, b: a * b, np.multiply),
    ("floor_divide", lambda m, a, b: a // b, np.floor_divide),
    ("remainder", lambda m, a, b: a % b, np.remainder),
    ("bitwise_and", lambda m, a, b: a & b, np.bitwise_and),
    ("bitwise_or", lambda m, a, b: a | b, np.bitwise_or),
    ("bitwise_xor", lambda m, a, b: a ^ b, np.bitwise_xor),
    ("bitwise_not", lambda m, a, b: ~a, lambda a, b: np.invert(a)),
    ("maximum", lambda m, a, b: m.maximum(a, b), np.maximum),
    ("pow", lambda m, a, b: a ** 2, lambda a, b: a ** 2),
]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("case", INT_OPS, ids=[c[0] for c in INT_OPS])
def test_integer_arithmetic_wraps_like_numpy(case, dtype):
    _, fn, ref = case
    rng = np.random.default_rng(9)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (3, 4), endpoint=True).astype(dtype)
    b = rng.integers(1, min(info.max, 100), (3, 4)).astype(dtype)
    got = fn(dn, dn.tensor(a), dn.tensor(b))
    assert got.dtype == getattr(dn, dtype)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(got.numpy(), ref(a, b))


def test_integer_true_division_and_float_functions_give_default_float():
    a = dn.tensor([1, 2, 3])
    assert (a / 2).dtype == dn.float32
    np.testing.assert_allclose((a / 2).numpy(), [0.5, 1.0, 1.5])
    for name in ("exp", "log", "sqrt", "sin", "sigmoid", "tanh", "erf"):
        assert getattr(dn, name)(a).dtype == dn.float32, name
    for name in ("neg", "abs", "square", "relu", "floor", "sign"):
        assert getattr(dn, name)(a).dtype == dn.int64, name


def test_bool_operators():
    a, b = dn.tensor([True, False, True]), dn.tensor([True, True, False])
    assert (a & b).tolist() == [True, False, False]
    assert (a | b).tolist() == [True, True, True]
    assert (a ^ b).tolist() == [False, True, True]
    assert (~a).tolist() == [False, True, False]
    assert (a + b).dtype == dn.bool and (a + 1).dtype == dn.int64


def test_int64_stays_exact_after_a_float64_kernel_was_compiled():
    # one Numba ufunc per dtypes: a float64 loop must not serve int64 inputs (2**53 + 1 is not a
    # float64), nor break in-place updates of small integer types
    dn.ones(2, dtype=dn.float64) + dn.ones(2, dtype=dn.float64)
    dn.ones(2, dtype=dn.float64) * dn.ones(2, dtype=dn.float64)
    big = dn.tensor([2 ** 53 + 1])
    assert (big + big).item() == 2 ** 54 + 2
    assert (big * dn.tensor([1])).item() == 2 ** 53 + 1
    small = dn.tensor([250], dtype=dn.uint8)
    small.add_(10)
    assert small.item() == 4 and small.dtype == dn.uint8
    assert (dn.tensor([1], dtype=dn.uint8) + 1000).item() == 233  # torch wraps the scalar too


# ----------------------------------------------------------------------------- NaN and inf

SPECIAL = [float("nan"), float("-inf"), float("inf"), -1.0, -0.0, 0.0, 0.5, 2.0]


def _special_pairs():
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    return a.ravel(), b.ravel()


def test_nan_propagation_without_torch():
    values = dn.tensor(SPECIAL)
    assert np.isnan(dn.relu(values).numpy()[0])
    assert dn.relu(values).numpy()[1] == 0.0
    assert np.isnan(dn.maximum(values, dn.zeros(8)).numpy()[0])
    assert np.isnan(dn.maximum(dn.zeros(8), values).numpy()[0])
    assert np.isnan(dn.clamp(values, -1, 1).numpy()[0])
    np.testing.assert_array_equal(dn.clamp(values, 1.0, 0.0).numpy()[1:], np.zeros(7))  # min > max
    scalar = dn.clamp(dn.tensor(3.0), 0.0, 1.0)  # 0-d operands: a 0-d tensor
    assert scalar.shape == () and scalar.item() == 1.0
    assert np.isnan(dn.clamp(dn.tensor(float("nan")), 0.0, 1.0).item())


@pytest.mark.parity
@pytest.mark.parametrize("name", ["relu", "maximum", "minimum", "clamp", "clamp(min>max)",
                                  "clamp(tensor bounds)", "sign", "sigmoid", "tanh", "abs"])
def test_nan_and_inf_behaviour_matches_torch(name):
    torch = _torch()
    a, b = _special_pairs()
    calls = {
        "relu": lambda m, x, y: m.relu(x),
        "maximum": lambda m, x, y: m.maximum(x, y),
        "minimum": lambda m, x, y: m.minimum(x, y),
        "clamp": lambda m, x, y: m.clamp(x, -1.0, 1.0),
        "clamp(min>max)": lambda m, x, y: m.clamp(x, 1.0, -1.0),
        "clamp(tensor bounds)": lambda m, x, y: m.clamp(x, min=y),
        "sign": lambda m, x, y: m.sign(x),
        "sigmoid": lambda m, x, y: m.sigmoid(x),
        "tanh": lambda m, x, y: m.tanh(x),
        "abs": lambda m, x, y: m.abs(x),
    }
    results = []
    for m in (dn, torch):
        x = m.tensor(a, requires_grad=True)
        y = m.tensor(b, requires_grad=True)
        out = calls[name](m, x, y)
        out.backward(m.ones(a.size, dtype=out.dtype))
        results.append([out.detach().numpy()] + [
            np.zeros(a.size) if t.grad is None else t.grad.numpy() for t in (x, y)])
    for what, mine, ref in zip(["forward", "grad x", "grad y"], *results):
        np.testing.assert_allclose(mine, ref, rtol=1e-6, equal_nan=True, err_msg=f"{name} {what}")
