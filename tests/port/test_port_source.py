"""dualnet.port.to_source: the printed Python runs, builds the converted model (the converted
weights load into it) and computes what the original computes; where real PyTorch / Keras are
installed, the same source with their imports builds their model, which computes it too."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dualnet import port  # noqa: E402

from _port_cases import (KERAS_CASES, NN_CASES, TOL, keras_input, keras_model,  # noqa: E402
                         keras_out, matches, nn_input, nn_model, nn_out,
                         nn_takes_channels_last_in_keras, takes_channels_first)

DUALNET_KERAS_IMPORTS = ("from dualnet import keras_api as keras\n"
                         "from dualnet.keras_api import layers\n")


def run_source(source):
    namespace = {}
    exec(compile(source, "<port.to_source>", "exec"), namespace)
    return namespace["model"]


def nn_shape(name, x):
    """One sample's shape as the Keras case's nn twin takes it."""
    return tuple((nn_input(x) if takes_channels_first(name) else x).shape[1:])


@pytest.mark.parametrize("name", KERAS_CASES)
def test_keras_model_printed_as_nn(name):
    model, x = keras_model(name)
    source = port.to_source(model, "nn")
    assert "model = nn.Sequential(" in source
    built = run_source(source)
    built.load_state_dict(port.to_nn(model).state_dict())
    fed = nn_input(x) if takes_channels_first(name) else x
    matches(keras_out(model, x), nn_out(built, fed))


@pytest.mark.parametrize("name", NN_CASES)
def test_nn_model_printed_as_keras(name):
    net, shape, x = nn_model(name)
    source = port.to_source(net, "keras", input_shape=shape)
    assert "model = keras.Sequential([" in source
    built = run_source(source)
    built.set_weights(port.to_keras(net, shape).get_weights())
    keras_x = keras_input(x) if nn_takes_channels_last_in_keras(name) else x
    matches(keras_out(built, keras_x), nn_out(net, x))


@pytest.mark.parametrize("name", ["dense", "conv2d_same_strided", "lstm", "flatten_dense"])
def test_a_model_printed_in_its_own_style_is_its_round_trip(name):
    model, x = keras_model(name)
    built = run_source(port.to_source(model, "keras"))
    round_trip = port.to_keras(port.to_nn(model), nn_shape(name, x))
    built.set_weights(round_trip.get_weights())
    np.testing.assert_allclose(keras_out(built, x), keras_out(model, x), **TOL)


@pytest.mark.parametrize("name", ["conv_pool_linear", "embedding_lstm"])
def test_an_nn_model_printed_as_nn_is_its_round_trip(name):
    net, shape, x = nn_model(name)
    built = run_source(port.to_source(net, "nn", input_shape=shape))
    built.load_state_dict(port.to_nn(port.to_keras(net, shape)).state_dict())
    np.testing.assert_allclose(nn_out(built, x), nn_out(net, x), **TOL)


def test_source_arguments():
    model, _ = keras_model("dense")
    with pytest.raises(ValueError, match="style must be 'nn' or 'keras'"):
        port.to_source(model, "torch")
    net, shape, _ = nn_model("linear")
    with pytest.raises(ValueError, match="needs input_shape"):
        port.to_source(net, "keras")
    with pytest.raises(TypeError, match="expected a keras_api model or an nn.Module"):
        port.to_source("model", "nn")


def test_keyword_activations_print_as_partials():
    model, _ = keras_model("activation_keywords")
    source = port.to_source(port.to_nn(model), "keras", input_shape=(4,))
    assert source.startswith("import functools\n")
    assert "functools.partial(keras.activations.leaky_relu, negative_slope=0.1)" in source


# ----------------------------------------------------------------------------- real frameworks

def torch_port_modules(torch):
    """port.Permute and port.RNNOutput written for torch (two lines of forward each), so the
    printed source runs in torch as it is."""
    class Permute(torch.nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.dims = dims

        def forward(self, input):
            return input.permute(*self.dims)

    class RNNOutput(torch.nn.Module):
        def __init__(self, return_sequences=False):
            super().__init__()
            self.return_sequences = return_sequences

        def forward(self, input):
            return input[0] if self.return_sequences else input[0][:, -1]
    return type("port", (), {"Permute": Permute, "RNNOutput": RNNOutput})


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own note
@pytest.mark.parametrize("name", KERAS_CASES)
def test_printed_nn_source_runs_in_real_pytorch(name):
    torch = pytest.importorskip("torch")
    model, x = keras_model(name)
    source = port.to_source(model, "nn").replace("from dualnet import nn", "from torch import nn")
    namespace = {"port": torch_port_modules(torch)}
    exec(compile(source.replace("from dualnet import port\n", ""), "<source>", "exec"),
         namespace)
    built = namespace["model"]
    state = {k: torch.from_numpy(np.array(v.numpy()))
             for k, v in port.to_nn(model).state_dict().items()}
    built.load_state_dict(state)
    built.eval()
    fed = nn_input(x) if takes_channels_first(name) else x
    with torch.no_grad():
        out = built(torch.from_numpy(fed)).numpy()
    matches(keras_out(model, x), out)


@pytest.mark.parity
@pytest.mark.parametrize("name", NN_CASES)
def test_printed_keras_source_runs_in_real_keras(name):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on the {keras.backend.backend()} backend, not torch")
    net, shape, x = nn_model(name)
    source = port.to_source(net, "keras", input_shape=shape)
    assert DUALNET_KERAS_IMPORTS in source
    built = run_source(source.replace(DUALNET_KERAS_IMPORTS,
                                      "import keras\nfrom keras import layers\n"))
    built.set_weights(port.to_keras(net, shape).get_weights())
    keras_x = keras_input(x) if nn_takes_channels_last_in_keras(name) else x
    out = keras.ops.convert_to_numpy(built(keras_x, training=False))
    matches(out, nn_out(net, x))
