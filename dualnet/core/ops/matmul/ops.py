"""Matrix products: matmul (`@`) and its stricter spellings mm, bmm, mv, dot; outer; addmm and
baddbmm; einsum.

One Function, `Matmul`, computes every product of two operands (mm, bmm, mv and dot only check
their shapes more strictly); its backward is two more products,
dA = sum_batch(dC @ B^T) and dB = sum_batch(A^T @ dC), written with Tensor ops so it can be
differentiated again. Einsum's backward is an einsum per operand (see `_einsum_grad`).
The kernels are NumPy's BLAS (see cpu.py).
"""
import math

import numpy as np

from ...autograd import Function
from ...device import CPU, array_module
from ...dispatch import kernels
from ...tensor import Tensor
from .._common import check_same_device, shape_str
from ..elementwise.ops import broadcast_to, mul, sum_to
from ..shape.ops import reshape, transpose
from .einsum_parse import fresh_letters, parse_einsum, sublist_equation


def _k(dev):
    return kernels("matmul", dev)


def _recording(ctx):
    return getattr(ctx, "needs_input_grad", None) is not None


def _swap_last(x):
    return transpose(x, -2, -1)


def _reshape(x, shape):
    return x if x._data.shape == shape else reshape(x, shape)


# ------------------------------------------------------------------------------- shape checks

def _dims(shape):
    return "x".join(str(s) for s in shape) if shape else "scalar"


def _check_pair(op, a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected two Tensors, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, got "
                           f"{a._dtype.name} and {b._dtype.name} (convert one with .to())")
    if a._device is not b._device and a._device != b._device:
        check_same_device(op, a, b)


def _check_inner(op, names, sa, sb):
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner_b:
        which = "size" if len(sb) == 1 else "second-to-last dim"
        raise RuntimeError(f"{op}: {names} shapes cannot be multiplied ({_dims(sa)} and "
                           f"{_dims(sb)}): the last dim of the first ({sa[-1]}) must equal the "
                           f"{which} of the second ({inner_b})")


def _check_ranks(op, sa, sb, ranks, names):
    if (len(sa), len(sb)) != ranks:
        raise RuntimeError(f"{op}: expected a {ranks[0]}-D {names[0]} and a {ranks[1]}-D "
                           f"{names[1]}, got shapes {shape_str(sa)} and {shape_str(sb)}")


def _check_matmul(op, sa, sb):
    if not sa or not sb:
        raise RuntimeError(f"{op}: both arguments need to be at least 1-D, got shapes "
                           f"{shape_str(sa)} and {shape_str(sb)}")
    _check_inner(op, "the two", sa, sb)
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise RuntimeError(f"{op}: the batch dims of shapes {shape_str(sa)} and "
                               f"{shape_str(sb)} cannot be broadcast together") from None


def _check_mm(op, sa, sb):
    _check_ranks(op, sa, sb, (2, 2), ("mat1", "mat2"))
    _check_inner(op, "mat1 and mat2", sa, sb)


def _check_bmm(op, sa, sb):
    _check_ranks(op, sa, sb, (3, 3), ("batch1", "batch2"))
    if sa[0] != sb[0]:
        raise RuntimeError(f"{op}: batch1 and batch2 must have the same batch size, got shapes "
                           f"{shape_str(sa)} and {shape_str(sb)} (bmm does not broadcast; "
                           f"matmul does)")
    _check_inner(op, "batch1 and batch2", sa, sb)


def _check_mv(op, sa, sb):
    _check_ranks(op, sa, sb, (2, 1), ("matrix", "vector"))
    _check_inner(op, "matrix and vector", sa, sb)


def _check_dot(op, sa, sb):
    _check_ranks(op, sa, sb, (1, 1), ("tensor", "tensor"))
    if sa[0] != sb[0]:
        raise RuntimeError(f"{op}: the two vectors must have the same number of elements, got "
                           f"shapes {shape_str(sa)} and {shape_str(sb)}")


# ------------------------------------------------------------------------------------ products

class Matmul(Function):
    """a @ b; subclasses differ only in the op name and how strictly they check shapes."""

    _array_forward = True
    opname = "matmul"
    check = staticmethod(_check_matmul)

    @staticmethod
    def forward(ctx, a, b):
        _check_pair(ctx.opname, a, b)
        ctx.check(ctx.opname, a._data.shape, b._data.shape)
        if _recording(ctx):
            ctx.save_for_backward(a, b)
        return _k(a._device).matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _matmul_grads(a, b, grad, *ctx.needs_input_grad)


def _matmul_grads(a, b, grad, need_a, need_b):
    """(dL/da, dL/db) of c = a @ b given dL/dc, for every 1-D / 2-D / batched combination."""
    ndim_a, ndim_b = a._data.ndim, b._data.ndim
    if ndim_a == 2 and ndim_b == 2:  # the common case, without the general case's bookkeeping
        return (matmul(grad, _swap_last(b)) if need_a else None,
                matmul(_swap_last(a), grad) if need_b else None)
    if ndim_a == 1 and ndim_b == 1:
        return (mul(grad, b) if need_a else None), (mul(grad, a) if need_b else None)
    # 1-D operands are a row (left) or column (right) matrix, as in the forward
    a2 = a if a.ndim > 1 else _reshape(a, (1,) + a.shape)
    b2 = b if b.ndim > 1 else _reshape(b, b.shape + (1,))
    if a.ndim == 1:
        grad = _reshape(grad, grad.shape[:-1] + (1, grad.shape[-1]))
    elif b.ndim == 1:
        grad = _reshape(grad, grad.shape + (1,))
    grad_a = grad_b = None
    if need_a:
        grad_a = _reshape(sum_to(matmul(grad, _swap_last(b2)), a2.shape), a.shape)
    if need_b:
        if b2.ndim == 2 and grad.ndim > 2:
            # a batch of rows times one matrix (a Linear layer): one GEMM over all the rows
            # instead of a batched product summed over the batch
            k, n = b2.shape
            rows = math.prod(grad.shape[:-1])
            grad_b = matmul(_swap_last(_reshape(a2, (rows, k))), _reshape(grad, (rows, n)))
        else:
            grad_b = sum_to(matmul(_swap_last(a2), grad), b2.shape)
        grad_b = _reshape(grad_b, b.shape)
    return grad_a, grad_b


class Mm(Matmul):
    opname = "mm"
    check = staticmethod(_check_mm)


class Bmm(Matmul):
    opname = "bmm"
    check = staticmethod(_check_bmm)


class Mv(Matmul):
    opname = "mv"
    check = staticmethod(_check_mv)


class Dot(Matmul):
    opname = "dot"
    check = staticmethod(_check_dot)


class AddMatmul(Function):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product (addmm, baddbmm)."""

    _array_forward = True
    opname = "addmm"
    check = staticmethod(_check_mm)

    @staticmethod
    def forward(ctx, input, mat1, mat2, beta, alpha):
        op = ctx.opname
        _check_pair(op, mat1, mat2)
        _check_pair(op, input, mat1)
        ctx.check(op, mat1._data.shape, mat2._data.shape)
        out_shape = mat1._data.shape[:-1] + mat2._data.shape[-1:]
        try:
            fits = np.broadcast_shapes(input._data.shape, out_shape) == out_shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{op}: input of shape {shape_str(input.shape)} can't be broadcast "
                               f"to the product's shape {shape_str(out_shape)}")
        if not input._dtype.is_floating_point and not (
                float(beta).is_integer() and float(alpha).is_integer()):
            raise RuntimeError(f"{op}: beta and alpha must be integers for {input._dtype.name} "
                               f"tensors, got beta={beta!r}, alpha={alpha!r}")
        if _recording(ctx):
            ctx.save_for_backward(mat1, mat2)
            ctx.in_shape, ctx.beta, ctx.alpha = input._data.shape, beta, alpha
        out = array_module(mat1._device).empty(out_shape, mat1._dtype.np)
        return _k(mat1._device).addmm(input._data, mat1._data, mat2._data, beta, alpha, out)

    @staticmethod
    def backward(ctx, grad):
        mat1, mat2 = ctx.saved_tensors
        need_input, need1, need2 = ctx.needs_input_grad[:3]
        scaled = grad if ctx.alpha == 1 else mul(grad, ctx.alpha)
        grad_input = sum_to(grad if ctx.beta == 1 else mul(grad, ctx.beta), ctx.in_shape) \
            if need_input else None
        grad1, grad2 = _matmul_grads(mat1, mat2, scaled, need1, need2)
        return grad_input, grad1, grad2, None, None


class AddBmm(AddMatmul):
    opname = "baddbmm"
    check = staticmethod(_check_bmm)


def matmul(input, other):
    """Matrix product with NumPy's rules: 1-D·1-D is a dot product, a 1-D left (right) operand is
    a row (column) vector, and dims before the last two are batch dims that broadcast.

    >>> import dualnet as dn
    >>> a = dn.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> a @ dn.tensor([1.0, 1.0])
    tensor([3., 7.])
    >>> dn.matmul(dn.ones(5, 1, 2, 3), dn.ones(4, 3, 2)).shape
    dualnet.Size([5, 4, 2, 2])
    """
    return Matmul.apply(input, other)


def mm(input, mat2):
    """Product of two matrices, (n, k) @ (k, m) -> (n, m); no broadcasting.

    >>> import dualnet as dn
    >>> dn.mm(dn.tensor([[1.0, 2.0]]), dn.tensor([[3.0], [4.0]]))
    tensor([[11.]])
    """
    return Mm.apply(input, mat2)


def bmm(input, mat2):
    """Batched matrix product, (b, n, k) @ (b, k, m) -> (b, n, m); no broadcasting.

    >>> import dualnet as dn
    >>> dn.bmm(dn.ones(4, 2, 3), dn.ones(4, 3, 5)).shape
    dualnet.Size([4, 2, 5])
    """
    return Bmm.apply(input, mat2)


def mv(input, vec):
    """Matrix-vector product, (n, k) @ (k,) -> (n,).

    >>> import dualnet as dn
    >>> dn.mv(dn.tensor([[1.0, 2.0], [3.0, 4.0]]), dn.tensor([1.0, -1.0]))
    tensor([-1., -1.])
    """
    return Mv.apply(input, vec)


def dot(input, other):
    """Inner product of two 1-D tensors of the same size: sum_i a_i b_i (a 0-d tensor).

    >>> import dualnet as dn
    >>> dn.dot(dn.tensor([1.0, 2.0, 3.0]), dn.tensor([4.0, 5.0, 6.0]))
    tensor(32.)
    """
    return Dot.apply(input, other)


def vdot(input, other):
    """dot() conjugating the first argument; the same as dot for real tensors."""
    return Dot.apply(input, other)


def outer(input, vec2):
    """Outer product of two 1-D tensors: out[i, j] = a_i b_j.

    >>> import dualnet as dn
    >>> dn.outer(dn.tensor([1.0, 2.0]), dn.tensor([1.0, 10.0, 100.0]))
    tensor([[  1.,  10., 100.],
            [  2.,  20., 200.]])
    """
    _check_pair("outer", input, vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {shape_str(input.shape)} "
                           f"and {shape_str(vec2.shape)}")
    # a broadcast multiply: a k=1 matrix product would go through BLAS for nothing
    return mul(_reshape(input, (input.shape[0], 1)), _reshape(vec2, (1, vec2.shape[0])))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to (n, m): a Linear layer's
    `bias + x @ W.T` in one call.

    >>> import dualnet as dn
    >>> dn.addmm(dn.tensor([10.0, 20.0]), dn.ones(1, 3), dn.ones(3, 2))
    tensor([[13., 23.]])
    """
    return AddMatmul.apply(input, mat1, mat2, beta, alpha)


class Linear(Function):
    """input @ weight.T + bias, weight in torch's (out, in) layout: one node where transpose +
    addmm would be two (BLAS reads weight.T through its transpose flag, nothing is copied)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, input, weight, bias):
        x, w = input._data, weight._data
        if _recording(ctx):
            ctx.save_for_backward(input, weight)
            ctx.bias_shape = None if bias is None else bias._data.shape
        k = _k(input._device)
        if x.ndim == 2:
            out = array_module(input._device).empty((x.shape[0], w.shape[0]), w.dtype)
            if bias is None:
                return k.matmul(x, w.T, out=out)
            return k.addmm(bias._data, x, w.T, 1, 1, out)
        out = k.matmul(x, w.T)
        if bias is not None:
            out = out + bias._data
        return out

    @staticmethod
    def backward(ctx, grad):
        input, weight = ctx.saved_tensors
        need_input, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_input = matmul(grad, weight) if need_input else None
        grad_weight = grad_bias = None
        if need_weight or need_bias:
            rows = _reshape(grad, (-1, grad.shape[-1])) if grad.ndim != 2 else grad
        if need_weight:
            flat = _reshape(input, (-1, input.shape[-1])) if input.ndim != 2 else input
            grad_weight = matmul(_swap_last(rows), flat)
        if need_bias:
            grad_bias = sum_to(rows, ctx.bias_shape)
        return grad_input, grad_weight, grad_bias


def linear(input, weight, bias=None):
    """input @ weight.T + bias over input's last dim (torch.nn.functional.linear): the Linear
    layer's arithmetic, one node, one BLAS product (+ bias) for any number of leading dims.

    >>> import dualnet as dn
    >>> import dualnet.nn.functional as F
    >>> F.linear(dn.ones(2, 3), dn.ones(4, 3), dn.arange(4.0)).tolist()
    [[3.0, 4.0, 5.0, 6.0], [3.0, 4.0, 5.0, 6.0]]
    """
    _check_pair("linear", input, weight)
    if (weight._data.ndim != 2 or input._data.ndim == 0
            or input._data.shape[-1] != weight._data.shape[1]):
        raise RuntimeError(f"linear: input of shape {shape_str(input.shape)} does not fit weight "
                           f"of shape {shape_str(weight.shape)} (expected input's last dim to be "
                           f"weight's in_features, shape[1], of a 2-D weight)")
    if bias is not None:
        _check_pair("linear", weight, bias)
        if bias._data.shape not in ((weight._data.shape[0],), ()):
            raise RuntimeError(f"linear: bias of shape {shape_str(bias.shape)} does not match "
                               f"weight of shape {shape_str(weight.shape)} (expected "
                               f"[{weight._data.shape[0]}])")
    return Linear.apply(input, weight, bias)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * bmm(batch1, batch2), input broadcast to (b, n, m).

    >>> import dualnet as dn
    >>> dn.baddbmm(dn.zeros(2, 1, 1), dn.ones(2, 1, 3), dn.ones(2, 3, 1), alpha=0.5).shape
    dualnet.Size([2, 1, 1])
    """
    return AddBmm.apply(input, batch1, batch2, beta, alpha)


# -------------------------------------------------------------------------------------- einsum

class Einsum(Function):
    """Sum over products of operands' elements named by subscript letters (NumPy's einsum)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, equation, *operands):
        if not operands:
            raise RuntimeError("einsum: expected at least one operand")
        for i, t in enumerate(operands):
            if not isinstance(t, Tensor):
                raise TypeError(f"einsum: operand {i} must be a Tensor, got {type(t).__name__}")
            if t._dtype is not operands[0]._dtype:
                raise RuntimeError(f"einsum: expected all operands to have the same dtype, got "
                                   f"{operands[0]._dtype.name} and {t._dtype.name} (operand {i})")
        check_same_device("einsum", *operands)
        inputs, output = parse_einsum(equation, [t._data.shape for t in operands])
        if _recording(ctx):
            ctx.save_for_backward(*operands)
            ctx.subscripts = (inputs, output)
        canonical = ",".join(inputs) + "->" + output
        return _k(operands[0]._device).einsum(canonical, *(t._data for t in operands))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.subscripts
        grads = [_einsum_grad(i, inputs, output, operands, grad) if need else None
                 for i, need in enumerate(ctx.needs_input_grad[1:])]
        return (None, *grads)


def _einsum_grad(i, inputs, output, operands, grad):
    """dL/d(operand i): the einsum of grad with every other operand, onto operand i's letters.

    Letters operand i sums over alone get the gradient broadcast back; dims it broadcast (size
    1 against a larger size elsewhere) are summed back; a repeated letter (a diagonal, 'ii')
    puts the gradient back on the diagonal by a product with an identity matrix.
    """
    sub, x = inputs[i], operands[i]
    others = [j for j in range(len(operands)) if j != i]
    letters = "".join(dict.fromkeys(sub))  # distinct letters, in order
    x_sizes = tuple(x.shape[sub.index(c)] for c in letters)
    reached = set(output).union(*(inputs[j] for j in others))
    target = "".join(c for c in letters if c in reached)
    equation = ",".join([output] + [inputs[j] for j in others]) + "->" + target
    g = einsum(equation, grad, *(operands[j] for j in others))
    g = _reshape(g, tuple(g.shape[target.index(c)] if c in target else 1 for c in letters))
    g = sum_to(g, tuple(1 if s == 1 else gs for s, gs in zip(x_sizes, g.shape)))
    g = broadcast_to(g, x_sizes)
    if len(letters) == len(sub):
        return g
    fresh = iter(fresh_letters(inputs + [output]))
    renamed, deltas, eyes, seen = [], [], [], set()
    for c in sub:
        if c in seen:
            f = next(fresh)
            renamed.append(f)
            deltas.append(c + f)
            n = x.shape[sub.index(c)]
            eyes.append(Tensor._make(array_module(x._device).eye(n, dtype=x._dtype.np), x._device,
                                     x._dtype, False, None, 0, None))
        else:
            seen.add(c)
            renamed.append(c)
    return einsum(",".join([letters] + deltas) + "->" + "".join(renamed), g, *eyes)


def einsum(*args):
    """Einstein summation: `einsum("ij,jk->ik", a, b)` is a @ b; letters in the inputs but not
    in the output are summed over; without '->' the output is the letters used once, sorted.
    Also `einsum(eq, [a, b])` and the sublist form `einsum(a, [0, 1], b, [1, 2], [0, 2])`.

    >>> import dualnet as dn
    >>> a = dn.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> dn.einsum("ij,jk->ik", a, a)
    tensor([[ 7., 10.],
            [15., 22.]])
    >>> dn.einsum("ii", a)
    tensor(5.)
    """
    if not args:
        raise TypeError("einsum: expected an equation and operands")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = sublist_equation(args)
    return Einsum.apply(equation, *operands)


def _matmul_operator(self, other):
    if isinstance(other, np.ndarray):
        other = Tensor._make(other, CPU, None, False, None, 0, None)
    elif not isinstance(other, Tensor):
        return NotImplemented
    return Matmul.apply(self, other)


def _rmatmul_operator(self, other):
    if isinstance(other, np.ndarray):
        other = Tensor._make(other, CPU, None, False, None, 0, None)
    elif not isinstance(other, Tensor):
        return NotImplemented
    return Matmul.apply(other, self)


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "addmm", "baddbmm", "einsum"]
FUNCTIONAL = ["linear"]

METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot, "outer": outer,
    "addmm": addmm, "baddbmm": baddbmm,
    "__matmul__": _matmul_operator, "__rmatmul__": _rmatmul_operator,
}
