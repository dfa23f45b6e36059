"""Keras 3's "float8" mode of Dense (see `quantization` for the protocol): float8 training with
delayed scaling, as NVIDIA's Transformer Engine does it. The kernel stays a float weight; what
changes is the arithmetic of the call.

Weights: besides `kernel` and `bias`, six float32 weights, trainable and marked
`overwrite_with_gradient` (the optimizer sets them to their gradient instead of stepping them):

    inputs_scale, kernel_scale, outputs_grad_scale               ()      starting at 1
    inputs_amax_history, kernel_amax_history, outputs_grad_...  (L,)    starting at 0

L is the dtype policy's `amax_history_length` (1024 by default).

Forward, with qdq(v, s, F) = round_F(clip(v / s, -max_F, max_F)) * s, round_F the rounding to
the nearest value of format F (ties to even, subnormals included):

    y = qdq(x, inputs_scale, e4m3fn) @ qdq(kernel, kernel_scale, e4m3fn)   (+ bias) -> activation

where e4m3fn's max is 448 and, when the layer computes in float32, the bias is first rounded
to bfloat16 and back (Keras does it for the fused bias add of XLA; the bias's gradient makes
the same round trip). Backward passes the gradients of x and kernel straight through their
qdq, and the gradient reaching the matmul's output is first qdq'd to e5m2 (max 57344) with
`outputs_grad_scale`. The rounding is done here with tensor ops (no float8 dtype needed).

Delayed scaling: a scale is computed from the history of the amax (max |v|) of what it
scales, before the current value joins it:

    scale'   = 1 / (max_F / max(history)),  or 1 / (1 / scale) when that max is 0 or not finite
    history' = roll(history, -1), then history'[0] = max|v|

In training (and, for the output gradient, in any backward pass) the new scale and history are
handed out as the gradients of those weights, Keras's custom-gradient trick, and the Keras
optimizers write them over the weights (see `optimizers.Optimizer.step`).
"""
from ...core.autograd import Function, is_grad_enabled
from ...core.creation import as_tensor
from ...core.dtypes import float32, int32, to_dtype
from ...core.ops.matmul import ops as _matmul
from ...core.ops.elementwise.ops import where as _where
from ...core.ops.shape.ops import cat as _cat
from .quantization import QuantizationConfig, QuantizedFloat8DTypePolicy, cached_view

MODE = "float8"
LAYERS = ("dense",)

# name -> (largest finite value, stored mantissa bits, smallest normal exponent)
FORMATS = {"float8_e4m3fn": (448.0, 3, -6), "float8_e5m2": (57344.0, 2, -14),
           "bfloat16": (3.3895313892515355e38, 7, -126)}
_EXPONENT_BITS = 0x7F800000  # float32's exponent field

SCALE_NAMES = ("inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
               "outputs_grad_scale", "outputs_grad_amax_history")


class Float8QuantizationConfig(QuantizationConfig):
    """Keras's `Float8QuantizationConfig`: no quantizers to choose, it only selects float8
    training (its config is empty)."""

    mode = MODE

    def __init__(self):
        super().__init__(None, None)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


CONFIGS = (Float8QuantizationConfig,)


def default_config():
    return Float8QuantizationConfig()


def policy_mode(layer, config):
    return MODE


# ----------------------------------------------------------------------------- weights

def _add_scaling_weights(layer):
    """The six delayed-scaling weights, in Keras's order (`_float8_build`)."""
    length = getattr(layer.dtype_policy, "amax_history_length",
                     QuantizedFloat8DTypePolicy.default_amax_history_length)
    for name in SCALE_NAMES:
        is_scale = name.endswith("_scale")
        weight = layer.add_weight(shape=() if is_scale else (length,), name=name,
                                  initializer="ones" if is_scale else "zeros", dtype="float32",
                                  trainable=True, autocast=False, overwrite_with_gradient=True)
        setattr(layer, name, weight)  # renames the key add_weight picked, if it had to


def build(layer, shape, config):
    """Under a float8 policy: the six scaling weights, then the float kernel (Keras's build
    order: `quantized_build` first, then the kernel that float8 keeps)."""
    _add_scaling_weights(layer)
    layer.kernel = layer.add_weight(shape=shape, name="kernel",
                                    initializer=layer.kernel_initializer,
                                    regularizer=layer.kernel_regularizer,
                                    constraint=layer.kernel_constraint)


def quantize(layer, config):
    """The built float layer keeps kernel and bias and gains the scaling weights after them."""
    _add_scaling_weights(layer)


def saved_variables(layer, for_loading):
    """Keras's float8 spec: kernel, bias, then each scale before its history. Saving with LoRA
    on fails as in Keras (it cannot fold the update into a float8 layer); loading sets the
    kernel and zeroes A, B."""
    from .lora import LoadSlot
    kernel = layer._stored("kernel")
    bias = [layer.bias] if getattr(layer, "bias", None) is not None else []
    rest = [layer._stored(name) for name in SCALE_NAMES]
    if layer.lora_enabled:
        if not for_loading:
            raise ValueError(f"Layer '{layer.name}': cannot save a float8 layer with LoRA "
                             f"enabled. Unsupported quantization mode: {MODE}")
        kernel = LoadSlot(kernel, layer._lora_weights())
    return [kernel] + bias + rest


# ----------------------------------------------------------------------------- rounding

def round_to_format(values, fmt):
    """float32 `values` rounded to the nearest number of format `fmt` (a FORMATS name), ties to
    even; below the smallest normal number the spacing stays that of the subnormals. No
    clipping: the caller clips to the format's range first.

    Each value is divided by its own spacing, the power of two of its binade (its float32
    exponent field alone) times 2**-mantissa_bits: an exact division, so `round` (half to
    even) makes the one rounding there is, as a cast to the format does."""
    _, mantissa_bits, min_exponent = FORMATS[fmt]
    magnitude = values.abs()
    binade = (magnitude.view(int32) & _EXPONENT_BITS).view(float32)
    spacing = binade.clamp(min=2.0 ** min_exponent) * 2.0 ** -mantissa_bits
    rounded = (magnitude / spacing).round() * spacing
    return _where(values < 0, -rounded, rounded)


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """Keras's `quantize_and_dequantize`: inputs / scale clipped to the range of
    `quantized_dtype` ("float8_e4m3fn", "float8_e5m2") and rounded to it, times scale, all in
    `compute_dtype`."""
    dtype = to_dtype(compute_dtype)
    inputs, scale = as_tensor(inputs), as_tensor(scale)
    largest = FORMATS[quantized_dtype][0]
    scale = scale.to(dtype)
    scaled = (inputs.to(dtype) / scale).clamp(-largest, largest)
    return round_to_format(scaled.to(float32), quantized_dtype).to(dtype) * scale


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """Keras's delayed-scaling rule: 1 / (dtype_max / amax / 2**margin), or the current scale
    (as 1 / (1 / scale)) where amax is 0 or not finite; the same float32 divisions in order."""
    amax, scale = as_tensor(amax), as_tensor(scale)
    kept = 1.0 / scale
    usable = amax > 0.0
    # the division by a zero amax is discarded anyway: divide by 1 there instead of warning
    fitted = dtype_max / _where(usable, amax, 1.0) / 2.0 ** margin
    return 1.0 / _where(usable & amax.isfinite(), fitted, kept)


def compute_float8_amax_history(x, amax_history):
    """Keras's history update: rolled one step left, then max|x| written at index 0."""
    x, amax_history = as_tensor(x), as_tensor(amax_history)
    amax = x.abs().max().to(amax_history.dtype).reshape(1)
    if amax_history.shape[0] < 2:
        return amax
    return _cat([amax, amax_history[2:], amax_history[:1]])


def _updates(values, scale, history, quantized_dtype):
    """(new scale, new history) of one qdq: the scale from the history before `values`."""
    return (compute_float8_scale(history.max(), scale, FORMATS[quantized_dtype][0]),
            compute_float8_amax_history(values, history))


# ----------------------------------------------------------------------------- the call

class _QuantizeDequantize(Function):
    """qdq(v, scale, e4m3fn); backward: the gradient of v unchanged and, in training, the new
    scale and history as the "gradients" of scale and history."""

    @staticmethod
    def forward(ctx, values, scale, history, dtype, training):
        ctx.updates = _updates(values, scale, history, "float8_e4m3fn") if training \
            else (None, None)
        return quantize_and_dequantize(values, scale, "float8_e4m3fn", dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad,) + ctx.updates + (None, None)


class _QuantizeDequantizeGrad(Function):
    """The identity forward; backward qdq's the incoming gradient to e5m2 with the current
    scale, and hands out the new scale and history as those weights' gradients."""

    @staticmethod
    def forward(ctx, outputs, scale, history):
        ctx.save_for_backward(scale, history)
        return outputs.clone()

    @staticmethod
    def backward(ctx, grad):
        scale, history = ctx.saved_tensors
        return (quantize_and_dequantize(grad, scale, "float8_e5m2", grad.dtype),
                ) + _updates(grad, scale, history, "float8_e5m2")


class _BiasRounding(Function):
    """The bias cast to bfloat16 and back; the gradient makes the same trip back (torch's cast
    backward casts the gradient), so the bias's gradient is rounded to bfloat16 too."""

    @staticmethod
    def forward(ctx, bias):
        return round_to_format(bias, "bfloat16")

    @staticmethod
    def backward(ctx, grad):
        return round_to_format(grad, "bfloat16")


def call(layer, inputs, training=None):
    if layer.lora_enabled:
        raise NotImplementedError(f"Layer '{layer.name}': currently, `_float8_call` doesn't "
                                  f"support LoRA")
    dtype = layer._dtype
    weight = layer._stored
    inputs = _QuantizeDequantize.apply(inputs, weight("inputs_scale"),
                                       weight("inputs_amax_history"), dtype, bool(training))
    # inference without autograd (predict): no weight updates and no backward to shape, so
    # the kernel's and the bias's roundings are reused until those weights change
    frozen = not training and not is_grad_enabled()
    if frozen:
        kernel = cached_view(layer, "float8_kernel", ("kernel", "kernel_scale"),
                             lambda: quantize_and_dequantize(weight("kernel"),
                                                             weight("kernel_scale"),
                                                             "float8_e4m3fn", dtype))
        out = _matmul.matmul(inputs, kernel)
    else:
        kernel = _QuantizeDequantize.apply(weight("kernel"), weight("kernel_scale"),
                                           weight("kernel_amax_history"), dtype, bool(training))
        out = _QuantizeDequantizeGrad.apply(_matmul.matmul(inputs, kernel),
                                            weight("outputs_grad_scale"),
                                            weight("outputs_grad_amax_history"))
    if layer.bias is not None:
        bias = layer.bias
        if dtype is float32:  # Keras rounds the bias only under a float32 compute dtype
            bias = cached_view(layer, "float8_bias", ("bias",),
                               lambda: round_to_format(layer.bias, "bfloat16")) if frozen \
                else _BiasRounding.apply(bias)
        out = out + bias
    return layer.activation(out)
