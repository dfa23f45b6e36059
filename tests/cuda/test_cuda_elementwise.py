"""Elementwise ops on CUDA against the CPU: forward and backward of every op of the family."""
import numpy as np
import pytest

import dualnet as dn

rng = np.random.default_rng(7)
X = rng.standard_normal((3, 5))
Y = rng.standard_normal((3, 5))
POSITIVE = rng.uniform(0.5, 2.0, (3, 5))
UNIT = rng.uniform(-0.9, 0.9, (3, 5))
INTS = rng.integers(-7, 8, (3, 5))
NONZERO_INTS = rng.integers(1, 5, (3, 5)) * np.where(rng.random((3, 5)) < 0.5, -1, 1)

BINARY = {
    "add": lambda a, b: a + b,
    "add_alpha": lambda a, b: dn.add(a, b, alpha=0.5),
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: dn.pow(a.abs() + 0.5, b),
    "maximum": dn.maximum,
    "minimum": dn.minimum,
    "atan2": dn.atan2,
    "remainder": dn.remainder,
    "fmod": dn.fmod,
}

UNARY = {
    "neg": (dn.neg, X), "abs": (dn.abs, X), "sign": (dn.sign, X), "square": (dn.square, X),
    "exp": (dn.exp, X), "expm1": (dn.expm1, X), "log": (dn.log, POSITIVE),
    "log2": (dn.log2, POSITIVE), "log10": (dn.log10, POSITIVE), "log1p": (dn.log1p, POSITIVE),
    "sqrt": (dn.sqrt, POSITIVE), "rsqrt": (dn.rsqrt, POSITIVE),
    "reciprocal": (dn.reciprocal, POSITIVE), "sin": (dn.sin, X), "cos": (dn.cos, X),
    "tan": (dn.tan, UNIT), "tanh": (dn.tanh, X), "sigmoid": (dn.sigmoid, X),
    "relu": (dn.relu, X), "erf": (dn.erf, X), "floor": (dn.floor, X * 3),
    "ceil": (dn.ceil, X * 3), "trunc": (dn.trunc, X * 3), "round": (dn.round, X * 3),
    "round_decimals": (lambda a: dn.round(a, decimals=1), X),
    "clamp": (lambda a: dn.clamp(a, -0.5, 0.7), X),
    "clamp_min": (lambda a: dn.clamp_min(a, 0.1), X),
    "pow_scalar": (lambda a: a ** 3, X), "rpow": (lambda a: 2.0 ** a, X),
    "scalar_ops": (lambda a: (1 - a) * 2 / (a * a + 1) + 3, X),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_forward_backward(check, name):
    check(BINARY[name], X, Y + 0.1 * np.sign(Y))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_backward(check, name):
    fn, data = UNARY[name]
    check(fn, data)


@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum"])
def test_binary_float32(check, name):
    check(BINARY[name], X.astype(np.float32), Y.astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "round", "erf"])
def test_unary_float32(check, name):
    fn, data = UNARY[name]
    check(fn, data.astype(np.float32), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("other_shape", [(5,), (3, 1), (1, 5), (), (2, 3, 5), (2, 1, 5)])
def test_broadcast_gradients(check, other_shape):
    # bias rows, columns, scalars and a leading batch dim: each read in place by the kernel
    # or through a broadcast copy, and summed back to its own shape by the gradient
    other = rng.standard_normal(other_shape)
    check(lambda a, b: a * b + b, X, other)


def test_outer_broadcast_and_strided_inputs(check):
    column, row = rng.standard_normal((4, 1)), rng.standard_normal((1, 3))
    check(lambda a, b: a - b * a, column, row)
    check(lambda a, b: a.t() * b, X, rng.standard_normal((5, 3)))
    check(lambda a: a[:, ::2].exp(), X)


def test_integer_arithmetic_matches_cpu(check):
    check(lambda a, b: (a + b, a * b, a // b, a % b, dn.fmod(a, b), a - 3, a ** 2),
             INTS, NONZERO_INTS, grad=False)
    check(lambda a, b: (a & b, a | b, a ^ b, ~a, a.abs(), a.neg(), dn.sign(a)),
             INTS, NONZERO_INTS, grad=False)
    check(lambda a, b: (a / b, a.exp(), a.sqrt()), np.abs(INTS), NONZERO_INTS, grad=False)


def test_comparisons_and_logic(check):
    mask = rng.random((3, 5)) < 0.5
    check(lambda a, b: (a == b, a != b, a < b, a <= b, a > b, a >= b),
             np.round(X), np.round(Y), grad=False)
    check(lambda m, n: (m & n, m | n, m ^ n, ~m, dn.logical_xor(m, n), dn.logical_not(m)),
             mask, rng.random((3, 5)) < 0.5, grad=False)
    special = np.array([0.0, np.nan, np.inf, -np.inf, 1.5])
    check(lambda a: (dn.isnan(a), dn.isinf(a), dn.isfinite(a), dn.relu(a), dn.sign(a)),
             special, grad=False)


def test_where_and_tensor_clamp(check):
    cond = X > 0
    check(lambda c, a, b: dn.where(c, a, b), cond, X, Y)
    check(lambda c, a: dn.where(c, a, 0.0), cond, X)
    check(lambda a, lo, hi: dn.clamp(a, lo, hi), X, np.full(5, -0.3), np.full((3, 1), 0.4))


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "float64"])
def test_casts(check, dtype):
    check(lambda a: a.to(getattr(dn, dtype)), X * 3, grad=dtype.startswith("float"))


def test_clone_contiguous_expand(check):
    check(lambda a: a.clone() * 2, X)
    check(lambda a: a.t().contiguous(), X)
    check(lambda a: a[:, :1].expand(3, 4) * 1.5, X)


def test_inplace_ops(check):
    def inplace(a, b):
        c = a * 1.0
        c.add_(b)
        c.mul_(2.0)
        c.sub_(b, alpha=0.5)
        c.div_(3.0)
        c.clamp_(-1.0, 1.0)
        return c

    check(inplace, X, Y)

    def fills(a):
        c = a * 1.0
        c[0].fill_(2.0)
        c[1].zero_()
        c[2].copy_(dn.arange(5.0, device=a.device))
        return c

    check(fills, X)


def test_inplace_without_grad_writes_the_same_memory(check):
    t = dn.tensor(X, device="cuda")
    t.add_(1.0)
    t[0].mul_(dn.tensor(Y[0], device="cuda"))  # a strided view written in place
    t.t().exp_()  # exp_ goes through apply_inplace
    expected = X + 1.0
    expected[0] *= Y[0]
    np.testing.assert_allclose(t.cpu().numpy(), np.exp(expected), rtol=1e-12)


def test_to_device_backward(check):
    check(lambda a: (a.cpu() * 2).cuda() if a.is_cuda else a * 2, X)


def test_mixed_devices_name_both(check):
    cpu, gpu = dn.tensor(X), dn.tensor(Y, device="cuda")
    for op in (lambda: cpu + gpu, lambda: gpu * cpu, lambda: dn.maximum(gpu, cpu),
               lambda: dn.where(gpu > 0, gpu, cpu), lambda: gpu.add_(cpu)):
        with pytest.raises(RuntimeError, match="cuda:0 and cpu|cpu and cuda:0"):
            op()
