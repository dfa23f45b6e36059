"""keras_api core layers (Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
Lambda, Rescaling, Identity): NumPy references, Keras's errors, and parity with real Keras."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import optim
from dualnet.keras_api import layers
from dualnet.keras_api.layers.keras_tensor import KerasTensor
from _keras_layer_parity import compare, config_keys, rand, real_keras

# ----------------------------------------------------------------------------- without Keras


def test_dense_matches_numpy_on_2d_and_3d_inputs():
    dense = layers.Dense(4, activation="relu")
    x = rand(3, 5, 6)
    out = dense(dn.tensor(x)).detach().numpy()
    kernel, bias = dense.get_weights()
    assert kernel.shape == (6, 4) and bias.shape == (4,)
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    dense.set_weights([kernel, np.arange(4, dtype=np.float32)])
    x2 = rand(2, 6, seed=1)
    np.testing.assert_allclose(dense(dn.tensor(x2)).detach().numpy(),
                               np.maximum(x2 @ kernel + np.arange(4), 0), rtol=1e-5, atol=1e-6)


def test_dense_contract_weights_parameters_and_config():
    dense = layers.Dense(3, use_bias=False, name="head")
    dense(np.ones((2, 5), np.float32))
    assert [n for n, _ in dense.named_parameters()] == ["kernel"]
    assert dense.count_params() == 15
    assert list(dense.parameters())[0] is dense.kernel
    config = dense.get_config()
    assert config["units"] == 3 and config["activation"] == "linear"
    assert config["use_bias"] is False and config["name"] == "head"
    clone = layers.Dense.from_config(config)
    assert clone.units == 3 and not clone.use_bias


def test_dense_default_initializer_statistics():
    dn.manual_seed(0)
    dense = layers.Dense(200)
    dense(dn.zeros(1, 300))
    kernel, bias = dense.get_weights()
    limit = np.sqrt(6.0 / (300 + 200))  # glorot_uniform
    assert np.abs(kernel).max() <= limit
    assert abs(kernel.var() - limit ** 2 / 3) < 0.05 * limit ** 2 / 3
    assert abs(kernel.mean()) < 0.01 * limit
    assert not bias.any()


def test_dense_errors():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    dense = layers.Dense(2)
    dense(dn.ones(1, 3))
    with pytest.raises(ValueError, match=r"dense.*\(1, 4\)"):
        dense(dn.ones(1, 4))
    with pytest.raises(ValueError, match="ndim"):
        layers.Dense(2)(dn.ones(3))
    with pytest.raises(TypeError):
        layers.Dense(2, bogus=1)


def test_dense_gradients_flow_to_kernel_and_bias():
    dense = layers.Dense(2)
    x = dn.tensor(rand(4, 3), requires_grad=True)
    dense(x).sum().backward()
    kernel = dense.get_weights()[0]
    np.testing.assert_allclose(x.grad.numpy(), np.tile(kernel.sum(1), (4, 1)), rtol=1e-5)
    np.testing.assert_allclose(dense.kernel.grad.numpy(),
                               np.tile(rand(4, 3).sum(0)[:, None], (1, 2)), rtol=1e-5)
    np.testing.assert_allclose(dense.bias.grad.numpy(), [4.0, 4.0])


def test_activation_layer():
    x = rand(2, 5)
    np.testing.assert_allclose(layers.Activation("relu")(dn.tensor(x)).numpy(), np.maximum(x, 0))
    soft = layers.Activation("softmax")(dn.tensor(x)).numpy()
    ref = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    np.testing.assert_allclose(soft, ref, rtol=1e-5)
    with pytest.raises(ValueError, match="relu"):
        layers.Activation("no_such_activation")


def test_dropout_inference_identity_and_training_statistics():
    drop = layers.Dropout(0.25)
    x = dn.ones(200, 100)
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    np.testing.assert_array_equal(drop(x, training=False).numpy(), x.numpy())
    dn.manual_seed(1)
    out = drop(x, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.02
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


def test_dropout_noise_shape_shares_the_mask():
    drop = layers.Dropout(0.5, noise_shape=(None, 1, 4))
    out = drop(dn.ones(8, 6, 4), training=True).numpy()
    assert (out == out[:, :1, :]).all()  # the same mask along the axis of size 1
    assert 0 < (out == 0).mean() < 1


def test_flatten_reshape_permute_repeat():
    x = rand(2, 3, 4, 5)
    np.testing.assert_array_equal(layers.Flatten()(dn.tensor(x)).numpy(), x.reshape(2, -1))
    np.testing.assert_array_equal(layers.Flatten(data_format="channels_first")(
        dn.tensor(x)).numpy(), x.transpose(0, 2, 3, 1).reshape(2, -1))
    np.testing.assert_array_equal(layers.Reshape((-1, 10))(dn.tensor(x)).numpy(),
                                  x.reshape(2, 6, 10))
    np.testing.assert_array_equal(layers.Permute((3, 1, 2))(dn.tensor(x)).numpy(),
                                  x.transpose(0, 3, 1, 2))
    v = rand(2, 3)
    np.testing.assert_array_equal(layers.RepeatVector(4)(dn.tensor(v)).numpy(),
                                  np.repeat(v[:, None, :], 4, axis=1))
    assert layers.Reshape((-1, 10)).compute_output_shape((None, 3, 4, 5)) == (None, 6, 10)
    assert layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert layers.Permute((2, 1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)


def test_shape_layer_errors():
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((7,))(dn.ones(2, 3, 4))
    with pytest.raises(ValueError, match="dims"):
        layers.Permute((1, 3))
    with pytest.raises(ValueError, match="ndim=2"):
        layers.RepeatVector(2)(dn.ones(2, 3, 4))
    with pytest.raises(ValueError, match="data_format"):
        layers.Flatten(data_format="nhwc")


def test_lambda_rescaling_identity():
    x = rand(2, 3)
    lam = layers.Lambda(lambda t, k: t * k, arguments={"k": 3.0})
    np.testing.assert_allclose(lam(dn.tensor(x)).numpy(), x * 3)
    spec = KerasTensor((None, 3))
    assert lam.compute_output_spec(spec).shape == (None, 3)
    assert layers.Lambda(lambda t: t, output_shape=(7,)).compute_output_spec(spec).shape == \
        (None, 7)
    pixels = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    out = layers.Rescaling(1 / 255.0, offset=-1.0)(pixels)
    assert out.dtype == dn.float32
    np.testing.assert_allclose(out.numpy(), pixels / 255.0 - 1.0, rtol=1e-6)
    per_channel = layers.Rescaling([1.0, 2.0, 3.0])(dn.tensor(x)).numpy()
    np.testing.assert_allclose(per_channel, x * np.array([1.0, 2.0, 3.0]), rtol=1e-6)
    np.testing.assert_array_equal(layers.Identity()(dn.tensor(x)).numpy(), x)


def test_layers_in_a_hand_written_loop_train():
    dense = layers.Dense(1)
    x, y = dn.tensor(rand(32, 3)), dn.tensor(rand(32, 1, seed=2))
    dense(x)  # weights are created on the first call, as in Keras
    opt = optim.SGD(dense.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((dense(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


# ----------------------------------------------------------------------------- against Keras

@pytest.mark.parametrize("shape,activation,use_bias", [
    ((4, 7), None, True), ((3, 5, 7), "tanh", True), ((4, 7), "relu", False)])
def test_dense_matches_keras(shape, activation, use_bias):
    keras = real_keras()
    compare(layers.Dense(5, activation=activation, use_bias=use_bias),
            keras.layers.Dense(5, activation=activation, use_bias=use_bias), rand(*shape),
            grads=True)


def test_shape_layers_match_keras():
    keras = real_keras()
    x = rand(2, 3, 4, 5)
    for ours, theirs in [
            (layers.Flatten(), keras.layers.Flatten()),
            (layers.Flatten(data_format="channels_first"),
             keras.layers.Flatten(data_format="channels_first")),
            (layers.Reshape((5, -1)), keras.layers.Reshape((5, -1))),
            (layers.Permute((2, 3, 1)), keras.layers.Permute((2, 3, 1))),
            (layers.Rescaling(0.5, offset=2.0), keras.layers.Rescaling(0.5, offset=2.0)),
            (layers.Activation("gelu"), keras.layers.Activation("gelu")),
            (layers.Identity(), keras.layers.Identity())]:
        compare(ours, theirs, x, grads=True)
        config_keys(ours, theirs)
        assert ours.compute_output_shape((None, 3, 4, 5)) == \
            theirs.compute_output_shape((None, 3, 4, 5))
    compare(layers.RepeatVector(3), keras.layers.RepeatVector(3), rand(2, 4), grads=True)


def test_core_configs_have_keras_keys():
    keras = real_keras()
    pairs = [(layers.Dense(3), keras.layers.Dense(3)),
             (layers.Dense(3, activity_regularizer="l2"),
              keras.layers.Dense(3, activity_regularizer="l2")),
             (layers.Dropout(0.3, noise_shape=(None, 1), seed=3),
              keras.layers.Dropout(0.3, noise_shape=(None, 1), seed=3)),
             (layers.RepeatVector(2), keras.layers.RepeatVector(2)),
             (layers.Lambda(lambda t: t), keras.layers.Lambda(lambda t: t))]
    for ours, theirs in pairs:
        config_keys(ours, theirs)
    ours, theirs = layers.Dense(3, "relu").get_config(), keras.layers.Dense(3, "relu").get_config()
    for key in ("units", "activation", "use_bias", "kernel_regularizer"):
        assert ours[key] == theirs[key], key
    for key in ("kernel_initializer", "bias_initializer"):
        assert ours[key]["class_name"] == theirs[key]["class_name"], key


def test_integer_inputs_are_promoted_like_keras():
    dense = layers.Dense(2, kernel_initializer="ones")
    out = dense(np.ones((1, 3), dtype=np.int64))
    assert out.dtype == dn.float32 and out.tolist() == [[3.0, 3.0]]
    out = layers.BatchNormalization()(np.ones((2, 3), dtype=np.int64))
    assert out.dtype == dn.float32


SYMBOLIC_CHAIN = [  # (name, args, kwargs) applied in turn to a (None, 12, 10, 3) input
    ("Conv2D", (8, 3), {"padding": "same", "strides": 2}), ("BatchNormalization", (), {}),
    ("DepthwiseConv2D", (3,), {"depth_multiplier": 2}), ("MaxPooling2D", (), {}),
    ("SeparableConv2D", (4, 1), {}), ("Conv2DTranspose", (3, 3), {"strides": 2}),
    ("UpSampling2D", (), {}), ("ZeroPadding2D", ((1, 2),), {}),
    ("AveragePooling2D", (3,), {"padding": "same"}), ("LayerNormalization", (), {}),
    ("Permute", ((2, 1, 3),), {}), ("Reshape", ((-1, 3),), {}), ("Conv1D", (5, 3), {}),
    ("GlobalMaxPooling1D", (), {}), ("RepeatVector", (2,), {}), ("Flatten", (), {}),
    ("Dropout", (0.5,), {}), ("Dense", (7,), {"activation": "relu"})]


def _symbolic_shapes(module):
    x = module.Input(shape=(12, 10, 3))
    shapes = []
    for name, args, kwargs in SYMBOLIC_CHAIN:
        x = getattr(module.layers, name)(*args, **kwargs)(x)
        shapes.append(tuple(x.shape))
    return shapes


def test_symbolic_shapes_through_a_functional_chain():
    from dualnet import keras_api

    shapes = _symbolic_shapes(keras_api)
    assert shapes[0] == (None, 6, 5, 8) and shapes[-1] == (None, 7)


def test_symbolic_shapes_match_keras():
    from dualnet import keras_api

    keras = real_keras()
    assert _symbolic_shapes(keras_api) == _symbolic_shapes(keras)
