"""Reverse-mode autograd: backward, grad mode, hooks, the version counter, custom Functions,
higher derivatives, gradcheck, deep graphs and freeing the graph.

Only elementwise ops build the graphs here, so this file tests the engine, not other families.
"""
import gc
import math
import weakref

import naive
import numpy as np
import pytest

import dualnet as dn


def leaf(values, dtype=dn.float32):
    return dn.tensor(values, dtype=dtype, requires_grad=True)


# ----------------------------------------------------------------------------- backward


def test_backward_of_a_scalar_without_gradient():
    x = leaf(3.0)
    (x * x * x).backward()
    assert x.grad.item() == pytest.approx(27.0)
    assert x.grad.dtype == dn.float32 and not x.grad.requires_grad


def test_backward_with_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(dn.tensor([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, -6.0])


def test_backward_of_a_one_element_tensor_needs_no_gradient():
    x = leaf([2.0])
    (x * 3).backward()
    assert x.grad.tolist() == [3.0]


def test_non_scalar_backward_without_gradient_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar.*\[2\]"):
        (x * 2).backward()


def test_gradient_of_the_wrong_shape_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"\[3\].*\[2\]"):
        (x * 2).backward(dn.ones(3))


def test_backward_of_a_tensor_outside_the_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (dn.ones(2) * 2).backward(dn.ones(2))
    x = leaf([1.0])
    with dn.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


@pytest.mark.parametrize("op", ["mul", "exp", "sin", "div"])
def test_second_backward_without_retain_graph_raises(op):
    x = leaf([0.5, 1.5])
    fns = {"mul": lambda t: t * t, "exp": dn.exp, "sin": dn.sin, "div": lambda t: 1 / t}
    y = fns[op](x)
    y.backward(dn.ones(2))
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward(dn.ones(2))


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0])
    y = x * x
    y.backward(dn.ones(2), retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    y.backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_gradients_accumulate_into_leaf_grad_until_reset():
    x = leaf([1.0, 2.0])
    (x * 2).backward(dn.ones(2))
    (x * x).backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])
    x.grad = None
    (x * 3).backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    x.grad.zero_()
    (x * 3).backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_a_leaf_used_twice_gets_the_sum():
    x = leaf([1.0, -2.0])
    (x * 3 + x * x).backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [5.0, -1.0])


def test_non_leaf_grad_is_not_kept_and_leaf_flags():
    x = leaf([1.0])
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert type(y.grad_fn).__name__ == "Mul" or "Mul" in repr(y.grad_fn)
    (y * y).backward()
    assert y.grad is None
    assert dn.ones(1).is_leaf and dn.ones(1).grad_fn is None


def test_backward_inputs_limits_accumulation():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).backward(dn.ones(2), inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    assert w.grad is None


def test_autograd_backward_function_with_several_roots():
    x = leaf([1.0, 2.0])
    dn.autograd.backward([x * 2, x * x], [dn.ones(2), dn.ones(2)])
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])


def test_backward_create_graph_makes_grad_differentiable():
    x = leaf([1.0, 2.0], dn.float64)
    (x * x * x).backward(dn.ones(2, dtype=dn.float64), create_graph=True)
    assert x.grad.requires_grad
    (g2,) = dn.autograd.grad(x.grad, x, dn.ones(2, dtype=dn.float64))
    np.testing.assert_allclose(g2.numpy(), [6.0, 12.0])


# ----------------------------------------------------------------------------- grad mode


def test_no_grad_and_enable_grad_as_context_managers():
    x = leaf([1.0])
    with dn.no_grad():
        assert not dn.is_grad_enabled()
        y = x * 2
        with dn.enable_grad():
            assert dn.is_grad_enabled()
            z = x * 2
        assert not dn.is_grad_enabled()
    assert dn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with dn.no_grad():
            raise ValueError
    assert dn.is_grad_enabled()


@pytest.mark.parametrize("parentheses", [True, False])
def test_no_grad_and_enable_grad_as_decorators(parentheses):
    x = leaf([1.0])

    def double(t):
        return t * 2

    no_grad_double = dn.no_grad()(double) if parentheses else dn.no_grad(double)
    enable_grad_double = dn.enable_grad()(double) if parentheses else dn.enable_grad(double)
    assert no_grad_double.__name__ == "double"
    assert not no_grad_double(x).requires_grad
    assert dn.is_grad_enabled()
    with dn.no_grad():
        assert enable_grad_double(x).requires_grad
        assert not dn.is_grad_enabled()


def test_set_grad_enabled_and_inference_mode():
    x = leaf([1.0])
    with dn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert dn.is_grad_enabled()
    dn.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        dn.set_grad_enabled(True)
    with dn.inference_mode():
        assert not (x * 2).requires_grad
    with dn.inference_mode(False):
        assert (x * 2).requires_grad


def test_requires_grad_only_for_floating_point():
    with pytest.raises(RuntimeError, match="floating point"):
        dn.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        dn.tensor([1, 2], requires_grad=True)
    t = dn.tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad = False
    assert not t.requires_grad


def test_requires_grad_false_on_a_non_leaf_raises():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_integer_results_never_require_grad():
    x = leaf([1.5, -2.5])
    assert not (x > 0).requires_grad
    assert not x.to(dn.int64).requires_grad


# ----------------------------------------------------------------------------- detach, hooks


def test_detach_shares_memory_and_version_counter():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.data_ptr() == x.data_ptr()
    version = x._version.value
    d.add_(1)
    assert x.detach().tolist() == [2.0, 3.0]
    assert x._version.value == d._version.value == version + 1


def test_modifying_a_detached_saved_tensor_is_caught():
    x = leaf([1.0, 2.0])
    y = x.exp()  # exp saves its output
    y.detach().zero_()
    with pytest.raises(RuntimeError, match=r"(?i)exp.*in-place"):
        y.backward(dn.ones(2))


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    (y * y).backward(dn.ones(2))
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_hook_on_a_leaf_modifies_its_grad():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))  # returns None: grad unchanged
    x.register_hook(lambda g: g * 10)
    (x * 3).backward(dn.ones(2))
    assert seen == [[3.0, 3.0]]
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_hook_on_a_non_leaf_changes_what_flows_back():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.register_hook(lambda g: g + 1)
    (y * y).backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [(6 + 1) * 3, (12 + 1) * 3])


def test_removed_hook_does_nothing():
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).backward()
    assert x.grad.item() == 2.0


def test_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="require"):
        dn.ones(2).register_hook(lambda g: g)


@pytest.mark.parity
@pytest.mark.parametrize("retain_first", [True, False])
def test_hooks_and_retain_grad_order_matches_torch(retain_first):
    torch = pytest.importorskip("torch")
    results = []
    for m in (dn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        y = x * 3
        if retain_first:
            y.retain_grad()
        y.register_hook(lambda g: g + 1)
        if not retain_first:
            y.retain_grad()
        (y * y).backward(m.ones(2))
        results.append((x.grad.numpy().copy(), y.grad.numpy().copy()))
    for mine, ref in zip(*results):
        np.testing.assert_allclose(mine, ref)


# ----------------------------------------------------------------------------- version counter


def test_in_place_change_of_a_saved_tensor_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = y * y  # mul saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"mul.*(modified|in-place)") as info:
        z.backward(dn.ones(2))
    assert "version" in str(info.value)


def test_in_place_change_of_a_saved_output_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x.sigmoid()  # sigmoid saves its output
    z = y * 2  # (mul saves nothing of y's that matters: its other operand is a scalar)
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"(?i)sigmoid.*in-place"):
        z.backward(dn.ones(2))


def test_in_place_change_of_an_unsaved_tensor_is_fine():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = y + 1  # add saves nothing
    y.mul_(5)
    z.backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_mul_keeps_only_what_the_needed_gradients_read():
    x = leaf([1.0, 2.0])
    y = x * 1
    w = dn.tensor([3.0, 4.0])
    z = y * w  # the gradient of y reads w, never y
    y.add_(1)  # so this is fine, as in torch
    z.backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    z = (x * 1) * w
    w.add_(1)  # but w is needed
    with pytest.raises(RuntimeError, match="mul"):
        z.backward(dn.ones(2))


def test_in_place_ops_bump_the_version_by_one_each():
    t = dn.zeros(3)
    start = t._version.value
    t.add_(1)
    t.mul_(2)
    t.fill_(3)
    t.zero_()
    t.copy_(dn.ones(3))
    t.clamp_(0, 1)
    assert t._version.value == start + 6


# ----------------------------------------------------------------------------- custom Functions


class Cube(dn.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x * ctx.scale, None


class MulWithFlags(dn.autograd.Function):
    calls = []

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        MulWithFlags.calls.append(ctx.needs_input_grad)
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


def test_custom_function_forward_backward():
    x = leaf([1.0, 2.0], dn.float64)
    y = Cube.apply(x, 2.0)
    assert y.requires_grad and y.grad_fn is not None
    np.testing.assert_allclose(y.detach().numpy(), [2.0, 16.0])
    y.backward(dn.ones(2, dtype=dn.float64))
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
    assert dn.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (leaf([0.5, -1.5], dn.float64),))


def test_custom_function_needs_input_grad():
    MulWithFlags.calls.clear()
    a, b = leaf([1.0, 2.0]), dn.tensor([3.0, 4.0])
    MulWithFlags.apply(a, b).backward(dn.ones(2))
    assert MulWithFlags.calls == [(True, False)]
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    assert b.grad is None


def test_custom_function_under_no_grad_records_nothing():
    with dn.no_grad():
        y = Cube.apply(leaf([1.0]), 1.0)
    assert not y.requires_grad and y.grad_fn is None


def test_custom_function_second_derivative():
    x = leaf([0.5, 2.0], dn.float64)
    assert dn.autograd.gradgradcheck(lambda t: Cube.apply(t, 1.5), (x,))


class TwoOutputs(dn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, grad_double, grad_square):
        (x,) = ctx.saved_tensors
        return grad_double * 2 + grad_square * 2 * x


def test_custom_function_with_two_outputs_gets_zeros_for_the_unused_one():
    x = leaf([1.0, 3.0])
    double, square = TwoOutputs.apply(x)
    square.backward(dn.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])


class NonDifferentiableIndex(dn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        index = x.detach() * 0 + 1
        ctx.mark_non_differentiable(index)
        return x * 2, index

    @staticmethod
    def backward(ctx, grad, grad_index):
        return grad * 2


def test_mark_non_differentiable():
    out, index = NonDifferentiableIndex.apply(leaf([1.0]))
    assert out.requires_grad and not index.requires_grad


class WrongBackward(dn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x  # should be 2 * x


def test_gradcheck_catches_a_wrong_backward():
    x = leaf([0.5, -1.0, 2.0], dn.float64)
    assert dn.autograd.gradcheck(WrongBackward.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError, match="(?i)jacobian"):
        dn.autograd.gradcheck(WrongBackward.apply, (x,))


def test_gradcheck_passes_and_agrees_with_a_naive_jacobian():
    values = np.array([0.3, -0.8, 1.7])
    x = leaf(values, dn.float64)
    assert dn.autograd.gradcheck(lambda t: dn.tanh(t) * t, (x,)) is True
    jacobian = naive.numerical_jacobian(lambda a: np.tanh(a) * a, values)
    y = dn.tanh(x) * x
    y.backward(dn.ones(3, dtype=dn.float64))
    np.testing.assert_allclose(x.grad.numpy(), jacobian.sum(axis=0), rtol=1e-6)


def test_gradcheck_of_non_contiguous_inputs_and_without_inputs_needing_grad():
    x = dn.from_numpy(np.array([[0.5, -1.0], [2.0, 0.3]]).T)
    x.requires_grad_()
    assert not x.is_contiguous()
    assert dn.autograd.gradcheck(lambda t: dn.sin(t) * t, (x,))
    with pytest.raises(ValueError, match="requires_grad"):
        dn.autograd.gradcheck(dn.sin, (dn.ones(2, dtype=dn.float64),))


class BadGradShape(dn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return dn.ones(5)


class TooFewGrads(dn.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


def test_custom_backward_mistakes_are_runtime_errors():
    with pytest.raises(RuntimeError, match=r"\[5\]"):
        BadGradShape.apply(leaf([1.0, 2.0])).backward(dn.ones(2))
    with pytest.raises(RuntimeError, match="TooFewGrads"):
        TooFewGrads.apply(leaf([1.0]), leaf([2.0])).backward(dn.ones(1))


# ----------------------------------------------------------------------------- autograd.grad


def test_grad_returns_gradients_without_touching_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = dn.autograd.grad(x * w, [x, w], dn.ones(2))
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


@pytest.mark.parametrize("name, derivatives", [
    ("sin", (math.cos, lambda v: -math.sin(v), lambda v: -math.cos(v))),
    ("exp", (math.exp, math.exp, math.exp)),
    ("cube", (lambda v: 3 * v * v, lambda v: 6 * v, lambda v: 6.0)),
    ("tanh", (lambda v: 1 - math.tanh(v) ** 2,
              lambda v: -2 * math.tanh(v) * (1 - math.tanh(v) ** 2),
              lambda v: (6 * math.tanh(v) ** 2 - 2) * (1 - math.tanh(v) ** 2))),
    ("sigmoid", (lambda v: _sig(v) * (1 - _sig(v)),
                 lambda v: _sig(v) * (1 - _sig(v)) * (1 - 2 * _sig(v)),
                 lambda v: _sig(v) * (1 - _sig(v)) * (1 - 6 * _sig(v) + 6 * _sig(v) ** 2))),
    ("log", (lambda v: 1 / v, lambda v: -1 / v ** 2, lambda v: 2 / v ** 3)),
])
def test_second_and_third_derivatives(name, derivatives):
    fns = {"sin": dn.sin, "exp": dn.exp, "cube": lambda t: t ** 3, "tanh": dn.tanh,
           "sigmoid": dn.sigmoid, "log": dn.log}
    values = [0.4, 1.3]
    x = leaf(values, dn.float64)
    y = fns[name](x)
    ones = dn.ones(2, dtype=dn.float64)
    grads = []
    for order in range(3):
        (y,) = dn.autograd.grad(y, x, ones, create_graph=order < 2)
        grads.append(y.detach().numpy())
    for order, (got, formula) in enumerate(zip(grads, derivatives), start=1):
        np.testing.assert_allclose(got, [formula(v) for v in values], rtol=1e-10,
                                   err_msg=f"derivative {order} of {name}")


def _sig(v):
    return 1 / (1 + math.exp(-v))


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        dn.autograd.grad(x * 2, [x, unused], dn.ones(1))
    gx, gu = dn.autograd.grad(x * 2, [x, unused], dn.ones(1), allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_grad_of_an_input_that_does_not_require_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="require"):
        dn.autograd.grad(x * 2, [dn.ones(1)], dn.ones(1))


# ----------------------------------------------------------------------------- graph size, memory


def test_a_deep_graph_backpropagates_without_recursion():
    x = leaf([1.0], dn.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)
    del y  # freeing a 10k-node chain must not recurse either


def test_a_deep_graph_can_be_dropped_without_backward():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y + 1
    del y


def test_the_graph_is_freed_after_backward():
    gc.collect()
    gc.disable()  # the graph must go by reference counting alone: no cycles
    try:
        x = leaf([1.0, 2.0])
        y = x * 2
        z = y.exp()
        node = weakref.ref(y.grad_fn)
        saved = weakref.ref(y)
        del y
        z.backward(dn.ones(2))
        assert saved() is None  # exp's saved output and mul's graph no longer hold y
        del z
        assert node() is None
        assert x.grad is not None
    finally:
        gc.enable()


def test_saved_tensors_are_released_by_backward_while_the_output_lives():
    gc.collect()
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        y = x * 3
        z = y * y  # mul saves y
        saved = weakref.ref(y)
        del y
        assert saved() is not None  # held by the graph until backward
        z.backward(dn.ones(2))
        assert saved() is None
    finally:
        gc.enable()
