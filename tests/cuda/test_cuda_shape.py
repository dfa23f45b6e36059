"""Shape ops on CUDA against the CPU: views and copies, forward and backward."""
import numpy as np
import pytest

import dualnet as dn

rng = np.random.default_rng(3)
X = rng.standard_normal((2, 3, 4))
Y = rng.standard_normal((2, 3, 4))

OPS = {
    "reshape": lambda a: a.reshape(4, 6) * 2,
    "reshape_of_transposed": lambda a: a.transpose(0, 2).reshape(-1) * 2,
    "view": lambda a: a.view(6, 4).exp(),
    "ravel_flatten": lambda a: (a.ravel() * 2, a.flatten(1) * 3),
    "unflatten": lambda a: a.unflatten(2, (2, 2)) * 2,
    "squeeze_unsqueeze": lambda a: a.unsqueeze(1).squeeze(1) * a.unsqueeze(-1).squeeze(),
    "permute": lambda a: a.permute(2, 0, 1) * 2,
    "transpose_swap": lambda a: (a.transpose(0, 1) * 2, dn.swapaxes(a, 1, 2) * 3),
    "t": lambda a: a[0].t().exp(),
    "movedim": lambda a: dn.movedim(a, 0, -1) * 2,
    "narrow_select": lambda a: (a.narrow(2, 1, 2) * 2, a.select(1, 2) * 3),
    "split_chunk": lambda a: tuple(p * (i + 1) for i, p in enumerate(a.split([1, 3], 2) +
                                                                      a.chunk(3, 1))),
    "unbind": lambda a: tuple(p * (i + 1) for i, p in enumerate(a.unbind(1))),
    "tile": lambda a: a.tile((1, 2, 1)) * 2,
    "flip": lambda a: a.flip(0, 2) * 2,
    "roll": lambda a: (a.roll(1, 2) * 2, a.roll((1, -1), (0, 1)) * 3, a.roll(2) * 4),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_shape_forward_backward(check, name):
    check(OPS[name], X)


@pytest.mark.parametrize("name", ["cat", "stack", "hstack", "vstack"])
def test_joins(check, name):
    fn = getattr(dn, name)
    check(lambda a, b: fn([a, b * 2]) * 3, X, Y)


def test_cat_promotes_dtypes_like_cpu(check):
    check(lambda a, b: dn.cat([a, b], 1), X.astype(np.float32), Y, grad=False)
    check(lambda a, b: dn.stack([a, b], 0), X.astype(np.float32), rng.integers(0, 5, (2, 3, 4)),
          grad=False)


def test_float32_views_and_copies(check):
    check(lambda a: (a.permute(1, 2, 0).reshape(12, 2), a.flip(1), a.tile(2)), X.astype(np.float32))


def test_view_of_noncontiguous_cuda_tensor_refuses_like_cpu():
    for device in ("cpu", "cuda"):
        t = dn.tensor(X, device=device).transpose(0, 2)
        with pytest.raises(RuntimeError):
            t.view(-1)
        np.testing.assert_array_equal(t.reshape(-1).cpu().numpy(), X.transpose(2, 1, 0).ravel())


def test_mixed_devices_in_cat_name_both():
    with pytest.raises(RuntimeError, match="cuda:0"):
        dn.cat([dn.tensor(X), dn.tensor(Y, device="cuda")])
