"""dtype objects, PyTorch's type promotion and NumPy's broadcasting.

Promotion is checked three ways: a fixed table of the cases users meet (runs everywhere),
hypothesis against the hand-written rule in tests/naive.py, and hypothesis against
`torch.result_type` where torch is installed.
"""
import naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualnet as dn

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = {"bool": True, "int64": 3, "float32": 2.5}  # Python scalars, by the dtype they stand for


def operand(m, name, kind):
    """A `kind` operand ("dim", "zero" or "scalar") of dtype `name` for module m (dn or torch)."""
    if kind == "scalar":
        return SCALARS[name]
    return m.ones(2 if kind == "dim" else (), dtype=getattr(m, name))


operands = st.one_of(
    st.tuples(st.sampled_from(DTYPES), st.sampled_from(["dim", "zero"])),
    st.tuples(st.sampled_from(sorted(SCALARS)), st.just("scalar")),
)
operand_pairs = st.tuples(operands, operands).filter(
    lambda pair: not (pair[0][1] == pair[1][1] == "scalar"))


# ----------------------------------------------------------------------------- fixed table

PROMOTION = [
    # (left, right, result): (dtype, kind) operands as in `operand`
    (("int64", "dim"), ("float32", "scalar"), "float32"),  # int tensor + 2.5
    (("float32", "dim"), ("float64", "zero"), "float32"),  # a 0-dim tensor doesn't widen
    (("uint8", "dim"), ("int64", "scalar"), "uint8"),  # uint8 + 1000
    (("bool", "dim"), ("int64", "scalar"), "int64"),  # bool + 1
    (("bool", "dim"), ("bool", "scalar"), "bool"),
    (("bool", "dim"), ("bool", "dim"), "bool"),
    (("int32", "dim"), ("int64", "zero"), "int32"),
    (("int32", "dim"), ("float64", "zero"), "float64"),  # a higher category does count
    (("float16", "dim"), ("float64", "zero"), "float16"),
    (("int64", "dim"), ("float16", "dim"), "float16"),  # category first, then width
    (("int8", "dim"), ("uint8", "dim"), "int16"),
    (("float16", "dim"), ("int64", "scalar"), "float16"),
    (("int64", "zero"), ("float32", "scalar"), "float32"),
    (("float32", "dim"), ("float64", "dim"), "float64"),
    (("int32", "dim"), ("bool", "scalar"), "int32"),
]


@pytest.mark.parametrize("left, right, expected", PROMOTION, ids=lambda v: str(v))
def test_promotion_table(left, right, expected):
    a, b = operand(dn, *left), operand(dn, *right)
    assert (a + b).dtype == getattr(dn, expected)
    assert (b + a).dtype == getattr(dn, expected)
    assert naive.result_type(left, right) == expected  # the reference agrees with the table


def test_uint8_plus_large_python_int_wraps_like_torch():
    assert (dn.tensor([1], dtype=dn.uint8) + 1000).tolist() == [233]


def test_dtype_inference_of_factories():
    assert dn.tensor(np.zeros(3)).dtype == dn.float64  # a float64 NumPy array stays float64
    assert dn.from_numpy(np.zeros(3)).dtype == dn.float64
    assert dn.as_tensor(np.zeros(3, dtype=np.int32)).dtype == dn.int32
    assert dn.tensor([1.0, 2.0]).dtype == dn.float32  # Python floats give the default float
    assert dn.tensor(2.5).dtype == dn.float32
    assert dn.tensor([1, 2]).dtype == dn.int64
    assert dn.tensor([1, 2.5]).dtype == dn.float32
    assert dn.tensor([True, False]).dtype == dn.bool
    assert dn.tensor([True, 2]).dtype == dn.int64
    assert dn.tensor([]).dtype == dn.float32
    assert dn.tensor([np.float64(1.0), 2.0]).dtype == dn.float64  # NumPy scalars keep theirs
    assert dn.tensor([np.int32(1)]).dtype == dn.int32
    assert dn.tensor([np.float32(1.0), 2]).dtype == dn.float32
    assert dn.tensor([dn.tensor(1.0, dtype=dn.float64), 2.0]).dtype == dn.float64
    assert dn.arange(5).dtype == dn.int64
    assert dn.arange(5.0).dtype == dn.float32
    assert dn.arange(0, 1, 0.5).dtype == dn.float32
    assert dn.full((2,), 3).dtype == dn.int64
    assert dn.full((2,), 3.0).dtype == dn.float32
    assert dn.full((2,), True).dtype == dn.bool
    assert dn.zeros(2).dtype == dn.ones(2).dtype == dn.rand(2).dtype == dn.float32


def test_set_default_dtype_changes_python_floats_and_factories():
    previous = dn.get_default_dtype()
    try:
        dn.set_default_dtype(dn.float64)
        assert dn.tensor([1.5]).dtype == dn.float64
        assert dn.zeros(2).dtype == dn.arange(3.0).dtype == dn.float64
        assert (dn.tensor([1, 2]) * 0.5).dtype == dn.float64
        assert dn.tensor([1]).dtype == dn.int64
    finally:
        dn.set_default_dtype(previous)
    assert dn.get_default_dtype() == dn.float32
    with pytest.raises(TypeError, match="set_default_dtype"):
        dn.set_default_dtype(dn.int64)


def test_dtype_objects():
    assert repr(dn.float32) == "dualnet.float32"
    assert dn.float is dn.float32 and dn.double is dn.float64 and dn.half is dn.float16
    assert dn.long is dn.int64 and dn.int is dn.int32 and dn.short is dn.int16
    assert dn.float32.is_floating_point and not dn.int64.is_floating_point
    assert dn.float64.itemsize == 8 and dn.bool.itemsize == 1
    assert isinstance(dn.float32, dn.dtype)
    assert dn.ones(2).to("float64").dtype == dn.float64
    assert dn.ones(2).to(np.int32).dtype == dn.int32
    assert dn.ones(2).to(int).dtype == dn.int64
    assert dn.ones(2).to(float).dtype == dn.float32
    assert dn.ones(2, dtype=np.float64).dtype == dn.float64
    import pickle

    assert pickle.loads(pickle.dumps(dn.float16)) is dn.float16


def test_unknown_dtypes_are_type_errors():
    with pytest.raises(TypeError, match="complex128"):
        dn.from_numpy(np.zeros(2, dtype=np.complex128))
    with pytest.raises(TypeError, match="float128|'quad'|unknown"):
        dn.zeros(2, dtype="quad")


# ----------------------------------------------------------------------------- hypothesis


@settings(max_examples=50, deadline=None)
@given(operand_pairs)
def test_promotion_follows_the_reference_rule(pair):
    (left, right) = pair
    a, b = operand(dn, *left), operand(dn, *right)
    expected = getattr(dn, naive.result_type(left, right))
    assert (a + b).dtype == expected
    assert (a * b).dtype == expected


@pytest.mark.parity
@settings(max_examples=50, deadline=None)
@given(operand_pairs)
def test_promotion_matches_torch(pair):
    torch = pytest.importorskip("torch")
    (left, right) = pair
    a, b = operand(dn, *left), operand(dn, *right)
    ta, tb = operand(torch, *left), operand(torch, *right)
    expected = str(torch.result_type(ta, tb) if left[1] != "scalar" else torch.result_type(tb, ta))
    assert repr((a + b).dtype) == expected.replace("torch.", "dualnet.")
    assert repr((b * a).dtype) == expected.replace("torch.", "dualnet.")


@settings(max_examples=50, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4), st.integers(0, 9))
def test_broadcasting_matches_numpy(shapes, seed):
    shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b).astype(np.float32)
    got = dn.tensor(a) * dn.tensor(b)
    assert tuple(got.shape) == shapes.result_shape == naive.broadcast_shape(shape_a, shape_b)
    np.testing.assert_array_equal(got.numpy(), np.multiply(a, b))
    assert tuple(dn.broadcast_to(dn.tensor(a), shapes.result_shape).shape) == shapes.result_shape


def _not_broadcastable(shapes):
    try:
        naive.broadcast_shape(*shapes)
    except ValueError:
        return True
    return False


@settings(max_examples=50, deadline=None)
@given(st.tuples(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                 hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)).filter(_not_broadcastable))
def test_shapes_that_do_not_broadcast_raise_naming_both(shapes):
    shape_a, shape_b = shapes
    with pytest.raises(RuntimeError) as info:
        dn.add(dn.zeros(shape_a), dn.zeros(shape_b))
    message = str(info.value)
    assert "add" in message
    assert str(list(shape_a)) in message and str(list(shape_b)) in message


def test_broadcast_error_in_comparison_and_where_names_the_op():
    with pytest.raises(RuntimeError, match=r"lt.*\[2, 3\].*\[4\]"):
        dn.zeros(2, 3) < dn.zeros(4)
    with pytest.raises(RuntimeError, match=r"where"):
        dn.where(dn.zeros(3, dtype=dn.bool), dn.zeros(2, 3), dn.zeros(4))
