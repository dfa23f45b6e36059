"""dualnet.port: Keras models -> nn and back, nn models -> Keras and back, for every layer of the
porting set; outputs agree within 1e-5 on random inputs (eval mode), weights survive the round
trip, and a layer without a counterpart is an error that names it."""
import numpy as np
import pytest

import dualnet as dn

from dualnet import keras_api as keras
from dualnet import nn, port
from dualnet.keras_api import layers

from _port_cases import (KERAS_CASES, NN_CASES, TOL, channels_first, keras_input, keras_model,
                         keras_out, matches, nn_input, nn_model, nn_out,
                         nn_takes_channels_last_in_keras, randomize_keras, sample,
                         takes_channels_first)


@pytest.mark.parametrize("name", KERAS_CASES)
def test_keras_to_nn_computes_the_same(name):
    model, x = keras_model(name)
    net = port.to_nn(model)
    assert isinstance(net, nn.Sequential)
    fed = nn_input(x) if takes_channels_first(name) else x
    matches(keras_out(model, x), nn_out(net, fed))


@pytest.mark.parametrize("name", KERAS_CASES)
def test_keras_round_trip_keeps_outputs_and_weights(name):
    model, x = keras_model(name)
    net = port.to_nn(model)
    shape = tuple(x.shape[1:]) if not takes_channels_first(name) else tuple(
        nn_input(x).shape[1:])
    back = port.to_keras(net, shape)
    if name == "keras_channels_first":  # the Keras model comes back channels-last
        np.testing.assert_allclose(keras_out(back, np.moveaxis(x, 1, -1)), keras_out(model, x),
                                   **TOL)
        return
    np.testing.assert_allclose(keras_out(back, x), keras_out(model, x), **TOL)
    if name == "keras_permute":  # the Permute goes into the Dense's kernel on the way
        return
    # translation only: every weight comes back exactly (LSTM's second bias is 0 here)
    original = [w for w in model.get_weights()]
    returned = [w for w in back.get_weights()]
    assert len(original) == len(returned)
    for before, after in zip(original, returned):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("name", NN_CASES)
def test_nn_to_keras_and_back_computes_the_same(name):
    net, shape, x = nn_model(name)
    model = port.to_keras(net, shape)
    nn_y = nn_out(net, x)
    keras_x = keras_input(x) if nn_takes_channels_last_in_keras(name) else x
    matches(keras_out(model, keras_x), nn_y)
    again = port.to_nn(model)
    np.testing.assert_allclose(nn_out(again, x), nn_y, **TOL)


def test_keras_layouts_of_a_converted_nn_model():
    net, shape, _ = nn_model("conv_pool_linear")
    model = port.to_keras(net, shape)
    assert model.input_shape == (None, 9, 8, 3)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert model.layers[0].padding == "same" and model.layers[0].activation.__name__ == "relu"


def test_nn_padding_that_keras_has_not():
    net, shape, _ = nn_model("conv_padding_not_same")
    assert [type(layer).__name__ for layer in port.to_keras(net, shape).layers] == [
        "ZeroPadding2D", "Conv2D"]
    conv1d = nn.Sequential(nn.Conv1d(3, 4, 3, padding=2))
    with pytest.raises(ValueError, match=r"layer 0 \(Conv1d.*'valid', 'same' or 'causal'"):
        port.to_keras(conv1d, (3, 10))


def test_asymmetric_same_padding_goes_to_a_zero_pad():
    model, _ = keras_model("conv2d_same_strided")
    net = port.to_nn(model)
    assert isinstance(net[0], nn.ZeroPad2d) and net[0].padding == (0, 1, 1, 1)
    assert net[1].padding == (0, 0) and net[1].stride == (2, 2)
    model, _ = keras_model("conv2d_same_even_kernel")
    assert port.to_nn(model)[0].padding == "same"  # stride 1: torch's own 'same' agrees


def test_batchnorm_momentum_epsilon_and_train_mode():
    model = keras.Sequential([keras.Input(shape=(6, 5, 3)),
                              layers.BatchNormalization(momentum=0.9, epsilon=1e-2)])
    randomize_keras(model)
    net = port.to_nn(model)
    bn = net[0]
    assert isinstance(bn, nn.BatchNorm2d) and bn.momentum == pytest.approx(0.1)
    assert bn.eps == 1e-2
    x = sample((6, 5, 3))
    mean0, var0 = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    np.testing.assert_allclose(nn_out(net, channels_first(x), training=True),
                               channels_first(keras_out(model, x, training=True)), **TOL)
    layer = model.layers[0]
    np.testing.assert_allclose(bn.running_mean.numpy(), layer.moving_mean.numpy(), **TOL)
    # the moving variance follows each framework's own rule: torch's is unbiased
    count = x.size // 3
    batch_var = x.reshape(-1, 3).var(axis=0)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 * var0 + 0.1 * batch_var,
                               rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               0.9 * var0 + 0.1 * batch_var * count / (count - 1), rtol=1e-5)
    assert not np.allclose(mean0, bn.running_mean.numpy())


def test_recurrent_weight_layouts():
    model, _ = keras_model("gru")
    net = port.to_nn(model)
    gru, cell = net[0], model.layers[0].cell
    units = 4
    kernel, weight_ih = cell.kernel.detach().numpy(), gru.weight_ih_l0.detach().numpy()
    # Keras's gates z, r, h are torch's r, z, n
    np.testing.assert_array_equal(weight_ih[:units], kernel[:, units:2 * units].T)
    np.testing.assert_array_equal(weight_ih[units:2 * units], kernel[:, :units].T)
    np.testing.assert_array_equal(gru.bias_hh_l0.detach().numpy()[2 * units:],
                                  cell.bias.detach().numpy()[1, 2 * units:])
    net, shape, x = nn_model("embedding_lstm")
    lstm = net[1]
    keras_lstm = port.to_keras(net, shape).layers[1]
    np.testing.assert_allclose(keras_lstm.cell.bias.detach().numpy(),
                               lstm.bias_ih_l0.detach().numpy() + lstm.bias_hh_l0.detach().numpy())


def test_functional_chains_and_nested_models_convert():
    inner = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(4, activation="relu")])
    inputs = keras.Input(shape=(5,))
    outputs = layers.Dense(2)(inner(inputs))
    model = randomize_keras(keras.Model(inputs, outputs))
    randomize_keras(inner, seed=3)
    net = port.to_nn(model)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    x = sample((5,))
    np.testing.assert_allclose(nn_out(net, x), keras_out(model, x), **TOL)


def test_flatten_feeds_the_dense_through_its_kernel():
    model, _ = keras_model("flatten_dense")
    assert "Permute" not in [type(m).__name__ for m in port.to_nn(model)]
    model, _ = keras_model("flatten_last")
    assert [type(m).__name__ for m in port.to_nn(model)] == ["Conv2d", "Permute", "Flatten"]


# ----------------------------------------------------------------------------- errors

def test_a_keras_layer_without_counterpart_is_named():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2),
                              layers.RepeatVector(3)])
    with pytest.raises(ValueError, match="layer 'repeat_vector.*' \\(RepeatVector\\) has no nn "
                                         "counterpart"):
        port.to_nn(model)
    gru = keras.Sequential([keras.Input(shape=(3, 2)), layers.GRU(2, reset_after=False)])
    with pytest.raises(ValueError, match="reset_after=False"):
        port.to_nn(gru)
    lstm = keras.Sequential([keras.Input(shape=(3, 2)), layers.LSTM(2, go_backwards=True)])
    with pytest.raises(ValueError, match="go_backwards=True"):
        port.to_nn(lstm)
    act = keras.Sequential([keras.Input(shape=(3,)), layers.Activation(lambda t: t * 2)])
    with pytest.raises(ValueError, match="activation .* has no nn counterpart"):
        port.to_nn(act)
    with pytest.warns(UserWarning, match="rms_scaling"):
        rms = layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match=r"\(LayerNormalization\) has rms_scaling=True"):
        port.to_nn(keras.Sequential([keras.Input(shape=(3,)), rms]))


def test_batch_renormalization_ports_with_a_warning_and_matches_in_inference():
    bn = layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0, "dmax": 1.0})
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(4), bn])
    x = np.random.default_rng(0).standard_normal((16, 5)).astype(np.float32)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :4], epochs=2, batch_size=8, verbose=0)  # the moving statistics move
    with pytest.warns(UserWarning, match="renormalization.*inference"):
        net = port.to_nn(model)
    net.eval()
    np.testing.assert_allclose(net(dn.tensor(x)).detach().numpy(), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Softmax. no dim was given")  # the shape trace runs it
def test_an_nn_layer_without_counterpart_is_named():
    net = nn.Sequential(nn.Linear(4, 6), nn.GroupNorm(2, 6), nn.ReLU())
    with pytest.raises(ValueError, match=r"layer 1 \(GroupNorm\(2, 6.*has no Keras counterpart"):
        port.to_keras(net, (4,))
    with pytest.raises(ValueError, match="no port.RNNOutput after it"):
        port.to_keras(nn.Sequential(nn.LSTM(3, 4, batch_first=True)), (5, 3))
    with pytest.raises(ValueError, match="batch_first=False"):
        port.to_keras(nn.Sequential(nn.GRU(3, 4), port.RNNOutput()), (5, 3))
    net = nn.Sequential(nn.Embedding(10, 3, padding_idx=0, scale_grad_by_freq=True))
    with pytest.warns(UserWarning, match="padding_idx and scale_grad_by_freq.*same outputs"):
        model = port.to_keras(net, (5,))
    indices = np.array([[0, 3, 3, 9, 1]])
    np.testing.assert_allclose(model.predict(indices, verbose=0),
                               net(dn.tensor(indices)).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="proj_size=2"):
        port.to_keras(nn.Sequential(nn.LSTM(3, 4, batch_first=True, proj_size=2),
                                    port.RNNOutput()), (5, 3))
    with pytest.raises(ValueError, match="count_include_pad"):
        port.to_keras(nn.AvgPool2d(3, padding=1), (2, 6, 6))
    with pytest.raises(ValueError, match="implicit dim"):
        port.to_keras(nn.Sequential(nn.Softmax()), (4,))

    class Custom(nn.Module):
        def forward(self, x):
            return x * 2
    with pytest.raises(ValueError, match=r"layer 0 \(Custom\(\)\) has no Keras counterpart"):
        port.to_keras(Custom(), (4,))


def test_wrong_model_kinds_and_shapes():
    with pytest.raises(TypeError, match="expected a keras_api model"):
        port.to_nn(nn.Linear(2, 2))
    model, _ = keras_model("dense")
    with pytest.raises(TypeError, match="already a keras_api model"):
        port.to_keras(model, (6,))
    with pytest.raises(TypeError, match="wraps an nn module already"):
        port.to_nn(keras.Model.from_module(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="is not built"):
        port.to_nn(keras.Sequential([layers.Dense(2)]))
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    two = keras.Model([a, b], layers.Add()([a, b]))
    with pytest.raises(ValueError, match="2 inputs and 1 outputs"):
        port.to_nn(two)
    with pytest.raises(RuntimeError):
        port.to_keras(nn.Linear(4, 2), (5,))  # the nn model itself rejects the shape
