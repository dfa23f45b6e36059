"""`dualnet.keras_api`: the Keras-style door (`from dualnet import keras_api as keras`).

Keras 3's names, layouts and defaults over dualnet's core ops; every layer and model is also an
`nn.Module`, so the same model trains with `fit` or in a hand-written `dualnet.optim` loop.
"""
from . import activations, initializers, regularizers
from . import layers
from . import callbacks, losses, metrics, optimizers, saving
from . import datasets, utils
from . import models
from . import ops
from . import quantizers
from ._devices import device
from .layers import Input, InputSpec, Layer
from .models import Model, Sequential

__all__ = ["Input", "InputSpec", "Layer", "Model", "Sequential", "activations", "callbacks",
           "datasets", "device", "ops", "saving",
           "initializers", "layers", "losses", "metrics", "models", "optimizers",
           "quantizers", "regularizers", "utils"]
