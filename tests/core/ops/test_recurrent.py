"""lstm_cell / gru_cell / rnn_*_cell: NumPy references, float64 gradchecks, torch parity, errors."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _arrays(shapes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _lstm_ref(x, h, c, w_ih, w_hh, b_ih, b_hh):
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(gates, 4, axis=1)
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c_new), c_new


def _gru_ref(x, h, w_ih, w_hh, b_ih, b_hh, order="rzn"):
    gx, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    a, b, n = np.split(gx, 3, axis=1)
    ha, hb, hn = np.split(gh, 3, axis=1)
    (r, hr), (z, hz) = ((a, ha), (b, hb)) if order == "rzn" else ((b, hb), (a, ha))
    r, z = _sigmoid(r + hr), _sigmoid(z + hz)
    cand = np.tanh(n + r * hn)
    return (1 - z) * cand + z * h


def _lstm_args(n, i, hidden, seed=0, dtype=np.float64):
    return _arrays([(n, i), (n, hidden), (n, hidden), (4 * hidden, i), (4 * hidden, hidden),
                    (4 * hidden,), (4 * hidden,)], seed, dtype)


def _gru_args(n, i, hidden, seed=0, dtype=np.float64):
    return _arrays([(n, i), (n, hidden), (3 * hidden, i), (3 * hidden, hidden), (3 * hidden,),
                    (3 * hidden,)], seed, dtype)


@pytest.mark.parametrize("n, i, hidden", [(3, 5, 4), (1, 2, 7), (600, 8, 64)])
def test_lstm_cell_forward(n, i, hidden):
    x, h, c, *weights = _lstm_args(n, i, hidden)
    h_out, c_out = F.lstm_cell(dn.tensor(x), (dn.tensor(h), dn.tensor(c)),
                               *[dn.tensor(w) for w in weights])
    want_h, want_c = _lstm_ref(x, h, c, *weights)
    np.testing.assert_allclose(h_out.numpy(), want_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_out.numpy(), want_c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", ["rzn", "zrn"])
@pytest.mark.parametrize("n, i, hidden", [(3, 5, 4), (700, 8, 64)])
def test_gru_cell_forward(order, n, i, hidden):
    args = _gru_args(n, i, hidden)
    got = F.gru_cell(*[dn.tensor(a) for a in args[:2]], *[dn.tensor(w) for w in args[2:]],
                     gate_order=order)
    np.testing.assert_allclose(got.numpy(), _gru_ref(*args, order=order), rtol=1e-12, atol=1e-12)


def test_lstm_cell_gradcheck():
    x, h, c, *weights = [dn.tensor(a, requires_grad=True) for a in _lstm_args(2, 3, 2, seed=1)]
    assert dn.autograd.gradcheck(
        lambda *t: F.lstm_cell(t[0], (t[1], t[2]), *t[3:]), (x, h, c, *weights))


@pytest.mark.parametrize("order", ["rzn", "zrn"])
def test_gru_cell_gradcheck(order):
    args = [dn.tensor(a, requires_grad=True) for a in _gru_args(2, 3, 2, seed=2)]
    assert dn.autograd.gradcheck(lambda *t: F.gru_cell(*t, gate_order=order), tuple(args))


@pytest.mark.parametrize("cell", ["rnn_tanh_cell", "rnn_relu_cell"])
def test_rnn_cells_gradcheck(cell):
    args = [dn.tensor(a, requires_grad=True) for a in
            _arrays([(2, 3), (2, 4), (4, 3), (4, 4), (4,), (4,)], seed=3)]
    assert dn.autograd.gradcheck(getattr(F, cell), tuple(args))


def test_cells_without_biases():
    x, h, c, w_ih, w_hh, _, _ = _lstm_args(2, 3, 2)
    zeros = np.zeros(8)
    got_h, _ = F.lstm_cell(dn.tensor(x), (dn.tensor(h), dn.tensor(c)), dn.tensor(w_ih),
                           dn.tensor(w_hh))
    np.testing.assert_allclose(got_h.numpy(), _lstm_ref(x, h, c, w_ih, w_hh, zeros, zeros)[0])


# float32: the gate pre-activations sum ~130 products of magnitude ~10, so BLAS's summation
# order (which varies with its thread count) moves results by ~1e-5 absolute; 1e-4 covers that.
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("n, hidden", [(4, 3), (300, 128)])
def test_lstm_and_gru_match_torch(dtype, tol, n, hidden):
    torch = pytest.importorskip("torch")
    for name, args in (("lstm_cell", _lstm_args(n, 6, hidden, 4, dtype)),
                       ("gru_cell", _gru_args(n, 6, hidden, 5, dtype))):
        ours = [dn.tensor(a, requires_grad=True) for a in args]
        theirs = [torch.tensor(a, requires_grad=True) for a in args]
        if name == "lstm_cell":
            out = F.lstm_cell(ours[0], (ours[1], ours[2]), *ours[3:])
            expected = torch.lstm_cell(theirs[0], (theirs[1], theirs[2]), *theirs[3:])
            (out[0].sum() + (out[1] * out[1]).sum()).backward()
            (expected[0].sum() + (expected[1] * expected[1]).sum()).backward()
            out, expected = out[0], expected[0]
        else:
            out = F.gru_cell(*ours)
            expected = torch.gru_cell(*theirs)
            (out * out).sum().backward()
            (expected * expected).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=tol,
                                   atol=tol)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("call, error", [
    (lambda: F.lstm_cell(dn.ones(2, 3), dn.ones(2, 4), dn.ones(16, 3), dn.ones(16, 4)), TypeError),
    (lambda: F.lstm_cell(dn.ones(2, 3), (dn.ones(2, 4), dn.ones(2, 4)), dn.ones(12, 3),
                         dn.ones(16, 4)), RuntimeError),
    (lambda: F.lstm_cell(dn.ones(3), (dn.ones(2, 4), dn.ones(2, 4)), dn.ones(16, 3),
                         dn.ones(16, 4)), RuntimeError),
    (lambda: F.gru_cell(dn.ones(2, 3), dn.ones(5, 4), dn.ones(12, 3), dn.ones(12, 4)),
     RuntimeError),
    (lambda: F.gru_cell(dn.ones(2, 3), dn.ones(2, 4), dn.ones(12, 3), dn.ones(12, 4),
                        gate_order="zr"), ValueError),
    (lambda: F.rnn_tanh_cell(dn.ones(2, 3), dn.ones(2, 4), dn.ones(4, 3),
                             dn.ones(4, 4, dtype=dn.float64)), RuntimeError),
])
def test_recurrent_bad_input(call, error):
    with pytest.raises(error, match="cell"):
        call()
