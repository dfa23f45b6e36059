"""`nn.Sequential` -> Keras model: each torch layer becomes the Keras layer(s) computing the same
function, with its weights moved into Keras's layouts (transposes, gate reorders, and LSTM's two
biases as Keras's one)."""
import warnings

import numpy as np

from .. import nn
from ..core.autograd import no_grad
from ..core.creation import zeros
from ..core.dtypes import int64
from . import modules as port_modules
from ._common import (Spec, channels_first, flat_order, identity, inverse,
                      keras_activation_value, nn_activation, same_pads)

__all__ = ["nn_chain", "NNToKeras"]

_SPATIAL = (nn.Conv1d, nn.Conv2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d,
            nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d,
            nn.AdaptiveMaxPool2d, nn.ZeroPad1d, nn.ZeroPad2d)
# the nn layers a channels-first tensor can pass through after Flatten before the Linear that
# takes the flat order into its kernel
_FLAT_PASSING = (nn.Dropout, nn.BatchNorm1d)


def nn_chain(module):
    """The layers of an nn.Sequential (nested ones opened) or a single layer, in order."""
    if isinstance(module, nn.Sequential):
        return [layer for child in module for layer in nn_chain(child)]
    if not isinstance(module, nn.Module):
        raise TypeError(f"port.to_keras: expected an nn.Module, got {type(module).__name__}")
    return [module]


def _array(tensor):
    return tensor.detach().cpu().numpy()


def _tuple(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def _layer_error(index, module, why):
    return ValueError(f"port.to_keras: layer {index} ({module!r}) {why}")


def _pool_length(size, kernel, stride, pad, ceil_mode):
    """torch's pooled length along one dim."""
    span = size + 2 * pad - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window must start inside the input or the left padding
    return out


class NNToKeras:
    """Walks an nn chain on a sample input (for the shapes), keeping track of how the nn
    tensor's dims relate to the Keras tensor's (`perm`: nn = keras.permute(perm)) and, after a
    channels-first Flatten, of the flat features' order (`order`: nn_flat[j] =
    keras_flat[order[j]]), which the next Linear takes into its kernel."""

    def __init__(self, module, input_shape):
        self.chain = nn_chain(module)
        if not self.chain:
            raise ValueError("port.to_keras: the nn model has no layers")
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        self.shapes = self._trace(tuple(int(d) for d in input_shape))
        rank = len(self.shapes[0])
        wanted = [self._wants(index, layer) for index, layer in enumerate(self.chain)
                  if self.shapes[index] is not None and len(self.shapes[index]) == rank]
        self.perm = next((w for w in wanted if w is not None), identity(rank))
        self.input_perm = self.perm
        self.specs, self.order, self.pending_pads = [], None, None

    def _trace(self, input_shape):
        """The nn input shape of every layer, from a zero batch of one sample."""
        first = self.chain[0]
        dtype = int64 if isinstance(first, nn.Embedding) else None
        devices = [p.device for layer in self.chain for p in layer.parameters()]
        value = zeros((1, *input_shape), dtype=dtype, device=devices[0] if devices else None)
        modes = [m.training for m in self.chain]
        shapes = []
        try:
            with no_grad():
                for layer in self.chain:
                    layer.train(False)
                    shapes.append(tuple(value.shape) if hasattr(value, "shape") else None)
                    value = layer(value)
        finally:
            for layer, mode in zip(self.chain, modes):
                layer.train(mode)
        return shapes

    @property
    def keras_input_shape(self):
        shape = self.shapes[0]
        keras = [0] * len(shape)
        for position, dim in enumerate(self.input_perm):
            keras[dim] = shape[position]
        return tuple(keras[1:])

    @property
    def input_dtype(self):
        return "int64" if isinstance(self.chain[0], nn.Embedding) else "float32"

    def run(self):
        inputs = {"shape": self.keras_input_shape}
        if self.input_dtype == "int64":  # indices for an Embedding
            inputs["dtype"] = "int64"
        self.specs.append(Spec("keras", "Input", (), inputs))
        index = 0
        while index < len(self.chain):
            layer = self.chain[index]
            wanted = self._wants(index, layer)
            if wanted is not None and wanted != self.perm:
                self._permute(wanted)
            name = type(layer).__name__
            handler = getattr(self, "_" + name, None)
            if handler is None or type(layer) not in (getattr(nn, name, None),
                                                      getattr(port_modules, name, None)):
                found = nn_activation(layer)
                if found is None or found[1].get("axis", 0) is None:
                    raise _layer_error(index, layer, self._unknown_why(layer))
                handler = self._activation
            index = handler(index, layer) or index + 1
        return self.specs

    @staticmethod
    def _unknown_why(layer):
        if isinstance(layer, nn.Softmax) and layer.dim is None:
            return "has an implicit dim (dim=None); give it dim= to convert"
        return ("has no Keras counterpart; the layers that convert are Linear, Conv1d/2d, "
                "ZeroPad1d/2d before a conv, Max/AvgPool1d/2d, AdaptiveAvg/MaxPool1d/2d(1), "
                "BatchNorm1d/2d, LayerNorm, Dropout, Flatten, Embedding, RNN / LSTM / GRU "
                "followed by port.RNNOutput, port.Permute, Identity and the activation layers")

    def _rank(self, index):
        return len(self.shapes[index])

    def _keras_shape(self, index):
        shape = self.shapes[index]
        keras = [0] * len(shape)
        for position, dim in enumerate(self.perm):
            keras[dim] = shape[position]
        return tuple(keras)

    # ----------------------------------------------------------------- layouts
    def _wants(self, index, layer):
        if self.shapes[index] is None:
            return None
        rank = self._rank(index)
        if isinstance(layer, _SPATIAL):
            return channels_first(rank)
        if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)) and rank > 2:
            return channels_first(rank)
        if isinstance(layer, nn.LayerNorm) and rank > 2:
            # Keras normalizes its trailing axes (real Keras's torch backend mishandles others)
            count = len(layer.normalized_shape)
            perm = getattr(self, "perm", None)
            if perm is not None and perm[rank - count:] == tuple(range(rank - count, rank)):
                return perm
            return identity(rank)
        if isinstance(layer, (nn.Linear, nn.RNN, nn.LSTM, nn.GRU)) and rank > 2:
            return identity(rank)
        return None

    def _permute(self, target):
        # Keras moves its tensor so that nn = keras'.permute(target)
        back = inverse(target)
        dims = tuple(self.perm[back[i]] for i in range(len(target)))
        self.specs.append(Spec("layers", "Permute", (dims[1:],)))
        self.perm = target

    def _keras_axis(self, nn_dim, rank):
        axis = self.perm[nn_dim % rank]
        return -1 if axis == rank - 1 else axis

    def _activation(self, index, layer):
        name, keywords = nn_activation(layer)
        rank = self._rank(index)
        if "axis" in keywords:
            keywords["axis"] = self._keras_axis(keywords["axis"], rank)
        value = keras_activation_value(name, keywords)
        last = self.specs[-1]
        if (last.owner == "layers" and last.name in ("Dense", "Conv1D", "Conv2D")
                and "activation" not in last.kwargs):
            last.kwargs["activation"] = value  # Keras's idiom: the activation= argument
        else:
            self.specs.append(Spec("layers", "Activation", (value,)))

    # ----------------------------------------------------------------- layers
    def _Identity(self, index, layer):
        self.specs.append(Spec("layers", "Identity"))

    def _Dropout(self, index, layer):
        self.specs.append(Spec("layers", "Dropout", (layer.p,)))

    def _Permute(self, index, layer):
        # the nn tensor moves, the Keras one stays: only the bookkeeping changes
        self.perm = tuple(self.perm[d] for d in layer.dims)

    def _RNNOutput(self, index, layer):
        raise _layer_error(index, layer, "must follow an nn.LSTM or nn.GRU")

    def _Linear(self, index, layer):
        weight = _array(layer.weight)
        kernel = weight.T
        if self.order is not None:
            kernel = np.empty_like(kernel)
            kernel[self.order] = weight.T
            self.order = None
        weights = [kernel]
        kwargs = {}
        if layer.bias is None:
            kwargs["use_bias"] = False
        else:
            weights.append(_array(layer.bias))
        self.specs.append(Spec("layers", "Dense", (layer.out_features,), kwargs, weights))

    def _ZeroPad1d(self, index, layer):
        return self._zero_pad(index, layer, nn.Conv1d)

    def _ZeroPad2d(self, index, layer):
        return self._zero_pad(index, layer, nn.Conv2d)

    def _zero_pad(self, index, layer, conv):
        dims = self._rank(index) - 2
        pads = [(layer.padding[2 * i], layer.padding[2 * i + 1]) for i in range(dims)][::-1]
        following = self.chain[index + 1] if index + 1 < len(self.chain) else None
        if isinstance(following, conv):  # one Keras conv pads and convolves
            self.pending_pads = (pads, self.shapes[index])
            return None
        if dims == 2:
            self.specs.append(Spec("layers", "ZeroPadding2D", (tuple(pads),)))
            return None
        raise _layer_error(index, layer, "pads a 1-D input without a Conv1d after it; Keras "
                                         "has no ZeroPadding1D here")

    def _conv(self, index, layer, dims):
        if layer.padding_mode != "zeros":
            raise _layer_error(index, layer, f"pads in mode {layer.padding_mode!r}; Keras pads "
                                             f"with zeros only")
        kernel, stride, dilation = layer.kernel_size, layer.stride, layer.dilation
        shape = self.shapes[index]
        if isinstance(layer.padding, str):
            pads = [(0, 0)] * dims if layer.padding == "valid" else [
                (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                for k, d in zip(kernel, dilation)]
        else:
            pads = [(p, p) for p in layer.padding]
        if self.pending_pads is not None:
            extra, shape = self.pending_pads
            pads = [(b + eb, a + ea) for (b, a), (eb, ea) in zip(pads, extra)]
            self.pending_pads = None
        sizes = shape[2:]
        padding = None
        if all(p == (0, 0) for p in pads):
            padding = "valid"
        elif all(p == same_pads(n, k, s, d)
                 for p, n, k, s, d in zip(pads, sizes, kernel, stride, dilation)):
            padding = "same"
        elif dims == 1 and pads[0] == ((kernel[0] - 1) * dilation[0], 0):
            padding = "causal"
        elif dims == 2:
            self.specs.append(Spec("layers", "ZeroPadding2D", (tuple(pads),)))
            padding = "valid"
        else:
            raise _layer_error(index, layer, f"pads {pads[0]} (before, after), which is not "
                                             f"Keras's 'valid', 'same' or 'causal' for an input "
                                             f"of length {sizes[0]}")
        one = (lambda v: v[0]) if dims == 1 else tuple
        kwargs = {}
        if padding != "valid":
            kwargs["padding"] = padding
        if max(stride) > 1:
            kwargs["strides"] = one(stride)
        if max(dilation) > 1:
            kwargs["dilation_rate"] = one(dilation)
        if layer.groups != 1:
            kwargs["groups"] = layer.groups
        weights = [_array(layer.weight).transpose(*range(2, dims + 2), 1, 0)]
        if layer.bias is None:
            kwargs["use_bias"] = False
        else:
            weights.append(_array(layer.bias))
        self.specs.append(Spec("layers", f"Conv{dims}D", (layer.out_channels, one(kernel)),
                               kwargs, weights))

    def _Conv1d(self, index, layer):
        self._conv(index, layer, 1)

    def _Conv2d(self, index, layer):
        self._conv(index, layer, 2)

    def _pool(self, index, layer, kind):
        dims = self._rank(index) - 2
        kernel = _tuple(layer.kernel_size, dims)
        stride = _tuple(layer.stride, dims)
        padding = _tuple(layer.padding, dims)
        if kind == "Max":
            if max(_tuple(layer.dilation, dims)) > 1 or layer.return_indices:
                raise _layer_error(index, layer, "has dilation or return_indices, which Keras's "
                                                 "pooling does not")
        elif getattr(layer, "divisor_override", None) is not None or (
                max(padding) > 0 and layer.count_include_pad):
            raise _layer_error(index, layer, "counts the padding in its average "
                                             "(count_include_pad=True or divisor_override); "
                                             "Keras averages the taps inside the input only")
        sizes = self.shapes[index][2:]
        lengths = [_pool_length(n, k, s, p, layer.ceil_mode)
                   for n, k, s, p in zip(sizes, kernel, stride, padding)]
        if all(p == 0 and out == (n - k) // s + 1
               for p, out, n, k, s in zip(padding, lengths, sizes, kernel, stride)):
            mode = "valid"
        elif all(p == same_pads(n, k, s)[0] and out == -(-n // s)
                 for p, out, n, k, s in zip(padding, lengths, sizes, kernel, stride)):
            mode = "same"
        else:
            raise _layer_error(index, layer, f"pools windows that are neither Keras's 'valid' "
                                             f"nor 'same' on an input of size {tuple(sizes)}")
        one = (lambda v: v[0]) if dims == 1 else tuple
        kwargs = {"pool_size": one(kernel)}
        if stride != kernel:
            kwargs["strides"] = one(stride)
        if mode == "same":
            kwargs["padding"] = "same"
        name = "MaxPooling" if kind == "Max" else "AveragePooling"
        self.specs.append(Spec("layers", f"{name}{dims}D", (), kwargs))

    def _MaxPool1d(self, index, layer):
        self._pool(index, layer, "Max")

    _MaxPool2d = _MaxPool1d

    def _AvgPool1d(self, index, layer):
        self._pool(index, layer, "Avg")

    _AvgPool2d = _AvgPool1d

    def _adaptive(self, index, layer, kind):
        dims = self._rank(index) - 2
        if _tuple(layer.output_size, dims) != (1,) * dims or getattr(layer, "return_indices",
                                                                      False):
            raise _layer_error(index, layer, "pools to a size other than 1; Keras has the "
                                             "global poolings only")
        following = self.chain[index + 1] if index + 1 < len(self.chain) else None
        name = f"Global{'Average' if kind == 'Avg' else 'Max'}Pooling{dims}D"
        if isinstance(following, nn.Flatten) and (following.start_dim, following.end_dim) == (
                1, -1):
            self.specs.append(Spec("layers", name))
            self.perm = identity(2)
            return index + 2
        self.specs.append(Spec("layers", name, (), {"keepdims": True}))
        return None

    def _AdaptiveAvgPool1d(self, index, layer):
        return self._adaptive(index, layer, "Avg")

    _AdaptiveAvgPool2d = _AdaptiveAvgPool1d

    def _AdaptiveMaxPool1d(self, index, layer):
        return self._adaptive(index, layer, "Max")

    _AdaptiveMaxPool2d = _AdaptiveMaxPool1d

    def _BatchNorm1d(self, index, layer):
        if layer.momentum is None or not layer.track_running_stats:
            raise _layer_error(index, layer, "has momentum=None or no running statistics; "
                                             "Keras keeps an exponential moving average")
        rank = self._rank(index)
        params = [layer.weight, layer.bias] if layer.affine else [None, None]
        arrays = [None if p is None else _array(p) for p in params]
        arrays += [_array(layer.running_mean), _array(layer.running_var)]
        if self.order is not None:
            for position, array in enumerate(arrays):
                if array is not None:
                    reordered = np.empty_like(array)
                    reordered[self.order] = array
                    arrays[position] = reordered
        kwargs = {}
        axis = self._keras_axis(1, rank)
        if axis != -1:
            kwargs["axis"] = axis
        kwargs["momentum"] = float(f"{1.0 - layer.momentum:.12g}")
        kwargs["epsilon"] = layer.eps
        if arrays[0] is None:
            kwargs["scale"] = False
        if arrays[1] is None:
            kwargs["center"] = False
        weights = [a for a in arrays if a is not None]
        self.specs.append(Spec("layers", "BatchNormalization", (), kwargs, weights))

    _BatchNorm2d = _BatchNorm1d

    def _LayerNorm(self, index, layer):
        rank = self._rank(index)
        count = len(layer.normalized_shape)
        axes = [self.perm[d] for d in range(rank - count, rank)]
        kwargs = {}
        if axes != [rank - 1]:
            kwargs["axis"] = axes
        kwargs["epsilon"] = layer.eps
        weights = []
        if not layer.elementwise_affine:
            kwargs["center"], kwargs["scale"] = False, False
        else:
            weights.append(_array(layer.weight))
            if layer.bias is None:
                kwargs["center"] = False
            else:
                weights.append(_array(layer.bias))
        if self.order is not None:
            reordered = []
            for array in weights:
                moved = np.empty_like(array)
                moved[self.order] = array
                reordered.append(moved)
            weights = reordered
        self.specs.append(Spec("layers", "LayerNormalization", (), kwargs, weights))

    def _Flatten(self, index, layer):
        rank = self._rank(index)
        if (layer.start_dim, layer.end_dim) not in ((1, -1), (1, rank - 1)):
            raise _layer_error(index, layer, "flattens dims other than 1..-1; Keras's Flatten "
                                             "keeps the batch dim only")
        if rank > 2 and self.perm != identity(rank):
            if self._linear_ahead(index):
                self.order = flat_order(self._keras_shape(index)[1:], self.perm,
                                        identity(rank))
            else:
                self._permute(identity(rank))
        self.specs.append(Spec("layers", "Flatten"))
        self.perm = identity(2)

    def _linear_ahead(self, index):
        for layer in self.chain[index + 1:]:
            if isinstance(layer, nn.Linear):
                return True
            if not (isinstance(layer, _FLAT_PASSING) or nn_activation(layer) is not None):
                return False
        return False

    def _Embedding(self, index, layer):
        if layer.max_norm is not None:
            raise _layer_error(index, layer, "renormalizes rows (max_norm), which Keras's "
                                             "Embedding does not")
        training_only = [name for name, on in (("padding_idx", layer.padding_idx is not None),
                                               ("scale_grad_by_freq", layer.scale_grad_by_freq))
                         if on]
        if training_only:
            warnings.warn(f"port.to_keras: layer {index} ({layer!r}) has "
                          f"{' and '.join(training_only)}, which shape only its gradient and "
                          f"which Keras's Embedding lacks: the ported layer computes the same "
                          f"outputs but trains every row with plain gradients",
                          UserWarning, stacklevel=4)
        self.specs.append(Spec("layers", "Embedding", (layer.num_embeddings,
                                                       layer.embedding_dim), {},
                               [_array(layer.weight)]))
        self.perm = identity(self._rank(index) + 1)

    def _recurrent(self, index, layer, kind):
        following = self.chain[index + 1] if index + 1 < len(self.chain) else None
        problems = []
        if not layer.batch_first:
            problems.append("batch_first=False (Keras's sequences are batch-first)")
        if layer.bidirectional:
            problems.append("bidirectional=True")
        if getattr(layer, "proj_size", 0):
            problems.append(f"proj_size={layer.proj_size} (Keras's LSTM has no projection)")
        if not isinstance(following, port_modules.RNNOutput):
            problems.append("no port.RNNOutput after it to pick its output")
        if problems:
            raise _layer_error(index, layer, f"has {', '.join(problems)}")
        units = layer.hidden_size
        order = np.arange(layer.weight_ih_l0.shape[0]) if kind != "GRU" else np.concatenate(
            [np.arange(units, 2 * units), np.arange(units), np.arange(2 * units, 3 * units)])
        for depth in range(layer.num_layers):
            if depth and layer.dropout:
                self.specs.append(Spec("layers", "Dropout", (layer.dropout,)))
            suffix = f"_l{depth}"
            weights = [_array(getattr(layer, "weight_ih" + suffix))[order].T,
                       _array(getattr(layer, "weight_hh" + suffix))[order].T]
            kwargs = {}
            if kind == "SimpleRNN" and layer.nonlinearity == "relu":
                kwargs["activation"] = "relu"
            if not layer.bias:
                kwargs["use_bias"] = False
            else:
                bias_ih = _array(getattr(layer, "bias_ih" + suffix))[order]
                bias_hh = _array(getattr(layer, "bias_hh" + suffix))[order]
                # Keras's LSTM / SimpleRNN have one bias where torch adds two; GRU keeps both
                # (reset_after: the recurrent bias sits inside the reset gate's product)
                weights.append(np.stack([bias_ih, bias_hh]) if kind == "GRU"
                               else bias_ih + bias_hh)
            if depth < layer.num_layers - 1 or following.return_sequences:
                kwargs["return_sequences"] = True
            self.specs.append(Spec("layers", kind, (units,), kwargs, weights))
        self.perm = identity(3 if following.return_sequences else 2)
        return index + 2

    def _LSTM(self, index, layer):
        return self._recurrent(index, layer, "LSTM")

    def _GRU(self, index, layer):
        return self._recurrent(index, layer, "GRU")

    def _RNN(self, index, layer):
        return self._recurrent(index, layer, "SimpleRNN")
