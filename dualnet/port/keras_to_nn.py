"""Keras model -> `nn.Sequential`: each Keras layer becomes the torch layer(s) computing the same
function, with its weights moved into torch's layouts (transposes and gate reorders only)."""
import warnings

import numpy as np

from ..keras_api import layers as L
from ..keras_api.layers.input_layer import InputLayer
from ..keras_api.models.from_module import ModuleModel
from ..keras_api.models.model import Model
from ._common import (Spec, channels_first, flat_order, identity, keras_activation, moving,
                      nn_activation_spec, same_pads)

__all__ = ["keras_chain", "KerasToNN"]

# The Keras layers whose nn twin takes the channels first (per their data_format)
_SPATIAL = (L.Conv1D, L.Conv2D, L.ZeroPadding2D, L.MaxPooling1D, L.MaxPooling2D,
            L.AveragePooling1D, L.AveragePooling2D, L.GlobalAveragePooling1D,
            L.GlobalAveragePooling2D, L.GlobalMaxPooling1D, L.GlobalMaxPooling2D)
# The Keras layers a channels-last tensor can pass through after Flatten before the Dense that
# takes the flat order into its kernel (elementwise, or per-feature with permutable weights).
_FLAT_PASSING = (L.Dropout, L.Activation, L.BatchNormalization)


def keras_chain(model):
    """[(layer, input_shape)] from the model's input to its output, nested models opened, and
    the input KerasTensor; ValueError unless the model is one chain of single-input layers."""
    if not isinstance(model, Model):
        raise TypeError(f"port: expected a keras_api model (Sequential or functional Model), "
                        f"got {type(model).__name__}")
    if isinstance(model, ModuleModel):
        raise TypeError(f"port: model '{model.name}' wraps an nn module already "
                        f"(Model.from_module); it is `model.module`")
    try:
        inputs, outputs = model.inputs, model.outputs
    except AttributeError:
        raise ValueError(f"port: model '{model.name}' is not built; start it with keras.Input "
                         f"or build it on an input shape first") from None
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"port: model '{model.name}' has {len(inputs)} inputs and "
                         f"{len(outputs)} outputs; only single-input, single-output chains of "
                         f"layers convert")
    chain, tensor = [], outputs[0]
    while tensor is not inputs[0]:
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if isinstance(layer, InputLayer):
            break
        if len(node.input_tensors) != 1:
            raise ValueError(f"port: layer '{layer.name}' of model '{model.name}' takes "
                             f"{len(node.input_tensors)} tensors; only chains of single-input "
                             f"layers convert")
        if isinstance(layer, Model):
            chain.extend(reversed(keras_chain(layer)[0]))
        else:
            chain.append((layer, tuple(node.input_tensors[0].shape)))
        tensor = node.input_tensors[0]
    return chain[::-1], inputs[0]


def _array(weight):
    return weight.detach().cpu().numpy()


def _layer_error(layer, why):
    return ValueError(f"port.to_nn: layer '{layer.name}' ({type(layer).__name__}) {why}")


class KerasToNN:
    """Walks a Keras chain, keeping track of how the nn tensor's dims relate to the Keras
    tensor's (`perm`: nn = keras.permute(perm)) and, after a channels-last Flatten, of the
    order of the flat features (`order`: nn_flat[j] = keras_flat[order[j]]), which the next
    Dense takes into its kernel."""

    def __init__(self, model):
        self.chain, input_tensor = keras_chain(model)
        self.input_shape = tuple(input_tensor.shape)
        self.input_dtype = input_tensor.dtype
        self.output_shape = tuple(model.outputs[0].shape)
        self.specs = []
        self.order = None
        rank = len(self.input_shape)
        wanted = [self._wants(layer, shape) for layer, shape in self.chain
                  if len(shape) == rank]
        self.perm = next((w for w in wanted if w is not None), identity(rank))
        self.input_perm = self.perm

    @property
    def nn_input_shape(self):
        """One sample's shape as the nn model takes it (no batch dim)."""
        return tuple(self.input_shape[d] for d in self.input_perm)[1:]

    def run(self):
        for index, (layer, shape) in enumerate(self.chain):
            wanted = self._wants(layer, shape)
            if wanted is not None and wanted != self.perm:
                self._permute(wanted)
            name = type(layer).__name__
            handler = getattr(self, "_" + name, None)
            if handler is None or getattr(L, name, None) is not type(layer):
                raise _layer_error(layer, "has no nn counterpart; the layers that convert are "
                                          "Dense, Conv1D/2D, ZeroPadding2D, Max/AveragePooling"
                                          "1D/2D, GlobalAverage/MaxPooling1D/2D, "
                                          "BatchNormalization, LayerNormalization, Dropout, "
                                          "Flatten, Permute, Embedding, SimpleRNN, LSTM, GRU, "
                                          "Activation and Identity")
            handler(layer, shape, index)
        rank = len(self.output_shape)
        if self.perm not in (identity(rank), channels_first(rank)):
            self._permute(identity(rank))
        return self.specs

    # ----------------------------------------------------------------- layouts
    def _wants(self, layer, shape):
        """The layout the layer's nn twin needs, or None when any will do."""
        rank = len(shape)
        if isinstance(layer, _SPATIAL):
            return channels_first(rank) if layer.data_format == "channels_last" else identity(
                rank)
        if isinstance(layer, L.BatchNormalization) and rank > 2:
            axis = layer.axis % rank
            return (0, axis, *[d for d in range(1, rank) if d != axis])
        if isinstance(layer, L.LayerNormalization) and rank > 2:
            axes = sorted(a % rank for a in layer.axis)
            perm = getattr(self, "perm", None)
            if perm is not None and list(perm[rank - len(axes):]) == axes:
                return perm
            return (*[d for d in range(rank) if d not in axes], *axes)
        if isinstance(layer, (L.Dense, L.Embedding, L.SimpleRNN, L.LSTM, L.GRU)) and rank > 2:
            return identity(rank)
        return None

    def _permute(self, target):
        self.specs.append(Spec("port", "Permute", (moving(self.perm, target),)))
        self.perm = target

    def _activation(self, fn, rank):
        found = keras_activation(fn)
        if found is None:
            return
        perm = self.perm

        def dim(axis):
            position = perm.index(axis % rank)
            return -1 if position == rank - 1 else position
        self.specs.append(nn_activation_spec(*found, dim))

    # ----------------------------------------------------------------- layers
    def _InputLayer(self, layer, shape, index):
        pass

    def _Identity(self, layer, shape, index):
        self.specs.append(Spec("nn", "Identity"))

    def _Dropout(self, layer, shape, index):
        if layer.noise_shape is not None:
            raise _layer_error(layer, f"has noise_shape={layer.noise_shape}, which nn.Dropout "
                                      f"does not take")
        self.specs.append(Spec("nn", "Dropout", (), {"p": layer.rate}))

    def _Activation(self, layer, shape, index):
        try:
            self._activation(layer.activation, len(shape))
        except ValueError as error:
            raise _layer_error(layer, str(error)) from None

    def _Permute(self, layer, shape, index):
        # the Keras tensor moves, the nn one stays: only the bookkeeping changes
        dims = (0, *layer.dims)
        self.perm = moving(dims, self.perm)

    def _Dense(self, layer, shape, index):
        kernel = _array(layer.kernel)
        if self.order is not None:  # the Flatten before took the flat order here
            kernel, self.order = kernel[self.order], None
        weights = {"weight": kernel.T}
        kwargs = {}
        if layer.bias is None:
            kwargs["bias"] = False
        else:
            weights["bias"] = _array(layer.bias)
        self.specs.append(Spec("nn", "Linear", (kernel.shape[0], layer.units), kwargs, weights))
        self._fused_activation(layer, len(shape))

    def _fused_activation(self, layer, rank):
        try:
            self._activation(layer.activation, rank)
        except ValueError as error:
            raise _layer_error(layer, str(error)) from None

    def _conv(self, layer, shape, rank_name):
        dims = layer.rank
        channels_last = layer.data_format == "channels_last"
        sizes = shape[1:-1] if channels_last else shape[2:]
        kernel = _array(layer.kernel)
        weight = kernel.transpose(dims + 1, dims, *range(dims))
        kwargs, pads = {}, None
        if layer.padding == "causal":
            pads = [((layer.kernel_size[0] - 1) * layer.dilation_rate[0], 0)]
        elif layer.padding == "same":
            pads = []
            for n, k, s, d in zip(sizes, layer.kernel_size, layer.strides, layer.dilation_rate):
                if n is None and s > 1:
                    raise _layer_error(layer, f"pads 'same' with strides {layer.strides} on an "
                                              f"input of unknown size {shape}: the padding "
                                              f"depends on the size")
                pads.append(same_pads(n if n is not None else k, k, s, d))
        if pads is not None:
            if all(b == a for b, a in pads):
                if any(b for b, _ in pads):
                    kwargs["padding"] = tuple(b for b, _ in pads)
            elif layer.padding == "same" and max(layer.strides) == 1:
                kwargs["padding"] = "same"  # torch's 'same' also pads the odd one after
            else:
                # F.pad's order: last dim first, (before, after) each
                widths = tuple(w for pair in reversed(pads) for w in pair)
                self.specs.append(Spec("nn", f"ZeroPad{rank_name}", (widths,)))
        if max(layer.strides) > 1:
            kwargs["stride"] = tuple(layer.strides)
        if max(layer.dilation_rate) > 1:
            kwargs["dilation"] = tuple(layer.dilation_rate)
        if layer.groups != 1:
            kwargs["groups"] = layer.groups
        weights = {"weight": weight}
        if layer.bias is None:
            kwargs["bias"] = False
        else:
            weights["bias"] = _array(layer.bias)
        in_channels = kernel.shape[-2] * layer.groups
        self.specs.append(Spec("nn", f"Conv{rank_name}", (in_channels, layer.filters),
                               {"kernel_size": tuple(layer.kernel_size), **kwargs}, weights))
        self._fused_activation(layer, len(shape))

    def _ZeroPadding2D(self, layer, shape, index):
        (top, bottom), (left, right) = layer.padding
        self.specs.append(Spec("nn", "ZeroPad2d", ((left, right, top, bottom),)))

    def _Conv1D(self, layer, shape, index):
        self._conv(layer, shape, "1d")

    def _Conv2D(self, layer, shape, index):
        self._conv(layer, shape, "2d")

    def _pool(self, layer, shape, kind):
        dims = layer.rank
        sizes = shape[1:-1] if layer.data_format == "channels_last" else shape[2:]
        one = (lambda v: v[0]) if dims == 1 else tuple
        kwargs = {"kernel_size": one(layer.pool_size)}
        if tuple(layer.strides) != tuple(layer.pool_size):
            kwargs["stride"] = one(layer.strides)
        if layer.padding == "same":
            if any(n is None for n in sizes):
                raise _layer_error(layer, f"pads 'same' on an input of unknown size {shape}")
            # the odd pad after is the part of the last window that ceil_mode clips away
            pads = [same_pads(n, k, s) for n, k, s in zip(sizes, layer.pool_size, layer.strides)]
            if any(b for b, _ in pads):
                kwargs["padding"] = one([b for b, _ in pads])
            if any(a > b for b, a in pads):
                kwargs["ceil_mode"] = True
            if kind == "Avg":
                kwargs["count_include_pad"] = False  # Keras averages the taps inside only
        self.specs.append(Spec("nn", f"{kind}Pool{dims}d", (), kwargs))

    def _MaxPooling1D(self, layer, shape, index):
        self._pool(layer, shape, "Max")

    _MaxPooling2D = _MaxPooling1D

    def _AveragePooling1D(self, layer, shape, index):
        self._pool(layer, shape, "Avg")

    _AveragePooling2D = _AveragePooling1D

    def _global_pool(self, layer, kind):
        self.specs.append(Spec("nn", f"Adaptive{kind}Pool{layer.rank}d", (1,)))
        if not layer.keepdims:
            self.specs.append(Spec("nn", "Flatten"))
            self.perm = identity(2)

    def _GlobalAveragePooling1D(self, layer, shape, index):
        self._global_pool(layer, "Avg")

    _GlobalAveragePooling2D = _GlobalAveragePooling1D

    def _GlobalMaxPooling1D(self, layer, shape, index):
        self._global_pool(layer, "Max")

    _GlobalMaxPooling2D = _GlobalMaxPooling1D

    def _BatchNormalization(self, layer, shape, index):
        rank = len(shape)
        if rank > 4:
            raise _layer_error(layer, f"normalizes a rank-{rank} input; nn has BatchNorm1d/2d")
        if layer.renorm:
            warnings.warn(f"port.to_nn: layer '{layer.name}' (BatchNormalization) uses batch "
                          f"renormalization, which nn's BatchNorm lacks: the ported layer "
                          f"matches it in inference (eval) only, and trains as plain batch "
                          f"norm", UserWarning, stacklevel=4)
        channels = layer.moving_mean.shape[0]
        ones, zeros = np.ones(channels, np.float32), np.zeros(channels, np.float32)
        weights = {
            "weight": _array(layer.gamma) if layer.gamma is not None else ones,
            "bias": _array(layer.beta) if layer.beta is not None else zeros,
            "running_mean": _array(layer.moving_mean),
            "running_var": _array(layer.moving_variance),
            "num_batches_tracked": np.array(0, np.int64)}
        if self.order is not None:
            weights = {k: v[self.order] if v.ndim else v for k, v in weights.items()}
        # torch's momentum weighs the new batch, Keras's the old moving value
        kwargs = {"eps": layer.epsilon, "momentum": float(f"{1.0 - layer.momentum:.12g}")}
        name = "BatchNorm2d" if rank == 4 else "BatchNorm1d"
        self.specs.append(Spec("nn", name, (channels,), kwargs, weights))

    def _LayerNormalization(self, layer, shape, index):
        if layer.rms_scaling:
            raise _layer_error(layer, "has rms_scaling=True (x / sqrt(var + epsilon), no "
                                      "centring), which no nn layer computes")
        rank = len(shape)
        axes = sorted(a % rank for a in layer.axis)
        if rank == 2 and axes != [1]:
            raise _layer_error(layer, f"normalizes axis {layer.axis} of a {shape} input")
        normalized = tuple(shape[a] for a in axes)
        kwargs = {"eps": layer.epsilon}
        weights = {}
        if layer.gamma is None and layer.beta is None:
            kwargs["elementwise_affine"] = False
        else:
            weights["weight"] = (_array(layer.gamma) if layer.gamma is not None
                                 else np.ones(normalized, np.float32))
            if layer.beta is None:
                kwargs["bias"] = False
            else:
                weights["bias"] = _array(layer.beta)
        if self.order is not None:
            weights = {k: v[self.order] for k, v in weights.items()}
        size = normalized[0] if len(normalized) == 1 else normalized
        self.specs.append(Spec("nn", "LayerNorm", (size,), kwargs, weights))

    def _Flatten(self, layer, shape, index):
        rank = len(shape)
        if rank > 2:
            keras_order = identity(rank) if layer.data_format == "channels_last" else (
                0, *range(2, rank), 1)
            if self.perm != keras_order:
                if self._dense_ahead(index):
                    self.order = flat_order(shape[1:], self.perm, keras_order)
                else:
                    self._permute(keras_order)
        self.specs.append(Spec("nn", "Flatten"))
        self.perm = identity(2)

    def _dense_ahead(self, index):
        for layer, shape in self.chain[index + 1:]:
            if isinstance(layer, L.Dense):
                return True
            if not isinstance(layer, _FLAT_PASSING):
                return False
        return False

    def _Embedding(self, layer, shape, index):
        if layer.mask_zero:
            raise _layer_error(layer, "has mask_zero=True: nn.Embedding's padding_idx does not "
                                      "mask the layers after it")
        self.specs.append(Spec("nn", "Embedding", (layer.input_dim, layer.output_dim), {},
                               {"weight": _array(layer.embeddings)}))
        self.perm = identity(len(shape) + 1)

    def _recurrent(self, layer, shape, kind):
        cell = layer.cell
        problems, kwargs = [], {}
        activation = keras_activation(cell.activation)
        if kind == "RNN" and activation in (("tanh", {}), ("relu", {})):
            if activation[0] == "relu":
                kwargs["nonlinearity"] = "relu"
        elif activation != ("tanh", {}):
            problems.append("activation other than tanh")
        if kind != "RNN" and keras_activation(cell.recurrent_activation) != ("sigmoid", {}):
            problems.append("recurrent_activation other than sigmoid")
        for flag in ("go_backwards", "return_state", "stateful"):
            if getattr(layer, flag):
                problems.append(f"{flag}=True")
        if cell.dropout or cell.recurrent_dropout:
            problems.append("dropout / recurrent_dropout inside the cell")
        if kind == "GRU" and not cell.reset_after:
            problems.append("reset_after=False")
        if problems:
            raise _layer_error(layer, f"has {', '.join(problems)}, which nn.{kind} does not "
                                      f"compute")
        units = cell.units
        kernel, recurrent = _array(cell.kernel), _array(cell.recurrent_kernel)
        bias = _array(cell.bias) if cell.bias is not None else None
        if kind != "GRU":  # LSTM: the same gate order (i, f, c/g, o); torch's 2nd bias is 0
            order = np.arange(kernel.shape[1])
            biases = None if bias is None else (bias, np.zeros_like(bias))
        else:  # Keras's z, r, h -> torch's r, z, n; reset_after's two biases are torch's two
            order = np.concatenate([np.arange(units, 2 * units), np.arange(units),
                                    np.arange(2 * units, 3 * units)])
            biases = None if bias is None else (bias[0], bias[1])
        weights = {"weight_ih_l0": kernel[:, order].T, "weight_hh_l0": recurrent[:, order].T}
        kwargs["batch_first"] = True
        if biases is None:
            kwargs["bias"] = False
        else:
            weights["bias_ih_l0"], weights["bias_hh_l0"] = biases[0][order], biases[1][order]
        self.specs.append(Spec("nn", kind, (shape[-1], units), kwargs, weights))
        self.specs.append(Spec("port", "RNNOutput", (), {"return_sequences": True}
                               if layer.return_sequences else {}))
        self.perm = identity(3 if layer.return_sequences else 2)

    def _LSTM(self, layer, shape, index):
        self._recurrent(layer, shape, "LSTM")

    def _GRU(self, layer, shape, index):
        self._recurrent(layer, shape, "GRU")

    def _SimpleRNN(self, layer, shape, index):
        self._recurrent(layer, shape, "RNN")
