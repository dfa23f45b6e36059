"""Helpers of the keras_api layer parity tests: run one layer in dualnet and in real Keras
(torch backend) on the same weights and input, and return outputs and gradients as NumPy."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import dualnet as dn  # noqa: E402

RTOL, ATOL = 1e-5, 1e-5


def real_keras():
    """The real keras package on the torch backend, or a skip."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on the {keras.backend.backend()} backend, not torch")
    return keras


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ours_run(layer, inputs, grad_out=None, training=None):
    """(output, input gradients, trainable-weight gradients) of our layer as NumPy."""
    many = isinstance(inputs, (list, tuple))
    xs = [dn.tensor(x, requires_grad=grad_out is not None) for x in (inputs if many else
                                                                        [inputs])]
    kwargs = {} if training is None else {"training": training}
    out = layer(xs if many else xs[0], **kwargs)
    if grad_out is None:
        return out.detach().numpy(), None, None
    (out * dn.tensor(grad_out)).sum().backward()
    return (out.detach().numpy(), [x.grad.numpy() for x in xs],
            [w.grad.numpy() for w in layer.trainable_weights])


def keras_run(layer, inputs, grad_out=None, training=None):
    """The same for a real Keras layer (its torch tensors are differentiated by torch)."""
    import torch

    many = isinstance(inputs, (list, tuple))
    xs = [torch.tensor(x, requires_grad=grad_out is not None) for x in (inputs if many else
                                                                           [inputs])]
    kwargs = {} if training is None else {"training": training}
    out = layer(xs if many else xs[0], **kwargs)
    if grad_out is None:
        return out.detach().cpu().numpy(), None, None
    for w in layer.trainable_weights:
        w.value.grad = None
    (out * torch.tensor(grad_out)).sum().backward()
    return (out.detach().cpu().numpy(), [x.grad.numpy() for x in xs],
            [w.value.grad.numpy() for w in layer.trainable_weights])


def compare(ours, theirs, inputs, grads=False, training=None, rtol=RTOL, atol=ATOL):
    """Build both layers on `inputs`, give Keras our weights, compare outputs (and gradients
    of a random upstream gradient w.r.t. inputs and weights when `grads`). Returns our output."""
    out = ours_run(ours, inputs, training=False)[0]  # builds ours (inference: no side effects)
    theirs(list(inputs) if isinstance(inputs, (list, tuple)) else inputs, training=False)
    assert len(ours.get_weights()) == len(theirs.get_weights())
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert a.shape == b.shape
    theirs.set_weights(ours.get_weights())
    grad_out = rand(*out.shape, seed=7) if grads else None
    mine = ours_run(ours, inputs, grad_out, training)
    ref = keras_run(theirs, inputs, grad_out, training)
    assert mine[0].shape == ref[0].shape, (mine[0].shape, ref[0].shape)
    np.testing.assert_allclose(mine[0], ref[0], rtol=rtol, atol=atol)
    if grads:
        for a, b in zip(mine[1] + mine[2], ref[1] + ref[2]):
            np.testing.assert_allclose(a, b, rtol=max(rtol, 1e-4), atol=max(atol, 1e-4))
    return mine[0]


def training_steps_match(ours, theirs, batches, out_rtol):
    """Training-mode steps of both layers (same weights to start) on each batch, with a random
    upstream gradient: outputs, input / weight gradients and afterwards every weight (the
    moving statistics) agree."""
    for step, batch in enumerate(batches):
        grad_out = rand(*batch.shape, seed=20 + step)
        mine = ours_run(ours, batch, grad_out, training=True)
        ref = keras_run(theirs, batch, grad_out, training=True)
        np.testing.assert_allclose(mine[0], ref[0], rtol=out_rtol, atol=1e-5)
        for a, b in zip(mine[1] + mine[2], ref[1] + ref[2]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        for w in ours.trainable_weights:
            w.grad = None


def config_keys(ours, theirs):
    assert set(ours.get_config()) == set(theirs.get_config()), (
        sorted(set(ours.get_config()) ^ set(theirs.get_config())))


def to_np(value):
    """A dualnet tensor (detached, on the host) or array-like as a NumPy array."""
    return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)


def same_weights(ours, theirs):
    """Our and Keras's weight lists: same dtypes and shapes, ints exact, floats to 1e-6."""
    ours, theirs = [to_np(w) for w in ours], [np.asarray(to_np(w)) for w in theirs]
    assert [(w.dtype, w.shape) for w in ours] == [(w.dtype, w.shape) for w in theirs]
    for mine, ref in zip(ours, theirs):
        if np.issubdtype(ref.dtype, np.integer):
            np.testing.assert_array_equal(mine, ref)
        else:
            np.testing.assert_allclose(mine, ref, rtol=1e-6, atol=0)


def built_pair(real, make_ours, make_theirs, build_shape, seed=0):
    """The same float layer in dualnet and Keras (`make_*` take the layers module), both built,
    with the same random weights."""
    from dualnet.keras_api import layers
    ours, theirs = make_ours(layers), make_theirs(real.layers)
    ours.build(build_shape)
    theirs.build(build_shape)
    share_random_weights(ours, theirs, seed)
    return ours, theirs


def share_random_weights(ours, theirs, seed=0):
    """Set the same random values (one seed per weight, from `seed`) on both built models."""
    values = [rand(*w.shape, seed=seed + i) for i, w in enumerate(theirs.get_weights())]
    ours.set_weights(values)
    theirs.set_weights(values)


def fit_matches_keras(real, ours, theirs, epochs):
    """`fit` both models (SGD 0.05, mse) on the same random data: the same weights after (ints
    exact, floats to 1e-4) and the same predictions."""
    from dualnet import keras_api
    x, y = rand(16, ours.inputs[0].shape[-1], seed=30), rand(16, ours.outputs[0].shape[-1],
                                                              seed=31)
    ours.compile(optimizer=keras_api.optimizers.SGD(0.05), loss="mse")
    theirs.compile(optimizer=real.optimizers.SGD(0.05), loss="mse")
    ours.fit(x, y, epochs=epochs, batch_size=4, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=epochs, batch_size=4, shuffle=False, verbose=0)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        if np.issubdtype(ref.dtype, np.integer):
            np.testing.assert_array_equal(mine, ref)
        else:
            np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)
