"""`keras.ops`-style operations that arithmetic on `KerasTensor`s records in a functional graph.

As in Keras 3, `x + y`, `x * 2`, `-x`, `x @ w`, `x[:, 0]`, comparisons and logical operators on
symbolic tensors each add an operation node (`Add`, `Multiply`, `Negative`, `Matmul`,
`GetItem`, ...) to the graph, so `keras.Model(inputs, outputs)` built from such expressions
runs, summarises (the operations are rows of `summary()`, not entries of `model.layers`),
saves and loads with Keras's config entries (module "keras.src.ops.numpy", config {"name"}).
On real tensors the same functions compute at once (`ops.add(a, b)` is `a + b`).

>>> import numpy as np
>>> from dualnet import keras_api as keras
>>> inputs = keras.Input(shape=(3,))
>>> outputs = -(inputs * 2.0 + 1.0)[:, 0]
>>> model = keras.Model(inputs, outputs)
>>> [type(op).__name__ for op in model.operations]
['InputLayer', 'Multiply', 'Add', 'GetItem', 'Negative']
>>> model(np.array([[1.0, 2.0, 3.0]])).tolist()
[-3.0]
"""
# The arithmetic is the Tensor operators' (core ops); this file only records and replays calls.
import numpy as np

from ..core.creation import from_numpy
from ..core.tensor import Tensor
from .layers.keras_tensor import KerasTensor, has_symbolic
from .layers.layer import Layer

__all__ = ["Operation", "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "FloorDivide",
           "Mod", "Power", "Matmul", "Negative", "Absolute", "Less", "LessEqual", "Greater",
           "GreaterEqual", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalXor", "LogicalNot",
           "GetItem", "Reshape", "Squeeze", "ExpandDims", "reshape", "squeeze", "expand_dims",
           "add", "subtract", "multiply", "divide", "true_divide", "floor_divide",
           "mod", "power", "matmul", "negative", "absolute", "less", "less_equal", "greater",
           "greater_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
           "logical_not", "get_item"]


class Operation(Layer):
    """A weightless operation node of a functional graph (Keras's `keras.src.ops` classes).

    Calling it on KerasTensors records a node; on tensors it computes. Its config is its name
    only, as Keras's; it is not one of `model.layers` but is one of `model.operations`."""

    _keras_module = "keras.src.ops.numpy"

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.built = True

    def __call__(self, *args, **kwargs):
        kwargs.pop("training", None)  # a graph run passes it to every node; no op takes it
        if has_symbolic(args, kwargs):
            return self._symbolic_call(args, kwargs)
        return self.call(*args, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        # shapes are found by running on zeros: a division by zero there means nothing
        with np.errstate(all="ignore"):
            return self._infer_by_running(args, kwargs)

    def get_config(self):
        return {"name": self.name}


def _tensor(value, like=None):
    """NumPy constants become tensors (on the other operand's device); scalars stay scalars."""
    if isinstance(value, np.ndarray):
        out = from_numpy(np.ascontiguousarray(value))
        return out.to(like.device) if isinstance(like, Tensor) else out
    if isinstance(value, np.generic):
        return value.item()
    return value


def _pair(x1, x2):
    return _tensor(x1, x2), _tensor(x2, x1)


def _boolean(value):
    if isinstance(value, Tensor):
        return value if value.dtype.name == "bool" else value != 0
    return bool(value)


class _Binary(Operation):
    def call(self, x1, x2):
        a, b = _pair(x1, x2)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{type(self).__name__}: at least one operand must be a tensor, got "
                            f"{type(x1).__name__} and {type(x2).__name__}")
        return self._compute(a, b)


class Add(_Binary):
    def _compute(self, a, b):
        return a + b


class Subtract(_Binary):
    def _compute(self, a, b):
        return a - b


class Multiply(_Binary):
    def _compute(self, a, b):
        return a * b


class TrueDivide(_Binary):
    def _compute(self, a, b):
        return a / b


class Divide(TrueDivide):
    pass


class FloorDivide(_Binary):
    def _compute(self, a, b):
        return a // b


class Mod(_Binary):
    def _compute(self, a, b):
        return a % b


class Power(_Binary):
    def _compute(self, a, b):
        return a ** b


class Matmul(_Binary):
    def _compute(self, a, b):
        return a @ b


class Less(_Binary):
    def _compute(self, a, b):
        return a < b


class LessEqual(_Binary):
    def _compute(self, a, b):
        return a <= b


class Greater(_Binary):
    def _compute(self, a, b):
        return a > b


class GreaterEqual(_Binary):
    def _compute(self, a, b):
        return a >= b


class NotEqual(_Binary):
    def _compute(self, a, b):
        return a != b


class LogicalAnd(_Binary):
    def _compute(self, a, b):
        return _boolean(a) & _boolean(b)


class LogicalOr(_Binary):
    def _compute(self, a, b):
        return _boolean(a) | _boolean(b)


class LogicalXor(_Binary):
    def _compute(self, a, b):
        return _boolean(a) ^ _boolean(b)


class Negative(Operation):
    def call(self, x):
        return -x


class Absolute(Operation):
    def call(self, x):
        return abs(x)


class LogicalNot(Operation):
    def call(self, x):
        return ~_boolean(x)


class Reshape(Operation):
    """x.reshape(newshape), newshape including the batch dim (-1 for one inferred dim)."""

    def __init__(self, newshape, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.newshape = tuple(int(d) for d in newshape)

    def call(self, x):
        return x.reshape(*self.newshape)

    def compute_output_spec(self, x):
        known = [d for d in x.shape if d is not None]
        shape = list(self.newshape)
        if -1 in shape:
            rest = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = (None if len(known) < len(x.shape) or rest == 0
                                      else int(np.prod(known)) // rest)
        return KerasTensor(tuple(shape), x.dtype)

    def get_config(self):
        return {"name": self.name, "newshape": self.newshape}


class Squeeze(Operation):
    """x.squeeze(axis): the given size-1 axis, or every size-1 axis (axis=None)."""

    def __init__(self, axis=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.axis = axis if axis is None or isinstance(axis, int) else tuple(axis)

    def call(self, x):
        if self.axis is None:
            return x.squeeze()
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        for axis in sorted((a % x.ndim for a in axes), reverse=True):
            x = x.squeeze(axis)
        return x

    def compute_output_spec(self, x):
        rank = len(x.shape)
        axes = ({i for i, d in enumerate(x.shape) if d == 1} if self.axis is None else
                {a % rank for a in ((self.axis,) if isinstance(self.axis, int) else self.axis)})
        return KerasTensor(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class ExpandDims(Operation):
    """x with a new size-1 axis at `axis`."""

    def __init__(self, axis, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.axis = int(axis)

    def call(self, x):
        return x.unsqueeze(self.axis)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class GetItem(Operation):
    """x[key]: a key read back from a config as a list of slices / ints is an index tuple."""

    def call(self, x, key):
        if isinstance(key, list) and any(k is None or k is Ellipsis or isinstance(k, slice)
                                         for k in key):
            key = tuple(key)
        return x[key]


def _function(cls):
    def apply(*args):
        return cls()(*args)
    apply.__name__ = apply.__qualname__ = _snake(cls.__name__)
    apply.__doc__ = f"`{cls.__name__}` of the arguments: a graph node on KerasTensors, the value " \
                    f"on tensors."
    return apply


def _snake(name):
    from .layers.layer import _snake_case
    return _snake_case(name)


add = _function(Add)
subtract = _function(Subtract)
multiply = _function(Multiply)
divide = _function(Divide)
true_divide = _function(TrueDivide)
floor_divide = _function(FloorDivide)
mod = _function(Mod)
power = _function(Power)
matmul = _function(Matmul)
negative = _function(Negative)
absolute = _function(Absolute)
less = _function(Less)
less_equal = _function(LessEqual)
greater = _function(Greater)
greater_equal = _function(GreaterEqual)
not_equal = _function(NotEqual)
logical_and = _function(LogicalAnd)
logical_or = _function(LogicalOr)
logical_xor = _function(LogicalXor)
logical_not = _function(LogicalNot)
get_item = _function(GetItem)


def reshape(x, newshape):
    """`Reshape`: a graph node on a KerasTensor, the value on a tensor."""
    return Reshape(newshape)(x)


def squeeze(x, axis=None):
    """`Squeeze`: a graph node on a KerasTensor, the value on a tensor."""
    return Squeeze(axis)(x)


def expand_dims(x, axis):
    """`ExpandDims`: a graph node on a KerasTensor, the value on a tensor."""
    return ExpandDims(axis)(x)

OPERATIONS = {cls.__name__: cls for cls in (
    Add, Subtract, Multiply, Divide, TrueDivide, FloorDivide, Mod, Power, Matmul, Negative,
    Absolute, Less, LessEqual, Greater, GreaterEqual, NotEqual, LogicalAnd, LogicalOr,
    LogicalXor, LogicalNot, GetItem, Reshape, Squeeze, ExpandDims)}
