"""Helpers of the recurrent layers' parity tests against torch (test_rnn, test_lstm_proj,
test_packed_sequence): a layer pair sharing torch's random weights, leaf pairs, comparison,
and one random weighting of every output backed through both graphs."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

TOL64 = {"rtol": 1e-9, "atol": 1e-11}
TOL32 = {"rtol": 1e-5, "atol": 1e-6}
_SEEDS = np.random.default_rng(11)


def torch():
    return pytest.importorskip("torch")


def pair(kind, *args, float64=True, **kwargs):
    """Our layer `kind` and torch's, ours holding a copy of torch's random weights."""
    th = torch()
    theirs = getattr(th.nn, kind)(*args, **kwargs, dtype=th.float64 if float64 else th.float32)
    ours = getattr(nn, kind)(*args, **kwargs, dtype=dn.float64 if float64 else dn.float32)
    ours.load_state_dict({k: dn.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


def leaf(array):
    """(ours, theirs) leaf tensors over the same values, both requiring grad."""
    return dn.tensor(array, requires_grad=True), torch().tensor(array, requires_grad=True)


def close(ours, theirs, tol=TOL64):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)


def backward(ours_outputs, theirs_outputs):
    """Backward one fixed random weighting of every output through both graphs."""
    th = torch()
    ours_total, theirs_total = 0, 0
    for a, b in zip(ours_outputs, theirs_outputs):
        seed = _SEEDS.normal(size=tuple(b.shape))
        ours_total = ours_total + (a * dn.tensor(seed, dtype=a.dtype)).sum()
        theirs_total = theirs_total + (b * th.tensor(seed, dtype=b.dtype)).sum()
    ours_total.backward()
    theirs_total.backward()


def compare_outputs_and_grads(ours, theirs, ours_outputs, theirs_outputs, leaves, tol=TOL64):
    """Every output equal, then (after `backward`) the gradients of the leaf pairs and of
    every parameter of the two layers."""
    for a, b in zip(ours_outputs, theirs_outputs):
        assert tuple(a.shape) == tuple(b.shape)
        close(a, b, tol)
    backward(ours_outputs, theirs_outputs)
    for a, b in leaves:
        close(a.grad, b.grad, tol)
    ours_params = dict(ours.named_parameters())
    for name, param in theirs.named_parameters():
        close(ours_params[name].grad, param.grad, tol)


def gradcheck_projected_lstm(seq_len, batch, seed, wrap_input=None, unwrap_output=None):
    """float64 gradcheck of a 2-layer bidirectional LSTM with proj_size=1 (input 2, hidden 3)
    over x, h_0, c_0 and every parameter; `wrap_input` / `unwrap_output` turn x into what the
    LSTM takes and its output into a tensor (packing and unpacking a sequence)."""
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=1, dtype=dn.float64)
    rng = np.random.default_rng(seed)
    x = dn.tensor(rng.normal(size=(seq_len, batch, 2)), requires_grad=True)
    h_0 = dn.tensor(rng.normal(size=(4, batch, 1)), requires_grad=True)
    c_0 = dn.tensor(rng.normal(size=(4, batch, 3)), requires_grad=True)

    def run(x, h_0, c_0, *_params):  # the parameters are perturbed in place by gradcheck
        output, (h_n, c_n) = lstm(wrap_input(x) if wrap_input else x, (h_0, c_0))
        return (unwrap_output(output) if unwrap_output else output), h_n, c_n

    assert dn.autograd.gradcheck(run, (x, h_0, c_0, *lstm.parameters()))
