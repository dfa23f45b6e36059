"""keras_api UpSampling2D's resizing interpolations (bilinear, bicubic; lanczos3 / lanczos5
raise as on Keras's torch backend): equal to torch's F.interpolate with align_corners=False and
no antialiasing (what Keras's image.resize calls), and to real Keras 3 on the torch backend,
outputs and input gradients; integer input rounded back to its type as Keras does."""
import numpy as np
import pytest

import dualnet as dn
from dualnet.autograd import gradcheck
from dualnet.keras_api import layers
from _keras_layer_parity import compare, config_keys, rand, real_keras

CASES = [((2, 2), "channels_last"), ((3, 2), "channels_last"), ((2, 3), "channels_first"),
         ((1, 4), "channels_first")]


# ----------------------------------------------------------------------------- without Keras

@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size,data_format", CASES)
def test_resizing_is_torch_interpolate_without_antialias(interpolation, size, data_format):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 5, 4)
    out = layers.UpSampling2D(size, data_format=data_format,
                              interpolation=interpolation)(dn.tensor(x)).numpy()
    nchw = torch.tensor(x if data_format == "channels_first" else x.transpose(0, 3, 1, 2))
    ref = torch.nn.functional.interpolate(
        nchw, size=(nchw.shape[2] * size[0], nchw.shape[3] * size[1]), mode=interpolation,
        align_corners=False, antialias=False).numpy()
    if data_format == "channels_last":
        ref = ref.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_bicubic_layer_contract():
    layer = layers.UpSampling2D((2, 3), interpolation="BiCubic")
    assert layer.interpolation == "bicubic" and layer.get_config()["interpolation"] == "bicubic"
    out = layer(dn.ones(2, 3, 4, 5))
    assert tuple(out.shape) == (2, 6, 12, 5) == layer.compute_output_shape((2, 3, 4, 5))
    np.testing.assert_allclose(out.numpy(), 1.0, rtol=1e-6)  # the weights sum to 1
    assert layer.trainable_weights == [] and layer.count_params() == 0
    x = dn.tensor(np.random.default_rng(1).standard_normal((1, 3, 2, 2)), requires_grad=True)
    up = layers.UpSampling2D((2, 2), interpolation="bicubic", dtype="float64")
    assert gradcheck(up, (x,))


@pytest.mark.parametrize("interpolation", ["lanczos3", "lanczos5", "LANCZOS3"])
def test_lanczos_raises_value_error_when_called(interpolation):
    layer = layers.UpSampling2D(interpolation=interpolation)  # constructs, as in Keras
    assert layer.get_config()["interpolation"] == interpolation.lower()
    assert layer.compute_output_shape((None, 3, 4, 2)) == (None, 6, 8, 2)
    with pytest.raises(ValueError, match=r"UpSampling2D.*Lanczos.*lanczos\d.*\(1, 3, 4, 2\)"):
        layer(dn.ones(1, 3, 4, 2))


def test_unknown_interpolation_is_a_value_error():
    for name in ("cubic", "area", 3):
        with pytest.raises(ValueError, match="UpSampling2D: invalid interpolation"):
            layers.UpSampling2D(interpolation=name)


# ----------------------------------------------------------------------------- against Keras

@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear", "Bicubic"])
@pytest.mark.parametrize("size,data_format", CASES)
def test_resizing_matches_keras(interpolation, size, data_format):
    keras = real_keras()
    x = rand(2, 3, 5, 4)
    ours = layers.UpSampling2D(size, data_format=data_format, interpolation=interpolation)
    theirs = keras.layers.UpSampling2D(size, data_format=data_format,
                                       interpolation=interpolation)
    compare(ours, theirs, x, grads=True)
    config_keys(ours, theirs)
    assert ours.get_config()["interpolation"] == theirs.get_config()["interpolation"]
    assert ours.compute_output_shape((None, 3, 5, 4)) == \
        theirs.compute_output_shape((None, 3, 5, 4))


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_integer_input_matches_keras(interpolation, dtype):
    keras = real_keras()
    import torch

    x = np.random.default_rng(2).integers(0, 256, (1, 4, 3, 2)).astype(dtype)
    x[0, 0, 0, 0], x[0, 1, 0, 0] = 0, 255  # a sharp edge: bicubic overshoots past [0, 255]
    ours = layers.UpSampling2D((3, 2), interpolation=interpolation)(dn.tensor(x))
    theirs = keras.layers.UpSampling2D((3, 2), interpolation=interpolation)(torch.tensor(x))
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "") == dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_lanczos_raises_in_keras_too():
    keras = real_keras()
    for name in ("lanczos3", "lanczos5"):
        with pytest.raises(ValueError, match="Lanczos"):
            keras.layers.UpSampling2D(interpolation=name)(rand(1, 3, 4, 2))
        with pytest.raises(ValueError, match="Lanczos"):
            layers.UpSampling2D(interpolation=name)(dn.tensor(rand(1, 3, 4, 2)))
