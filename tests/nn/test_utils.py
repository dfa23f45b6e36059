"""nn.utils: clip_grad_norm_ / clip_grad_value_ and parameters_to_vector / vector_to_parameters,
against NumPy formulas and against torch.nn.utils where torch is installed."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from dualnet.nn.utils import (clip_grad_norm_, clip_grad_value_, get_total_norm,
                              parameters_to_vector, vector_to_parameters)

GRADS = [np.array([[3.0, -4.0], [1.0, 2.0]], np.float32), np.array([0.5, -7.0, 2.0], np.float32)]


def _params(grads=GRADS):
    params = []
    for g in grads:
        p = nn.Parameter(dn.zeros(*g.shape))
        p.grad = dn.tensor(g.copy())
        params.append(p)
    return params


def _total_norm(grads, norm_type):
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    if norm_type == math.inf:
        return np.abs(flat).max()
    return (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 100.0])
def test_clip_grad_norm_formula(norm_type, max_norm):
    norm_type = float(norm_type)
    params = _params()
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected = _total_norm(GRADS, norm_type)
    assert isinstance(total, dn.Tensor) and total.ndim == 0
    assert total.item() == pytest.approx(expected, rel=1e-5)
    scale = min(1.0, max_norm / (expected + 1e-6))
    for p, g in zip(params, GRADS):
        assert np.allclose(p.grad.numpy(), g * scale, rtol=1e-5)
    assert _total_norm([p.grad.numpy() for p in params], norm_type) <= max_norm * (1 + 1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    params = _params()
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in GRADS]
    for t, g in zip(theirs, GRADS):
        t.grad = torch.from_numpy(g.copy())
    ours_total = clip_grad_norm_(params, 2.0, norm_type)
    their_total = torch.nn.utils.clip_grad_norm_(theirs, 2.0, norm_type)
    assert ours_total.item() == pytest.approx(their_total.item(), rel=1e-6)
    for p, t in zip(params, theirs):
        assert np.allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_single_tensor_none_grads_and_generator():
    p = _params()[0]
    q = nn.Parameter(dn.zeros(2))  # no grad: skipped
    total = clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(math.sqrt(30), rel=1e-6)
    total = clip_grad_norm_((x for x in [p, q]), 10.0)
    assert total.item() == pytest.approx(1.0, rel=1e-5)
    assert clip_grad_norm_([q], 1.0).item() == 0.0
    assert q.grad is None


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf * 0, as in torch
def test_clip_grad_norm_nonfinite():
    params = _params([np.array([1.0, np.inf], np.float32)])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_(params, 1.0)
    assert math.isinf(total.item())


def test_get_total_norm():
    total = get_total_norm([dn.tensor(g) for g in GRADS], norm_type=2.0)
    assert total.item() == pytest.approx(_total_norm(GRADS, 2.0), rel=1e-6)


def test_clip_grad_value():
    params = _params()
    assert clip_grad_value_(params, 2.5) is None
    for p, g in zip(params, GRADS):
        assert np.array_equal(p.grad.numpy(), np.clip(g, -2.5, 2.5))
    single = _params()[1]
    clip_grad_value_(single, 1)
    assert single.grad.tolist() == [0.5, -1.0, 1.0]


@pytest.mark.parity
def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    params = _params()
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in GRADS]
    for t, g in zip(theirs, GRADS):
        t.grad = torch.from_numpy(g.copy())
    clip_grad_value_(params, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(params, theirs):
        assert np.array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_in_training_step_keeps_leaves():
    w = nn.Parameter(dn.tensor([[1.0, 2.0], [3.0, 4.0]]))
    loss = (w * w * 10).sum()
    loss.backward()
    clip_grad_norm_([w], 1.0)
    assert w.is_leaf and w.grad.grad_fn is None
    assert np.linalg.norm(w.grad.numpy()) == pytest.approx(1.0, rel=1e-5)


def test_parameters_to_vector_and_back():
    a = nn.Parameter(dn.tensor([[1.0, 2.0], [3.0, 4.0]]))
    b = nn.Parameter(dn.tensor([5.0, 6.0]))
    vec = parameters_to_vector([a, b])
    assert vec.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    (vec * dn.arange(6.0)).sum().backward()  # differentiable, like torch
    assert a.grad.tolist() == [[0.0, 1.0], [2.0, 3.0]] and b.grad.tolist() == [4.0, 5.0]
    new = dn.arange(10.0, 16.0)
    assert vector_to_parameters(new, [a, b]) is None
    assert a.tolist() == [[10.0, 11.0], [12.0, 13.0]] and b.tolist() == [14.0, 15.0]
    assert isinstance(a, nn.Parameter) and a.requires_grad
    new[0] = -1.0  # the parameters now share the vector's memory, as in torch
    assert a[0, 0].item() == -1.0
    with pytest.raises(TypeError):
        vector_to_parameters([1.0] * 6, [a, b])
    with pytest.raises(RuntimeError):
        vector_to_parameters(dn.zeros(3), [a, b])


@pytest.mark.parity
def test_parameters_to_vector_matches_torch_order():
    torch = pytest.importorskip("torch")
    from _twins import make_classes

    _, Net = make_classes(dn)
    _, TorchNet = make_classes(torch)
    ours = parameters_to_vector(Net().parameters()).detach().numpy()
    theirs = torch.nn.utils.parameters_to_vector(TorchNet().parameters()).detach().numpy()
    assert np.allclose(ours, theirs)


def test_reachable_from_nn():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert nn.utils.parameters_to_vector is parameters_to_vector
