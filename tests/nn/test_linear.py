"""nn.Identity / Linear / Bilinear / Flatten / Unflatten: torch's state_dict keys, shapes and
reprs, forward and gradients equal to torch's, torch's initialisation bounds, errors naming the
layer."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from layer_parity import build, check_forward_backward, random, state_signature

# (constructor text, input shapes)
CASES = [
    ("Linear(5, 3)", [(4, 5)]),
    ("Linear(5, 3, bias=False)", [(4, 5)]),
    ("Linear(7, 1)", [(2, 3, 7)]),          # leading batch dims
    ("Linear(6, 4)", [(6,)]),               # a single sample, no batch dim
    ("Linear(3, 2, bias=False)", [(2, 5, 3)]),
    ("Bilinear(3, 4, 2)", [(5, 3), (5, 4)]),
    ("Bilinear(2, 3, 4, bias=False)", [(2, 6, 2), (2, 6, 3)]),
    ("Identity(3, unused=True)", [(2, 3)]),
    ("Flatten()", [(2, 3, 4, 5)]),
    ("Flatten(0, 2)", [(2, 3, 4, 5)]),
    ("Flatten(-3, -2)", [(2, 3, 4, 5)]),
    ("Unflatten(1, (2, 3))", [(4, 6, 5)]),
    ("Unflatten(-1, [2, -1])", [(4, 6)]),
]


@pytest.mark.parametrize("text, shapes", CASES)
def test_forward_and_backward_match_torch(text, shapes):
    ours, theirs, torch = build(text)
    arrays = [random(s, seed=i + 1) for i, s in enumerate(shapes)]
    check_forward_backward(ours, theirs, torch, *arrays)


@pytest.mark.parametrize("text", [t for t, _ in CASES])
def test_repr_and_state_dict_match_torch(text):
    ours, theirs, _ = build(text, dtype=None)
    assert repr(ours) == repr(theirs)
    assert state_signature(ours) == state_signature(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_float32_forward_matches_torch():
    ours, theirs, torch = build("Linear(33, 17)", dtype=None)
    assert ours.weight.dtype == dn.float32
    x = random((9, 33)).astype(np.float32)
    check_forward_backward(ours, theirs, torch, x, rtol=1e-5, atol=1e-5)


def test_a_model_prints_like_torch():
    torch = pytest.importorskip("torch")

    def model(lib):
        return lib.Sequential(lib.Flatten(), lib.Linear(784, 32), lib.Identity(),
                              lib.Linear(32, 10, bias=False), lib.Unflatten(1, (2, 5)))

    ours, theirs = model(nn), model(torch.nn)
    assert repr(ours) == repr(theirs)
    assert state_signature(ours) == state_signature(theirs)


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    dn.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound): mean 0, std bound / sqrt(3), and both ends reached
    assert abs(w.mean()) < 0.01 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert b.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert isinstance(layer.weight, nn.Parameter)


def test_bilinear_init_uses_in1_features():
    dn.manual_seed(0)
    layer = nn.Bilinear(25, 400, 50)
    bound = 1 / math.sqrt(25)
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_init_repeats_under_manual_seed_and_reset_parameters_redraws():
    dn.manual_seed(3)
    first = nn.Linear(8, 4)
    dn.manual_seed(3)
    second = nn.Linear(8, 4)
    np.testing.assert_array_equal(first.weight.detach().numpy(), second.weight.detach().numpy())
    np.testing.assert_array_equal(first.bias.detach().numpy(), second.bias.detach().numpy())
    before = first.weight.detach().numpy().copy()
    first.reset_parameters()
    assert not np.array_equal(before, first.weight.detach().numpy())


def test_factory_kwargs():
    layer = nn.Linear(3, 2, device="cpu", dtype=dn.float64)
    assert layer.weight.dtype == dn.float64 and layer.bias.dtype == dn.float64
    assert layer.weight.device == dn.device("cpu")
    assert nn.Bilinear(2, 3, 4, dtype=dn.float64).weight.dtype == dn.float64
    assert nn.Linear(3, 2).weight.dtype == dn.float32


def test_no_bias_registers_none():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_linear_wrong_feature_size_names_the_layer_and_shape():
    layer = nn.Linear(5, 3)
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=5, out_features=3.*\[2, 4\]"):
        layer(dn.ones(2, 4))
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=5.*\[7, 2, 6\]"):
        layer(dn.ones(7, 2, 6))
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=5.*\[6\]"):
        nn.Linear(5, 3, bias=False)(dn.ones(6))


def test_linear_other_errors_are_left_to_the_op():
    layer = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="dtype"):
        layer(dn.ones(4, 2, dtype=dn.float64))
    with pytest.raises(TypeError):
        layer([[1.0, 2.0]])


def test_bilinear_mismatched_inputs_name_the_layer():
    layer = nn.Bilinear(3, 4, 2)
    with pytest.raises(RuntimeError, match=r"Bilinear\(in1_features=3.*\[5, 3\] and \[5, 5\]"):
        layer(dn.ones(5, 3), dn.ones(5, 5))
    with pytest.raises(RuntimeError, match=r"\[5, 3\] and \[6, 4\]"):
        layer(dn.ones(5, 3), dn.ones(6, 4))


def test_unflatten_checks_its_arguments():
    with pytest.raises(TypeError, match="unflattened_size"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="position 1"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(TypeError, match="named dims"):
        nn.Unflatten("features", (("a", 2), ("b", 3)))


def test_identity_returns_its_input():
    x = dn.ones(3)
    assert nn.Identity()(x) is x
