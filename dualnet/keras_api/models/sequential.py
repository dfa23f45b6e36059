"""`keras.Sequential`: a stack of layers, each feeding the next. With `keras.Input` (or
`input_shape=` on the first layer) it builds at once; without, on the first call or `fit`,
from the data's shape."""
from ...core.tensor import Tensor
from ..layers.input_layer import InputLayer
from ..layers.keras_tensor import KerasTensor, unique_name
from ..layers.layer import Layer
from .model import Model
from .serialization import deserialize_layer, serialize_layer

__all__ = ["Sequential"]


class Sequential(Model):
    """Layers applied in order.

    >>> from dualnet import keras_api as keras
    >>> from dualnet.keras_api import layers
    >>> model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3), layers.Dense(1)])
    >>> model.output_shape, model.count_params()
    ((None, 1), 19)
    """

    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, trainable=trainable, name=name)
        self.__dict__["_stack"] = []  # the layers, with the InputLayer first once known
        self.__dict__["_symbolic_io"] = None
        for layer in layers or ():
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Append a layer (or a keras.Input) to the stack."""
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError(f"Only keras layers can be added to a Sequential model; got "
                             f"{layer!r} of type {type(layer).__name__}")
        stack = self._stack
        if isinstance(layer, InputLayer):
            if stack and isinstance(stack[0], InputLayer):
                raise ValueError(f"Sequential model '{self.name}' already has an input of shape "
                                 f"{stack[0].batch_shape}; it cannot take a second "
                                 f"InputLayer")
            if stack:
                raise ValueError(f"Sequential model '{self.name}': an InputLayer can only be the "
                                 f"first layer")
        elif not stack and layer._input_shape_arg is not None:
            stack.append(InputLayer(shape=layer._input_shape_arg))
        if any(other.name == layer.name for other in stack):
            raise ValueError(f"All layers added to a Sequential model should have unique names; "
                             f"'{layer.name}' is already the name of a layer in model "
                             f"'{self.name}'")
        stack.append(layer)
        if not isinstance(layer, InputLayer):
            self._modules[layer.name.replace(".", "_")] = layer
        self.built = False
        self.__dict__["_symbolic_io"] = None
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        if not self.layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers to pop")
        layer = self._stack.pop()
        self._modules.pop(layer.name.replace(".", "_"), None)
        self.built = False
        self.__dict__["_symbolic_io"] = None
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        stack = self._stack
        if stack and isinstance(stack[0], InputLayer) and len(stack) > 1:
            self.build(stack[0].batch_shape)

    def build(self, input_shape=None):
        """Build every layer for inputs of `input_shape` (a tuple with the batch dim)."""
        stack = self._stack
        if input_shape is None:
            if not (stack and isinstance(stack[0], InputLayer)):
                raise ValueError(f"Sequential model '{self.name}' has no input shape: pass "
                                 f"build(input_shape), start it with keras.Input, or call it "
                                 f"on data")
            input_shape = stack[0].batch_shape
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], list):
            input_shape = input_shape[0]
        input_shape = tuple(input_shape)
        if not (stack and isinstance(stack[0], InputLayer)):
            stack.insert(0, InputLayer(batch_shape=input_shape))
        inputs = stack[0].output
        outputs = inputs
        for layer in stack[1:]:
            outputs = layer(outputs)
        self.__dict__["_symbolic_io"] = (inputs, outputs)
        self._build_shapes = {"input_shape": input_shape}
        self.built = True

    def call(self, inputs, training=None, mask=None):
        # `training` reaches the layers through the call context set by Layer.__call__; a mask
        # rides on the input as `_keras_mask` and each layer passes it on (Keras's rule)
        if mask is not None and isinstance(inputs, Tensor):
            inputs._keras_mask = mask
        for layer in self._modules.values():
            inputs = layer(inputs)
        return inputs

    @property
    def layers(self):
        stack = self._stack
        return list(stack[1:] if stack and isinstance(stack[0], InputLayer) else stack)

    @property
    def inputs(self):
        return [self._io()[0]]

    @property
    def outputs(self):
        return [self._io()[1]]

    @property
    def input_shape(self):
        return self._io()[0].shape

    @property
    def output_shape(self):
        return self._io()[1].shape

    @property
    def output_names(self):
        return [self.layers[-1].name] if self.layers else []

    def _io(self):
        if self._symbolic_io is None:
            raise AttributeError(f"Sequential model '{self.name}' is not built yet: it has no "
                                 f"defined input or output")
        return self._symbolic_io

    def get_config(self):
        config = Layer.get_config(self)
        config["layers"] = [serialize_layer(layer) for layer in self._stack]
        if self._build_shapes is not None and not isinstance(
                self._stack[0] if self._stack else None, InputLayer):
            config["build_input_shape"] = self._build_shapes["input_shape"]
        elif self._stack and isinstance(self._stack[0], InputLayer):
            config["build_input_shape"] = self._stack[0].batch_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name") or unique_name("sequential"),
                    trainable=config.get("trainable", True))
        for entry in config.get("layers", []):
            model.add(deserialize_layer(entry, custom_objects), rebuild=False)
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape") is not None:
            model.build(config["build_input_shape"])
        return model
