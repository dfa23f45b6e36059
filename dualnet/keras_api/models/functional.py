"""`Functional`: the model `keras.Model(inputs, outputs)` builds from the nodes that symbolic
layer calls recorded: one or several inputs and outputs (single, list or dict), shared layers,
nested models. Calling it runs the nodes in dependency order on real tensors.
"""
import numpy as np

from ...core.tensor import Tensor
from ..layers.input_layer import InputLayer
from ..layers.keras_tensor import KerasTensor, flatten, pack_like
from ..layers.layer import InputSpec, Layer
from .model import Model
from .serialization import deserialize_layer, serialize_layer

__all__ = ["Functional"]


def _build_graph(inputs, outputs):
    """The graph's nodes by depth (0 = the outputs' nodes) and its layers ordered as Keras
    orders them: deepest (closest to the inputs) first, ties in discovery order."""
    finished, in_progress = set(), set()
    nodes_in_decreasing_depth = []
    layer_index = {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"the graph has a cycle at layer '{layer.name}'")
        layer_index.setdefault(id(layer), (len(layer_index), layer))
        in_progress.add(id(node))
        if not node.is_input and id(tensor) not in input_ids:
            for parent in node.input_tensors:
                visit(parent)
        finished.add(id(node))
        in_progress.discard(id(node))
        nodes_in_decreasing_depth.append(node)

    for tensor in outputs:
        visit(tensor)

    node_depth, layer_depth, by_id = {}, {}, {}
    for node in reversed(nodes_in_decreasing_depth):
        by_id[id(node)] = node
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.operation), 0))
        layer_depth[id(node.operation)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            by_id[id(parent)] = parent
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in inputs:  # an input no output depends on still belongs to the model
        layer = tensor._keras_history[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layer_index[id(layer)] = (-1, layer)
            node = layer._inbound_nodes[tensor._keras_history[1]]
            node_depth[id(node)] = 0
            by_id[id(node)] = node

    nodes_by_depth = {}
    for node_id, depth in node_depth.items():
        nodes_by_depth.setdefault(depth, []).append(by_id[node_id])
    layers_by_depth = {}
    for layer_id, depth in layer_depth.items():
        layers_by_depth.setdefault(depth, []).append(layer_index[layer_id])
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers += [layer for _, layer in sorted(layers_by_depth[depth], key=lambda p: p[0])]
    return nodes_by_depth, layers


class Functional(Model):
    """A model defined by its input and output KerasTensors.

    >>> from dualnet import keras_api as keras
    >>> from dualnet.keras_api import layers
    >>> inputs = keras.Input(shape=(3,))
    >>> model = keras.Model(inputs, layers.Dense(2)(inputs))
    >>> [layer.__class__.__name__ for layer in model.layers]
    ['InputLayer', 'Dense']
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        from ..layers.keras_tensor import unique_name
        Layer.__init__(self, name=name or unique_name("functional"), trainable=trainable,
                       **kwargs)
        d = self.__dict__
        d["_inputs_struct"] = inputs
        d["_outputs_struct"] = outputs
        d["inputs"] = flatten(inputs)
        d["outputs"] = flatten(outputs)
        for role, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            for tensor in tensors:
                if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
                    raise ValueError(f"Model {role} must be KerasTensors from keras.Input or "
                                     f"from layer calls on them; got {tensor!r}")
        for tensor in self.inputs:
            if not isinstance(tensor._keras_history[0], InputLayer):
                raise ValueError(f"Model inputs must come from keras.Input; {tensor!r} was made "
                                 f"by layer '{tensor._keras_history[0].name}'")
        nodes_by_depth, layers = _build_graph(self.inputs, self.outputs)
        d["_nodes_by_depth"] = nodes_by_depth
        d["_operations"] = layers
        d["_run_nodes"] = self._execution_order()
        names = [layer.name for layer in layers]
        for layer in layers:
            if names.count(layer.name) > 1:
                raise ValueError(f"The name '{layer.name}' is used {names.count(layer.name)} "
                                 f"times in the model; every layer of a model needs its own name")
            if not isinstance(layer, InputLayer):
                self._modules[layer.name.replace(".", "_")] = layer
        d["input_spec"] = [InputSpec(shape=t.shape) for t in self.inputs]
        d["output_names"] = [t._keras_history[0].name for t in self.outputs]
        d["input_names"] = [t._keras_history[0].name for t in self.inputs]
        self.built = True

    def _execution_order(self):
        """The non-input nodes, deepest first, checking that each one's inputs are computed."""
        available = {id(t) for t in self.inputs}
        order = []
        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                if node.is_input or all(id(t) in available for t in node.outputs):
                    continue
                for tensor in node.input_tensors:
                    if id(tensor) not in available:
                        done = [n.operation.name for n in order]
                        raise ValueError(f"Graph disconnected: the value of {tensor!r} (input "
                                         f"of layer '{node.operation.name}') cannot be computed "
                                         f"from the model's inputs; layers reached without "
                                         f"issue: {done}")
                order.append(node)
                available.update(id(t) for t in node.outputs)
        return order

    @property
    def layers(self):
        """The model's layers (operation nodes of KerasTensor arithmetic excluded, as Keras)."""
        from ..ops import Operation
        return [op for op in self._operations if not isinstance(op, Operation)]

    @property
    def operations(self):
        """Every node's layer or operation, in graph order."""
        return list(self._operations)

    def call(self, inputs, training=None, mask=None):
        flat_inputs = self._flat_inputs(inputs)
        if mask is not None:  # as Keras: the masks go onto the inputs, and propagate from there
            for tensor, one in zip(flat_inputs, flatten(mask)):
                if one is not None and isinstance(tensor, Tensor):
                    tensor._keras_mask = one
        values = dict(zip(map(id, self.inputs), flat_inputs))
        for node in self._run_nodes:
            node.run(values, training)
        outputs = [values[id(t)] for t in self.outputs]
        if isinstance(self._outputs_struct, KerasTensor):
            return outputs[0]
        return pack_like(self._outputs_struct, outputs)

    def _flat_inputs(self, inputs):
        struct = self._inputs_struct
        if isinstance(struct, KerasTensor):
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
                inputs = inputs[0]
            if isinstance(inputs, dict) and len(inputs) == 1:
                inputs = next(iter(inputs.values()))
            return [inputs]
        if isinstance(inputs, dict) and not isinstance(struct, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' expects inputs named {self.input_names}, "
                                 f"got a dict with keys {list(inputs)}")
            return [inputs[name] for name in self.input_names]
        if isinstance(struct, dict):
            if not isinstance(inputs, dict):
                raise ValueError(f"Model '{self.name}' takes a dict of inputs with keys "
                                 f"{list(struct)}, got {type(inputs).__name__}")
            flat = []
            for key in struct:
                if key not in inputs:
                    raise ValueError(f"Model '{self.name}': missing input '{key}' (inputs "
                                     f"given: {list(inputs)})")
                flat += flatten(inputs[key])
            return flat
        flat = flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s), but it "
                             f"received {len(flat)} input tensors")
        return flat

    # ------------------------------------------------------------------ config

    def _model_nodes(self, layer):
        """The layer's nodes that belong to this model, in the layer's order."""
        ids = {id(n) for nodes in self._nodes_by_depth.values() for n in nodes}
        return [node for node in layer._inbound_nodes if id(node) in ids]

    def get_config(self):
        def node_key(tensor):
            layer, node_index, tensor_index = tensor._keras_history
            node = layer._inbound_nodes[node_index]
            return [layer.name, self._model_nodes(layer).index(node), tensor_index]

        def serialize_arg(value):
            if isinstance(value, KerasTensor):
                return {"class_name": "__keras_tensor__",
                        "config": {"shape": value.shape, "dtype": value.dtype,
                                   "keras_history": node_key(value)}}
            if isinstance(value, slice):
                return {"class_name": "__slice__",
                        "config": {"start": serialize_arg(value.start),
                                   "stop": serialize_arg(value.stop),
                                   "step": serialize_arg(value.step)}}
            if value is Ellipsis:
                return {"class_name": "__ellipsis__", "config": {}}
            if isinstance(value, np.ndarray) and value.ndim > 0:
                return {"class_name": "__numpy__",
                        "config": {"value": value.tolist(), "dtype": value.dtype.name}}
            if isinstance(value, (np.ndarray, np.generic)):
                return value.item()
            if isinstance(value, (list, tuple)):
                return type(value)(serialize_arg(v) for v in value)
            if isinstance(value, dict):
                return {k: serialize_arg(v) for k, v in value.items()}
            return value

        layer_configs = []
        for layer in self._operations:
            entry = serialize_layer(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [
                {"args": serialize_arg(node.call_args), "kwargs": serialize_arg(node.call_kwargs)}
                for node in self._model_nodes(layer) if not node.is_input]
            layer_configs.append(entry)

        def io_keys(struct):
            if isinstance(struct, KerasTensor):
                return node_key(struct)
            if isinstance(struct, dict):
                return {k: io_keys(v) for k, v in struct.items()}
            return [io_keys(v) for v in struct]
        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs,
                "input_layers": io_keys(self._inputs_struct),
                "output_layers": io_keys(self._outputs_struct)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        created = {}  # layer name -> layer
        produced = {}  # layer name -> [outputs of its 1st, 2nd, ... node]
        pending = []
        for entry in config["layers"]:
            layer = deserialize_layer(entry, custom_objects)
            created[entry.get("name", layer.name)] = layer
            if isinstance(layer, InputLayer):
                produced[layer.name] = [[layer.output]]
            for node_data in entry.get("inbound_nodes", []):
                pending.append((layer, node_data))

        def resolve(value):
            kind = value.get("class_name") if isinstance(value, dict) else None
            if kind == "__keras_tensor__":
                name, node_index, tensor_index = value["config"]["keras_history"]
                return produced[name][node_index][tensor_index]
            if kind == "__numpy__":
                return np.array(value["config"]["value"], dtype=value["config"]["dtype"])
            if kind == "__slice__":
                parts = value["config"]
                return slice(resolve(parts["start"]), resolve(parts["stop"]),
                             resolve(parts["step"]))
            if kind == "__ellipsis__":
                return Ellipsis
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, tuple):
                return tuple(resolve(v) for v in value)
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            return value

        while pending:
            progress = False
            for item in list(pending):
                layer, node_data = item
                try:
                    args = resolve(list(node_data.get("args", [])))
                    kwargs = resolve(dict(node_data.get("kwargs", {})))
                except (KeyError, IndexError):
                    continue  # its inputs come from a node not rebuilt yet
                outputs = layer(*args, **kwargs)
                produced.setdefault(layer.name, []).append(flatten(outputs))
                pending.remove(item)
                progress = True
            if not progress:
                raise ValueError(f"Functional.from_config: cannot rebuild the nodes of "
                                 f"{[layer.name for layer, _ in pending]}: their inputs are "
                                 f"never produced")

        def io_tensors(keys):
            if isinstance(keys, dict):
                return {k: io_tensors(v) for k, v in keys.items()}
            if len(keys) == 3 and isinstance(keys[0], str):
                name, node_index, tensor_index = keys
                return produced[name][node_index][tensor_index]
            return [io_tensors(k) for k in keys]
        return cls(io_tensors(config["input_layers"]), io_tensors(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))
