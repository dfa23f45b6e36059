"""dualnet.onnx.export: each layer of both frontends, exported with random weights, run in
onnxruntime at two batch sizes (the batch dim is symbolic) and compared with dualnet's own
eval-mode output; the MNIST convnet written both ways; errors for layers without a
translation; the file written whole or not at all."""
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
if getattr(onnx, "__file__", None) is None:
    # without the package, `import onnx` can find this test folder as a namespace package
    pytest.skip("the onnx package is not installed", allow_module_level=True)

import dualnet as dn  # noqa: E402
import dualnet.onnx  # noqa: E402
from dualnet import keras_api as keras  # noqa: E402
from dualnet import nn  # noqa: E402
from dualnet.keras_api import layers  # noqa: E402

RTOL = ATOL = 1e-5
EXAMPLE_BATCH, OTHER_BATCH = 2, 5


def _randomize(model, seed=0):
    """Random parameters and statistics (variances positive), so no weight is a trivial 0/1."""
    rng = np.random.default_rng(seed)
    with dn.no_grad():
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            if tensor is None or not tensor.is_floating_point():
                continue
            shape = tuple(tensor.shape)
            if "var" in name:
                values = rng.uniform(0.5, 1.5, shape)
            else:
                values = rng.normal(0.0, 0.5, shape)
            tensor.copy_(dn.tensor(values.astype(tensor.dtype.np)))
    return model


def _inputs(specs, batch, seed):
    """specs: (shape with None for the batch, kind) per input; kind 'float' or 'int:<high>'."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, kind in specs:
        shape = tuple(batch if d is None else d for d in shape)
        if kind.startswith("int:"):
            arrays.append(rng.integers(0, int(kind[4:]), shape).astype(np.int64))
        else:
            arrays.append(rng.standard_normal(shape).astype(np.float32) * float(kind[6:] or 1)
                          if kind.startswith("float*") else
                          rng.standard_normal(shape).astype(np.float32))
    return arrays


def _flat(outputs):
    if isinstance(outputs, dn.Tensor):
        return [outputs.numpy()]
    return [a for item in outputs for a in _flat(item)]


def _reference(model, arrays):
    tensors = [dn.tensor(a) for a in arrays]
    with dn.no_grad():
        if isinstance(model, keras.Layer):
            out = model(tensors[0] if len(tensors) == 1 else tensors, training=False)
        else:
            model.eval()
            out = model(*tensors)
    return _flat(out)


def check_export(model, specs, tmp_path, batch_dim=0, **export_args):
    """Export with a batch of EXAMPLE_BATCH; compare onnxruntime with dualnet at that batch
    and at OTHER_BATCH. specs: a list of (shape, kind), None marking the batch dim."""
    path = tmp_path / "model.onnx"
    example = _inputs(specs, EXAMPLE_BATCH, seed=1)
    proto = dualnet.onnx.export(model, [dn.tensor(a) for a in example], path,
                                batch_dim=batch_dim, **export_args)
    assert os.path.exists(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for batch, seed in ((EXAMPLE_BATCH, 1), (OTHER_BATCH, 2)):
        arrays = _inputs(specs, batch, seed)
        got = session.run(None, dict(zip(names, arrays)))
        expected = _reference(model, arrays)
        assert len(got) == len(expected)
        for ours, theirs in zip(got, expected):
            assert ours.shape == theirs.shape
            np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    return proto


# ---------------------------------------------------------------------------- nn layers

def _bn_trained(module, shape):
    """A BatchNorm with running statistics from a few training batches."""
    module.train()
    for seed in range(3):
        module(dn.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
                         * 2 + 1))
    return module.eval()


NN_CASES = {
    "linear": (lambda: nn.Linear(5, 3), [((None, 5), "float")]),
    "linear_3d_no_bias": (lambda: nn.Linear(5, 3, bias=False), [((None, 4, 5), "float")]),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), [((None, 3, 10), "float")]),
    "conv1d_same_dilated": (lambda: nn.Conv1d(3, 4, 4, padding="same", dilation=2),
                            [((None, 3, 10), "float")]),
    "conv2d": (lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)),
               [((None, 3, 7, 6), "float")]),
    "conv2d_groups_no_bias": (lambda: nn.Conv2d(4, 6, 3, groups=2, bias=False),
                              [((None, 4, 6, 6), "float")]),
    "conv2d_reflect": (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
                       [((None, 2, 5, 5), "float")]),
    "conv2d_replicate": (lambda: nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="replicate"),
                         [((None, 2, 5, 5), "float")]),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1),
                         [((None, 3, 4, 4), "float")]),
    "conv_transpose1d_groups": (lambda: nn.ConvTranspose1d(4, 2, 3, stride=2, groups=2),
                                [((None, 4, 5), "float")]),
    "maxpool1d": (lambda: nn.MaxPool1d(3, stride=2, padding=1), [((None, 2, 9), "float")]),
    "maxpool2d": (lambda: nn.MaxPool2d(2), [((None, 2, 6, 6), "float")]),
    "maxpool2d_ceil": (lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True),
                       [((None, 2, 8, 8), "float")]),
    "avgpool2d_ceil": (lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
                       [((None, 2, 8, 8), "float")]),
    "avgpool1d": (lambda: nn.AvgPool1d(3, stride=2, padding=1), [((None, 2, 9), "float")]),
    "avgpool2d_no_pad_count": (lambda: nn.AvgPool2d(3, stride=2, padding=1,
                                                    count_include_pad=False),
                               [((None, 2, 7, 7), "float")]),
    "adaptive_avg_global": (lambda: nn.AdaptiveAvgPool2d(1), [((None, 3, 5, 4), "float")]),
    "adaptive_avg_even": (lambda: nn.AdaptiveAvgPool2d((2, 3)), [((None, 3, 4, 6), "float")]),
    "adaptive_max_1d": (lambda: nn.AdaptiveMaxPool1d(1), [((None, 3, 5), "float")]),
    "batchnorm1d_2d_input": (lambda: _bn_trained(nn.BatchNorm1d(4), (8, 4)),
                             [((None, 4), "float")]),
    "batchnorm1d_3d_input": (lambda: _bn_trained(nn.BatchNorm1d(4), (8, 4, 5)),
                             [((None, 4, 5), "float")]),
    "batchnorm2d": (lambda: _bn_trained(nn.BatchNorm2d(3), (4, 3, 5, 5)),
                    [((None, 3, 5, 5), "float")]),
    "layernorm": (lambda: nn.LayerNorm(6), [((None, 4, 6), "float")]),
    "layernorm_two_dims_no_affine": (lambda: nn.LayerNorm((4, 6), elementwise_affine=False),
                                     [((None, 4, 6), "float")]),
    "dropout": (lambda: nn.Dropout(0.5), [((None, 4), "float")]),
    "identity": (lambda: nn.Identity(), [((None, 4), "float")]),
    "dropout2d": (lambda: nn.Dropout2d(0.5), [((None, 2, 3, 3), "float")]),
    "flatten": (lambda: nn.Flatten(), [((None, 2, 3, 4), "float")]),
    "flatten_from_dim_2": (lambda: nn.Flatten(2), [((None, 2, 3, 4), "float")]),
    "unflatten": (lambda: nn.Unflatten(1, (2, 6)), [((None, 12), "float")]),
    "embedding": (lambda: nn.Embedding(10, 4, padding_idx=0), [((None, 7), "int:10")]),
    "lstm": (lambda: nn.LSTM(4, 5, batch_first=True), [((None, 6, 4), "float")]),
    "lstm_2_layers_bidirectional": (
        lambda: nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True),
        [((None, 6, 4), "float")]),
    "gru": (lambda: nn.GRU(4, 5, batch_first=True), [((None, 6, 4), "float")]),
    "gru_2_layers_bidirectional_no_bias": (
        lambda: nn.GRU(4, 3, num_layers=2, bias=False, batch_first=True, bidirectional=True),
        [((None, 5, 4), "float")]),
    "rnn_relu": (lambda: nn.RNN(4, 5, nonlinearity="relu", batch_first=True),
                 [((None, 6, 4), "float")]),
    "sequential_mlp": (lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(0.3),
                                             nn.Linear(8, 3), nn.LogSoftmax(dim=1)),
                       [((None, 6), "float")]),
    "nested_sequential": (lambda: nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.ReLU()),
                                                nn.Linear(4, 2)),
                          [((None, 4), "float")]),
}

NN_ACTIVATIONS = {
    "ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh,
    "Softmax": lambda: nn.Softmax(dim=-1), "LogSoftmax": lambda: nn.LogSoftmax(dim=1),
    "Softmin": lambda: nn.Softmin(dim=1), "GELU": nn.GELU,
    "GELU_tanh": lambda: nn.GELU(approximate="tanh"), "ELU": lambda: nn.ELU(0.7),
    "LeakyReLU": lambda: nn.LeakyReLU(0.1), "SELU": nn.SELU, "CELU": lambda: nn.CELU(0.5),
    "Softplus": nn.Softplus, "Softplus_beta_threshold": lambda: nn.Softplus(2.0, 3.0),
    "SiLU": nn.SiLU, "Mish": nn.Mish, "Hardswish": nn.Hardswish, "Hardsigmoid": nn.Hardsigmoid,
    "ReLU6": nn.ReLU6, "Hardtanh": lambda: nn.Hardtanh(-0.5, 0.5), "LogSigmoid": nn.LogSigmoid,
    "Softsign": nn.Softsign, "Tanhshrink": nn.Tanhshrink,
}


@pytest.mark.parametrize("case", sorted(NN_CASES))
def test_nn_layer_matches_onnxruntime(case, tmp_path):
    make, specs = NN_CASES[case]
    dn.manual_seed(0)
    module = make()
    if "batchnorm" not in case:
        _randomize(module)
    check_export(module, specs, tmp_path)


@pytest.mark.parametrize("name", sorted(NN_ACTIVATIONS))
def test_nn_activation_matches_onnxruntime(name, tmp_path):
    # inputs scaled by 4 so Softplus's threshold and the clipping activations' bounds are hit
    check_export(NN_ACTIVATIONS[name](), [((None, 3, 7), "float*4")], tmp_path)


def test_nn_lstm_time_first_with_batch_dim_1(tmp_path):
    dn.manual_seed(0)
    lstm = _randomize(nn.LSTM(4, 5))
    proto = check_export(lstm, [((6, None, 4), "float")], tmp_path, batch_dim=1)
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [6, "batch", 4]


# ---------------------------------------------------------------------------- keras layers

def _keras_sequential(*stack, shape, dtype="float32"):
    return keras.Sequential([keras.Input(shape=shape, dtype=dtype), *stack])


def _keras_bn(axis, shape):
    model = _keras_sequential(layers.BatchNormalization(axis=axis), shape=shape)
    _randomize(model)
    return model


KERAS_CASES = {
    "dense": (lambda: _keras_sequential(layers.Dense(3), shape=(5,)), [((None, 5), "float")]),
    "dense_3d_no_bias": (lambda: _keras_sequential(layers.Dense(3, use_bias=False),
                                                   shape=(4, 5)),
                         [((None, 4, 5), "float")]),
    "conv1d_same_strided": (lambda: _keras_sequential(
        layers.Conv1D(4, 3, strides=2, padding="same"), shape=(10, 3)),
        [((None, 10, 3), "float")]),
    "conv1d_causal_dilated": (lambda: _keras_sequential(
        layers.Conv1D(4, 3, padding="causal", dilation_rate=2), shape=(10, 3)),
        [((None, 10, 3), "float")]),
    "conv2d_same_asymmetric": (lambda: _keras_sequential(
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"), shape=(8, 8, 3)),
        [((None, 8, 8, 3), "float")]),
    "conv2d_same_even_kernel": (lambda: _keras_sequential(
        layers.Conv2D(4, (2, 4), padding="same"), shape=(5, 6, 3)),
        [((None, 5, 6, 3), "float")]),
    "conv2d_valid_groups": (lambda: _keras_sequential(
        layers.Conv2D(4, 3, groups=2), shape=(6, 6, 4)), [((None, 6, 6, 4), "float")]),
    "conv2d_channels_first": (lambda: _keras_sequential(
        layers.Conv2D(4, 3, padding="same", data_format="channels_first"), shape=(3, 6, 5)),
        [((None, 3, 6, 5), "float")]),
    "maxpool1d_same": (lambda: _keras_sequential(
        layers.MaxPooling1D(3, strides=2, padding="same"), shape=(9, 2)),
        [((None, 9, 2), "float")]),
    "maxpool2d": (lambda: _keras_sequential(layers.MaxPooling2D(), shape=(6, 6, 2)),
                  [((None, 6, 6, 2), "float")]),
    "maxpool2d_same": (lambda: _keras_sequential(layers.MaxPooling2D(3, 2, padding="same"),
                                                 shape=(7, 6, 2)),
                       [((None, 7, 6, 2), "float")]),
    "avgpool1d": (lambda: _keras_sequential(layers.AveragePooling1D(2), shape=(9, 2)),
                  [((None, 9, 2), "float")]),
    "avgpool2d_same": (lambda: _keras_sequential(
        layers.AveragePooling2D(3, strides=2, padding="same"), shape=(7, 6, 2)),
        [((None, 7, 6, 2), "float")]),
    "global_avg_1d": (lambda: _keras_sequential(layers.GlobalAveragePooling1D(), shape=(5, 3)),
                      [((None, 5, 3), "float")]),
    "global_avg_2d": (lambda: _keras_sequential(layers.GlobalAveragePooling2D(),
                                                shape=(4, 5, 3)),
                      [((None, 4, 5, 3), "float")]),
    "global_max_2d_keepdims": (lambda: _keras_sequential(
        layers.GlobalMaxPooling2D(keepdims=True), shape=(4, 5, 3)),
        [((None, 4, 5, 3), "float")]),
    "batchnorm_last_axis": (lambda: _keras_bn(-1, (4, 5, 3)), [((None, 4, 5, 3), "float")]),
    "batchnorm_axis_1": (lambda: _keras_bn(1, (3, 4, 5)), [((None, 3, 4, 5), "float")]),
    "batchnorm_2d_input": (lambda: _keras_bn(-1, (6,)), [((None, 6), "float")]),
    "layernorm": (lambda: _keras_sequential(layers.LayerNormalization(), shape=(4, 6)),
                  [((None, 4, 6), "float")]),
    "layernorm_two_axes": (lambda: _keras_sequential(layers.LayerNormalization(axis=[1, 2]),
                                                     shape=(4, 6)),
                           [((None, 4, 6), "float")]),
    "layernorm_middle_axis_no_center": (lambda: _keras_sequential(
        layers.LayerNormalization(axis=1, center=False), shape=(4, 6)),
        [((None, 4, 6), "float")]),
    "dropout": (lambda: _keras_sequential(layers.Dropout(0.5), shape=(4,)),
                [((None, 4), "float")]),
    "flatten_channels_last": (lambda: _keras_sequential(layers.Flatten(), shape=(3, 4, 2)),
                              [((None, 3, 4, 2), "float")]),
    "flatten_channels_first": (lambda: _keras_sequential(
        layers.Flatten(data_format="channels_first"), shape=(3, 4, 2)),
        [((None, 3, 4, 2), "float")]),
    "reshape_permute_rescaling": (lambda: _keras_sequential(
        layers.Rescaling(0.5, offset=0.1), layers.Reshape((3, -1)), layers.Permute((2, 1)),
        shape=(12,)), [((None, 12), "float")]),
    "embedding": (lambda: _keras_sequential(layers.Embedding(10, 4), shape=(7,),
                                            dtype="int64"),
                  [((None, 7), "int:10")]),
    "lstm": (lambda: _keras_sequential(layers.LSTM(5), shape=(6, 4)),
             [((None, 6, 4), "float")]),
    "lstm_sequences_backwards": (lambda: _keras_sequential(
        layers.LSTM(5, return_sequences=True, go_backwards=True), shape=(6, 4)),
        [((None, 6, 4), "float")]),
    "gru": (lambda: _keras_sequential(layers.GRU(5), shape=(6, 4)), [((None, 6, 4), "float")]),
    "gru_reset_before_sequences": (lambda: _keras_sequential(
        layers.GRU(5, reset_after=False, return_sequences=True), shape=(6, 4)),
        [((None, 6, 4), "float")]),
    "simple_rnn": (lambda: _keras_sequential(layers.SimpleRNN(5), shape=(6, 4)),
                   [((None, 6, 4), "float")]),
    "simple_rnn_relu_no_bias": (lambda: _keras_sequential(
        layers.SimpleRNN(5, activation="relu", use_bias=False, return_sequences=True),
        shape=(6, 4)), [((None, 6, 4), "float")]),
    "bidirectional_lstm": (lambda: _keras_sequential(
        layers.Bidirectional(layers.LSTM(3, return_sequences=True)), shape=(5, 4)),
        [((None, 5, 4), "float")]),
    "bidirectional_gru_sum": (lambda: _keras_sequential(
        layers.Bidirectional(layers.GRU(3), merge_mode="sum"), shape=(5, 4)),
        [((None, 5, 4), "float")]),
}

KERAS_ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "elu",
                     "leaky_relu", "selu", "celu", "softplus", "softsign", "swish", "silu",
                     "relu6", "hard_sigmoid", "hard_silu", "mish", "exponential", "log_sigmoid",
                     "tanh_shrink", "hard_tanh", "linear"]


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_keras_layer_matches_onnxruntime(case, tmp_path):
    make, specs = KERAS_CASES[case]
    dn.manual_seed(0)
    model = make()
    _randomize(model)
    check_export(model, specs, tmp_path)


@pytest.mark.parametrize("activation", KERAS_ACTIVATIONS)
def test_keras_activation_matches_onnxruntime(activation, tmp_path):
    dn.manual_seed(0)
    model = _randomize(_keras_sequential(layers.Dense(6), layers.Activation(activation),
                                         shape=(4,)))
    check_export(model, [((None, 4), "float*3")], tmp_path)


def _functional_merges():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3, 4), name="b")
    left = layers.Dense(4, activation="tanh")(a)
    right = layers.Dense(4)(b)
    merged = [layers.Add()([left, right]), layers.Subtract()([right, left]),
              layers.Multiply()([left, right, right]), layers.Average()([left, right]),
              layers.Maximum()([left, right]), layers.Minimum()([left, right])]
    out = layers.Concatenate(axis=1)(merged)
    return keras.Model([a, b], [out, layers.Dense(2)(left)])


def _functional_nested():
    inner = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(5, activation="relu"),
                              layers.Dense(4)])
    x = keras.Input(shape=(6,))
    shared = layers.Dense(6)
    hidden = shared(shared(x))  # one layer, two nodes
    return keras.Model(x, layers.Concatenate()([inner(hidden), hidden]))


def _functional_lstm_states():
    x = keras.Input(shape=(5, 3))
    out, h, c = layers.LSTM(4, return_state=True)(x)
    return keras.Model(x, layers.Add()([out, h, c]))


def test_keras_functional_merging_layers(tmp_path):
    dn.manual_seed(0)
    model = _randomize(_functional_merges())
    proto = check_export(model, [((None, 4), "float"), ((None, 3, 4), "float")], tmp_path)
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1"]
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]


def test_keras_functional_nested_model_and_shared_layer(tmp_path):
    dn.manual_seed(0)
    check_export(_randomize(_functional_nested()), [((None, 6), "float")], tmp_path)


def test_keras_functional_lstm_return_state(tmp_path):
    dn.manual_seed(0)
    check_export(_randomize(_functional_lstm_states()), [((None, 5, 3), "float")], tmp_path)


def test_keras_model_from_module(tmp_path):
    dn.manual_seed(0)
    net = _randomize(nn.Sequential(nn.Linear(4, 3), nn.Sigmoid()))
    check_export(keras.Model.from_module(net), [((None, 4), "float")], tmp_path)


# ---------------------------------------------------------------------------- MNIST convnet

def _keras_convnet():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def _nn_convnet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10), nn.Softmax(dim=1))


def test_mnist_convnet_keras(tmp_path):
    dn.manual_seed(0)
    check_export(_keras_convnet(), [((None, 28, 28, 1), "float")], tmp_path)


def test_mnist_convnet_nn(tmp_path):
    dn.manual_seed(0)
    proto = check_export(_nn_convnet(), [((None, 1, 28, 28), "float")], tmp_path)
    assert [n.op_type for n in proto.graph.node] == [
        "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Reshape", "Identity", "Gemm",
        "Softmax", "Identity"]


# ---------------------------------------------------------------------------- the file

def test_graph_has_a_symbolic_batch_and_passes_the_checker(tmp_path):
    dn.manual_seed(0)
    path = tmp_path / "mlp.onnx"
    proto = dualnet.onnx.export(nn.Sequential(nn.Linear(4, 3)), dn.randn(2, 4), path,
                                input_names=["x"], output_names=["y"])
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.SerializeToString() == proto.SerializeToString()
    assert [op.version for op in loaded.opset_import if op.domain in ("", "ai.onnx")] == [17]

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
    assert (loaded.graph.input[0].name, dims(loaded.graph.input[0])) == ("x", ["batch", 4])
    assert (loaded.graph.output[0].name, dims(loaded.graph.output[0])) == ("y", ["batch", 3])
    static = dualnet.onnx.export(nn.Sequential(nn.Linear(4, 3)), dn.randn(2, 4), path,
                                 batch_dim=None)
    assert dims(static.graph.input[0]) == [2, 4]


def test_newer_opset_reductions(tmp_path):
    # opset 18 moved ReduceMean's axes to an input
    dn.manual_seed(0)
    model = _randomize(_keras_sequential(layers.Conv2D(3, 3), layers.GlobalAveragePooling2D(),
                                         shape=(5, 5, 2)))
    proto = check_export(model, [((None, 5, 5, 2), "float")], tmp_path, opset_version=18)
    assert proto.opset_import[0].version == 18


def test_export_runs_in_eval_mode_and_restores_the_mode(tmp_path):
    dn.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9), nn.BatchNorm1d(4))
    net.train()
    check_export(net, [((None, 4), "float")], tmp_path)
    net.train()
    dualnet.onnx.export(net, dn.randn(3, 4), tmp_path / "again.onnx")
    assert all(m.training for m in net.modules())
    net[1].eval()
    dualnet.onnx.export(net, dn.randn(3, 4), tmp_path / "again.onnx")
    assert [m.training for m in net] == [True, False, True]


class _Custom(nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize("model, layer_name, type_name", [
    (nn.Sequential(nn.Linear(4, 4), _Custom()), "'1'", "_Custom"),
    (_Custom(), "'_Custom'", "_Custom"),
    (nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.GroupNorm(2, 4))), "'1.1'",
     "nn.GroupNorm"),
    (_keras_sequential(layers.Dense(4), layers.Lambda(lambda t: t * 2, name="doubler"),
                       shape=(4,)), "'doubler'", "keras.layers.Lambda"),
])
def test_unknown_layer_is_a_runtime_error_naming_it(model, layer_name, type_name, tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"an older file")
    with pytest.raises(RuntimeError, match=f"layer {layer_name} of type .*{type_name}"):
        dualnet.onnx.export(model, dn.randn(2, 4), path)
    # nothing half-written: the old file stays, no temporary file is left behind
    assert path.read_bytes() == b"an older file"
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_unsupported_settings_are_runtime_errors_naming_the_layer(tmp_path):
    x = keras.Input(shape=(5, 3))
    lstm = layers.LSTM(4, activation="relu", name="odd_lstm")
    with pytest.raises(RuntimeError, match="'odd_lstm' .*activations"):
        dualnet.onnx.export(keras.Model(x, lstm(x)), dn.randn(2, 5, 3), tmp_path / "m.onnx")
    with pytest.raises(RuntimeError, match="'0' .*varying size"):
        dualnet.onnx.export(nn.Sequential(nn.AdaptiveAvgPool1d(3)), dn.randn(2, 2, 5),
                            tmp_path / "m.onnx")
    with pytest.raises(RuntimeError, match="'MaxPool2d' .*return_indices"):
        dualnet.onnx.export(nn.MaxPool2d(2, return_indices=True), dn.randn(2, 2, 4, 4),
                            tmp_path / "m.onnx")
    with pytest.raises(RuntimeError, match="'LSTM' .*proj_size=2"):
        dualnet.onnx.export(nn.LSTM(3, 4, proj_size=2), dn.randn(5, 2, 3), tmp_path / "m.onnx")
    with pytest.warns(UserWarning, match="rms_scaling"):
        rms = layers.LayerNormalization(rms_scaling=True, name="rms_norm")
    with pytest.raises(RuntimeError, match="'rms_norm' .*rms_scaling"):
        dualnet.onnx.export(keras.Sequential([keras.Input(shape=(4,)), rms]), dn.randn(2, 4),
                            tmp_path / "m.onnx")


def test_bad_arguments(tmp_path):
    net = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="opset_version"):
        dualnet.onnx.export(net, dn.randn(2, 4), tmp_path / "m.onnx", opset_version=11)
    with pytest.raises(TypeError, match="nn.Module"):
        dualnet.onnx.export(lambda x: x, dn.randn(2, 4), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="batch_dim"):
        dualnet.onnx.export(net, dn.randn(2, 4), tmp_path / "m.onnx", batch_dim=2)
    with pytest.raises(ValueError, match="output_names"):
        dualnet.onnx.export(net, dn.randn(2, 4), tmp_path / "m.onnx", output_names=["a", "b"])


def test_without_onnx_installed_the_error_says_how_to_get_it(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    with pytest.raises(ImportError, match="pip install onnx"):
        dualnet.onnx.export(nn.Linear(4, 3), dn.randn(2, 4), tmp_path / "m.onnx")
    assert not os.path.exists(tmp_path / "m.onnx")


def test_supported_layers_names_both_frontends():
    names = dualnet.onnx.supported_layers()
    assert {"nn.Linear", "nn.LSTM", "keras.layers.Dense", "keras.layers.Conv2D",
            "keras.layers.Concatenate"} <= set(names)
