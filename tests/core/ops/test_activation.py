"""Activations, dropout, embedding / one_hot and pad: NumPy references, float64 gradchecks,
torch parity, and bad inputs."""
import math

import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F


def _erf(x):
    return np.vectorize(math.erf)(x)


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ACTIVATIONS = [  # (name, kwargs, NumPy reference)
    ("relu", {}, lambda x: np.maximum(x, 0)),
    ("relu6", {}, lambda x: np.clip(x, 0, 6)),
    ("leaky_relu", {"negative_slope": 0.2}, lambda x: np.where(x > 0, x, 0.2 * x)),
    ("elu", {"alpha": 1.5}, lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    ("selu", {}, lambda x: SCALE * np.where(x > 0, x, ALPHA * np.expm1(x))),
    ("celu", {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x / 0.5))),
    ("gelu", {}, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    ("gelu", {"approximate": "tanh"},
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    ("silu", {}, lambda x: x / (1 + np.exp(-x))),
    ("softplus", {"beta": 2.0, "threshold": 5.0}, lambda x: _softplus(x, 2.0, 5.0)),
    ("mish", {}, lambda x: x * np.tanh(_softplus(x))),
    ("hardtanh", {"min_val": -0.5, "max_val": 0.7}, lambda x: np.clip(x, -0.5, 0.7)),
    ("hardsigmoid", {}, lambda x: np.clip(x + 3, 0, 6) / 6),
    ("hardswish", {}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("logsigmoid", {}, lambda x: -np.log1p(np.exp(-x))),
    ("softsign", {}, lambda x: x / (1 + np.abs(x))),
    ("sigmoid", {}, lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", {}, np.tanh),
]
IDS = [f"{name}{'-' + '-'.join(map(str, kw.values())) if kw else ''}" for name, kw, _ in ACTIVATIONS]


def _inputs(dtype, shape=(3, 7), seed=0):
    # away from the kinks at 0, +-3 and the hardtanh bounds, where one-sided derivatives differ
    x = np.random.default_rng(seed).uniform(-4, 4, shape)
    for kink in (0.0, 3.0, -3.0, -0.5, 0.7, 6.0):
        x = np.where(np.abs(x - kink) < 1e-3, x + 0.01, x)
    return x.astype(dtype)


@pytest.mark.parametrize("name, kwargs, ref", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_matches_numpy(name, kwargs, ref, dtype):
    x = _inputs(dtype)
    got = getattr(F, name)(dn.tensor(x), **kwargs)
    assert got.dtype == getattr(dn, dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.numpy(), ref(x.astype(np.float64)), **tol)


@pytest.mark.parametrize("name, kwargs, ref", ACTIVATIONS, ids=IDS)
def test_gradcheck(name, kwargs, ref):
    x = dn.tensor(_inputs("float64", (2, 5)), requires_grad=True)
    assert dn.autograd.gradcheck(lambda t: getattr(F, name)(t, **kwargs), (x,))


@pytest.mark.parametrize("name", ["gelu", "silu", "softplus", "elu", "mish"])
def test_second_derivatives(name):
    x = dn.tensor(_inputs("float64", (2, 3), seed=1), requires_grad=True)
    assert dn.autograd.gradgradcheck(getattr(F, name), (x,))


@pytest.mark.parametrize("name, kwargs, ref", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(name, kwargs, ref, dtype):
    torch = pytest.importorskip("torch")
    x = _inputs(dtype, (4, 9), seed=2)
    g = np.random.default_rng(3).standard_normal((4, 9)).astype(dtype)
    ours = dn.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, expected = getattr(F, name)(ours, **kwargs), getattr(torch.nn.functional, name)(theirs, **kwargs)
    out.backward(dn.tensor(g))
    expected.backward(torch.tensor(g))
    # torch evaluates hardsigmoid's 1/6 slope in float32 even for float64 inputs
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" or name == "hardsigmoid" else \
        dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **tol)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "silu", "hardtanh",
                                  "hardswish", "hardsigmoid", "mish", "relu6", "celu"])
def test_inplace_variants_record_like_out_of_place(name):
    x = dn.tensor(_inputs("float64", (2, 4)), requires_grad=True)
    expected = getattr(F, name)(x * 1.0)
    expected.sum().backward()
    want = x.grad.clone()
    x.grad = None
    y = x * 1.0
    returned = getattr(F, name)(y, inplace=True)
    assert returned is y
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), want.numpy())


def test_softplus_is_linear_above_the_threshold_and_never_overflows():
    x = dn.tensor([-1000.0, 0.0, 19.0, 21.0, 1000.0])
    np.testing.assert_allclose(F.softplus(x).numpy(),
                               [0.0, math.log(2), math.log1p(math.exp(19)), 21.0, 1000.0],
                               rtol=1e-6)


@pytest.mark.parametrize("call, error", [
    (lambda: F.gelu(dn.ones(2), approximate="fast"), ValueError),
    (lambda: F.leaky_relu([1.0, 2.0]), TypeError),
    (lambda: F.elu(dn.ones(2, dtype=dn.int64)), RuntimeError),
    (lambda: F.hardtanh(dn.ones(2), 1.0, -1.0), ValueError),
    (lambda: F.relu(dn.ones(2, requires_grad=True), inplace=True), RuntimeError),
])
def test_activation_bad_input(call, error):
    with pytest.raises(error):
        call()


# ----------------------------------------------------------------------------- dropout

def test_dropout_scales_kept_values_and_is_reproducible():
    x = dn.ones(1000)
    dn.manual_seed(7)
    first = F.dropout(x, 0.3)
    dn.manual_seed(7)
    second = F.dropout(x, 0.3)
    assert first.tolist() == second.tolist()
    kept = first.numpy()[first.numpy() != 0]
    np.testing.assert_allclose(kept, np.float32(1 / 0.7))
    assert 0.2 < float((first == 0).float().mean()) < 0.4


def test_dropout_eval_and_p0_are_identity_and_p1_zeroes():
    x = dn.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert float(F.dropout(x, 1.0).abs().sum()) == 0.0


def test_dropout_gradient_is_the_same_mask():
    x = dn.randn(50, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    mask = (y.detach() != 0).float() * 2.0
    np.testing.assert_allclose(x.grad.numpy(), mask.numpy())


def test_dropout2d_drops_whole_channels():
    y = F.dropout2d(dn.ones(8, 16, 3, 3), 0.5)
    per_channel = y.numpy().reshape(8, 16, 9)
    assert np.all((per_channel == per_channel[..., :1]))


@pytest.mark.parametrize("call, error", [
    (lambda: F.dropout(dn.ones(3), 1.5), ValueError),
    (lambda: F.dropout(dn.ones(3), -0.1), ValueError),
    (lambda: F.dropout2d(dn.ones(3), 0.5), RuntimeError),
    (lambda: F.dropout("x", 0.5), TypeError),
])
def test_dropout_bad_input(call, error):
    with pytest.raises(error, match="dropout"):
        call()


# ----------------------------------------------------------------------------- embedding

def test_embedding_matches_torch_and_skips_padding_row():
    torch = pytest.importorskip("torch")
    weight = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    idx = np.array([[1, 2, 1], [0, 9, 1]])
    ours = dn.tensor(weight, requires_grad=True)
    theirs = torch.tensor(weight, requires_grad=True)
    out = F.embedding(dn.tensor(idx), ours, padding_idx=1)
    expected = torch.nn.functional.embedding(torch.tensor(idx), theirs, padding_idx=1)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    out.backward(dn.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_embedding_gradient_only_in_looked_up_rows():
    w = dn.randn(6, 3, dtype=dn.float64, requires_grad=True)
    F.embedding(dn.tensor([4, 4, 0]), w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy()[:, 0], [1, 0, 0, 0, 2, 0])
    assert dn.autograd.gradcheck(lambda t: F.embedding(dn.tensor([[1, 3], [3, 0]]), t), (w,))


def test_one_hot():
    assert F.one_hot(dn.tensor([0, 2, 1])).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    out = F.one_hot(dn.tensor([[1], [3]]), 5)
    assert out.shape == (2, 1, 5) and out.dtype == dn.int64


@pytest.mark.parametrize("call, error", [
    (lambda: F.embedding(dn.tensor([10]), dn.ones(10, 2)), IndexError),
    (lambda: F.embedding(dn.tensor([1.0]), dn.ones(10, 2)), RuntimeError),
    (lambda: F.embedding(dn.tensor([1]), dn.ones(10)), RuntimeError),
    (lambda: F.one_hot(dn.tensor([0, 5]), 3), RuntimeError),
    (lambda: F.one_hot(dn.tensor([-1]), 3), RuntimeError),
    (lambda: F.one_hot(dn.tensor([0.5]), 3), RuntimeError),
])
def test_embedding_bad_input(call, error):
    with pytest.raises(error):
        call()


# ----------------------------------------------------------------------------- pad

PADS = [("constant", (1, 2)), ("constant", (1, 2, 0, 3)), ("constant", (-1, 2, 1, -1)),
        ("reflect", (2, 1, 1, 2)), ("replicate", (3, 0, 2, 2)), ("circular", (1, 2, 2, 1)),
        ("reflect", (1, 1)), ("replicate", (0, 2))]


@pytest.mark.parametrize("mode, pad", PADS)
def test_pad_matches_numpy(mode, pad):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    got = F.pad(dn.tensor(x), pad, mode, value=0.0 if mode == "constant" else None).numpy()
    if min(pad) >= 0:
        widths = [(0, 0)] * 4
        for k in range(len(pad) // 2):
            widths[3 - k] = (pad[2 * k], pad[2 * k + 1])
        np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                   "circular": "wrap"}[mode]
        np.testing.assert_array_equal(got, np.pad(x, widths, mode=np_mode))
    x64 = dn.tensor(x[:1, :1, :3, :4], requires_grad=True)
    assert dn.autograd.gradcheck(lambda t: F.pad(t, pad, mode), (x64,))


@pytest.mark.parametrize("mode, pad", [p for p in PADS if len(p[1]) == 4])
def test_pad_matches_torch(mode, pad):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    ours, theirs = dn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.pad(ours, pad, mode)
    expected = torch.nn.functional.pad(theirs, pad, mode)
    g = np.random.default_rng(2).standard_normal(tuple(expected.shape)).astype(np.float32)
    out.backward(dn.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, error", [
    (lambda: F.pad(dn.ones(2, 3), (1,)), ValueError),
    (lambda: F.pad(dn.ones(2, 3), (1, 1, 1, 1, 1, 1)), ValueError),
    (lambda: F.pad(dn.ones(1, 2, 3), (3, 3), "reflect"), RuntimeError),
    (lambda: F.pad(dn.ones(2, 3), (1, 1), "wrap"), NotImplementedError),
    (lambda: F.pad(dn.ones(2, 3), (-2, -2)), RuntimeError),
    (lambda: F.pad(dn.ones(2, 3), (1.5, 1)), TypeError),
])
def test_pad_bad_input(call, error):
    with pytest.raises(error, match="pad"):
        call()
