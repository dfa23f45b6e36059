"""One step of an LSTM, GRU or Elman RNN, as fused ops (torch.lstm_cell & co.).

Each step is two BLAS products for the gate pre-activations and one fused Numba pass for the
gate nonlinearities and the state update (`cpu.py`); backward is the fused pointwise backward
and the transposed products. The sequence loops (nn.LSTM, keras LSTM) are built on these.
Gate order is torch's (LSTM i, f, g, o - the same as Keras's i, f, c, o; GRU r, z, n); the GRU
op also takes Keras's z, r, h order (`gate_order="zrn"`), whose arithmetic is reset_after=True.
"""
from ...autograd import Function
from ...dispatch import kernels
from ...tensor import Tensor
from .._common import check_same_device, shape_str
from ..elementwise.ops import relu, tanh
from ..matmul.ops import matmul


def _k(dev):
    return kernels("recurrent", dev)


def _mm(dev):
    return kernels("matmul", dev).matmul


def _wrap(array, like):
    return Tensor._make(array, like._device, like._dtype, False, None, 0, None)


def _gates(x, h, w_ih, w_hh, b_ih, b_hh):
    """x W_ih^T + b_ih and h W_hh^T + b_hh as arrays."""
    mm = _mm(x._device)
    gx = mm(x._data, w_ih._data.T)
    gh = mm(h._data, w_hh._data.T)
    if b_ih is not None:
        gx += b_ih._data
    if b_hh is not None:
        gh += b_hh._data
    return gx, gh


def _weight_grads(need, saved, grad_gx, grad_gh):
    """Gradients of x, h, W_ih, W_hh, b_ih, b_hh from the gate gradients (arrays); `need` says
    which of those six are wanted, `saved` holds the tensors x, h, W_ih, W_hh."""
    like = saved[0]
    mm = _mm(like._device)
    x, h, w_ih, w_hh = (t._data for t in saved)
    return (_wrap(mm(grad_gx, w_ih), like) if need[0] else None,
            _wrap(mm(grad_gh, w_hh), like) if need[1] else None,
            _wrap(mm(grad_gx.T, x), like) if need[2] else None,
            _wrap(mm(grad_gh.T, h), like) if need[3] else None,
            _wrap(grad_gx.sum(0), like) if need[4] else None,
            _wrap(grad_gh.sum(0), like) if need[5] else None)


def _no_double_backward(op, *grads):
    if any(g is not None and g.requires_grad for g in grads):
        raise RuntimeError(f"{op}: double backward (create_graph=True) through a fused recurrent "
                           f"cell is not supported")


class LSTMCell(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih, b_hh):
        gx, gh = _gates(x, h, w_ih, w_hh, b_ih, b_hh)
        gx += gh
        h_out, c_out, acts = _k(x._device).lstm_pointwise(gx, c._data)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x, h, c, w_ih, w_hh)
            ctx.acts, ctx.c_out = acts, c_out
        return h_out, c_out

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        _no_double_backward("lstm_cell", grad_h, grad_c)
        x, h, c, w_ih, w_hh = ctx.saved_tensors
        grad_gates, grad_c_prev = _k(c._device).lstm_pointwise_backward(
            ctx.acts, c._data, ctx.c_out, grad_h._data, grad_c._data)
        need = ctx.needs_input_grad
        gx, gh, gw_ih, gw_hh, gb_ih, gb_hh = _weight_grads(
            need[:2] + need[3:], (x, h, w_ih, w_hh), grad_gates, grad_gates)
        return gx, gh, (_wrap(grad_c_prev, c) if need[2] else None), gw_ih, gw_hh, gb_ih, gb_hh


class GRUCell(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih, b_hh, order):
        gx, gh = _gates(x, h, w_ih, w_hh, b_ih, b_hh)
        hidden = h._data.shape[1]
        ctx.r_at, ctx.z_at = (0, hidden) if order == "rzn" else (hidden, 0)
        h_out, acts = _k(x._device).gru_pointwise(gx, gh, h._data, ctx.r_at, ctx.z_at)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x, h, w_ih, w_hh)
            ctx.acts, ctx.gh = acts, gh
        return h_out

    @staticmethod
    def backward(ctx, grad_h):
        _no_double_backward("gru_cell", grad_h)
        saved = ctx.saved_tensors
        grad_gx, grad_gh, grad_h_prev = _k(grad_h._device).gru_pointwise_backward(
            ctx.acts, ctx.gh, saved[1]._data, grad_h._data, ctx.r_at, ctx.z_at)
        gx, gh, gw_ih, gw_hh, gb_ih, gb_hh = _weight_grads(ctx.needs_input_grad[:6], saved,
                                                           grad_gx, grad_gh)
        if gh is not None:
            gh = gh + _wrap(grad_h_prev, grad_h)
        return gx, gh, gw_ih, gw_hh, gb_ih, gb_hh, None


def _check_cell(op, x, h, w_ih, w_hh, b_ih, b_hh, gates):
    for name, t in (("input", x), ("hx", h), ("w_ih", w_ih), ("w_hh", w_hh)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    check_same_device(op, x, h, w_ih, w_hh, b_ih, b_hh)
    if x.ndim != 2 or h.ndim != 2:
        raise RuntimeError(f"{op}: expected 2-D input (batch, input_size) and hx (batch, "
                           f"hidden_size), got {shape_str(x.shape)} and {shape_str(h.shape)}")
    hidden = h.shape[1]
    expected = {"w_ih": (gates * hidden, x.shape[1]), "w_hh": (gates * hidden, hidden),
                "b_ih": (gates * hidden,), "b_hh": (gates * hidden,)}
    for name, t in (("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh)):
        if t is not None and tuple(t.shape) != expected[name]:
            raise RuntimeError(f"{op}: {name} has shape {shape_str(t.shape)}, expected "
                               f"{shape_str(expected[name])} for input {shape_str(x.shape)} and "
                               f"hx {shape_str(h.shape)}")
    if x.shape[0] != h.shape[0]:
        raise RuntimeError(f"{op}: input batch size {x.shape[0]} doesn't match hx batch size "
                           f"{h.shape[0]}")
    dtypes = {t.dtype for t in (x, h, w_ih, w_hh, b_ih, b_hh) if t is not None}
    if len(dtypes) != 1:
        raise RuntimeError(f"{op}: expected all tensors to have one dtype, got "
                           f"{sorted(d.name for d in dtypes)}")


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: returns (h', c') from input (N, I), hx = (h, c) each (N, H), w_ih (4H, I).

    i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b_ih + h W_hh^T + b_hh (torch's gate order);
    c' = f * c + i * g; h' = o * tanh(c').
    """
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError("lstm_cell: hx must be a tuple (h, c)")
    h, c = hx
    _check_cell("lstm_cell", input, h, w_ih, w_hh, b_ih, b_hh, 4)
    if tuple(c.shape) != tuple(h.shape):
        raise RuntimeError(f"lstm_cell: c has shape {shape_str(c.shape)}, expected h's "
                           f"{shape_str(h.shape)}")
    return LSTMCell.apply(input, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, gate_order="rzn"):
    """One GRU step: h' = (1 - z) * n + z * h with n = tanh(x W_in + b_in + r * (h W_hn + b_hn)).

    gate_order "rzn" is torch's layout of the 3H rows; "zrn" is Keras's (reset_after=True).
    """
    if gate_order not in ("rzn", "zrn"):
        raise ValueError(f"gru_cell: gate_order must be 'rzn' (torch) or 'zrn' (Keras), got "
                         f"{gate_order!r}")
    _check_cell("gru_cell", input, hx, w_ih, w_hh, b_ih, b_hh, 3)
    return GRUCell.apply(input, hx, w_ih, w_hh, b_ih, b_hh, gate_order)


def _rnn_cell(op, activation, input, hx, w_ih, w_hh, b_ih, b_hh):
    _check_cell(op, input, hx, w_ih, w_hh, b_ih, b_hh, 1)
    pre = matmul(input, w_ih.mT) + matmul(hx, w_hh.mT)
    if b_ih is not None:
        pre = pre + b_ih
    if b_hh is not None:
        pre = pre + b_hh
    return activation(pre)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step: tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (composed: tanh is fused)."""
    return _rnn_cell("rnn_tanh_cell", tanh, input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _rnn_cell("rnn_relu_cell", relu, input, hx, w_ih, w_hh, b_ih, b_hh)


FUNCTIONAL = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]
__all__ = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]
METHODS = {}
