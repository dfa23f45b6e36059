"""Tensor factories (tensor, zeros, arange, rand...) with PyTorch's dtype inference."""
import builtins
import math
import numbers

import numpy as np

from . import random as _random
from .device import CPU, array_module, to_device
from .dtypes import bool_, from_numpy_dtype, get_default_dtype, int64, promote_types, to_dtype
from .tensor import Tensor


def _infer_dtype(data):
    """PyTorch's inference: NumPy arrays and scalars keep their dtype, Python floats give the
    default float, ints int64, bools bool; a sequence promotes its items' dtypes."""
    if isinstance(data, Tensor):
        return data._dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return from_numpy_dtype(data.dtype)
    found = []
    _scan_dtypes(data, found, 0)
    if not found:
        return get_default_dtype()  # empty lists are float, as in torch
    result = found[0]
    for d in found[1:]:
        result = promote_types(result, d)
    return result


def _scan_dtypes(data, found, depth):
    if isinstance(data, (Tensor, np.ndarray, np.generic)):  # (np.float64 is a float subclass)
        found.append(_infer_dtype(data))
    elif isinstance(data, builtins.bool):
        found.append(bool_)
    elif isinstance(data, builtins.int):
        found.append(int64)
    elif isinstance(data, builtins.float):
        found.append(get_default_dtype())
    elif isinstance(data, (list, tuple)):
        if depth > 64:
            raise ValueError("tensor: data is nested too deeply")
        for item in data:
            _scan_dtypes(item, found, depth + 1)
    elif isinstance(data, numbers.Number):
        raise TypeError(f"tensor: unsupported number type {type(data).__name__}")
    else:
        raise TypeError(f"tensor: can't build a tensor from an object of type "
                        f"{type(data).__name__}; expected numbers, (nested) lists or tuples of "
                        f"numbers, a NumPy array or a Tensor")


def _to_array(data, dtype, device, copy=True):
    """An array on `device` holding `data` (copied unless copy=False and nothing must change)."""
    dev = CPU if device is None else to_device(device)
    target = _infer_dtype(data) if dtype is None else to_dtype(dtype)
    if isinstance(data, Tensor):
        array = data._data
        if data._device != dev:
            array = data.detach().to(dev)._data
            copy = False
    elif isinstance(data, np.ndarray):
        array = data
    else:
        try:
            array = np.array(data, dtype=target.np)
        except ValueError as err:
            raise ValueError(f"tensor: the nested sequences have inconsistent lengths ({err})") from None
        except TypeError as err:
            raise TypeError(f"tensor: {err}") from None
        copy = False
    xp = array_module(dev)
    if xp is not np and isinstance(array, np.ndarray):
        return xp.asarray(array, dtype=target.np), dev
    if array.dtype != target.np:
        return array.astype(target.np), dev
    return (array.copy() if copy else array), dev


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data`, dtype inferred as PyTorch does.

    >>> import dualnet as dn
    >>> dn.tensor([1, 2]).dtype, dn.tensor([1.0, 2]).dtype
    (dualnet.int64, dualnet.float32)
    """
    array, dev = _to_array(data, dtype, device)
    t = Tensor._make(array, dev, None, False, None, 0, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares memory with a NumPy array or tensor when nothing must change."""
    if isinstance(data, Tensor) and (dtype is None or to_dtype(dtype) is data._dtype) and (
            device is None or to_device(device) == data._device):
        return data
    array, dev = _to_array(data, dtype, device, copy=False)
    return Tensor._make(array, dev, None, False, None, 0, None)


asarray = as_tensor


def from_numpy(ndarray):
    """A tensor that shares memory with `ndarray` (changes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(ndarray).__name__}")
    dtype = from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray, CPU, dtype, False, None, 0, None)


def _size(op, size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.__index__()
        if not isinstance(s, (builtins.int, np.integer)) or isinstance(s, builtins.bool):
            raise TypeError(f"{op}: size must be a sequence of ints, got {list(size)!r}")
        if s < 0:
            raise RuntimeError(f"{op}: trying to create a tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(builtins.int(s))
    return tuple(out)


def _finish(array, dev, dtype, requires_grad):
    t = Tensor._make(array, dev, dtype, False, None, 0, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _factory(op, size, dtype, device, requires_grad, make):
    shape = _size(op, size)
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    dev = to_device(device)
    return _finish(make(array_module(dev), shape, dtype.np), dev, dtype, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return _factory("zeros", size, dtype, device, requires_grad, lambda xp, s, d: xp.zeros(s, d))


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _factory("ones", size, dtype, device, requires_grad, lambda xp, s, d: xp.ones(s, d))


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None, out=None):
    """An uninitialised tensor (its values are whatever the memory held)."""
    return _factory("empty", size, dtype, device, requires_grad, lambda xp, s, d: xp.empty(s, d))


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor filled with `fill_value`; the dtype follows the value (1 -> int64, 1.0 -> float)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, numbers.Number) or isinstance(fill_value, complex):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    return _factory("full", (size,) if not isinstance(size, (builtins.int, np.integer)) else (size,),
                    dtype, device, requires_grad, lambda xp, s, d: xp.full(s, fill_value, d))


def _like(op, input, dtype, device, requires_grad, make):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    dtype = input._dtype if dtype is None else to_dtype(dtype)
    dev = input._device if device is None else to_device(device)
    return _finish(make(array_module(dev), input._data.shape, dtype), dev, dtype, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like("zeros_like", input, dtype, device, requires_grad,
                 lambda xp, s, d: xp.zeros(s, d.np))


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like("ones_like", input, dtype, device, requires_grad, lambda xp, s, d: xp.ones(s, d.np))


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like("empty_like", input, dtype, device, requires_grad,
                 lambda xp, s, d: xp.empty(s, d.np))


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None):
    return _like("full_like", input, dtype, device, requires_grad,
                 lambda xp, s, d: xp.full(s, fill_value, d.np))


def _check_tensor(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    _check_tensor("rand_like", input)
    dtype = input._dtype if dtype is None else to_dtype(dtype)
    return rand(*input.shape, dtype=dtype, device=device or input._device,
                requires_grad=requires_grad, generator=generator)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    _check_tensor("randn_like", input)
    dtype = input._dtype if dtype is None else to_dtype(dtype)
    return randn(*input.shape, dtype=dtype, device=device or input._device,
                 requires_grad=requires_grad, generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, generator=None):
    _check_tensor("randint_like", input)
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input._dtype,
                   device=device or input._device, generator=generator)


def _scalar(op, name, value):
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, numbers.Number) or isinstance(value, complex):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__}")
    return value


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (inclusive) to end (exclusive); ints give int64, floats the default float.

    >>> import dualnet as dn
    >>> dn.arange(5).dtype, dn.arange(5.0).dtype
    (dualnet.int64, dualnet.float32)
    """
    if end is None:
        start, end = 0, start
    start, end, step = (_scalar("arange", n, v) for n, v in
                        (("start", start), ("end", end), ("step", step)))
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound are inconsistent with the step "
                           f"sign (start={start}, end={end}, step={step})")
    if dtype is None:
        is_float = any(isinstance(v, (builtins.float, np.floating)) for v in (start, end, step))
        dtype = get_default_dtype() if is_float else int64
    dtype = to_dtype(dtype)
    length = max(0, math.ceil((end - start) / step))
    integral = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
    if integral:
        values = np.arange(start, end, step, dtype=np.int64)
    else:  # computed in float64 as start + i * step, like torch, then cast
        values = start + np.arange(length, dtype=np.float64) * step
    return tensor(values.astype(dtype.np), device=device, requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end, both included."""
    start, end = _scalar("linspace", "start", start), _scalar("linspace", "end", end)
    if not isinstance(steps, (builtins.int, np.integer)) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative int, got {steps!r}")
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    return tensor(np.linspace(start, end, steps).astype(dtype.np), device=device,
                  requires_grad=requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """`steps` values from base**start to base**end, evenly spaced in the exponent."""
    if not isinstance(steps, (builtins.int, np.integer)) or steps < 0:
        raise RuntimeError(f"logspace: number of steps must be a non-negative int, got {steps!r}")
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    return tensor(np.logspace(start, end, steps, base=base).astype(dtype.np), device=device,
                  requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix."""
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if not isinstance(v, (builtins.int, np.integer)) or v < 0:
            raise RuntimeError(f"eye: {name} must be a non-negative int, got {v!r}")
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    dev = to_device(device)
    return _finish(array_module(dev).eye(n, m, dtype=dtype.np), dev, dtype, requires_grad)


# ------------------------------------------------------------------------------------ random

def _random_factory(op, size, dtype, device, requires_grad, generator, kind):
    shape = _size(op, size)
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    if not dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point dtype, got {dtype}")
    dev = to_device(device)
    array = _random.random_array(kind, shape, dtype.np, dev, generator)
    return _finish(array, dev, dtype, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1); reproducible under `dn.manual_seed`."""
    return _random_factory("rand", size, dtype, device, requires_grad, generator, "uniform")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples; reproducible under `dn.manual_seed`."""
    return _random_factory("randn", size, dtype, device, requires_grad, generator, "normal")


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high); `randint(high, size)` or `randint(low, high, size)`."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: expected (high, size) or (low, high, size)")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    shape = _size("randint", (size,) if isinstance(size, (builtins.int, np.integer)) else size)
    dtype = int64 if dtype is None else to_dtype(dtype)
    dev = to_device(device)
    if dev.type == "cpu":
        array = _random.generator_of(generator).integers(low, high, shape).astype(dtype.np)
    else:  # on the GPU stream: floor(low + u * (high - low)), exact while high - low < 2**53
        uniform = _random.random_array("uniform", shape, np.float64, dev, generator)
        xp = array_module(dev)
        array = xp.minimum(xp.floor(uniform * (high - low)), high - low - 1).astype(dtype.np)
        array += dtype.np.type(low)
    return _finish(array, dev, dtype, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64)."""
    _size("randperm", (n,))
    dtype = int64 if dtype is None else to_dtype(dtype)
    dev = to_device(device)
    if dev.type == "cpu":
        array = _random.generator_of(generator).permutation(n).astype(dtype.np)
    else:  # on the GPU stream: the order that sorts n uniform draws
        uniform = _random.random_array("uniform", (n,), np.float64, dev, generator)
        array = array_module(dev).argsort(uniform).astype(dtype.np)
    return _finish(array, dev, dtype, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Samples of N(mean, std**2) (float mean and std with a size)."""
    if size is None:
        raise TypeError("normal: give size= with float mean and std")
    if std < 0:
        raise RuntimeError(f"normal: expects std >= 0.0, got std={std}")
    out = randn(*_size("normal", (size,) if isinstance(size, builtins.int) else size),
                generator=generator, dtype=dtype, device=device)
    out = out * std + mean
    if requires_grad:
        out.requires_grad_(True)
    return out


def bernoulli(input, p=None, *, generator=None):
    """1 with probability `input` (or p), else 0, in input's dtype."""
    _check_tensor("bernoulli", input)
    xp = array_module(input._device)
    probs = input._data if p is None else xp.full(input._data.shape, p)
    if not bool(((probs >= 0) & (probs <= 1)).all()):
        raise RuntimeError("bernoulli: every probability must be in [0, 1]")
    draws = _random.random_array("uniform", probs.shape, np.float64, input._device,
                                 generator) < probs
    return _finish(draws.astype(input._dtype.np), input._device, input._dtype, False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices sampled from the rows of `input` (non-negative weights)."""
    probs = np.asarray(input.detach().cpu()._data, dtype=np.float64)
    rows = probs.reshape(-1, probs.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample={num_samples} > "
                           f"prob_dist.size(-1)={rows.shape[1]} samples without replacement")
    rng = _random.generator_of(generator)
    picks = np.stack([rng.choice(rows.shape[1], num_samples, replace=replacement,
                                 p=row / row.sum()) for row in rows])
    return tensor(picks.reshape(probs.shape[:-1] + (num_samples,)), dtype=int64, device=input.device)


__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like",
    "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like", "arange",
    "linspace", "logspace", "eye", "rand", "randn", "randint", "randperm", "normal", "bernoulli",
    "multinomial",
]
