"""`dualnet.port`: one model moved between the two frontends with its weights, computing the
same function: `to_nn(keras_model)`, `to_keras(nn_model, input_shape)`, and `to_source(model,
style)`, the Python that builds the converted model (the side-by-side exercise, generated).

Layouts follow each frontend: a converted nn model takes images channels-first (N, C, H, W)
where the Keras model took them channels-last (N, H, W, C), and returns conv features in its
own layout too; (batch, features) and (batch, time, features) tensors are the same in both.
Weights move by translation only (transposes, the flat order behind a Flatten, gate orders);
docs/porting.md has the conventions table.
"""
from .. import keras_api, nn
from ..keras_api.models.model import Model as _KerasModel
from .keras_to_nn import KerasToNN
from .modules import Permute, RNNOutput
from .nn_to_keras import NNToKeras
from ._common import source_imports

__all__ = ["to_nn", "to_keras", "to_source", "Permute", "RNNOutput"]


def _build_nn(specs):
    modules = []
    for spec in specs:
        module = spec.build()
        if spec.weights:
            module.load_state_dict(spec.weights)
        modules.append(module)
    return nn.Sequential(*modules)


def _build_keras(specs):
    inputs = specs[0].build()
    built = [spec.build() for spec in specs[1:]]
    model = keras_api.Sequential([inputs, *built])
    for spec, layer in zip(specs[1:], built):
        if spec.weights is not None:
            layer.set_weights(spec.weights)
    return model


def to_nn(model):
    """The `nn.Sequential` computing what the Keras model (a Sequential or a functional chain of
    single-input layers) computes, with its weights.

    Keras's asymmetric 'same' padding becomes an nn.ZeroPad2d before the conv (or padding=
    'same' at stride 1), BatchNormalization's momentum becomes 1 - momentum, epsilons carry
    over, and a channels-last Flatten's feature order goes into the next Dense's kernel.

    >>> import numpy as np
    >>> from dualnet import keras_api as keras, port
    >>> from dualnet.keras_api import layers
    >>> model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="relu")])
    >>> net = port.to_nn(model)
    >>> net
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
    )
    >>> x = np.random.rand(2, 4).astype("float32")
    >>> np.allclose(net(dn.from_numpy(x)).detach().numpy(), model.predict(x, verbose=0))
    True
    """
    if not isinstance(model, _KerasModel):
        raise TypeError(f"port.to_nn: expected a keras_api model (Sequential or functional "
                        f"Model), got {type(model).__name__}")
    return _build_nn(KerasToNN(model).run())


def to_keras(module, input_shape):
    """The `keras.Sequential` computing what the nn model (an nn.Sequential chain, or a single
    layer) computes, with its weights; `input_shape` is one sample's shape as the nn model takes
    it (no batch dim; e.g. (1, 28, 28) for channels-first images, which the Keras model then
    takes as (28, 28, 1)).

    A layer without a Keras counterpart is a ValueError naming it; an nn.LSTM / nn.GRU
    (batch_first) must be followed by `port.RNNOutput` to say which output the chain uses.

    >>> from dualnet import nn, port
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
    ...                     nn.Linear(4 * 5 * 5, 2))
    >>> [type(layer).__name__ for layer in port.to_keras(net, (1, 5, 5)).layers]
    ['Conv2D', 'Flatten', 'Dense']
    """
    if isinstance(module, _KerasModel):
        raise TypeError(f"port.to_keras: {module.name!r} is already a keras_api model; "
                        f"port.to_nn converts it to nn")
    return _build_keras(NNToKeras(module, input_shape).run())


def to_source(model, style="nn", input_shape=None):
    """Python source that builds `model` in `style` ("nn" or "keras") as `model = ...`; the
    weights of `to_nn(model)` / `to_keras(model, input_shape)` load into it
    (`load_state_dict` / `set_weights`). An nn model needs `input_shape` (as in to_keras); a
    model printed in its own style is printed as its round trip through the other.

    >>> from dualnet import keras_api as keras, port
    >>> from dualnet.keras_api import layers
    >>> model = keras.Sequential([keras.Input(shape=(8, 8, 3)),
    ...                           layers.Conv2D(4, 3, strides=2, padding="same")])
    >>> print(port.to_source(model, "nn"))
    from dualnet import nn
    <BLANKLINE>
    model = nn.Sequential(
        nn.ZeroPad2d((0, 1, 0, 1)),
        nn.Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2)),
    )
    <BLANKLINE>
    """
    if style not in ("nn", "keras"):
        raise ValueError(f"port.to_source: style must be 'nn' or 'keras', got {style!r}")
    if isinstance(model, _KerasModel):
        converter = KerasToNN(model)
        specs = converter.run()
        if style == "keras":
            specs = NNToKeras(_build_nn(specs), converter.nn_input_shape).run()
    elif isinstance(model, nn.Module):
        if input_shape is None:
            raise ValueError("port.to_source: an nn model needs input_shape (one sample's shape "
                             "as the model takes it, no batch dim)")
        specs = NNToKeras(model, input_shape).run()
        if style == "nn":
            specs = KerasToNN(_build_keras(specs)).run()
    else:
        raise TypeError(f"port.to_source: expected a keras_api model or an nn.Module, got "
                        f"{type(model).__name__}")
    lines = source_imports(specs) + [""]
    if style == "nn":
        lines += ["model = nn.Sequential("] + [f"    {s.source()}," for s in specs] + [")"]
    else:
        lines += ["model = keras.Sequential(["] + [f"    {s.source()}," for s in specs] + ["])"]
    return "\n".join(lines) + "\n"
