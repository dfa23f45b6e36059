"""ONNX translations of `dualnet.nn` layers: torch's layouts are ONNX's (channels first,
weight (out, in, *kernel)), so most layers are one node; recurrent layers reorder their gates
(torch LSTM i,f,g,o -> ONNX i,o,f,c; GRU r,z,n -> z,r,h)."""
import numpy as np

from .. import nn
from .graph import (SELU_ALPHA, SELU_SCALE, ExportError, gelu, silu, softplus, translates,
                    weight)


def _const(g, name, tensor, what):
    return g.const(weight(tensor), f"{name}.{what}" if name else what)


def _batched(layer, name, x, ranks):
    if x.ndim not in ranks:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) got "
                          f"an input of shape {x.shape}; the exporter takes batched input of "
                          f"{' or '.join(str(r) for r in ranks)} dims")


def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


# ---------------------------------------------------------------------------- affine, shape

@translates(nn.Linear)
def _linear(g, layer, inputs, outputs, name):
    x = inputs[0]
    bias = [] if layer.bias is None else [_const(g, name, layer.bias, "bias")]
    if x.ndim == 2:
        return [g.node("Gemm", [x.name, _const(g, name, layer.weight, "weight")] + bias, name,
                       transB=1)]
    kernel = g.const(weight(layer.weight).T, f"{name}.weight_t")
    out = g.node("MatMul", [x.name, kernel], name)
    return [g.node("Add", [out] + bias, name)] if bias else [out]


@translates(nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
def _identity(g, layer, inputs, outputs, name):
    # dropout is the identity in eval mode, which is what is exported
    return [g.node("Identity", [inputs[0].name], name)]


@translates(nn.Flatten, nn.Unflatten)
def _reshape(g, layer, inputs, outputs, name):
    """Reshape to the output's shape, with 0 (copy) for the dims before the changed ones so the
    batch stays symbolic; a flatten that takes in the batch gets -1 there instead."""
    x, out = inputs[0], outputs[0]
    if isinstance(layer, nn.Flatten):
        start = layer.start_dim % max(x.ndim, 1)
        end = layer.end_dim % max(x.ndim, 1)
        shape = [0] * start + [-1] + list(x.shape[end + 1:])
    else:
        dim = layer.dim % x.ndim
        if dim == 0:
            raise ExportError(f"dualnet.onnx.export: layer '{name}' (Unflatten) splits dim 0, "
                              f"the batch")
        shape = [0] * dim + list(out.shape[dim:])
    return [g.node("Reshape", [x.name, g.ints(shape)], name)]


# ---------------------------------------------------------------------------- convolution

def _conv_pads(layer):
    """ONNX pads (begins, then ends) for a Conv1d / Conv2d, and an explicit Pad node's mode
    when padding_mode is not zeros."""
    n = len(layer.kernel_size)
    if isinstance(layer.padding, str):
        widths = layer._reversed_padding_repeated_twice  # last dim first, (before, after) each
        begins = [widths[2 * (n - 1 - d)] for d in range(n)]
        ends = [widths[2 * (n - 1 - d) + 1] for d in range(n)]
    else:
        begins = ends = list(layer.padding)
    return list(begins) + list(ends)


_PAD_MODES = {"reflect": "reflect", "replicate": "edge"}


@translates(nn.Conv1d, nn.Conv2d)
def _conv(g, layer, inputs, outputs, name):
    x = inputs[0]
    n = len(layer.kernel_size)
    _batched(layer, name, x, (n + 2,))
    pads = _conv_pads(layer)
    source = x.name
    if layer.padding_mode != "zeros":
        if layer.padding_mode not in _PAD_MODES:
            raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) "
                              f"has padding_mode={layer.padding_mode!r}; the exporter takes "
                              f"zeros, reflect and replicate")
        full = [0, 0] + pads[:n] + [0, 0] + pads[n:]
        source = g.node("Pad", [source, g.ints(full, "pads")], f"{name}.pad",
                        mode=_PAD_MODES[layer.padding_mode])
        pads = [0] * (2 * n)
    operands = [source, _const(g, name, layer.weight, "weight")]
    if layer.bias is not None:
        operands.append(_const(g, name, layer.bias, "bias"))
    return [g.node("Conv", operands, name, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.stride), pads=pads, dilations=list(layer.dilation),
                   group=layer.groups)]


@translates(nn.ConvTranspose1d, nn.ConvTranspose2d)
def _conv_transpose(g, layer, inputs, outputs, name):
    x = inputs[0]
    n = len(layer.kernel_size)
    _batched(layer, name, x, (n + 2,))
    # the output size picks the output_padding (a forward(output_size=...) call included)
    spatial = outputs[0].shape[2:]
    output_padding = [
        size - ((x.shape[2 + d] - 1) * layer.stride[d] - 2 * layer.padding[d]
                + layer.dilation[d] * (layer.kernel_size[d] - 1) + 1)
        for d, size in enumerate(spatial)]
    operands = [x.name, _const(g, name, layer.weight, "weight")]
    if layer.bias is not None:
        operands.append(_const(g, name, layer.bias, "bias"))
    return [g.node("ConvTranspose", operands, name, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.stride), pads=list(layer.padding) * 2,
                   dilations=list(layer.dilation), group=layer.groups,
                   output_padding=output_padding)]


# ---------------------------------------------------------------------------- pooling

@translates(nn.MaxPool1d, nn.MaxPool2d)
def _max_pool(g, layer, inputs, outputs, name):
    x = inputs[0]
    n = 1 if isinstance(layer, nn.MaxPool1d) else 2
    _batched(layer, name, x, (n + 2,))
    if layer.return_indices:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) "
                          f"returns indices; export it with return_indices=False")
    return [g.node("MaxPool", [x.name], name, kernel_shape=list(_tuple(layer.kernel_size, n)),
                   strides=list(_tuple(layer.stride, n)),
                   pads=list(_tuple(layer.padding, n)) * 2,
                   dilations=list(_tuple(layer.dilation, n)), ceil_mode=int(layer.ceil_mode))]


@translates(nn.AvgPool1d, nn.AvgPool2d)
def _avg_pool(g, layer, inputs, outputs, name):
    x = inputs[0]
    n = 1 if isinstance(layer, nn.AvgPool1d) else 2
    _batched(layer, name, x, (n + 2,))
    if getattr(layer, "divisor_override", None) is not None:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' (AvgPool2d) has "
                          f"divisor_override={layer.divisor_override}, which ONNX's "
                          f"AveragePool cannot express")
    return [g.node("AveragePool", [x.name], name,
                   kernel_shape=list(_tuple(layer.kernel_size, n)),
                   strides=list(_tuple(layer.stride, n)),
                   pads=list(_tuple(layer.padding, n)) * 2, ceil_mode=int(layer.ceil_mode),
                   count_include_pad=int(layer.count_include_pad))]


@translates(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d,
            nn.AdaptiveMaxPool2d)
def _adaptive_pool(g, layer, inputs, outputs, name):
    """A global pool when the output is 1 (x 1), a plain pool when the sizes divide evenly;
    other adaptive windows (of varying size) have no ONNX op."""
    x, out = inputs[0], outputs[0]
    maximum = isinstance(layer, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d))
    if maximum and layer.return_indices:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) "
                          f"returns indices; export it with return_indices=False")
    n = 1 if isinstance(layer, (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d)) else 2
    _batched(layer, name, x, (n + 2,))
    sizes, wanted = x.shape[2:], out.shape[2:]
    if all(w == 1 for w in wanted):
        return [g.node("GlobalMaxPool" if maximum else "GlobalAveragePool", [x.name], name)]
    if any(s % w for s, w in zip(sizes, wanted)):
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) pools "
                          f"{sizes} to {wanted}: windows of varying size have no ONNX op "
                          f"(sizes that divide evenly, or an output of 1, export)")
    kernel = [s // w for s, w in zip(sizes, wanted)]
    return [g.node("MaxPool" if maximum else "AveragePool", [x.name], name,
                   kernel_shape=kernel, strides=kernel)]


# ---------------------------------------------------------------------------- normalization

def batch_norm_node(g, x_name, name, mean, var, gamma, beta, eps, channels_dim, ndim, dtype):
    """ONNX BatchNormalization (inference) over `channels_dim`, moving it to dim 1 and back
    when it is elsewhere; gamma / beta None mean 1 / 0."""
    channels = mean.shape[0]
    gamma = np.ones(channels, dtype) if gamma is None else gamma
    beta = np.zeros(channels, dtype) if beta is None else beta
    perm = None
    if channels_dim != 1 and ndim > 2:
        perm = [0, channels_dim] + [d for d in range(1, ndim) if d != channels_dim]
        x_name = g.transpose(x_name, perm, f"{name}.to_channels_first")
    operands = [x_name] + [g.const(a, f"{name}.{what}") for a, what in
                           ((gamma, "weight"), (beta, "bias"), (mean, "running_mean"),
                            (var, "running_var"))]
    out = g.node("BatchNormalization", operands, name, epsilon=float(eps))
    if perm is not None:
        out = g.transpose(out, list(np.argsort(perm)), f"{name}.from_channels_first")
    return out


@translates(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(g, layer, inputs, outputs, name):
    x = inputs[0]
    if layer.running_mean is None:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) has "
                          f"no running statistics (track_running_stats=False): in eval mode it "
                          f"normalizes by each batch's own, which is not exported")
    return [batch_norm_node(
        g, x.name, name, weight(layer.running_mean), weight(layer.running_var),
        None if layer.weight is None else weight(layer.weight),
        None if layer.bias is None else weight(layer.bias), layer.eps, 1, x.ndim, x.dtype)]


def layer_norm_node(g, x_name, name, gamma, beta, eps, axis, normalized_shape, dtype):
    """ONNX LayerNormalization over the dims from `axis` on; gamma None means ones."""
    gamma = np.ones(normalized_shape, dtype) if gamma is None else gamma
    operands = [x_name, g.const(gamma, f"{name}.weight")]
    if beta is not None:
        operands.append(g.const(beta, f"{name}.bias"))
    return g.node("LayerNormalization", operands, name, axis=axis, epsilon=float(eps))


@translates(nn.LayerNorm)
def _layer_norm(g, layer, inputs, outputs, name):
    x = inputs[0]
    shape = layer.normalized_shape
    return [layer_norm_node(g, x.name, name,
                            None if layer.weight is None else weight(layer.weight),
                            None if layer.bias is None else weight(layer.bias), layer.eps,
                            -len(shape), shape, x.dtype)]


@translates(nn.Embedding)
def _embedding(g, layer, inputs, outputs, name):
    if layer.max_norm is not None:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' (Embedding) has max_norm="
                          f"{layer.max_norm}, which rewrites the weight as it looks rows up; "
                          f"export a copy without max_norm")
    return [g.node("Gather", [_const(g, name, layer.weight, "weight"), inputs[0].name], name,
                   axis=0)]


# ---------------------------------------------------------------------------- activations

def _implicit_dim(ndim):
    return 0 if ndim in (0, 1, 3) else 1  # torch's legacy rule for dim=None (the layer warns)


def _activation(op_for_layer):
    """Register a one-input activation: op_for_layer(g, layer, x_name, dtype, ndim, name)."""
    def translate(g, layer, inputs, outputs, name):
        x = inputs[0]
        return [op_for_layer(g, layer, x.name, x.dtype, x.ndim, name)]
    return translate


_SIMPLE = {nn.ReLU: "Relu", nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh", nn.Softsign: "Softsign",
           nn.Hardswish: "HardSwish"}

for _type, _op in _SIMPLE.items():
    translates(_type)(_activation(
        lambda g, layer, x, dtype, ndim, name, _op=_op: g.node(_op, [x], name)))

translates(nn.LeakyReLU)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "LeakyRelu", [x], name, alpha=float(layer.negative_slope))))
translates(nn.ELU)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Elu", [x], name, alpha=float(layer.alpha))))
translates(nn.CELU)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Celu", [x], name, alpha=float(layer.alpha))))
translates(nn.SELU)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Selu", [x], name, alpha=SELU_ALPHA, gamma=SELU_SCALE)))
translates(nn.Hardsigmoid)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "HardSigmoid", [x], name, alpha=1.0 / 6.0, beta=0.5)))
translates(nn.Hardtanh, nn.ReLU6)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Clip", [x, g.scalar(layer.min_val, dtype), g.scalar(layer.max_val, dtype)], name)))
translates(nn.GELU)(_activation(lambda g, layer, x, dtype, ndim, name: gelu(
    g, x, dtype, layer.approximate, name)))
translates(nn.SiLU)(_activation(lambda g, layer, x, dtype, ndim, name: silu(g, x, name)))
translates(nn.Softplus)(_activation(lambda g, layer, x, dtype, ndim, name: softplus(
    g, x, dtype, float(layer.beta), float(layer.threshold), name)))
translates(nn.Mish)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Mul", [x, g.node("Tanh", [softplus(g, x, dtype)])], name)))
translates(nn.LogSigmoid)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Neg", [g.node("Softplus", [g.node("Neg", [x])])], name)))
translates(nn.Tanhshrink)(_activation(lambda g, layer, x, dtype, ndim, name: g.node(
    "Sub", [x, g.node("Tanh", [x])], name)))


def _softmax_family(op, negate=False):
    def emit(g, layer, x, dtype, ndim, name):
        dim = layer.dim if layer.dim is not None else _implicit_dim(ndim)
        source = g.node("Neg", [x]) if negate else x
        return g.node(op, [source], name, axis=int(dim))
    return _activation(emit)


translates(nn.Softmax)(_softmax_family("Softmax"))
translates(nn.LogSoftmax)(_softmax_family("LogSoftmax"))
translates(nn.Softmin)(_softmax_family("Softmax", negate=True))


# ---------------------------------------------------------------------------- recurrent

# rows of each gate block, in ONNX's order, by where torch keeps them
_TORCH_TO_ONNX_GATES = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,),
                        "RNN_RELU": (0,)}
_ONNX_OPS = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def reorder_gates(array, order, axis=0):
    blocks = np.split(array, len(order), axis=axis)
    return np.concatenate([blocks[i] for i in order], axis=axis)


def recurrent_node(g, op, x_name, name, w, r, b, hidden_size, direction, **attributes):
    """One ONNX LSTM / GRU / RNN node over (seq, batch, features); w, r, b stacked per
    direction in ONNX's gate order. Returns (Y, Y_h) or (Y, Y_h, Y_c) names."""
    count = 3 if op == "LSTM" else 2
    operands = [x_name, g.const(w, f"{name}.W"), g.const(r, f"{name}.R"),
                g.const(b, f"{name}.B")]
    return g.node(op, operands, name, outputs=count, hidden_size=hidden_size,
                  direction=direction, **attributes)


@translates(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(g, layer, inputs, outputs, name):
    x = inputs[0]
    if len(inputs) != 1:
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) is "
                          f"given initial states; only zero initial states are exported")
    if getattr(layer, "proj_size", 0):
        raise ExportError(f"dualnet.onnx.export: layer '{name}' ({type(layer).__name__}) has "
                          f"proj_size={layer.proj_size}; ONNX's LSTM has no projection")
    _batched(layer, name, x, (3,))
    mode, hidden = layer.mode, layer.hidden_size
    order, op = _TORCH_TO_ONNX_GATES[mode], _ONNX_OPS[mode]
    directions = layer._num_directions
    attributes = {}
    if op == "GRU":
        attributes["linear_before_reset"] = 1  # torch's n = tanh(.. + r * (W_hn h + b_hn))
    if op == "RNN":
        attributes["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * directions
    sequence = g.transpose(x.name, (1, 0, 2), f"{name}.seq_first") if layer.batch_first \
        else x.name
    finals = None
    for index in range(layer.num_layers):
        stacked = {"w": [], "r": [], "b": []}
        for direction in range(directions):
            w_ih, w_hh, b_ih, b_hh = layer._step_weights(index, direction)
            w = reorder_gates(weight(w_ih), order)
            stacked["w"].append(w)
            stacked["r"].append(reorder_gates(weight(w_hh), order))
            biases = [np.zeros(w.shape[0], w.dtype) if b is None else reorder_gates(weight(b),
                                                                                    order)
                      for b in (b_ih, b_hh)]
            stacked["b"].append(np.concatenate(biases))
        step_name = f"{name}.l{index}"
        results = recurrent_node(g, op, sequence, step_name, np.stack(stacked["w"]),
                                 np.stack(stacked["r"]), np.stack(stacked["b"]), hidden,
                                 "bidirectional" if directions == 2 else "forward",
                                 **attributes)
        # Y is (seq, directions, batch, hidden): the directions go next to the features
        y = g.transpose(results[0], (0, 2, 1, 3), f"{step_name}.y")
        sequence = g.reshape(y, [0, 0, -1], f"{step_name}.output")
        finals = [[s] for s in results[1:]] if finals is None else \
            [previous + [s] for previous, s in zip(finals, results[1:])]
    output = g.transpose(sequence, (1, 0, 2), f"{name}.batch_first") if layer.batch_first \
        else sequence
    states = [f[0] if len(f) == 1 else g.node("Concat", f, f"{name}.state", axis=0)
              for f in finals]
    return [output] + states
