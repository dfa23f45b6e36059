"""Bad input to every public op raises torch's exception class with a message naming the op.

BAD_INPUTS has at least one row per public function of `dualnet` that takes tensors (or makes
them); `test_every_public_op_has_a_row` walks `dualnet.__all__` and lists any op without one.
Each row is written once for both modules (`call(m)` with m = dualnet or torch), so where torch
is installed the table itself is checked: torch raises the same class for the same call.
"""
import inspect
from typing import Callable, NamedTuple

import numpy as np
import pytest

import dualnet as dn


class Bad(NamedTuple):
    op: str  # the dualnet name this row covers
    call: Callable  # call(m) with m = dualnet or torch
    exc: type  # torch's exception class
    says: str = None  # text the message must contain (default: the op's name)
    torch: bool = True  # the same call is valid code for torch


def x(m, *shape):
    return m.ones(*(shape or (2, 3)))


def ints(m):
    return m.ones(2, 3, dtype=m.int64)


def mismatch(name, says=None):
    return Bad(name, lambda m: getattr(m, name)(x(m), m.ones(4)), RuntimeError, says)


def not_a_tensor(name, says=None):
    return Bad(name, lambda m: getattr(m, name)([1.0, 2.0]), TypeError, says)


def dim_out_of_range(name, *extra, says=None):
    return Bad(name, lambda m: getattr(m, name)(x(m), *extra, 5) if extra else
               getattr(m, name)(x(m), 5), IndexError, says)


BINARY = ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
          "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
          "logical_or", "logical_xor", "isclose", "allclose"]
ALIASES = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
           "not_equal": "ne"}
UNARY = ["neg", "abs", "sign", "square", "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt",
         "rsqrt", "reciprocal", "sin", "cos", "tan", "erf", "floor", "ceil", "trunc", "round",
         "relu", "sigmoid", "tanh", "isnan", "isinf", "isfinite", "logical_not", "clone",
         "nonzero", "argwhere", "ravel", "numel", "is_floating_point", "zeros_like",
         "ones_like", "empty_like", "rand_like", "randn_like", "celu", "selu"]
DIMS = ["sum", "mean", "prod", "std", "var", "amax", "amin", "argmax", "argmin", "logsumexp",
        "softmax", "log_softmax", "cumsum", "all", "any", "count_nonzero", "std_mean",
        "var_mean", "max", "min", "unbind", "squeeze", "unsqueeze"]

BAD_INPUTS = [
    *(mismatch(name) for name in BINARY if name != "true_divide"),
    mismatch("true_divide", "div"),
    *(mismatch(name, says) for name, says in ALIASES.items()),
    *(not_a_tensor(name) for name in UNARY if name != "argwhere"),
    not_a_tensor("argwhere", "nonzero"),
    not_a_tensor("negative", "neg"),
    not_a_tensor("absolute", "abs"),
    Bad("add", lambda m: m.add(x(m), "a"), TypeError),
    Bad("sub", lambda m: m.sub(m.tensor([True]), m.tensor([True])), RuntimeError),
    Bad("neg", lambda m: m.neg(m.tensor([True])), RuntimeError),
    Bad("pow", lambda m: m.pow(m.tensor([2]), -1), RuntimeError),
    Bad("div", lambda m: m.div(x(m), 2, rounding_mode="up"), RuntimeError, "rounding_mode"),
    Bad("bitwise_and", lambda m: m.bitwise_and(x(m), x(m)), RuntimeError),
    Bad("bitwise_or", lambda m: m.bitwise_or(x(m), x(m)), RuntimeError),
    Bad("bitwise_xor", lambda m: m.bitwise_xor(x(m), x(m)), RuntimeError),
    Bad("bitwise_not", lambda m: m.bitwise_not(x(m)), RuntimeError),
    Bad("equal", lambda m: m.equal(x(m), [1.0]), TypeError),
    Bad("clamp", lambda m: m.clamp(x(m)), RuntimeError),
    Bad("clip", lambda m: m.clip(x(m)), RuntimeError, "clamp"),
    Bad("clamp_min", lambda m: m.clamp_min(x(m), "a"), TypeError, "clamp"),
    Bad("clamp_max", lambda m: m.clamp_max(x(m), "a"), TypeError, "clamp"),
    Bad("where", lambda m: m.where(x(m), x(m), x(m)), RuntimeError),
    Bad("where", lambda m: m.where(m.ones(3, dtype=m.bool), x(m), m.ones(4)), RuntimeError),
    Bad("broadcast_to", lambda m: m.broadcast_to(m.ones(3), (2,)), RuntimeError),
    Bad("sum_to", lambda m: m.sum_to(x(m), (4,)), RuntimeError, torch=False),
    # reductions
    *(dim_out_of_range(name) for name in DIMS),
    Bad("norm", lambda m: m.norm(x(m), 2, 5), IndexError),
    Bad("mean", lambda m: m.mean(ints(m)), RuntimeError),
    Bad("std", lambda m: m.std(ints(m)), RuntimeError),
    Bad("amax", lambda m: m.amax(m.ones(0)), RuntimeError),
    Bad("max", lambda m: m.max(m.ones(0)), RuntimeError),
    Bad("aminmax", lambda m: m.aminmax(x(m), dim=5), IndexError),
    Bad("softmax", lambda m: m.softmax(ints(m), 0), RuntimeError),
    # torch.nn.functional's ValueError (the top-level torch.dropout raises RuntimeError)
    Bad("dropout", lambda m: m.dropout(x(m), 1.5, True), ValueError, torch=False),
    Bad("alpha_dropout", lambda m: m.alpha_dropout(x(m), 1.5, True), ValueError, torch=False),
    Bad("celu", lambda m: m.celu(ints(m)), RuntimeError),
    Bad("selu", lambda m: m.selu(ints(m)), RuntimeError),
    Bad("binary_cross_entropy_with_logits", lambda m: m.binary_cross_entropy_with_logits(
        x(m), x(m), pos_weight=m.ones(4)), RuntimeError),
    Bad("kl_div", lambda m: m.kl_div(ints(m), ints(m)), RuntimeError),
    Bad("cosine_similarity", lambda m: m.cosine_similarity(x(m), m.ones(4)), RuntimeError),
    # shape
    Bad("reshape", lambda m: m.reshape(m.ones(6), (4, 2)), RuntimeError, "[4, 2]"),
    Bad("permute", lambda m: m.permute(x(m), (0, 0)), RuntimeError),
    Bad("transpose", lambda m: m.transpose(x(m), 0, 5), IndexError),
    Bad("swapaxes", lambda m: m.swapaxes(x(m), 0, 5), IndexError, "transpose"),
    Bad("swapdims", lambda m: m.swapdims(x(m), 0, 5), IndexError, "transpose"),
    Bad("movedim", lambda m: m.movedim(x(m), 0, 5), IndexError),
    Bad("moveaxis", lambda m: m.moveaxis(x(m), 0, 5), IndexError, "movedim"),
    Bad("t", lambda m: m.t(m.ones(2, 3, 4)), RuntimeError),
    Bad("flatten", lambda m: m.flatten(m.ones(2, 3, 4), 2, 0), RuntimeError),
    Bad("unflatten", lambda m: m.unflatten(x(m), 0, (4, 4)), RuntimeError),
    Bad("select", lambda m: m.select(x(m), 0, 5), IndexError),
    Bad("narrow", lambda m: m.narrow(x(m), 0, 1, 5), RuntimeError),
    Bad("split", lambda m: m.split(x(m), 0), RuntimeError),
    Bad("chunk", lambda m: m.chunk(x(m), 0), RuntimeError),
    Bad("roll", lambda m: m.roll(x(m), 1, 5), IndexError),
    Bad("flip", lambda m: m.flip(x(m), (5,)), IndexError),
    Bad("tile", lambda m: m.tile(x(m), "a"), TypeError),
    Bad("cat", lambda m: m.cat([x(m), m.ones(2, 4)]), RuntimeError),
    Bad("concat", lambda m: m.concat([x(m), m.ones(2, 4)]), RuntimeError, "cat"),
    Bad("concatenate", lambda m: m.concatenate([x(m), m.ones(2, 4)]), RuntimeError, "cat"),
    Bad("cat", lambda m: m.cat([]), ValueError),
    Bad("stack", lambda m: m.stack([m.ones(2), m.ones(3)]), RuntimeError),
    Bad("hstack", lambda m: m.hstack([]), RuntimeError),
    Bad("vstack", lambda m: m.vstack([m.ones(2), m.ones(3)]), RuntimeError),
    # indexing
    Bad("gather", lambda m: m.gather(x(m), 0, m.zeros(2, 3)), RuntimeError),
    Bad("gather", lambda m: m.gather(x(m), 0, m.full((2, 3), 5)), RuntimeError),
    Bad("index_select", lambda m: m.index_select(x(m), 0, m.zeros(2)), RuntimeError),
    Bad("index_select", lambda m: m.index_select(x(m), 0, m.tensor([5])), IndexError),
    Bad("masked_fill", lambda m: m.masked_fill(x(m), m.zeros(2, 3), 0.0), RuntimeError),
    Bad("masked_select", lambda m: m.masked_select(x(m), m.zeros(2, 3)), RuntimeError),
    Bad("scatter", lambda m: m.scatter(x(m), 0, m.zeros(2, 3), x(m)), RuntimeError),
    Bad("scatter_add", lambda m: m.scatter_add(x(m), 0, m.zeros(2, 3), x(m)), RuntimeError),
    Bad("take_along_dim", lambda m: m.take_along_dim(x(m), m.zeros(2, 3), 0), RuntimeError),
    # matmul
    Bad("matmul", lambda m: m.matmul(x(m), m.ones(4, 5)), RuntimeError),
    Bad("mm", lambda m: m.mm(m.ones(3), m.ones(3)), RuntimeError),
    Bad("bmm", lambda m: m.bmm(m.ones(2, 3, 4), m.ones(2, 5, 6)), RuntimeError),
    Bad("mv", lambda m: m.mv(x(m), m.ones(4)), RuntimeError),
    Bad("dot", lambda m: m.dot(m.ones(3), m.ones(4)), RuntimeError),
    Bad("vdot", lambda m: m.vdot(m.ones(3), m.ones(4)), RuntimeError, "dot"),
    Bad("outer", lambda m: m.outer(m.ones(2, 2), m.ones(3)), RuntimeError),
    Bad("addmm", lambda m: m.addmm(m.ones(2, 2), x(m), m.ones(4, 2)), RuntimeError),
    Bad("baddbmm", lambda m: m.baddbmm(m.ones(2, 2, 2), m.ones(2, 2, 3), m.ones(2, 4, 2)),
        RuntimeError),
    Bad("einsum", lambda m: m.einsum("ij,jk->ik", x(m), m.ones(4, 5)), RuntimeError),
    Bad("einsum", lambda m: m.einsum("ij->ijk", x(m)), RuntimeError),
    # recurrent cells: w_ih made for an input size of 5, the input has 3
    Bad("lstm_cell", lambda m: m.lstm_cell(x(m), (x(m, 2, 4),) * 2, x(m, 16, 5), x(m, 16, 4)),
        RuntimeError),
    Bad("gru_cell", lambda m: m.gru_cell(x(m), x(m, 2, 4), x(m, 12, 5), x(m, 12, 4)), RuntimeError),
    Bad("rnn_tanh_cell", lambda m: m.rnn_tanh_cell(x(m), x(m, 2, 4), x(m, 4, 5), x(m, 4, 4)),
        RuntimeError),
    Bad("rnn_relu_cell", lambda m: m.rnn_relu_cell(x(m), x(m, 2, 4), x(m, 4, 5), x(m, 4, 4)),
        RuntimeError),
    # normalization: normalized_shape that doesn't end the input's shape, groups not dividing C
    Bad("layer_norm", lambda m: m.layer_norm(x(m), (4,)), RuntimeError, "[2, 3]"),
    Bad("group_norm", lambda m: m.group_norm(x(m, 2, 6, 4), 4), RuntimeError, "6"),
    # pooling: kernel larger than the input, wrong rank, padding over half the kernel, stride 0
    Bad("max_pool1d", lambda m: m.max_pool1d(x(m, 2, 3, 4), 5), RuntimeError, "[2, 3, 4]"),
    Bad("max_pool2d", lambda m: m.max_pool2d(x(m), 2), RuntimeError, "[2, 3]"),
    Bad("max_pool1d_with_indices", lambda m: m.max_pool1d_with_indices(x(m, 1, 2, 6), 2, 2, 2),
        RuntimeError, "max_pool1d"),
    Bad("avg_pool1d", lambda m: m.avg_pool1d(x(m, 1, 2, 6), 2, 0), RuntimeError, "stride"),
    Bad("adaptive_avg_pool1d", lambda m: m.adaptive_avg_pool1d(x(m, 2, 3, 4, 5), 2),
        RuntimeError, "[2, 3, 4, 5]"),
    # convolutions: channel mismatch with the weight, wrong rank, kernel over the padded input
    Bad("conv2d", lambda m: m.conv2d(x(m, 1, 3, 5, 5), x(m, 4, 2, 3, 3)), RuntimeError,
        "[1, 3, 5, 5]"),
    Bad("conv1d", lambda m: m.conv1d(x(m, 1, 2, 3, 5), x(m, 4, 2, 3)), RuntimeError,
        "[1, 2, 3, 5]"),
    Bad("conv_transpose2d", lambda m: m.conv_transpose2d(x(m, 1, 3, 5, 5), x(m, 2, 4, 3, 3)),
        RuntimeError, "[2, 4, 3, 3]"),
    Bad("conv_transpose1d", lambda m: m.conv_transpose1d(x(m, 1, 2, 5), x(m, 2, 4, 3),
                                                         output_padding=2), RuntimeError,
        "output padding"),
    # factories
    Bad("tensor", lambda m: m.tensor("abc"), TypeError),
    Bad("tensor", lambda m: m.tensor([[1, 2], [3]]), ValueError),
    Bad("as_tensor", lambda m: m.as_tensor("abc"), TypeError, "tensor"),
    Bad("asarray", lambda m: m.asarray(object()), TypeError, "tensor", torch=False),
    Bad("from_numpy", lambda m: m.from_numpy([1, 2]), TypeError, "np.ndarray"),
    # torch treats any object without __dlpack__ as a capsule and says "invalid capsule"
    # (RuntimeError); a wrong argument type is a TypeError here
    Bad("from_dlpack", lambda m: m.from_dlpack([1, 2]), TypeError, "__dlpack__", torch=False),
    Bad("zeros", lambda m: m.zeros(-1), RuntimeError),
    Bad("zeros", lambda m: m.zeros(2.5), TypeError),
    Bad("ones", lambda m: m.ones(2, -1), RuntimeError, "-1"),
    Bad("empty", lambda m: m.empty(-1), RuntimeError, "-1"),
    Bad("full", lambda m: m.full((2,), "a"), TypeError),
    Bad("full_like", lambda m: m.full_like([1.0], 2.0), TypeError),
    Bad("arange", lambda m: m.arange(0, 5, 0), RuntimeError, "step"),
    Bad("arange", lambda m: m.arange(0, 5, -1), RuntimeError, "bound"),
    Bad("linspace", lambda m: m.linspace(0, 1, -1), RuntimeError, "steps"),
    Bad("logspace", lambda m: m.logspace(0, 1, -1), RuntimeError, "steps"),
    Bad("eye", lambda m: m.eye(-1), RuntimeError, "-1"),
    Bad("rand", lambda m: m.rand(-1), RuntimeError, "-1"),
    Bad("randn", lambda m: m.randn(2, -1), RuntimeError, "-1"),
    Bad("randint", lambda m: m.randint(5, 5, (2,)), RuntimeError),
    Bad("randint_like", lambda m: m.randint_like(x(m), 0), RuntimeError, "randint"),
    Bad("randperm", lambda m: m.randperm(-1), RuntimeError, "-1"),
    Bad("normal", lambda m: m.normal(0.0, -1.0, (2,)), RuntimeError, "std"),
    Bad("bernoulli", lambda m: m.bernoulli(m.full((2,), 2.0)), RuntimeError),
    Bad("multinomial", lambda m: m.multinomial(m.tensor([-1.0, 1.0]), 1), RuntimeError),
    Bad("manual_seed", lambda m: m.manual_seed(1.5), TypeError, "seed", torch=False),
    Bad("load", lambda m: m.load("/nonexistent_dir/x.pt"), FileNotFoundError, "x.pt"),
    Bad("save", lambda m: m.save(m.ones(2), "/nonexistent_dir/x.pt"), RuntimeError,
        "nonexistent_dir"),
]

# Public names that take no tensor and so have no bad tensor input: types, modules, grad-mode
# switches and the RNG state (its seed is checked above through manual_seed).
NOT_OPS = {"Tensor", "Size", "Generator", "device", "dtype", "autograd", "cuda", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "seed",
           "initial_seed", "get_rng_state", "set_rng_state", "get_default_dtype",
           "set_default_dtype", "is_tensor"}


def _row_id(row):
    return row.op


def _raise(row, m):
    with pytest.raises(Exception) as info:
        row.call(m)
    return info.value


@pytest.mark.parametrize("row", BAD_INPUTS, ids=_row_id)
def test_bad_input_raises_torchs_class_naming_the_op(row):
    if not hasattr(dn, row.op):
        pytest.fail(f"dualnet.{row.op} does not exist")
    error = _raise(row, dn)
    assert "numba" not in type(error).__module__, f"a raw Numba error escaped: {error!r}"
    assert isinstance(error, row.exc), f"{row.op}: {type(error).__name__}: {error}"
    assert (row.says or row.op) in str(error), f"{row.op}: the message doesn't say it: {error}"


@pytest.mark.parity
@pytest.mark.parametrize("row", [r for r in BAD_INPUTS if r.torch], ids=_row_id)
def test_the_table_has_torchs_classes(row):
    torch = pytest.importorskip("torch")
    error = _raise(row, torch)
    assert isinstance(error, row.exc), f"torch raises {type(error).__name__}: {error}"


def test_every_public_op_has_a_row():
    covered = {row.op for row in BAD_INPUTS}
    missing = []
    for name in dn.__all__:
        obj = getattr(dn, name)
        if name in NOT_OPS or inspect.ismodule(obj) or inspect.isclass(obj) or \
                isinstance(obj, dn.dtype):
            continue
        if callable(obj) and name not in covered:
            missing.append(name)
    assert not missing, f"public ops without a bad-input row: {sorted(missing)}"


def test_no_raw_numba_errors_from_odd_dtypes():
    # dtypes a kernel might not be compiled for must still give torch-like errors or results
    odd = (dn.tensor([1, 2], dtype=dn.int8), dn.tensor([True, False]), dn.ones(2, dtype=dn.float16))
    for a in odd:
        for fn in (dn.exp, dn.relu, dn.sigmoid, lambda t: t * t, lambda t: dn.maximum(t, t),
                   lambda t: dn.clamp(t, 0, 1), lambda t: dn.where(t > 0, t, t)):
            try:
                fn(a)
            except Exception as error:  # noqa: BLE001 - any error is fine but a Numba one
                assert "numba" not in type(error).__module__, repr(error)
                assert isinstance(error, (RuntimeError, TypeError)), repr(error)


def test_nothing_in_the_table_is_stale():
    names = set(dn.__all__)
    assert {row.op for row in BAD_INPUTS} <= names, sorted({r.op for r in BAD_INPUTS} - names)
    assert NOT_OPS <= names, sorted(NOT_OPS - names)


def test_numpy_arrays_of_unsupported_dtypes_are_type_errors():
    with pytest.raises(TypeError, match="complex"):
        dn.tensor(np.array([1j]))
    with pytest.raises(TypeError):
        dn.add(dn.ones(2), np.array(["a", "b"]))
