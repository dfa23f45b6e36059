"""keras_api pooling layers: NumPy references of Keras's 'valid' / 'same' rules (average
pooling not counting the padding), global pooling with keepdims, and parity with real Keras."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers
from _keras_layer_parity import compare, config_keys, rand, real_keras


def _numpy_pool2d(x, pool, strides, padding, reduce):
    """NHWC pooling over TensorFlow's windows: 'same' gives ceil(n / s) outputs with the odd
    pad at the end; each window reduces only the positions inside the input."""
    n, h, w, c = x.shape
    spans = []
    for size, k, s in zip((h, w), pool, strides):
        if padding == "same":
            out = math.ceil(size / s)
            before = max((out - 1) * s + k - size, 0) // 2
        else:
            out, before = (size - k) // s + 1, 0
        spans.append([(max(i * s - before, 0), min(i * s - before + k, size))
                      for i in range(out)])
    result = np.empty((n, len(spans[0]), len(spans[1]), c), x.dtype)
    for i, (h0, h1) in enumerate(spans[0]):
        for j, (w0, w1) in enumerate(spans[1]):
            result[:, i, j] = reduce(x[:, h0:h1, w0:w1].reshape(n, -1, c), axis=1)
    return result


@pytest.mark.parametrize("pool,strides,padding", [
    ((2, 2), None, "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 2), "same"),
    ((3, 2), (2, 1), "valid"), ((2, 2), (3, 3), "same")])
def test_pool2d_matches_numpy(pool, strides, padding):
    x = rand(2, 7, 6, 3)
    out_max = layers.MaxPooling2D(pool, strides, padding)(dn.tensor(x)).numpy()
    out_avg = layers.AveragePooling2D(pool, strides, padding)(dn.tensor(x)).numpy()
    strides = strides or pool
    np.testing.assert_allclose(out_max, _numpy_pool2d(x, pool, strides, padding, np.max))
    np.testing.assert_allclose(out_avg, _numpy_pool2d(x, pool, strides, padding, np.mean),
                               rtol=1e-5, atol=1e-6)
    layer = layers.MaxPooling2D(pool, strides, padding)
    assert layer.compute_output_shape((None, 7, 6, 3)) == (None,) + out_max.shape[1:]


def test_pool1d_matches_numpy():
    x = rand(2, 9, 3)
    out = layers.AveragePooling1D(2, padding="same")(dn.tensor(x)).numpy()
    ref = _numpy_pool2d(x[:, None], (1, 2), (1, 2), "same", np.mean)[:, 0]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    out = layers.MaxPooling1D(3, strides=2)(dn.tensor(x)).numpy()
    np.testing.assert_allclose(out, _numpy_pool2d(x[:, None], (1, 3), (1, 2), "valid",
                                                  np.max)[:, 0])


def test_global_pooling_matches_numpy():
    x = rand(2, 5, 4, 3)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(dn.tensor(x)).numpy(),
                               x.mean((1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D(keepdims=True)(dn.tensor(x)).numpy(),
                               x.max((1, 2), keepdims=True))
    np.testing.assert_allclose(layers.GlobalAveragePooling2D(data_format="channels_first")(
        dn.tensor(x)).numpy(), x.mean((2, 3)), rtol=1e-5, atol=1e-6)
    seq = rand(2, 6, 3)
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(dn.tensor(seq)).numpy(),
                               seq.mean(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(dn.tensor(seq)).numpy(), seq.max(1))
    assert layers.GlobalAveragePooling2D(keepdims=True).compute_output_shape(
        (None, 5, 4, 3)) == (None, 1, 1, 3)


def test_pooling_defaults_and_errors():
    pool = layers.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    with pytest.raises(ValueError, match="ndim=4"):
        layers.MaxPooling2D()(dn.ones(2, 4, 3))
    with pytest.raises(ValueError, match="padding"):
        layers.AveragePooling2D(2, padding="full")
    with pytest.raises(ValueError, match="negative or zero"):
        layers.MaxPooling2D(3)(dn.ones(1, 2, 2, 1))


def test_pooling_gradients():
    x = dn.tensor(rand(1, 4, 4, 2), requires_grad=True)
    layers.AveragePooling2D(2)(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((1, 4, 4, 2), 0.25))


# ----------------------------------------------------------------------------- against Keras

# Keras's torch backend pads an uneven 'same' average pooling by *replicating* edge values,
# which then count in the mean; TensorFlow and JAX (and dualnet: see the NumPy reference above)
# average over the in-input positions only. Average pooling is compared with Keras where the
# 'same' padding is even (or the padded window holds a single real value), max pooling always.
@pytest.mark.parametrize("pool,strides,padding,even", [
    (2, None, "valid", True), (3, 2, "same", True), ((2, 3), (1, 2), "same", False),
    ((3, 1), (2, 2), "valid", True), ((3, 3), (1, 1), "same", True)])
def test_pool2d_matches_keras(pool, strides, padding, even):
    keras = real_keras()
    x = rand(2, 7, 5, 3)
    compare(layers.MaxPooling2D(pool, strides, padding),
            keras.layers.MaxPooling2D(pool, strides, padding), x, grads=True)
    if even:
        compare(layers.AveragePooling2D(pool, strides, padding),
                keras.layers.AveragePooling2D(pool, strides, padding), x, grads=True)


@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, 2, "same"),
                                                  (2, 1, "same")])
def test_pool1d_matches_keras(pool, strides, padding):
    keras = real_keras()
    x = rand(2, 9, 3)
    for ours, theirs in [(layers.MaxPooling1D, keras.layers.MaxPooling1D),
                         (layers.AveragePooling1D, keras.layers.AveragePooling1D)]:
        compare(ours(pool, strides, padding), theirs(pool, strides, padding), x, grads=True)


def test_pooling_channels_first_and_global_match_keras():
    keras = real_keras()
    x = rand(2, 3, 7, 5)
    compare(layers.MaxPooling2D(3, 2, "same", data_format="channels_first"),
            keras.layers.MaxPooling2D(3, 2, "same", data_format="channels_first"), x)
    compare(layers.AveragePooling2D(2, 1, "same", data_format="channels_first"),
            keras.layers.AveragePooling2D(2, 1, "same", data_format="channels_first"), x)
    for name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        for kwargs in ({}, {"keepdims": True}, {"data_format": "channels_first"}):
            ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
            compare(ours, theirs, x, grads=True)
            config_keys(ours, theirs)
    for name in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        compare(getattr(layers, name)(), getattr(keras.layers, name)(), x[:, 0], grads=True)


def test_pooling_configs_match_keras():
    keras = real_keras()
    for name in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        ours, theirs = getattr(layers, name)(2), getattr(keras.layers, name)(2)
        config_keys(ours, theirs)
        mine, ref = ours.get_config(), theirs.get_config()
        for key in ("pool_size", "strides", "padding", "data_format"):
            assert mine[key] == ref[key], (name, key)
