"""Keras's `fake_quant_with_min_max_vars`: quantize-dequantize to `num_bits` levels inside a
trainable [min, max] range (quantization-aware training), with the straight-through gradient.

The range is first nudged so that 0.0 falls exactly on a level (TensorFlow's rule):

    scale = (max - min) / (qmax - qmin),  zero = round(clip(qmin - min / scale, qmin, qmax))
    nudged_min = (qmin - zero) * scale,   nudged_max = (qmax - zero) * scale

then y = floor((clip(x, nudged_min, nudged_max) - nudged_min) / scale + 0.5) * scale +
nudged_min, written as Keras does. The gradient passes to x where nudged_min <= x <= nudged_max,
and to min (max) from the entries at or below nudged_min (at or above nudged_max), summed over
all axes but the channel axis.
"""
from ...core.autograd import Function
from ...core.creation import as_tensor
from ...core.dtypes import float32

__all__ = ["fake_quant_with_min_max_vars"]


def _nudged(min_vals, max_vals, num_bits, narrow_range):
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    scale = (max_vals - min_vals) / (quant_max - quant_min)
    inv_scale = (quant_max - quant_min) / (max_vals - min_vals)
    zero = (quant_min - min_vals / scale).clamp(quant_min, quant_max).round()
    return (quant_min - zero) * scale, (quant_max - zero) * scale, scale, inv_scale


class _FakeQuant(Function):
    @staticmethod
    def forward(ctx, x, min_vals, max_vals, num_bits, narrow_range, channel_shape):
        ctx.shapes = (tuple(min_vals.shape), tuple(max_vals.shape), channel_shape)
        lo, hi = (v.to(float32) if not v.dtype.is_floating_point else v
                  for v in (min_vals, max_vals))
        if channel_shape is not None:
            lo, hi = lo.reshape(channel_shape), hi.reshape(channel_shape)
        nudged_min, nudged_max, scale, inv_scale = _nudged(lo, hi, num_bits, narrow_range)
        quant_zero = (-nudged_min * inv_scale + 0.5).floor()
        shifted = x.to(nudged_min.dtype).clamp(nudged_min, nudged_max) - nudged_min
        result = ((shifted * inv_scale - quant_zero + 0.5).floor() * scale).to(x.dtype)
        ctx.save_for_backward(x, nudged_min, nudged_max)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, nudged_min, nudged_max = ctx.saved_tensors
        min_shape, max_shape, channel_shape = ctx.shapes
        zero = grad.new_zeros(())
        inside = (x >= nudged_min) & (x <= nudged_max)
        grad_x = grad.where(inside, zero)
        if channel_shape is None:
            axes = tuple(range(grad.ndim))
        else:
            axes = tuple(i for i, size in enumerate(channel_shape) if size == 1)
        grad_min = grad.where(x <= nudged_min, zero).sum(dim=axes).reshape(min_shape)
        grad_max = grad.where(x >= nudged_max, zero).sum(dim=axes).reshape(max_shape)
        return grad_x, grad_min, grad_max, None, None, None


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False,
                                 axis=None):
    """Fake-quantize `inputs` to `num_bits` levels in [min_vals, max_vals]: one range for the
    whole tensor (axis=None) or one per entry along `axis` (min_vals, max_vals of that size).

    >>> import dualnet as dn
    >>> fake_quant_with_min_max_vars(dn.tensor([-0.3, 0.26, 2.0]), -1.0, 1.0, num_bits=3)
    tensor([-0.2857,  0.2857,  1.1429])
    """
    inputs, min_vals, max_vals = (as_tensor(v) for v in (inputs, min_vals, max_vals))
    channel_shape = None
    if axis is not None:
        ndim = inputs.ndim
        if not -ndim <= axis < ndim:
            raise ValueError(f"fake_quant_with_min_max_vars: axis {axis} is out of bounds for "
                             f"inputs of shape {tuple(inputs.shape)}")
        axis %= ndim
        channels = inputs.shape[axis]
        if min_vals.numel() != channels or max_vals.numel() != channels:
            raise ValueError(f"fake_quant_with_min_max_vars: per-channel min_vals / max_vals "
                             f"need {channels} entries (axis {axis} of inputs "
                             f"{tuple(inputs.shape)}); got shapes {tuple(min_vals.shape)} and "
                             f"{tuple(max_vals.shape)}")
        channel_shape = tuple(channels if i == axis else 1 for i in range(ndim))
    elif min_vals.numel() != 1 or max_vals.numel() != 1:
        raise ValueError(f"fake_quant_with_min_max_vars: with axis=None min_vals and max_vals "
                         f"are scalars; got shapes {tuple(min_vals.shape)} and "
                         f"{tuple(max_vals.shape)}")
    return _FakeQuant.apply(inputs, min_vals, max_vals, int(num_bits), bool(narrow_range),
                            channel_shape)
