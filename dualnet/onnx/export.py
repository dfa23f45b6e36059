"""`dualnet.onnx.export(model, example_input, path)`: write either frontend's model as an ONNX
file (the `onnx` package is needed, and imported only here, when exporting).

The exporter walks the model - `nn.Sequential`, keras `Sequential` and functional `Model`s
(their layer graph), `keras.Model.from_module` wrappers - and hands each leaf layer to the
translator registered for its exact type (nn_layers.py, keras_layers.py). The model runs once on
the example input alongside, in eval mode, so every translator knows the shapes it works on.
Weights become initializers; the batch dim stays symbolic ("batch").
"""
import importlib
import os
import tempfile

from ..core.autograd import no_grad
from ..core.creation import as_tensor
from ..core.ops.shape import ops as _shape
from ..core.tensor import Tensor
from .graph import TRANSLATORS, ExportError, GraphBuilder, Value

__all__ = ["export", "supported_layers", "DEFAULT_OPSET", "MIN_OPSET"]

# opset 17 brings LayerNormalization; older runtimes still read it
DEFAULT_OPSET = 17
MIN_OPSET = 17


def _require_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError("dualnet.onnx.export needs the onnx package: pip install onnx") \
            from error
    return onnx


def _load_translators():
    """Import the translator files (they import both frontends, so only when exporting)."""
    for name in ("nn_layers", "keras_layers"):  # each registers its translators on import
        importlib.import_module(f"{__package__}.{name}")


def supported_layers():
    """The names of the layer classes the exporter translates, e.g. 'nn.Linear',
    'keras.layers.Dense' (containers - nn.Sequential, keras Sequential and functional
    models - are walked, not translated).

    >>> names = supported_layers()
    >>> "nn.LSTM" in names, "keras.layers.Conv2D" in names, "nn.GroupNorm" in names
    (True, True, False)
    """
    _load_translators()
    return sorted(_type_name(t) for t in TRANSLATORS)


def _type_name(layer_type):
    module = layer_type.__module__
    if module.startswith("dualnet.keras_api"):
        return f"keras.layers.{layer_type.__name__}"
    if module.startswith("dualnet.nn"):
        return f"nn.{layer_type.__name__}"
    return f"{module}.{layer_type.__qualname__}"


# ---------------------------------------------------------------------------- the walk

def _flat(outputs):
    """A layer's outputs as a flat list of tensors (nn.LSTM gives (out, (h, c)))."""
    if isinstance(outputs, Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for item in outputs for t in _flat(item)]
    raise ExportError(f"dualnet.onnx.export: a layer returned {type(outputs).__name__}, not "
                      f"tensors")


def _keras_classes():
    from ..keras_api.layers.layer import Layer
    from ..keras_api.models.from_module import ModuleModel
    from ..keras_api.models.functional import Functional
    from ..keras_api.models.sequential import Sequential
    return Layer, Sequential, Functional, ModuleModel


class _Walker:
    def __init__(self, g):
        from ..nn import Sequential as NNSequential
        self.g = g
        self.nn_sequential = NNSequential
        (self.keras_layer, self.keras_sequential, self.functional,
         self.module_model) = _keras_classes()

    def emit(self, layer, inputs, name, packed=False):
        """Add `layer` applied to `inputs` (Values) to the graph; returns its flat outputs as
        Values. `packed`: the layer takes its inputs as one list (a keras merge layer)."""
        kind = type(layer)
        if kind is self.nn_sequential:
            return self._chain(list(layer.named_children()), inputs, name)
        if kind is self.keras_sequential:
            return self._chain([(child.name, child) for child in layer.layers], inputs, name)
        if kind is self.functional:
            return self._functional(layer, inputs, name)
        if kind is self.module_model:
            return self.emit(layer.module, inputs, name)
        name = name or kind.__name__  # the model itself is a single layer
        translator = TRANSLATORS.get(kind)
        if translator is None:
            raise ExportError(f"dualnet.onnx.export: layer '{name}' of type "
                              f"{_type_name(kind)} has no ONNX translation: the exporter walks "
                              f"nn.Sequential and keras Sequential / functional models and "
                              f"translates the layers dualnet.onnx.supported_layers() lists "
                              f"(custom forward() / call() code cannot be walked)")
        outputs = _flat(self._run(layer, inputs, packed))
        names = translator(self.g, layer, inputs, outputs, name)
        return [Value(n, t) for n, t in zip(names, outputs)]

    def _run(self, layer, inputs, packed):
        """The layer on the example's values (eval mode, no graph)."""
        data = [v.data for v in inputs]
        args = (data,) if packed else tuple(data)
        if isinstance(layer, self.keras_layer):
            return layer(*args, training=False)
        return layer(*args)

    def _chain(self, children, inputs, name):
        for child_name, child in children:
            path = f"{name}.{child_name}" if name else str(child_name)
            if len(inputs) != 1:
                raise ExportError(f"dualnet.onnx.export: layer '{path}' of a Sequential would "
                                  f"receive {len(inputs)} outputs of the layer before it; only "
                                  f"the last layer of a Sequential may return several")
            inputs = self.emit(child, inputs, path)
        return inputs

    def _functional(self, model, inputs, name):
        from ..keras_api.layers.keras_tensor import KerasTensor
        if len(inputs) != len(model.inputs):
            raise ExportError(f"dualnet.onnx.export: model '{model.name}' takes "
                              f"{len(model.inputs)} input(s), got {len(inputs)}")
        values = {id(t): v for t, v in zip(model.inputs, inputs)}
        for node in model._run_nodes:
            layer = node.operation
            path = f"{name}.{layer.name}" if name else layer.name
            extra = sorted(k for k, v in node.call_kwargs.items()
                           if k != "training" and v is not None)
            args = node.call_args
            if node.single_input:
                layer_inputs, packed = [values[id(args[0])]], False
            elif (len(args) == 1 and isinstance(args[0], (list, tuple))
                  and all(isinstance(t, KerasTensor) for t in args[0])):
                layer_inputs, packed = [values[id(t)] for t in args[0]], True
            else:
                extra = extra or ["positional arguments beyond the input"]
            if extra:
                raise ExportError(f"dualnet.onnx.export: layer '{path}' "
                                  f"({type(layer).__name__}) is called with "
                                  f"{', '.join(extra)}; only its input tensor(s) can be "
                                  f"exported")
            outputs = self.emit(layer, layer_inputs, path, packed)
            for tensor, position in zip(node.outputs, node.output_positions):
                values[id(tensor)] = outputs[position]
        return [values[id(t)] for t in model.outputs]


# ---------------------------------------------------------------------------- export

def _example_tensors(example_input):
    items = example_input if isinstance(example_input, (list, tuple)) else [example_input]
    if not items:
        raise ValueError("dualnet.onnx.export: example_input is empty; pass a tensor (or a "
                         "tuple of tensors, one per model input)")
    tensors = []
    for position, item in enumerate(items):
        if isinstance(item, Tensor):
            tensors.append(item.detach())
        else:
            try:
                tensors.append(as_tensor(item))
            except (TypeError, ValueError) as error:
                raise TypeError(f"dualnet.onnx.export: example_input[{position}] must be a "
                                f"Tensor or an array, got {type(item).__name__}") from error
    return tensors


def _call_model(model, tensors, keras_layer):
    if isinstance(model, keras_layer):
        return model(tensors[0] if len(tensors) == 1 else list(tensors), training=False)
    return model(*tensors)


def _names(given, count, default, what):
    if given is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != count or len(set(given)) != count:
        raise ValueError(f"dualnet.onnx.export: {what} must be {count} distinct names, got "
                         f"{given}")
    return given


def export(model, example_input, path, *, input_names=None, output_names=None,
           opset_version=DEFAULT_OPSET, batch_dim=0):
    """Write `model` (an `nn.Module` or a keras_api model) to `path` as an ONNX model.

    example_input: a tensor (or array), or a tuple of them for a model with several inputs;
    the model runs on it once, in eval mode, to fix every shape but the batch.
    batch_dim: the inputs' dim that stays symbolic ("batch") in the graph (1 for an
    `nn.LSTM` without batch_first; None fixes every shape). Outputs whose size follows it are
    symbolic too. opset_version: 17 or newer. Training-mode behaviour (dropout, batch
    statistics) is not exported: the graph computes what `model.eval()` computes.

    The graph passes `onnx.checker.check_model`; the file is written whole or not at all.
    A layer without a translation raises a RuntimeError naming the layer and its type.
    Returns the `onnx.ModelProto`. (The example needs onnx; tests/onnx runs the same.)

    >>> import dualnet as dn, dualnet.onnx, tempfile, os  # doctest: +SKIP
    >>> net = dn.nn.Sequential(dn.nn.Linear(4, 3), dn.nn.ReLU())  # doctest: +SKIP
    >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")  # doctest: +SKIP
    >>> proto = dualnet.onnx.export(net, dn.randn(2, 4), path)  # doctest: +SKIP
    >>> [n.op_type for n in proto.graph.node]  # doctest: +SKIP
    ['Gemm', 'Relu', 'Identity']
    """
    onnx = _require_onnx()
    from ..nn import Module
    newest = onnx.defs.onnx_opset_version()
    if (isinstance(opset_version, bool) or not isinstance(opset_version, int)
            or not MIN_OPSET <= opset_version <= newest):
        raise ValueError(f"dualnet.onnx.export: opset_version must be an int from {MIN_OPSET} "
                         f"to {newest} (the installed onnx's newest), got {opset_version!r}")
    if not isinstance(model, Module):
        raise TypeError(f"dualnet.onnx.export: model must be an nn.Module or a keras_api model, "
                        f"got {type(model).__name__}")
    tensors = _example_tensors(example_input)
    if batch_dim is not None and any(not -t.ndim <= batch_dim < t.ndim for t in tensors):
        raise ValueError(f"dualnet.onnx.export: batch_dim={batch_dim} is not a dim of every "
                         f"example input (shapes {[tuple(t.shape) for t in tensors]})")
    _load_translators()
    g = GraphBuilder(onnx, opset_version)
    walker = _Walker(g)
    in_names = _names(input_names, len(tensors), "input", "input_names")
    for name in in_names:
        g.reserve(name)
    given_outputs = None if output_names is None else list(
        [output_names] if isinstance(output_names, str) else output_names)
    for name in given_outputs or ():
        g.reserve(name)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            outputs = walker.emit(model, [Value(n, t) for n, t in zip(in_names, tensors)], "")
            batch_dims = _output_batch_dims(model, tensors, outputs, batch_dim,
                                            walker.keras_layer)
    finally:
        for module, mode in modes:
            module.training = mode
    if given_outputs is None:
        out_names = [g.fresh(name) for name in _names(None, len(outputs), "output", "")]
    else:
        out_names = _names(given_outputs, len(outputs), "output", "output_names")
    for name, value in zip(out_names, outputs):
        g.node("Identity", [value.name], name, out=name)
    graph_inputs = [(name, t.dtype.np, _symbolic(t.shape, {batch_dim % t.ndim}
                                                 if batch_dim is not None else set()))
                    for name, t in zip(in_names, tensors)]
    graph_outputs = [(name, v.dtype, _symbolic(v.shape, dims))
                     for name, v, dims in zip(out_names, outputs, batch_dims)]
    proto = g.build(graph_inputs, graph_outputs, graph_name=type(model).__name__,
                    doc_string=f"exported by dualnet from {type(model).__name__}")
    onnx.checker.check_model(proto, full_check=True)
    _write_atomically(proto.SerializeToString(), path)
    return proto


def _symbolic(shape, dims):
    return [("batch" if i in dims else int(d)) for i, d in enumerate(shape)]


def _output_batch_dims(model, tensors, outputs, batch_dim, keras_layer):
    """The output dims that follow the inputs' batch dim: those whose size changes when the
    model runs on the example repeated twice along it."""
    if batch_dim is None:
        return [set() for _ in outputs]
    doubled = [_shape.cat([t, t], batch_dim) for t in tensors]
    again = _flat(_call_model(model, doubled, keras_layer))
    return [{i for i, (a, b) in enumerate(zip(v.shape, t.shape)) if a != b}
            for v, t in zip(outputs, again)]


def _write_atomically(data, path):
    """Write to a temporary file beside `path`, then rename it over `path`: a reader never
    sees half a model, and a failure leaves any old file as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".onnx-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
