"""Recurrent cells on CUDA against the CPU: the fused LSTM / GRU pointwise kernels (both GRU gate
orders) and the composed Elman cells, forward and backward, float32 and float64."""
import numpy as np
import pytest

import dualnet.nn.functional as F

N, I, H = 2, 3, 4


def _arrays(gates, dtype, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(N, I), (N, H), (gates * H, I), (gates * H, H), (gates * H,), (gates * H,)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


ROWS = [
    ("lstm_cell", 4, lambda x, h, w_ih, w_hh, b_ih, b_hh, c: F.lstm_cell(
        x, (h, c), w_ih, w_hh, b_ih, b_hh)),
    ("gru_cell-torch", 3, lambda x, h, w_ih, w_hh, b_ih, b_hh: F.gru_cell(
        x, h, w_ih, w_hh, b_ih, b_hh)),
    ("gru_cell-keras", 3, lambda x, h, w_ih, w_hh, b_ih, b_hh: F.gru_cell(
        x, h, w_ih, w_hh, b_ih, b_hh, gate_order="zrn")),
    ("rnn_tanh_cell", 1, F.rnn_tanh_cell),
    ("rnn_relu_cell", 1, lambda x, h, w_ih, w_hh, b_ih, b_hh: F.rnn_relu_cell(
        x, h, w_ih, w_hh)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_cell_matches_cpu(check, row, dtype):
    name, gates, fn = row
    arrays = _arrays(gates, dtype)
    if name == "lstm_cell":
        arrays.append(np.random.default_rng(1).standard_normal((N, H)).astype(dtype))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    check(fn, *arrays, **tol)


def test_pointwise_kernels_match_cpu():
    """The four fused kernels directly on the same arrays (acts, states and every gradient)."""
    from dualnet.core.ops.recurrent import cpu, cuda

    rng = np.random.default_rng(2)
    gates, c_prev = rng.standard_normal((N, 4 * H)), rng.standard_normal((N, H))
    grad_h, grad_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    gx, gh, h_prev = (rng.standard_normal((N, 3 * H)), rng.standard_normal((N, 3 * H)),
                      rng.standard_normal((N, H)))
    results = []
    for k in (cpu, cuda):
        h, c, acts = k.lstm_pointwise(gates, c_prev)
        outputs = [h, c, acts, *k.lstm_pointwise_backward(acts, c_prev, c, grad_h, grad_c)]
        for r_at, z_at in ((0, H), (H, 0)):
            h_out, gru_acts = k.gru_pointwise(gx, gh, h_prev, r_at, z_at)
            outputs += [h_out, gru_acts, *k.gru_pointwise_backward(gru_acts, gh, h_prev, grad_h,
                                                                   r_at, z_at)]
        results.append(outputs)
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
