"""Embedding's scale_grad_by_freq (torch's rule): each row's weight gradient is divided by how many
times its index occurs in the batch of indices; padding_idx's row still gets none; max_norm
still renormalises the rows in place. Against a NumPy reference, torch (where installed) and a
float64 gradcheck."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet import nn
from layer_parity import build, check_forward_backward

TOLERANCES = {"float32": 1e-5, "float64": 1e-6}  # rtol of the weight gradient against torch
ROWS, DIM = 6, 4


def _indices(shape, seed, padding_idx=None):
    """Random indices into ROWS rows, more of them than rows (so they repeat), the first one
    repeated at the end, and padding_idx (when given) twice."""
    indices = np.random.default_rng(seed).integers(0, ROWS, shape).astype(np.int64)
    indices.flat[-1] = indices.flat[0]
    if padding_idx is not None:
        indices.flat[1] = indices.flat[2] = padding_idx
    return indices


def _reference_grad(indices, grad_out, padding_idx=None):
    """NumPy: grad_weight[r] = sum of grad_out over the positions of r / (how many there are)."""
    flat, rows = indices.reshape(-1), grad_out.reshape(indices.size, -1)
    counts = np.bincount(flat, minlength=ROWS)
    grad = np.zeros((ROWS, rows.shape[1]))
    for k, row in enumerate(flat):
        if row != padding_idx:
            grad[row] += rows[k] / counts[row]
    return grad


@pytest.mark.parametrize("shape", [(9,), (3, 5)])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_weight_gradient_matches_numpy(shape, padding_idx):
    indices = _indices(shape, seed=3, padding_idx=padding_idx)
    weight = dn.randn(ROWS, DIM, dtype=dn.float64, requires_grad=True)
    grad_out = np.random.default_rng(4).standard_normal(shape + (DIM,))
    out = F.embedding(dn.tensor(indices), weight, padding_idx=padding_idx,
                      scale_grad_by_freq=True)
    out.backward(dn.tensor(grad_out))
    np.testing.assert_allclose(weight.grad.numpy(), _reference_grad(indices, grad_out, padding_idx),
                               rtol=1e-12, atol=1e-14)
    # the forward is the plain lookup
    np.testing.assert_array_equal(out.detach().numpy(), weight.detach().numpy()[indices])


def test_counts_are_per_call_and_gradients_of_two_calls_add_up():
    weight = dn.ones(ROWS, 1, dtype=dn.float64, requires_grad=True)
    first, second = dn.tensor([1, 1, 1, 0]), dn.tensor([1, 3])
    (F.embedding(first, weight, scale_grad_by_freq=True).sum()
     + F.embedding(second, weight, scale_grad_by_freq=True).sum()).backward()
    # row 1: 3 looks of 1/3 in the first batch, 1 of 1 in the second
    np.testing.assert_allclose(weight.grad.numpy()[:, 0], [1, 2, 0, 1, 0, 0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(9,), (3, 5)])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("max_norm", [None, 1.0])
def test_functional_weight_gradient_matches_torch(dtype, shape, padding_idx, max_norm):
    torch = pytest.importorskip("torch")
    rtol = TOLERANCES[dtype]
    rng = np.random.default_rng(5)
    weight = (rng.standard_normal((ROWS, DIM)) * 2).astype(dtype)  # norms above max_norm
    indices = _indices(shape, seed=6, padding_idx=padding_idx)
    grad_out = rng.standard_normal(shape + (DIM,)).astype(dtype)
    ours = dn.tensor(weight.copy(), requires_grad=True)
    theirs = torch.tensor(weight.copy(), requires_grad=True)
    out = F.embedding(dn.tensor(indices), ours, padding_idx=padding_idx, max_norm=max_norm,
                      scale_grad_by_freq=True)
    expected = torch.nn.functional.embedding(torch.tensor(indices), theirs,
                                             padding_idx=padding_idx, max_norm=max_norm,
                                             scale_grad_by_freq=True)
    out.backward(dn.tensor(grad_out))
    expected.backward(torch.tensor(grad_out))
    assert ours.grad.dtype.name == dtype
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("text", ["Embedding(6, 3, scale_grad_by_freq=True)",
                                  "Embedding(6, 3, padding_idx=0, scale_grad_by_freq=True)",
                                  "Embedding(6, 4, max_norm=1.0, scale_grad_by_freq=True)",
                                  "Embedding(6, 2, padding_idx=-1, max_norm=0.5, "
                                  "scale_grad_by_freq=True)"])
@pytest.mark.parametrize("shape", [(9,), (3, 5)])
def test_layer_matches_torch(text, shape):
    ours, theirs, torch = build(text)
    indices = _indices(shape, seed=7, padding_idx=ours.padding_idx)
    check_forward_backward(ours, theirs, torch, indices, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_gradcheck(padding_idx):
    """The scaled backward is the exact Jacobian of "each looked-up row times 1/count" (0 for
    padding_idx): a detached term gives the forward that value, so gradcheck's finite differences
    see the function the backward claims."""
    indices = np.array([[1, 3, 1], [0, 1, 4]])
    factor = 1.0 / np.bincount(indices.reshape(-1), minlength=5)[indices]
    if padding_idx is not None:
        factor[indices == padding_idx] = 0.0
    index_tensor, complement = dn.tensor(indices), dn.tensor(1.0 - factor)[..., None]
    weight = dn.randn(5, 3, dtype=dn.float64, requires_grad=True)

    def scaled_lookup(w):
        return F.embedding(index_tensor, w, padding_idx=padding_idx, scale_grad_by_freq=True)

    def averaged_lookup(w):
        return scaled_lookup(w) - (F.embedding(index_tensor, w) * complement).detach()

    assert dn.autograd.gradcheck(averaged_lookup, (weight,))
    # the plain lookup's Jacobian is not the scaled one: the check above is not vacuous
    assert not dn.autograd.gradcheck(scaled_lookup, (weight,), raise_exception=False)


def test_layer_repr_and_gradient():
    emb = nn.Embedding(4, 2, padding_idx=0, scale_grad_by_freq=True)
    assert repr(emb) == "Embedding(4, 2, padding_idx=0, scale_grad_by_freq=True)"
    emb(dn.tensor([[3, 0, 3], [3, 0, 2]])).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1], [1, 1]])
