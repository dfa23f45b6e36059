"""PReLU, RReLU, Threshold, Hardshrink, Softshrink, GLU and PairwiseDistance (layers and their
`F.` forms): forward values and gradients equal torch's (float32 and float64, at the kinks too),
float64 gradchecks, torch's reprs and state_dict, RReLU's train / eval contract under
`dn.manual_seed`, in-place variants, and the errors torch raises (class, and a message naming
the op and the shapes)."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet import nn

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


def _torch():
    return pytest.importorskip("torch")


def _data(shape, seed=0, dtype="float64"):
    """Normal draws nudged off the kinks (0, +-0.5, +-1) where one-sided slopes differ."""
    x = np.random.default_rng(seed).normal(0, 1.5, shape)
    for kink in (0.0, 0.5, -0.5, 1.0, -1.0, 0.3):
        x = np.where(np.abs(x - kink) < 1e-3, x + 0.01, x)
    return x.astype(dtype)


# name -> (input shapes, function of (module, *tensors)) run through both `dn` and `torch`
FUNCTIONAL = {
    "threshold": ([(3, 5)], lambda m, x: m.nn.functional.threshold(x, 0.3, -2.0)),
    "hardshrink": ([(3, 5)], lambda m, x: m.nn.functional.hardshrink(x)),
    "hardshrink-1": ([(3, 5)], lambda m, x: m.nn.functional.hardshrink(x, 1.0)),
    "softshrink": ([(3, 5)], lambda m, x: m.nn.functional.softshrink(x)),
    "softshrink-1": ([(4,)], lambda m, x: m.nn.functional.softshrink(x, lambd=1.0)),
    "prelu-one": ([(2, 3, 4), (1,)], lambda m, x, w: m.nn.functional.prelu(x, w)),
    "prelu-channels": ([(2, 3, 2, 2), (3,)], lambda m, x, w: m.nn.functional.prelu(x, w)),
    "prelu-2d": ([(5, 3), (3,)], lambda m, x, w: m.nn.functional.prelu(x, w)),
    "prelu-1d": ([(6,), (1,)], lambda m, x, w: m.nn.functional.prelu(x, w)),
    "prelu-0d-weight": ([(2, 3), ()], lambda m, x, w: m.nn.functional.prelu(x, w)),
    "glu": ([(3, 6)], lambda m, x: m.nn.functional.glu(x)),
    "glu-dim0": ([(4, 3)], lambda m, x: m.nn.functional.glu(x, 0)),
    "glu-dim1": ([(2, 4, 3)], lambda m, x: m.nn.functional.glu(x, dim=1)),
    "rrelu-eval": ([(3, 5)], lambda m, x: m.nn.functional.rrelu(x, 0.1, 0.4)),
    "pairwise": ([(4, 5), (4, 5)], lambda m, a, b: m.nn.functional.pairwise_distance(a, b)),
    "pairwise-p1-keepdim": ([(4, 5), (4, 5)],
                            lambda m, a, b: m.nn.functional.pairwise_distance(a, b, 1.0,
                                                                              keepdim=True)),
    "pairwise-p3-eps": ([(2, 3, 5), (2, 3, 5)],
                        lambda m, a, b: m.nn.functional.pairwise_distance(a, b, p=3, eps=1e-3)),
    "pairwise-pinf": ([(4, 5), (4, 5)],
                      lambda m, a, b: m.nn.functional.pairwise_distance(a, b, float("inf"))),
    "pairwise-broadcast": ([(4, 5), (5,)],
                           lambda m, a, b: m.nn.functional.pairwise_distance(a, b)),
    "pairwise-broadcast-3d": ([(5,), (2, 3, 5)],
                              lambda m, a, b: m.nn.functional.pairwise_distance(a, b)),
    "pairwise-1d": ([(5,), (5,)], lambda m, a, b: m.nn.functional.pairwise_distance(a, b)),
    "pairwise-1d-keepdim": ([(5,), (5,)],
                            lambda m, a, b: m.nn.functional.pairwise_distance(a, b,
                                                                              keepdim=True)),
}
NAMES = list(FUNCTIONAL)


def _both(name, dtype, seed=0):
    """(dn leaves, torch leaves) built from the same random arrays."""
    torch = _torch()
    shapes, _ = FUNCTIONAL[name]
    arrays = [_data(s, seed + i, dtype) for i, s in enumerate(shapes)]
    ours = [dn.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs, torch


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_functional_forward_and_gradients_match_torch(name, dtype):
    ours, theirs, torch = _both(name, dtype)
    fn = FUNCTIONAL[name][1]
    out, tout = fn(dn, *ours), fn(torch, *theirs)
    assert tuple(out.shape) == tuple(tout.shape) and out.dtype == getattr(dn, dtype)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **TOL[dtype])
    upstream = np.random.default_rng(9).standard_normal(tuple(tout.shape)).astype(dtype)
    (out * dn.tensor(upstream)).sum().backward()
    (tout * torch.tensor(upstream)).sum().backward()
    for leaf, tleaf in zip(ours, theirs):  # the input's and PReLU's weight's gradients
        np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name):
    shapes, fn = FUNCTIONAL[name]
    leaves = [dn.tensor(_data(s, 3 + i), requires_grad=True) for i, s in enumerate(shapes)]
    assert dn.autograd.gradcheck(lambda *t: fn(dn, *t), tuple(leaves))


def test_gradcheck_rrelu_training_under_a_fixed_seed():
    def run(x):
        dn.manual_seed(5)  # the same slopes on every evaluation
        return F.rrelu(x, 0.1, 0.6, training=True)

    x = dn.tensor(_data((3, 4), 4), requires_grad=True)
    assert dn.autograd.gradcheck(run, (x,))


def test_second_derivatives_of_the_smooth_ones():
    x = dn.tensor(_data((2, 4), 6), requires_grad=True)
    assert dn.autograd.gradgradcheck(F.glu, (x,))
    b = dn.tensor(_data((2, 4), 7), requires_grad=True)
    assert dn.autograd.gradgradcheck(lambda a, c: F.pairwise_distance(a, c), (x, b))


# On the kinks torch picks a side: threshold's gradient is 0 at x == threshold, hard- and
# softshrink's 0 at +-lambd, prelu's and the eval rrelu's the slope at 0.
KINKS = [-2.0, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 2.0]
KINK_CASES = {
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.5, 7.0),
    "threshold-0": lambda m, x: m.nn.functional.threshold(x, 0.0, 0.0),
    "hardshrink": lambda m, x: m.nn.functional.hardshrink(x),
    "hardshrink-1": lambda m, x: m.nn.functional.hardshrink(x, 1.0),
    "softshrink": lambda m, x: m.nn.functional.softshrink(x),
    "softshrink-1": lambda m, x: m.nn.functional.softshrink(x, 1.0),
    "softshrink-0": lambda m, x: m.nn.functional.softshrink(x, 0.0),
    "rrelu-eval": lambda m, x: m.nn.functional.rrelu(x),
    "prelu": lambda m, x: m.nn.functional.prelu(x, m.tensor([0.2], dtype=x.dtype)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(KINK_CASES))
def test_values_and_gradients_on_the_kinks_match_torch(name, dtype):
    torch = _torch()
    x = dn.tensor(np.array(KINKS, dtype), requires_grad=True)
    tx = torch.tensor(np.array(KINKS, dtype), requires_grad=True)
    out, tout = KINK_CASES[name](dn, x), KINK_CASES[name](torch, tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **TOL[dtype])
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("name", ["threshold", "hardshrink", "softshrink", "rrelu-eval"])
def test_nan_passes_through_as_in_torch(name):
    torch = _torch()
    values = np.array([np.nan, -3.0, 3.0])
    out = KINK_CASES[name](dn, dn.tensor(values)).numpy()
    np.testing.assert_array_equal(out, KINK_CASES[name](torch, torch.tensor(values)).numpy())


def test_threshold_keeps_an_integer_dtype():
    out = F.threshold(dn.arange(4), 1, 9)
    assert out.dtype == dn.int64 and out.tolist() == [9, 9, 2, 3]


def test_pairwise_distance_adds_eps_to_the_difference():
    a = dn.zeros(2, 4)
    # equal rows: ||eps * 1||_2 = eps * sqrt(4); ||.||_0 counts the 4 nonzero differences
    np.testing.assert_allclose(F.pairwise_distance(a, a).numpy(), [2e-6, 2e-6], rtol=1e-6)
    np.testing.assert_array_equal(F.pairwise_distance(a, a, p=0).numpy(), [4.0, 4.0])
    assert tuple(F.pairwise_distance(dn.tensor(1.0), dn.tensor(0.0)).shape) == ()


def test_pairwise_distance_of_integer_inputs_is_float_as_torch():
    torch = _torch()
    a, b = np.array([[1, 2, 3]]), np.array([[0, 2, 5]])
    out = F.pairwise_distance(dn.tensor(a), dn.tensor(b))
    expected = torch.nn.functional.pairwise_distance(torch.tensor(a), torch.tensor(b))
    assert out.dtype == dn.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


# --------------------------------------------------------------------------------- layers

LAYERS = ["PReLU()", "PReLU(3)", "PReLU(num_parameters=2, init=0.1)", "RReLU()",
          "RReLU(0.1, 0.3)", "RReLU(lower=0.2, upper=0.5, inplace=True)", "Threshold(0.1, 20)",
          "Threshold(1, 2.0, True)", "Hardshrink()", "Hardshrink(0.3)", "Softshrink()",
          "Softshrink(lambd=1)", "GLU()", "GLU(dim=1)", "PairwiseDistance()",
          "PairwiseDistance(1, 1e-3, True)"]


def _pair(text):
    torch = _torch()
    return eval("nn." + text), eval("torch.nn." + text), torch  # noqa: S307 (fixed literals)


@pytest.mark.parametrize("text", LAYERS)
def test_repr_and_state_dict_match_torch(text):
    ours, theirs, _ = _pair(text)
    assert repr(ours) == repr(theirs)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key in theirs_sd:
        assert tuple(ours_sd[key].shape) == tuple(theirs_sd[key].shape)
        assert ours_sd[key].dtype.name == str(theirs_sd[key].dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours_sd[key].numpy(), theirs_sd[key].numpy())


@pytest.mark.parametrize("text", [t for t in LAYERS if not t.startswith(("PReLU", "Pairwise"))])
def test_elementwise_layers_match_torch_in_eval_mode(text):
    ours, theirs, torch = _pair(text)
    ours.eval(), theirs.eval()
    data = _data((2, 4, 6), 2)
    x, tx = dn.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, tout = ours(x * 1.0), theirs(tx * 1.0)  # in-place layers get a non-leaf
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **TOL["float64"])
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL["float64"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("channels, count", [(3, 3), (3, 1)])
def test_prelu_layer_gradients_for_input_and_weight_match_torch(dtype, channels, count):
    torch = _torch()
    ours = nn.PReLU(count, dtype=getattr(dn, dtype))
    theirs = torch.nn.PReLU(count, dtype=getattr(torch, dtype))
    ours.load_state_dict({"weight": dn.tensor(np.linspace(-0.5, 0.7, count).astype(dtype))})
    theirs.load_state_dict({"weight": torch.tensor(np.linspace(-0.5, 0.7, count).astype(dtype))})
    data = _data((2, channels, 3, 2), 1, dtype)
    x, tx = dn.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **TOL[dtype])
    upstream = np.random.default_rng(4).standard_normal(data.shape).astype(dtype)
    (out * dn.tensor(upstream)).sum().backward()
    (tout * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL[dtype])


def test_prelu_weight_contract():
    layer = nn.PReLU(4, init=0.1)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (4,) and layer.weight.dtype == dn.float32
    np.testing.assert_allclose(layer.weight.detach().numpy(), [0.1] * 4)
    assert layer.init == 0.1 and layer.num_parameters == 4
    assert tuple(layer(dn.ones(5, 4, 7)).shape) == (5, 4, 7)


def test_pairwise_distance_layer_matches_torch():
    ours, theirs, torch = _pair("PairwiseDistance(p=1.5, eps=1e-4, keepdim=True)")
    assert ours.norm == 1.5 and ours.eps == 1e-4 and ours.keepdim is True
    a, b = _data((3, 4), 1), _data((3, 4), 2)
    np.testing.assert_allclose(ours(dn.tensor(a), dn.tensor(b)).numpy(),
                               theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


# --------------------------------------------------------------------------------- RReLU

def test_rrelu_training_draws_slopes_in_the_range_and_uses_them_as_gradient():
    layer = nn.RReLU(0.1, 0.3)
    assert layer.training
    data = _data((20, 30), 3)
    x = dn.tensor(data, requires_grad=True)
    out = layer(x)
    values = out.detach().numpy()
    positive = data > 0
    np.testing.assert_array_equal(values[positive], data[positive])
    slopes = values[~positive] / data[~positive]
    assert slopes.min() >= 0.1 - 1e-12 and slopes.max() <= 0.3 + 1e-12
    assert np.unique(np.round(slopes, 12)).size > 100  # one draw per element
    out.sum().backward()
    grad = x.grad.numpy()
    np.testing.assert_array_equal(grad[positive], 1.0)
    np.testing.assert_allclose(grad[~positive], slopes, rtol=1e-12)


def test_rrelu_training_repeats_under_manual_seed():
    x = dn.tensor(-np.ones((4, 6), np.float32))
    dn.manual_seed(11)
    first = F.rrelu(x, training=True).numpy()
    second = F.rrelu(x, training=True).numpy()
    dn.manual_seed(11)
    again = nn.RReLU()(x).numpy()
    np.testing.assert_array_equal(again, first)
    assert not np.array_equal(first, second)
    assert first.dtype == np.float32


def test_rrelu_eval_uses_the_mean_slope_and_matches_torch():
    torch = _torch()
    ours, theirs = nn.RReLU(0.1, 0.5).eval(), torch.nn.RReLU(0.1, 0.5).eval()
    data = _data((3, 4), 8)
    np.testing.assert_allclose(ours(dn.tensor(data)).numpy(), np.where(data > 0, data, 0.3 * data),
                               rtol=1e-12)
    np.testing.assert_allclose(ours(dn.tensor(data)).numpy(), theirs(torch.tensor(data)).numpy(),
                               rtol=1e-12)
    ours.train()
    x = dn.tensor(-np.ones(50))
    assert np.unique(ours(x).numpy()).size > 1  # back to random slopes


# --------------------------------------------------------------------------------- in place

@pytest.mark.parametrize("call", [
    lambda x: F.threshold_(x, 0.0, 5.0), lambda x: F.threshold(x, 0.0, 5.0, inplace=True),
    lambda x: F.rrelu_(x), lambda x: F.rrelu_(x, 0.2, 0.4, training=True),
    lambda x: F.rrelu(x, training=True, inplace=True), lambda x: nn.Threshold(0.0, 5.0, True)(x),
    lambda x: nn.RReLU(inplace=True)(x)])
def test_inplace_forms_write_into_the_input(call):
    x = dn.tensor([-2.0, -0.5, 0.5, 4.0])
    out = call(x)
    assert out is x
    assert x.tolist()[2:] == [0.5, 4.0] and x.tolist()[:2] != [-2.0, -0.5]


def test_inplace_threshold_keeps_the_gradient():
    leaf = dn.tensor([-1.0, 2.0], requires_grad=True)
    y = leaf * 1.0
    F.threshold_(y, 0.0, 3.0)
    y.sum().backward()
    assert leaf.grad.tolist() == [0.0, 1.0]


def test_not_inplace_leaves_the_input():
    x = dn.tensor([-2.0, 4.0])
    F.threshold(x, 0.0, 1.0), F.rrelu(x, training=True), nn.RReLU()(x)
    assert x.tolist() == [-2.0, 4.0]


# --------------------------------------------------------------------------------- errors

ERRORS = [  # (call on module m, exception class, words our message contains)
    (lambda m: m.nn.PReLU(4)(m.ones(2, 3, 5)), RuntimeError, ["prelu", "4", "[2, 3, 5]"]),
    (lambda m: m.nn.functional.prelu(m.ones(3), m.ones(3)), RuntimeError, ["prelu", "[3]"]),
    (lambda m: m.nn.functional.prelu(m.ones(2, 3), m.ones(3, 1)), RuntimeError,
     ["prelu", "[3, 1]"]),
    (lambda m: m.nn.functional.prelu(m.ones(2, 3), m.ones(3, dtype=m.float64)), RuntimeError,
     ["prelu", "float32", "float64"]),
    (lambda m: m.nn.GLU()(m.ones(2, 5)), RuntimeError, ["glu", "[2, 5]", "5", "even"]),
    (lambda m: m.nn.functional.glu(m.ones(3, 4), 0), RuntimeError, ["glu", "[3, 4]", "even"]),
    (lambda m: m.nn.functional.glu(m.ones(())), RuntimeError, ["glu", "scalar"]),
    (lambda m: m.nn.functional.glu(m.ones(2, 4), 2), IndexError, ["glu", "2"]),
    (lambda m: m.nn.functional.softshrink(m.ones(3), -1.0), RuntimeError, ["softshrink", "-1"]),
    (lambda m: m.nn.functional.rrelu(m.ones(3), 0.5, 0.1, training=True), RuntimeError,
     ["rrelu", "0.5", "0.1"]),
    (lambda m: m.nn.functional.pairwise_distance(m.ones(4, 3), m.ones(4, 2)), RuntimeError,
     ["pairwise_distance", "[4, 3]", "[4, 2]"]),
]


@pytest.mark.parametrize("call, error, words", ERRORS)
def test_errors_match_torchs_class_and_name_the_op(call, error, words):
    with pytest.raises(error) as caught:
        call(dn)
    for word in words:
        assert word in str(caught.value)
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(error):
        call(torch)


def test_non_tensor_and_integer_inputs():
    with pytest.raises(TypeError, match="hardshrink"):
        F.hardshrink([1.0, 2.0])
    with pytest.raises(TypeError, match="weight"):
        F.prelu(dn.ones(2), 0.25)
    with pytest.raises(TypeError, match="x2"):
        F.pairwise_distance(dn.ones(2), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="glu.*floating"):
        F.glu(dn.arange(4))


def test_port_to_keras_still_names_an_unknown_layer():
    from dualnet import port

    with pytest.raises(ValueError, match="PReLU.*no Keras counterpart"):
        port.to_keras(nn.Sequential(nn.Linear(4, 6), nn.PReLU()), (4,))
