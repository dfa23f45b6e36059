"""dtype objects (dn.float32, dn.int64, ...) and PyTorch's type-promotion rules."""
import builtins

import numpy as np

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type: a thin name over a NumPy dtype plus its promotion category."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category
        self.is_floating_point = category == _FLOAT
        self.is_signed = category == _FLOAT or self.np.kind == "i"

    def __repr__(self):
        return f"dualnet.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
uint8 = dtype("uint8", np.uint8, _INT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
bool_ = dtype("bool", np.bool_, _BOOL)

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)

_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    """Set the dtype that Python floats and float factories (rand, zeros...) produce."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating point types are supported, got {d}")
    _default_float = d


def to_dtype(value):
    """Accept a dn dtype, a NumPy dtype / type, a name, or the Python types float/int/bool."""
    if type(value) is dtype:
        return value
    if value is builtins.float:
        return _default_float
    if value is builtins.int:
        return int64
    if value is builtins.bool:
        return bool_
    if isinstance(value, str):
        found = _BY_NAME.get(value.replace("torch.", "").replace("dualnet.", ""))
        if found is None:
            raise TypeError(f"unknown dtype name {value!r}; expected one of {sorted(_BY_NAME)}")
        return found
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        raise TypeError(f"expected a dtype, got {value!r} of type {type(value).__name__}") from None
    found = _BY_NP.get(np_dtype)
    if found is None:
        raise TypeError(f"NumPy dtype {np_dtype} has no dualnet equivalent; "
                        f"supported: {', '.join(d.name for d in ALL)}")
    return found


def from_numpy_dtype(np_dtype):
    found = _BY_NP.get(np_dtype)
    if found is None:
        raise TypeError(f"can't convert a NumPy array of dtype {np_dtype}; supported dtypes: "
                        f"{', '.join(d.name for d in ALL)}")
    return found


def promote_types(a, b):
    """PyTorch's promoteTypes: the higher category wins; within a category the wider type."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def _combine(higher, lower):
    # PyTorch's combine_categories: a lower tier only matters when it is of a higher category.
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """The dtype of an op's result from tensors (dimensioned, zero-dim), arrays and Python scalars.

    Dimensioned tensors decide; zero-dim tensors and then Python scalars only raise the category
    (int tensor + 2.5 -> default float; float32 tensor + float64 0-dim tensor -> float32).
    """
    dim = zero = wrapped = None
    for op in operands:
        d = getattr(op, "_dtype", None)
        if d is not None:
            if op._data.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
            continue
        if isinstance(op, np.ndarray):
            d = from_numpy_dtype(op.dtype)
            if op.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
            continue
        d = scalar_dtype(op)
        wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def scalar_dtype(value):
    """The dtype a Python (or NumPy) scalar stands for in promotion."""
    if isinstance(value, (builtins.bool, np.bool_)):
        return bool_
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.float, np.floating)):
        return _default_float
    raise TypeError(f"expected a Tensor, an array or a number, got {type(value).__name__}")
