"""Helpers for the nn layer tests: build a layer in dualnet and in torch from the same text, give
ours torch's weights through a state_dict of NumPy arrays, and compare forward and backward."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn


def build(text, dtype="float64"):
    """(ours, torch's, torch) for `text` such as "Linear(5, 3)", both in `dtype` (None: each
    framework's default), ours holding a copy of torch's parameters and buffers."""
    torch = pytest.importorskip("torch")
    ours = eval("nn." + text)  # noqa: S307 (the tests' own literals)
    theirs = eval("torch.nn." + text)  # noqa: S307
    if dtype == "float64":
        ours.double()
        theirs.double()
    copy_state(theirs, ours)
    return ours, theirs, torch


def copy_state(theirs, ours):
    """torch module -> ours, through NumPy (no torch tensor reaches dualnet)."""
    ours.load_state_dict({key: value.detach().numpy().copy()
                          for key, value in theirs.state_dict().items()})


def state_signature(module):
    """{key: (shape, dtype name)} of a state_dict, comparable across the two frameworks."""
    return {key: (tuple(value.shape), str(value.dtype).rsplit(".", 1)[-1])
            for key, value in module.state_dict().items()}


def _np(t):
    return t.detach().numpy()


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def check_forward_backward(ours, theirs, torch, *arrays, rtol=1e-10, atol=1e-10, seed=0):
    """Run both layers on the same inputs (float arrays get gradients), compare the outputs,
    then backpropagate the same random cotangent and compare the gradients of every float input
    and of every parameter (by name)."""
    ours_in = [dn.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs, touts = _outputs(ours(*ours_in)), _outputs(theirs(*theirs_in))
    assert len(outs) == len(touts)
    for out, tout in zip(outs, touts):
        assert tuple(out.shape) == tuple(tout.shape)
        assert str(out.dtype).rsplit(".", 1)[-1] == str(tout.dtype).rsplit(".", 1)[-1]
        np.testing.assert_allclose(_np(out), _np(tout), rtol=rtol, atol=atol)
    out, tout = outs[0], touts[0]
    cotangent = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    (out * dn.tensor(cotangent, dtype=out.dtype)).sum().backward()
    (tout * torch.tensor(cotangent, dtype=tout.dtype)).sum().backward()
    for x, tx in zip(ours_in, theirs_in):
        if tx.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert sorted(ours_params) == sorted(theirs_params)
    for name, param in ours_params.items():
        tparam = theirs_params[name]
        if tparam.grad is None:
            assert param.grad is None, name
        else:
            np.testing.assert_allclose(param.grad.numpy(), tparam.grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=name)
    return outs


def random(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).normal(0.0, scale, shape)
