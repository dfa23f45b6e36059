"""Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_): rescale or clamp the
`.grad` of parameters in place, between `backward()` and the optimizer step.
"""
import math

from ...core.autograd import no_grad
from ...core.creation import tensor as _tensor
from ...core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]

# Added to the total norm before dividing, as torch does, so an all-zero gradient gives a finite
# (and then clamped to 1) scale instead of a division by zero.
_CLIP_NORM_EPSILON = 1e-6


def _as_list(fn, items):
    if isinstance(items, Tensor):
        return [items]
    try:
        return list(items)
    except TypeError:
        raise TypeError(f"{fn}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(items).__name__}") from None


def _grads(fn, parameters):
    return [p.grad for p in _as_list(fn, parameters) if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The `norm_type`-norm of all `tensors` taken together, as if concatenated into one vector
    (inf: the largest absolute value)."""
    tensors = [t for t in _as_list("get_total_norm", tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return _tensor(0.0)
    with no_grad():
        if norm_type == math.inf:
            norms = [t.abs().max().to(tensors[0].dtype).to(tensors[0].device) for t in tensors]
            total = norms[0] if len(norms) == 1 else _stack(norms).max()
        else:
            norms = [t.norm(norm_type).to(tensors[0].dtype).to(tensors[0].device)
                     for t in tensors]
            total = norms[0] if len(norms) == 1 else _stack(norms).norm(norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is "
                           f"{total.item()}, so they cannot be clipped; pass "
                           f"error_if_nonfinite=False to clip anyway (the result will hold "
                           f"NaN/inf)")
    return total


def _stack(tensors):
    from ...core.ops.shape.ops import stack

    return stack(tensors)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale gradients by min(1, max_norm / (total_norm + 1e-6)) in place."""
    grads = _grads("clip_grads_with_norm_", parameters)
    if not grads:
        return
    with no_grad():
        scale = (float(max_norm) / (total_norm + _CLIP_NORM_EPSILON)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype).to(g.device))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients in place so that their total `norm_type`-norm is at most
    `max_norm`; returns the total norm before clipping.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> p = nn.Parameter(dn.zeros(2))
    >>> p.grad = dn.tensor([3.0, 4.0])
    >>> nn.utils.clip_grad_norm_([p], max_norm=1.0)
    tensor(5.)
    >>> p.grad
    tensor([0.6000, 0.8000])
    """
    parameters = _as_list("clip_grad_norm_", parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Old spelling of `clip_grad_norm_` (kept by torch, deprecated there)."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads("clip_grad_value_", parameters):
            g.clamp_(min=-clip_value, max=clip_value)
