"""Symbolic tensors and graph nodes of the functional API: `keras.Input` returns a `KerasTensor`
(a shape with None for the batch, a dtype, a name); calling a layer on KerasTensors records a
`Node` and returns new KerasTensors, from which `keras.Model(inputs, outputs)` reads the graph.
"""
import numpy as np

from ...core.tensor import Tensor

__all__ = ["KerasTensor", "Node", "is_keras_tensor"]

_UIDS = {}


def unique_name(prefix):
    """`prefix`, then `prefix_1`, `prefix_2`, ... per process (Keras's automatic names)."""
    count = _UIDS.get(prefix, 0)
    _UIDS[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names():
    """Restart every automatic name from its bare prefix (what `clear_session` does)."""
    _UIDS.clear()


class KerasTensor:
    """A symbolic tensor: its shape (None for unknown dims, the batch first), dtype and name.

    >>> from dualnet import keras_api as keras
    >>> x = keras.Input(shape=(4,))
    >>> x.shape, x.dtype
    ((None, 4), 'float32')
    """

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = _dtype_name(dtype)
        self.sparse = bool(sparse)
        self.name = name or unique_name("keras_tensor")
        self._keras_history = None  # (layer, node_index, tensor_index) once a Node made it

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse={self.sparse}, "
                f"ragged=False, name={self.name}>")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"KerasTensor '{self.name}' is symbolic (shape {self.shape}): it has no "
                        f"values; call the model on real arrays or tensors instead")

    def __bool__(self):
        raise TypeError(f"KerasTensor '{self.name}' is symbolic and has no truth value; it is "
                        f"only a placeholder for building a functional model")

    def reshape(self, newshape):
        """A `Reshape` operation node (newshape includes the batch dim)."""
        from ..ops import Reshape
        return Reshape(newshape)(self)

    def squeeze(self, axis=None):
        """A `Squeeze` operation node."""
        from ..ops import Squeeze
        return Squeeze(axis)(self)

    def __iter__(self):
        raise NotImplementedError(f"KerasTensor '{self.name}' cannot be iterated over: it is "
                                  f"symbolic (shape {self.shape}); index it instead")

    # Arithmetic records an operation node (Keras's keras.ops classes), as in Keras 3. There is
    # no __eq__: a KerasTensor keeps identity equality and its hash.
    def __add__(self, other):
        return _op("Add", self, other)

    def __radd__(self, other):
        return _op("Add", other, self)

    def __sub__(self, other):
        return _op("Subtract", self, other)

    def __rsub__(self, other):
        return _op("Subtract", other, self)

    def __mul__(self, other):
        return _op("Multiply", self, other)

    def __rmul__(self, other):
        return _op("Multiply", other, self)

    def __matmul__(self, other):
        return _op("Matmul", self, other)

    def __rmatmul__(self, other):
        return _op("Matmul", other, self)

    def __truediv__(self, other):
        return _op("TrueDivide", self, other)

    def __rtruediv__(self, other):
        return _op("TrueDivide", other, self)

    def __floordiv__(self, other):
        return _op("FloorDivide", self, other)

    def __rfloordiv__(self, other):
        return _op("FloorDivide", other, self)

    def __mod__(self, other):
        return _op("Mod", self, other)

    def __rmod__(self, other):
        return _op("Mod", other, self)

    def __pow__(self, other):
        return _op("Power", self, other)

    def __rpow__(self, other):
        return _op("Power", other, self)

    def __neg__(self):
        return _op("Negative", self)

    def __abs__(self):
        return _op("Absolute", self)

    def __lt__(self, other):
        return _op("Less", self, other)

    def __le__(self, other):
        return _op("LessEqual", self, other)

    def __gt__(self, other):
        return _op("Greater", self, other)

    def __ge__(self, other):
        return _op("GreaterEqual", self, other)

    def __ne__(self, other):
        return _op("NotEqual", self, other)

    def __and__(self, other):
        return _op("LogicalAnd", self, other)

    def __rand__(self, other):
        return _op("LogicalAnd", other, self)

    def __or__(self, other):
        return _op("LogicalOr", self, other)

    def __ror__(self, other):
        return _op("LogicalOr", other, self)

    def __xor__(self, other):
        return _op("LogicalXor", self, other)

    def __rxor__(self, other):
        return _op("LogicalXor", other, self)

    def __invert__(self):
        return _op("LogicalNot", self)

    def __getitem__(self, key):
        return _op("GetItem", self, key)

    __hash__ = object.__hash__


def _op(name, *args):
    from ..ops import OPERATIONS  # the ops module builds on the layers, which import this one
    return OPERATIONS[name]()(*args)


def is_keras_tensor(value):
    return isinstance(value, KerasTensor)


def _dtype_name(dtype):
    if dtype is None:
        return "float32"
    if isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None)  # a dualnet dtype or a NumPy dtype
    if isinstance(name, str):
        return name
    return np.dtype(dtype).name


# ---------------------------------------------------------------------------- nested structures


def flatten(structure):
    """The leaves of nested lists / tuples / dicts (dict values in key insertion order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    return [structure]


def map_structure(fn, structure):
    """`structure` with `fn` applied to every leaf (lists, tuples and dicts keep their kind)."""
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, item) for key, item in structure.items()}
    return fn(structure)


def pack_like(structure, leaves):
    """Rebuild `structure`'s nesting around the flat `leaves` (inverse of `flatten`)."""
    leaves = iter(leaves)
    return map_structure(lambda _: next(leaves), structure)


def has_symbolic(args, kwargs):
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(list(args))) or any(
        isinstance(leaf, KerasTensor) for leaf in flatten(kwargs))


class Node:
    """One call of a layer in the functional graph: the call's arguments (with KerasTensors in
    place of tensors) and the KerasTensors it produced."""

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=()):
        self.operation = operation
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        flat_outputs = flatten(outputs)
        # positions of the symbolic outputs among the call's flat outputs (a layer may also
        # return None or constants beside its tensors)
        self.output_positions = [i for i, t in enumerate(flat_outputs)
                                 if isinstance(t, KerasTensor)]
        self.outputs = [flat_outputs[i] for i in self.output_positions]
        self.input_tensors = [t for t in flatten([list(self.call_args), self.call_kwargs])
                              if isinstance(t, KerasTensor)]
        self.is_input = not self.input_tensors
        index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for position, tensor in enumerate(self.outputs):
            tensor._keras_history = (operation, index, position)
        # the common case, one KerasTensor as the only argument, runs without tree walks
        self.single_input = (len(self.call_args) == 1 and not self.call_kwargs
                             and isinstance(self.call_args[0], KerasTensor))

    @property
    def parent_nodes(self):
        parents = []
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                layer, node_index, _ = tensor._keras_history
                parents.append(layer._inbound_nodes[node_index])
        return parents

    def run(self, values, training):
        """Call the layer on real tensors: `values` maps id(KerasTensor) to its tensor."""
        if self.single_input:
            args, kwargs = (values[id(self.call_args[0])],), {}
        else:
            def lookup(leaf):
                return values[id(leaf)] if isinstance(leaf, KerasTensor) else leaf
            args = map_structure(lookup, self.call_args)
            kwargs = map_structure(lookup, self.call_kwargs)
        if training is not None and kwargs.get("training") is None:
            kwargs["training"] = training
        outputs = self.operation(*args, **kwargs)
        flat = [outputs] if isinstance(outputs, Tensor) else flatten(outputs)
        for tensor, position in zip(self.outputs, self.output_positions):
            values[id(tensor)] = flat[position]
