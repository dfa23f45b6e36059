"""Keras's recurrent layers (RNN, SimpleRNN, LSTM, GRU, Bidirectional) over (batch, timesteps,
features) inputs, with Keras's arguments, weight layout and go_backwards output order."""
# As in Keras, go_backwards=True returns the outputs in processing (reversed) order;
# Bidirectional flips them back before merging.
import warnings

import numpy as np

from ...core.creation import as_tensor, zeros_like
from ...core.ops.shape.ops import cat, flip, stack
from ...core.tensor import Tensor
from .. import regularizers
from .core import _serialized
from .layer import Layer
from .rnn_cells import GRUCell, LSTMCell, SimpleRNNCell

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "SimpleRNNCell", "LSTMCell",
           "GRUCell"]


def _as_list(value):
    if value is None:
        return None
    return list(value) if isinstance(value, (list, tuple)) else [value]


class RNN(Layer):
    """Runs `cell` over the time axis: outputs (batch, units), or (batch, timesteps, units) with
    return_sequences; return_state appends the final states ([h, c] for LSTM, [h] otherwise).

    >>> import dualnet as dn
    >>> out, h, c = RNN(LSTMCell(4), return_state=True)(dn.ones(2, 5, 3))
    >>> out.shape, c.shape
    (dualnet.Size([2, 4]), dualnet.Size([2, 4]))
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll  # the Python loop is always unrolled: same numbers either way
        self.zero_output_for_mask = zero_output_for_mask
        # stateful=True: the final states of each call, detached (no gradient flows from one
        # batch into the previous one), start the next call; reset_states() zeroes them. As in
        # Keras they are not weights (not saved, not in state_dict).
        self.__dict__["states"] = None

    def _check_input(self, shape):
        if len(shape) != 3:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=3 (batch, timesteps, features), found ndim="
                             f"{len(shape)}. Full shape received: {tuple(shape)}")

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_input(sequences_shape)
        if not self.cell.built:
            self.cell.build((sequences_shape[0], sequences_shape[-1]))
        if self.stateful:
            if self.states is not None:
                self.reset_states()
            else:
                if sequences_shape[0] is None:
                    raise ValueError(f"When using `stateful=True` in a RNN, the batch size must "
                                     f"be static. Found dynamic batch size: sequence.shape="
                                     f"{tuple(sequences_shape)} (layer '{self.name}'); give "
                                     f"keras.Input a batch_size or batch_shape")
                self.__dict__["states"] = self.cell.get_initial_state(
                    sequences_shape[0], dtype=self._dtype)
        self.built = True

    def reset_states(self):
        """Zero the states a stateful RNN carries from one call to the next."""
        self.reset_state()

    def reset_state(self):
        if self.states is not None:
            self.__dict__["states"] = [zeros_like(s).detach() for s in self.states]

    def call(self, sequences, initial_state=None, mask=None, training=None):
        self._check_input(tuple(sequences.shape))
        batch, steps = sequences.shape[0], sequences.shape[1]
        if isinstance(initial_state, Tensor) and initial_state.ndim == 3:
            # Layer.__call__ turns a list of arrays into one stacked tensor: unstack it
            initial_state = list(initial_state.unbind(0))
        states = _as_list(initial_state)
        if states is None and self.stateful:
            if self.states is None:  # built without a batch size: start from zeros
                self.__dict__["states"] = self.cell.get_initial_state(
                    batch, dtype=sequences.dtype, device=sequences.device)
            expected = self.states[0].shape[0]
            if batch != expected:
                raise ValueError(f"If an RNN is stateful, the batch size of the input sequences "
                                 f"must be the same as the batch size of the initial state. "
                                 f"Layer '{self.name}': expected batch size {expected}, "
                                 f"received batch size {batch}")
            states = [s.to(sequences.device) for s in self.states]
        if states is None:
            states = self.cell.get_initial_state(batch, dtype=sequences.dtype,
                                                 device=sequences.device)
        else:
            states = [s if isinstance(s, Tensor) else as_tensor(np.asarray(s, np.float32))
                      for s in states]
            expected = len(_as_list(self.cell.state_size))
            if len(states) != expected:
                raise ValueError(f'Layer "{self.name}" expects {expected} initial state(s), got '
                                 f"{len(states)}")
        if isinstance(mask, (list, tuple)):
            mask = mask[0]  # one time-step mask for every input
        if mask is not None:
            mask = mask if isinstance(mask, Tensor) else as_tensor(np.asarray(mask, dtype=bool))
            mask = mask.to(sequences.device)
            if mask.dtype.name != "bool":
                mask = mask != 0
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        self.cell.reset_dropout_mask()
        outputs, previous = [], None
        for t in order:
            output, new_states = self.cell.call(sequences[:, t], states, training=training)
            if mask is not None:
                keep = mask[:, t].reshape(batch, 1)
                new_states = [new.where(keep, old) for new, old in zip(new_states, states)]
                if previous is None or self.zero_output_for_mask:
                    previous = output * 0.0
                output = output.where(keep, previous)
            states, previous = list(new_states), output
            outputs.append(output)
        result = stack(outputs, dim=1) if self.return_sequences else outputs[-1]
        if self.stateful:
            self.__dict__["states"] = [s.detach() for s in states]
        return [result, *states] if self.return_state else result

    def compute_mask(self, inputs, mask):
        """The input's time-step mask for return_sequences outputs, None otherwise (and for
        the states), as Keras."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(_as_list(self.cell.state_size))
        return output_mask

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        units = self.cell.output_size
        output = (batch, steps, units) if self.return_sequences else (batch, units)
        if not self.return_state:
            return output
        return [output] + [(batch, size) for size in _as_list(self.cell.state_size)]

    def get_config(self):
        config = super().get_config()
        if type(self) is RNN:
            config["cell"] = {"class_name": type(self.cell).__name__,
                              "config": self.cell.get_config()}
        config.update({"return_sequences": self.return_sequences,
                       "return_state": self.return_state, "go_backwards": self.go_backwards,
                       "stateful": self.stateful, "unroll": self.unroll,
                       "zero_output_for_mask": self.zero_output_for_mask})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        entry = config.pop("cell", None)
        if entry is not None and cls is RNN:
            cells = {c.__name__: c for c in (SimpleRNNCell, LSTMCell, GRUCell)}
            if entry["class_name"] not in cells:
                raise ValueError(f"RNN.from_config: unknown cell class {entry['class_name']!r}; "
                                 f"known: {', '.join(sorted(cells))}")
            config["cell"] = cells[entry["class_name"]].from_config(entry["config"])
        return cls(**config)


class _CellLayer(RNN):
    """SimpleRNN / LSTM / GRU: an RNN whose cell is built from the layer's own arguments; the
    cell's arguments are readable on the layer and stored flat in its config, as in Keras."""

    _CELL = None
    _CELL_NAME = None

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, **kwargs):
        layer_keys = {"name", "trainable", "dtype", "input_shape", "batch_input_shape",
                      "input_dim", "activity_regularizer", "zero_output_for_mask"}
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in layer_keys}
        cell = self._CELL(units, name=self._CELL_NAME, **kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         **layer_kwargs)

    def __getattr__(self, name):
        # units, activation, kernel, ... live on the cell (Keras exposes them as properties)
        try:
            return super().__getattr__(name)
        except AttributeError:
            cell = self.__dict__.get("_modules", {}).get("cell")
            if cell is not None and not name.startswith("_"):
                return getattr(cell, name)
            raise

    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = _serialized(regularizers, self.activity_regularizer)
        return config


class SimpleRNN(_CellLayer):
    """Fully connected RNN: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).

    >>> import dualnet as dn
    >>> SimpleRNN(4)(dn.ones(2, 5, 3)).shape
    dualnet.Size([2, 4])
    """

    _CELL, _CELL_NAME = SimpleRNNCell, "simple_rnn_cell"


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), Keras's layout: kernel
    (features, 4*units), recurrent_kernel (units, 4*units), bias (4*units,), gates i, f, c, o.

    >>> import dualnet as dn
    >>> LSTM(4, return_sequences=True)(dn.ones(2, 5, 3)).shape
    dualnet.Size([2, 5, 4])
    """

    _CELL, _CELL_NAME = LSTMCell, "lstm_cell"


class GRU(_CellLayer):
    """Gated recurrent unit (Cho et al., 2014), Keras's layout: kernel (features, 3*units),
    recurrent_kernel (units, 3*units), bias (2, 3*units) (reset_after=True) or (3*units,).

    >>> import dualnet as dn
    >>> GRU(4)(dn.ones(2, 5, 3)).shape
    dualnet.Size([2, 4])
    """

    _CELL, _CELL_NAME = GRUCell, "gru_cell"


class Bidirectional(Layer):
    """Runs `layer` forwards and a copy with go_backwards flipped, then merges the two outputs
    (merge_mode 'concat' (default), 'sum', 'mul', 'ave', or None for a list of both).

    >>> import dualnet as dn
    >>> Bidirectional(LSTM(4, return_sequences=True))(dn.ones(2, 5, 3)).shape
    dualnet.Size([2, 5, 8])
    """

    _MERGE_MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional: `layer` must be an RNN layer (LSTM, GRU, "
                             f"SimpleRNN, RNN), got {layer!r}")
        if merge_mode not in self._MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; it must be one "
                             f"of 'concat', 'sum', 'mul', 'ave', None")
        super().__init__(**kwargs)
        self.supports_masking = True
        base = layer.get_config()
        self.forward_layer = type(layer).from_config(
            {**base, "name": "forward_" + layer.name})
        if backward_layer is None:
            self.backward_layer = type(layer).from_config(
                {**base, "name": "backward_" + layer.name, "go_backwards": not layer.go_backwards})
        else:
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Bidirectional: backward_layer.go_backwards must be the opposite "
                                 "of layer.go_backwards")
            if (backward_layer.return_sequences != layer.return_sequences
                    or backward_layer.return_state != layer.return_state):
                raise ValueError("Bidirectional: layer and backward_layer must agree on "
                                 "return_sequences and return_state")
            self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        if weights:
            # Keras 3.15's rule, kept for parity: the first half goes to the forward layer's and
            # the rest to the backward layer's `initial_weights`, which Keras 3 never reads (the
            # layers start from their initializers; tf.keras 2 applied them when built)
            half = len(weights) // 2
            self.forward_layer.initial_weights = list(weights[:half])
            self.backward_layer.initial_weights = list(weights[half:])
            warnings.warn(f"Bidirectional '{self.name}': `weights` ({len(weights)} arrays) is "
                          f"stored as forward_layer.initial_weights / backward_layer."
                          f"initial_weights but not applied, as in Keras 3; call "
                          f"set_weights(weights) once the layer is built to load them",
                          UserWarning, stacklevel=2)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful

    def reset_states(self):
        """Zero the states of both directions (stateful layers only)."""
        self.reset_state()

    def reset_state(self):
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' must be stateful to reset its states")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def build(self, sequences_shape, initial_state_shape=None):
        self.forward_layer.build(sequences_shape)
        self.backward_layer.build(sequences_shape)
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            states = _as_list(initial_state)
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        forward = self.forward_layer(sequences, initial_state=forward_state, mask=mask,
                                     training=training)
        backward = self.backward_layer(sequences, initial_state=backward_state, mask=mask,
                                       training=training)
        if self.return_state:
            forward, forward_states = forward[0], forward[1:]
            backward, backward_states = backward[0], backward[1:]
        if self.return_sequences:
            backward = flip(backward, 1)  # back to input order
        if self.merge_mode == "concat":
            merged = cat([forward, backward], dim=-1)
        elif self.merge_mode == "sum":
            merged = forward + backward
        elif self.merge_mode == "ave":
            merged = (forward + backward) * 0.5
        elif self.merge_mode == "mul":
            merged = forward * backward
        else:
            merged = [forward, backward]
        if not self.return_state:
            return merged
        merged = merged if isinstance(merged, list) else [merged]
        return merged + list(forward_states) + list(backward_states)

    def compute_mask(self, inputs, mask):
        """Keras's rule: the input mask on return_sequences outputs (one per output with
        merge_mode=None); none on states (Keras keeps no states without stateful=True)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if self.return_sequences:
            return mask if self.merge_mode else [mask, mask]
        return None if self.merge_mode else [None, None]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], shape[1:]
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        outputs = [shape, shape] if self.merge_mode is None else [shape]
        if not self.return_state:
            return outputs[0] if self.merge_mode is not None else outputs
        return outputs + list(states) * 2

    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = {"class_name": type(self.forward_layer).__name__,
                           "config": {**self.forward_layer.get_config(),
                                      "name": self.forward_layer.name[len("forward_"):]}}
        config["backward_layer"] = {"class_name": type(self.backward_layer).__name__,
                                    "config": self.backward_layer.get_config()}
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        classes = {c.__name__: c for c in (RNN, SimpleRNN, LSTM, GRU)}

        def rebuild(entry):
            return classes[entry["class_name"]].from_config(entry["config"])
        layer = rebuild(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        backward = rebuild(backward) if backward is not None else None
        return cls(layer, backward_layer=backward, **config)
