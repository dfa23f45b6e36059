"""CPU kernels of the recurrent family: the pointwise part of one LSTM / GRU step, fused.

The gate pre-activations come from two BLAS products (done by the op); these kernels apply the
gate nonlinearities and the state update in one pass over (batch, hidden), saving the activated
gates for backward, and the backward kernels turn the state gradients into gate gradients in one
pass. Batches run in parallel (prange) when the step is big enough to pay for the wake-up.
"""
import math

import numba
import numpy as np

from .._kernels import two_builds


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


_sigmoid_jit = numba.njit(cache=True, inline="always")(_sigmoid)


def _lstm_forward(gates, c_prev, h_out, c_out, acts):
    """gates (N, 4H) in torch's i, f, g, o order (Keras's i, f, c, o is the same order)."""
    n, hidden = c_prev.shape
    for b in numba.prange(n):
        for j in range(hidden):
            i = _sigmoid_jit(gates[b, j])
            f = _sigmoid_jit(gates[b, hidden + j])
            g = math.tanh(gates[b, 2 * hidden + j])
            o = _sigmoid_jit(gates[b, 3 * hidden + j])
            c = f * c_prev[b, j] + i * g
            acts[b, j], acts[b, hidden + j], acts[b, 2 * hidden + j], acts[b, 3 * hidden + j] = \
                i, f, g, o
            c_out[b, j] = c
            h_out[b, j] = o * math.tanh(c)


def _lstm_backward(acts, c_prev, c_out, grad_h, grad_c, grad_gates, grad_c_prev):
    n, hidden = c_prev.shape
    for b in numba.prange(n):
        for j in range(hidden):
            i, f = acts[b, j], acts[b, hidden + j]
            g, o = acts[b, 2 * hidden + j], acts[b, 3 * hidden + j]
            tc = math.tanh(c_out[b, j])
            dc = grad_c[b, j] + grad_h[b, j] * o * (1.0 - tc * tc)
            grad_gates[b, j] = dc * g * i * (1.0 - i)
            grad_gates[b, hidden + j] = dc * c_prev[b, j] * f * (1.0 - f)
            grad_gates[b, 2 * hidden + j] = dc * i * (1.0 - g * g)
            grad_gates[b, 3 * hidden + j] = grad_h[b, j] * tc * o * (1.0 - o)
            grad_c_prev[b, j] = dc * f


def _gru_forward(gx, gh, h_prev, h_out, acts, r_at, z_at):
    """gx = x W_ih^T + b_ih, gh = h W_hh^T + b_hh, (N, 3H); r and z sit at r_at / z_at (torch:
    r, z, n; Keras: z, r, h), the candidate always last. n = tanh(gx_n + r * gh_n) (Keras's
    reset_after=True), h' = (1 - z) * n + z * h."""
    n_batch, hidden = h_prev.shape
    for b in numba.prange(n_batch):
        for j in range(hidden):
            r = _sigmoid_jit(gx[b, r_at + j] + gh[b, r_at + j])
            z = _sigmoid_jit(gx[b, z_at + j] + gh[b, z_at + j])
            cand = math.tanh(gx[b, 2 * hidden + j] + r * gh[b, 2 * hidden + j])
            acts[b, r_at + j], acts[b, z_at + j], acts[b, 2 * hidden + j] = r, z, cand
            h_out[b, j] = (1.0 - z) * cand + z * h_prev[b, j]


def _gru_backward(acts, gh, h_prev, grad_h, grad_gx, grad_gh, grad_h_prev, r_at, z_at):
    n_batch, hidden = h_prev.shape
    for b in numba.prange(n_batch):
        for j in range(hidden):
            r, z, cand = acts[b, r_at + j], acts[b, z_at + j], acts[b, 2 * hidden + j]
            dh = grad_h[b, j]
            dcand = dh * (1.0 - z) * (1.0 - cand * cand)
            dz = dh * (h_prev[b, j] - cand) * z * (1.0 - z)
            dr = dcand * gh[b, 2 * hidden + j] * r * (1.0 - r)
            grad_gx[b, r_at + j], grad_gh[b, r_at + j] = dr, dr
            grad_gx[b, z_at + j], grad_gh[b, z_at + j] = dz, dz
            grad_gx[b, 2 * hidden + j] = dcand
            grad_gh[b, 2 * hidden + j] = dcand * r
            grad_h_prev[b, j] = dh * z


_lstm_forward, _lstm_backward, _gru_forward, _gru_backward = (
    two_builds(f) for f in (_lstm_forward, _lstm_backward, _gru_forward, _gru_backward))


def lstm_pointwise(gates, c_prev):
    """(h, c, activated gates) of one LSTM step from its gate pre-activations."""
    h_out, c_out, acts = np.empty_like(c_prev), np.empty_like(c_prev), np.empty_like(gates)
    _lstm_forward(gates, c_prev, h_out, c_out, acts)
    return h_out, c_out, acts


def lstm_pointwise_backward(acts, c_prev, c_out, grad_h, grad_c):
    grad_gates, grad_c_prev = np.empty_like(acts), np.empty_like(c_prev)
    _lstm_backward(acts, c_prev, c_out, grad_h, grad_c, grad_gates, grad_c_prev)
    return grad_gates, grad_c_prev


def gru_pointwise(gx, gh, h_prev, r_at, z_at):
    h_out, acts = np.empty_like(h_prev), np.empty_like(gx)
    _gru_forward(gx, gh, h_prev, h_out, acts, r_at, z_at)
    return h_out, acts


def gru_pointwise_backward(acts, gh, h_prev, grad_h, r_at, z_at):
    grad_gx, grad_gh, grad_h_prev = np.empty_like(acts), np.empty_like(acts), np.empty_like(h_prev)
    _gru_backward(acts, gh, h_prev, grad_h, grad_gx, grad_gh, grad_h_prev,
                                      r_at, z_at)
    return grad_gx, grad_gh, grad_h_prev
