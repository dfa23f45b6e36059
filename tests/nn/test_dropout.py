"""nn.Dropout / Dropout1d / Dropout2d / Dropout3d / AlphaDropout: the training-mode masks (rate,
scale, whole channels), the identity in eval mode, masks that repeat under dn.manual_seed,
gradients through the same mask, reprs like torch's, p checked at construction."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

LAYERS = ["Dropout()", "Dropout(0.2, inplace=True)", "Dropout1d(p=0.3)", "Dropout2d(0.1)",
          "Dropout3d(0.4)", "AlphaDropout(0.25)", "AlphaDropout(p=0.0, inplace=False)"]


@pytest.mark.parametrize("text", LAYERS)
def test_repr_matches_torch(text):
    torch = pytest.importorskip("torch")
    ours, theirs = eval("nn." + text), eval("torch.nn." + text)  # noqa: S307
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and len(theirs.state_dict()) == 0


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeros_a_fraction_p_and_scales_the_rest(p):
    dn.manual_seed(0)
    out = nn.Dropout(p)(dn.ones(200, 500)).numpy()
    kept = out != 0
    assert kept.mean() == pytest.approx(1 - p, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-6)


def test_eval_mode_is_the_identity_and_train_switches_back():
    drop = nn.Dropout(0.5)
    x = dn.randn(50, 50)
    drop.eval()
    assert not drop.training
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    drop.train()
    assert (drop(x).numpy() == 0).any()


@pytest.mark.parametrize("text, shape", [("Dropout(0.5)", (20, 30)),
                                         ("Dropout2d(0.5)", (8, 16, 5, 5)),
                                         ("AlphaDropout(0.3)", (20, 30))])
def test_masks_repeat_under_manual_seed(text, shape):
    layer = eval("nn." + text)  # noqa: S307
    x = dn.randn(*shape)
    dn.manual_seed(42)
    first = layer(x).numpy()
    second = layer(x).numpy()
    dn.manual_seed(42)
    again = layer(x).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # the stream moves on between calls


def test_gradient_is_the_same_mask():
    dn.manual_seed(1)
    x = dn.randn(30, 40, requires_grad=True)
    out = nn.Dropout(0.4)(x)
    out.sum().backward()
    mask = out.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-5)
    np.testing.assert_allclose(np.unique(x.grad.numpy()), [0.0, 1 / 0.6], rtol=1e-6)


@pytest.mark.parametrize("text, shape, spatial", [("Dropout1d(0.5)", (4, 64, 7), (2,)),
                                                  ("Dropout1d(0.5)", (64, 7), (1,)),
                                                  ("Dropout2d(0.5)", (4, 64, 3, 5), (2, 3)),
                                                  ("Dropout3d(0.5)", (2, 32, 2, 3, 2), (2, 3, 4))])
def test_channel_dropout_zeros_whole_channels(text, shape, spatial):
    dn.manual_seed(3)
    out = eval("nn." + text)(dn.ones(*shape)).numpy()  # noqa: S307
    zero, scaled = (out == 0).all(axis=spatial), (out == 2.0).all(axis=spatial)
    assert (zero | scaled).all()
    assert 0.3 < zero.mean() < 0.7


def test_inplace_dropout_writes_into_its_input():
    dn.manual_seed(0)
    x = dn.ones(100)
    out = nn.Dropout(0.5, inplace=True)(x)
    np.testing.assert_array_equal(x.numpy(), out.numpy())
    assert (x.numpy() == 0).any()


def test_alpha_dropout_keeps_mean_and_variance_of_a_standard_normal():
    dn.manual_seed(0)
    x = dn.randn(400, 500)
    out = nn.AlphaDropout(0.2)(x).numpy()
    assert abs(out.mean()) < 0.02 and out.std() == pytest.approx(1.0, abs=0.02)
    _, counts = np.unique(out, return_counts=True)  # dropped units all take one value
    assert 0.18 < counts.max() / out.size < 0.22
    np.testing.assert_array_equal(nn.AlphaDropout(0.2).eval()(x).numpy(), x.numpy())


@pytest.mark.parametrize("cls", [nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout])
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_outside_zero_one_is_a_value_error(cls, p):
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*between 0 and 1.*{p}"):
        cls(p)


def test_p_one_drops_everything_and_p_zero_nothing():
    x = dn.randn(10, 10)
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
