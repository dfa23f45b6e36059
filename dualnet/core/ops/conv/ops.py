"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d (torch's names, signatures,
weight layout and errors) over one core op, `convolution` / `convolution_transpose`, that also
takes the data layout.

Layout: the core ops take `layout="NCHW"` (torch, the default) or `"NHWC"` (Keras), and
`"NCL"` / `"NLC"` for 1-D; the weight is always torch's (out, in/groups, kh, kw) (Keras's layer
permutes its (kh, kw, in, out) kernel itself). Each layout has kernels of its own (see cpu.py),
so neither pays for a transpose of its input or output. A 1-D convolution is the 2-D one over
a height of 1 (views, no copies). Padding is an int, a pair, 'valid', 'same' (TensorFlow's
rule: the odd pad goes to the bottom / right, which is also torch's for stride 1) or, in the
core op only, explicit ((top, bottom), (left, right)) for Keras's strided 'same'.

Argument checks and the 2-D Geometry every op reduces to are in geometry.py.

Three Functions serve each other's gradients: for y = conv(x, W),
    dL/dx = conv_transpose(dL/dy, W)            (`ConvInputGrad`)
    dL/dW = correlate(x, dL/dy)                 (`ConvWeightGrad`)
and the backward of each of those is again made of the three, so second derivatives (gradient
penalties, gradgradcheck) come for free. conv_transpose2d *is* ConvInputGrad with a bias.
"""
from ...autograd import Function, is_grad_enabled
from ...device import array_module
from ...dispatch import kernels
from ...dtypes import float16, float32
from ...tensor import Tensor
from .._common import check_same_device
from ..elementwise.ops import ReluBackward
from ..reduction.ops import sum as _sum
from ..shape.ops import reshape
from .geometry import LAYOUTS, freeze, plan, planned


def _k(dev):
    return kernels("conv", dev)


def _recording(ctx):
    return getattr(ctx, "needs_input_grad", None) is not None


# ------------------------------------------------------------------------------- Functions

def _array(t):
    """A tensor's array as the kernels want it: C-contiguous, float16 computed in float32 (Numba
    has no float16 arithmetic)."""
    array = t._data
    if array.dtype == float16.np:
        return array.astype(float32.np)
    return array if array.flags.c_contiguous else array_module(t._device).ascontiguousarray(array)


def _finish(out, like):
    return out.astype(float16.np) if like._dtype is float16 else out


def _data_shape(geom, n, channels, size):
    return (n, *size, channels) if geom.layout == "NHWC" else (n, channels, *size)


def _channel_dim(geom):
    return 3 if geom.layout == "NHWC" else 1


def _bias_grad(grad, geom):
    dims = (0, 1, 2) if geom.layout == "NHWC" else (0, 2, 3)
    return _sum(grad, dims)


def _relu_bias_grad(grad, out):
    """(relu's backward of grad at the output `out`, its sum over all but the channel axis) of
    a channels-last convolution with a fused relu, in one kernel pass (no graph: plain backward)."""
    g, o = _array(grad), _array(out)
    xp = array_module(grad._device)
    result, bias = xp.empty_like(g), xp.empty(g.shape[-1], g.dtype)
    _k(grad._device).relu_bias_grad(g, o, result, bias)
    wrap = lambda a: Tensor._make(_finish(a, grad), grad._device, grad._dtype, False, None, 0,
                                  None)  # noqa: E731
    return wrap(result), wrap(bias)


class Conv(Function):
    """y = conv(x, W) + b: y[n, o] = b[o] + sum_{c in o's group, i, j} W[o, c, i, j] *
    x[n, c, oh*s - p + i*d, ow*s - p + j*d] (zero outside x); with `relu`, y = max(y, 0) fused
    into the kernel (Keras's activation="relu"), its gradient taken from the output as relu's."""

    _array_forward = True
    opname = "convolution"

    @staticmethod
    def forward(ctx, x, weight, bias, geom, relu):
        if _recording(ctx):
            ctx.save_for_backward(x, weight)
            ctx.geom, ctx.relu = geom, relu
            ctx._save_output = relu
        xa = _array(x)
        out = array_module(x._device).empty(
            _data_shape(geom, xa.shape[0], weight._data.shape[0], geom.out_size), xa.dtype)
        _k(x._device).conv_forward(xa, _array(weight), None if bias is None else _array(bias),
                                   geom, out, relu)
        return _finish(out, x)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        geom = ctx.geom
        bias_grad = None
        if ctx.relu and need_b and geom.layout == "NHWC" and not is_grad_enabled():
            grad, bias_grad = _relu_bias_grad(grad, ctx.output)  # one pass for both
        elif ctx.relu:
            grad = ReluBackward.apply(grad, ctx.output)
        if need_b and bias_grad is None:
            bias_grad = _bias_grad(grad, geom)
        return (ConvInputGrad.apply(grad, weight, None, geom) if need_x else None,
                ConvWeightGrad.apply(x, grad, geom) if need_w else None, bias_grad, None, None)


class ConvInputGrad(Function):
    """z = conv_transpose(g, W) + b, the adjoint of conv in its input: <conv(x, W), g> =
    <x, conv_transpose(g, W)>. The gradient of Conv w.r.t. its input; conv_transpose2d."""

    _array_forward = True
    opname = "convolution_transpose"

    @staticmethod
    def forward(ctx, grad, weight, bias, geom):
        if _recording(ctx):
            ctx.save_for_backward(grad, weight)
            ctx.geom = geom
        ga = _array(grad)
        channels = weight._data.shape[1] * geom.groups
        out = array_module(grad._device).empty(
            _data_shape(geom, ga.shape[0], channels, geom.in_size), ga.dtype)
        _k(grad._device).conv_input_grad(ga, _array(weight), geom, out)
        if bias is not None:
            out += _array(bias).reshape((channels,) if geom.layout == "NHWC" else (channels, 1, 1))
        return _finish(out, grad)

    @staticmethod
    def backward(ctx, grad_z):
        grad, weight = ctx.saved_tensors
        need_g, need_w, need_b = ctx.needs_input_grad[:3]
        geom = ctx.geom
        return (Conv.apply(grad_z, weight, None, geom, False) if need_g else None,
                ConvWeightGrad.apply(grad_z, grad, geom) if need_w else None,
                _bias_grad(grad_z, geom) if need_b else None, None)


class ConvWeightGrad(Function):
    """v = dL/dW of y = conv(x, W) given g = dL/dy: v[o, c, i, j] = sum_{n, oh, ow} g[n, o, oh, ow]
    * x[n, c, oh*s - p + i*d, ow*s - p + j*d] (a correlation of x with g)."""

    _array_forward = True
    opname = "convolution_weight_grad"

    @staticmethod
    def forward(ctx, x, grad, geom):
        if _recording(ctx):
            ctx.save_for_backward(x, grad)
            ctx.geom = geom
        xa = _array(x)
        per_group = xa.shape[_channel_dim(geom)] // geom.groups
        out = array_module(x._device).empty(
            (grad._data.shape[_channel_dim(geom)], per_group, *geom.kernel), xa.dtype)
        _k(x._device).conv_weight_grad(xa, _array(grad), geom, out)
        return _finish(out, x)

    @staticmethod
    def backward(ctx, grad_v):
        x, grad = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad[:2]
        geom = ctx.geom
        return (ConvInputGrad.apply(grad, grad_v, None, geom) if need_x else None,
                Conv.apply(x, grad_v, None, geom, False) if need_g else None, None)


def _check_tensors(op, input, weight, bias, layout):
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
    if layout not in LAYOUTS:
        raise ValueError(f"{op}: layout must be one of 'NCHW', 'NHWC' (2-D), 'NCL', 'NLC' (1-D), "
                         f"got {layout!r}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._dtype is not input._dtype:
            raise RuntimeError(f"{op}: input and {name} must have the same dtype, got "
                               f"{input._dtype.name} and {t._dtype.name}")
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point input, got {input._dtype.name}")
    if weight._device != input._device or (bias is not None and bias._device != input._device):
        check_same_device(op, input, weight, bias)


def _conv_args(op, input, weight, bias, stride, padding, dilation, groups, layout, *, core,
               transposed=False, output_padding=0):
    """Validated (batched 4-D input, 4-D weight, Geometry, unbatched) of a conv op."""
    _check_tensors(op, input, weight, bias, layout)
    args = (op, input._data.shape, weight._data.shape,
            None if bias is None else bias._data.shape, freeze(stride), freeze(padding),
            freeze(dilation), groups, layout, core, transposed, freeze(output_padding))
    try:
        hash(args)
    except TypeError:  # an argument of a type we will refuse: let plan() say which
        shape, w_shape, geom, unbatched = plan(*args)
    else:
        shape, w_shape, geom, unbatched = planned(*args)
    if input._data.shape != shape:
        input = reshape(input, shape)
    if weight._data.shape != w_shape:
        weight = reshape(weight, w_shape)
    return input, weight, geom, unbatched


def _unflatten(out, layout, unbatched):
    """The 2-D result back to the caller's rank (1-D layouts, unbatched inputs)."""
    if layout == "NCL":
        out = reshape(out, (out.shape[0], out.shape[1], out.shape[3]))
    elif layout == "NLC":
        out = reshape(out, (out.shape[0], out.shape[2], out.shape[3]))
    return reshape(out, out.shape[1:]) if unbatched else out


# ------------------------------------------------------------------------------ core ops

def _convolution(op, input, weight, bias, stride, padding, dilation, groups, layout, core,
                 relu=False):
    x, w, geom, unbatched = _conv_args(op, input, weight, bias, stride, padding, dilation,
                                       groups, layout, core=core)
    return _unflatten(Conv.apply(x, w, bias, geom, relu), layout, unbatched)


def _convolution_transpose(op, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, layout, core):
    x, w, geom, unbatched = _conv_args(op, input, weight, bias, stride, padding, dilation,
                                       groups, layout, core=core, transposed=True,
                                       output_padding=output_padding)
    return _unflatten(ConvInputGrad.apply(x, w, bias, geom), layout, unbatched)


def convolution(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                layout="NCHW", relu=False):
    """The core convolution under conv1d / conv2d and Keras's Conv1D / Conv2D.

    `layout` is "NCHW" / "NHWC" (2-D) or "NCL" / "NLC" (1-D); weight is (out, in / groups,
    *kernel) in every layout. `padding` also takes 'same' with any stride (TensorFlow's rule)
    and explicit ((top, bottom), (left, right)) pairs. `relu=True` returns relu(conv(...)) with
    the relu fused into the kernel (no pass of its own over the output).

    >>> import dualnet as dn
    >>> x = dn.ones(1, 5, 5, 2)
    >>> convolution(x, dn.ones(3, 2, 3, 3), padding="same", stride=2, layout="NHWC").shape
    dualnet.Size([1, 3, 3, 3])
    """
    return _convolution("convolution", input, weight, bias, stride, padding, dilation, groups,
                        layout, True, bool(relu))


def convolution_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                          groups=1, dilation=1, layout="NCHW"):
    """The core transposed convolution (the adjoint of `convolution` in its input) with the
    data layout as a parameter; weight is torch's (in, out / groups, *kernel).

    >>> import dualnet as dn
    >>> convolution_transpose(dn.ones(1, 4, 4, 2), dn.ones(2, 3, 3, 3), stride=2,
    ...                       layout="NHWC").shape
    dualnet.Size([1, 9, 9, 3])
    """
    return _convolution_transpose("convolution_transpose", input, weight, bias, stride, padding,
                                  output_padding, groups, dilation, layout, True)


# ------------------------------------------------------------------------- torch's names

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (a cross-correlation, as in torch) of (N, C, L) by (out, C / groups, k):
    out[n, o, l] = bias[o] + sum_{c, i} weight[o, c, i] * input[n, c, l*stride - pad + i*dil].

    >>> import dualnet as dn
    >>> dn.conv1d(dn.tensor([[[1.0, 2.0, 3.0, 4.0]]]), dn.tensor([[[1.0, -1.0]]]))
    tensor([[[-1., -1., -1.]]])
    """
    return _convolution("conv1d", input, weight, bias, stride, padding, dilation, groups, "NCL",
                        False)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (a cross-correlation, as in torch) of (N, C, H, W) by (out, C / groups,
    kh, kw): out[n, o, y, x] = bias[o] + sum_{c in o's group, i, j} weight[o, c, i, j] *
    input[n, c, y*sh - ph + i*dh, x*sw - pw + j*dw], zero outside the input.
    padding: an int, a pair, 'valid' or 'same' (stride 1; the odd pad goes bottom / right).

    >>> import dualnet as dn
    >>> x = dn.arange(16.0).reshape(1, 1, 4, 4)
    >>> dn.conv2d(x, dn.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    >>> dn.conv2d(dn.ones(8, 3, 28, 28), dn.ones(6, 1, 3, 3), padding="same", groups=3).shape
    dualnet.Size([8, 6, 28, 28])
    """
    return _convolution("conv2d", input, weight, bias, stride, padding, dilation, groups, "NCHW",
                        False)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution of (N, C, L) by (C, out / groups, k): the gradient of conv1d
    with respect to its input; L_out = (L - 1)*stride - 2*padding + dil*(k - 1) + output_padding
    + 1.

    >>> import dualnet as dn
    >>> dn.conv_transpose1d(dn.tensor([[[1.0, 2.0]]]), dn.tensor([[[1.0, 10.0]]]), stride=2)
    tensor([[[ 1., 10.,  2., 20.]]])
    """
    return _convolution_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                                  output_padding, groups, dilation, "NCL", False)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution ("deconvolution") of (N, C, H, W) by (C, out / groups, kh, kw):
    the gradient of conv2d with respect to its input, each input pixel scattering weight times
    itself over a window; H_out = (H - 1)*sh - 2*ph + dh*(kh - 1) + output_padding + 1.

    >>> import dualnet as dn
    >>> dn.conv_transpose2d(dn.ones(1, 1, 2, 2), dn.ones(1, 1, 2, 2), stride=1)
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    return _convolution_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                                  output_padding, groups, dilation, "NCHW", False)


__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

FUNCTIONAL = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

METHODS = {}
