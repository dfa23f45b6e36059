"""ONNX translations of keras_api layers: Keras keeps channels last and its kernels as
(*kernel, in, out), so convolutions and pools sit between two Transposes and their kernels are
permuted to ONNX's (out, in, *kernel); 'same' padding is TensorFlow's (the odd pixel after);
recurrent layers reorder their gates (LSTM i,f,c,o -> ONNX i,o,f,c; GRU z,r,h is ONNX's)."""
import numpy as np

from ..keras_api import activations
from ..keras_api import layers as kl
from .graph import (SELU_ALPHA, SELU_SCALE, ExportError, channels_first_perm, channels_last_perm,
                    gelu, same_pads, silu, softplus, translates, weight)
from .nn_layers import batch_norm_node, layer_norm_node, recurrent_node, reorder_gates


def _fail(layer, name, why):
    return ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) {why}")


# ---------------------------------------------------------------------------- activations

def _clip(low, high):
    return lambda g, x, dtype, name: g.node(
        "Clip", [x, g.scalar(low, dtype), g.scalar(high, dtype)], name)


_ACTIVATIONS = {
    activations.relu: lambda g, x, dtype, name: g.node("Relu", [x], name),
    activations.leaky_relu: lambda g, x, dtype, name: g.node("LeakyRelu", [x], name, alpha=0.2),
    activations.relu6: _clip(0.0, 6.0),
    activations.hard_tanh: _clip(-1.0, 1.0),
    activations.softmax: lambda g, x, dtype, name: g.node("Softmax", [x], name, axis=-1),
    activations.log_softmax: lambda g, x, dtype, name: g.node("LogSoftmax", [x], name, axis=-1),
    activations.elu: lambda g, x, dtype, name: g.node("Elu", [x], name, alpha=1.0),
    activations.celu: lambda g, x, dtype, name: g.node("Celu", [x], name, alpha=1.0),
    activations.selu: lambda g, x, dtype, name: g.node("Selu", [x], name, alpha=SELU_ALPHA,
                                                       gamma=SELU_SCALE),
    activations.softplus: lambda g, x, dtype, name: softplus(g, x, dtype, hint=name),
    activations.softsign: lambda g, x, dtype, name: g.node("Softsign", [x], name),
    activations.silu: lambda g, x, dtype, name: silu(g, x, name),
    activations.gelu: lambda g, x, dtype, name: gelu(g, x, dtype, "none", name),
    activations.tanh: lambda g, x, dtype, name: g.node("Tanh", [x], name),
    activations.sigmoid: lambda g, x, dtype, name: g.node("Sigmoid", [x], name),
    activations.exponential: lambda g, x, dtype, name: g.node("Exp", [x], name),
    activations.hard_sigmoid: lambda g, x, dtype, name: g.node(
        "HardSigmoid", [x], name, alpha=1.0 / 6.0, beta=0.5),
    activations.hard_silu: lambda g, x, dtype, name: g.node("HardSwish", [x], name),
    activations.mish: lambda g, x, dtype, name: g.node(
        "Mul", [x, g.node("Tanh", [softplus(g, x, dtype)])], name),
    activations.log_sigmoid: lambda g, x, dtype, name: g.node(
        "Neg", [g.node("Softplus", [g.node("Neg", [x])])], name),
    activations.tanh_shrink: lambda g, x, dtype, name: g.node(
        "Sub", [x, g.node("Tanh", [x])], name),
}


def apply_activation(g, layer, fn, x, dtype, name):
    """The Keras activation `fn` (a keras.activations function, by identity) on `x`."""
    if fn is None or fn is activations.linear:
        return x
    emit = _ACTIVATIONS.get(fn)
    if emit is None:
        label = getattr(fn, "__name__", repr(fn))
        raise _fail(layer, name, f"has activation {label!r}, which the exporter does not "
                    f"translate (built-in activations: "
                    f"{', '.join(sorted(f.__name__ for f in _ACTIVATIONS))})")
    return emit(g, x, dtype, f"{name}.activation")


@translates(kl.Activation)
def _activation_layer(g, layer, inputs, outputs, name):
    x = inputs[0]
    return [g.node("Identity", [apply_activation(g, layer, layer.activation, x.name, x.dtype,
                                                 name)], name)]


# ---------------------------------------------------------------------------- core layers

def _as_float(g, x, out, name):
    """Keras casts integer input to the layer's float dtype; so does the graph."""
    if x.dtype == out.dtype.np:
        return x.name
    elem = g.onnx.helper.np_dtype_to_tensor_dtype(out.dtype.np)
    return g.node("Cast", [x.name], f"{name}.cast", to=elem)


@translates(kl.Dense)
def _dense(g, layer, inputs, outputs, name):
    x, out = inputs[0], outputs[0]
    source = _as_float(g, x, out, name)
    kernel = g.const(weight(layer.kernel), f"{name}.kernel")
    bias = [] if layer.bias is None else [g.const(weight(layer.bias), f"{name}.bias")]
    if x.ndim == 2:
        y = g.node("Gemm", [source, kernel] + bias, name)
    else:
        y = g.node("MatMul", [source, kernel], name)
        y = g.node("Add", [y] + bias, name) if bias else y
    return [apply_activation(g, layer, layer.activation, y, out.dtype.np, name)]


@translates(kl.Dropout, kl.Identity)
def _identity(g, layer, inputs, outputs, name):
    return [g.node("Identity", [inputs[0].name], name)]


@translates(kl.Flatten)
def _flatten(g, layer, inputs, outputs, name):
    x = inputs[0]
    source = x.name
    if layer.data_format == "channels_first" and x.ndim > 2:
        # Keras flattens channels-last order whatever the layout
        source = g.transpose(source, channels_last_perm(x.ndim), f"{name}.channels_last")
    return [g.reshape(source, [0, -1], name)]


@translates(kl.Reshape)
def _reshape(g, layer, inputs, outputs, name):
    return [g.reshape(inputs[0].name, [0] + list(outputs[0].shape[1:]), name)]


@translates(kl.Permute)
def _permute(g, layer, inputs, outputs, name):
    return [g.transpose(inputs[0].name, (0,) + tuple(layer.dims), name)]


@translates(kl.Rescaling)
def _rescaling(g, layer, inputs, outputs, name):
    x, out = inputs[0], outputs[0]
    dtype = out.dtype.np
    source = _as_float(g, x, out, name)
    scaled = g.node("Mul", [source, g.const(np.asarray(layer.scale, dtype), f"{name}.scale")])
    return [g.node("Add", [scaled, g.const(np.asarray(layer.offset, dtype), f"{name}.offset")],
                   name)]


@translates(kl.Embedding)
def _embedding(g, layer, inputs, outputs, name):
    x = inputs[0]
    indices = x.name
    if x.dtype.kind not in "iu":  # Keras casts float / bool indices to int
        indices = g.node("Cast", [indices], f"{name}.indices", to=g.onnx.TensorProto.INT64)
    return [g.node("Gather", [g.const(weight(layer.embeddings), f"{name}.embeddings"),
                              indices], name, axis=0)]


# ---------------------------------------------------------------------------- conv, pooling

def _to_channels_first(g, layer, x, name):
    if layer.data_format == "channels_last":
        return g.transpose(x.name, channels_first_perm(x.ndim), f"{name}.channels_first"), True
    return x.name, False


def _back(g, y, ndim, moved, name):
    return g.transpose(y, channels_last_perm(ndim), f"{name}.channels_last") if moved else y


def _spatial(layer, x):
    return x.shape[1:-1] if layer.data_format == "channels_last" else x.shape[2:]


@translates(kl.Conv1D, kl.Conv2D)
def _conv(g, layer, inputs, outputs, name):
    x, out = inputs[0], outputs[0]
    rank = layer.rank
    if layer.padding == "same":
        pads = same_pads(_spatial(layer, x), layer.kernel_size, layer.strides,
                         layer.dilation_rate)
    elif layer.padding == "causal":
        pads = [(k - 1) * d for k, d in zip(layer.kernel_size, layer.dilation_rate)] + [0] * rank
    else:
        pads = [0] * (2 * rank)
    source, moved = _to_channels_first(g, layer, x, name)
    # Keras's (*kernel, in / groups, out) -> ONNX's (out, in / groups, *kernel)
    kernel = np.transpose(weight(layer.kernel), (rank + 1, rank, *range(rank)))
    operands = [source, g.const(kernel, f"{name}.kernel")]
    if layer.bias is not None:
        operands.append(g.const(weight(layer.bias), f"{name}.bias"))
    y = g.node("Conv", operands, f"{name}.conv", kernel_shape=list(layer.kernel_size),
               strides=list(layer.strides), pads=pads, dilations=list(layer.dilation_rate),
               group=layer.groups)
    y = _back(g, y, x.ndim, moved, name)
    return [apply_activation(g, layer, layer.activation, y, out.dtype.np, name)]


@translates(kl.MaxPooling1D, kl.MaxPooling2D, kl.AveragePooling1D, kl.AveragePooling2D)
def _pool(g, layer, inputs, outputs, name):
    x = inputs[0]
    rank = layer.rank
    pads = (same_pads(_spatial(layer, x), layer.pool_size, layer.strides, (1,) * rank)
            if layer.padding == "same" else [0] * (2 * rank))
    source, moved = _to_channels_first(g, layer, x, name)
    attributes = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides), pads=pads)
    if isinstance(layer, (kl.MaxPooling1D, kl.MaxPooling2D)):
        y = g.node("MaxPool", [source], f"{name}.pool", **attributes)
    else:  # Keras's average counts only the taps inside the input
        y = g.node("AveragePool", [source], f"{name}.pool", count_include_pad=0, **attributes)
    return [_back(g, y, x.ndim, moved, name)]


@translates(kl.GlobalAveragePooling1D, kl.GlobalAveragePooling2D, kl.GlobalMaxPooling1D,
            kl.GlobalMaxPooling2D)
def _global_pool(g, layer, inputs, outputs, name):
    op = "ReduceMax" if isinstance(layer, (kl.GlobalMaxPooling1D, kl.GlobalMaxPooling2D)) \
        else "ReduceMean"
    return [g.reduce(op, inputs[0].name, layer._axes(), layer.keepdims, name)]


# ---------------------------------------------------------------------------- normalization

@translates(kl.BatchNormalization)
def _batch_norm(g, layer, inputs, outputs, name):
    x = inputs[0]
    def optional(w):
        return None if w is None else weight(w)
    return [batch_norm_node(g, x.name, name, weight(layer.moving_mean),
                            weight(layer.moving_variance), optional(layer.gamma),
                            optional(layer.beta), layer.epsilon, layer.axis % x.ndim, x.ndim,
                            x.dtype)]


@translates(kl.LayerNormalization)
def _layer_norm(g, layer, inputs, outputs, name):
    if layer.rms_scaling:
        raise _fail(layer, name, "has rms_scaling=True (x / sqrt(var + epsilon), no centring), "
                                 "which the exporter does not translate")
    x = inputs[0]
    axes = sorted(a % x.ndim for a in layer.axis)
    rest = [d for d in range(x.ndim) if d not in axes]
    trailing = axes == list(range(x.ndim - len(axes), x.ndim))
    source = x.name if trailing else g.transpose(x.name, rest + axes, f"{name}.axes_last")
    shape = tuple(x.shape[a] for a in axes)
    y = layer_norm_node(g, source, name,
                        None if layer.gamma is None else weight(layer.gamma).reshape(shape),
                        None if layer.beta is None else weight(layer.beta).reshape(shape),
                        layer.epsilon, x.ndim - len(axes), shape, x.dtype)
    if trailing:
        return [y]
    return [g.transpose(y, list(np.argsort(rest + axes)), f"{name}.axes_back")]


# ---------------------------------------------------------------------------- merging

def _aligned(g, inputs, name):
    """Keras's rule: lower-rank inputs get unit dims after the batch dim."""
    rank = max(v.ndim for v in inputs)
    return [v.name if v.ndim == rank else
            g.unsqueeze(v.name, list(range(1, 1 + rank - v.ndim)), f"{name}.align")
            for v in inputs]


def _chain(g, op, names, name):
    out = names[0]
    for other in names[1:]:  # pairwise, in order: the sums round as dualnet's do
        out = g.node(op, [out, other], name)
    return out


@translates(kl.Add, kl.Subtract, kl.Multiply, kl.Average, kl.Maximum, kl.Minimum)
def _merge(g, layer, inputs, outputs, name):
    names = _aligned(g, inputs, name)
    if isinstance(layer, kl.Subtract):
        return [g.node("Sub", names, name)]
    if isinstance(layer, kl.Average):
        total = _chain(g, "Add", names, f"{name}.sum")
        return [g.node("Div", [total, g.scalar(len(names), inputs[0].dtype)], name)]
    op = {kl.Add: "Add", kl.Multiply: "Mul", kl.Maximum: "Max", kl.Minimum: "Min"}[type(layer)]
    return [_chain(g, op, names, name)]


@translates(kl.Concatenate)
def _concatenate(g, layer, inputs, outputs, name):
    return [g.node("Concat", [v.name for v in inputs], name, axis=int(layer.axis))]


# ---------------------------------------------------------------------------- recurrent

def _keras_rnn(g, layer, x_name, name):
    """One Keras LSTM / GRU / SimpleRNN over (batch, steps, features); returns its flat
    outputs' names: the output (last step, or every step with return_sequences), then the
    final states with return_state."""
    cell = layer.cell
    units = cell.units
    default = (activations.tanh, activations.sigmoid)
    if isinstance(cell, kl.SimpleRNNCell):
        op, order = "RNN", (0,)
        kinds = {activations.tanh: "Tanh", activations.relu: "Relu"}
        if cell.activation not in kinds:
            raise _fail(layer, name, "has an activation other than tanh or relu")
        attributes = {"activations": [kinds[cell.activation]]}
    else:
        if (cell.activation, cell.recurrent_activation) != default:
            raise _fail(layer, name, "has activations other than tanh / sigmoid, which ONNX's "
                        "recurrent ops take only as names; export the default ones")
        if isinstance(cell, kl.LSTMCell):
            op, order, attributes = "LSTM", (0, 3, 1, 2), {}
        else:
            op, order = "GRU", (0, 1, 2)
            attributes = {"linear_before_reset": int(cell.reset_after)}
    width = len(order) * units
    w = reorder_gates(weight(cell.kernel).T, order)
    r = reorder_gates(weight(cell.recurrent_kernel).T, order)
    if cell.bias is None:
        b = np.zeros(2 * width, w.dtype)
    else:
        bias = weight(cell.bias)
        if bias.ndim == 2:  # GRU reset_after: input and recurrent bias rows
            b = np.concatenate([bias[0], bias[1]])
        else:
            b = np.concatenate([reorder_gates(bias, order), np.zeros(width, bias.dtype)])
    sequence = g.transpose(x_name, (1, 0, 2), f"{name}.time_first")
    if layer.go_backwards:  # run over the reversed steps: Keras returns them in that order
        sequence = g.node("Slice", [sequence, g.ints([-1]), g.ints([-2 ** 63]), g.ints([0]),
                                    g.ints([-1])], f"{name}.reversed")
    results = recurrent_node(g, op, sequence, name, w[None], r[None], b[None], units,
                             "forward", **attributes)
    if layer.return_sequences:
        y = g.squeeze(results[0], [1], f"{name}.steps")
        output = g.transpose(y, (1, 0, 2), f"{name}.sequences")
    else:
        output = g.squeeze(results[1], [0], f"{name}.last")
    if not layer.return_state:
        return [output]
    return [output] + [g.squeeze(s, [0], f"{name}.state") for s in results[1:]]


@translates(kl.SimpleRNN, kl.LSTM, kl.GRU)
def _recurrent(g, layer, inputs, outputs, name):
    if len(inputs) != 1:
        raise _fail(layer, name, "is given initial states; only zero initial states are "
                    "exported")
    if inputs[0].ndim != 3:
        raise _fail(layer, name, f"got input of shape {inputs[0].shape}, not (batch, steps, "
                    f"features)")
    return _keras_rnn(g, layer, inputs[0].name, name)


@translates(kl.Bidirectional)
def _bidirectional(g, layer, inputs, outputs, name):
    x = inputs[0]
    forward = _keras_rnn(g, layer.forward_layer, x.name, f"{name}.forward")
    backward = _keras_rnn(g, layer.backward_layer, x.name, f"{name}.backward")
    first, second = forward[0], backward[0]
    if layer.return_sequences:  # the backward layer's steps come reversed: back to input order
        second = g.node("Slice", [second, g.ints([-1]), g.ints([-2 ** 63]), g.ints([1]),
                                  g.ints([-1])], f"{name}.backward_in_order")
    mode = layer.merge_mode
    if mode == "concat":
        merged = [g.node("Concat", [first, second], name, axis=-1)]
    elif mode == "sum":
        merged = [g.node("Add", [first, second], name)]
    elif mode == "mul":
        merged = [g.node("Mul", [first, second], name)]
    elif mode == "ave":
        merged = [g.node("Mul", [g.node("Add", [first, second]),
                                 g.scalar(0.5, x.dtype)], name)]
    else:
        merged = [first, second]
    return merged + forward[1:] + backward[1:]
