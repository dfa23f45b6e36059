"""The model tables of the dualnet.port tests: Keras models and nn models covering every layer
of the porting set, random weights, sample inputs, and the layout rules of the comparison."""
import functools

import numpy as np

import dualnet as dn
from dualnet import keras_api as keras
from dualnet import nn, port
from dualnet.keras_api import layers

TOL = {"rtol": 1e-5, "atol": 1e-5}


# ----------------------------------------------------------------------------- helpers

def keras_out(model, x, training=False):
    return model(dn.from_numpy(x), training=training).detach().numpy()


def nn_out(net, x, training=False):
    net.train(training)
    with dn.no_grad():
        return net(dn.from_numpy(x)).detach().numpy()


def channels_first(x):
    return np.moveaxis(x, -1, 1) if x.ndim > 2 else x


def randomize_keras(model, seed=0):
    """Random weights everywhere (variances positive), so that no weight is a silent default."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        names = [w.name if hasattr(w, "name") else "" for w in layer.weights]
        fresh = []
        for name, w in zip(names, weights):
            if "variance" in str(name):
                fresh.append(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))
            else:
                fresh.append((rng.standard_normal(w.shape) * 0.5).astype(w.dtype))
        layer.set_weights(fresh)
    return model


def randomize_nn(net, seed=0):
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in net.state_dict().items():
        array = value.numpy()
        if not np.issubdtype(array.dtype, np.floating):
            state[key] = array
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 1.5, array.shape).astype(array.dtype)
        else:
            state[key] = (rng.standard_normal(array.shape) * 0.5).astype(array.dtype)
    net.load_state_dict(state)
    return net


def sample(shape, seed=1, high=None):
    rng = np.random.default_rng(seed)
    if high is not None:
        return rng.integers(0, high, (3, *shape)).astype(np.int64)
    return rng.standard_normal((3, *shape)).astype(np.float32)


# ----------------------------------------------------------------------------- Keras models
# name -> (layers after the Input, Keras input shape, vocabulary for integer inputs or None,
#          whether the nn model takes / returns the images channels-first)

def keras_cases():
    act = keras.activations
    return {
        "dense": ([layers.Dense(5, activation="relu"), layers.Dense(3, activation="softmax")],
                  (6,), None),
        "dense_no_bias": ([layers.Dense(4, use_bias=False), layers.Activation("tanh")], (6,),
                          None),
        "dense_on_sequence": ([layers.Dense(4)], (5, 6), None),
        "conv2d_valid": ([layers.Conv2D(4, 3)], (9, 8, 3), None),
        "conv2d_same_even_kernel": ([layers.Conv2D(4, 2, padding="same")], (9, 8, 3), None),
        "conv2d_same_strided": ([layers.Conv2D(4, 3, strides=2, padding="same",
                                               activation="relu")], (9, 8, 3), None),
        "conv2d_same_symmetric": ([layers.Conv2D(4, 3, strides=2, padding="same")], (9, 9, 3),
                                  None),
        "conv2d_dilated_groups": ([layers.Conv2D(4, 3, dilation_rate=2, padding="same",
                                                 groups=2, use_bias=False)], (9, 8, 4), None),
        "conv1d": ([layers.Conv1D(4, 3, strides=2, padding="same"),
                    layers.Conv1D(6, 2, padding="causal", dilation_rate=2)], (10, 3), None),
        "maxpool2d": ([layers.MaxPooling2D(2), layers.MaxPooling2D(3, strides=2,
                                                                    padding="same")],
                      (13, 11, 2), None),
        "avgpool2d_same": ([layers.AveragePooling2D(2, padding="same"),
                            layers.AveragePooling2D(3, strides=1, padding="same")], (7, 6, 2),
                           None),
        "pool1d": ([layers.MaxPooling1D(2, padding="same"),
                    layers.AveragePooling1D(3, strides=2, padding="same"),
                    layers.AveragePooling1D(2)], (11, 3), None),
        "global_pool2d": ([layers.Conv2D(4, 3), layers.GlobalAveragePooling2D()], (7, 6, 2),
                          None),
        "global_pool_keepdims": ([layers.GlobalMaxPooling2D(keepdims=True)], (5, 4, 3), None),
        "global_pool1d": ([layers.GlobalMaxPooling1D()], (6, 3), None),
        "batchnorm_dense": ([layers.Dense(5), layers.BatchNormalization(momentum=0.9,
                                                                        epsilon=1e-4)],
                            (4,), None),
        "batchnorm_conv": ([layers.Conv2D(4, 3), layers.BatchNormalization()], (7, 6, 2),
                           None),
        "batchnorm_sequence": ([layers.BatchNormalization()], (5, 3), None),
        "layernorm": ([layers.Dense(5), layers.LayerNormalization()], (4,), None),
        "layernorm_sequence": ([layers.LayerNormalization(epsilon=1e-5)], (5, 3), None),
        "layernorm_channels": ([layers.Conv2D(4, 3), layers.LayerNormalization()], (7, 6, 2),
                               None),
        "layernorm_image": ([layers.Conv2D(4, 3), layers.LayerNormalization(axis=[1, 2, 3])],
                            (7, 6, 2), None),
        "dropout": ([layers.Dense(5), layers.Dropout(0.5), layers.Dense(2)], (4,), None),
        "flatten_dense": ([layers.Conv2D(4, 3), layers.Flatten(), layers.Dropout(0.3),
                           layers.Activation("relu"), layers.Dense(3)], (6, 5, 2), None),
        "flatten_last": ([layers.Conv2D(4, 3), layers.Flatten()], (6, 5, 2), None),
        "embedding": ([layers.Embedding(20, 6), layers.GlobalAveragePooling1D(),
                       layers.Dense(2)], (7,), 20),
        "embedding_conv1d": ([layers.Embedding(20, 6), layers.Conv1D(4, 3, padding="same"),
                              layers.GlobalMaxPooling1D()], (7,), 20),
        "lstm": ([layers.LSTM(4, return_sequences=True), layers.LSTM(3)], (5, 3), None),
        "simple_rnn": ([layers.SimpleRNN(4, return_sequences=True),
                        layers.SimpleRNN(3, activation="relu")], (5, 3), None),
        "gru": ([layers.GRU(4, return_sequences=True), layers.GRU(3, use_bias=False)], (5, 3),
                None),
        "activations": ([layers.Dense(4, activation=name) for name in (
            "sigmoid", "elu", "selu", "celu", "gelu", "silu", "softplus", "softsign",
            "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "mish", "log_sigmoid",
            "tanh_shrink", "hard_tanh", "swish", "linear", "log_softmax")], (4,), None),
        "activation_keywords": ([
            layers.Dense(4, activation=functools.partial(act.leaky_relu, negative_slope=0.1)),
            layers.Activation(functools.partial(act.elu, alpha=0.5)),
            layers.Activation(functools.partial(act.gelu, approximate=True))], (4,), None),
        "softmax_over_channels": ([layers.Conv2D(4, 3), layers.Activation("softmax")],
                                  (6, 5, 2), None),
        "keras_channels_first": ([layers.Conv2D(4, 3, data_format="channels_first"),
                                  layers.MaxPooling2D(2, data_format="channels_first"),
                                  layers.Flatten(data_format="channels_first"),
                                  layers.Dense(3)], (3, 9, 8), None),
        "keras_permute": ([layers.Conv2D(4, 3), layers.Permute((3, 1, 2)), layers.Flatten(),
                           layers.Dense(2)], (6, 5, 2), None),
    }


KERAS_CASES = sorted(keras_cases())


def keras_model(name):
    stack, shape, vocabulary = keras_cases()[name]
    dtype = "int64" if vocabulary else "float32"
    model = keras.Sequential([keras.Input(shape=shape, dtype=dtype), *stack])
    return randomize_keras(model), sample(shape, high=vocabulary)


def nn_input(x):
    return x if x.dtype == np.int64 else channels_first(x)


def matches(keras_y, nn_y):
    """nn's output in its own layout: channels-first where Keras's is channels-last."""
    if keras_y.shape != nn_y.shape:
        nn_y = np.moveaxis(nn_y, 1, -1)
    np.testing.assert_allclose(nn_y, keras_y, **TOL)


def takes_channels_first(name):
    stack = keras_cases()[name][0]
    first = stack[0]
    if getattr(first, "data_format", "channels_last") == "channels_first":
        return False
    return isinstance(first, (layers.Conv1D, layers.Conv2D, layers.MaxPooling1D,
                              layers.MaxPooling2D, layers.AveragePooling1D,
                              layers.AveragePooling2D, layers.GlobalMaxPooling1D,
                              layers.GlobalMaxPooling2D, layers.BatchNormalization))


# ----------------------------------------------------------------------------- nn models
# name -> (nn layers, nn input shape (channels-first), vocabulary or None)

def nn_cases():
    return {
        "linear": ([nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3), nn.Softmax(dim=1)], (6,),
                   None),
        "linear_no_bias_on_sequence": ([nn.Linear(6, 4, bias=False), nn.Tanh()], (5, 6), None),
        "conv_pool_linear": ([nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 3)], (3, 9, 8), None),
        "conv_same_strided": ([nn.Conv2d(3, 4, 3, stride=2, padding=1)], (3, 9, 9), None),
        "conv_padding_not_same": ([nn.Conv2d(3, 5, 3, stride=2, padding=1)], (3, 8, 8),
                                  None),
        "conv_padding_string": ([nn.Conv2d(3, 4, 4, padding="same", dilation=2, groups=1,
                                           bias=False)], (3, 9, 8), None),
        "zeropad_conv": ([nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 5, 3, stride=2)],
                         (3, 8, 8), None),
        "zeropad_alone": ([nn.ZeroPad2d((1, 2, 0, 1))], (3, 5, 4), None),
        "conv1d": ([nn.Conv1d(3, 4, 3, padding=1), nn.ZeroPad1d((2, 0)),
                    nn.Conv1d(4, 2, 3, groups=2)], (3, 10), None),
        "pools": ([nn.MaxPool2d(3, 2, padding=1), nn.MaxPool2d(2, ceil_mode=True),
                   nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                   nn.AvgPool2d(2)], (2, 9, 9), None),
        "pools1d": ([nn.MaxPool1d(2, ceil_mode=True), nn.AvgPool1d(2, stride=1)], (3, 9),
                    None),
        "adaptive": ([nn.Conv2d(2, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(4, 2)], (2, 7, 6), None),
        "adaptive_keepdims": ([nn.AdaptiveMaxPool1d(1)], (3, 6), None),
        "batchnorm": ([nn.Linear(4, 5), nn.BatchNorm1d(5, momentum=0.2, eps=1e-4)], (4,),
                      None),
        "batchnorm2d": ([nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4)], (2, 7, 6), None),
        "batchnorm1d_sequence": ([nn.Conv1d(3, 4, 2), nn.BatchNorm1d(4)], (3, 6), None),
        "layernorm": ([nn.Linear(4, 5), nn.LayerNorm(5)], (4,), None),
        "layernorm_sequence": ([nn.LayerNorm(3, eps=1e-3, bias=False)], (5, 3), None),
        "layernorm_image": ([nn.Conv2d(2, 4, 3), nn.LayerNorm([4, 5, 4])], (2, 7, 6), None),
        "layernorm_width": ([nn.Conv2d(2, 4, 3), nn.LayerNorm(4)], (2, 7, 6), None),
        "dropout": ([nn.Linear(4, 5), nn.Dropout(0.5), nn.Linear(5, 2)], (4,), None),
        "flatten_order": ([nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Dropout(0.2), nn.ReLU(),
                           nn.BatchNorm1d(80), nn.Linear(80, 3)], (2, 7, 6), None),
        "flatten_last": ([nn.Conv2d(2, 4, 3), nn.Flatten()], (2, 7, 6), None),
        "embedding_lstm": ([nn.Embedding(20, 6), nn.LSTM(6, 5, num_layers=2, batch_first=True),
                            port.RNNOutput(), nn.Linear(5, 2)], (7,), 20),
        "rnn_relu": ([nn.RNN(3, 4, nonlinearity="relu", batch_first=True, num_layers=2,
                             dropout=0.3), port.RNNOutput()], (5, 3), None),
        "gru_sequences": ([nn.GRU(3, 4, batch_first=True), port.RNNOutput(
            return_sequences=True)], (5, 3), None),
        "embedding_permute_conv1d": ([nn.Embedding(20, 6), port.Permute((0, 2, 1)),
                                      nn.Conv1d(6, 4, 3)], (7,), 20),
        "activations": ([nn.Linear(4, 4), nn.Sigmoid(), nn.ELU(0.5), nn.SELU(), nn.CELU(),
                         nn.GELU(approximate="tanh"), nn.GELU(), nn.SiLU(), nn.Softplus(),
                         nn.Softsign(), nn.LeakyReLU(0.1), nn.ReLU6(), nn.Hardsigmoid(),
                         nn.Hardswish(), nn.Mish(), nn.LogSigmoid(), nn.Tanhshrink(),
                         nn.Hardtanh(), nn.LogSoftmax(dim=-1)], (4,), None),
        "softmax_over_channels": ([nn.Conv2d(2, 4, 3), nn.Softmax(dim=1)], (2, 6, 5), None),
        "nested": ([nn.Sequential(nn.Linear(4, 3), nn.ReLU()), nn.Identity(),
                    nn.Linear(3, 2)], (4,), None),
    }


NN_CASES = sorted(nn_cases())


def nn_model(name):
    modules, shape, vocabulary = nn_cases()[name]
    net = randomize_nn(nn.Sequential(*modules))
    return net, shape, sample(shape, high=vocabulary)


def keras_input(x):
    return x if x.dtype == np.int64 or x.ndim == 2 else np.moveaxis(x, 1, -1)




def nn_takes_channels_last_in_keras(name):
    """Whether the nn model's input is an image whose Keras twin takes it channels-last."""
    modules, shape, vocabulary = nn_cases()[name]
    return len(shape) > 1 and vocabulary is None and not isinstance(
        modules[0], (nn.Linear, nn.LayerNorm, nn.RNN, nn.GRU))
