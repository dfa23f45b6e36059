"""The normalization family: batch_norm, instance_norm, group_norm, layer_norm, normalize.

Each op is a row of a table (input shape, affine or not, layout): forward against a NumPy
reference, a float64 gradient check with respect to input, weight and bias, second derivatives
for the rows whose create_graph path matters, and forward + backward against torch where it is
installed, on contiguous and non-contiguous inputs. Then running statistics (torch's rule and
Keras's), both kernel layouts and the parallel builds, float16, and one bad input per check.
"""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F

RNG = np.random.default_rng(0)
EPS = 1e-5


# --------------------------------------------------------------------------- NumPy references

def _channel_shape(ndim, axis):
    shape = [1] * ndim
    shape[axis] = -1
    return shape


def _affine(out, w, b, shape):
    if w is not None:
        out = out * w.reshape(shape)
    if b is not None:
        out = out + b.reshape(shape)
    return out


def _batch_norm_ref(a, w, b, mean=None, var=None, axis=1, eps=EPS):
    """Normalise per channel (axis) with the batch's statistics, or mean / var if given."""
    dims = tuple(d for d in range(a.ndim) if d != axis % a.ndim)
    shape = _channel_shape(a.ndim, axis)
    if mean is None:
        mean, var = a.mean(dims), a.var(dims)
    out = (a - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return _affine(out, w, b, shape)


def _group_norm_ref(a, groups, w, b, axis=1, eps=EPS):
    moved = np.moveaxis(a, axis, 1)
    grouped = moved.reshape(moved.shape[0], groups, -1)
    mean, var = grouped.mean(-1, keepdims=True), grouped.var(-1, keepdims=True)
    out = ((grouped - mean) / np.sqrt(var + eps)).reshape(moved.shape)
    out = _affine(out, w, b, _channel_shape(a.ndim, 1))
    return np.moveaxis(out, 1, axis)


def _layer_norm_ref(a, k, w, b, eps=EPS):
    dims = tuple(range(a.ndim - k, a.ndim))
    mean, var = a.mean(dims, keepdims=True), a.var(dims, keepdims=True)
    out = (a - mean) / np.sqrt(var + eps)
    return _affine(out, w, b, w.shape if w is not None else None)


def _normalize_ref(a, p, dim):
    n = np.sum(np.abs(a) ** p, axis=dim, keepdims=True) ** (1.0 / p)
    return a / np.maximum(n, 1e-12)


# --------------------------------------------------------------------------- the table

RUN_MEAN = np.array([0.3, -0.2, 0.1, 0.5, -0.4, 0.2])
RUN_VAR = np.array([0.8, 1.5, 0.6, 1.2, 2.0, 0.9])

# (id, ours(F, T, x, w, b), NumPy reference(a, w, b), input shape, weight/bias shape (None: no
#  affine), torch's call when it differs from ours (channels last), second-derivative check).
# T(array) makes a tensor of x's dtype in the library at hand (for running statistics).
CASES = []


def _row(id, ours, ref, shape, param_shape, theirs="same", grad2=False):
    theirs = ours if theirs == "same" else theirs
    CASES.append(pytest.param(ours, theirs, ref, shape, param_shape, grad2, id=id))


def _torch_channels_last(fn):
    """torch's op on channels-last data: move the channels to dim 1 and back."""
    return lambda L, T, x, w, b: fn(L, T, x.movedim(-1, 1), w, b).movedim(1, -1)


for shape in ((4, 3, 5), (6, 4), (2, 3, 4, 5), (5, 3, 1)):
    tag = "x".join(map(str, shape))
    c = shape[1]
    _row(f"batch_norm-train-{tag}", lambda L, T, x, w, b: L.batch_norm(x, None, None, w, b, True),
         lambda a, w, b: _batch_norm_ref(a, w, b), shape, (c,), grad2=True)
    _row(f"batch_norm-eval-{tag}",
         lambda L, T, x, w, b, c=c: L.batch_norm(x, T(RUN_MEAN[:c]), T(RUN_VAR[:c]), w, b),
         lambda a, w, b, c=c: _batch_norm_ref(a, w, b, RUN_MEAN[:c], RUN_VAR[:c]), shape, (c,),
         grad2=True)
_row("batch_norm-train-no-affine", lambda L, T, x, w, b: L.batch_norm(x, None, None, training=True),
     lambda a, w, b: _batch_norm_ref(a, None, None), (3, 4, 6), None)
_row("batch_norm-weight-only", lambda L, T, x, w, b: L.batch_norm(x, None, None, w, None, True,
                                                                   eps=0.1),
     lambda a, w, b: _batch_norm_ref(a, w, None, eps=0.1), (3, 4, 6), (4,))
_row("batch_norm-train-nhwc",
     lambda L, T, x, w, b: L.batch_norm(x, None, None, w, b, True, axis=-1),
     lambda a, w, b: _batch_norm_ref(a, w, b, axis=-1), (2, 3, 4, 5), (5,),
     theirs=_torch_channels_last(lambda L, T, x, w, b: L.batch_norm(x, None, None, w, b, True)),
     grad2=True)
_row("batch_norm-eval-nlc",
     lambda L, T, x, w, b: L.batch_norm(x, T(RUN_MEAN[:3]), T(RUN_VAR[:3]), w, b, axis=2),
     lambda a, w, b: _batch_norm_ref(a, w, b, RUN_MEAN[:3], RUN_VAR[:3], axis=2), (4, 5, 3), (3,),
     theirs=_torch_channels_last(
         lambda L, T, x, w, b: L.batch_norm(x, T(RUN_MEAN[:3]), T(RUN_VAR[:3]), w, b)))

for shape, groups in (((2, 6, 3, 4), 3), ((3, 6, 5), 1), ((2, 6, 7), 6), ((4, 6), 2)):
    tag = "x".join(map(str, shape)) + f"-g{groups}"
    _row(f"group_norm-{tag}", lambda L, T, x, w, b, g=groups: L.group_norm(x, g, w, b),
         lambda a, w, b, g=groups: _group_norm_ref(a, g, w, b), shape, (6,),
         grad2=shape == (2, 6, 3, 4))
_row("group_norm-no-affine", lambda L, T, x, w, b: L.group_norm(x, 2, eps=1e-3),
     lambda a, w, b: _group_norm_ref(a, 2, None, None, eps=1e-3), (2, 4, 5), None)
_row("group_norm-nhwc", lambda L, T, x, w, b: L.group_norm(x, 3, w, b, axis=-1),
     lambda a, w, b: _group_norm_ref(a, 3, w, b, axis=-1), (2, 3, 4, 6), (6,),
     theirs=_torch_channels_last(lambda L, T, x, w, b: L.group_norm(x, 3, w, b)), grad2=True)

_row("group_norm-axis-2", lambda L, T, x, w, b: L.group_norm(x, 3, w, b, axis=2),
     lambda a, w, b: _group_norm_ref(a, 3, w, b, axis=2), (2, 3, 6, 4), (6,),
     theirs=lambda L, T, x, w, b: L.group_norm(x.movedim(2, 1), 3, w, b).movedim(1, 2))

_row("instance_norm-3d", lambda L, T, x, w, b: L.instance_norm(x, weight=w, bias=b),
     lambda a, w, b: _group_norm_ref(a, 3, w, b), (4, 3, 5), (3,))
_row("instance_norm-4d-no-affine", lambda L, T, x, w, b: L.instance_norm(x),
     lambda a, w, b: _group_norm_ref(a, 4, None, None), (2, 4, 3, 3), None)
_row("instance_norm-eval",
     lambda L, T, x, w, b: L.instance_norm(x, T(RUN_MEAN[:3]), T(RUN_VAR[:3]), w, b,
                                           use_input_stats=False),
     lambda a, w, b: _batch_norm_ref(a, w, b, RUN_MEAN[:3], RUN_VAR[:3]), (2, 3, 5), (3,))
_row("instance_norm-nlc", lambda L, T, x, w, b: L.instance_norm(x, weight=w, bias=b, axis=-1),
     lambda a, w, b: _group_norm_ref(a, 3, w, b, axis=-1), (2, 5, 3), (3,),
     theirs=_torch_channels_last(lambda L, T, x, w, b: L.instance_norm(x, weight=w, bias=b)))

_row("layer_norm-last", lambda L, T, x, w, b: L.layer_norm(x, (5,), w, b),
     lambda a, w, b: _layer_norm_ref(a, 1, w, b), (4, 3, 5), (5,), grad2=True)
_row("layer_norm-last-two", lambda L, T, x, w, b: L.layer_norm(x, (3, 5), w, b),
     lambda a, w, b: _layer_norm_ref(a, 2, w, b), (4, 3, 5), (3, 5), grad2=True)
_row("layer_norm-all-dims", lambda L, T, x, w, b: L.layer_norm(x, (3, 7), w, b, eps=1e-3),
     lambda a, w, b: _layer_norm_ref(a, 2, w, b, eps=1e-3), (3, 7), (3, 7))
_row("layer_norm-no-affine", lambda L, T, x, w, b: L.layer_norm(x, [6]),
     lambda a, w, b: _layer_norm_ref(a, 1, None, None), (5, 6), None)

_row("normalize", lambda L, T, x, w, b: L.normalize(x), lambda a, w, b: _normalize_ref(a, 2, 1),
     (3, 5), None)
_row("normalize-p1-dim0", lambda L, T, x, w, b: L.normalize(x, 1.0, 0),
     lambda a, w, b: _normalize_ref(a, 1, 0), (4, 3), None)


def _array(shape, dtype, layout="contiguous"):
    if layout == "transposed" and len(shape) >= 2:
        return RNG.standard_normal(shape[::-1]).astype(dtype).T  # same shape, strided
    return RNG.standard_normal(shape).astype(dtype)


def _params(param_shape, dtype):
    if param_shape is None:
        return None, None
    return (1.0 + 0.5 * RNG.standard_normal(param_shape)).astype(dtype), \
        RNG.standard_normal(param_shape).astype(dtype)


def _dn_maker(dtype):
    return lambda a: dn.tensor(np.asarray(a, dtype))


def _leaf(a):
    return None if a is None else dn.tensor(a, requires_grad=True)


# --------------------------------------------------------------------------- generic tests

@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("ours,theirs,ref,shape,param_shape,grad2", CASES)
def test_forward_matches_numpy(ours, theirs, ref, shape, param_shape, grad2, layout):
    a = _array(shape, np.float64, layout)
    w, b = _params(param_shape, np.float64)
    got = ours(F, _dn_maker(np.float64), dn.from_numpy(a),
               None if w is None else dn.tensor(w), None if b is None else dn.tensor(b))
    want = ref(a, w, b)
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ours,theirs,ref,shape,param_shape,grad2", CASES)
def test_gradcheck(ours, theirs, ref, shape, param_shape, grad2):
    w, b = _params(param_shape, np.float64)
    inputs = tuple(t for t in (_leaf(_array(shape, np.float64)), _leaf(w), _leaf(b)))
    make = _dn_maker(np.float64)
    assert dn.autograd.gradcheck(lambda x, w, b: ours(F, make, x, w, b), inputs)


@pytest.mark.parametrize("ours,theirs,ref,shape,param_shape,grad2",
                         [c for c in CASES if c.values[5]])
def test_gradgradcheck(ours, theirs, ref, shape, param_shape, grad2):
    w, b = _params(param_shape, np.float64)
    inputs = (_leaf(_array(shape, np.float64)), _leaf(w), _leaf(b))
    make = _dn_maker(np.float64)
    upstream = dn.tensor(np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape))

    def weighted(x, w, b):  # a non-uniform upstream gradient, so no second derivative cancels
        return ours(F, make, x, w, b) * upstream

    assert dn.autograd.gradgradcheck(weighted, inputs)


TOLERANCE = {np.float32: dict(rtol=1e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}


@pytest.mark.parametrize("dtype,layout", [(np.float32, "contiguous"), (np.float32, "transposed"),
                                          (np.float64, "contiguous")],
                         ids=["float32", "float32-transposed", "float64"])
@pytest.mark.parametrize("ours,theirs,ref,shape,param_shape,grad2", CASES)
def test_torch_parity(ours, theirs, ref, shape, param_shape, grad2, dtype, layout):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    a = _array(shape, dtype, layout)
    w, b = _params(param_shape, dtype)
    upstream = RNG.standard_normal(shape).astype(dtype)
    ours_in = [_leaf(v) for v in (a, w, b)]
    theirs_in = [None if v is None else torch.tensor(v, requires_grad=True) for v in (a, w, b)]
    got = ours(F, _dn_maker(dtype), *ours_in)
    want = theirs(TF, lambda v: torch.tensor(np.asarray(v, dtype)), *theirs_in)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **tol)
    got.backward(dn.tensor(upstream))
    want.backward(torch.tensor(upstream))
    for mine, reference in zip(ours_in, theirs_in):
        if mine is not None and reference.grad is None:  # an argument the call does not use
            assert mine.grad is None
        elif mine is not None:
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), **tol)


# --------------------------------------------------------------------------- running statistics

def test_batch_norm_running_stats_follow_torch():
    torch = pytest.importorskip("torch")
    a = _array((8, 3, 5), np.float32)
    mean, var = dn.zeros(3), dn.ones(3)
    t_mean, t_var = torch.zeros(3), torch.ones(3)
    versions = mean._version.value, var._version.value
    x = dn.tensor(a, requires_grad=True)
    for momentum in (0.1, 0.5):
        F.batch_norm(x, mean, var, training=True, momentum=momentum)
        torch.nn.functional.batch_norm(torch.tensor(a), t_mean, t_var, training=True,
                                       momentum=momentum)
    np.testing.assert_allclose(mean.numpy(), t_mean.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(var.numpy(), t_var.numpy(), rtol=1e-6)
    assert (mean._version.value, var._version.value) == (versions[0] + 2, versions[1] + 2)
    assert not mean.requires_grad and mean.grad_fn is None


def test_batch_norm_keras_rule():
    """Keras: momentum weighs the old value, the moving variance is biased, channels last."""
    a = _array((4, 3, 3, 2), np.float64)
    moving_mean, moving_var = dn.tensor([0.5, -0.5], dtype=dn.float64), dn.ones(2, dtype=dn.float64)
    out = F.batch_norm(dn.tensor(a), moving_mean, moving_var, training=True, momentum=0.99,
                       eps=1e-3, axis=-1, momentum_weights="old", running_var_correction=0)
    batch_mean, batch_var = a.mean((0, 1, 2)), a.var((0, 1, 2))
    np.testing.assert_allclose(out.numpy(), _batch_norm_ref(a, None, None, axis=-1, eps=1e-3),
                               rtol=1e-12)
    np.testing.assert_allclose(moving_mean.numpy(),
                               0.99 * np.array([0.5, -0.5]) + 0.01 * batch_mean, rtol=1e-12)
    np.testing.assert_allclose(moving_var.numpy(), 0.99 + 0.01 * batch_var, rtol=1e-12)
    # evaluation then uses the moving statistics
    evaluated = F.batch_norm(dn.tensor(a), moving_mean, moving_var, eps=1e-3, axis=-1)
    np.testing.assert_allclose(
        evaluated.numpy(), _batch_norm_ref(a, None, None, moving_mean.numpy(), moving_var.numpy(),
                                           axis=-1, eps=1e-3), rtol=1e-12)


def test_instance_norm_running_stats_follow_torch():
    torch = pytest.importorskip("torch")
    a = _array((4, 3, 6), np.float64)
    mean, var = dn.zeros(3, dtype=dn.float64), dn.ones(3, dtype=dn.float64)
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    F.instance_norm(dn.tensor(a), mean, var, momentum=0.3)
    torch.nn.functional.instance_norm(torch.tensor(a), t_mean, t_var, momentum=0.3)
    np.testing.assert_allclose(mean.numpy(), t_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var.numpy(), t_var.numpy(), rtol=1e-12)


def test_running_stats_in_place_after_save_is_an_error_only_for_the_saved_input():
    """The update bumps the buffers' versions; backward reads its own copy of the statistics,
    so a later update (the next training step) does not break an earlier eval graph."""
    a = _array((4, 3), np.float64)
    mean, var = dn.zeros(3, dtype=dn.float64), dn.ones(3, dtype=dn.float64)
    x = dn.tensor(a, requires_grad=True)
    y = F.batch_norm(x, mean, var)
    F.batch_norm(dn.tensor(a), mean, var, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(a.shape, 1 / np.sqrt(1 + EPS)), rtol=1e-12)


# --------------------------------------------------------------------------- layouts and builds

@pytest.mark.parametrize("op,shape", [
    ("batch_norm", (64, 16, 16, 16)), ("batch_norm", (4096, 40)), ("group_norm", (8, 32, 24, 24)),
    ("instance_norm", (8, 32, 24, 24)), ("layer_norm", (512, 260))])
def test_parallel_builds_match_torch(op, shape):
    """Inputs above config.PARALLEL_MIN_ELEMENTS run the parallel kernels, in both layouts."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    a, upstream = _array(shape, np.float32), _array(shape, np.float32)
    c = shape[-1] if op == "layer_norm" else shape[1]
    w, b = _params((c,), np.float32)
    calls = {"batch_norm": lambda L, x, w, b, **k: L.batch_norm(x, None, None, w, b, True, **k),
             "group_norm": lambda L, x, w, b, **k: L.group_norm(x, 4, w, b, **k),
             "instance_norm": lambda L, x, w, b, **k: L.instance_norm(x, None, None, w, b, **k),
             "layer_norm": lambda L, x, w, b, **k: L.layer_norm(x, (c,), w, b)}
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, w, b)]
    want = calls[op](TF, *theirs)
    want.backward(torch.tensor(upstream))
    layouts = [(lambda v: v, {})]
    if op != "layer_norm":  # channels last: the same data with the channel axis moved last
        layouts.append((lambda v: np.ascontiguousarray(np.moveaxis(v, 1, -1)), {"axis": -1}))
    for move, kwargs in layouts:
        ours = [_leaf(move(a)), _leaf(w), _leaf(b)]
        got = calls[op](F, *ours, **kwargs)
        got.backward(dn.tensor(move(upstream)))
        np.testing.assert_allclose(got.detach().numpy(), move(want.detach().numpy()),
                                   rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(ours[0].grad.numpy(), move(theirs[0].grad.numpy()),
                                   rtol=1e-4, atol=1e-4)
        for mine, reference in zip(ours[1:], theirs[1:]):
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(),
                                       rtol=1e-4, atol=2e-3)


def test_float16_computes_in_float32():
    a = _array((6, 3, 4), np.float32)
    for call in (lambda x: F.batch_norm(x, None, None, training=True),
                 lambda x: F.layer_norm(x, (4,)), lambda x: F.group_norm(x, 3)):
        x = dn.tensor(a.astype(np.float16), requires_grad=True)
        out = call(x)
        assert out.dtype == dn.float16
        np.testing.assert_allclose(out.detach().numpy(), call(dn.tensor(a)).numpy(), atol=5e-3)
        out.sum().backward()
        assert x.grad.dtype == dn.float16


def test_no_grad_records_nothing():
    with dn.no_grad():
        out = F.batch_norm(dn.randn(4, 3, requires_grad=True), None, None, training=True)
    assert out.grad_fn is None


@pytest.mark.parametrize("call", [
    lambda x, w: F.batch_norm(x, dn.zeros(3), dn.ones(3), w, w, training=True),
    lambda x, w: F.group_norm(x, 3, w, w), lambda x, w: F.layer_norm(x, (5,)),
], ids=["batch_norm", "group_norm", "layer_norm"])
def test_empty_batch(call):
    """An empty batch gives an empty output, zero parameter gradients and untouched running
    statistics, as in torch."""
    x, w = dn.zeros(0, 3, 5, requires_grad=True), dn.ones(3, requires_grad=True)
    out = call(x, w)
    assert tuple(out.shape) == (0, 3, 5)
    out.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 5)
    if w.grad is not None:
        np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3))


# --------------------------------------------------------------------------- bad input

X = dn.randn(4, 3, 5)
BAD = [
    ("bn-running-mean-size", lambda: F.batch_norm(X, dn.zeros(2), dn.ones(3), training=True),
     RuntimeError, r"running_mean should contain 3 elements not 2.*\[4, 3, 5\]"),
    ("bn-running-var-size", lambda: F.batch_norm(X, dn.zeros(3), dn.ones(4)),
     RuntimeError, r"running_var should contain 3 elements not 4"),
    ("bn-weight-size", lambda: F.batch_norm(X, dn.zeros(3), dn.ones(3), dn.ones(4)),
     RuntimeError, r"weight should contain 3 elements not 4.*\[4\].*\[4, 3, 5\]"),
    ("bn-one-value", lambda: F.batch_norm(dn.randn(1, 3), None, None, training=True),
     ValueError, r"Expected more than 1 value per channel when training, got input size \[1, 3\]"),
    ("bn-eval-no-stats", lambda: F.batch_norm(X, None, None), RuntimeError,
     "running_mean must be defined in evaluation mode"),
    ("bn-1d", lambda: F.batch_norm(dn.randn(3), None, None, training=True), RuntimeError,
     r"at least 2 dimensions.*\[3\]"),
    ("bn-int", lambda: F.batch_norm(dn.ones(4, 3, dtype=dn.int64), None, None, training=True),
     NotImplementedError, "int64"),
    ("bn-dtype", lambda: F.batch_norm(X, dn.zeros(3, dtype=dn.float64), dn.ones(3)),
     RuntimeError, "float32, got float64"),
    ("bn-momentum-rule", lambda: F.batch_norm(X, None, None, training=True,
                                              momentum_weights="keras"), ValueError, "'old'"),
    ("bn-axis", lambda: F.batch_norm(X, None, None, training=True, axis=3), IndexError,
     "out of range"),
    ("ln-shape", lambda: F.layer_norm(X, (4,)), RuntimeError,
     r"normalized_shape=\[4\].*\[\*, 4\].*\[4, 3, 5\]"),
    ("ln-too-many-dims", lambda: F.layer_norm(X, (2, 4, 3, 5)), RuntimeError, r"\[4, 3, 5\]"),
    ("ln-weight", lambda: F.layer_norm(X, (5,), dn.ones(4)), RuntimeError,
     r"weight of shape \[4\] and normalized_shape = \[5\]"),
    ("gn-groups", lambda: F.group_norm(X, 2), RuntimeError,
     r"divisible by num_groups.*\[4, 3, 5\] and num_groups=2"),
    ("gn-weight", lambda: F.group_norm(X, 3, dn.ones(4)), RuntimeError,
     r"weight should contain 3 elements not 4"),
    ("gn-1d", lambda: F.group_norm(dn.randn(3), 1), RuntimeError, r"at least 2 dimensions.*\[3\]"),
    ("gn-zero-groups", lambda: F.group_norm(X, 0), ValueError, "num_groups"),
    ("in-one-spatial", lambda: F.instance_norm(dn.randn(4, 3, 1)), ValueError,
     r"Expected more than 1 spatial element when training, got input size \[4, 3, 1\]"),
    ("in-running-mean", lambda: F.instance_norm(X, dn.zeros(2), dn.ones(3)), RuntimeError,
     "running_mean should contain 3 elements not 2"),
    ("not-a-tensor", lambda: F.layer_norm(np.ones((2, 3)), (3,)), TypeError, "Tensor"),
]


@pytest.mark.parametrize("call,error,match", [pytest.param(*row[1:], id=row[0]) for row in BAD])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call,error", [
    (lambda torch, F: F.batch_norm(torch.randn(4, 3, 5), torch.zeros(2), torch.ones(3),
                                   training=True), RuntimeError),
    (lambda torch, F: F.batch_norm(torch.randn(1, 3), None, None, training=True), ValueError),
    (lambda torch, F: F.layer_norm(torch.randn(4, 3, 5), (4,)), RuntimeError),
    (lambda torch, F: F.group_norm(torch.randn(4, 3, 5), 2), RuntimeError),
    (lambda torch, F: F.instance_norm(torch.randn(4, 3, 1)), ValueError),
], ids=["running-mean", "one-value", "layer-shape", "groups", "one-spatial"])
def test_bad_input_classes_are_torchs(call, error):
    """The exception classes above are the ones torch raises for the same mistakes."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as caught:
        call(torch, torch.nn.functional)
    assert type(caught.value) is error


@pytest.mark.parametrize("op", ["batch_norm", "group_norm", "layer_norm"])
def test_parameter_gradients_alone(op):
    """Only weight and bias need gradients (a frozen input): the kernels skip grad_input."""
    a, upstream = _array((4, 6, 5), np.float64), _array((4, 6, 5), np.float64)
    c = 5 if op == "layer_norm" else 6
    w, b = _params((c,), np.float64)
    calls = {"batch_norm": lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
             "group_norm": lambda x, w, b: F.group_norm(x, 2, w, b),
             "layer_norm": lambda x, w, b: F.layer_norm(x, (5,), w, b)}
    x, weight, bias = dn.tensor(a), _leaf(w), _leaf(b)
    calls[op](x, weight, bias).backward(dn.tensor(upstream))
    full = [_leaf(a), _leaf(w), _leaf(b)]
    calls[op](*full).backward(dn.tensor(upstream))
    assert x.grad is None
    np.testing.assert_allclose(weight.grad.numpy(), full[1].grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bias.grad.numpy(), full[2].grad.numpy(), rtol=1e-12)
