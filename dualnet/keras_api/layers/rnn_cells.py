"""Keras's recurrent cells (SimpleRNNCell, LSTMCell, GRUCell): one time step with Keras's weight
layout, gate orders (LSTM i, f, c, o; GRU z, r, h) and defaults, on the core's fused cells."""
# The default activations run the core's fused cells (F.lstm_cell, F.gru_cell(gate_order="zrn"),
# F.rnn_tanh_cell / rnn_relu_cell), which take Keras's gate orders; the kernels go in transposed
# (views). Other activations, GRU's reset_after=False and GRU's recurrent dropout have no fused
# cell in the core: those steps are composed from core ops (matmul, split, the activations).
import numbers

from ...core.creation import ones, ones_like, zeros
from ...core.ops.shape.ops import cat, split
from ...nn import functional as F
from .. import activations, initializers, regularizers
from .core import _serialized
from .layer import Layer

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell"]


def _rate(cell, name, value):
    if not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{cell}: {name} must be a float between 0 and 1, got {name}={value!r}")
    return float(min(1.0, max(0.0, value)))


class _Cell(Layer):
    """What the three cells share: arguments, weights, dropout masks, config."""

    _GATES = 1
    _DEFAULT_ACTIVATIONS = ()  # (activation, recurrent_activation) the fused cell computes

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)  # Keras's choice of matmul grouping: same numbers
        super().__init__(**kwargs)
        name = type(self).__name__
        if not isinstance(units, numbers.Integral) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{name}: units must be a positive integer, got units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = _rate(name, "dropout", dropout)
        self.recurrent_dropout = _rate(name, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.reset_dropout_mask()

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _fused(self):
        wanted = tuple(activations.get(a) for a in self._DEFAULT_ACTIVATIONS)
        return (self.activation, self.recurrent_activation)[:len(wanted)] == wanted

    def build(self, input_shape):
        input_dim = input_shape[-1]
        width = self._GATES * self.units
        self.kernel = self.add_weight(shape=(input_dim, width), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, width),
                                                name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight(shape=self._bias_shape(), name="bias",
                                    initializer=self._bias_init(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _bias_shape(self):
        return (self._GATES * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    # Keras draws one dropout mask per sequence (the RNN layer resets it before each call) and
    # applies it at every step.
    def reset_dropout_mask(self):
        self._input_mask = self._recurrent_mask = None

    def _drop(self, x, training, which):
        rate = self.dropout if which == "input" else self.recurrent_dropout
        if not training or rate == 0:
            return x
        attr = "_input_mask" if which == "input" else "_recurrent_mask"
        mask = getattr(self, attr)
        if mask is None or tuple(mask.shape) != tuple(x.shape):
            mask = F.dropout(ones_like(x), rate, training=True)
            setattr(self, attr, mask)
        return x * mask

    def get_initial_state(self, batch_size, dtype=None, device=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [zeros(batch_size, s, dtype=dtype, device=device) for s in sizes]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": _serialized(activations, self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _serialized(initializers, self.kernel_initializer),
            "recurrent_initializer": _serialized(initializers, self.recurrent_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "kernel_regularizer": _serialized(regularizers, self.kernel_regularizer),
            "recurrent_regularizer": _serialized(regularizers, self.recurrent_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "kernel_constraint": self.kernel_constraint,
            "recurrent_constraint": self.recurrent_constraint,
            "bias_constraint": self.bias_constraint,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        })
        return config


class SimpleRNNCell(_Cell):
    """h' = activation(x @ kernel + h @ recurrent_kernel + bias) (Elman)."""

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, (list, tuple)) else states
        x = self._drop(inputs, training, "input")
        h_in = self._drop(h, training, "recurrent")
        fused_op = {activations.tanh: F.rnn_tanh_cell, activations.relu: F.rnn_relu_cell}.get(
            self.activation)
        if fused_op is not None:
            out = fused_op(x, h_in, self.kernel.t(), self.recurrent_kernel.t(), self.bias)
        else:
            pre = F.linear(x, self.kernel.t(), self.bias) + h_in.matmul(self.recurrent_kernel)
            out = self.activation(pre)
        return out, [out]


class LSTMCell(_Cell):
    """c' = f * c + i * activation(g), h' = o * activation(c') with i, f, o =
    recurrent_activation(.) of x @ kernel + h @ recurrent_kernel + bias (gates i, f, c, o)."""

    _GATES = 4
    _DEFAULT_ACTIVATIONS = ("tanh", "sigmoid")

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def forget_bias_one(shape, dtype=None):
            # the forget gate starts open (Jozefowicz et al., 2015): its bias block is 1
            return cat([base((units,), dtype), ones(units, dtype=dtype),
                        base((2 * units,), dtype)])
        return forget_bias_one

    def call(self, inputs, states, training=None):
        h, c = states
        x = self._drop(inputs, training, "input")
        h_in = self._drop(h, training, "recurrent")
        if self._fused():
            h_out, c_out = F.lstm_cell(x, (h_in, c), self.kernel.t(), self.recurrent_kernel.t(),
                                       self.bias)
            return h_out, [h_out, c_out]
        pre = F.linear(x, self.kernel.t(), self.bias) + h_in.matmul(self.recurrent_kernel)
        gate_i, gate_f, cand, gate_o = split(pre, self.units, dim=-1)
        act, rec = self.activation, self.recurrent_activation
        c_out = rec(gate_f) * c + rec(gate_i) * act(cand)
        h_out = rec(gate_o) * act(c_out)
        return h_out, [h_out, c_out]

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = _serialized(activations, self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRUCell(_Cell):
    """h' = z * h + (1 - z) * hh, z, r = recurrent_activation(.), hh = activation(x W_h + b +
    r * (h U_h + b_rec)) with reset_after=True (Keras 3's default, bias (2, 3*units)), or
    activation(x W_h + b + (r * h) U_h) with reset_after=False (bias (3*units,)); gates z, r, h."""

    _GATES = 3
    _DEFAULT_ACTIVATIONS = ("tanh", "sigmoid")

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, (list, tuple)) else states
        x = self._drop(inputs, training, "input")
        input_bias = recurrent_bias = None
        if self.use_bias:
            input_bias, recurrent_bias = (self.bias[0], self.bias[1]) if self.reset_after else (
                self.bias, None)
        recurrent_dropped = bool(training) and self.recurrent_dropout > 0
        if self.reset_after and self._fused() and not recurrent_dropped:
            out = F.gru_cell(x, h, self.kernel.t(), self.recurrent_kernel.t(), input_bias,
                             recurrent_bias, gate_order="zrn")
            return out, [out]
        # composed step; the recurrent-dropout mask touches the products, not the carried state
        h_in = self._drop(h, training, "recurrent")
        x_z, x_r, x_h = split(F.linear(x, self.kernel.t(), input_bias), self.units, dim=-1)
        u_zr, u_h = split(self.recurrent_kernel, [2 * self.units, self.units], dim=-1)
        if self.reset_after:
            h_z, h_r, h_h = split(F.linear(h_in, self.recurrent_kernel.t(), recurrent_bias),
                                  self.units, dim=-1)
        else:
            h_z, h_r = split(h_in.matmul(u_zr), self.units, dim=-1)
        gate_z = self.recurrent_activation(x_z + h_z)
        gate_r = self.recurrent_activation(x_r + h_r)
        reset_h = gate_r * h_h if self.reset_after else (gate_r * h_in).matmul(u_h)
        candidate = self.activation(x_h + reset_h)
        out = gate_z * h + (1.0 - gate_z) * candidate
        return out, [out]

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = _serialized(activations, self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config
