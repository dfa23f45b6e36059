"""keras_api merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate):
NumPy references, Keras's broadcasting and rank alignment, shape errors, and Keras parity."""
import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import layers
from _keras_layer_parity import compare, config_keys, rand, real_keras

_REFERENCES = {
    "Add": lambda xs: sum(xs),
    "Subtract": lambda xs: xs[0] - xs[1],
    "Multiply": lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0),
    "Average": lambda xs: sum(xs) / len(xs),
    "Maximum": lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs)),
    "Minimum": lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs)),
}


@pytest.mark.parametrize("name", sorted(_REFERENCES))
def test_elementwise_merges_match_numpy(name):
    count = 2 if name == "Subtract" else 3
    xs = [rand(2, 3, 4, seed=i) for i in range(count)]
    out = getattr(layers, name)()([dn.tensor(x) for x in xs]).numpy()
    np.testing.assert_allclose(out, _REFERENCES[name](xs), rtol=1e-6, atol=1e-6)
    # broadcasting over a dim of size 1, as Keras allows
    xs = [rand(2, 3, 4, seed=5), rand(2, 1, 4, seed=6)]
    out = getattr(layers, name)()([dn.tensor(x) for x in xs]).numpy()
    np.testing.assert_allclose(out, _REFERENCES[name](xs), rtol=1e-6, atol=1e-6)


def test_lower_rank_inputs_get_unit_dims_after_the_batch():
    a, b = rand(2, 4), rand(2, 3, 4, seed=1)
    out = layers.Add()([dn.tensor(a), dn.tensor(b)]).numpy()
    np.testing.assert_allclose(out, a[:, None, :] + b, rtol=1e-6)


def test_concatenate_matches_numpy():
    a, b = rand(2, 3, 4), rand(2, 3, 2, seed=1)
    np.testing.assert_array_equal(layers.Concatenate()([dn.tensor(a), dn.tensor(b)]).numpy(),
                                  np.concatenate([a, b], -1))
    c = rand(2, 5, 4, seed=2)
    np.testing.assert_array_equal(
        layers.Concatenate(axis=1)([dn.tensor(a), dn.tensor(c)]).numpy(),
        np.concatenate([a, c], 1))
    assert layers.Concatenate().compute_output_shape([(None, 3, 4), (None, 3, 2)]) == \
        (None, 3, 6)
    assert layers.Add().compute_output_shape([(None, 3, 4), (None, 1, 4)]) == (None, 3, 4)


def test_merge_errors_are_value_errors_naming_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)|\(3,\).*\(4,\)"):
        layers.Add()([dn.ones(2, 3), dn.ones(2, 4)])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([dn.ones(2, 3)] * 3)
    with pytest.raises(ValueError, match=r"matching shapes.*\(2, 3, 4\).*\(2, 5, 2\)"):
        layers.Concatenate()([dn.ones(2, 3, 4), dn.ones(2, 5, 2)])
    with pytest.raises(ValueError, match="list"):
        layers.Multiply()(dn.ones(2, 3))
    with pytest.raises(ValueError, match="batch sizes"):
        layers.Add()([dn.ones(2, 3), dn.ones(3, 3)])
    built = layers.Concatenate()
    built([dn.ones(2, 3), dn.ones(2, 1)])
    with pytest.raises(ValueError, match="matching shapes"):
        built([dn.ones(2, 3), dn.ones(4, 1)])


def test_merge_gradients():
    a = dn.tensor(rand(2, 3), requires_grad=True)
    b = dn.tensor(rand(2, 3, seed=1), requires_grad=True)
    layers.Average()([a, b]).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((2, 3), 0.5))
    layers.Concatenate()([a, b]).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.full((2, 3), 1.5))


# ----------------------------------------------------------------------------- against Keras

@pytest.mark.parametrize("name", sorted(_REFERENCES))
def test_elementwise_merges_match_keras(name):
    keras = real_keras()
    inputs = [rand(2, 3, 4), rand(2, 1, 4, seed=1)]
    if name != "Subtract":
        inputs.append(rand(2, 3, 4, seed=2))
    compare(getattr(layers, name)(), getattr(keras.layers, name)(), inputs, grads=True)
    config_keys(getattr(layers, name)(), getattr(keras.layers, name)())
    shapes = [(None, 3, 4), (None, 1, 4)]
    assert getattr(layers, name)().compute_output_shape(shapes) == \
        getattr(keras.layers, name)().compute_output_shape(shapes)


def test_concatenate_and_rank_alignment_match_keras():
    keras = real_keras()
    for axis in (-1, 1, 2):
        inputs = [rand(2, 3, 4), rand(2, 3, 4, seed=1)]
        compare(layers.Concatenate(axis=axis), keras.layers.Concatenate(axis=axis), inputs,
                grads=True)
        config_keys(layers.Concatenate(axis=axis), keras.layers.Concatenate(axis=axis))
    compare(layers.Add(), keras.layers.Add(), [rand(2, 4), rand(2, 3, 4, seed=1)], grads=True)
    with pytest.raises(ValueError):
        keras.layers.Concatenate()([np.ones((2, 3, 4), "float32"),
                                    np.ones((2, 5, 2), "float32")])
