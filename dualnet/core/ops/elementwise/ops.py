"""Elementwise ops: arithmetic, comparisons, unary math, clamp/where, casts, device moves.

Each op is one Function: forward calls the device's kernel on arrays (after PyTorch's type
promotion and broadcasting), backward is written with Tensor ops so it can itself be
differentiated. Broadcasting's gradient is `sum_to`, one reduction back to the input's shape.
"""
import numpy as np

from ...autograd import Function, is_grad_enabled
from ...device import array_module
from ...dispatch import kernels
from ...dtypes import bool_, float16, float32, get_default_dtype, result_type
from ...tensor import Tensor
from .._common import broadcast_error, check_operand, check_same_device, is_scalar, to_kernel_operand
from .._views import apply_inplace


def _k(dev):
    return kernels("elementwise", dev)


def _shape(value):
    return value._data.shape if isinstance(value, Tensor) else np.shape(value)


def _prepare(op, a, b, result="promote"):
    """(device, compute dtype, result dtype, kernel operands) for a binary op."""
    if type(a) is Tensor and type(b) is Tensor and a._dtype is b._dtype:
        dtype = a._dtype
        if a._device is not b._device and a._device != b._device:
            check_same_device(op, a, b)
    else:
        check_operand(op, a)
        check_operand(op, b)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        check_same_device(op, a, b)
        dtype = result_type(a, b)
    dev = a._device if isinstance(a, Tensor) else b._device
    out_dtype = dtype
    if result == "float" and not dtype.is_floating_point:
        dtype = out_dtype = get_default_dtype()
    elif result == "bool":
        out_dtype = bool_
    if dtype is float16:
        dtype = float32  # Numba has no float16 arithmetic: compute in float32, as torch's CPU does
    xp = array_module(dev)
    return dev, dtype, out_dtype, _operand(a, dtype, dev, xp), _operand(b, dtype, dev, xp)


def _operand(value, dtype, dev, xp):
    try:
        return to_kernel_operand(value, dtype, dev, xp)
    except OverflowError:
        # a Python int wraps into a narrower int tensor's dtype, as in torch (uint8 + 1000 -> 233)
        return np.int64(value).astype(dtype.np)


def _call(op, kernel, a, b, xa, xb):
    try:
        return kernel(xa, xb)
    except ValueError:
        raise broadcast_error(op, a, b) from None


# ------------------------------------------------------------------------- broadcasting's grad

class SumTo(Function):
    """Sum a tensor down to `shape` over the dims that broadcasting expanded."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return _k(x._device).sum_to_shape(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape), None


class BroadcastTo(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, shape, op="expand"):
        ctx.in_shape = x._data.shape
        try:
            return _k(x._device).broadcast_to(x._data, shape)
        except ValueError:
            raise RuntimeError(f"{op}: the shape {list(x._data.shape)} can't be expanded to "
                               f"{list(shape)} (sizes must match or be 1)") from None

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.in_shape), None, None


def sum_to(x, shape):
    """The gradient of broadcasting: sum `x` down to `shape` (identity when shapes agree)."""
    shape = tuple(shape)
    if x._data.shape == shape:
        return x
    try:
        expanded = np.broadcast_shapes(shape, x._data.shape)
    except ValueError:
        expanded = None
    if expanded != x._data.shape:
        raise RuntimeError(f"sum_to: a tensor of shape {list(x._data.shape)} can't be summed to "
                           f"{list(shape)}: that shape doesn't broadcast to it")
    return SumTo.apply(x, shape)


def broadcast_to(x, shape):
    """`x` expanded (without a copy) to `shape`; sizes must match or be 1, as for `+`."""
    shape = tuple(shape)
    if not isinstance(x, Tensor):
        raise TypeError(f"broadcast_to: expected a Tensor, got {type(x).__name__}")
    if x._data.shape == shape:
        return x
    return BroadcastTo.apply(x, shape, "broadcast_to")


def _grad_for(ctx, i, grad):
    return sum_to(grad, ctx.shapes[i]) if ctx.needs_input_grad[i] else None


# ------------------------------------------------------------------------- binary arithmetic

class _Binary(Function):
    _array_forward = True
    kernel = opname = None
    result = "promote"

    @staticmethod
    def forward(ctx, a, b):
        dev, dtype, out_dtype, xa, xb = _prepare(ctx.opname, a, b, ctx.result)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.shapes = (_shape(a), _shape(b))
            ctx.save_for_backward(*ctx.saves(a, b))
        out = _call(ctx.opname, getattr(_k(dev), ctx.kernel), a, b, xa, xb)
        if out.dtype != out_dtype.np:  # Numba widens small ints to int64; float16 was upcast
            out = out.astype(out_dtype.np)
        return out

    @staticmethod
    def saves(a, b):
        return ()


class Add(_Binary):
    kernel = opname = "add"

    @staticmethod
    def backward(ctx, grad):
        return _grad_for(ctx, 0, grad), _grad_for(ctx, 1, grad)


class Sub(_Binary):
    kernel = opname = "sub"

    @staticmethod
    def backward(ctx, grad):
        gb = _grad_for(ctx, 1, grad)
        return _grad_for(ctx, 0, grad), (None if gb is None else neg(gb))


class Mul(_Binary):
    kernel = opname = "mul"

    def saves(ctx, a, b):
        # only what a needed gradient reads (as torch): `x * w` with a constant w keeps no x, so
        # changing x in place afterwards is no error
        return (a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (_grad_for(ctx, 0, grad * b) if ctx.needs_input_grad[0] else None,
                _grad_for(ctx, 1, grad * a) if ctx.needs_input_grad[1] else None)


class Div(_Binary):
    kernel, opname, result = "div", "div", "float"

    def saves(ctx, a, b):
        return (a if ctx.needs_input_grad[1] else None, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = _grad_for(ctx, 0, grad / b) if ctx.needs_input_grad[0] else None
        gb = _grad_for(ctx, 1, neg(grad * a) / (b * b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(_Binary):
    kernel, opname = "power", "pow"

    @staticmethod
    def saves(a, b):
        return (a, b)

    @staticmethod
    def forward(ctx, a, b):
        if isinstance(b, Tensor) or is_scalar(b):
            exponent_negative = (is_scalar(b) and b < 0)
            base_int = isinstance(a, Tensor) and not a._dtype.is_floating_point
            if exponent_negative and base_int and not isinstance(b, float):
                raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                                   f"(exponent {b})")
        return _Binary.forward(ctx, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):  # torch: 0 where the exponent is 0 (not 0 * a^-1 = nan at 0)
                ga = _grad_for(ctx, 0, where(b == 0, 0.0, grad * b * pow(a, b - 1)))
            else:
                ga = _grad_for(ctx, 0, grad * b * pow(a, b - 1) if b != 0 else _zero_grad(grad)[0])
        if ctx.needs_input_grad[1]:
            out = pow(a, b)
            # d(a^b)/db = a^b log(a); torch defines it as 0 where a == 0 (and b >= 0)
            if isinstance(a, Tensor):
                gb = _grad_for(ctx, 1, where(a == 0, 0.0, grad * out * log(a)))
            else:  # a Python base: `2 ** t`
                with np.errstate(invalid="ignore", divide="ignore"):
                    log_a = float(np.log(np.float64(a)))
                gb = _grad_for(ctx, 1, grad * out * log_a if a != 0 else _zero_grad(grad)[0])
        return ga, gb


class _MinMax(_Binary):
    @staticmethod
    def saves(a, b):
        return (a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # torch: a side gets the gradient unless it lost, half of it on a tie; so where a NaN is
        # involved (no comparison holds) both sides get all of it
        a_lost, b_lost = ((a < b), (a > b)) if ctx.kernel == "maximum" else ((a > b), (a < b))
        ties = (a == b)
        share_a = where(ties, 0.5, where(a_lost, 0.0, 1.0))
        share_b = where(ties, 0.5, where(b_lost, 0.0, 1.0))
        return (_grad_for(ctx, 0, grad * share_a) if ctx.needs_input_grad[0] else None,
                _grad_for(ctx, 1, grad * share_b) if ctx.needs_input_grad[1] else None)


class Maximum(_MinMax):
    kernel = opname = "maximum"


class Minimum(_MinMax):
    kernel = opname = "minimum"


class Atan2(_Binary):
    kernel, opname, result = "atan2", "atan2", "float"

    @staticmethod
    def saves(a, b):
        return (a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        denom = a * a + b * b
        return (_grad_for(ctx, 0, grad * b / denom) if ctx.needs_input_grad[0] else None,
                _grad_for(ctx, 1, neg(grad * a) / denom) if ctx.needs_input_grad[1] else None)


class _NonDiffBinary(_Binary):
    _differentiable = False


def _make_nondiff(kernel, result="promote"):
    return type(kernel.title().replace("_", ""), (_NonDiffBinary,),
                {"kernel": kernel, "opname": kernel, "result": result})


FloorDivide = _make_nondiff("floor_divide")


class Remainder(_Binary):
    kernel = opname = "remainder"
    rounding = "floor"

    @staticmethod
    def saves(a, b):
        return (a, b)

    @staticmethod
    def backward(ctx, grad):
        # a - rounded(a / b) * b: d/da = 1, d/db = -rounded(a / b) (torch's formulas)
        a, b = ctx.saved_tensors
        rounded = floor if ctx.rounding == "floor" else trunc
        return (_grad_for(ctx, 0, grad),
                _grad_for(ctx, 1, neg(grad) * rounded(div(a, b))) if ctx.needs_input_grad[1] else None)


class Fmod(Remainder):
    kernel = opname = "fmod"
    rounding = "trunc"


_COMPARE = {name: _make_nondiff(name, "bool") for name in ("eq", "ne", "lt", "le", "gt", "ge")}
_LOGICAL = {name: _make_nondiff(name, "bool") for name in ("logical_and", "logical_or", "logical_xor")}
_BITWISE = {name: _make_nondiff(name) for name in ("bitwise_and", "bitwise_or", "bitwise_xor")}


def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting. `dn.add(x, 1)`, `x + y`."""
    if alpha != 1:
        other = mul(other, alpha)
    if _all_bool(input, other):
        return logical_or(input, other)  # torch: True + True is True
    return Add.apply(input, other)


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    if isinstance(input, Tensor) and input._dtype is bool_ and isinstance(other, Tensor) and \
            other._dtype is bool_:
        raise RuntimeError("sub: subtraction of two bool tensors is not supported; use "
                           "logical_xor() or ~ instead")
    return Sub.apply(input, other)


def mul(input, other):
    """input * other, broadcasting."""
    if _all_bool(input, other):
        return logical_and(input, other)
    return Mul.apply(input, other)


def div(input, other, *, rounding_mode=None):
    """True division (ints give floats); rounding_mode 'floor' or 'trunc' as in torch."""
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode == "floor":
        return FloorDivide.apply(input, other)
    if rounding_mode == "trunc":
        return trunc(Div.apply(input, other)).to(result_type(input, other))
    raise RuntimeError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                       f"{rounding_mode!r}")  # torch's class for it


def true_divide(input, other):
    return Div.apply(input, other)


def floor_divide(input, other):
    return FloorDivide.apply(input, other)


def remainder(input, other):
    """Python-style modulus (the result takes the divisor's sign), like torch.remainder."""
    return Remainder.apply(input, other)


def fmod(input, other):
    """C-style modulus (the result takes the dividend's sign)."""
    return Fmod.apply(input, other)


def pow(input, exponent):
    """input ** exponent, elementwise, broadcasting."""
    return Pow.apply(input, exponent)


def maximum(input, other):
    """Elementwise max, NaN-propagating; ties split the gradient equally."""
    return Maximum.apply(input, other)


def minimum(input, other):
    return Minimum.apply(input, other)


def atan2(input, other):
    return Atan2.apply(input, other)


def eq(input, other):
    return _COMPARE["eq"].apply(input, other)


def ne(input, other):
    return _COMPARE["ne"].apply(input, other)


def lt(input, other):
    return _COMPARE["lt"].apply(input, other)


def le(input, other):
    return _COMPARE["le"].apply(input, other)


def gt(input, other):
    return _COMPARE["gt"].apply(input, other)


def ge(input, other):
    return _COMPARE["ge"].apply(input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input, other):
    return _LOGICAL["logical_and"].apply(input, other)


def logical_or(input, other):
    return _LOGICAL["logical_or"].apply(input, other)


def logical_xor(input, other):
    return _LOGICAL["logical_xor"].apply(input, other)


def _check_integral(op, *values):
    for v in values:
        if isinstance(v, Tensor) and v._dtype.is_floating_point:  # RuntimeError, as in torch
            raise RuntimeError(f"{op}: only integer and bool tensors are supported, got "
                               f"{v._dtype}")


def bitwise_and(input, other):
    _check_integral("bitwise_and", input, other)
    return _BITWISE["bitwise_and"].apply(input, other)


def bitwise_or(input, other):
    _check_integral("bitwise_or", input, other)
    return _BITWISE["bitwise_or"].apply(input, other)


def bitwise_xor(input, other):
    _check_integral("bitwise_xor", input, other)
    return _BITWISE["bitwise_xor"].apply(input, other)


def equal(input, other):
    """True when both tensors have the same shape and elements."""
    for value in (input, other):
        if not isinstance(value, Tensor):
            raise TypeError(f"equal: expected Tensors, got {type(value).__name__}")
    return input.shape == other.shape and bool(eq(input, other).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every |input - other| <= atol + rtol * |other| (see `isclose`)."""
    return bool(_isclose(input, other, rtol, atol, equal_nan, "allclose").all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other|, elementwise; NaNs equal only with equal_nan."""
    return _isclose(input, other, rtol, atol, equal_nan, "isclose")


def _isclose(input, other, rtol, atol, equal_nan, op):
    check_operand(op, input)
    check_operand(op, other)
    try:
        np.broadcast_shapes(_shape(input), _shape(other))
    except ValueError:
        raise broadcast_error(op, input, other) from None
    dtype = result_type(input, other)
    a = input.to(dtype) if isinstance(input, Tensor) else input
    b = other.to(dtype) if isinstance(other, Tensor) else other
    close = le(abs(sub(a, b)), add(mul(abs(b), rtol), atol))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return logical_or(close, eq(a, b))


# ------------------------------------------------------------------------- unary

class _Unary(Function):
    _array_forward = True
    kernel = None
    to_float = False  # int inputs are computed in the default float dtype (exp, log, sqrt...)

    @staticmethod
    def forward(ctx, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{ctx.kernel}: expected a Tensor, got {type(x).__name__}")
        array, out_dtype = x._data, x._dtype
        if ctx.to_float and not out_dtype.is_floating_point:
            out_dtype = get_default_dtype()
            array = array.astype(out_dtype.np)
        elif out_dtype is bool_ and ctx.kernel in ("neg", "square", "abs"):
            raise RuntimeError(f"{ctx.kernel}: not supported on bool tensors; use logical_not() "
                               f"or cast with .int() first")
        if out_dtype is float16:
            array = array.astype(np.float32)  # Numba has no float16 arithmetic
        if getattr(ctx, "needs_input_grad", None) is not None and ctx.saves_input:
            ctx.save_for_backward(x)
        out = getattr(_k(x._device), ctx.kernel)(array)
        if out.dtype != out_dtype.np and out.dtype != np.bool_:  # Numba widens small ints to
            out = out.astype(out_dtype.np)  # int64 (isnan, logical_not... stay bool)
        return out

    saves_input = False


def _unary(kernel, backward=None, to_float=True, saves_input=False, save_output=False):
    attrs = {"kernel": kernel, "to_float": to_float, "saves_input": saves_input,
             "_save_output": save_output}
    if backward is None:
        attrs["_differentiable"] = False
    else:
        attrs["backward"] = staticmethod(backward)
    return type(kernel.title().replace("_", ""), (_Unary,), attrs)


def _input(ctx):
    return ctx.saved_tensors[0]


def _zero_grad(grad):
    # zeros, not grad * 0: a NaN or inf incoming gradient must not leak through (torch: zeros_like)
    return (Tensor._zeros(grad.shape, grad._dtype, grad._device),)


Neg = _unary("neg", lambda ctx, g: (neg(g),), to_float=False)
Abs = _unary("abs", lambda ctx, g: (g * sign(_input(ctx)),), to_float=False, saves_input=True)
Sign = _unary("sign", lambda ctx, g: _zero_grad(g), to_float=False)
Square = _unary("square", lambda ctx, g: (g * 2 * _input(ctx),), to_float=False, saves_input=True)
Exp = _unary("exp", lambda ctx, g: (g * ctx.output,), save_output=True)
Expm1 = _unary("expm1", lambda ctx, g: (g * (ctx.output + 1),), save_output=True)
Log = _unary("log", lambda ctx, g: (g / _input(ctx),), saves_input=True)
Log2 = _unary("log2", lambda ctx, g: (g / (_input(ctx) * float(np.log(2.0))),), saves_input=True)
Log10 = _unary("log10", lambda ctx, g: (g / (_input(ctx) * float(np.log(10.0))),), saves_input=True)
Log1p = _unary("log1p", lambda ctx, g: (g / (_input(ctx) + 1),), saves_input=True)
Sqrt = _unary("sqrt", lambda ctx, g: (g / (ctx.output * 2),), save_output=True)
Rsqrt = _unary("rsqrt", lambda ctx, g: (g * pow(ctx.output, 3) * -0.5,), save_output=True)
Reciprocal = _unary("reciprocal", lambda ctx, g: (neg(g * ctx.output * ctx.output),), save_output=True)
Sin = _unary("sin", lambda ctx, g: (g * cos(_input(ctx)),), saves_input=True)
Cos = _unary("cos", lambda ctx, g: (neg(g * sin(_input(ctx))),), saves_input=True)
Tan = _unary("tan", lambda ctx, g: (g * (ctx.output * ctx.output + 1),), save_output=True)
Erf = _unary("erf", lambda ctx, g: (g * exp(neg(square(_input(ctx)))) * (2 / np.sqrt(np.pi)),),
             saves_input=True)
Floor = _unary("floor", lambda ctx, g: _zero_grad(g), to_float=False)
Ceil = _unary("ceil", lambda ctx, g: _zero_grad(g), to_float=False)
Round = _unary("round", lambda ctx, g: _zero_grad(g), to_float=False)
Trunc = _unary("trunc", lambda ctx, g: _zero_grad(g), to_float=False)
IsNan = _unary("isnan", None, to_float=False)
IsInf = _unary("isinf", None, to_float=False)
IsFinite = _unary("isfinite", None, to_float=False)
LogicalNot = _unary("logical_not", None, to_float=False)
BitwiseNot = _unary("bitwise_not", None, to_float=False)


class _FusedBackward(Function):
    """grad -> grad * f'(out) in one kernel pass; differentiable again for double backward."""

    _array_forward = True
    kernel = None

    @staticmethod
    def forward(ctx, grad, out):
        ctx.save_for_backward(grad, out)
        return getattr(_k(grad._device), ctx.kernel)(grad._data, out._data)


class ReluBackward(_FusedBackward):
    kernel = "relu_backward"

    @staticmethod
    def backward(ctx, gg):
        grad, out = ctx.saved_tensors
        return gg * logical_not(out <= 0), (_zero_grad(out)[0] if ctx.needs_input_grad[1] else None)


class SigmoidBackward(_FusedBackward):
    kernel = "sigmoid_backward"

    @staticmethod
    def backward(ctx, gg):
        grad, out = ctx.saved_tensors
        return (SigmoidBackward.apply(gg, out),
                gg * grad * (1 - 2 * out) if ctx.needs_input_grad[1] else None)


class TanhBackward(_FusedBackward):
    kernel = "tanh_backward"

    @staticmethod
    def backward(ctx, gg):
        grad, out = ctx.saved_tensors
        return TanhBackward.apply(gg, out), (gg * grad * out * -2 if ctx.needs_input_grad[1] else None)


Relu = _unary("relu", lambda ctx, g: (ReluBackward.apply(g, ctx.output),), to_float=False,
              save_output=True)
Sigmoid = _unary("sigmoid", lambda ctx, g: (SigmoidBackward.apply(g, ctx.output),), save_output=True)
Tanh = _unary("tanh", lambda ctx, g: (TanhBackward.apply(g, ctx.output),), save_output=True)


def _public_unary(cls, doc):
    def op(input):
        return cls.apply(input)

    op.__name__ = op.__qualname__ = cls.kernel
    op.__doc__ = doc
    return op


neg = _public_unary(Neg, "-input.")
negative = neg
abs = _public_unary(Abs, "|input|; the gradient at 0 is 0.")
absolute = abs
sign = _public_unary(Sign, "-1, 0 or 1 by the sign of each element (no gradient).")
square = _public_unary(Square, "input ** 2.")
exp = _public_unary(Exp, "e ** input.\n\n>>> import dualnet as dn\n>>> dn.exp(dn.tensor([0.0]))\n"
                         "tensor([1.])")
expm1 = _public_unary(Expm1, "exp(input) - 1, accurate near 0.")
log = _public_unary(Log, "Natural logarithm.")
log2 = _public_unary(Log2, "Base-2 logarithm.")
log10 = _public_unary(Log10, "Base-10 logarithm.")
log1p = _public_unary(Log1p, "log(1 + input), accurate near 0.")
sqrt = _public_unary(Sqrt, "Square root.")
rsqrt = _public_unary(Rsqrt, "1 / sqrt(input).")
reciprocal = _public_unary(Reciprocal, "1 / input.")
sin = _public_unary(Sin, "Sine.")
cos = _public_unary(Cos, "Cosine.")
tan = _public_unary(Tan, "Tangent.")
erf = _public_unary(Erf, "The error function 2/sqrt(pi) * integral of exp(-t^2) from 0 to input.")
floor = _public_unary(Floor, "Round down (zero gradient).")
ceil = _public_unary(Ceil, "Round up (zero gradient).")
trunc = _public_unary(Trunc, "Round toward zero (zero gradient).")
isnan = _public_unary(IsNan, "True where the element is NaN.")
isinf = _public_unary(IsInf, "True where the element is +-inf.")
isfinite = _public_unary(IsFinite, "True where the element is neither NaN nor inf.")
logical_not = _public_unary(LogicalNot, "Elementwise not (bool result).")
_bitwise_not = _public_unary(BitwiseNot, "Bitwise not of an integer or bool tensor.")


def bitwise_not(input):
    """Bitwise not of an integer or bool tensor."""
    _check_integral("bitwise_not", input)
    return _bitwise_not(input)
relu = _public_unary(Relu, "max(input, 0); the gradient at 0 is 0.")
sigmoid = _public_unary(Sigmoid, "1 / (1 + exp(-input)).")
tanh = _public_unary(Tanh, "Hyperbolic tangent.")


def round(input, *, decimals=0):
    """Round half to even (torch.round); `decimals` scales by 10**decimals first."""
    if decimals == 0:
        return Round.apply(input)
    scale = 10.0 ** decimals
    return Round.apply(input * scale) / scale


# ------------------------------------------------------------------------- clamp, where

class Clamp(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, low, high):
        dtype = x._dtype
        for bound in (low, high):
            if isinstance(bound, Tensor):
                dtype = result_type(x, bound) if bound._data.ndim else dtype
            elif bound is not None and isinstance(bound, float) and not dtype.is_floating_point:
                dtype = get_default_dtype()
        lo, hi = _bounds(low, high, dtype, x._device)
        xx = x._data if x._dtype is dtype else x._data.astype(dtype.np)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.save_for_backward(x)
            ctx.lo, ctx.hi = lo, hi
            ctx.bound_shapes = (_shape(low), _shape(high))
            ctx.both_bounds = low is not None and high is not None
        try:
            return _k(x._device).clamp(xx, lo, hi)
        except ValueError:
            raise broadcast_error("clamp", x, low, high) from None

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        g_low = g_high = None
        if grad.requires_grad or ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            lo, hi = (Tensor._make(array_module(x._device).asarray(b), x._device, None, False, None,
                                   0, None) for b in (ctx.lo, ctx.hi))
            # a tensor bound takes the gradient where it is the result (torch's
            # clamp_backward_min_max)
            if ctx.needs_input_grad[1]:
                mask = logical_and(x < lo, lo < hi) if ctx.both_bounds else x < lo
                g_low = sum_to(where(mask, grad, 0.0), ctx.bound_shapes[0])
            if ctx.needs_input_grad[2]:
                mask = logical_or(x > hi, hi < lo) if ctx.both_bounds else x > hi
                g_high = sum_to(where(mask, grad, 0.0), ctx.bound_shapes[1])
        if grad.requires_grad:  # double backward: keep the graph through the mask
            return grad * logical_and(x >= lo, x <= hi), g_low, g_high
        masked = _k(x._device).clamp_backward(grad._data, x._data, ctx.lo, ctx.hi)
        return Tensor._make(masked, grad._device, grad._dtype, False, None, 0, None), g_low, g_high


def _bounds(low, high, dtype, dev):
    xp = array_module(dev)
    if dtype.is_floating_point:
        lo_default, hi_default = -np.inf, np.inf
    elif dtype is bool_:
        lo_default, hi_default = False, True
    else:
        info = np.iinfo(dtype.np)
        lo_default, hi_default = info.min, info.max

    def one(bound, default):
        if bound is None:
            return dtype.np.type(default)
        if isinstance(bound, Tensor):
            return bound._data.astype(dtype.np, copy=False)
        return xp.asarray(bound, dtype=dtype.np)

    return one(low, lo_default), one(high, hi_default)


def clamp(input, min=None, max=None):
    """Limit every element to [min, max] (either may be None or a tensor); NaN stays NaN."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and not isinstance(bound, Tensor) and not is_scalar(bound):
            raise TypeError(f"clamp: {name} must be a number or a Tensor, got {type(bound).__name__}")
    check_same_device("clamp", input, min, max)
    return Clamp.apply(input, min, max)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


class Where(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, condition, a, b):
        dev = check_same_device("where", condition, a, b) or a._device
        dtype = result_type(a, b)
        xp = array_module(dev)
        cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
        if cond.dtype != np.bool_:
            if isinstance(condition, Tensor) and condition._dtype is not bool_:
                raise RuntimeError(f"where: expected a bool condition, got {condition._dtype}")
            cond = cond.astype(np.bool_)
        if getattr(ctx, "needs_input_grad", None) is not None:
            ctx.cond = cond
            ctx.shapes = (cond.shape, _shape(a), _shape(b))
        try:
            return _k(dev).where(cond, to_kernel_operand(a, dtype, dev, xp),
                                 to_kernel_operand(b, dtype, dev, xp))
        except ValueError:
            raise broadcast_error("where", condition, a, b) from None

    @staticmethod
    def backward(ctx, grad):
        cond = Tensor._make(ctx.cond, grad._device, bool_, False, None, 0, None)
        ga = _grad_for(ctx, 1, where(cond, grad, 0.0)) if ctx.needs_input_grad[1] else None
        gb = _grad_for(ctx, 2, where(cond, 0.0, grad)) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition, input=None, other=None):
    """input where condition else other (broadcasting); `where(cond)` alone gives nonzero indices."""
    if input is None and other is None:
        from ..indexing.ops import nonzero

        return nonzero(condition, as_tuple=True)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        if isinstance(condition, Tensor):
            dtype = result_type(input, other)
            input = Tensor._from_value(input, dtype, condition._device)
        else:
            raise TypeError("where: expected a Tensor condition")
    return Where.apply(condition, input, other)


# ------------------------------------------------------------------------- casts, moves, copies

class Cast(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x._dtype
        return _k(x._device).cast(x._data, dtype.np)

    @staticmethod
    def backward(ctx, grad):
        return (grad.to(ctx.in_dtype) if ctx.in_dtype.is_floating_point else None), None


def cast(x, dtype):
    return Cast.apply(x, dtype)


class ToDevice(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x, dev):
        ctx.src = x._device
        ctx.device = dev
        if dev.type == "cpu":
            data = x._data
            return data.get() if hasattr(data, "get") else np.array(data)
        xp = array_module(dev)
        return xp.array(x._data, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.src), None


def to_device(x, dev):
    return ToDevice.apply(x, dev)


class Clone(Function):
    _array_forward = True

    @staticmethod
    def forward(ctx, x):
        return x._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


def clone(input, *, memory_format=None):
    """A copy with its own memory; gradients flow back to `input`."""
    if not isinstance(input, Tensor):
        raise TypeError(f"clone: expected a Tensor, got {type(input).__name__}")
    return Clone.apply(input)


def contiguous(input, memory_format=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"contiguous: expected a Tensor, got {type(input).__name__}")
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


# ------------------------------------------------------------------------- in-place variants

def _inplace_binary(fn, kernel_name, op):
    def inplace(self, other, **kwargs):
        if (not kwargs and not (is_grad_enabled() and (self._requires_grad or (
                isinstance(other, Tensor) and other._requires_grad)))):
            # fast path (optimizer updates, no_grad): the kernel writes straight into self
            if isinstance(other, Tensor):
                check_same_device(op, self, other)
            dtype = result_type(self, other)
            if dtype is self._dtype and kernel_name is not None and dtype not in (float16, bool_):
                xp = array_module(self._device)
                try:
                    getattr(_k(self._device), kernel_name)(
                        self._data, _operand(other, dtype, self._device, xp), out=self._data)
                except ValueError:
                    raise RuntimeError(f"{op}: the result of shapes {list(self.shape)} and "
                                       f"{list(_shape(other))} can't be written into a tensor of "
                                       f"shape {list(self.shape)}") from None
                self._version.value += 1
                return self
        return apply_inplace(self, op, lambda t, o: fn(t, o, **kwargs), other)

    inplace.__name__ = op
    inplace.__doc__ = f"In-place {fn.__name__}: writes the result into this tensor's memory."
    return inplace


def _inplace_unary(fn, op):
    def inplace(self, *args, **kwargs):
        return apply_inplace(self, op, lambda t: fn(t, *args, **kwargs))

    inplace.__name__ = op
    inplace.__doc__ = f"In-place {fn.__name__}."
    return inplace


add_ = _inplace_binary(add, "add", "add_")
sub_ = _inplace_binary(sub, "sub", "sub_")
mul_ = _inplace_binary(mul, "mul", "mul_")
div_ = _inplace_binary(div, "div", "div_")
pow_ = _inplace_binary(pow, None, "pow_")
clamp_ = _inplace_unary(clamp, "clamp_")
clamp_min_ = _inplace_unary(clamp_min, "clamp_min_")
clamp_max_ = _inplace_unary(clamp_max, "clamp_max_")
neg_ = _inplace_unary(neg, "neg_")
abs_ = _inplace_unary(abs, "abs_")
exp_ = _inplace_unary(exp, "exp_")
log_ = _inplace_unary(log, "log_")
sqrt_ = _inplace_unary(sqrt, "sqrt_")
relu_ = _inplace_unary(relu, "relu_")
sigmoid_ = _inplace_unary(sigmoid, "sigmoid_")
tanh_ = _inplace_unary(tanh, "tanh_")
floor_ = _inplace_unary(floor, "floor_")
round_ = _inplace_unary(round, "round_")
reciprocal_ = _inplace_unary(reciprocal, "reciprocal_")
square_ = _inplace_unary(square, "square_")


class Overwrite(Function):
    """`dst` replaced by `value` (broadcast and cast to dst's dtype): fill_ and copy_ under
    autograd. What was overwritten gets a zero gradient; a tensor value gets the gradient."""

    _array_forward = True

    @staticmethod
    def forward(ctx, dst, value, op):
        ctx.value_shape = _shape(value)
        out = array_module(dst._device).empty(dst._data.shape, dst._dtype.np)
        try:
            _k(dst._device).copy(value._data if isinstance(value, Tensor) else value, out)
        except ValueError:
            raise RuntimeError(f"{op}: src of shape {list(ctx.value_shape)} can't be broadcast to "
                               f"the destination's shape {list(dst.shape)}") from None
        return out

    @staticmethod
    def backward(ctx, grad):
        g_value = sum_to(grad, ctx.value_shape) if ctx.needs_input_grad[1] else None
        return _zero_grad(grad)[0], g_value, None


def _fill(self, value, op):
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"{op}: only supports a 0-dimension value tensor, got one of "
                               f"shape {list(value.shape)}")
        if value._requires_grad and is_grad_enabled():
            return apply_inplace(self, op, lambda t, v: Overwrite.apply(t, v, op), value)
        value = value.item()
    if not is_scalar(value):
        raise TypeError(f"{op}: value must be a number, got {type(value).__name__}")
    if is_grad_enabled() and self._requires_grad:
        # recorded so that the history (a view's base's too) sees the overwrite, as in torch
        return apply_inplace(self, op, lambda t: Overwrite.apply(t, value, op))
    _k(self._device).fill(self._data, value)
    self._version.value += 1
    return self


def fill_(self, value):
    """Set every element to `value` (a number or a one-element tensor)."""
    return _fill(self, value, "fill_")


def zero_(self):
    """Set every element to zero."""
    return _fill(self, 0, "zero_")


def copy_(self, src, non_blocking=False):
    """Copy `src` (broadcast to this shape, cast to this dtype, from any device) into this tensor."""
    if not isinstance(src, Tensor):
        if isinstance(src, np.ndarray) or is_scalar(src):
            src = Tensor._from_value(src, self._dtype, self._device)
        else:
            raise TypeError(f"copy_: expected a Tensor as src, got {type(src).__name__}")

    if not (is_grad_enabled() and (self._requires_grad or src._requires_grad)):
        moved = src
        if moved._device != self._device:
            moved = moved.to(self._device)
        try:
            _k(self._device).copy(moved._data, self._data)
        except ValueError:
            raise RuntimeError(f"copy_: src of shape {list(src.shape)} can't be broadcast to the "
                               f"destination's shape {list(self.shape)}") from None
        self._version.value += 1
        return self
    return apply_inplace(self, "copy_",
                         lambda dst, source: Overwrite.apply(dst, source.to(dst._device), "copy_"),
                         src)


# ------------------------------------------------------------------------- operators

def _reflected(fn):
    def op(self, other):
        return fn(other, self)

    return op


def _binary_operator(fn):
    def op(self, other):
        if not isinstance(other, (Tensor, np.ndarray)) and not is_scalar(other):
            return NotImplemented
        return fn(self, other)

    return op


def _binary_reflected(fn):
    def op(self, other):
        if not isinstance(other, (Tensor, np.ndarray)) and not is_scalar(other):
            return NotImplemented
        return fn(other, self)

    return op


def _and(a, b):
    return logical_and(a, b) if _all_bool(a, b) else bitwise_and(a, b)


def _or(a, b):
    return logical_or(a, b) if _all_bool(a, b) else bitwise_or(a, b)


def _xor(a, b):
    return logical_xor(a, b) if _all_bool(a, b) else bitwise_xor(a, b)


def _all_bool(*values):
    return all((isinstance(v, Tensor) and v._dtype is bool_) or isinstance(v, bool) for v in values)


def _invert(self):
    if self._dtype is bool_:
        return logical_not(self)
    return bitwise_not(self)


OPERATORS = {
    "__add__": _binary_operator(add), "__radd__": _binary_reflected(add),
    "__sub__": _binary_operator(sub), "__rsub__": _binary_reflected(sub),
    "__mul__": _binary_operator(mul), "__rmul__": _binary_reflected(mul),
    "__truediv__": _binary_operator(div), "__rtruediv__": _binary_reflected(div),
    "__floordiv__": _binary_operator(floor_divide), "__rfloordiv__": _binary_reflected(floor_divide),
    "__mod__": _binary_operator(remainder), "__rmod__": _binary_reflected(remainder),
    "__pow__": _binary_operator(pow), "__rpow__": _binary_reflected(pow),
    "__eq__": _binary_operator(eq), "__ne__": _binary_operator(ne),
    "__lt__": _binary_operator(lt), "__le__": _binary_operator(le),
    "__gt__": _binary_operator(gt), "__ge__": _binary_operator(ge),
    "__and__": _binary_operator(_and), "__rand__": _binary_reflected(_and),
    "__or__": _binary_operator(_or), "__ror__": _binary_reflected(_or),
    "__xor__": _binary_operator(_xor), "__rxor__": _binary_reflected(_xor),
    "__neg__": neg, "__abs__": abs, "__invert__": _invert, "__pos__": lambda self: self,
    "__iadd__": add_, "__isub__": sub_, "__imul__": mul_, "__itruediv__": div_,
}

METHODS = {name: globals()[name] for name in (
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
    "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "equal", "allclose", "isclose",
    "neg", "negative", "abs", "absolute", "sign", "square", "exp", "expm1", "log", "log2", "log10",
    "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "erf", "floor", "ceil", "trunc",
    "round", "isnan", "isinf", "isfinite", "relu", "sigmoid", "tanh", "clamp", "clip", "clamp_min",
    "clamp_max", "clone", "contiguous", "add_", "sub_", "mul_", "div_", "pow_", "clamp_",
    "clamp_min_", "clamp_max_", "neg_", "abs_", "exp_", "log_", "sqrt_", "relu_", "sigmoid_",
    "tanh_", "floor_", "round_", "reciprocal_", "square_", "fill_", "zero_", "copy_",
    "broadcast_to")}
METHODS["expand_as"] = lambda self, other: broadcast_to(self, other.shape)
METHODS["where"] = lambda self, condition, other: where(condition, self, other)
METHODS.update(OPERATORS)

__all__ = [
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
    "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "equal", "allclose", "isclose",
    "neg", "negative", "abs", "absolute", "sign", "square", "exp", "expm1", "log", "log2", "log10",
    "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "erf", "floor", "ceil", "trunc",
    "round", "isnan", "isinf", "isfinite", "relu", "sigmoid", "tanh", "clamp", "clip", "clamp_min",
    "clamp_max", "where", "clone", "broadcast_to", "sum_to",
]
