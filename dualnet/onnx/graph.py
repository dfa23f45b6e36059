"""The ONNX graph under construction: nodes, initializers (the weights) and unique names, plus
the few node patterns the layer translators share (activations, layout transposes, reductions).

Each translator sees `Value`s - an ONNX name with the shape and dtype the value had when the
model ran on the example input - and adds nodes through a `GraphBuilder`.
"""
import numpy as np

__all__ = ["GraphBuilder", "Value", "ExportError", "weight", "translates", "TRANSLATORS"]


class ExportError(RuntimeError):
    """A model or layer the exporter cannot express in ONNX (torch.onnx raises
    UnsupportedOperatorError, a RuntimeError, for the same)."""


class Value:
    """A tensor of the exported graph: its ONNX name and the dualnet tensor it held when the
    model ran on the example input (its shape and dtype; the batch size there is the
    example's, the graph keeps it symbolic)."""

    __slots__ = ("name", "data")

    def __init__(self, name, data):
        self.name, self.data = name, data

    @property
    def shape(self):
        return tuple(int(d) for d in self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        """The NumPy dtype (what ONNX constants next to this value must have)."""
        return self.data.dtype.np

    def __repr__(self):
        return f"Value({self.name!r}, shape={self.shape}, dtype={self.dtype})"


def weight(tensor):
    """A parameter or buffer as a NumPy array on the host (for an initializer)."""
    return tensor.detach().numpy(force=True)


class GraphBuilder:
    """Collects nodes and initializers; `build` makes the ModelProto."""

    def __init__(self, onnx, opset):
        self.onnx, self.opset = onnx, opset
        self.nodes, self.initializers = [], []
        self._used = set()

    # ------------------------------------------------------------------ names and constants
    def fresh(self, hint):
        """A graph-unique name starting with `hint`."""
        base = "".join(c if c.isalnum() or c in "_./" else "_" for c in str(hint)) or "t"
        name, count = base, 0
        while name in self._used:
            count += 1
            name = f"{base}_{count}"
        self._used.add(name)
        return name

    def reserve(self, name):
        """Claim an exact name (a graph input or output)."""
        if name in self._used:
            raise ValueError(f"dualnet.onnx.export: the name {name!r} is used twice")
        self._used.add(name)
        return name

    def const(self, array, hint="const"):
        """An initializer holding `array` (a copy, in its own dtype); returns its name."""
        array = np.ascontiguousarray(array)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(values, dtype=np.int64), hint)

    def scalar(self, value, dtype, hint="scalar"):
        return self.const(np.asarray(value, dtype=dtype), hint)

    # ------------------------------------------------------------------ nodes
    def node(self, op, inputs, hint=None, outputs=1, out=None, **attributes):
        """Add one node; returns its output name, or a list of names when outputs > 1. An empty
        string among `inputs` marks an optional input left out; `out` names the (single) output
        exactly (a name the caller has reserved)."""
        hint = hint or op.lower()
        if out is not None:
            names = [out]
        else:
            names = [self.fresh(f"{hint}_out{i}" if outputs > 1 else hint)
                     for i in range(outputs)]
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), names,
                                                     name=self.fresh(f"{hint}_node"),
                                                     **attributes))
        return names if outputs > 1 else names[0]

    def transpose(self, name, perm, hint="transpose"):
        return self.node("Transpose", [name], hint, perm=list(perm))

    def reduce(self, op, name, axes, keepdims, hint=None):
        """ReduceMean / ReduceMax / ...: opset 18 moved `axes` from an attribute to an input."""
        if self.opset >= 18:
            return self.node(op, [name, self.ints(list(axes), "axes")], hint,
                             keepdims=int(keepdims))
        return self.node(op, [name], hint, axes=list(axes), keepdims=int(keepdims))

    def squeeze(self, name, axes, hint="squeeze"):
        return self.node("Squeeze", [name, self.ints(list(axes), "axes")], hint)

    def unsqueeze(self, name, axes, hint="unsqueeze"):
        return self.node("Unsqueeze", [name, self.ints(list(axes), "axes")], hint)

    def reshape(self, name, shape, hint="reshape"):
        """Reshape to `shape`, where 0 copies the input's dim (the batch stays symbolic) and -1
        is inferred."""
        return self.node("Reshape", [name, self.ints(list(shape))], hint)

    # ------------------------------------------------------------------ the model
    def build(self, inputs, outputs, graph_name, doc_string=""):
        """`inputs` / `outputs`: (name, dtype, shape) with None or a string for a symbolic dim."""
        helper = self.onnx.helper

        def info(name, dtype, shape):
            elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            return helper.make_tensor_value_info(name, elem, list(shape))

        graph = helper.make_graph(self.nodes, graph_name,
                                  [info(*spec) for spec in inputs],
                                  [info(*spec) for spec in outputs],
                                  initializer=self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="dualnet",
                                  doc_string=doc_string)
        # the oldest IR version that carries this opset: readable by the most runtimes
        model.ir_version = helper.find_min_ir_version_for(opsets)
        return model


# ---------------------------------------------------------------------------- shared patterns

def channels_first_perm(ndim):
    """The permutation (0, C, spatial...) that takes channels-last to channels-first."""
    return (0, ndim - 1, *range(1, ndim - 1))


def channels_last_perm(ndim):
    return (0, *range(2, ndim), 1)


def same_pads(sizes, kernel, strides, dilation):
    """TensorFlow's 'same' padding (what Keras uses): output ceil(n / s); the odd pixel goes
    after. Returns ONNX's pads: all begins, then all ends."""
    begins, ends = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def gelu(g, x, dtype, approximate, hint="gelu"):
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh form (the Gelu op arrives only in opset 20)."""
    half = g.scalar(0.5, dtype)
    one = g.scalar(1.0, dtype)
    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dtype)])])
        core = g.node("Tanh", [g.node("Mul", [inner, g.scalar(np.sqrt(2 / np.pi), dtype)])])
    else:
        core = g.node("Erf", [g.node("Div", [x, g.scalar(np.sqrt(2.0), dtype)])])
    return g.node("Mul", [g.node("Mul", [x, half]), g.node("Add", [core, one])], hint)


def silu(g, x, hint="silu"):
    return g.node("Mul", [x, g.node("Sigmoid", [x])], hint)


def softplus(g, x, dtype, beta=1.0, threshold=20.0, hint="softplus"):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (torch's rule)."""
    if beta == 1.0:
        scaled, soft = x, g.node("Softplus", [x])
    else:
        scaled = g.node("Mul", [x, g.scalar(beta, dtype)])
        soft = g.node("Div", [g.node("Softplus", [scaled]), g.scalar(beta, dtype)])
    if threshold is None:
        return soft
    linear = g.node("Greater", [scaled, g.scalar(threshold, dtype)])
    return g.node("Where", [linear, x, soft], hint)


# torch's SELU constants (ONNX's defaults are their float32 roundings)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---------------------------------------------------------------------------- the registry

TRANSLATORS = {}


def translates(*layer_types):
    """Register `fn(g, layer, inputs, outputs, name) -> [output names]` for these exact types
    (exact: a subclass may compute something else in its own forward). `inputs` are Values,
    `outputs` the tensors the layer produced on the example, flattened."""
    def register(fn):
        for layer_type in layer_types:
            TRANSLATORS[layer_type] = fn
        return fn
    return register
