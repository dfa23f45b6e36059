"""The loss family: cross_entropy, nll_loss, binary_cross_entropy(_with_logits), mse_loss,
l1_loss, smooth_l1_loss, huber_loss, kl_div, cosine_similarity (+ Keras's probability losses).

Each case is a row of a table (its inputs, the call, a NumPy reference): forward against NumPy,
a float64 gradient check (second derivatives for some), and forward + backward against
torch.nn.functional where it is installed, on contiguous and strided (step-2) inputs. Then the
special values (ignored targets, masked logits, saturated probabilities), the layouts
(class_dim=-1, spatial targets), the parallel kernels, and bad inputs with torch's exception
classes.
"""
import doctest
import warnings

import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet.core.ops.loss import ops as loss_ops

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------- NumPy references

def _log_softmax(a, axis):
    top = np.max(a, axis=axis, keepdims=True)
    return a - top - np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))


def _reduce(loss, reduction, denominator=None):
    if reduction == "none":
        return loss
    total = np.sum(loss)
    return total if reduction == "sum" else total / (loss.size if denominator is None
                                                     else denominator)


def _class_index(logp, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """-sum_c coef_c * logp_c per row, torch's label smoothing, weighted mean; classes at 1."""
    unbatched = logp.ndim == 1
    logp = np.moveaxis(logp, 1, -1) if logp.ndim > 1 else logp[None]
    classes = logp.shape[-1]
    target = np.asarray(target).reshape(logp.shape[:-1])
    w = np.ones(classes) if weight is None else weight
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(logp, safe[..., None], -1)[..., 0]
    loss = -(1 - smoothing) * w[safe] * picked - smoothing / classes * np.sum(w * logp, -1)
    loss = np.where(keep, loss, 0.0)
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss
    return _reduce(loss, reduction, np.sum(np.where(keep, w[safe], 0.0)))


def _cross_entropy(x, target, **kw):
    return _class_index(_log_softmax(x, 1 if x.ndim > 1 else 0), target, **kw)


def _cross_entropy_probs(x, q, weight=None, reduction="mean", smoothing=0.0):
    classes = x.shape[1]
    q = q * (1 - smoothing) + smoothing / classes
    w = np.ones(classes) if weight is None else weight
    shape = [1] * x.ndim
    shape[1] = classes
    loss = -np.sum(_log_softmax(x, 1) * q * w.reshape(shape), axis=1)
    return _reduce(loss, reduction)


def _bce(x, t, weight=None, reduction="mean"):
    loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    return _reduce(loss if weight is None else loss * weight, reduction)


def _bce_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    p = 1.0 if pos_weight is None else pos_weight
    loss = (1 - t) * x + (1 + (p - 1) * t) * np.logaddexp(0, -x)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _pointwise(kind, d, param=1.0):
    a = np.abs(d)
    return {"mse": d * d, "l1": a,
            "smooth_l1": np.where(a < param, 0.5 * d * d / param, a - 0.5 * param),
            "huber": np.where(a < param, 0.5 * d * d, param * (a - 0.5 * param))}[kind]


def _kl_div(x, t, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t))) - t * x
    return np.sum(loss) / x.shape[0] if reduction == "batchmean" else _reduce(loss, reduction)


def _cosine(a, b, dim=1, eps=1e-8):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.linalg.norm(a, axis=dim, keepdims=True), eps)
    nb = np.maximum(np.linalg.norm(b, axis=dim, keepdims=True), eps)
    return np.sum(a / na * b / nb, axis=dim)


# --------------------------------------------------------------------------- the table
# A row: inputs(rng) -> NumPy arrays (float ones take the test's dtype; ints stay targets),
# call(F, *tensors) for F = dualnet's or torch's functional, ref(*arrays), which inputs are
# differentiable, and whether to check second derivatives.
CASES = []


def _row(id, inputs, call, ref, diff=(0,), grad2=False):
    CASES.append(pytest.param(inputs, call, ref, diff, grad2, id=id))


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def classes(n, *shape):
    return lambda rng: rng.integers(0, n, shape)


def probs(*shape, axis=1):
    def make(rng):
        e = np.exp(rng.standard_normal(shape))
        return e / e.sum(axis=axis, keepdims=True)

    return make


def uniform(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape)


def _inputs(*makers):
    return lambda rng: tuple(m(rng) for m in makers)


W5 = lambda rng: rng.uniform(0.5, 2.0, 5)  # noqa: E731 - a class weight
TARGETS_WITH_IGNORED = lambda rng: np.array([0, 4, -100, 2, 1, -100])  # noqa: E731

for reduction in ("mean", "sum", "none"):
    _row(f"cross_entropy-{reduction}", _inputs(normal(6, 5), classes(5, 6)),
         lambda F, x, t, r=reduction: F.cross_entropy(x, t, reduction=r),
         lambda x, t, r=reduction: _cross_entropy(x, t, reduction=r), grad2=reduction == "mean")
    _row(f"nll_loss-{reduction}", _inputs(normal(6, 5), classes(5, 6)),
         lambda F, x, t, r=reduction: F.nll_loss(x, t, reduction=r),
         lambda x, t, r=reduction: _class_index(x, t, reduction=r), grad2=reduction == "none")
    _row(f"cross_entropy-weight-ignore-smooth-{reduction}", _inputs(normal(6, 5),
                                                                    TARGETS_WITH_IGNORED, W5),
         lambda F, x, t, w, r=reduction: F.cross_entropy(x, t, w, reduction=r,
                                                         label_smoothing=0.3),
         lambda x, t, w, r=reduction: _cross_entropy(x, t, weight=w, reduction=r,
                                                     smoothing=0.3), grad2=reduction == "sum")
_row("cross_entropy-weight", _inputs(normal(6, 5), classes(5, 6), W5),
     lambda F, x, t, w: F.cross_entropy(x, t, weight=w),
     lambda x, t, w: _cross_entropy(x, t, weight=w))
_row("cross_entropy-ignore_index-3", _inputs(normal(6, 5),
                                             lambda rng: np.array([3, 0, 3, 1, 4, 2])),
     lambda F, x, t: F.cross_entropy(x, t, ignore_index=3),
     lambda x, t: _cross_entropy(x, t, ignore_index=3))
_row("cross_entropy-smoothing", _inputs(normal(6, 5), classes(5, 6)),
     lambda F, x, t: F.cross_entropy(x, t, label_smoothing=0.1),
     lambda x, t: _cross_entropy(x, t, smoothing=0.1))
_row("cross_entropy-spatial", _inputs(normal(2, 5, 3), classes(5, 2, 3)),
     lambda F, x, t: F.cross_entropy(x, t), lambda x, t: _cross_entropy(x, t), grad2=True)
_row("cross_entropy-spatial-4d-none", _inputs(normal(2, 5, 2, 3), classes(5, 2, 2, 3), W5),
     lambda F, x, t, w: F.cross_entropy(x, t, w, reduction="none", label_smoothing=0.2),
     lambda x, t, w: _cross_entropy(x, t, weight=w, reduction="none", smoothing=0.2))
_row("cross_entropy-unbatched", _inputs(normal(7), lambda rng: np.array(3)),
     lambda F, x, t: F.cross_entropy(x, t, reduction="none"),
     lambda x, t: _cross_entropy(x, t, reduction="none"))
_row("cross_entropy-odd-classes", _inputs(normal(3, 33), classes(33, 3)),
     lambda F, x, t: F.cross_entropy(x, t), lambda x, t: _cross_entropy(x, t))
_row("nll_loss-weight-ignore-spatial", _inputs(normal(2, 5, 3), lambda rng: np.array(
    [[0, -100, 4], [2, 2, -100]]), W5),
     lambda F, x, t, w: F.nll_loss(x, t, w), lambda x, t, w: _class_index(x, t, weight=w))
_row("nll_loss-ignore_index-1-sum", _inputs(normal(6, 5), classes(5, 6)),
     lambda F, x, t: F.nll_loss(x, t, ignore_index=1, reduction="sum"),
     lambda x, t: _class_index(x, t, ignore_index=1, reduction="sum"))
for reduction in ("mean", "none"):
    _row(f"cross_entropy-probs-{reduction}", _inputs(normal(4, 5), probs(4, 5)),
         lambda F, x, q, r=reduction: F.cross_entropy(x, q, reduction=r),
         lambda x, q, r=reduction: _cross_entropy_probs(x, q, reduction=r), diff=(0, 1),
         grad2=reduction == "mean")
_row("cross_entropy-probs-weight-smooth-sum", _inputs(normal(4, 5), probs(4, 5), W5),
     lambda F, x, q, w: F.cross_entropy(x, q, w, reduction="sum", label_smoothing=0.2),
     lambda x, q, w: _cross_entropy_probs(x, q, w, "sum", 0.2), diff=(0, 1))
_row("cross_entropy-probs-spatial", _inputs(normal(2, 5, 3), probs(2, 5, 3)),
     lambda F, x, q: F.cross_entropy(x, q), lambda x, q: _cross_entropy_probs(x, q), diff=(0, 1))

for reduction in ("mean", "sum", "none"):
    _row(f"binary_cross_entropy-{reduction}", _inputs(uniform(0.05, 0.95, 3, 4),
                                                      uniform(0, 1, 3, 4)),
         lambda F, x, t, r=reduction: F.binary_cross_entropy(x, t, reduction=r),
         lambda x, t, r=reduction: _bce(x, t, reduction=r), diff=(0, 1),
         grad2=reduction == "mean")
    _row(f"bce_with_logits-{reduction}", _inputs(normal(3, 4), uniform(0, 1, 3, 4)),
         lambda F, x, t, r=reduction: F.binary_cross_entropy_with_logits(x, t, reduction=r),
         lambda x, t, r=reduction: _bce_logits(x, t, reduction=r), diff=(0, 1),
         grad2=reduction == "sum")
_row("binary_cross_entropy-weight", _inputs(uniform(0.05, 0.95, 3, 4), uniform(0, 1, 3, 4),
                                            uniform(0.5, 2, 4)),
     lambda F, x, t, w: F.binary_cross_entropy(x, t, w), lambda x, t, w: _bce(x, t, w))
_row("bce_with_logits-pos_weight-weight", _inputs(normal(3, 4), uniform(0, 1, 3, 4),
                                                  uniform(0.5, 2, 3, 1), uniform(0.5, 3, 4)),
     lambda F, x, t, w, p: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=p),
     lambda x, t, w, p: _bce_logits(x, t, w, pos_weight=p), diff=(0, 1), grad2=True)

for name, param, extra in (("mse", 1.0, {}), ("l1", 1.0, {}), ("smooth_l1", 0.5, {"beta": 0.5}),
                           ("smooth_l1", 1.0, {}), ("huber", 1.5, {"delta": 1.5})):
    for reduction in ("mean", "sum", "none"):
        _row(f"{name}_loss-{reduction}-{param}", _inputs(normal(3, 5), normal(3, 5)),
             lambda F, x, t, n=name, r=reduction, e=extra: getattr(F, f"{n}_loss")(
                 x, t, reduction=r, **e),
             lambda x, t, n=name, r=reduction, p=param: _reduce(_pointwise(n, x - t, p), r),
             diff=(0, 1), grad2=reduction == "mean")
_row("smooth_l1_loss-beta-0", _inputs(normal(3, 5), normal(3, 5)),
     lambda F, x, t: F.smooth_l1_loss(x, t, beta=0.0),
     lambda x, t: np.mean(np.abs(x - t)), diff=(0, 1))
for name in ("mse", "l1", "huber"):
    _row(f"{name}_loss-weighted", _inputs(normal(3, 5), normal(3, 5), uniform(0.5, 2, 3, 5)),
         lambda F, x, t, w, n=name: getattr(F, f"{n}_loss")(x, t, weight=w),
         lambda x, t, w, n=name: (np.mean if n == "huber" else
                                  lambda a: np.sum(a) / np.sum(w))(_pointwise(n, x - t) * w),
         diff=(0, 1))
_row("mse_loss-odd-size", _inputs(normal(37), normal(37)), lambda F, x, t: F.mse_loss(x, t),
     lambda x, t: np.mean((x - t) ** 2))

for reduction in ("batchmean", "sum", "none"):
    _row(f"kl_div-{reduction}", _inputs(normal(3, 4), probs(3, 4)),
         lambda F, x, t, r=reduction: F.kl_div(x, t, reduction=r),
         lambda x, t, r=reduction: _kl_div(x, t, r), diff=(0, 1), grad2=reduction == "sum")
_row("kl_div-log_target", _inputs(normal(3, 4), normal(3, 4)),
     lambda F, x, t: F.kl_div(x, t, reduction="batchmean", log_target=True),
     lambda x, t: _kl_div(x, t, "batchmean", True), diff=(0, 1), grad2=True)
_row("cosine_similarity", _inputs(normal(4, 5), normal(4, 5)),
     lambda F, a, b: F.cosine_similarity(a, b), _cosine, diff=(0, 1), grad2=True)
_row("cosine_similarity-broadcast-dim-1", _inputs(normal(3, 1, 6), normal(4, 6)),
     lambda F, a, b: F.cosine_similarity(a, b, dim=-1), lambda a, b: _cosine(a, b, -1),
     diff=(0, 1))


def _arrays(inputs, dtype, seed=0):
    arrays = inputs(np.random.default_rng(seed))
    return tuple(a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays)


def _strided(a):
    """The same values in a non-contiguous view (step 2 along the last dim)."""
    if a.ndim == 0:
        return a
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


def _tensors(lib, arrays, diff, layout="contiguous"):
    out = []
    for i, a in enumerate(arrays):
        a = _strided(a) if layout == "strided" else a
        t = lib.from_numpy(a)
        out.append(t.requires_grad_() if i in diff else t)
    return out


# --------------------------------------------------------------------------- generic tests

@pytest.mark.parametrize("inputs,call,ref,diff,grad2", CASES)
def test_forward_matches_numpy(inputs, call, ref, diff, grad2):
    arrays = _arrays(inputs, np.float64)
    got = call(F, *_tensors(dn, arrays, ()))
    want = ref(*arrays)
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("inputs,call,ref,diff,grad2", CASES)
def test_gradcheck(inputs, call, ref, diff, grad2):
    tensors = _tensors(dn, _arrays(inputs, np.float64), diff)
    assert dn.autograd.gradcheck(lambda *ts: call(F, *ts), tuple(tensors))


@pytest.mark.parametrize("inputs,call,ref,diff,grad2", [c for c in CASES if c.values[4]])
def test_gradgradcheck(inputs, call, ref, diff, grad2):
    tensors = _tensors(dn, _arrays(inputs, np.float64), diff)

    def weighted(*ts):  # a non-uniform upstream gradient
        out = call(F, *ts)
        return out * dn.tensor(np.linspace(0.5, 2.0, out.numel()).reshape(out.shape))

    assert dn.autograd.gradgradcheck(weighted, tuple(tensors))


TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype,layout", [(np.float32, "contiguous"), (np.float32, "strided"),
                                          (np.float64, "contiguous")],
                         ids=["float32", "float32-strided", "float64"])
@pytest.mark.parametrize("inputs,call,ref,diff,grad2", CASES)
def test_torch_parity(inputs, call, ref, diff, grad2, dtype, layout):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    arrays = _arrays(inputs, dtype)
    ours, theirs = _tensors(dn, arrays, diff, layout), _tensors(torch, arrays, diff, layout)
    got, want = call(F, *ours), call(TF, *theirs)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **TOLERANCE[dtype])
    seed = RNG.standard_normal(tuple(want.shape)).astype(dtype)
    got.backward(dn.from_numpy(seed))
    want.backward(torch.from_numpy(seed))
    for o, t in zip(ours, theirs):
        if t.requires_grad:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **TOLERANCE[dtype])


# --------------------------------------------------------------------------- special values

def _pair(torch, array, requires_grad=True):
    return (dn.from_numpy(array).requires_grad_(requires_grad),
            torch.from_numpy(array).requires_grad_(requires_grad))


def _check_parity(call, arrays, diff=(0,), tolerance=TOLERANCE[np.float32]):
    """call(F, *tensors) in dualnet and torch: same values and same gradients."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    ours, theirs = _tensors(dn, arrays, diff), _tensors(torch, arrays, diff)
    got, want = call(F, *ours), call(TF, *theirs)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **tolerance)
    got.sum().backward()
    want.sum().backward()
    for o, t in zip(ours, theirs):
        if t.requires_grad:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **tolerance)
    return got, ours


def test_all_targets_ignored():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    t = np.full(3, -100)
    got, (leaf, _) = _check_parity(lambda F, x, t: F.cross_entropy(x, t, reduction="sum"), (x, t))
    assert got.item() == 0.0 and not leaf.grad.numpy().any()
    assert np.isnan(F.cross_entropy(dn.from_numpy(x), dn.from_numpy(t)).item())  # 0 / 0, as torch
    assert np.isnan(F.nll_loss(dn.from_numpy(x), dn.from_numpy(t)).item())


def test_masked_logits_and_large_logits():
    inf = np.float32(np.inf)
    x = np.array([[0.0, -inf, 2.0], [-inf, 1.0, -inf], [3e4, -3e4, 0.0]], np.float32)
    t = np.array([0, 1, 1])
    got, (leaf, _) = _check_parity(lambda F, x, t: F.cross_entropy(x, t, reduction="none"), (x, t))
    assert np.isfinite(got.detach().numpy()[:2]).all() and got.detach().numpy()[2] == 6e4
    assert leaf.grad.numpy()[0, 1] == 0.0 and np.isfinite(leaf.grad.numpy()).all()


def test_class_dim_last_is_channels_last():
    """The core op with class_dim=-1 (Keras's layout) equals torch's layout moved."""
    x = RNG.standard_normal((2, 5, 3, 4))
    t = RNG.integers(0, 5, (2, 3, 4))
    w = dn.tensor(RNG.uniform(0.5, 2, 5))
    first = dn.tensor(x, requires_grad=True)
    last = dn.tensor(np.moveaxis(x, 1, -1).copy(), requires_grad=True)
    for op in (lambda v, d: loss_ops.cross_entropy_dim(v, dn.from_numpy(t), d, w,
                                                       label_smoothing=0.1),
               lambda v, d: loss_ops.nll_loss_dim(v, dn.from_numpy(t), d, w, ignore_index=2),
               lambda v, d: loss_ops.cross_entropy_dim(v, dn.softmax(first.detach(), 1).movedim(
                   1, d), d, reduction="none").sum()):
        first.grad = last.grad = None
        a, b = op(first, 1), op(last, -1)
        np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
        a.backward()
        b.backward()
        np.testing.assert_allclose(np.moveaxis(first.grad.numpy(), 1, -1), last.grad.numpy(),
                                   rtol=1e-12, atol=1e-15)


def test_parallel_kernels_match_torch():
    """Above config.PARALLEL_MIN_ELEMENTS the row kernels run their parallel builds."""
    from dualnet.core import config

    rows = config.PARALLEL_MIN_ELEMENTS // 500 + 3
    x = (RNG.standard_normal((rows, 500)) * 3).astype(np.float32)
    t = RNG.integers(0, 500, rows)
    t[::7] = -100
    w = RNG.uniform(0.5, 2, 500).astype(np.float32)
    _check_parity(lambda F, x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.1), (x, t, w),
                  tolerance=dict(rtol=1e-5, atol=1e-8))
    _check_parity(lambda F, x, t: F.cross_entropy(x, t), (x, t),
                  tolerance=dict(rtol=1e-5, atol=1e-8))


def test_dtypes():
    x = dn.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    want = F.cross_entropy(x, dn.tensor([2, 0])).item()
    for dtype in (dn.uint8, dn.int32, dn.int16):  # torch takes int64 and uint8 only: we take all
        assert F.cross_entropy(x, dn.tensor([2, 0], dtype=dtype)).item() == want
    half = x.half().requires_grad_()
    out = F.cross_entropy(half, dn.tensor([2, 0]))  # computed in float32, returned in float16
    assert out.dtype is dn.float16 and abs(out.item() - want) < 1e-3
    out.backward()
    assert half.grad.dtype is dn.float16
    assert F.mse_loss(x.double(), x).dtype is dn.float64  # promoted, as torch
    assert F.mse_loss(x, dn.tensor([[1, 2, 0], [0, -1, 3]])).item() == pytest.approx(0.25 / 6)


def test_binary_cross_entropy_saturated_probabilities():
    x = np.array([0.0, 1.0, 0.5, 1.0], np.float32)
    t = np.array([1.0, 0.0, 0.3, 1.0], np.float32)
    got, (leaf, target) = _check_parity(
        lambda F, x, t: F.binary_cross_entropy(x, t, reduction="none"), (x, t), diff=(0, 1))
    assert got.detach().numpy()[:2].tolist() == [100.0, 100.0]  # log clamped to >= -100
    assert np.isinf(target.grad.numpy()[:2]).all()


def test_binary_cross_entropy_with_logits_is_stable():
    x = np.array([0.0, 1000.0, -1000.0, 20.0], np.float32)
    t = np.array([1.0, 0.0, 1.0, 1.0], np.float32)
    p = np.float32([2.0])
    got, (leaf, _, _) = _check_parity(lambda F, x, t, p: F.binary_cross_entropy_with_logits(
        x, t, reduction="none", pos_weight=p), (x, t, p), diff=(0, 1))
    assert np.isfinite(got.detach().numpy()).all()
    assert leaf.grad.numpy()[0] == pytest.approx(-1.0)  # at 0: 2 * sigmoid(0) - 2 * t


def test_cosine_similarity_small_norm_matches_torch():
    """Below eps torch clamps the norms without changing their gradient; so do we."""
    a = (RNG.standard_normal((3, 4)) * 1e-9)
    b = RNG.standard_normal((3, 4))
    _check_parity(lambda F, a, b: F.cosine_similarity(a, b), (a, b), diff=(0, 1),
                  tolerance=TOLERANCE[np.float64])


def test_regression_broadcast_warns_like_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    x, t = RNG.standard_normal((3, 5)), RNG.standard_normal(5)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match="different to the input size"):
            _check_parity(lambda F, x, t, n=name: getattr(F, n)(x, t), (x, t), diff=(0, 1),
                          tolerance=TOLERANCE[np.float64])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(dn.ones(2), dn.ones(2))  # no warning when the shapes agree
        TF.mse_loss(torch.ones(2), torch.ones(2))


def test_legacy_and_enum_reductions():
    x, t = dn.tensor([[1.0, 2.0], [0.5, 0.0]]), dn.tensor([1, 0])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        total = F.cross_entropy(x, t, size_average=False)
    assert total.item() == pytest.approx(F.cross_entropy(x, t, reduction="sum").item())
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert F.mse_loss(x, x, reduce=False).shape == (2, 2)
    y = dn.tensor([[0.2, 0.8]])
    assert dn.kl_div(y.log(), y, reduction=2).item() == pytest.approx(0.0, abs=1e-7)  # an enum
    assert dn.binary_cross_entropy_with_logits(x, x.sigmoid(), reduction=0).shape == (2, 2)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(y.log(), y)


def test_keras_probability_losses():
    """from_logits=False: probabilities renormalised, clipped to [1e-7, 1 - 1e-7], then logged."""
    p = np.array([[0.0, 0.2, 0.8], [1.0, 0.0, 0.0]])
    q = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    clipped = np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
    got = loss_ops.categorical_crossentropy_probs(dn.tensor(p), dn.tensor(q))
    np.testing.assert_allclose(got.numpy(), -np.sum(q * np.log(clipped), -1), rtol=1e-12)
    got = loss_ops.binary_crossentropy_probs(dn.tensor(p), dn.tensor(q))
    c = np.clip(p, 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(got.numpy(), -(q * np.log(c) + (1 - q) * np.log(1 - c)),
                               rtol=1e-8)


def test_saved_input_modified_in_place_is_an_error():
    leaf = dn.randn(3, 4, requires_grad=True)
    logits = leaf * 1.0
    loss = F.cross_entropy(logits, dn.tensor([0, 1, 2]))
    logits.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_doc_examples():
    result = doctest.testmod(loss_ops, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


# --------------------------------------------------------------------------- bad inputs

def _x(lib, *shape):
    return lib.ones(*(shape or (3, 5)))


def _labels(lib, *values):
    return lib.tensor(list(values))


# (op, call(F, lib), torch's exception class, text the message holds, torch raises it too)
BAD = [
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0, 1, 12)), IndexError,
     "Target 12 is out of bounds", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0, -3, 1)), IndexError,
     "Target -3 is out of bounds", True),
    ("nll_loss", lambda F, m: F.nll_loss(_x(m), _labels(m, 0, 5, 1)), IndexError,
     "Target 5 is out of bounds", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0, 1, 2, 3)), ValueError,
     "Expected input batch_size (3) to match target batch_size (4)", True),
    ("nll_loss", lambda F, m: F.nll_loss(_x(m), _labels(m, 0, 1, 2, 3)), ValueError,
     "Expected input batch_size (3) to match target batch_size (4)", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0.0, 1.0, 2.0)),
     RuntimeError, "expected target dtype", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), m.ones(3, 4, dtype=m.int64)),
     RuntimeError, "multi-target not supported", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m, 2, 5, 4), m.zeros(2, 3, dtype=m.int64)),
     RuntimeError, "Expected target size [2, 4], got [2, 3]", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m, 5), _labels(m, 1, 2)), ValueError,
     "1D target must have size 1", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0, 1, 2), m.ones(4)),
     RuntimeError, "weight tensor should be defined either for all 5 classes", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0, 1, 2), reduction="avg"),
     ValueError, "'avg' is not a valid value for reduction", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _labels(m, 0, 1, 2),
                                                   label_smoothing=1.5), RuntimeError,
     "label_smoothing must be between 0.0 and 1.0", False),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m), _x(m), ignore_index=1), RuntimeError,
     "ignore_index is not supported for floating point target", True),
    ("cross_entropy", lambda F, m: F.cross_entropy(_x(m).long(), _labels(m, 0, 1, 2)),
     RuntimeError, "floating point", False),  # torch: NotImplementedError from log_softmax
    ("cross_entropy", lambda F, m: F.cross_entropy(m.tensor(1.0), _labels(m, 0)), ValueError,
     "Expected 1 or more dimensions (got 0)", False),
    ("nll_loss", lambda F, m: F.nll_loss(_x(m), _labels(m, 0, 1, 2), reduction=None),
     ValueError, "None is not a valid value for reduction", True),
    ("binary_cross_entropy", lambda F, m: F.binary_cross_entropy(m.tensor([1.5]),
                                                                 m.tensor([1.0])), RuntimeError,
     "between 0 and 1", True),
    ("binary_cross_entropy", lambda F, m: F.binary_cross_entropy(m.tensor([0.5, 0.5]),
                                                                 m.tensor([1.0])), ValueError,
     "different to the input size", True),
    ("binary_cross_entropy_with_logits", lambda F, m: F.binary_cross_entropy_with_logits(
        _x(m), m.ones(5)), ValueError, "must be the same as input size", True),
    ("binary_cross_entropy_with_logits", lambda F, m: F.binary_cross_entropy_with_logits(
        _x(m), _x(m), pos_weight=m.ones(4)), RuntimeError, "pos_weight", True),
    ("mse_loss", lambda F, m: F.mse_loss(_x(m), m.ones(4)), RuntimeError, "[3, 5] and [4]",
     True),
    ("mse_loss", lambda F, m: F.mse_loss(_x(m), _x(m), reduction="batchmean"), ValueError,
     "is not a valid value for reduction", False),  # torch: a KeyError-free ValueError later
    ("mse_loss", lambda F, m: F.mse_loss(_x(m), _x(m), weight=m.ones(5)), ValueError,
     "Weights and input must have the same size", True),
    ("l1_loss", lambda F, m: F.l1_loss(_x(m), 1.0), TypeError, "target must be a Tensor", False),
    ("smooth_l1_loss", lambda F, m: F.smooth_l1_loss(_x(m), _x(m), beta=-1.0), RuntimeError,
     "negative values for beta", True),
    ("huber_loss", lambda F, m: F.huber_loss(_x(m), _x(m), delta=0.0), RuntimeError,
     "non-positive values for delta", True),
    ("kl_div", lambda F, m: F.kl_div(_x(m), _x(m), reduction="avg"), ValueError,
     "is not a valid value for reduction", True),
    ("kl_div", lambda F, m: F.kl_div(_x(m), m.ones(4), reduction="sum"), RuntimeError,
     "[3, 5] and [4]", True),
    ("cosine_similarity", lambda F, m: F.cosine_similarity(_x(m), m.ones(4, 5)), RuntimeError,
     "[3, 5] and [4, 5]", True),
    ("cosine_similarity", lambda F, m: F.cosine_similarity(_x(m), _x(m), dim=2), IndexError,
     "out of range", True),
    ("cosine_similarity", lambda F, m: F.cosine_similarity(_x(m).long(), _x(m).long()),
     RuntimeError, "floating point", True),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("op,call,error,says,torch_too", BAD,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(BAD)])
def test_bad_input(op, call, error, says, torch_too):
    with pytest.raises(error) as info:
        call(F, dn)
    assert op in str(info.value) and says in str(info.value)
    if torch_too:
        torch = pytest.importorskip("torch")
        import torch.nn.functional as TF

        with pytest.raises(error):
            call(TF, torch)


def test_every_public_op_has_a_bad_input_row():
    assert set(loss_ops.FUNCTIONAL) <= {row[0] for row in BAD}
    assert set(loss_ops.__all__) <= set(loss_ops.FUNCTIONAL)
    for name in loss_ops.FUNCTIONAL:
        assert getattr(F, name) is getattr(loss_ops, name)
    for name in loss_ops.__all__:
        assert getattr(dn, name) is getattr(loss_ops, name)
