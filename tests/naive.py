"""Plain NumPy references for the core's tests: what each op should compute, written the obvious
way (stumpy's `tests/naive.py`). Nothing here imports dualnet."""
import math

import numpy as np

# ----------------------------------------------------------------------------- elementwise


def relu(x):
    return np.where(x > 0, x, np.where(np.isnan(x), x, np.zeros_like(x)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def rsqrt(x):
    return 1 / np.sqrt(x)


def square(x):
    return x * x


def erf(x):
    x = np.asarray(x)
    flat = [math.erf(float(v)) for v in x.reshape(-1)]
    return np.array(flat, dtype=x.dtype).reshape(x.shape)


def clamp(x, low=None, high=None):
    """min(max(x, low), high) with NaN passing through (torch.clamp)."""
    out = x
    if low is not None:
        out = np.where(out < low, low, out)
    if high is not None:
        out = np.where(out > high, high, out)
    return out


def maximum(a, b):
    """Elementwise max; a NaN on either side wins (torch.maximum, np.maximum)."""
    return np.where(np.isnan(a) | np.isnan(b), a + b, np.where(a >= b, a, b)) \
        if np.asarray(a).dtype.kind == "f" else np.where(a >= b, a, b)


def minimum(a, b):
    return np.where(np.isnan(a) | np.isnan(b), a + b, np.where(a <= b, a, b)) \
        if np.asarray(a).dtype.kind == "f" else np.where(a <= b, a, b)


def remainder(a, b):
    """Python's modulus: the result takes the divisor's sign (C's fmod, moved by b when the
    signs differ)."""
    out = np.fmod(a, b)
    return np.where((out != 0) & ((out < 0) != (np.asarray(b) < 0)), out + b, out)


def where(cond, a, b):
    return np.where(cond, a, b)


# ----------------------------------------------------------------------------- broadcasting


def broadcast_shape(*shapes):
    """NumPy's rule, by hand: align at the right; sizes must agree or be 1."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        sizes = {s[len(s) - ndim + axis] for s in shapes if len(s) - ndim + axis >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} are not broadcastable")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def sum_to(x, shape):
    """Sum the broadcast array `x` back down to `shape` (the gradient of broadcasting)."""
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead))) if lead else x
    for axis, size in enumerate(shape):
        if size == 1 and x.shape[axis] != 1:
            x = x.sum(axis=axis, keepdims=True)
    return x


# ----------------------------------------------------------------------------- type promotion

CATEGORY = {"bool": 0, "uint8": 1, "int8": 1, "int16": 1, "int32": 1, "int64": 1,
            "float16": 2, "float32": 2, "float64": 2}


def promote_types(a, b):
    """torch.promote_types on dtype names: the higher category wins, else the wider type."""
    if CATEGORY[a] != CATEGORY[b]:
        return a if CATEGORY[a] > CATEGORY[b] else b
    return np.promote_types(a, b).name


def result_type(*operands, default_float="float32"):
    """torch.result_type for operands given as (dtype name, kind), kind one of "dim" (a tensor
    with dimensions), "zero" (a 0-dim tensor) or "scalar" (a Python bool/int/float, named by
    "bool"/"int64"/"float32"). Dimensioned tensors decide; zero-dim tensors and then Python
    scalars matter only when they are of a higher category."""
    tiers = {"dim": None, "zero": None, "scalar": None}
    for name, kind in operands:
        if kind == "scalar" and CATEGORY[name] == 2:
            name = default_float
        tiers[kind] = name if tiers[kind] is None else promote_types(tiers[kind], name)

    def combine(higher, lower):
        if higher is None:
            return lower
        if lower is None or CATEGORY[higher] == 2:
            return higher
        if higher == "bool" or CATEGORY[lower] == 2:
            return promote_types(higher, lower)
        return higher

    return combine(tiers["dim"], combine(tiers["zero"], tiers["scalar"]))


# ----------------------------------------------------------------------------- autograd


def numerical_jacobian(fn, x, eps=1e-6):
    """d fn(x) / dx by central differences, as a (fn(x).size, x.size) float64 matrix."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)
    columns = []
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        plus = np.asarray(fn(x), dtype=np.float64).reshape(-1)
        flat[k] = saved - eps
        minus = np.asarray(fn(x), dtype=np.float64).reshape(-1)
        flat[k] = saved
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1)
