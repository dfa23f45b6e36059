"""Recurrent layers with torch.nn's names, parameters and return values: the cells (RNNCell,
LSTMCell, GRUCell) and the sequence layers (RNN, LSTM, GRU), whose time loop calls the fused core
cells (`F.lstm_cell`, `F.gru_cell`, `F.rnn_tanh_cell`, `F.rnn_relu_cell`) one step at a time;
LSTM with projections (proj_size > 0) follows the fused cell with `F.linear` by weight_hr. The
sequence layers also take a PackedSequence (nn.utils.rnn) and then return one."""
import math
import numbers
import warnings

from ...core import creation as _creation
from ...core.ops._common import check_same_device, shape_str
from ...core.ops.recurrent.ops import LSTMCell as _FusedLSTMCell
from ...core.ops.shape import ops as _shape
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_CELL_OPS = {"LSTM": F.lstm_cell, "GRU": F.gru_cell, "RNN_TANH": F.rnn_tanh_cell,
             "RNN_RELU": F.rnn_relu_cell}


def _check_size(layer, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{layer}: {name} should be of type int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{layer}: {name} must be greater than zero, got {value}")


def _check_dtype(layer, input, weight):
    """The fused cells take one dtype; say which layer and how to convert instead."""
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{layer}: input has dtype {input.dtype.name} but the parameters are "
                           f"{weight.dtype.name}; convert the input (e.g. input.to("
                           f"dn.{weight.dtype.name})) or the layer (e.g. .double())")


def _projected_lstm_cell(input, hx, w_ih, w_hh, b_ih, b_hh, w_hr):
    """One step of torch's LSTM with projections (Sak et al., 2014): the LSTM cell on h of
    proj_size, then h' = h_cell W_hr^T (proj_size), c' of hidden_size.

    The fused core cell computes h W_hh^T for h of any width and its backward takes the
    transposed products, so it is called directly: `F.lstm_cell`'s public check ties h's width to
    c's, which a projection breaks. The layer has checked every shape and dtype before the loop.
    """
    h_cell, c = _FusedLSTMCell.apply(input, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh)
    return F.linear(h_cell, w_hr), c


def _step(cell, lstm, x, state, weights):
    """One cell step on the state list [h] or [h, c]; returns the new state list."""
    if lstm:
        return list(cell(x, tuple(state), *weights))
    return [cell(x, state[0], *weights)]


def _uniform_reset(module):
    # torch's rule for every recurrent weight and bias: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


# ------------------------------------------------------------------------------------ cells

class RNNCellBase(Module):
    """Holds one step's parameters: weight_ih (gates*hidden, input), weight_hh (gates*hidden,
    hidden) and, with bias, bias_ih / bias_hh (gates*hidden)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_size(name, "input_size", input_size)
        _check_size(name, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = num_chunks * hidden_size
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(_creation.empty((rows, input_size), **factory))
        self.weight_hh = Parameter(_creation.empty((rows, hidden_size), **factory))
        if bias:
            self.bias_ih = Parameter(_creation.empty(rows, **factory))
            self.bias_hh = Parameter(_creation.empty(rows, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_reset(self)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _prepare(self, input, states):
        """Check input (input_size) / (batch, input_size) and the states (hidden_size) /
        (batch, hidden_size); return the 2-D input, the 2-D states (zeros when None) and
        whether the input was batched."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of 1 dim (input_size) or 2 dims (batch, "
                             f"input_size), got shape {shape_str(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has {input.shape[-1]} features in its last dim "
                               f"(shape {shape_str(input.shape)}), expected input_size="
                               f"{self.input_size}")
        _check_dtype(name, input, self.weight_ih)
        batched = input.ndim == 2
        expected = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        prepared = []
        for which, state in states:
            if state is None:
                state = _creation.zeros(expected, dtype=input.dtype, device=input.device)
            elif tuple(state.shape) != expected:
                raise RuntimeError(f"{name}: {which} has shape {shape_str(state.shape)}, expected "
                                   f"{shape_str(expected)} for input of shape "
                                   f"{shape_str(input.shape)}")
            prepared.append(state if batched else state.unsqueeze(0))
        return (input if batched else input.unsqueeze(0)), prepared, batched

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> cell = nn.RNNCell(3, 5)
    >>> cell(dn.randn(2, 3)).shape
    dualnet.Size([2, 5])
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, (hx,), batched = self._prepare(input, [("hx", hx)])
        op = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        h = op(input, hx, *self._weights())
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step, returning (h', c'); gates i, f, g, o as torch's (see F.lstm_cell).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> h, c = nn.LSTMCell(3, 5)(dn.randn(2, 3))
    >>> h.shape, c.shape
    (dualnet.Size([2, 5]), dualnet.Size([2, 5]))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        h, c = (None, None) if hx is None else hx
        input, (h, c), batched = self._prepare(input, [("h", h), ("c", c)])
        h, c = F.lstm_cell(input, (h, c), *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: gates r, z, n as torch's (see F.gru_cell)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        input, (hx,), batched = self._prepare(input, [("hx", hx)])
        h = F.gru_cell(input, hx, *self._weights())
        return h if batched else h.squeeze(0)


# ------------------------------------------------------------------------------- sequences

class RNNBase(Module):
    """A stack of `num_layers` recurrent layers, each run forwards (and backwards too when
    bidirectional) over the sequence; layer l > 0 reads the concatenated outputs of layer l - 1,
    with dropout between layers in training. Parameters are torch's: weight_ih_l{k}, weight_hh_l{k},
    bias_ih_l{k}, bias_hh_l{k} (and weight_hr_l{k} (proj_size, hidden_size) for an LSTM with
    projections), each with a `_reverse` twin for the backward direction."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unknown mode {mode!r}, expected one of {sorted(_GATES)}")
        _check_size(name, "input_size", input_size)
        _check_size(name, "hidden_size", hidden_size)
        _check_size(name, "num_layers", num_layers)
        if (not isinstance(dropout, numbers.Real) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout is the probability of zeroing an element and must "
                             f"be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts only between stacked layers, so with "
                          f"num_layers=1 it does nothing", UserWarning, stacklevel=3)
        if not isinstance(proj_size, numbers.Integral) or isinstance(proj_size, bool):
            raise TypeError(f"{name}: proj_size should be of type int, got "
                            f"{type(proj_size).__name__}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive int, or zero to disable "
                             f"projections, got {proj_size}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is only supported for LSTM, not RNN or GRU; got "
                             f"proj_size={proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got "
                             f"proj_size={proj_size} and hidden_size={hidden_size}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = int(proj_size)
        directions = 2 if bidirectional else 1
        rows = _GATES[mode] * hidden_size
        # with projections, h (what the recurrence and the next layer read) has proj_size
        state_size = self._h_size
        factory = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else state_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (rows, layer_input)), ("weight_hh", (rows, state_size))]
                if bias:
                    shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
                if self.proj_size:
                    shapes += [("weight_hr", (self.proj_size, hidden_size))]
                for kind, shape in shapes:
                    setattr(self, kind + suffix, Parameter(_creation.empty(shape, **factory)))
                    self._flat_weights_names.append(kind + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_reset(self)

    def flatten_parameters(self):
        """Kept for torch code that calls it: torch packs weights into one cuDNN buffer here;
        dualnet's cells read each parameter directly, so there is nothing to pack."""

    @property
    def _num_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def _h_size(self):
        """The width of h (outputs and h_0 / h_n): proj_size with projections, else hidden_size."""
        return self.proj_size or self.hidden_size

    @property
    def all_weights(self):
        """The parameters per layer and direction: [[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]."""
        per_step = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per_step]]
                for i in range(0, len(names), per_step)]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text

    # ----------------------------------------------------------------- checks

    def _check_input(self, input):
        name = type(self).__name__
        if not hasattr(input, "ndim"):
            raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got "
                            f"{type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 3-D batched input (seq_len, batch, input_size) "
                             f"or (batch, seq_len, input_size) with batch_first, or a 2-D "
                             f"unbatched one (seq_len, input_size); got shape "
                             f"{shape_str(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has {input.shape[-1]} features in its last dim "
                               f"(shape {shape_str(input.shape)}), expected input_size="
                               f"{self.input_size}")
        _check_dtype(name, input, self.weight_ih_l0)

    def _state(self, which, state, input, batched, batch):
        """The initial state as (layers * directions, batch, size): zeros when None, otherwise
        checked against that shape (without the batch dim for unbatched input). size is
        hidden_size, or proj_size for h_0 of an LSTM with projections."""
        name = type(self).__name__
        stacks = self.num_layers * self._num_directions
        size, size_name = ((self.proj_size, "proj_size") if self.proj_size and which == "h_0"
                           else (self.hidden_size, "hidden_size"))
        if state is None:
            return _creation.zeros((stacks, batch, size), dtype=input.dtype, device=input.device)
        if not hasattr(state, "ndim"):
            raise TypeError(f"{name}: {which} must be a Tensor, got {type(state).__name__}")
        if state.ndim != (3 if batched else 2):
            raise RuntimeError(f"{name}: for {'batched 3-D' if batched else 'unbatched 2-D'} "
                               f"input {shape_str(input.shape)}, {which} must be "
                               f"{'3-D' if batched else '2-D'}, got shape "
                               f"{shape_str(state.shape)}")
        expected = (stacks, batch, size) if batched else (stacks, size)
        if tuple(state.shape) != expected:
            raise RuntimeError(f"{name}: expected {which} of shape {shape_str(expected)} "
                               f"(num_layers * num_directions, {'batch, ' if batched else ''}"
                               f"{size_name}) for input {shape_str(input.shape)}, got "
                               f"{shape_str(state.shape)}")
        if state.dtype != input.dtype:
            raise RuntimeError(f"{name}: input has dtype {input.dtype.name} but {which} has "
                               f"{state.dtype.name}; give the states the input's dtype")
        check_same_device(name, input, state)
        return state if batched else state.unsqueeze(1)

    # ----------------------------------------------------------------- the loop

    def _step_weights(self, layer, direction):
        """[w_ih, w_hh, b_ih, b_hh] (biases None without bias), then w_hr with projections."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        weights = [getattr(self, n + suffix) for n in ("weight_ih", "weight_hh")]
        weights += ([getattr(self, n + suffix) for n in ("bias_ih", "bias_hh")] if self.bias
                    else [None, None])
        if self.proj_size:
            weights.append(getattr(self, "weight_hr" + suffix))
        return weights

    def _run(self, input, initial):
        """input (seq_len, batch, features); initial: a list with one (layers*dirs, batch, size)
        tensor per state (h, or h and c). Returns the last layer's output and the final states
        in the same layout: the packed loop with every step's batch full."""
        seq_len, batch = input.shape[0], input.shape[1]
        output, finals = self._run_packed(input.reshape(seq_len * batch, input.shape[2]),
                                          [batch] * seq_len, initial)
        return output.reshape(seq_len, batch, output.shape[-1]), finals

    def _run_packed(self, data, batch_sizes, initial):
        """data (sum of lengths, features) packed with batch_sizes (a list of ints, sorted batch
        shrinking step by step); initial: one (layers*dirs, batch_sizes[0], size) tensor per
        state. As torch's CPU loop, each step runs the cell on the prefix of the batch still
        running, so a sequence's final state is taken at its own last step and the reverse
        direction starts each sequence at its own last step from its initial state."""
        cell = _projected_lstm_cell if self.proj_size else _CELL_OPS[self.mode]
        lstm = self.mode == "LSTM"
        finals = [[] for _ in initial]
        layer_input = data
        for layer in range(self.num_layers):
            steps = _shape.split(layer_input, batch_sizes, 0)
            direction_outputs = []
            for direction in range(self._num_directions):
                index = layer * self._num_directions + direction
                full = [s[index] for s in initial]
                weights = self._step_weights(layer, direction)
                outputs = [None] * len(steps)
                if direction == 0:
                    state, ended = full, []
                    for t, size in enumerate(batch_sizes):
                        if size < state[0].shape[0]:  # the sequences past `size` have ended
                            ended.append([s[size:] for s in state])
                            state = [s[:size] for s in state]
                        state = _step(cell, lstm, steps[t], state, weights)
                        outputs[t] = state[0]
                    # the longest sequences end last: reversed, the pieces are in batch order
                    pieces = [state] + ended[::-1]
                    state = [_shape.cat([p[k] for p in pieces], 0) if len(pieces) > 1
                             else state[k] for k in range(len(state))]
                else:
                    last = batch_sizes[-1]  # the sequences running at the last step
                    state = full if last == full[0].shape[0] else [s[:last] for s in full]
                    for t in range(len(steps) - 1, -1, -1):
                        have, size = state[0].shape[0], batch_sizes[t]
                        if size > have:  # the sequences up to `size` start here
                            state = [_shape.cat([s, f[have:size]], 0)
                                     for s, f in zip(state, full)]
                        state = _step(cell, lstm, steps[t], state, weights)
                        outputs[t] = state[0]
                direction_outputs.append(_shape.cat(outputs, 0))
                for final, value in zip(finals, state):
                    final.append(value)
            output = direction_outputs[0] if len(direction_outputs) == 1 else \
                _shape.cat(direction_outputs, 1)
            if layer < self.num_layers - 1:
                if self.dropout > 0 and self.training:
                    output = F.dropout(output, self.dropout, True)
                layer_input = output
        return output, [_shape.stack(final, 0) for final in finals]

    def _forward_packed(self, packed, states):
        """A PackedSequence in, a PackedSequence out; the initial states are given in the
        caller's batch order and reordered by sorted_indices, the final ones put back by
        unsorted_indices (torch's permute_hidden)."""
        data = packed.data
        if hasattr(data, "ndim") and data.ndim != 2:
            raise ValueError(f"{type(self).__name__}: a PackedSequence's data must be 2-D (sum "
                             f"of lengths, input_size), got shape {shape_str(data.shape)}")
        self._check_input(data)
        batch_sizes = [int(n) for n in packed.batch_sizes.tolist()]
        initial = []
        for which, given in states:
            state = self._state(which, given, data, True, batch_sizes[0])
            if packed.sorted_indices is not None and given is not None:
                state = state.index_select(1, packed.sorted_indices)
            initial.append(state)
        output, finals = self._run_packed(data, batch_sizes, initial)
        if packed.unsorted_indices is not None:
            finals = [f.index_select(1, packed.unsorted_indices) for f in finals]
        return PackedSequence(output, packed.batch_sizes, packed.sorted_indices,
                              packed.unsorted_indices), finals

    def _forward(self, input, states):
        """Shared by RNN, LSTM, GRU: states is a list of (name, tensor or None)."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, states)
        self._check_input(input)
        given, batched = input, input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        initial = [self._state(which, state, given, batched, input.shape[1])
                   for which, state in states]
        output, finals = self._run(input, initial)
        if not batched:
            return output.squeeze(1), [f.squeeze(1) for f in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals


class RNN(RNNBase):
    """Elman RNN over a sequence: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu),
    returning (output, h_n) as torch: output (seq_len, batch, D * hidden_size), h_n
    (D * num_layers, batch, hidden_size), D = 2 when bidirectional.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> rnn = nn.RNN(3, 5, num_layers=2, batch_first=True)
    >>> output, h_n = rnn(dn.randn(4, 7, 3))
    >>> output.shape, h_n.shape
    (dualnet.Size([4, 7, 5]), dualnet.Size([2, 4, 5]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, [("hx", hx)])
        return output, h_n


class LSTM(RNNBase):
    """LSTM over a sequence, returning (output, (h_n, c_n)) as torch; hx is (h_0, c_0), each
    (D * num_layers, batch, hidden_size), zeros when not given.

    With proj_size = P > 0 (LSTM with projections, Sak et al., 2014) each step's h is projected,
    h_t = (o_t * tanh(c_t)) W_hr^T with weight_hr_l{k} (P, hidden_size): h_0 / h_n and the output
    features have P (D * P) and weight_hh is (4 * hidden_size, P); c stays hidden_size.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> lstm = nn.LSTM(3, 5, bidirectional=True)
    >>> output, (h_n, c_n) = lstm(dn.randn(7, 4, 3))
    >>> output.shape, h_n.shape, c_n.shape
    (dualnet.Size([7, 4, 10]), dualnet.Size([2, 4, 5]), dualnet.Size([2, 4, 5]))
    >>> output, (h_n, c_n) = nn.LSTM(3, 5, proj_size=2)(dn.randn(7, 4, 3))
    >>> output.shape, h_n.shape, c_n.shape
    (dualnet.Size([7, 4, 2]), dualnet.Size([1, 4, 2]), dualnet.Size([1, 4, 5]))

    A PackedSequence (nn.utils.rnn) gives a PackedSequence, and h_n / c_n at each sequence's own
    last step (the reverse direction starts there too):

    >>> from dualnet.nn.utils.rnn import pack_sequence
    >>> output, (h_n, c_n) = lstm(pack_sequence([dn.randn(5, 3), dn.randn(2, 3)]))
    >>> output.data.shape, output.batch_sizes.tolist(), h_n.shape
    (dualnet.Size([7, 10]), [2, 2, 1, 1, 1], dualnet.Size([2, 2, 5]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        h_0, c_0 = (None, None) if hx is None else hx
        output, (h_n, c_n) = self._forward(input, [("h_0", h_0), ("c_0", c_0)])
        return output, (h_n, c_n)


class GRU(RNNBase):
    """GRU over a sequence, returning (output, h_n) as torch (gates r, z, n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, [("hx", hx)])
        return output, h_n
