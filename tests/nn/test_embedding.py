"""nn.Embedding: lookups and weight gradients equal torch's, padding_idx (zero row, no gradient,
negative index), max_norm renormalisation like torch's, N(0, 1) init, from_pretrained, reprs and
state_dicts like torch's, errors for bad indices and arguments."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet import nn
from layer_parity import build, check_forward_backward, state_signature

CASES = ["Embedding(10, 3)", "Embedding(10, 3, padding_idx=0)", "Embedding(7, 4, padding_idx=-2)",
         "Embedding(12, 5, max_norm=1.0)", "Embedding(12, 5, max_norm=2.0, norm_type=1.0)",
         "Embedding(6, 2, padding_idx=5, max_norm=0.5)"]


def _indices(rows, shape, seed=0):
    return np.random.default_rng(seed).integers(0, rows, shape).astype(np.int64)


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
def test_forward_and_weight_gradient_match_torch(text, shape):
    ours, theirs, torch = build(text)
    rows = ours.num_embeddings
    indices = _indices(rows, shape)
    indices.flat[0] = ours.padding_idx if ours.padding_idx is not None else 1  # a repeat, too
    indices.flat[-1] = indices.flat[0]
    check_forward_backward(ours, theirs, torch, indices, rtol=1e-10, atol=1e-12)
    # max_norm rescales the looked-up rows of the weight itself, in place, as torch does
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("text", CASES + ["Embedding(5, 2, scale_grad_by_freq=True)",
                                          "Embedding(5, 2, sparse=True)"])
def test_repr_and_state_dict_match_torch(text):
    ours, theirs, _ = build(text, dtype=None)
    assert repr(ours) == repr(theirs)
    assert state_signature(ours) == state_signature(theirs)


def test_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(6, 3, padding_idx=2)
    np.testing.assert_array_equal(emb.weight.detach().numpy()[2], np.zeros(3))
    emb(dn.tensor([[2, 1, 2], [0, 2, 1]])).sum().backward()
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[2], np.zeros(3))
    np.testing.assert_array_equal(grad[1], np.full(3, 2.0))
    np.testing.assert_array_equal(grad[0], np.ones(3))
    np.testing.assert_array_equal(grad[3:], np.zeros((3, 3)))


def test_negative_padding_idx_counts_from_the_end():
    emb = nn.Embedding(6, 3, padding_idx=-1)
    assert emb.padding_idx == 5
    np.testing.assert_array_equal(emb.weight.detach().numpy()[5], np.zeros(3))


def test_init_is_standard_normal():
    dn.manual_seed(0)
    w = nn.Embedding(1000, 64).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and w.std() == pytest.approx(1.0, rel=0.01)
    assert w.dtype == np.float32


def test_from_pretrained_shares_the_tensor_and_freezes_by_default():
    table = dn.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    assert (emb.num_embeddings, emb.embedding_dim) == (2, 3)
    np.testing.assert_array_equal(emb(dn.tensor([1, 0])).numpy(), table.numpy()[[1, 0]])
    table[0, 0] = 9.0  # a Parameter aliases its tensor, as in torch
    assert emb.weight[0, 0].item() == 9.0
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    # the given weights are kept as they are: the padding row is not zeroed
    assert trainable.weight[1, 0].item() == 4.0


def test_from_pretrained_matches_torch():
    torch = pytest.importorskip("torch")
    table = np.arange(12.0).reshape(4, 3)
    ours = nn.Embedding.from_pretrained(dn.tensor(table), padding_idx=0, max_norm=3.0)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), padding_idx=0, max_norm=3.0)
    assert repr(ours) == repr(theirs)
    idx = np.array([[0, 3], [2, 2]])
    np.testing.assert_allclose(ours(dn.tensor(idx)).numpy(),
                               theirs(torch.tensor(idx)).numpy(), rtol=1e-6)


def test_factory_kwargs():
    emb = nn.Embedding(4, 2, dtype=dn.float64, device="cpu")
    assert emb.weight.dtype == dn.float64 and emb.weight.device == dn.device("cpu")
    assert nn.Embedding(4, 2, _freeze=True).weight.requires_grad is False


def test_bad_arguments_and_indices():
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=-6)
    with pytest.raises(ValueError, match=r"\[5, 2\].*\[4, 2\]"):
        nn.Embedding(5, 2, _weight=dn.zeros(4, 2))
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(dn.zeros(3))
    emb = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match="index 5"):
        emb(dn.tensor([0, 5]))
    with pytest.raises(RuntimeError, match="integer index"):
        emb(dn.tensor([0.0, 1.0]))


def test_sparse_gradients_are_refused_when_used():
    emb = nn.Embedding(5, 2, sparse=True)  # accepted, as torch's signature has it
    # the message names the argument and says what to use instead
    with pytest.raises(ValueError, match=r"sparse=True is not supported.*use sparse=False"):
        emb(dn.tensor([1]))
    with pytest.raises(ValueError, match=r"sparse=True"):
        F.embedding(dn.tensor([1]), dn.ones(5, 2), sparse=True)


def test_scale_grad_by_freq_is_no_longer_refused():
    emb = nn.Embedding(5, 2, scale_grad_by_freq=True)
    emb(dn.tensor([1, 1, 4])).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy()[:, 0], [0, 1, 0, 0, 1])
