"""Views and in-place changes: how a tensor that shares memory stays correct under autograd.

A view (reshape, transpose, basic indexing...) shares its base's memory and version counter and
remembers `_view_fn`, the Tensor function that makes it from its base. An in-place op under
autograd computes its result out of place (from a clone, so what it saves is never overwritten),
writes it into the tensor's memory and moves the tensor onto the new graph node; for a view, the
base moves onto a CopySlices node (as in PyTorch), and the view is made again from the base.
"""
from ..autograd import Function, _edge, is_grad_enabled, no_grad
from ..tensor import Tensor


def mark_view(out, src, view_fn):
    """Make `out` (fresh from a view op on `src`) a view: shared version counter and base."""
    out._version = src._version
    if src._base is None:
        out._base = src
        out._view_fn = view_fn
    else:
        parent_fn = src._view_fn
        out._base = src._base
        out._view_fn = lambda base: view_fn(parent_fn(base))
    out._view_version = out._version.value  # its grad_fn is current until the memory changes
    return out


def apply_inplace(t, op, compute, *args):
    """`t.op_(*args)`: write compute(t, *args) into t's memory; record it when grad is on."""
    recording = is_grad_enabled() and (
        t._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
    if recording:
        check_inplace_allowed(t, op)
        result = compute(t.clone(), *args)
    else:
        with no_grad():
            result = compute(t, *args)
    write_into(op, t, result)
    if recording:
        adopt_graph(t, result)
    return t


def check_inplace_allowed(t, op):
    if t.grad_fn is None and t._requires_grad:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad is being used in an in-place "
                           f"operation; do the update under dn.no_grad() (as optimizers do) or use "
                           f"an out-of-place op")
    base = t._base
    if base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError(f"{op}: a view of a leaf tensor that requires grad is being used in an "
                           f"in-place operation; do it under dn.no_grad() or on a clone")


def write_into(op, t, result):
    """Copy `result` into t's memory, refusing casts torch refuses (float into an int tensor)."""
    if isinstance(result, Tensor):
        if result._dtype.category > t._dtype.category:
            raise RuntimeError(f"{op}: result type {result._dtype.name} can't be cast to the "
                               f"desired output type {t._dtype.name}")
        source = result._data
    else:
        source = result
    if source is not t._data:
        if tuple(source.shape) != tuple(t._data.shape):
            try:
                import numpy as np

                np.broadcast_shapes(tuple(source.shape), tuple(t._data.shape))
            except ValueError:
                raise RuntimeError(f"{op}: the result of shape {list(source.shape)} doesn't match "
                                   f"the in-place target of shape {list(t._data.shape)}") from None
            if len(source.shape) > t._data.ndim or any(
                    s not in (1, d) for s, d in zip(source.shape[::-1], t._data.shape[::-1])):
                raise RuntimeError(f"{op}: the result of shape {list(source.shape)} doesn't match "
                                   f"the in-place target of shape {list(t._data.shape)}")
        from ..dispatch import kernels

        kernels("elementwise", t._device).copy(source, t._data)
    t._version.value += 1


def adopt_graph(t, result):
    base = t._base
    if not result._requires_grad and (base is None or not base._requires_grad):
        # overwritten with a constant (copy_ of a tensor outside the graph): no history remains
        t.grad_fn, t._output_nr, t._requires_grad = None, 0, False
        return
    if base is None:
        t.grad_fn, t._output_nr, t._requires_grad = result.grad_fn, result._output_nr, True
        return
    node = CopySlices()
    node.view_fn = t._view_fn
    node.needs_input_grad = (base._requires_grad, result._requires_grad)
    # a constant written into the view leaves its region with no gradient (no edge)
    node._next = (_edge(base) if base._requires_grad else None,
                  _edge(result) if result._requires_grad else None)
    node._out_meta = [(base._data.shape, base._dtype)]
    base.grad_fn, base._output_nr, base._requires_grad = node, 0, True
    fresh = t._view_fn(base)  # grad mode is on here: the view is recorded from the new base
    t.grad_fn, t._output_nr, t._requires_grad = fresh.grad_fn, fresh._output_nr, True
    t._view_version = t._version.value


class CopySlices(Function):
    """The base of a view written in place: the view's region takes its gradient from the new value."""

    @staticmethod
    def backward(ctx, grad):
        grad_base = None
        if ctx.needs_input_grad[0]:
            grad_base = grad.clone()
            with no_grad():
                ctx.view_fn(grad_base).zero_()
        return grad_base, ctx.view_fn(grad)
