"""nn.Upsample / UpsamplingNearest2d / UpsamplingBilinear2d against torch.nn's: outputs, input
gradients and repr."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("make", [
    lambda m: m.Upsample(scale_factor=2, mode="bilinear"),
    lambda m: m.Upsample(size=(5, 9), mode="bilinear", align_corners=True),
    lambda m: m.Upsample(size=(5, 9)),
    lambda m: m.Upsample(scale_factor=(1.5, 0.5), mode="nearest-exact"),
    lambda m: m.UpsamplingNearest2d(scale_factor=3),
    lambda m: m.UpsamplingBilinear2d(size=(7, 2)),
])
def test_matches_torch(make):
    torch = pytest.importorskip("torch")
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    x = RNG.standard_normal((2, 3, 4, 6)).astype(np.float32)
    a, b = dn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_a, out_b = ours(a), theirs(b)
    np.testing.assert_allclose(out_a.detach().numpy(), out_b.detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    (out_a ** 2).sum().backward()
    (out_b ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_in_a_sequential_with_a_convolution():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Upsample(scale_factor=2,
                                                                       mode="bilinear"))
    assert model(dn.ones(1, 1, 3, 3)).shape == (1, 2, 6, 6)
    assert list(dict(model.named_parameters())) == ["0.weight", "0.bias"]
