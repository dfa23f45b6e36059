"""scaled_dot_product_attention: NumPy reference, gradcheck, torch parity, errors."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F


def _ref(q, k, v, mask=None, causal=False, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        mask = np.tril(np.ones(scores.shape[-2:], dtype=bool))
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)) @ v


def _qkv(seed=0, dtype=np.float64, shape=(2, 3, 4, 5, 8, 6)):
    b, h, lq, lk, e, ev = shape
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in ((b, h, lq, e), (b, h, lk, e),
                                                          (b, h, lk, ev))]


MASK = np.random.default_rng(9).random((4, 5)) > 0.3
MASK[:, 0] = True  # no fully masked row
CASES = {"plain": {}, "causal": {"is_causal": True}, "bool mask": {"attn_mask": MASK},
         "float mask": {"attn_mask": MASK * -2.0}, "scale": {"scale": 0.3}}


def _ours(kwargs):
    return {k: dn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_forward_matches_numpy(case):
    q, k, v = _qkv()
    kwargs = CASES[case]
    got = F.scaled_dot_product_attention(dn.tensor(q), dn.tensor(k), dn.tensor(v), **_ours(kwargs))
    want = _ref(q, k, v, kwargs.get("attn_mask"), kwargs.get("is_causal", False),
                kwargs.get("scale"))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_gradcheck(case):
    tensors = [dn.tensor(a, requires_grad=True) for a in _qkv(1, shape=(1, 1, 4, 5, 3, 2))]
    kwargs = _ours(CASES[case])
    assert dn.autograd.gradcheck(lambda *t: F.scaled_dot_product_attention(*t, **kwargs),
                                 tuple(tensors))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_matches_torch(case, dtype, tol):
    torch = pytest.importorskip("torch")
    arrays = _qkv(2, dtype)
    ours = [dn.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    kwargs = {k: v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype != bool else v
              for k, v in CASES[case].items()}  # torch wants a float mask in the query's dtype
    out = F.scaled_dot_product_attention(*ours, **_ours(kwargs))
    expected = torch.nn.functional.scaled_dot_product_attention(
        *theirs, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                    for k, v in kwargs.items()})
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=tol,
                               atol=tol)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def test_dropout_is_reproducible_under_manual_seed():
    q, k, v = (dn.tensor(a) for a in _qkv(3))
    dn.manual_seed(1)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    dn.manual_seed(1)
    second = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert dn.equal(first, second)
    assert not dn.allclose(first, F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("call, error", [
    (lambda: F.scaled_dot_product_attention(dn.ones(2, 4), dn.ones(3, 5), dn.ones(3, 5)),
     RuntimeError),
    (lambda: F.scaled_dot_product_attention(dn.ones(2, 4), dn.ones(3, 4), dn.ones(2, 5)),
     RuntimeError),
    (lambda: F.scaled_dot_product_attention(dn.ones(4), dn.ones(4), dn.ones(4)), RuntimeError),
    (lambda: F.scaled_dot_product_attention(dn.ones(2, 4), dn.ones(3, 4), dn.ones(3, 5),
                                            attn_mask=dn.ones(2, 3, dtype=dn.bool),
                                            is_causal=True), RuntimeError),
    (lambda: F.scaled_dot_product_attention([1.0], dn.ones(3, 4), dn.ones(3, 5)), TypeError),
])
def test_bad_input(call, error):
    with pytest.raises(error, match="scaled_dot_product_attention"):
        call()
