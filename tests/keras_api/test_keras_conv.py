"""keras_api convolution layers (Conv1D/2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D,
ZeroPadding2D, UpSampling2D): Keras layouts, shapes and errors, NumPy references, and
outputs and gradients equal to real Keras's on the same weights."""
import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers
from _keras_layer_parity import compare, config_keys, rand, real_keras


def _numpy_conv2d(x, kernel, bias, stride, pads):
    """Direct NHWC cross-correlation with explicit ((top, bottom), (left, right)) zero pads."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, _, out_c = kernel.shape
    oh = (x.shape[1] - kh) // stride[0] + 1
    ow = (x.shape[2] - kw) // stride[1] + 1
    out = np.zeros((x.shape[0], oh, ow, out_c), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


# ----------------------------------------------------------------------------- without Keras

def test_conv2d_same_strided_matches_numpy_with_tensorflow_padding():
    conv = layers.Conv2D(3, (3, 2), strides=2, padding="same")
    x = rand(2, 6, 5, 4)
    out = conv(dn.tensor(x)).detach().numpy()
    kernel, bias = conv.get_weights()
    assert kernel.shape == (3, 2, 4, 3)
    # TensorFlow's 'same': out = ceil(in / s); pad total = (out-1)*s + k - in, odd one at the end
    # H: 6 -> 3, total 1 -> (0, 1); W: 5 -> 3, total 1 -> (0, 1)
    ref = _numpy_conv2d(x, kernel, bias, (2, 2), ((0, 1), (0, 1)))
    assert out.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_conv_output_shapes_and_weights():
    assert layers.Conv2D(8, 3).compute_output_shape((None, 7, 9, 3)) == (None, 5, 7, 8)
    assert layers.Conv2D(8, 3, strides=2, padding="same").compute_output_shape(
        (None, 7, 9, 3)) == (None, 4, 5, 8)
    assert layers.Conv1D(4, 3, padding="causal", dilation_rate=2).compute_output_shape(
        (None, 10, 2)) == (None, 10, 4)
    assert layers.Conv2DTranspose(4, 3, strides=2).compute_output_shape((None, 5, 5, 2)) == \
        (None, 11, 11, 4)
    conv = layers.Conv2D(6, 3, groups=2)
    conv(dn.ones(1, 5, 5, 4))
    assert [tuple(w.shape) for w in conv.weights] == [(3, 3, 2, 6), (6,)]
    assert [n for n, _ in conv.named_parameters()] == ["kernel", "bias"]
    sep = layers.SeparableConv2D(5, 3, depth_multiplier=2)
    sep(dn.ones(1, 5, 5, 3))
    assert [n for n, _ in sep.named_parameters()] == ["depthwise_kernel", "pointwise_kernel",
                                                       "bias"]
    assert [tuple(w.shape) for w in sep.weights] == [(3, 3, 3, 2), (1, 1, 6, 5), (5,)]
    depth = layers.DepthwiseConv2D(3, depth_multiplier=2)
    depth(dn.ones(1, 5, 5, 3))
    assert [tuple(w.shape) for w in depth.weights] == [(3, 3, 3, 2), (6,)]
    transpose = layers.Conv2DTranspose(4, 3)
    transpose(dn.ones(1, 5, 5, 2))
    assert [tuple(w.shape) for w in transpose.weights] == [(3, 3, 4, 2), (4,)]


def test_conv_default_initializer_statistics():
    dn.manual_seed(0)
    conv = layers.Conv2D(64, 3)
    conv(dn.zeros(1, 3, 3, 32))
    kernel, bias = conv.get_weights()
    fan_in, fan_out = 9 * 32, 9 * 64
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit
    assert abs(kernel.var() - limit ** 2 / 3) < 0.05 * limit ** 2 / 3
    assert not bias.any()


def test_conv_errors_name_layer_and_shapes():
    conv = layers.Conv2D(2, 3, name="c2")
    with pytest.raises(ValueError, match=r"c2.*min_ndim=4.*\(5, 5, 3\)"):
        conv(dn.ones(5, 5, 3))
    conv(dn.ones(1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"c2.*\(1, 5, 5, 4\)"):
        conv(dn.ones(1, 5, 5, 4))
    with pytest.raises(ValueError, match="filters"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="negative"):
        layers.Conv2D(2, 5)(dn.ones(1, 3, 3, 1))


def test_conv_gradients_reach_kernel_and_input():
    conv = layers.Conv2D(2, 3, padding="same")
    x = dn.tensor(rand(1, 4, 4, 3), requires_grad=True)
    conv(x).sum().backward()
    assert x.grad.shape == x.shape and conv.kernel.grad.shape == conv.kernel.shape
    np.testing.assert_allclose(conv.bias.grad.numpy(), [16.0, 16.0])


def test_zero_padding_and_upsampling_match_numpy():
    x = rand(2, 3, 4, 2)
    out = layers.ZeroPadding2D(((1, 0), (2, 1)))(dn.tensor(x)).numpy()
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))
    out = layers.ZeroPadding2D(1, data_format="channels_first")(dn.tensor(x)).numpy()
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))))
    up = layers.UpSampling2D((2, 3))(dn.tensor(x)).numpy()
    np.testing.assert_array_equal(up, x.repeat(2, axis=1).repeat(3, axis=2))
    up = layers.UpSampling2D(2, data_format="channels_first")(dn.tensor(x)).numpy()
    np.testing.assert_array_equal(up, x.repeat(2, axis=2).repeat(2, axis=3))
    assert layers.UpSampling2D(interpolation="bicubic").interpolation == "bicubic"
    with pytest.raises(ValueError, match="cubic"):
        layers.UpSampling2D(interpolation="cubic")


# ----------------------------------------------------------------------------- against Keras

CONV2D_CASES = [  # kernel_size, strides, padding, dilation_rate, groups
    (3, 1, "valid", 1, 1), (3, 2, "same", 1, 1), ((2, 3), (2, 1), "same", 1, 1),
    ((3, 2), 3, "valid", 1, 1), (3, 1, "same", 2, 1), (3, 1, "valid", (2, 1), 2),
    (1, 1, "valid", 1, 1), (4, 2, "same", 1, 2)]


@pytest.mark.parametrize("kernel,strides,padding,dilation,groups", CONV2D_CASES)
def test_conv2d_matches_keras(kernel, strides, padding, dilation, groups):
    keras = real_keras()
    args = dict(kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                groups=groups, activation="relu")
    compare(layers.Conv2D(4, **args), keras.layers.Conv2D(4, **args), rand(2, 7, 9, 4),
            grads=True)


def test_conv2d_channels_first_matches_keras():
    keras = real_keras()
    args = dict(strides=2, padding="same", data_format="channels_first")
    compare(layers.Conv2D(3, 3, **args), keras.layers.Conv2D(3, 3, **args), rand(2, 4, 7, 6),
            grads=True)


@pytest.mark.parametrize("kernel,strides,padding,dilation", [
    (3, 1, "valid", 1), (3, 2, "same", 1), (2, 1, "causal", 2), (4, 3, "causal", 1),
    (5, 1, "same", 2)])
def test_conv1d_matches_keras(kernel, strides, padding, dilation):
    keras = real_keras()
    args = dict(strides=strides, padding=padding, dilation_rate=dilation)
    compare(layers.Conv1D(3, kernel, **args), keras.layers.Conv1D(3, kernel, **args),
            rand(2, 11, 2), grads=True)


@pytest.mark.parametrize("kernel,strides,padding,output_padding,dilation", [
    (3, 2, "same", None, 1), (3, 2, "valid", None, 1), (2, 2, "valid", None, 1),
    (4, 2, "same", None, 1), ((3, 2), (2, 3), "same", None, 1), (1, 3, "valid", None, 1),
    (3, 1, "same", None, 2), (3, 2, "valid", 1, 1), (3, 3, "same", (1, 2), 1),
    (2, 2, "same", None, 1)])
def test_conv2d_transpose_matches_keras(kernel, strides, padding, output_padding, dilation):
    keras = real_keras()
    args = dict(strides=strides, padding=padding, output_padding=output_padding,
                dilation_rate=dilation)
    ours = layers.Conv2DTranspose(3, kernel, **args)
    theirs = keras.layers.Conv2DTranspose(3, kernel, **args)
    out = compare(ours, theirs, rand(2, 5, 4, 2), grads=True)
    assert ours.compute_output_shape((None, 5, 4, 2)) == (None,) + out.shape[1:]


@pytest.mark.parametrize("strides,padding,multiplier", [(1, "valid", 1), (2, "same", 2),
                                                        ((1, 2), "same", 3)])
def test_depthwise_and_separable_conv_match_keras(strides, padding, multiplier):
    keras = real_keras()
    args = dict(strides=strides, padding=padding, depth_multiplier=multiplier)
    x = rand(2, 7, 6, 3)
    compare(layers.DepthwiseConv2D(3, **args), keras.layers.DepthwiseConv2D(3, **args), x,
            grads=True)
    compare(layers.SeparableConv2D(4, 3, **args), keras.layers.SeparableConv2D(4, 3, **args), x,
            grads=True)


def test_padding_and_upsampling_match_keras():
    keras = real_keras()
    x = rand(2, 3, 5, 2)
    for ours, theirs in [
            (layers.ZeroPadding2D(((1, 2), (0, 3))), keras.layers.ZeroPadding2D(((1, 2), (0, 3)))),
            (layers.ZeroPadding2D((2, 1)), keras.layers.ZeroPadding2D((2, 1))),
            (layers.UpSampling2D((3, 2)), keras.layers.UpSampling2D((3, 2))),
            (layers.UpSampling2D(data_format="channels_first"),
             keras.layers.UpSampling2D(data_format="channels_first"))]:
        compare(ours, theirs, x, grads=True)
        config_keys(ours, theirs)
        assert ours.get_config()["data_format"] == theirs.get_config()["data_format"]
        assert ours.compute_output_shape((None, 3, 5, 2)) == \
            theirs.compute_output_shape((None, 3, 5, 2))


def test_conv_configs_match_keras():
    keras = real_keras()
    pairs = [(layers.Conv1D(2, 3), keras.layers.Conv1D(2, 3)),
             (layers.Conv2D(2, 3), keras.layers.Conv2D(2, 3)),
             (layers.Conv2DTranspose(2, 3), keras.layers.Conv2DTranspose(2, 3)),
             (layers.DepthwiseConv2D(3), keras.layers.DepthwiseConv2D(3)),
             (layers.SeparableConv2D(2, 3), keras.layers.SeparableConv2D(2, 3))]
    for ours, theirs in pairs:
        config_keys(ours, theirs)
        mine, ref = ours.get_config(), theirs.get_config()
        for key in ("kernel_size", "strides", "padding", "data_format", "dilation_rate",
                    "activation", "use_bias"):
            assert mine[key] == ref[key], (type(ours).__name__, key)


@pytest.mark.parametrize("size,data_format", [((2, 2), "channels_last"),
                                              ((3, 2), "channels_last"),
                                              ((2, 3), "channels_first")])
def test_upsampling2d_bilinear_matches_keras(size, data_format):
    keras = real_keras()
    x = rand(2, 3, 5, 4)
    compare(layers.UpSampling2D(size, data_format=data_format, interpolation="bilinear"),
            keras.layers.UpSampling2D(size, data_format=data_format, interpolation="bilinear"),
            x, grads=True)
