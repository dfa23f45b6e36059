"""nn.ZeroPad1d / nn.ZeroPad2d: outputs, input gradients and reprs equal torch's; a padding of the
wrong length is a TypeError naming the layer."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

CASES = [("ZeroPad1d(2)", (2, 3, 5)), ("ZeroPad1d((0, 3))", (2, 3, 5)),
         ("ZeroPad2d(1)", (2, 3, 4, 5)), ("ZeroPad2d((0, 1, 2, 0))", (2, 3, 4, 5)),
         ("ZeroPad2d((1, 0, 0, 1))", (3, 4, 5))]


@pytest.mark.parametrize("text, shape", CASES)
def test_matches_torch(text, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = eval("nn." + text), eval("torch.nn." + text)  # noqa: S307 (fixed literals)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape)
    x, tx = dn.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, expected = ours(x), theirs(tx)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    seed = rng.standard_normal(tuple(expected.shape))
    (out * dn.tensor(seed)).sum().backward()
    (expected * torch.tensor(seed)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_bad_padding():
    with pytest.raises(TypeError, match=r"ZeroPad2d: padding must be an int or a tuple of 4"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(TypeError, match=r"ZeroPad1d: padding must be an int or a tuple of 2"):
        nn.ZeroPad1d((1.5, 2))
