"""keras_api.initializers: Keras's fan rules on dense and conv shapes, the statistics of each
distribution, seeding through dualnet's stream, names; Keras 3 as the reference where installed."""
import math
import os

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import initializers

os.environ.setdefault("KERAS_BACKEND", "torch")

CONV = (3, 3, 16, 32)  # Keras's Conv2D kernel layout (kh, kw, in, out)


def test_compute_fans_keras_layout():
    assert initializers.compute_fans((20, 30)) == (20, 30)
    assert initializers.compute_fans(CONV) == (9 * 16, 9 * 32)
    assert initializers.compute_fans((5, 4, 8)) == (20, 40)  # Conv1D (k, in, out)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans(()) == (1, 1)


def _limit_and_std(name, fan_in, fan_out):
    """(uniform limit or None, std) that Keras's formulas give."""
    return {
        "glorot_uniform": (math.sqrt(6 / (fan_in + fan_out)), None),
        "he_uniform": (math.sqrt(6 / fan_in), None),
        "lecun_uniform": (math.sqrt(3 / fan_in), None),
        "glorot_normal": (None, math.sqrt(2 / (fan_in + fan_out))),
        "he_normal": (None, math.sqrt(2 / fan_in)),
        "lecun_normal": (None, math.sqrt(1 / fan_in)),
    }[name]


@pytest.mark.parametrize("name", ["glorot_uniform", "he_uniform", "lecun_uniform",
                                  "glorot_normal", "he_normal", "lecun_normal"])
def test_variance_scaling_statistics_on_conv_kernel(name):
    dn.manual_seed(0)
    values = initializers.get(name)(CONV).numpy()
    assert values.shape == CONV and values.dtype == np.float32
    limit, std = _limit_and_std(name, 9 * 16, 9 * 32)
    if limit is not None:
        assert np.abs(values).max() <= limit
        assert values.std() == pytest.approx(limit / math.sqrt(3), rel=0.05)
    else:
        # truncated at 2 std of the scaled normal, whose std after truncation is `std`
        assert np.abs(values).max() <= 2 * std / 0.87962566103423978 + 1e-6
        assert values.std() == pytest.approx(std, rel=0.05)


def test_random_normal_uniform_truncated_defaults():
    dn.manual_seed(1)
    normal = initializers.RandomNormal()((200, 100)).numpy()
    assert normal.mean() == pytest.approx(0, abs=0.005) and normal.std() == pytest.approx(
        0.05, rel=0.03)
    uniform = initializers.get("uniform")((200, 100)).numpy()
    assert uniform.min() >= -0.05 and uniform.max() <= 0.05
    truncated = initializers.TruncatedNormal(mean=1.0, stddev=0.1)((200, 100)).numpy()
    assert truncated.min() >= 0.8 and truncated.max() <= 1.2


def test_constant_zeros_ones_identity_orthogonal():
    assert initializers.get("zeros")((2, 3)).tolist() == [[0.0] * 3] * 2
    assert initializers.get("ones")((2,)).tolist() == [1.0, 1.0]
    assert initializers.Constant(2.5)((2,)).tolist() == [2.5, 2.5]
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((2, 3)).numpy(),
                                  2 * np.eye(2, 3))
    q = initializers.Orthogonal(gain=1.5)((3, 3, 4, 8)).numpy().reshape(-1, 8)
    np.testing.assert_allclose(q.T @ q, 2.25 * np.eye(8), atol=1e-5)
    wide = initializers.get("orthogonal")((4, 10)).numpy()
    np.testing.assert_allclose(wide @ wide.T, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError):
        initializers.Orthogonal()((5,))
    with pytest.raises(ValueError):
        initializers.Identity()((2, 2, 2))


def test_seeding_repeats():
    dn.manual_seed(7)
    first = initializers.GlorotUniform()((4, 5)).numpy()
    dn.manual_seed(7)
    np.testing.assert_array_equal(initializers.GlorotUniform()((4, 5)).numpy(), first)
    seeded = initializers.HeNormal(seed=3)
    np.testing.assert_array_equal(seeded((4, 4)).numpy(), seeded((4, 4)).numpy())
    assert not np.array_equal(initializers.HeNormal(seed=4)((4, 4)).numpy(),
                              seeded((4, 4)).numpy())


def test_names_dtype_config_and_errors():
    for name in ("glorot_uniform", "GlorotUniform", "zeros", "zero", "one", "normal",
                 "orthogonal", "variance_scaling", "truncated_normal", "he_normal"):
        assert callable(initializers.get(name))
    assert initializers.get("zeros")((3,), dtype="float64").dtype == dn.float64
    init = initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform", seed=5)
    clone = initializers.deserialize(initializers.serialize(init))
    assert clone.get_config() == init.get_config()
    np.testing.assert_array_equal(clone((3, 4)).numpy(), init((3, 4)).numpy())
    with pytest.raises(ValueError, match="glorot_uniform"):
        initializers.get("glorot_unifrom")
    with pytest.raises(ValueError):
        initializers.VarianceScaling(mode="fan_sideways")
    fixed = initializers.get(np.arange(6.0).reshape(2, 3))
    assert fixed((2, 3)).tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(ValueError):
        fixed((3, 2))


# ----------------------------------------------------------------------------- Keras parity

@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal", "random_normal",
                                  "random_uniform", "truncated_normal", "variance_scaling",
                                  "orthogonal"])
@pytest.mark.parametrize("shape", [(64, 48), CONV])
def test_distribution_matches_keras(keras, name, shape):
    """Same range and spread as Keras's draw (the streams differ, the distributions must not)."""
    keras.utils.set_random_seed(0)
    theirs = keras.ops.convert_to_numpy(keras.initializers.get(name)(shape))
    dn.manual_seed(0)
    ours = initializers.get(name)(shape).numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert ours.std() == pytest.approx(theirs.std(), rel=0.08)
    assert np.abs(ours).max() <= np.abs(theirs).max() * 1.25
    assert np.abs(ours).max() >= np.abs(theirs).max() * 0.75


def test_config_matches_keras(keras):
    for name in ("glorot_uniform", "orthogonal", "random_normal", "variance_scaling",
                 "truncated_normal"):
        theirs = keras.initializers.get(name).get_config()
        ours = initializers.get(name).get_config()
        assert ours == theirs, name


def test_exact_values_match_keras(keras):
    for name in ("zeros", "ones", "identity"):
        theirs = keras.ops.convert_to_numpy(keras.initializers.get(name)((3, 4)))
        np.testing.assert_array_equal(initializers.get(name)((3, 4)).numpy(), theirs)
