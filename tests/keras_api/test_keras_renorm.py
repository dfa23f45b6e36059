"""keras_api BatchNormalization(renorm=True) and LayerNormalization(rms_scaling=True): the
weights Keras 3 creates, a NumPy reference of batch renormalization's step (r, d, the renorm
and moving statistics), renorm_clipping's errors, config round trips, and parity with real
Keras 3 (outputs, gradients, every moving variable, inference, a few SGD steps of `fit`)."""
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import Input, Sequential, initializers, layers, optimizers
from _keras_layer_parity import (compare, config_keys, ours_run, rand, real_keras,
                                 training_steps_match)

RENORM_WEIGHTS = ["gamma", "beta", "moving_mean", "moving_variance", "moving_stddev",
                  "renorm_mean", "renorm_stddev"]
STDDEV_WEIGHTS = ("moving_variance", "moving_stddev", "renorm_stddev")


def renorm_step(x, weights, axis=-1, momentum=0.99, renorm_momentum=0.99, epsilon=1e-3,
                clipping=None):
    """NumPy reference of one training step of Keras 3's batch renormalization: the output and
    the seven weights after it (gamma, beta, moving_mean, moving_variance, moving_stddev,
    renorm_mean, renorm_stddev)."""
    gamma, beta, moving_mean, _, moving_stddev, renorm_mean, renorm_stddev = [
        w.astype(np.float64) for w in weights]
    clipping = clipping or {}
    axis = axis % x.ndim
    reduce = tuple(d for d in range(x.ndim) if d != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    mean, variance = x.mean(reduce), x.var(reduce)
    stddev = np.sqrt(variance + epsilon)
    floor = np.maximum(renorm_stddev, np.sqrt(epsilon))
    r, d = stddev / floor, (mean - renorm_mean) / floor
    r = np.clip(r, clipping.get("rmin", -np.inf), clipping.get("rmax", np.inf))
    d = np.clip(d, -clipping.get("dmax", np.inf), clipping.get("dmax", np.inf))
    x_hat = (x - mean.reshape(shape)) / stddev.reshape(shape)
    out = gamma.reshape(shape) * (x_hat * r.reshape(shape) + d.reshape(shape)) + beta.reshape(
        shape)
    moving_stddev = moving_stddev * momentum + stddev * (1 - momentum)
    after = [gamma, beta, moving_mean * momentum + mean * (1 - momentum),
             np.maximum(moving_stddev ** 2 - epsilon, 0.0), moving_stddev,
             renorm_mean * renorm_momentum + mean * (1 - renorm_momentum),
             renorm_stddev * renorm_momentum + stddev * (1 - renorm_momentum)]
    return out, after, (x_hat, r, d)


def random_weights(keras_layer, seed=0):
    """Random values for every weight of a built Keras layer, the variance and the standard
    deviations positive."""
    return [np.abs(rand(*w.shape, seed=seed + i)) + 0.5 if w.name in STDDEV_WEIGHTS
            else rand(*w.shape, seed=seed + i) for i, w in enumerate(keras_layer.weights)]


def renorm_weights(channels, seed=0):
    """[gamma, beta, moving_mean, moving_variance, moving_stddev, renorm_mean,
    renorm_stddev] with positive variance and standard deviations."""
    weights = [rand(channels, seed=seed + i) for i in range(7)]
    for i in (3, 4, 6):
        weights[i] = np.abs(weights[i]) + 0.5
    return weights


# ----------------------------------------------------------------------------- without Keras

def test_renorm_weights_names_order_and_initial_values():
    bn = layers.BatchNormalization(renorm=True,
                                   moving_variance_initializer=initializers.Constant(4.0),
                                   moving_mean_initializer=initializers.Constant(0.5))
    bn(dn.ones(2, 3, 5))
    assert [n for n, _ in bn.named_parameters()] == ["gamma", "beta"]
    assert list(bn.state_dict()) == RENORM_WEIGHTS
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 5
    values = bn.get_weights()
    assert [tuple(v.shape) for v in values] == [(5,)] * 7
    # moving_stddev and renorm_stddev start at sqrt(moving variance's initializer)
    np.testing.assert_array_equal(values[3], np.full(5, 4.0))
    np.testing.assert_array_equal(values[4], np.full(5, 2.0))
    np.testing.assert_array_equal(values[5], np.full(5, 0.5))
    np.testing.assert_array_equal(values[6], np.full(5, 2.0))
    bn = layers.BatchNormalization(renorm=True, center=False, scale=False)
    bn(dn.ones(2, 3))
    assert list(bn.state_dict()) == RENORM_WEIGHTS[2:] and list(bn.parameters()) == []


@pytest.mark.parametrize("shape,kwargs", [
    ((8, 4), {}),
    ((5, 3, 4), {"momentum": 0.7, "renorm_momentum": 0.5,
                 "renorm_clipping": {"rmax": 1.2, "rmin": 0.8, "dmax": 0.3}}),
    ((4, 3, 2, 2), {"axis": 1, "epsilon": 1e-5, "renorm_momentum": 0.2,
                    "renorm_clipping": {"dmax": 0.0}})])
def test_renorm_training_steps_match_numpy(shape, kwargs):
    bn = layers.BatchNormalization(renorm=True, **kwargs)
    axis = kwargs.get("axis", -1)
    bn(dn.tensor(rand(*shape)))
    weights = renorm_weights(shape[axis])
    bn.set_weights(weights)
    reference = dict(axis=axis, momentum=kwargs.get("momentum", 0.99),
                     renorm_momentum=kwargs.get("renorm_momentum", 0.99),
                     epsilon=kwargs.get("epsilon", 1e-3), clipping=kwargs.get("renorm_clipping"))
    for step in range(3):
        x = rand(*shape, seed=10 + step) * 2 + 0.5
        grad_out = rand(*shape, seed=20 + step)
        want, weights, (x_hat, r, d) = renorm_step(x, weights, **reference)
        mine = ours_run(bn, x, grad_out, training=True)
        np.testing.assert_allclose(mine[0], want, rtol=1e-4, atol=1e-5)
        for got, ref in zip(bn.get_weights(), weights):
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
        # r and d are constants: d(out)/d(gamma) = x_hat * r + d, d(out)/d(beta) = 1
        reduce = tuple(i for i in range(len(shape)) if i != axis % len(shape))
        view = [1] * len(shape)
        view[axis] = -1
        np.testing.assert_allclose(
            mine[2][0], (grad_out * (x_hat * r.reshape(view) + d.reshape(view))).sum(reduce),
            rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(mine[2][1], grad_out.sum(reduce), rtol=1e-4, atol=1e-5)
        for w in bn.trainable_weights:
            w.grad = None
    # inference: the moving mean and variance, nothing updated
    x = rand(*shape, seed=30)
    before = bn.get_weights()
    gamma, beta, moving_mean, moving_variance = (w.reshape(view) for w in before[:4])
    np.testing.assert_allclose(bn(dn.tensor(x)).detach().numpy(),
                               gamma * (x - moving_mean) / np.sqrt(moving_variance
                                                                   + reference["epsilon"])
                               + beta, rtol=1e-4, atol=1e-5)
    for got, ref in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(got, ref)


def test_frozen_renorm_layer_runs_in_inference_mode():
    bn = layers.BatchNormalization(renorm=True)
    x = dn.tensor(rand(8, 3) + 5)
    bn(x)
    bn.trainable = False
    out = bn(x, training=True).detach().numpy()
    np.testing.assert_allclose(out, x.numpy() / np.sqrt(1 + 1e-3), rtol=1e-5)
    for got, initial in zip(bn.get_weights(), [1, 0, 0, 1, 1, 0, 1]):
        np.testing.assert_array_equal(got, np.full(3, initial, np.float32))


@pytest.mark.parametrize("clipping,match", [
    ({"rmax": 2.0, "foo": 1.0}, r"invalid keys \['foo'\]"),
    ({"rmax": 0.5, "rmin": 2.0}, r"rmax >= rmin.*rmax=0.5, rmin=2.0"),
    ({"dmax": -1.0}, r"dmax >= 0.*dmax=-1.0"),
    ({"rmax": "big"}, r"renorm_clipping\['rmax'\].*number.*'big'"),
    ([("rmax", 2.0)], r"renorm_clipping.*must be a dict")])
def test_bad_renorm_clipping_raises_value_error(clipping, match):
    with pytest.raises(ValueError, match=match):
        layers.BatchNormalization(renorm=True, renorm_clipping=clipping)
    # as Keras: renorm_clipping is only checked (and used) with renorm=True
    assert layers.BatchNormalization(renorm_clipping=clipping).renorm_clipping == clipping


def test_renorm_config_round_trip():
    bn = layers.BatchNormalization(renorm=True, renorm_momentum=0.9,
                                   renorm_clipping={"rmax": 3.0, "dmax": 5.0})
    config = bn.get_config()
    assert config["renorm"] is True and config["renorm_momentum"] == 0.9
    assert config["renorm_clipping"] == {"rmax": 3.0, "dmax": 5.0}
    twin = layers.BatchNormalization.from_config(config)
    assert twin.get_config() == config
    x = rand(6, 2)
    bn(dn.tensor(x))
    twin(dn.tensor(x))
    twin.set_weights(bn.get_weights())
    np.testing.assert_array_equal(bn(dn.tensor(x), training=True).detach().numpy(),
                                  twin(dn.tensor(x), training=True).detach().numpy())
    # Keras stores an absent clipping as {} with renorm, as given without
    assert layers.BatchNormalization(renorm=True).get_config()["renorm_clipping"] == {}
    assert layers.BatchNormalization().get_config()["renorm_clipping"] is None


def test_rms_scaling_warns_and_matches_numpy():
    x = rand(2, 3, 4) * 2 + 1
    with pytest.warns(UserWarning, match="rms_scaling=True is deprecated"):
        ln = layers.LayerNormalization(rms_scaling=True, scale=False)
    out = ln(dn.tensor(x)).detach().numpy()
    # Keras 3.15's rule: scaled by the variance, not centered, no beta, gamma even scale=False
    np.testing.assert_allclose(out, x / np.sqrt(x.var(-1, keepdims=True) + 1e-3), rtol=1e-5)
    assert [n for n, _ in ln.named_parameters()] == ["gamma"]
    with pytest.warns(UserWarning):
        ln = layers.LayerNormalization(axis=[1, 2], rms_scaling=True)
    ln(dn.tensor(x))
    gamma = rand(3, 4, seed=1)
    ln.set_weights([gamma])
    out = ln(dn.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, gamma * x / np.sqrt(x.var((1, 2), keepdims=True) + 1e-3),
                               rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning without rms_scaling
        assert layers.LayerNormalization(rms_scaling=False).rms_scaling is False


def test_rms_scaling_config_round_trip_and_training():
    with pytest.warns(UserWarning):
        ln = layers.LayerNormalization(axis=1, epsilon=1e-5, rms_scaling=True)
    config = ln.get_config()
    assert config["rms_scaling"] is True
    with pytest.warns(UserWarning):
        twin = layers.LayerNormalization.from_config(config)
    assert twin.get_config() == config
    x = rand(4, 3, 2)
    ln(dn.tensor(x))
    twin(dn.tensor(x))
    twin.set_weights([np.array([0.5, 1.0, 2.0], np.float32)])
    # a step of SGD on a squared output moves gamma
    before = twin.get_weights()[0].copy()
    out = twin(dn.tensor(x))
    (out * out).sum().backward()
    with dn.no_grad():
        twin.gamma.sub_(0.1 * twin.gamma.grad)
    x_hat = x / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    grad = (2 * before.reshape(1, 3, 1) * x_hat * x_hat).sum((0, 2))
    np.testing.assert_allclose(twin.get_weights()[0], before - 0.1 * grad, rtol=1e-5)


# ----------------------------------------------------------------------------- against Keras

RENORM_CASES = [
    ((8, 5), {}),
    ((8, 5), {"renorm_momentum": 0.6}),
    ((6, 4, 3), {"momentum": 0.7, "renorm_momentum": 0.5,
                 "renorm_clipping": {"rmax": 1.1, "rmin": 0.9, "dmax": 0.1}}),
    ((4, 3, 5), {"axis": 1, "renorm_momentum": 0.3, "renorm_clipping": {"rmax": 1.5}}),
    ((4, 3, 2, 5), {"axis": -2, "momentum": 0.8, "renorm_momentum": 0.4,
                    "renorm_clipping": {"rmin": 0.95, "dmax": 0.5}}),
    ((6, 4), {"center": False, "renorm_clipping": {"dmax": 0.0}, "renorm_momentum": 0.5}),
    ((6, 4), {"scale": False, "epsilon": 1e-5, "renorm_momentum": 0.5}),
    ((6, 4), {"scale": False, "center": False, "renorm_momentum": 0.5})]


@pytest.mark.parametrize("shape,kwargs", RENORM_CASES)
def test_renorm_matches_keras_in_training_and_inference(shape, kwargs):
    keras = real_keras()
    ours = layers.BatchNormalization(renorm=True, **kwargs)
    theirs = keras.layers.BatchNormalization(renorm=True, **kwargs)
    x = rand(*shape) * 2 + 0.5
    ours(dn.tensor(x))
    theirs(x)
    assert [w.name for w in theirs.weights] == [n for n in RENORM_WEIGHTS
                                                 if n in ours.state_dict()]
    assert list(ours.state_dict()) == [w.name for w in theirs.weights]
    weights = random_weights(theirs)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    # the moving and renorm statistics move, r and d follow them
    training_steps_match(ours, theirs, [rand(*shape, seed=10 + step) * (1 + step) + 0.5 * step
                                        for step in range(4)], out_rtol=1e-5)
    assert not np.allclose(ours.get_weights()[-1], weights[-1])  # renorm_stddev moved
    compare(ours, theirs, x, grads=True, rtol=1e-5)  # inference with the moved statistics
    config_keys(ours, theirs)
    for key in ("renorm", "renorm_clipping", "renorm_momentum"):
        assert ours.get_config()[key] == theirs.get_config()[key], key


def test_masked_renorm_matches_keras():
    keras = real_keras()
    import torch

    kwargs = dict(renorm=True, momentum=0.6, renorm_momentum=0.5, renorm_clipping={"rmax": 1.5})
    ours, theirs = layers.BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    x = rand(3, 6, 4) * 2 + 1
    mask = np.random.default_rng(1).random((3, 6)) > 0.3
    ours(dn.tensor(x))
    theirs(x)
    weights = random_weights(theirs)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    for step in range(3):
        batch = x * (step + 1)
        mine = ours(dn.tensor(batch), training=True, mask=dn.tensor(mask))
        ref = theirs(torch.tensor(batch), training=True, mask=torch.tensor(mask))
        np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_fit_with_renorm_matches_keras():
    keras = real_keras()
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((32, 4)) * 2 + 1).astype(np.float32)
    y = rng.standard_normal((32, 2)).astype(np.float32)

    def build(lib_input, lib_layers, lib_sequential, sgd):
        model = lib_sequential([
            lib_input((4,)), lib_layers.Dense(5),
            lib_layers.BatchNormalization(renorm=True, momentum=0.8, renorm_momentum=0.6,
                                          renorm_clipping={"rmax": 1.3, "rmin": 0.8,
                                                           "dmax": 0.4}),
            lib_layers.Dense(2)])
        model.compile(optimizer=sgd(0.1), loss="mse")
        return model
    ours = build(Input, layers, Sequential, optimizers.SGD)
    theirs = build(keras.Input, keras.layers, keras.Sequential, keras.optimizers.SGD)
    weights = [rand(*w.shape, seed=i) * 0.5 for i, w in enumerate(ours.get_weights())]
    weights[5] = np.abs(weights[5]) + 0.5  # moving_variance, moving_stddev, renorm_stddev
    weights[6] = np.abs(weights[6]) + 0.5
    weights[8] = np.abs(weights[8]) + 0.5
    ours.set_weights(weights)
    theirs.set_weights(weights)
    assert len(ours.get_weights()) == len(theirs.get_weights()) == 11
    ours.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for index, (a, b) in enumerate(zip(ours.get_weights(), theirs.get_weights())):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"weight {index}")
    assert not np.allclose(ours.get_weights()[2], weights[2])  # gamma trained
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("clipping", [{"rmax": 2.0, "foo": 1.0}, {"rmax": 0.5, "rmin": 2.0},
                                      {"dmax": -1.0}])
def test_bad_renorm_clipping_raises_what_keras_raises(clipping):
    keras = real_keras()
    with pytest.raises(ValueError):
        keras.layers.BatchNormalization(renorm=True, renorm_clipping=clipping)
    with pytest.raises(ValueError):
        layers.BatchNormalization(renorm=True, renorm_clipping=clipping)


@pytest.mark.parametrize("shape,kwargs", [
    ((4, 6), {}), ((2, 3, 5), {"axis": -1, "epsilon": 1e-5}), ((2, 3, 5), {"axis": [1, 2]}),
    ((2, 3, 4, 5), {"axis": [1, 3], "scale": False}), ((3, 4, 5), {"axis": 1}),
    ((2, 3, 5), {"center": False})])
def test_rms_scaling_matches_keras(shape, kwargs):
    keras = real_keras()
    with pytest.warns(UserWarning):
        ours = layers.LayerNormalization(rms_scaling=True, **kwargs)
    with pytest.warns(UserWarning):
        theirs = keras.layers.LayerNormalization(rms_scaling=True, **kwargs)
    x = rand(*shape) * 3 + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras warns again on every call
        ours(dn.tensor(x))
        ours.set_weights([rand(*w.shape, seed=i + 1) for i, w in enumerate(ours.get_weights())])
        compare(ours, theirs, x, grads=True, rtol=1e-5)
    config_keys(ours, theirs)
    assert ours.get_config()["rms_scaling"] == theirs.get_config()["rms_scaling"]
    assert ours.get_config()["axis"] == theirs.get_config()["axis"]
