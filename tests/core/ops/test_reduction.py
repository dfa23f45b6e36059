"""The reduction family: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std,
logsumexp, softmax/log_softmax, all/any, norm, cumsum, count_nonzero, aminmax.

Each op is a row of a table (with its dims and keepdim): forward against NumPy, a float64
gradient check, second derivatives for the ops whose backward is itself differentiated in
practice, and forward + backward against torch where it is installed, on contiguous and
non-contiguous inputs. Then dtypes, special values (-inf rows, NaN, ties, zeros in prod), both
kernel layouts and the parallel build, and one bad input per public op.
"""
import doctest

import numpy as np
import pytest

import dualnet as dn
from dualnet.core.ops.reduction import ops as reduction_ops

RNG = np.random.default_rng(0)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


# --------------------------------------------------------------------------- NumPy references

def _logsumexp(a, axis, keepdims=False):
    top = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(a, axis):
    return a - _logsumexp(a, axis, keepdims=True)


def _pnorm(a, p, axis=None, keepdims=False):
    if p == np.inf:
        return np.max(np.abs(a), axis=axis, keepdims=keepdims)
    return np.sum(np.abs(a) ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


# --------------------------------------------------------------------------- the table

SHAPE = (3, 4, 5)
# (id, op(lib, x) for lib in (dualnet, torch), NumPy reference(a), input shape,
#  second-derivative check)
CASES = []


def _row(id, op, ref, shape=SHAPE, grad2=False):
    CASES.append(pytest.param(op, ref, shape, grad2, id=id))


# Dims with keepdim alternating: every form of dim (int, negative, tuple, unsorted tuple) and
# both keepdims, without the full product of the two.
for dim, keep in ((1, True), (-1, False), ((0, 2), True), ((-1, 0), False)):
    tag = f"{dim}-{'keep' if keep else 'drop'}".replace(" ", "")
    _row(f"sum-{tag}", lambda L, x, d=dim, k=keep: L.sum(x, d, k),
         lambda a, d=dim, k=keep: np.sum(a, d, keepdims=k), grad2=True)
    _row(f"mean-{tag}", lambda L, x, d=dim, k=keep: L.mean(x, d, keepdim=k),
         lambda a, d=dim, k=keep: np.mean(a, d, keepdims=k), grad2=True)
    _row(f"amax-{tag}", lambda L, x, d=dim, k=keep: L.amax(x, d, k),
         lambda a, d=dim, k=keep: np.amax(a, d, keepdims=k))
    _row(f"amin-{tag}", lambda L, x, d=dim, k=keep: x.amin(d, keepdim=k),
         lambda a, d=dim, k=keep: np.amin(a, d, keepdims=k))
    _row(f"var-{tag}", lambda L, x, d=dim, k=keep: L.var(x, d, keepdim=k),
         lambda a, d=dim, k=keep: np.var(a, d, ddof=1, keepdims=k), grad2=True)
    _row(f"std-{tag}", lambda L, x, d=dim, k=keep: x.std(d, keepdim=k, correction=0),
         lambda a, d=dim, k=keep: np.std(a, d, keepdims=k))
    _row(f"logsumexp-{tag}", lambda L, x, d=dim, k=keep: L.logsumexp(x, d, k),
         lambda a, d=dim, k=keep: _logsumexp(a, d, k), grad2=True)
    _row(f"norm-{tag}", lambda L, x, d=dim, k=keep: L.norm(x, dim=d, keepdim=k),
         lambda a, d=dim, k=keep: _pnorm(a, 2, d, k))
    _row(f"norm3-{tag}", lambda L, x, d=dim, k=keep: L.norm(x, 3, d, k),
         lambda a, d=dim, k=keep: _pnorm(a, 3, d, k))

for dim, keep in ((0, False), (1, True), (-1, False), (-2, True)):
    tag = f"{dim}-{'keep' if keep else 'drop'}"
    _row(f"max-dim-{tag}", lambda L, x, d=dim, k=keep: L.max(x, d, k),
         lambda a, d=dim, k=keep: (np.max(a, d, keepdims=k), np.argmax(a, d, keepdims=k)))
    _row(f"min-dim-{tag}", lambda L, x, d=dim, k=keep: x.min(dim=d, keepdim=k),
         lambda a, d=dim, k=keep: (np.min(a, d, keepdims=k), np.argmin(a, d, keepdims=k)))
    _row(f"prod-{tag}", lambda L, x, d=dim, k=keep: L.prod(x, d, k),
         lambda a, d=dim, k=keep: np.prod(a, d, keepdims=k))
    _row(f"argmax-{tag}", lambda L, x, d=dim, k=keep: L.argmax(x, d, k),
         lambda a, d=dim, k=keep: np.argmax(a, d, keepdims=k))
    _row(f"argmin-{tag}", lambda L, x, d=dim, k=keep: x.argmin(d, k),
         lambda a, d=dim, k=keep: np.argmin(a, d, keepdims=k))
    _row(f"softmax-{dim}", lambda L, x, d=dim: L.softmax(x, d),
         lambda a, d=dim: _softmax(a, d), grad2=True)
    _row(f"log_softmax-{dim}", lambda L, x, d=dim: x.log_softmax(d),
         lambda a, d=dim: _log_softmax(a, d), grad2=True)
    _row(f"cumsum-{dim}", lambda L, x, d=dim: L.cumsum(x, d), lambda a, d=dim: np.cumsum(a, d))

_row("sum-all", lambda L, x: L.sum(x), np.sum, grad2=True)
_row("sum-method-all", lambda L, x: x.sum(), np.sum)
_row("max-all", lambda L, x: L.max(x), np.max, grad2=True)
_row("min-all", lambda L, x: x.min(), np.min)
_row("prod-all", lambda L, x: L.prod(x), np.prod)
_row("argmax-all", lambda L, x: L.argmax(x), np.argmax)
_row("argmin-all", lambda L, x: x.argmin(), np.argmin)
_row("amax-all", lambda L, x: x.amax(), np.max)
_row("mean-all", lambda L, x: x.mean(), np.mean, grad2=True)
_row("var-all", lambda L, x: L.var(x), lambda a: np.var(a, ddof=1), grad2=True)
_row("std-all", lambda L, x: x.std(), lambda a: np.std(a, ddof=1))
_row("var-unbiased-false", lambda L, x: L.var(x, 1, False, True),
     lambda a: np.var(a, 1, keepdims=True))
_row("var-correction-2", lambda L, x: L.var(x, (0, 1), correction=2),
     lambda a: np.var(a, (0, 1), ddof=2))
_row("var_mean", lambda L, x: L.var_mean(x, 1), lambda a: (np.var(a, 1, ddof=1), np.mean(a, 1)),
     grad2=True)
_row("std_mean", lambda L, x: L.std_mean(x, (0, 2), keepdim=True),
     lambda a: (np.std(a, (0, 2), ddof=1, keepdims=True), np.mean(a, (0, 2), keepdims=True)))
_row("logsumexp-all", lambda L, x: L.logsumexp(x, (0, 1, 2)), lambda a: _logsumexp(a, None))
_row("norm-all", lambda L, x: x.norm(), lambda a: _pnorm(a, 2))
_row("norm-1", lambda L, x: L.norm(x, 1, dim=1), lambda a: _pnorm(a, 1, 1))
_row("norm-inf", lambda L, x: L.norm(x, float("inf"), dim=(0, 2)),
     lambda a: _pnorm(a, np.inf, (0, 2)))
_row("norm-half", lambda L, x: L.norm(x, 0.5, dim=-1), lambda a: _pnorm(a, 0.5, -1))
_row("aminmax", lambda L, x: L.aminmax(x, dim=1), lambda a: (np.min(a, 1), np.max(a, 1)))
_row("aminmax-all", lambda L, x: L.aminmax(x), lambda a: (np.min(a), np.max(a)))
_row("count_nonzero", lambda L, x: L.count_nonzero(x > 0, (0, 2)),
     lambda a: np.count_nonzero(a > 0, (0, 2)))
_row("all", lambda L, x: L.all(x > -1, 1), lambda a: np.all(a > -1, 1))
_row("any-keep", lambda L, x: (x > 1).any(-1, keepdim=True),
     lambda a: np.any(a > 1, -1, keepdims=True))
# odd sizes and other ranks
_row("softmax-odd", lambda L, x: L.softmax(x, 0), lambda a: _softmax(a, 0), shape=(7, 1, 3),
     grad2=True)
_row("log_softmax-1d", lambda L, x: L.log_softmax(x, 0), lambda a: _log_softmax(a, 0),
     shape=(13,))
_row("softmax-0d", lambda L, x: L.softmax(x, -1), lambda a: np.ones(()), shape=())
_row("sum-0d", lambda L, x: L.sum(x, 0), lambda a: a, shape=())
_row("var-odd", lambda L, x: L.var(x, -1), lambda a: np.var(a, -1, ddof=1), shape=(2, 17))
_row("logsumexp-1d", lambda L, x: L.logsumexp(x, 0), lambda a: _logsumexp(a, 0), shape=(9,))
_row("max-1d", lambda L, x: L.max(x, 0), lambda a: (np.max(a, 0), np.argmax(a, 0)), shape=(6,))


def _input(shape, dtype, layout="contiguous"):
    """Random values of `shape`; "transposed" gives a strided (non-contiguous) array."""
    if layout == "transposed" and len(shape) >= 2:
        array = RNG.standard_normal(shape[::-1]).astype(dtype).T  # same shape, strided
    else:
        array = RNG.standard_normal(shape).astype(dtype)
    return array


# --------------------------------------------------------------------------- generic tests

@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("op,ref,shape,grad2", CASES)
def test_forward_matches_numpy(op, ref, shape, grad2, layout):
    array = _input(shape, np.float64, layout)
    got = _outputs(op(dn, dn.from_numpy(array)))
    want = _outputs(ref(array))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == np.shape(w)
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-12, atol=1e-12)


def _float_outputs(out):
    return [o for o in _outputs(out) if o.dtype.is_floating_point]


@pytest.mark.parametrize("op,ref,shape,grad2", CASES)
def test_gradcheck(op, ref, shape, grad2):
    x = dn.tensor(_input(shape, np.float64), dtype=dn.float64, requires_grad=True)
    if not _float_outputs(op(dn, x)):
        pytest.skip("no differentiable output")
    assert dn.autograd.gradcheck(lambda t: tuple(_float_outputs(op(dn, t))), (x,))


@pytest.mark.parametrize("op,ref,shape,grad2", [c for c in CASES if c.values[3]])
def test_gradgradcheck(op, ref, shape, grad2):
    x = dn.tensor(_input(shape, np.float64), dtype=dn.float64, requires_grad=True)

    def weighted(t):  # a non-uniform upstream gradient, so softmax's second derivative is not 0
        outs = _float_outputs(op(dn, t))
        return tuple(o * dn.tensor(np.linspace(0.5, 2.0, o.numel()).reshape(o.shape)) for o in outs)

    assert dn.autograd.gradgradcheck(weighted, (x,))


TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.mark.parametrize("dtype,layout", [(np.float32, "contiguous"), (np.float32, "transposed"),
                                          (np.float64, "contiguous")],
                         ids=["float32", "float32-transposed", "float64"])
@pytest.mark.parametrize("op,ref,shape,grad2", CASES)
def test_torch_parity(op, ref, shape, grad2, dtype, layout):
    torch = pytest.importorskip("torch")
    array = _input(shape, dtype, layout)
    x = dn.from_numpy(array).requires_grad_()
    t = torch.from_numpy(array).requires_grad_()
    got, want = _outputs(op(dn, x)), _outputs(op(torch, t))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        assert g.dtype.name == str(w.dtype).replace("torch.", "")
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), **TOLERANCE[dtype])
    seeds = [RNG.standard_normal(tuple(w.shape)).astype(dtype) for w in want]
    pairs = [(g, w, s) for g, w, s in zip(got, want, seeds) if w.requires_grad]
    if not pairs:
        return
    dn.autograd.backward([g for g, _, _ in pairs], [dn.from_numpy(s) for _, _, s in pairs])
    torch.autograd.backward([w for _, w, _ in pairs], [torch.from_numpy(s) for _, _, s in pairs])
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **TOLERANCE[dtype])


# --------------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("op", ["sum", "prod", "cumsum"])
@pytest.mark.parametrize("dtype", [dn.int32, dn.uint8, dn.bool, dn.int64])
def test_integer_accumulation_gives_int64(op, dtype):
    x = dn.tensor([[1, 0, 1], [1, 1, 0]], dtype=dtype)
    args = (1,) if op == "cumsum" else ()
    out = getattr(dn, op)(x, *args)
    assert out.dtype is dn.int64
    ref = {"sum": np.sum, "prod": np.prod, "cumsum": lambda a, d: np.cumsum(a, d)}[op]
    np.testing.assert_array_equal(out.numpy(), ref(x.numpy().astype(np.int64), *args))


def test_dtype_arguments():
    x = dn.tensor([1, 2, 4], dtype=dn.int32)
    assert dn.sum(x, dtype=dn.float32).dtype is dn.float32
    assert dn.mean(x, dtype=dn.float64).item() == pytest.approx(7 / 3)
    assert dn.softmax(x, 0, dtype=dn.float64).dtype is dn.float64
    assert dn.logsumexp(x, 0).dtype is dn.float32  # ints are promoted, as torch does
    y = dn.tensor([1.0, 2.0], requires_grad=True)
    dn.sum(y, dtype=dn.float64).backward()
    assert y.grad.dtype is dn.float32 and y.grad.tolist() == [1.0, 1.0]


def test_result_dtypes():
    f = dn.tensor([[1.0, 2.0], [0.0, 3.0]])
    assert dn.argmax(f).dtype is dn.int64 and dn.max(f, 1).indices.dtype is dn.int64
    assert dn.all(f).dtype is dn.bool and dn.any(f, 0).dtype is dn.bool
    assert dn.all(dn.tensor([1, 2], dtype=dn.uint8)).dtype is dn.uint8
    assert dn.count_nonzero(f).dtype is dn.int64 and dn.count_nonzero(f).item() == 3
    assert dn.max(dn.tensor([[1, 5], [4, 2]]), 1).values.dtype is dn.int64
    assert dn.amax(dn.tensor([True, False])).dtype is dn.bool


# --------------------------------------------------------------------------- special values

def test_logsumexp_infinite_rows():
    inf = float("inf")
    x = dn.tensor([[-inf, -inf, -inf], [inf, 1.0, 2.0], [0.0, -inf, 0.0]])
    out = dn.logsumexp(x, 1)
    np.testing.assert_allclose(out.numpy(), [-inf, inf, np.log(2.0)], rtol=1e-7)
    cols = dn.logsumexp(dn.from_numpy(np.ascontiguousarray(x.numpy().T)), 0)  # the column kernel
    np.testing.assert_allclose(cols.numpy(), [-inf, inf, np.log(2.0)], rtol=1e-7)


def test_softmax_masked_with_minus_inf():
    inf = float("inf")
    x = dn.tensor([[0.0, -inf, 0.0], [-inf, -inf, 5.0]], requires_grad=True)
    y = dn.softmax(x, 1)
    np.testing.assert_allclose(y.detach().numpy(), [[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    (y * dn.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[-0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])
    ls = dn.log_softmax(x.detach(), 1).numpy()
    assert ls[0, 1] == -inf and ls[1, 2] == 0.0 and np.isclose(ls[0, 0], -np.log(2.0))
    assert np.isnan(dn.softmax(dn.tensor([-inf, -inf]), 0).numpy()).all()  # torch: NaN too


def test_nan_propagates():
    nan = float("nan")
    x = dn.tensor([[1.0, nan, 3.0], [1.0, 2.0, 3.0]])
    assert np.isnan(dn.amax(x, 1).numpy()[0]) and dn.amax(x, 1).numpy()[1] == 3.0
    values, indices = dn.max(x, 1)
    assert np.isnan(values.numpy()[0]) and indices.tolist() == [1, 2]
    assert dn.argmax(x).item() == 1
    probs = dn.softmax(x, 1).numpy()
    assert np.isnan(probs[0]).all() and not np.isnan(probs[1]).any()
    assert np.isnan(dn.logsumexp(x, 1).numpy()[0])


def test_max_ties_split_the_gradient_like_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for op in (lambda L, x: L.amax(x, 1), lambda L, x: L.max(x), lambda L, x: L.amin(x, 0),
               lambda L, x: L.norm(x, float("inf"), 1)):
        x = dn.tensor(data, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        op(dn, x).sum().backward()
        op(torch, t).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    x = dn.tensor(data, requires_grad=True)
    dn.max(x, 1).values.sum().backward()  # max(dim) sends it all to the returned index
    assert x.grad.sum(1).tolist() == [1.0, 1.0] and (x.grad.numpy() == 1.0).sum() == 2


@pytest.mark.parametrize("data", [[[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]],
                                  [[0.0, 0.0, 3.0], [0.0, 5.0, 0.0]]],
                         ids=["one-zero", "two-zeros"])
def test_prod_gradient_with_zeros(data):
    x = dn.tensor(data, dtype=dn.float64, requires_grad=True)
    assert dn.autograd.gradcheck(lambda t: dn.prod(t, 1), (x,))
    assert dn.autograd.gradcheck(lambda t: dn.prod(t), (x,))
    torch = pytest.importorskip("torch")
    t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    dn.prod(x, 1).sum().backward()
    torch.prod(t, 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_norm_gradient_at_zero_is_zero():
    x = dn.zeros(2, 3, requires_grad=True)
    (dn.norm(x, dim=1).sum() + dn.norm(x, 3)).backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


def test_empty_inputs():
    empty = dn.zeros(0, 3)
    assert dn.sum(empty, 0).tolist() == [0.0] * 3 and dn.prod(empty, 0).tolist() == [1.0] * 3
    assert np.isneginf(dn.logsumexp(empty, 0).numpy()).all()
    assert np.isnan(dn.var(empty, 0).numpy()).all() and np.isnan(dn.mean(empty, 0).numpy()).all()
    assert dn.softmax(empty, 0).shape == (0, 3) and dn.max(empty, 1).values.shape == (0,)
    assert dn.amax(empty, 1).shape == (0,) and dn.cumsum(empty, 0).shape == (0, 3)


def test_var_correction_past_n():
    x = dn.tensor([1.0, 2.0])
    assert dn.var(x, correction=3).item() == float("inf")
    assert np.isnan(dn.var(dn.tensor([1.0])).item())


def test_double_backward_of_max_dim_and_cumsum():
    x = dn.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    assert dn.autograd.gradgradcheck(lambda t: dn.max(t, 1).values * dn.amax(t, 1), (x,))
    assert dn.autograd.gradgradcheck(lambda t: dn.cumsum(t * t, 1), (x,))


def test_repeated_backward_accumulates_into_grad():
    x = dn.ones(2, 3, requires_grad=True)
    x.sum().backward()
    x.sum().backward()  # .grad of a reduction's broadcast gradient must be writable
    assert x.grad.tolist() == [[2.0] * 3] * 2


# --------------------------------------------------------------------------- the kernels' paths

@pytest.mark.parametrize("shape,dim", [((2, 700, 3), 1), ((40, 8), 0), ((4, 5, 6, 7), 2)],
                         ids=["inner-3", "inner-8-dim0", "4d"])
def test_column_kernels_match_rows(shape, dim):
    """Reducing a middle dim runs the column kernels (inner > 1): same values as the last dim."""
    array = RNG.standard_normal(shape).astype(np.float32)
    moved = np.ascontiguousarray(np.moveaxis(array, dim, -1))
    x, last = dn.from_numpy(array), dn.from_numpy(moved)
    for op in (dn.softmax, dn.log_softmax, lambda t, d: dn.logsumexp(t, d),
               lambda t, d: dn.var(t, d)):
        got = op(x, dim).numpy()
        want = op(last, -1).numpy()
        got = np.moveaxis(got, dim, -1) if got.ndim == array.ndim else got
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)


def test_non_adjacent_dims_are_moved_last():
    array = RNG.standard_normal((3, 4, 5, 2))
    x = dn.from_numpy(array)
    np.testing.assert_allclose(dn.var(x, (0, 2)).numpy(), np.var(array, (0, 2), ddof=1))
    np.testing.assert_allclose(dn.logsumexp(x, (1, 3)).numpy(), _logsumexp(array, (1, 3)))


def test_parallel_build_matches_torch(dtype=np.float32):
    """Above config.PARALLEL_MIN_ELEMENTS the kernels' parallel builds run (float32 only: they
    are the serial kernels' code, and compiling the float64 builds would double this test)."""
    torch = pytest.importorskip("torch")
    from dualnet.core import config

    rows = config.PARALLEL_MIN_ELEMENTS // 250 + 1
    array = (RNG.standard_normal((rows, 250)) * 4).astype(dtype)
    seed = RNG.standard_normal((rows, 250)).astype(dtype)
    # log_softmax's grad - exp(y) * sum(grad) cancels terms of size |sum(grad)| ~ 16: both
    # libraries' float32 results carry ~1e-6 absolute rounding there
    grad_tolerance = dict(rtol=1e-5, atol=1e-5)
    for name in ("softmax", "log_softmax"):
        x, t = dn.from_numpy(array).requires_grad_(), torch.from_numpy(array).requires_grad_()
        y, w = getattr(dn, name)(x, 1), getattr(torch, name)(t, 1)
        np.testing.assert_allclose(y.detach().numpy(), w.detach().numpy(), **TOLERANCE[dtype])
        y.backward(dn.from_numpy(seed))
        w.backward(torch.from_numpy(seed))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **grad_tolerance)
    x, t = dn.from_numpy(array), torch.from_numpy(array)
    np.testing.assert_allclose(dn.logsumexp(x, 1).numpy(), torch.logsumexp(t, 1).numpy(),
                               **TOLERANCE[dtype])
    np.testing.assert_allclose(dn.var(x, 1).numpy(), torch.var(t, 1).numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(dn.var(x, 0).numpy(), torch.var(t, 0).numpy(), **TOLERANCE[dtype])


def test_exp_kernel_accuracy():
    """The kernels' polynomial exp against float64 NumPy on its domain (x <= 88 for float32):
    within 1 ulp down to the smallest normal number, 0 below it."""
    import numba

    from dualnet.core.ops.reduction import cpu

    @numba.njit
    def exp_all(x, out):
        for i in range(x.size):
            out[i] = cpu._exp(x[i])

    for dtype, top in ((np.float32, 88.0), (np.float64, 709.0)):
        x = np.concatenate([np.linspace(-1.2 * top, top, 40001), [0.0, -np.inf, np.nan]])
        x = x.astype(dtype)
        got = np.empty_like(x)
        exp_all(x, got)
        want = np.exp(x.astype(np.float64)) if dtype == np.float32 else np.exp(x)
        info = np.finfo(dtype)
        normal = want >= info.tiny
        ulps = np.abs(got[normal] - want[normal]) / (want[normal] * info.eps)
        assert ulps.max() <= 1.0
        assert np.all(got[:-3][~normal[:-3]] <= info.tiny)  # flushed to 0, or exact at the edge
        assert got[-3] == 1.0 and got[-2] == 0.0 and np.isnan(got[-1])


# --------------------------------------------------------------------------- bad inputs

x23 = dn.ones(2, 3)
BAD = [
    ("sum", lambda: dn.sum(x23, 2), IndexError),
    ("sum", lambda: dn.sum([1, 2]), TypeError),
    ("sum", lambda: dn.sum(x23, (0, 0)), RuntimeError),
    ("sum", lambda: dn.sum(x23, 1.0), TypeError),
    ("mean", lambda: dn.mean(dn.tensor([1, 2])), RuntimeError),
    ("mean", lambda: x23.mean(-3), IndexError),
    ("prod", lambda: dn.prod(x23, (0, 1)), TypeError),
    ("max", lambda: dn.max(dn.zeros(0)), RuntimeError),
    ("max", lambda: dn.max(x23, 5), IndexError),
    ("max", lambda: dn.max(dn.zeros(2, 0), 1), IndexError),
    ("min", lambda: x23.min(dim=-3), IndexError),
    ("amax", lambda: dn.amax(dn.zeros(0, 2)), RuntimeError),
    ("amin", lambda: dn.amin(x23, 2), IndexError),
    ("aminmax", lambda: dn.aminmax(x23, dim=4), IndexError),
    ("argmax", lambda: dn.argmax(dn.zeros(0)), IndexError),
    ("argmax", lambda: dn.argmax(dn.tensor([True, False])), RuntimeError),
    ("argmin", lambda: dn.argmin(x23, 2), IndexError),
    ("var", lambda: dn.var(dn.tensor([1, 2])), RuntimeError),
    ("var", lambda: dn.var(x23, 0, True, correction=1), RuntimeError),
    ("std", lambda: x23.std(3), IndexError),
    ("var_mean", lambda: dn.var_mean(x23, correction="1"), TypeError),
    ("std_mean", lambda: dn.std_mean(dn.tensor([1, 2])), RuntimeError),
    ("logsumexp", lambda: dn.logsumexp(x23, 2), IndexError),
    ("softmax", lambda: dn.softmax(dn.tensor([1, 2]), 0), RuntimeError),
    ("softmax", lambda: dn.softmax(x23, None), TypeError),
    ("log_softmax", lambda: x23.log_softmax(2), IndexError),
    ("all", lambda: dn.all(x23, 1.5), TypeError),
    ("any", lambda: dn.any(x23, -4), IndexError),
    ("norm", lambda: dn.norm(x23, "nuc"), ValueError),
    ("norm", lambda: dn.norm(dn.tensor([3, 4])), RuntimeError),
    ("cumsum", lambda: dn.cumsum(x23, 2), IndexError),
    ("count_nonzero", lambda: dn.count_nonzero(x23, (1, -1)), RuntimeError),
]


@pytest.mark.parametrize("op,call,error", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input(op, call, error):
    with pytest.raises(error) as info:
        call()
    if error is IndexError or "dim" in str(info.value):
        assert op.split("_")[0] in str(info.value) or op in str(info.value)


def test_every_public_op_has_a_bad_input_row():
    assert set(reduction_ops.__all__) <= {row[0] for row in BAD}


def test_methods_are_the_functions():
    x = dn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(1).tolist() == [3.0, 7.0] and x.max(dim=0).indices.tolist() == [1, 1]
    assert x.softmax(-1).shape == (2, 2)
    assert x.max(dn.tensor(2.5)).tolist() == [[2.5, 2.5], [3.0, 4.0]]
    assert dn.min(x, other=dn.tensor(2.5)).tolist() == [[1.0, 2.0], [2.5, 2.5]]
    for name in reduction_ops.METHODS:
        assert getattr(dn.Tensor, name) is getattr(dn, name)


def test_doc_examples():
    result = doctest.testmod(reduction_ops, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
