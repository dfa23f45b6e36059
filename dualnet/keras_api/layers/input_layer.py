"""`keras.Input` and `InputLayer`: the entry of a functional model or a Sequential, holding the
input's batch shape (None for the batch) and dtype as a symbolic `KerasTensor`.
"""
from .keras_tensor import KerasTensor, Node
from .layer import Layer

__all__ = ["Input", "InputLayer", "KerasTensor"]


class InputLayer(Layer):
    """The layer behind `keras.Input`: no weights; its `output` is the model's input tensor.

    >>> from dualnet.keras_api import layers
    >>> layers.InputLayer(shape=(28, 28)).batch_shape
    (None, 28, 28)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None,
                 batch_shape=None, input_tensor=None, optional=False, name=None, **kwargs):
        kwargs.pop("trainable", None)  # Keras stores none for an input; accept it from configs
        super().__init__(name=name, dtype=dtype, **kwargs)
        if ragged:
            raise ValueError("InputLayer: ragged inputs are not supported")
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(f"InputLayer: input_tensor must be a KerasTensor (from "
                                 f"keras.Input), got {type(input_tensor).__name__}")
            batch_shape = input_tensor.shape
        if batch_shape is not None:
            if shape is not None or batch_size is not None:
                raise ValueError("InputLayer: pass either batch_shape, or shape (and "
                                 "batch_size), not both")
            batch_shape = tuple(batch_shape)
        else:
            if shape is None:
                raise ValueError("InputLayer: the input's shape is needed: pass shape= (without "
                                 "the batch dim) or batch_shape=")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = bool(sparse)
        self.optional = bool(optional)
        if input_tensor is None:
            input_tensor = KerasTensor(self.batch_shape, self.dtype, self.sparse, name=name)
        Node(self, (), {}, input_tensor)
        self._input_tensor = input_tensor
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": self.sparse,
                "ragged": False, "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
          name=None, tensor=None, optional=False):
    """A symbolic input: `keras.Input(shape=(784,))` has shape (None, 784).

    >>> from dualnet import keras_api as keras
    >>> keras.Input(shape=(3,), batch_size=8).shape
    (8, 3)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       ragged=ragged, batch_shape=batch_shape, name=name, input_tensor=tensor,
                       optional=optional)
    return layer.output
