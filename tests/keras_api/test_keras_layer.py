"""The keras_api Layer contract: weights as Parameters/buffers under Keras names, build on first
call, input_spec errors, training propagation, losses, freezing, symbolic calls and naming."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import dualnet as dn  # noqa: E402
from dualnet import keras_api as keras  # noqa: E402
from dualnet.keras_api import layers  # noqa: E402
from dualnet.keras_api.layers.layer import _snake_case  # noqa: E402


class Affine(layers.Layer):
    """A small custom layer: a kernel, a bias and a non-trainable counter."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="count")
        self.input_spec = layers.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def call(self, inputs, training=None):
        self.seen_training = training
        return dn.matmul(inputs, self.kernel) + self.bias

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_weights_are_parameters_and_buffers_under_keras_names():
    layer = Affine(3)
    out = layer(np.ones((4, 5)))
    assert tuple(out.shape) == (4, 3) and out.dtype == dn.float32  # float64 NumPy cast
    assert [n for n, _ in layer.named_parameters()] == ["kernel", "bias"]
    assert list(layer.state_dict()) == ["kernel", "bias", "count"]
    assert [n for n, _ in layer.named_buffers()] == ["count"]
    assert [tuple(w.shape) for w in layer.weights] == [(5, 3), (3,), ()]
    assert layer.trainable_weights == list(layer.parameters())
    assert layer.non_trainable_weights[0] is layer.count
    assert layer.count_params() == 19
    assert layer.built


def test_attribute_name_wins_over_weight_name():
    class Renamed(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), name="kernel")

        def call(self, inputs):
            return dn.matmul(inputs, self.w)

    layer = Renamed()
    layer(np.ones((1, 3), "float32"))
    assert list(layer.state_dict()) == ["w"]
    assert len(layer.weights) == 1


def test_get_set_weights_round_trip_and_mismatch():
    layer = Affine(2)
    layer.build((None, 3))
    arrays = [np.arange(6, dtype="float32").reshape(3, 2), np.array([1, 2], "float32"),
              np.array(5, "float32")]
    layer.set_weights(arrays)
    for got, want in zip(layer.get_weights(), arrays):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=layer.name + ".*\\(3, 2\\).*\\(2, 3\\)"):
        layer.set_weights([np.zeros((2, 3))] + arrays[1:])
    with pytest.raises(ValueError, match="expects 3 weights"):
        layer.set_weights(arrays[:2])


def test_count_params_before_build_is_an_error():
    with pytest.raises(ValueError, match="not built"):
        Affine(2).count_params()


def test_wrong_last_dim_names_layer_and_shapes():
    layer = Affine(2, name="affine_probe")
    layer(np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="affine_probe.*axis -1.*value 4.*\\(2, 7\\)"):
        layer(np.ones((2, 7), "float32"))


def test_unknown_keyword_is_keras_valueerror():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Affine"):
        Affine(2, bogus=1)


def test_auto_names_are_unique_snake_case():
    a, b = Affine(1), Affine(1)
    assert a.name.startswith("affine") and b.name != a.name
    assert _snake_case("BatchNormalization") == "batch_normalization"
    assert _snake_case("Conv2D") == "conv2d"
    assert _snake_case("GRU") == "gru"


def test_snake_case_matches_keras():
    pytest.importorskip("keras")
    from keras.src.utils.naming import to_snake_case
    for name in ["Dense", "Conv2D", "BatchNormalization", "LSTM", "GlobalAveragePooling2D",
                 "MultiHeadAttention", "InputLayer", "Conv2DTranspose"]:
        assert _snake_case(name) == to_snake_case(name), name


def test_freezing_moves_weights_out_of_parameters_and_back():
    layer = Affine(2)
    layer.build((None, 3))
    kernel = layer.kernel
    layer.trainable = False
    assert list(layer.parameters()) == [] and layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 3 and not kernel.requires_grad
    assert sorted(layer.state_dict()) == ["bias", "count", "kernel"]  # frozen: buffers now
    layer.trainable = True
    assert list(layer.parameters())[0] is kernel and kernel.requires_grad


def test_training_flag_reaches_inner_layers():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = Affine(2)

        def call(self, inputs):
            return self.inner(inputs)

    outer = Outer()
    outer(np.ones((1, 3), "float32"), training=True)
    assert outer.inner.seen_training is True
    outer(np.ones((1, 3), "float32"))
    assert outer.inner.seen_training is None
    assert [n for n, _ in outer.named_parameters()] == ["inner.kernel", "inner.bias"]


def test_add_loss_is_reset_each_outer_call_and_regularizers_count():
    class Penalized(layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 1), initializer="ones",
                                          regularizer=keras.regularizers.L2(0.5),
                                          name="kernel")

        def call(self, inputs):
            self.add_loss(dn.sum(inputs))
            return dn.matmul(inputs, self.kernel)

    layer = Penalized()
    layer(np.ones((2, 3), "float32"))
    layer(np.ones((2, 3), "float32"))
    values = sorted(float(loss.item()) for loss in layer.losses)
    assert values == [1.5, 6.0]  # 0.5 * sum(ones(3)^2), and this call's sum only


def test_symbolic_call_infers_shapes_by_running_call():
    layer = Affine(3)
    inputs = keras.Input(shape=(None, 5))
    out = layer(inputs)
    assert out.shape == (None, None, 3) and out.dtype == "float32"
    assert out._keras_history[0] is layer
    assert layer.output is out and layer.input is inputs


def test_forward_hooks_of_the_nn_door_run():
    layer = Affine(2)
    seen = []
    layer.register_forward_hook(lambda module, args, output: seen.append(tuple(output.shape)))
    layer(np.ones((3, 4), "float32"))
    assert seen == [(3, 2)]


def test_config_round_trip():
    layer = Affine(4, name="aff", trainable=False)
    config = layer.get_config()
    assert config["dtype"]["config"]["name"] == "float32"
    clone = Affine.from_config(config)
    assert (clone.name, clone.units, clone.trainable) == ("aff", 4, False)


def test_keras_tensor_has_no_values():
    x = keras.Input(shape=(2,))
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)
