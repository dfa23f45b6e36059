"""CUDA kernels of the elementwise family: the twins of cpu.py, same names and arguments.

Every map is one grid-stride `numba.cuda` kernel over flat arrays, built from a scalar device
function by `_map_kernel`. Operands reach it through `_cuda.flat_operand`: an operand of the
result's shape, a scalar, or a broadcast whose non-1 dims are one run of the result's (a bias,
a per-channel scale) is read in place, by index arithmetic, without a broadcast copy.

Device functions take the result dtype's `one` as their last argument and build their
constants from it (`zero = one - one`): a Python literal would promote float32 math to float64.
Integer and float variants of the same op (floor_divide, remainder, power...) are separate
device functions picked by dtype in the Python wrapper, as NumPy picks a ufunc loop.

Under Numba's CUDA simulator scalars reach the device functions as NumPy scalars and `math`
is Python's: math.log(0) raises there instead of giving -inf, so tests stay inside each
function's domain.
"""
import math

import numpy as np
from numba import cuda

from ...device import cuda_array_module
from .._cuda import finish_out, flat_operand, flat_out, launch

xp = cuda_array_module()


@cuda.jit(device=True)
def _at(i, inner, size):
    """Where output element i reads a flat operand (see `_cuda.flat_operand`)."""
    return i if size == 0 else (i // inner) % size


_KERNELS = {}


def _map_kernel(op, arity):
    """A grid-stride kernel: out[i] = op(operand_1[...], ..., operand_arity[...], one)."""
    key = (op, arity)
    if key in _KERNELS:
        return _KERNELS[key]
    if arity == 1:
        @cuda.jit
        def kernel(a, out):
            one = out.dtype.type(1)
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = op(a[i], one)
    elif arity == "broadcast":  # one operand, broadcast to out (copy)
        @cuda.jit
        def kernel(a, a_inner, a_size, out):
            one = out.dtype.type(1)
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = op(a[_at(i, a_inner, a_size)], one)
    elif arity == 2:
        @cuda.jit
        def kernel(a, a_inner, a_size, b, b_inner, b_size, out):
            one = out.dtype.type(1)
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = op(a[_at(i, a_inner, a_size)], b[_at(i, b_inner, b_size)], one)
    elif arity == 3:
        @cuda.jit
        def kernel(a, a_inner, a_size, b, b_inner, b_size, c, c_inner, c_size, out):
            one = out.dtype.type(1)
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = op(a[_at(i, a_inner, a_size)], b[_at(i, b_inner, b_size)],
                            c[_at(i, c_inner, c_size)], one)
    else:
        @cuda.jit
        def kernel(a, a_inner, a_size, b, b_inner, b_size, c, c_inner, c_size, d, d_inner,
                   d_size, out):
            one = out.dtype.type(1)
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = op(a[_at(i, a_inner, a_size)], b[_at(i, b_inner, b_size)],
                            c[_at(i, c_inner, c_size)], d[_at(i, d_inner, d_size)], one)
    _KERNELS[key] = kernel
    return kernel


def _dtype(x):
    return x.dtype if isinstance(x, (xp.ndarray, np.ndarray, np.generic)) else np.asarray(x).dtype


def _shape(x):
    return tuple(x.shape) if isinstance(x, (xp.ndarray, np.ndarray)) else ()


def _run(op, operands, out, out_dtype):
    """Launch op's kernel over `operands` broadcast together; ValueError when they can't be."""
    shape = np.broadcast_shapes(*(_shape(x) for x in operands))
    if out is not None:
        shape = np.broadcast_shapes(shape, tuple(out.shape))
    flat, result = flat_out(out, shape, out_dtype, xp)
    args = []
    for x in operands:
        args.extend(flat_operand(x, shape, xp))
    arity = len(operands) if len(operands) > 1 else "broadcast"
    launch(_map_kernel(op, arity), flat.size, *args, flat)
    return finish_out(result, out)


def _unary_run(op, a, out, out_dtype):
    shape = tuple(a.shape)
    flat, result = flat_out(out, shape, out_dtype, xp)
    launch(_map_kernel(op, 1), flat.size, xp.ascontiguousarray(a).reshape(-1), flat)
    return finish_out(result, out)


def _is_float(dtype):
    return dtype.kind == "f"


def _map(name, float_op, int_op=None, result=None):
    """The public kernel `name(a, b, out=None)` (or `name(a, out=None)`, or n-ary): `float_op`
    for float operands, `int_op` (default the same) for integer and bool ones; the result is
    bool when `result == "bool"`, else the operands' promoted dtype."""
    int_op = float_op if int_op is None else int_op
    arity = _ARITY[float_op]

    def pick(operands):
        dtype = np.result_type(*(_dtype(x) for x in operands))
        op = float_op if _is_float(dtype) else int_op
        return op, (np.dtype(np.bool_) if result == "bool" else dtype)

    if arity == 1:
        def kernel(a, out=None):
            op, out_dtype = pick((a,))
            return _unary_run(op, a, out, out_dtype)
    elif arity == 2:
        def kernel(a, b, out=None):
            op, out_dtype = pick((a, b))
            return _run(op, (a, b), out, out_dtype)
    else:
        def kernel(*args, out=None):
            op, out_dtype = pick(args)
            return _run(op, args, out, out_dtype)
    kernel.__name__ = kernel.__qualname__ = name
    return kernel


_ARITY = {}  # device function -> number of operands (its arguments less `one`)


def _device(fn):
    compiled = cuda.jit(device=True)(fn)
    _ARITY[compiled] = fn.__code__.co_argcount - 1
    return compiled


# --------------------------------------------------------------------------- binary arithmetic

@_device
def _add(a, b, one):
    return a + b


@_device
def _sub(a, b, one):
    return a - b


@_device
def _mul(a, b, one):
    return a * b


@_device
def _div(a, b, one):
    return a / b


@_device
def _maximum(a, b, one):
    return a if (a >= b or a != a) else b  # NaN-propagating, like torch.maximum


@_device
def _minimum(a, b, one):
    return a if (a <= b or a != a) else b


@_device
def _floor_divide_float(a, b, one):
    # NumPy's npy_divmod: floor of the exact quotient, not of the rounded a / b
    zero = one - one
    if b == zero:
        return a / b
    mod = math.fmod(a, b)
    div = (a - mod) / b
    if mod != zero and ((b < zero) != (mod < zero)):
        div -= one
    if div == zero:
        return zero * (a / b)  # a signed zero, as NumPy
    floor_div = math.floor(div)
    if div - floor_div > one / (one + one):
        floor_div += one
    return floor_div


@_device
def _floor_divide_int(a, b, one):
    zero = one - one
    if b == zero:
        return zero  # NumPy's (and torch's CPU) answer for integer division by zero
    quotient = a // b  # Numba's integer // floors, as Python's
    return quotient


@_device
def _remainder_float(a, b, one):
    zero = one - one
    mod = math.fmod(a, b)
    if mod != zero:
        if (b < zero) != (mod < zero):
            mod += b
    else:
        mod = zero * b if b < zero else zero  # the zero takes the divisor's sign
    return mod


@_device
def _remainder_int(a, b, one):
    zero = one - one
    if b == zero:
        return zero
    return a % b  # Python's modulus: the divisor's sign


@_device
def _fmod_float(a, b, one):
    return math.fmod(a, b)


@_device
def _fmod_int(a, b, one):
    zero = one - one
    if b == zero:
        return zero
    mod = a % b
    if mod != zero and ((mod < zero) != (a < zero)):
        mod -= b  # C's modulus: the dividend's sign
    return mod


@_device
def _power_float(a, b, one):
    return a ** b


@_device
def _power_int(a, b, one):
    # square-and-multiply in the integer type (negative exponents are refused by the op)
    result = one
    base = a
    exponent = b
    zero = one - one
    while exponent > zero:
        if exponent % (one + one) == one:
            result = result * base
        base = base * base
        exponent = exponent // (one + one)
    return result


@_device
def _atan2(a, b, one):
    return math.atan2(a, b)


add = _map("add", _add)
sub = _map("sub", _sub)
mul = _map("mul", _mul)
div = _map("div", _div)
maximum = _map("maximum", _maximum)
minimum = _map("minimum", _minimum)
floor_divide = _map("floor_divide", _floor_divide_float, _floor_divide_int)
remainder = _map("remainder", _remainder_float, _remainder_int)
fmod = _map("fmod", _fmod_float, _fmod_int)
power = _map("power", _power_float, _power_int)
atan2 = _map("atan2", _atan2)


# --------------------------------------------------------------------------- comparison, logic

@_device
def _eq(a, b, one):
    return a == b


@_device
def _ne(a, b, one):
    return a != b


@_device
def _lt(a, b, one):
    return a < b


@_device
def _le(a, b, one):
    return a <= b


@_device
def _gt(a, b, one):
    return a > b


@_device
def _ge(a, b, one):
    return a >= b


@_device
def _logical_and(a, b, one):
    return bool(a) and bool(b)


@_device
def _logical_or(a, b, one):
    return bool(a) or bool(b)


@_device
def _logical_xor(a, b, one):
    return bool(a) != bool(b)


@_device
def _logical_not(a, one):
    return not a


@_device
def _bitwise_and(a, b, one):
    return a & b


@_device
def _bitwise_or(a, b, one):
    return a | b


@_device
def _bitwise_xor(a, b, one):
    return a ^ b


@_device
def _invert(a, one):
    return ~a


@_device
def _isnan(a, one):
    return math.isnan(a)


@_device
def _isinf(a, one):
    return math.isinf(a)


@_device
def _isfinite(a, one):
    return not (math.isnan(a) or math.isinf(a))


@_device
def _false(a, one):
    return False


@_device
def _true(a, one):
    return True


eq = _map("eq", _eq, result="bool")
ne = _map("ne", _ne, result="bool")
lt = _map("lt", _lt, result="bool")
le = _map("le", _le, result="bool")
gt = _map("gt", _gt, result="bool")
ge = _map("ge", _ge, result="bool")
logical_and = _map("logical_and", _logical_and, result="bool")
logical_or = _map("logical_or", _logical_or, result="bool")
logical_xor = _map("logical_xor", _logical_xor, result="bool")
logical_not = _map("logical_not", _logical_not, result="bool")
bitwise_and = _map("bitwise_and", _bitwise_and)
bitwise_or = _map("bitwise_or", _bitwise_or)
bitwise_xor = _map("bitwise_xor", _bitwise_xor)
_bitwise_not_int = _map("bitwise_not", _invert)
isnan = _map("isnan", _isnan, _false, result="bool")  # an integer is never NaN nor infinite
isinf = _map("isinf", _isinf, _false, result="bool")
isfinite = _map("isfinite", _isfinite, _true, result="bool")


def bitwise_not(a, out=None):
    if a.dtype == np.bool_:  # ~ on a bool is `not`, not the integer complement
        return logical_not(a, out=out)
    return _bitwise_not_int(a, out=out)


# --------------------------------------------------------------------------- unary

@_device
def _neg(a, one):
    return -a


@_device
def _relu(a, one):
    zero = one - one
    return a if (a > zero or a != a) else zero  # NaN-propagating, and relu(-inf) = 0


@_device
def _sign(a, one):
    zero = one - one
    if a > zero:
        return one
    if a < zero:
        return -one
    return zero  # torch's sign is (0 < a) - (a < 0): NaN gives 0


@_device
def _square(a, one):
    return a * a


@_device
def _abs_float(a, one):
    return math.fabs(a)


@_device
def _abs_int(a, one):
    return -a if a < one - one else a


@_device
def _exp(a, one):
    return math.exp(a)


@_device
def _expm1(a, one):
    return math.expm1(a)


@_device
def _log(a, one):
    return math.log(a)


@_device
def _log2(a, one):
    return math.log2(a)


@_device
def _log10(a, one):
    return math.log10(a)


@_device
def _log1p(a, one):
    return math.log1p(a)


@_device
def _sqrt(a, one):
    return math.sqrt(a)


@_device
def _rsqrt(a, one):
    return one / math.sqrt(a)


@_device
def _reciprocal(a, one):
    return one / a


@_device
def _sin(a, one):
    return math.sin(a)


@_device
def _cos(a, one):
    return math.cos(a)


@_device
def _tan(a, one):
    return math.tan(a)


@_device
def _tanh(a, one):
    return math.tanh(a)


@_device
def _sigmoid(a, one):
    return one / (one + math.exp(-a))


@_device
def _floor(a, one):
    return math.floor(a)


@_device
def _ceil(a, one):
    return math.ceil(a)


@_device
def _trunc(a, one):
    return math.floor(a) if a >= one - one else math.ceil(a)


@_device
def _round_half_even(a, one):
    zero = one - one
    half = one / (one + one)
    down = math.floor(a)
    rest = a - down
    if rest > half or (rest == half and math.fmod(down, one + one) != zero):
        return down + one
    return down


@_device
def _identity(a, one):
    return a


@_device
def _erf(a, one):
    return math.erf(a)


neg = _map("neg", _neg)
relu = _map("relu", _relu)
sign = _map("sign", _sign)
square = _map("square", _square)
abs = _map("abs", _abs_float, _abs_int)
exp = _map("exp", _exp)
expm1 = _map("expm1", _expm1)
log = _map("log", _log)
log2 = _map("log2", _log2)
log10 = _map("log10", _log10)
log1p = _map("log1p", _log1p)
sqrt = _map("sqrt", _sqrt)
rsqrt = _map("rsqrt", _rsqrt)
reciprocal = _map("reciprocal", _reciprocal)
sin = _map("sin", _sin)
cos = _map("cos", _cos)
tan = _map("tan", _tan)
tanh = _map("tanh", _tanh)
sigmoid = _map("sigmoid", _sigmoid)
floor = _map("floor", _floor, _identity)  # an integer is its own floor, ceil, trunc, round
ceil = _map("ceil", _ceil, _identity)
round = _map("round", _round_half_even, _identity)  # half to even, like torch.round
trunc = _map("trunc", _trunc, _identity)
erf = _map("erf", _erf)


# --------------------------------------------------------------------------- fused backward chains

@_device
def _relu_backward(grad, out, one):
    zero = one - one
    return grad if not out <= zero else grad * zero  # a NaN output passes the gradient


@_device
def _sigmoid_backward(grad, out, one):
    return grad * (out - out * out)


@_device
def _tanh_backward(grad, out, one):
    return grad - grad * out * out


@_device
def _clamp_backward(grad, a, low, high, one):
    zero = one - one
    return grad if (a >= low and a <= high) else grad * zero


@_device
def _clamp(a, low, high, one):
    # min(max(a, low), high) as torch.clamp: a NaN (in a or a bound) passes through, and
    # low > high gives high
    lifted = low if (a < low or low != low) else a
    return high if (lifted > high or high != high) else lifted


@_device
def _where(cond, a, b, one):
    return a if cond else b


relu_backward = _map("relu_backward", _relu_backward)
sigmoid_backward = _map("sigmoid_backward", _sigmoid_backward)
tanh_backward = _map("tanh_backward", _tanh_backward)
clamp = _map("clamp", _clamp)


def clamp_backward(*args, out=None):
    grad = args[0]
    return _run(_clamp_backward, args, out, _dtype(grad))


def where(*args, out=None):
    cond, a, b = args
    return _run(_where, args, out, np.result_type(_dtype(a), _dtype(b)))


# --------------------------------------------------------------------------- casts and copies

@_device
def _convert(a, one):
    return a  # the store into `out` converts to its dtype


@_device
def _truth(a, one):
    return a != a - a  # float -> bool: nonzero (NaN and inf included) is True, as in NumPy


def cast(a, np_dtype):
    np_dtype = np.dtype(np_dtype)
    op = _truth if (np_dtype == np.bool_ and a.dtype != np.bool_) else _convert
    return _unary_run(op, a, None, np_dtype)


def copy(src, out):
    """out[...] = src, broadcast and cast to out's dtype."""
    bool_from_number = out.dtype == np.bool_ and _dtype(src) != np.bool_
    if not isinstance(src, (xp.ndarray, np.ndarray)):
        src = np.asarray(src)[()]
    _run(_truth if bool_from_number else _convert, (src,), out, out.dtype)
    return out


def sum_to_shape(a, shape):
    """Sum a broadcast result back down to `shape` (the gradient of broadcasting)."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and a.shape[lead + i] != 1)
    summed = xp.sum(a, axis=axes, keepdims=True) if axes else a
    return summed.reshape(shape)


def broadcast_to(a, shape):
    return xp.broadcast_to(a, shape)


def fill(out, value):
    return copy(np.asarray(value).astype(out.dtype)[()], out)
