"""CUDA kernels of the recurrent family: the pointwise part of one LSTM / GRU step, fused, one
thread per (batch, hidden) element (the gate pre-activations come from two cuBLAS products in
the op). The twins of cpu.py: same gate orders, same saved activations."""
import math

from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()


@cuda.jit(device=True)
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@cuda.jit
def _lstm_forward(gates, c_prev, h_out, c_out, acts):
    # gates (N, 4H) in torch's i, f, g, o order (Keras's i, f, c, o is the same order)
    hidden = c_prev.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, c_prev.size, stride):
        b, j = k // hidden, k % hidden
        i = _sigmoid(gates[b, j])
        f = _sigmoid(gates[b, hidden + j])
        g = math.tanh(gates[b, 2 * hidden + j])
        o = _sigmoid(gates[b, 3 * hidden + j])
        c = f * c_prev[b, j] + i * g
        acts[b, j] = i
        acts[b, hidden + j] = f
        acts[b, 2 * hidden + j] = g
        acts[b, 3 * hidden + j] = o
        c_out[b, j] = c
        h_out[b, j] = o * math.tanh(c)


@cuda.jit
def _lstm_backward(acts, c_prev, c_out, grad_h, grad_c, grad_gates, grad_c_prev):
    hidden = c_prev.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, c_prev.size, stride):
        b, j = k // hidden, k % hidden
        i, f = acts[b, j], acts[b, hidden + j]
        g, o = acts[b, 2 * hidden + j], acts[b, 3 * hidden + j]
        tc = math.tanh(c_out[b, j])
        dc = grad_c[b, j] + grad_h[b, j] * o * (1.0 - tc * tc)
        grad_gates[b, j] = dc * g * i * (1.0 - i)
        grad_gates[b, hidden + j] = dc * c_prev[b, j] * f * (1.0 - f)
        grad_gates[b, 2 * hidden + j] = dc * i * (1.0 - g * g)
        grad_gates[b, 3 * hidden + j] = grad_h[b, j] * tc * o * (1.0 - o)
        grad_c_prev[b, j] = dc * f


@cuda.jit
def _gru_forward(gx, gh, h_prev, h_out, acts, r_at, z_at):
    # r and z sit at r_at / z_at (torch: r, z, n; Keras: z, r, h), the candidate always last;
    # n = tanh(gx_n + r * gh_n), h' = (1 - z) * n + z * h
    hidden = h_prev.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, h_prev.size, stride):
        b, j = k // hidden, k % hidden
        r = _sigmoid(gx[b, r_at + j] + gh[b, r_at + j])
        z = _sigmoid(gx[b, z_at + j] + gh[b, z_at + j])
        cand = math.tanh(gx[b, 2 * hidden + j] + r * gh[b, 2 * hidden + j])
        acts[b, r_at + j] = r
        acts[b, z_at + j] = z
        acts[b, 2 * hidden + j] = cand
        h_out[b, j] = (1.0 - z) * cand + z * h_prev[b, j]


@cuda.jit
def _gru_backward(acts, gh, h_prev, grad_h, grad_gx, grad_gh, grad_h_prev, r_at, z_at):
    hidden = h_prev.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, h_prev.size, stride):
        b, j = k // hidden, k % hidden
        r, z, cand = acts[b, r_at + j], acts[b, z_at + j], acts[b, 2 * hidden + j]
        dh = grad_h[b, j]
        dcand = dh * (1.0 - z) * (1.0 - cand * cand)
        dz = dh * (h_prev[b, j] - cand) * z * (1.0 - z)
        dr = dcand * gh[b, 2 * hidden + j] * r * (1.0 - r)
        grad_gx[b, r_at + j] = dr
        grad_gh[b, r_at + j] = dr
        grad_gx[b, z_at + j] = dz
        grad_gh[b, z_at + j] = dz
        grad_gx[b, 2 * hidden + j] = dcand
        grad_gh[b, 2 * hidden + j] = dcand * r
        grad_h_prev[b, j] = dh * z


def lstm_pointwise(gates, c_prev):
    """(h, c, activated gates) of one LSTM step from its gate pre-activations."""
    h_out, c_out, acts = xp.empty_like(c_prev), xp.empty_like(c_prev), xp.empty_like(gates)
    launch(_lstm_forward, c_prev.size, gates, c_prev, h_out, c_out, acts)
    return h_out, c_out, acts


def lstm_pointwise_backward(acts, c_prev, c_out, grad_h, grad_c):
    grad_gates, grad_c_prev = xp.empty_like(acts), xp.empty_like(c_prev)
    launch(_lstm_backward, c_prev.size, acts, c_prev, c_out, grad_h, grad_c, grad_gates,
           grad_c_prev)
    return grad_gates, grad_c_prev


def gru_pointwise(gx, gh, h_prev, r_at, z_at):
    h_out, acts = xp.empty_like(h_prev), xp.empty_like(gx)
    launch(_gru_forward, h_prev.size, gx, gh, h_prev, h_out, acts, r_at, z_at)
    return h_out, acts


def gru_pointwise_backward(acts, gh, h_prev, grad_h, r_at, z_at):
    grad_gx, grad_gh, grad_h_prev = xp.empty_like(acts), xp.empty_like(acts), xp.empty_like(h_prev)
    launch(_gru_backward, h_prev.size, acts, gh, h_prev, grad_h, grad_gx, grad_gh, grad_h_prev,
           r_at, z_at)
    return grad_gx, grad_gh, grad_h_prev
