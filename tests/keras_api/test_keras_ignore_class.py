"""SparseCategoricalCrossentropy(ignore_class=...) and its function form: ignored positions give
0, carry a mask and leave the means, as in Keras 3 (values and gradients against real Keras for
every reduction, with and without sample weights), against NumPy where Keras is absent."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import dualnet as dn
from dualnet.keras_api import losses

RNG = np.random.default_rng(7)
SHAPE, C = (3, 4), 5


def _batch(ignore):
    """Segmentation-like data: per-position labels, a few set to `ignore`, one row all."""
    probs = RNG.random(SHAPE + (C,)).astype(np.float32) + 0.05
    probs /= probs.sum(-1, keepdims=True)
    logits = RNG.normal(size=SHAPE + (C,)).astype(np.float32)
    labels = RNG.integers(0, C, SHAPE)
    labels[0, 1] = labels[1, 3] = ignore
    labels[2] = ignore
    return labels, probs, logits


REDUCTIONS = ["sum_over_batch_size", "sum", "mean_with_sample_weight", None]
CASES = [(from_logits, reduction, weighted, ignore)
         for from_logits in (False, True) for reduction in REDUCTIONS
         for weighted in (False, True) for ignore in (255, -1)]


@pytest.mark.parametrize("from_logits,reduction,weighted,ignore", CASES)
def test_matches_keras_values_and_gradients(from_logits, reduction, weighted, ignore):
    keras = pytest.importorskip("keras")
    torch = pytest.importorskip("torch")
    labels, probs, logits = _batch(ignore)
    y_pred = logits if from_logits else probs
    weights = RNG.random(SHAPE).astype(np.float32) if weighted else None
    kwargs = dict(from_logits=from_logits, ignore_class=ignore, reduction=reduction)
    ours_in = dn.tensor(y_pred, requires_grad=True)
    ours = losses.SparseCategoricalCrossentropy(**kwargs)(labels, ours_in, sample_weight=weights)
    theirs_in = torch.tensor(y_pred, requires_grad=True)
    theirs = keras.losses.SparseCategoricalCrossentropy(**kwargs)(
        labels, theirs_in, sample_weight=weights)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5,
                               atol=1e-7)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-5,
                               atol=1e-7)
    assert not ours_in.grad.numpy()[2].any()  # an ignored row gets no gradient


@pytest.mark.parametrize("from_logits", [False, True])
def test_function_form_matches_keras(from_logits):
    keras = pytest.importorskip("keras")
    labels, probs, logits = _batch(255)
    y_pred = logits if from_logits else probs
    ours = losses.sparse_categorical_crossentropy(labels, dn.tensor(y_pred),
                                                  from_logits=from_logits, ignore_class=255)
    theirs = keras.losses.sparse_categorical_crossentropy(labels, y_pred,
                                                          from_logits=from_logits,
                                                          ignore_class=255)
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_array_equal(ours._keras_mask.numpy(), labels != 255)


def test_numpy_reference_mean_over_kept_positions():
    labels, probs, _ = _batch(-1)
    keep = labels != -1
    picked = np.take_along_axis(probs, np.where(keep, labels, 0)[..., None], -1)[..., 0]
    expected = -np.log(picked[keep]).mean()
    got = losses.SparseCategoricalCrossentropy(ignore_class=-1)(labels, dn.tensor(probs))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    # a trailing label axis of 1 and float labels are accepted, as Keras accepts them
    got = losses.SparseCategoricalCrossentropy(ignore_class=-1)(
        labels[..., None].astype(np.float32), dn.tensor(probs))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    # everything ignored: 0, not NaN (Keras's divide_no_nan)
    assert float(losses.SparseCategoricalCrossentropy(ignore_class=-1)(
        -np.ones(SHAPE, np.int64), dn.tensor(probs))) == 0.0


def test_config_round_trip_and_compile_fit():
    from dualnet import keras_api as keras_dn
    from dualnet.keras_api import layers

    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3)
    config = loss.get_config()
    assert config["ignore_class"] == 3 and config["from_logits"] is True
    assert losses.deserialize(losses.serialize(loss)).ignore_class == 3
    x = RNG.random((16, 6)).astype(np.float32)
    y = RNG.integers(0, 4, 16)  # label 3 is the ignored class; the model has 3 outputs
    model = keras_dn.Sequential([keras_dn.Input((6,)), layers.Dense(3)])
    model.compile("sgd", loss)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    keep = y != 3
    logits = model.predict(x, verbose=0)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -log_probs[keep, y[keep]].mean()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_labels_out_of_range_still_raise():
    labels, probs, _ = _batch(255)
    labels[0, 0] = 7
    with pytest.raises(ValueError, match="label 7 is out of range for 5 classes"):
        losses.SparseCategoricalCrossentropy(ignore_class=255)(labels, dn.tensor(probs))
