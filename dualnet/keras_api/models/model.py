"""`keras.Model`: subclass it (`__init__` + `call(inputs, training=None)`) or call it as
`keras.Model(inputs, outputs)` to get a functional model. A Model is a Layer (so an nn.Module)
with Keras's training methods (`Trainer`: compile / fit / evaluate / predict) and `summary`.
"""
from ...core.autograd import no_grad
from ...core.creation import zeros
from ...core.tensor import Tensor
from .. import _devices
from ..layers.keras_tensor import KerasTensor, map_structure
from ..layers.layer import Layer
from ..trainer import Trainer

__all__ = ["Model"]


def _functional_arguments(args, kwargs):
    return bool(args) or "inputs" in kwargs or "outputs" in kwargs


def map_structure_shapes(shapes):
    """Zero tensors for a shape or a list/dict of shapes (None dims become 1)."""
    if isinstance(shapes, dict):
        return {key: map_structure_shapes(value) for key, value in shapes.items()}
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple)):
        return [map_structure_shapes(value) for value in shapes]
    return zeros(*(1 if d is None else int(d) for d in shapes), device=_devices.weight_device())


class Model(Trainer, Layer):
    """A model: layers plus compile / fit / evaluate / predict.

    >>> import numpy as np
    >>> from dualnet import keras_api as keras
    >>> from dualnet.keras_api import layers
    >>> class TwoLayer(keras.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = layers.Dense(4, activation="relu")
    ...         self.out = layers.Dense(1)
    ...     def call(self, inputs, training=None):
    ...         return self.out(self.hidden(inputs))
    >>> model = TwoLayer()
    >>> tuple(model(np.zeros((2, 3), "float32")).shape), model.count_params()
    ((2, 1), 21)
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_arguments(args, kwargs):
            from .functional import Functional
            return Layer.__new__(Functional)
        return Layer.__new__(cls)

    def __init__(self, *args, **kwargs):
        if _functional_arguments(args, kwargs):
            raise ValueError(f"{type(self).__name__}: a subclassed Model takes no inputs/outputs; "
                             f"build the graph with keras.Model(inputs, outputs) instead, or "
                             f"define the computation in call()")
        Layer.__init__(self, **kwargs)

    # ------------------------------------------------------------------ layers

    @property
    def layers(self):
        """The model's layers: attribute order for a subclassed model."""
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        """A layer by its name or by its position in `layers` (exactly one of the two)."""
        if (name is None) == (index is None):
            raise ValueError(f"get_layer: pass exactly one of name= or index=, got name={name!r} "
                             f"and index={index!r}")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: asked for the layer at index {index}, but model "
                                 f"'{self.name}' has only {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: model '{self.name}' has no layer named '{name}'; its layers "
                         f"are {[layer.name for layer in layers]}")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print Keras's table of layers, output shapes and parameter counts."""
        from .summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    def build(self, input_shape=None):
        """Create a subclassed model's weights by running `call` once on zeros of
        `input_shape` (None dims taken as 1), without recording gradients."""
        if input_shape is not None:
            self._build_shapes = {"input_shape": input_shape}
            inputs = map_structure_shapes(input_shape)
            with no_grad():
                self.call(inputs)
        self.built = True

    def _build_from(self, args, kwargs, shape_of):
        if type(self).build is Model.build:
            # the call about to run creates the weights; no extra forward on zeros
            self._build_shapes = {"input_shape": map_structure(
                lambda v: shape_of(v) if isinstance(v, (Tensor, KerasTensor)) else v, args[0])}
            self.built = True
            return
        Layer._build_from(self, args, kwargs, shape_of)

    # ------------------------------------------------------------------ interop

    @staticmethod
    def from_module(module, name=None):
        """Wrap any `nn.Module` as a Model (same parameters, no copy) so compile / fit /
        evaluate / predict train and run it; inputs are fed in the module's own layout."""
        from .from_module import ModuleModel
        return ModuleModel(module, name=name)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            from .functional import Functional
            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def get_quantization_layer_structure(self, mode=None):
        """For GPTQ / AWQ calibration: {"pre_block_layers": [...], "sequential_blocks": [...]}
        (the layers run before the first block, then the blocks in order), or None (the
        default) when the model does not say; a model class overrides it, as in Keras."""
        return None

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantize every layer that supports it, as Keras's Model.quantize: Dense and Embedding
        to "int8" / "int4", Dense to "float8", and Dense by "gptq" / "awq" (a GPTQConfig /
        AWQConfig with calibration data; see `get_quantization_layer_structure`); other layers
        are skipped with a warning. `filters`: a regex (or list of them) on layer names, or a
        callable taking the layer."""
        from ..layers.quantization import quantize_model
        quantize_model(self, mode, config=config, filters=filters, **kwargs)

    # ------------------------------------------------------------------ saving (dualnet.keras_api.saving)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights (and optimizer state) to a Keras 3 `.weights.h5` file."""
        from ..saving import save_weights
        return save_weights(self, filepath, overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Load a `.weights.h5` file written by dualnet or by Keras 3."""
        from ..saving import load_weights
        return load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite=True):
        """Write the whole model (config, weights, compile settings) to a Keras 3 `.keras` zip."""
        from ..saving import save_model
        return save_model(self, filepath, overwrite)
