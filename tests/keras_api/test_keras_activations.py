"""keras_api.activations and regularizers: each function against a NumPy formula and, where Keras
is installed, against Keras 3 itself (names, defaults such as gelu's exact form, errors)."""
import math
import os

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import activations, regularizers

os.environ.setdefault("KERAS_BACKEND", "torch")

X = np.linspace(-6, 6, 24, dtype=np.float32).reshape(2, 12)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_ERF = np.vectorize(math.erf)
NUMPY_REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1 + _ERF(x / np.sqrt(2))),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "linear": lambda x: x,
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "celu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "log_sigmoid": lambda x: np.log(_sigmoid(x)),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "glu": lambda x: x[..., :6] * _sigmoid(x[..., 6:]),
}


@pytest.mark.parametrize("name", sorted(NUMPY_REFERENCES))
def test_activation_matches_numpy(name):
    out = activations.get(name)(dn.tensor(X))
    np.testing.assert_allclose(out.numpy(), NUMPY_REFERENCES[name](X.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


def test_get_none_and_callable_and_unknown_name():
    assert activations.get(None) is activations.linear
    fn = lambda x: x  # noqa: E731
    assert activations.get(fn) is fn
    with pytest.raises(ValueError, match="relu"):  # the message lists the valid names
        activations.get("relux")


def test_relu_options_and_softmax_axes():
    x = dn.tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
    assert activations.relu(x, negative_slope=0.5).tolist() == [-5.0, -2.5, 0.0, 5.0, 10.0]
    assert activations.relu(x, max_value=5.0).tolist() == [0.0, 0.0, 0.0, 5.0, 5.0]
    assert activations.relu(x, threshold=5.0).tolist() == [0.0, 0.0, 0.0, 0.0, 10.0]
    cube = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    out = activations.softmax(dn.tensor(cube), axis=(1, 2)).numpy()
    e = np.exp(cube - cube.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=(1, 2), keepdims=True), rtol=1e-5)


def test_serialize_round_trip():
    for name in ("relu", "gelu", "swish", "softmax"):
        function = activations.get(name)
        assert activations.get(activations.serialize(function)) is function


def test_activation_gradient_flows():
    x = dn.tensor(X, requires_grad=True)
    activations.gelu(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_regularizers_match_numpy():
    w = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    t = dn.tensor(w)
    assert regularizers.get("l1")(t).item() == pytest.approx(0.01 * np.abs(w).sum(), rel=1e-5)
    assert regularizers.get("l2")(t).item() == pytest.approx(0.01 * (w ** 2).sum(), rel=1e-5)
    assert regularizers.L1L2(0.1, 0.2)(t).item() == pytest.approx(
        0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum(), rel=1e-5)
    assert regularizers.get("l1_l2")(t).item() == 0.0  # Keras's L1L2 defaults are 0
    rows = w / np.linalg.norm(w, axis=1, keepdims=True)
    gram = np.abs(rows @ rows.T)
    expected = 0.01 * 0.5 * (gram.sum() - np.trace(gram)) / (5 * 4 / 2)
    assert regularizers.OrthogonalRegularizer()(t).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="l2"):
        regularizers.get("l3")
    with pytest.raises(ValueError):
        regularizers.L2(-1.0)


def test_regularizer_gradient():
    w = dn.tensor([[1.0, -2.0]], requires_grad=True)
    regularizers.L2(0.5)(w).backward()
    assert w.grad.tolist() == [[1.0, -2.0]]


# ----------------------------------------------------------------------------- Keras parity

@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


KERAS_NAMES = sorted(set(NUMPY_REFERENCES) | {"hard_swish"})


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_activation_matches_keras(keras, name):
    theirs = keras.activations.get(name)(keras.ops.convert_to_tensor(X))
    ours = activations.get(name)(dn.tensor(X))
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-5,
                               atol=1e-6)


def test_relu_options_match_keras(keras):
    x = np.linspace(-4, 8, 25, dtype=np.float32)
    for kwargs in ({"negative_slope": 0.3}, {"max_value": 2.5}, {"threshold": 1.0},
                   {"negative_slope": 0.1, "max_value": 6.0, "threshold": 0.5}):
        theirs = keras.ops.convert_to_numpy(
            keras.activations.relu(keras.ops.convert_to_tensor(x), **kwargs))
        np.testing.assert_allclose(activations.relu(dn.tensor(x), **kwargs).numpy(), theirs,
                                   rtol=1e-6, err_msg=str(kwargs))


def test_gelu_approximate_matches_keras(keras):
    theirs = keras.activations.gelu(keras.ops.convert_to_tensor(X), approximate=True)
    np.testing.assert_allclose(activations.gelu(dn.tensor(X), approximate=True).numpy(),
                               keras.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("identifier,keras_identifier", [
    ("l1", "l1"), ("l2", "l2"), ("L1", "L1"), ("orthogonal_regularizer", "orthogonal_regularizer")])
def test_regularizer_matches_keras(keras, identifier, keras_identifier):
    w = np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32)
    theirs = keras.regularizers.get(keras_identifier)(keras.ops.convert_to_tensor(w))
    assert regularizers.get(identifier)(dn.tensor(w)).item() == pytest.approx(
        float(keras.ops.convert_to_numpy(theirs)), rel=1e-5)
    # (Keras keeps the factors as float32, so 0.01 reads back as 0.0099999998)
    ours = regularizers.get(identifier).get_config()
    theirs = keras.regularizers.get(keras_identifier).get_config()
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert value == (pytest.approx(theirs[key], rel=1e-6) if isinstance(value, float)
                         else theirs[key])


def test_orthogonal_columns_matches_keras(keras):
    w = np.random.default_rng(3).standard_normal((6, 3)).astype(np.float32)
    theirs = keras.regularizers.OrthogonalRegularizer(0.3, "columns")(
        keras.ops.convert_to_tensor(w))
    ours = regularizers.OrthogonalRegularizer(0.3, "columns")(dn.tensor(w))
    assert ours.item() == pytest.approx(float(keras.ops.convert_to_numpy(theirs)), rel=1e-5)
