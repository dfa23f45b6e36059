"""nn.init: each initialiser's statistics on large tensors match its formula, fans and gains match
torch's, errors use torch's classes, and dn.manual_seed makes every draw repeat."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from dualnet.nn import init


def _np(t):
    return t.detach().numpy().astype(np.float64)


NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_calculate_gain_values(name):
    expected = {"tanh": 5 / 3, "relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + 0.01 ** 2)),
                "selu": 0.75}.get(name, 1.0)
    assert init.calculate_gain(name) == pytest.approx(expected)


@pytest.mark.parity
@pytest.mark.parametrize("name,param", [(n, None) for n in NONLINEARITIES]
                         + [("leaky_relu", 0.2), ("leaky_relu", 3), ("leaky_relu", math.sqrt(5))])
def test_calculate_gain_matches_torch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", "big")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape,fans", [((5, 3), (3, 5)), ((8, 4, 3, 3), (36, 72)),
                                        ((2, 6, 5), (30, 10)), ((4, 2, 1, 2, 3), (12, 24))])
def test_fans(shape, fans):
    assert init._calculate_fan_in_and_fan_out(dn.zeros(*shape)) == fans


@pytest.mark.parity
def test_fans_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(5, 3), (8, 4, 3, 3), (2, 6, 5), (1, 1)]:
        assert init._calculate_fan_in_and_fan_out(dn.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_fan_needs_two_dims():
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_):
        with pytest.raises(ValueError):
            fn(dn.zeros(5))
    with pytest.raises(ValueError):
        init._calculate_fan_in_and_fan_out(dn.zeros(()))
    with pytest.raises(ValueError):
        init.kaiming_uniform_(dn.zeros(3, 3), mode="fan_avg")


def test_uniform_and_normal_statistics():
    t = dn.empty(400, 500)
    init.uniform_(t, -2.0, 3.0)
    a = _np(t)
    assert a.min() >= -2.0 and a.max() < 3.0
    assert a.mean() == pytest.approx(0.5, abs=0.02)
    assert a.std() == pytest.approx(5 / math.sqrt(12), rel=0.01)
    init.normal_(t, mean=1.5, std=0.25)
    a = _np(t)
    assert a.mean() == pytest.approx(1.5, abs=0.005)
    assert a.std() == pytest.approx(0.25, rel=0.01)
    assert init.uniform_(t) is t


def test_xavier_statistics():
    t = dn.empty(300, 700)
    gain = 1.7
    init.xavier_uniform_(t, gain=gain)
    bound = gain * math.sqrt(6 / (300 + 700))
    a = _np(t)
    assert np.abs(a).max() <= bound * (1 + 1e-6)
    assert np.abs(a).max() > 0.99 * bound
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    init.xavier_normal_(t, gain=gain)
    assert _np(t).std() == pytest.approx(gain * math.sqrt(2 / 1000), rel=0.01)
    assert _np(t).mean() == pytest.approx(0.0, abs=0.002)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("leaky_relu", math.sqrt(5)), ("relu", 0),
                                            ("leaky_relu", 0), ("tanh", 0)])
def test_kaiming_statistics(mode, nonlinearity, a):
    t = dn.empty(200, 50, 3, 3)
    fan = 50 * 9 if mode == "fan_in" else 200 * 9
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    arr = _np(t)
    assert np.abs(arr).max() <= math.sqrt(3) * std * (1 + 1e-6)
    assert arr.std() == pytest.approx(std, rel=0.01)
    init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    assert _np(t).std() == pytest.approx(std, rel=0.01)


def test_linear_default_init_bound():
    # torch's Linear: kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    t = dn.empty(256, 100)
    init.kaiming_uniform_(t, a=math.sqrt(5))
    assert np.abs(_np(t)).max() == pytest.approx(1 / math.sqrt(100), rel=0.01)


def test_kaiming_on_empty_tensor_warns():
    with pytest.warns(UserWarning):
        init.kaiming_uniform_(dn.empty(0, 3))


def test_trunc_normal_bounds_and_moments():
    t = dn.empty(500, 400)
    init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=2.0)
    arr = _np(t)
    assert arr.min() >= -1.0 and arr.max() <= 2.0
    # moments of a normal truncated to [alpha, beta] (in standard units)
    alpha, beta = -1.5, 1.5
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    mass = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    var = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass
    assert arr.mean() == pytest.approx(0.5, abs=0.01)
    assert arr.std() == pytest.approx(math.sqrt(var), rel=0.01)
    small = dn.empty(1000)
    init.trunc_normal_(small, std=0.02)  # bounds are absolute: +-2 is +-100 std here
    assert _np(small).std() == pytest.approx(0.02, rel=0.1)


def test_constant_ones_zeros_eye_dirac():
    t = dn.empty(3, 4)
    assert init.constant_(t, 2.5) is t and (_np(t) == 2.5).all()
    init.ones_(t)
    assert (_np(t) == 1).all()
    init.zeros_(t)
    assert (_np(t) == 0).all()
    init.eye_(t)
    assert np.array_equal(_np(t), np.eye(3, 4))
    with pytest.raises(ValueError):
        init.eye_(dn.empty(2, 2, 2))
    w = dn.empty(4, 2, 3, 3)
    init.dirac_(w, groups=2)
    x = dn.randn(1, 2, 5, 5)
    import dualnet.nn.functional as F
    out = F.conv2d(x, w, padding=1, groups=1)
    assert np.allclose(out.detach().numpy()[:, :2], x.numpy())
    with pytest.raises(ValueError):
        init.dirac_(dn.empty(3, 3))
    with pytest.raises(ValueError):
        init.dirac_(dn.empty(3, 2, 3), groups=2)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (8, 2, 3, 3)])
def test_orthogonal(shape):
    t = dn.empty(*shape)
    init.orthogonal_(t, gain=2.0)
    flat = _np(t).reshape(shape[0], -1)
    rows, cols = flat.shape
    if rows <= cols:
        assert np.allclose(flat @ flat.T, 4 * np.eye(rows), atol=1e-5)
    else:
        assert np.allclose(flat.T @ flat, 4 * np.eye(cols), atol=1e-5)
    with pytest.raises(ValueError):
        init.orthogonal_(dn.empty(5))


def test_sparse():
    t = dn.empty(10, 6)
    init.sparse_(t, sparsity=0.3, std=0.01)
    arr = _np(t)
    assert ((arr == 0).sum(axis=0) == 3).all()


def test_manual_seed_reproduces_and_generator_is_independent():
    t1, t2 = dn.empty(5, 5), dn.empty(5, 5)
    dn.manual_seed(7)
    init.kaiming_uniform_(t1)
    init.normal_(t2)
    first = (_np(t1), _np(t2))
    dn.manual_seed(7)
    init.kaiming_uniform_(t1)
    init.normal_(t2)
    assert np.array_equal(first[0], _np(t1)) and np.array_equal(first[1], _np(t2))
    g = dn.Generator().manual_seed(3)
    init.uniform_(t1, generator=g)
    a = _np(t1)
    init.uniform_(t1, generator=dn.Generator().manual_seed(3))
    assert np.array_equal(a, _np(t1))


def test_init_of_parameter_stays_leaf_and_bumps_version():
    p = nn.Parameter(dn.empty(3, 3))
    version = p._version.value
    out = init.xavier_uniform_(p)
    assert out is p and p.is_leaf and p.requires_grad and p.grad_fn is None
    assert p._version.value > version
    init.normal_(p.to(dn.float64))  # works on any float dtype
    h = nn.Parameter(dn.empty(4, dtype=dn.float64))
    init.uniform_(h)
    assert h.dtype == dn.float64
    with pytest.raises(TypeError):
        init.uniform_(np.zeros(3))
