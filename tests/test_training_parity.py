"""Training parity with PyTorch: identical initial weights, 20 steps, the same losses and weights.

The end-to-end check of the PyTorch-style frontend: modules, losses, autograd and the fused
optimizer kernels together must reproduce torch's run, not just each piece on its own.
"""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet import nn, optim

STEPS = 20
RTOL = 1e-4


def _nets(torch):
    """The same small convnet in both libraries, dualnet's holding torch's initial weights."""

    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(1, 4, 3, padding=1), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
            lib.nn.Flatten(), lib.nn.Linear(4 * 5 * 5, 16), lib.nn.Tanh(), lib.nn.Linear(16, 5))

    torch.manual_seed(0)
    theirs = build(torch)
    ours = build(dn)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _batches():
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((8, 1, 10, 10)).astype(np.float32), rng.integers(0, 5, 8))
            for _ in range(STEPS)]


@pytest.mark.parity
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
])
def test_twenty_steps_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = _nets(torch)
    opt_ours = getattr(optim, name)(ours.parameters(), **kwargs)
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    for step, (x, y) in enumerate(_batches()):
        opt_ours.zero_grad()
        loss_ours = F.cross_entropy(ours(dn.from_numpy(x)), dn.from_numpy(y))
        loss_ours.backward()
        opt_ours.step()
        opt_theirs.zero_grad()
        loss_theirs = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)),
                                                        torch.from_numpy(y))
        loss_theirs.backward()
        opt_theirs.step()
        np.testing.assert_allclose(loss_ours.item(), loss_theirs.item(), rtol=RTOL,
                                   err_msg=f"{name} step {step}: losses differ")
    expected = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), expected[key].numpy(), rtol=RTOL, atol=1e-6,
                                   err_msg=f"{name}: {key} differs after {STEPS} steps")


def test_training_lowers_the_loss_without_torch():
    """The same loop on its own: 20 Adam steps on one batch must fit it (loss falls >5x)."""
    dn.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=0.05)
    rng = np.random.default_rng(1)
    x = dn.from_numpy(rng.standard_normal((16, 10)).astype(np.float32))
    y = dn.from_numpy(rng.integers(0, 3, 16))
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 5, losses
