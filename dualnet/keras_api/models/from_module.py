"""`keras.Model.from_module(module)`: any `nn.Module` behind Keras's training methods. The
wrapper's weights ARE the module's parameters and buffers (no copy), so `fit` trains the module
itself; inputs go to the module in its own layout (channels-first for torch-style convs)."""
from .model import Model

__all__ = ["ModuleModel"]


class ModuleModel(Model):
    """A Model whose call runs `module` (a list/tuple input becomes positional arguments, a dict
    keyword arguments); `training` switches the module between `train()` and `eval()`.

    >>> import numpy as np
    >>> from dualnet import nn, keras_api as keras
    >>> net = nn.Sequential(nn.Linear(3, 2))
    >>> model = keras.Model.from_module(net)
    >>> model.trainable_weights[0] is net[0].weight, tuple(model(np.ones((4, 3), "float32")).shape)
    (True, (4, 2))
    """

    def __init__(self, module, name=None):
        from ...nn import Module
        if not isinstance(module, Module):
            raise ValueError(f"Model.from_module expects an nn.Module, got "
                             f"{type(module).__name__}")
        floats = [p.dtype for p in module.parameters() if p.is_floating_point()]
        # float inputs are cast to the module's own float dtype, as a layer casts to its dtype
        super().__init__(name=name, dtype=floats[0] if floats else None)
        self.module = module
        self.built = True

    def call(self, inputs, training=None):
        module = self.module
        mode = bool(training)
        if module.training != mode:
            module.train(mode)
        if isinstance(inputs, (list, tuple)):
            return module(*inputs)
        if isinstance(inputs, dict):
            return module(**inputs)
        return module(inputs)

    def _build_from(self, args, kwargs, shape_of):
        self.built = True
