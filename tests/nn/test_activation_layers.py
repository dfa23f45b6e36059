"""nn activation layers: outputs and input gradients equal torch's, reprs are torch's, `inplace`
writes into the input, Softmax without dim picks torch's legacy dim (with a warning)."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

# (constructor args as text, evaluated against both `nn` namespaces)
CASES = [
    "ReLU()", "ReLU(inplace=True)", "ReLU6()", "ReLU6(True)", "LeakyReLU()",
    "LeakyReLU(0.2, inplace=True)", "ELU()", "ELU(alpha=0.5)", "ELU(2.0, True)", "SELU()",
    "SELU(inplace=True)", "CELU()", "CELU(1.5, True)", "GELU()", "GELU(approximate='tanh')",
    "SiLU()", "SiLU(inplace=True)", "Mish()", "Softplus()", "Softplus(beta=2, threshold=1.5)",
    "Hardtanh()", "Hardtanh(-2.0, 0.5)", "Hardtanh(min_val=-0.5, max_val=3, inplace=True)",
    "Hardsigmoid()", "Hardsigmoid(inplace=True)", "Hardswish()", "Hardswish(inplace=True)",
    "Sigmoid()", "Tanh()", "LogSigmoid()", "Softsign()", "Tanhshrink()", "Softmax(dim=1)",
    "Softmax(-1)", "LogSoftmax(dim=0)", "LogSoftmax(1)", "Softmin(dim=1)",
]


def _pair(text):
    torch = pytest.importorskip("torch")
    return eval("nn." + text), eval("torch.nn." + text), torch  # noqa: S307 (fixed literals)


@pytest.mark.parametrize("text", CASES)
def test_repr_matches_torch(text):
    ours, theirs, _ = _pair(text)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("text", CASES)
def test_forward_and_backward_match_torch(text):
    ours, theirs, torch = _pair(text)
    rng = np.random.default_rng(0)
    data = rng.normal(0, 3, (3, 5)).astype(np.float64)
    seed = rng.normal(size=(3, 5))
    x = dn.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    # an in-place layer may not write into a leaf that requires grad: feed it a copy
    out, tout = ours(x * 1.0), theirs(tx * 1.0)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    (out * dn.tensor(seed)).sum().backward()
    (tout * torch.tensor(seed)).sum().backward()
    # rtol 1e-7: torch's float64 hardsigmoid backward scales by 1/6 rounded to float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-12)


# At the kinks (clamp bounds, hardswish at +-3, softplus at 0) torch takes the one-sided
# slope of the flat side; the points sit exactly on them.
@pytest.mark.parametrize("text", CASES)
def test_gradient_at_the_kinks_matches_torch(text):
    ours, theirs, torch = _pair(text)
    points = [0.0, -3.0, 3.0, 6.0, -1.0, 1.0, -2.0, 0.5, -0.5, 20.0, 1.5]
    x = dn.tensor([points], dtype=dn.float64, requires_grad=True)
    tx = torch.tensor([points], dtype=torch.float64, requires_grad=True)
    ours(x * 1.0).sum().backward()
    theirs(tx * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("text", [t for t in CASES if "inplace=True" in t or "True)" in t])
def test_inplace_writes_into_the_input(text):
    layer = eval("nn." + text)  # noqa: S307
    x = dn.tensor([-2.0, -0.5, 0.5, 4.0])
    before = x.numpy().copy()
    out = layer(x)
    np.testing.assert_array_equal(x.numpy(), out.numpy())
    assert not np.array_equal(before, x.numpy())


def test_not_inplace_leaves_the_input():
    x = dn.tensor([-2.0, 4.0])
    nn.ReLU()(x)
    np.testing.assert_array_equal(x.numpy(), [-2.0, 4.0])


@pytest.mark.parametrize("ndim, dim", [(1, 0), (2, 1), (3, 0), (4, 1)])
def test_softmax_without_dim_uses_torchs_legacy_choice(ndim, dim):
    x = dn.tensor(np.random.default_rng(1).normal(size=(2,) * ndim))
    with pytest.warns(UserWarning, match="dim"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.numpy(), nn.Softmax(dim)(x).numpy())


def test_bad_arguments():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(TypeError, match="Tensor"):
        nn.ReLU6()([1.0, 2.0])


def test_no_parameters_and_float32_in_float32_out():
    layer = nn.SiLU()
    assert list(layer.parameters()) == [] and layer.state_dict() == {}
    assert layer(dn.ones(2)).dtype == dn.float32
