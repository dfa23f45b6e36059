"""Reductions on CUDA against the CPU: forward and backward of every op of the family."""
import numpy as np
import pytest

import dualnet as dn

rng = np.random.default_rng(11)
X = rng.standard_normal((3, 4, 5))
MATRIX = rng.standard_normal((4, 6))

OPS = {
    "sum": lambda a: a.sum(),
    "sum_dim": lambda a: a.sum(1),
    "sum_dims_keepdim": lambda a: a.sum((0, 2), keepdim=True),
    "mean": lambda a: a.mean(),
    "mean_dim": lambda a: a.mean(-1),
    "prod": lambda a: a.prod(1),
    "amax": lambda a: dn.amax(a, (0, 2)),
    "amin": lambda a: dn.amin(a, 1, keepdim=True),
    "max": lambda a: a.max(),
    "max_dim": lambda a: a.max(1),
    "min_dim": lambda a: a.min(2, keepdim=True),
    "aminmax": lambda a: dn.aminmax(a, dim=0),
    "argmax": lambda a: (a.argmax(1), a.argmax()),
    "argmin": lambda a: (a.argmin(2, keepdim=True), a.argmin()),
    "var": lambda a: a.var(1),
    "var_uncorrected": lambda a: a.var((0, 2), correction=0),
    "std": lambda a: a.std(-1, keepdim=True),
    "var_mean": lambda a: dn.var_mean(a, 1),
    "std_mean": lambda a: dn.std_mean(a, (0, 1)),
    "logsumexp_last": lambda a: a.logsumexp(-1),
    "logsumexp_middle": lambda a: a.logsumexp(1),
    "softmax_last": lambda a: a.softmax(-1),
    "softmax_first": lambda a: a.softmax(0),
    "log_softmax_last": lambda a: a.log_softmax(-1),
    "log_softmax_middle": lambda a: a.log_softmax(1),
    "norm": lambda a: a.norm(),
    "norm_dim": lambda a: dn.norm(a, dim=1),
    "norm_p1": lambda a: dn.norm(a, p=1, dim=(0, 2)),
    "norm_p3": lambda a: dn.norm(a, p=3, dim=2),
    "norm_inf": lambda a: dn.norm(a, p=float("inf"), dim=1),
    "cumsum": lambda a: a.cumsum(1),
    "cumsum_last": lambda a: a.cumsum(-1),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_reduction_forward_backward(check, name):
    check(OPS[name], X)


@pytest.mark.parametrize("name", ["sum_dim", "mean", "var", "softmax_last", "log_softmax_middle",
                                  "logsumexp_last", "max_dim", "cumsum"])
def test_reduction_float32(check, name):
    check(OPS[name], X.astype(np.float32), rtol=1e-5, atol=1e-5)


def test_double_backward_of_softmax(check):
    def grad_of_grad(a):
        (g,) = dn.autograd.grad(a.softmax(-1)[:, 0].sum(), a, create_graph=True)
        return (g * g).sum()

    check(grad_of_grad, MATRIX)


def test_softmax_masked_and_large_rows(check):
    logits = MATRIX * 30
    logits[0, :3] = -np.inf  # masked logits: exp(-inf) = 0 in both kernels
    check(lambda a: (a.softmax(-1), a.log_softmax(-1)[1:], a.logsumexp(-1)), logits,
          grad=False)
    check(lambda a: a.softmax(-1), MATRIX * 30)


def test_boolean_and_integer_reductions(check):
    ints = rng.integers(-3, 4, (3, 4))
    mask = ints > 0
    check(lambda a: (a.sum(), a.sum(0), a.prod(1), a.max(), a.amin(1), dn.count_nonzero(a, 1),
                     a.cumsum(0)), ints, grad=False)
    check(lambda m: (m.all(), m.any(1), m.all(0, keepdim=True), m.sum(1)), mask, grad=False)


def test_nan_propagates_like_cpu(check):
    data = MATRIX.copy()
    data[1, 2] = np.nan
    check(lambda a: (a.max(1)[0], a.amax(0), a.argmax(1), a.softmax(-1), a.logsumexp(1)), data,
          grad=False)


def test_empty_and_zero_dim(check):
    check(lambda a: (a.sum(), a.softmax(0), a.logsumexp(0)), np.array(1.5))
    check(lambda a: (a.sum(0), a.mean(0)), np.zeros((0, 3)), grad=False)
