"""Keras's convolution layers (Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D,
SeparableConv2D) and ZeroPadding2D / UpSampling2D, over dualnet's core conv and shape ops.

Kernels are stored in Keras's layout - (*kernel_size, in / groups, filters) for a convolution,
(*kernel_size, filters, in) for a transposed one, (kh, kw, in, depth_multiplier) for a
depthwise one - and handed to the core op (whose weight is torch's (out, in, *kernel)) through
a permuted view; the data layout goes to the op's `layout` parameter, so channels-last input
is convolved where it lies.
"""
from ...core.ops.conv.ops import convolution, convolution_transpose
from ...core.ops.resize.ops import resize
from ...nn import functional as F
from .. import activations, initializers, regularizers
from .core import _as_float, _data_format, _int_tuple, _padding, _positive_tuple, _serialized
from .layer import InputSpec, Layer

__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
           "ZeroPadding2D", "UpSampling2D"]

_LAYOUTS = {(1, "channels_last"): "NLC", (1, "channels_first"): "NCL",
            (2, "channels_last"): "NHWC", (2, "channels_first"): "NCHW"}


def _torch_weight(kernel):
    """Keras's (*kernel_size, a, b) kernel as the core op's (b, a, *kernel_size): a view."""
    rank = kernel.ndim - 2
    return kernel.permute(rank + 1, rank, *range(rank))


def _check_input_rank(layer, input_shape):
    expected = layer.rank + 2
    if len(input_shape) != expected:
        spec = f"min_ndim={expected}" if len(input_shape) < expected else f"ndim={expected}"
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                         f"expected {spec}, found ndim={len(input_shape)}. Full shape "
                         f"received: {tuple(input_shape)}")


def _conv_length(size, kernel, stride, padding, dilation):
    """Keras's output length of a convolution along one dim (None stays None)."""
    if size is None:
        return None
    reach = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - reach) // stride + 1
    return (size + stride - 1) // stride  # 'same' and 'causal': ceil(size / stride)


class _Conv(Layer):
    """What every convolution layer shares: argument checks, the channel axis, the output
    shape, the bias, activation and config."""

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides, padding, data_format, dilation_rate,
                 groups, activation, use_bias, bias_initializer, bias_regularizer,
                 activity_regularizer, bias_constraint, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        rank = self.rank
        if filters is not None and (not isinstance(filters, int) or isinstance(filters, bool)
                                    or filters <= 0):
            raise ValueError(f"{cls}: invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{cls}: the number of groups must be a positive integer. "
                             f"Received: groups={groups}.")
        if filters is not None and filters % groups:
            raise ValueError(f"{cls}: the number of filters must be evenly divisible by the "
                             f"number of groups. Received: groups={groups}, filters={filters}.")
        self.filters = filters
        self.groups = groups
        self.kernel_size = _positive_tuple(cls, "kernel_size", kernel_size, rank)
        self.strides = _positive_tuple(cls, "strides", strides, rank)
        self.dilation_rate = _positive_tuple(cls, "dilation_rate", dilation_rate, rank)
        self.padding = _padding(cls, padding, self._paddings)
        self.data_format = _data_format(cls, data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: `strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = bias_constraint

    # ----------------------------------------------------------------- shapes
    @property
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    @property
    def _layout(self):
        return _LAYOUTS[(self.rank, self.data_format)]

    def _input_channels(self, input_shape):
        _check_input_rank(self, input_shape)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f'{type(self).__name__} layer "{self.name}": the channel dimension '
                             f"of the inputs must be defined. Received: input_shape="
                             f"{tuple(input_shape)}")
        if channels % self.groups:
            raise ValueError(f'{type(self).__name__} layer "{self.name}": the number of input '
                             f"channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {channels} "
                             f"channels (full input shape is {tuple(input_shape)}).")
        return channels

    def _spatial(self, input_shape):
        return (input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:])

    def _with_spatial(self, input_shape, sizes, channels):
        if self.data_format == "channels_last":
            return (input_shape[0], *sizes, channels)
        return (input_shape[0], channels, *sizes)

    def _out_sizes(self, input_shape):
        sizes = tuple(_conv_length(n, k, s, self.padding, d) for n, k, s, d in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n <= 0 for n in sizes):
            raise ValueError(f'{type(self).__name__} layer "{self.name}": computed output size '
                             f"would be negative or zero: {sizes} for input shape "
                             f"{tuple(input_shape)}, kernel_size={self.kernel_size}, "
                             f"strides={self.strides}, padding={self.padding!r}, "
                             f"dilation_rate={self.dilation_rate}")
        return sizes

    def _core_padding(self):
        if self.padding == "causal":  # all of the kernel's reach on the left (Conv1D)
            return tuple(((k - 1) * d, 0) for k, d in zip(self.kernel_size, self.dilation_rate))
        return self.padding

    def _set_input_spec(self, channels):
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def _add_bias(self, size):
        if not self.use_bias:
            return None
        return self.add_weight(shape=(size,), name="bias", initializer=self.bias_initializer,
                               regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint)

    def _base_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
            "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "activation": _serialized(activations, self.activation), "use_bias": self.use_bias,
        })
        return config


class _BaseConv(_Conv):
    """Conv1D / Conv2D: kernel (*kernel_size, in / groups, filters)."""

    def __init__(self, filters, kernel_size, strides, padding, data_format, dilation_rate,
                 groups, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                 bias_constraint, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = kernel_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._out_sizes(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = self._add_bias(self.filters)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        # activation="relu" (Keras's relu with its defaults) runs fused into the convolution
        fused = self.activation is activations.relu
        out = convolution(inputs, _torch_weight(self.kernel), self.bias, self.strides,
                          self._core_padding(), self.dilation_rate, self.groups, self._layout,
                          relu=fused)
        return out if fused else self.activation(out)

    def compute_output_shape(self, input_shape):
        _check_input_rank(self, input_shape)
        return self._with_spatial(input_shape, self._out_sizes(input_shape), self.filters)

    def get_config(self):
        config = self._base_config()
        config.update({
            "filters": self.filters, "groups": self.groups,
            "kernel_initializer": _serialized(initializers, self.kernel_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "kernel_regularizer": _serialized(regularizers, self.kernel_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialized(regularizers, self.activity_regularizer),
            "kernel_constraint": self.kernel_constraint, "bias_constraint": self.bias_constraint,
        })
        return config


class Conv1D(_BaseConv):
    """1-D convolution over (batch, steps, channels); padding 'valid', 'same' or 'causal'
    (output[t] sees inputs up to t only).

    >>> import dualnet as dn
    >>> Conv1D(4, 3, padding="causal")(dn.ones(2, 10, 3)).shape
    dualnet.Size([2, 10, 4])
    """

    rank = 1
    _paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class Conv2D(_BaseConv):
    """2-D convolution over (batch, height, width, channels): kernel (kh, kw, in / groups,
    filters); padding 'same' follows TensorFlow (the odd pixel of padding bottom / right).

    >>> import dualnet as dn
    >>> Conv2D(8, 3, strides=2, padding="same")(dn.ones(1, 7, 7, 3)).shape
    dualnet.Size([1, 4, 4, 8])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


# ----------------------------------------------------------------------------- transposed

def _transpose_pads(kernel, stride, dilation, padding, output_padding):
    """Keras's transposed-conv output window along one dim as the core op's (crop_begin,
    crop_end) of the full output (length (n - 1) * s + reach) and an output_padding (zeros
    added at the end where Keras's window reaches past the full output)."""
    reach = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(reach, stride) - reach if output_padding is None else output_padding
        begin, end = reach - 1, reach - 1 + extra
    else:
        total = (stride + reach - 2 if output_padding is None
                 else reach + reach % 2 - 2 + output_padding)
        begin = min(total // 2 + total % 2, reach - 1)
        end = total - begin
    crop_begin, crop_end = reach - 1 - begin, reach - 1 - end
    return (crop_begin, max(crop_end, 0)), max(-crop_end, 0)


def _transpose_length(size, kernel, stride, dilation, padding, output_padding):
    if size is None:
        return None
    reach = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(reach, stride) - reach if output_padding is None else output_padding
        return (size - 1) * stride + reach + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + reach % 2 + output_padding


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution ("deconvolution"): the adjoint of Conv2D in its input, kernel
    (kh, kw, filters, in); 'same' gives height * strides, 'valid' (height - 1) * strides +
    max(kernel, strides).

    >>> import dualnet as dn
    >>> Conv2DTranspose(4, 3, strides=2, padding="same")(dn.ones(1, 5, 5, 2)).shape
    dualnet.Size([1, 10, 10, 4])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        if output_padding is not None:
            output_padding = _positive_tuple("Conv2DTranspose", "output_padding",
                                             output_padding, self.rank, allow_zero=True)
            if any(o >= s for o, s in zip(output_padding, self.strides)):
                raise ValueError(f"Conv2DTranspose: strides {self.strides} must be greater than "
                                 f"output padding {output_padding}.")
        self.output_padding = output_padding
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = kernel_constraint

    def _output_paddings(self):
        return self.output_padding or (None,) * self.rank

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = self._add_bias(self.filters)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        plans = [_transpose_pads(k, s, d, self.padding, o) for k, s, d, o in zip(
            self.kernel_size, self.strides, self.dilation_rate, self._output_paddings())]
        out = convolution_transpose(inputs, _torch_weight(self.kernel), self.bias, self.strides,
                                    tuple(p for p, _ in plans), tuple(o for _, o in plans), 1,
                                    self.dilation_rate, self._layout)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        _check_input_rank(self, input_shape)
        sizes = tuple(_transpose_length(n, k, s, d, self.padding, o) for n, k, s, d, o in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate,
            self._output_paddings()))
        return self._with_spatial(input_shape, sizes, self.filters)

    def get_config(self):
        config = self._base_config()
        config.update({
            "filters": self.filters, "output_padding": self.output_padding,
            "kernel_initializer": _serialized(initializers, self.kernel_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "kernel_regularizer": _serialized(regularizers, self.kernel_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialized(regularizers, self.activity_regularizer),
            "kernel_constraint": self.kernel_constraint, "bias_constraint": self.bias_constraint,
        })
        return config


# ----------------------------------------------------------------------------- depthwise

def _depthwise_weight(kernel):
    """(kh, kw, in, multiplier) as the core op's grouped weight (in * multiplier, 1, kh, kw):
    output channel c * multiplier + m reads input channel c alone, Keras's order."""
    kh, kw, channels, multiplier = kernel.shape
    return kernel.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)


class DepthwiseConv2D(_Conv):
    """Convolves each input channel with its own depth_multiplier filters (groups = channels):
    kernel (kh, kw, in, depth_multiplier), output channels in * depth_multiplier.

    >>> import dualnet as dn
    >>> DepthwiseConv2D(3, depth_multiplier=2)(dn.ones(1, 5, 5, 4)).shape
    dualnet.Size([1, 3, 3, 8])
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = _positive_tuple("DepthwiseConv2D", "depth_multiplier",
                                                depth_multiplier, 1)[0]
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = depthwise_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._out_sizes(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), name="kernel",
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.bias = self._add_bias(channels * self.depth_multiplier)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        channels = self.kernel.shape[-2]
        out = convolution(inputs, _depthwise_weight(self.kernel), self.bias, self.strides,
                          self.padding, self.dilation_rate, channels, self._layout)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        channels = self._input_channels(input_shape)
        return self._with_spatial(input_shape, self._out_sizes(input_shape),
                                  channels * self.depth_multiplier)

    def get_config(self):
        config = self._base_config()
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": _serialized(initializers, self.depthwise_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "depthwise_regularizer": _serialized(regularizers, self.depthwise_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialized(regularizers, self.activity_regularizer),
            "depthwise_constraint": self.depthwise_constraint,
            "bias_constraint": self.bias_constraint,
        })
        return config


class SeparableConv2D(_Conv):
    """A depthwise convolution (kernel (kh, kw, in, depth_multiplier), with the strides,
    padding and dilation) followed by a pointwise 1x1 one (kernel (1, 1, in * depth_multiplier,
    filters)) and the bias.

    >>> import dualnet as dn
    >>> SeparableConv2D(6, 3, padding="same")(dn.ones(1, 5, 5, 4)).shape
    dualnet.Size([1, 5, 5, 6])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = _positive_tuple("SeparableConv2D", "depth_multiplier",
                                                depth_multiplier, 1)[0]
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._out_sizes(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), name="depthwise_kernel",
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            name="pointwise_kernel", initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self.bias = self._add_bias(self.filters)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        channels = self.depthwise_kernel.shape[-2]
        depthwise = convolution(inputs, _depthwise_weight(self.depthwise_kernel), None,
                                self.strides, self.padding, self.dilation_rate, channels,
                                self._layout)
        out = convolution(depthwise, _torch_weight(self.pointwise_kernel), self.bias, 1, 0, 1,
                          1, self._layout)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        _check_input_rank(self, input_shape)
        return self._with_spatial(input_shape, self._out_sizes(input_shape), self.filters)

    def get_config(self):
        config = self._base_config()
        config.update({
            "depth_multiplier": self.depth_multiplier, "filters": self.filters,
            "depthwise_initializer": _serialized(initializers, self.depthwise_initializer),
            "pointwise_initializer": _serialized(initializers, self.pointwise_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "depthwise_regularizer": _serialized(regularizers, self.depthwise_regularizer),
            "pointwise_regularizer": _serialized(regularizers, self.pointwise_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialized(regularizers, self.activity_regularizer),
            "depthwise_constraint": self.depthwise_constraint,
            "pointwise_constraint": self.pointwise_constraint,
            "bias_constraint": self.bias_constraint,
        })
        return config


# ----------------------------------------------------------------------------- padding, upsampling

def _spatial_pairs(layer, padding):
    """ZeroPadding2D's padding as ((top, bottom), (left, right))."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        return ((padding, padding), (padding, padding))
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(isinstance(p, int) and not isinstance(p, bool) for p in padding):
            return ((padding[0], padding[0]), (padding[1], padding[1]))
        return tuple(_int_tuple(layer, "padding", p, 2) for p in padding)
    raise ValueError(f"{layer}: `padding` should be either an int, a tuple of 2 ints "
                     f"(symmetric_height_pad, symmetric_width_pad), or a tuple of 2 tuples of 2 "
                     f"ints ((top_pad, bottom_pad), (left_pad, right_pad)). Received: "
                     f"padding={padding!r}")


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each image: padding an int, (h, w) or ((top,
    bottom), (left, right)).

    >>> import dualnet as dn
    >>> ZeroPadding2D(((1, 0), (2, 1)))(dn.ones(1, 3, 3, 2)).shape
    dualnet.Size([1, 4, 6, 2])
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _spatial_pairs("ZeroPadding2D", padding)
        if any(p < 0 for pair in self.padding for p in pair):
            raise ValueError(f"ZeroPadding2D: padding must be non-negative. Received: "
                             f"padding={padding!r}")
        self.data_format = _data_format("ZeroPadding2D", data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        # F.pad's pairs run from the last dim backwards
        widths = (left, right, top, bottom)
        if self.data_format == "channels_last":
            widths = (0, 0) + widths
        return F.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        _check_input_rank(self, input_shape)
        shape = list(input_shape)
        first = 1 if self.data_format == "channels_last" else 2
        for i, (begin, end) in enumerate(self.padding):
            if shape[first + i] is not None:
                shape[first + i] += begin + end
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class UpSampling2D(Layer):
    """Repeats each row size[0] times and each column size[1] times (interpolation="nearest"),
    or resizes to (size[0] * H, size[1] * W) as Keras's image.resize does on the torch backend:
    torch's interpolate with half-pixel centres and no antialiasing ("bilinear"; "bicubic":
    Keys' cubic convolution, a = -0.75). Integer input is resized as floats, rounded and cast
    back (uint8 clipped to [0, 255] after bicubic). "lanczos3" / "lanczos5" are accepted and
    raise ValueError when called, as on Keras's torch backend.

    >>> import dualnet as dn
    >>> UpSampling2D((2, 3))(dn.ones(1, 2, 2, 1)).shape
    dualnet.Size([1, 4, 6, 1])
    >>> UpSampling2D(interpolation="bicubic")(dn.ones(1, 2, 2, 1)).shape
    dualnet.Size([1, 4, 4, 1])
    """

    rank = 2
    _RESIZED = ("bilinear", "bicubic")
    _LANCZOS = ("lanczos3", "lanczos5")  # Keras's torch backend has no Lanczos resize

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _positive_tuple("UpSampling2D", "size", size, 2)
        self.data_format = _data_format("UpSampling2D", data_format)
        if not isinstance(interpolation, str) or interpolation.lower() not in (
                ("nearest",) + self._RESIZED + self._LANCZOS):
            raise ValueError(f"UpSampling2D: invalid interpolation {interpolation!r}; expected "
                             f"one of 'nearest', 'bilinear', 'bicubic', 'lanczos3', 'lanczos5'")
        self.interpolation = interpolation.lower()
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        (sh, sw) = self.size
        if self.interpolation in self._LANCZOS:
            raise ValueError(f"UpSampling2D: resizing with Lanczos interpolation is not "
                             f"supported by the PyTorch backend (as in Keras); got "
                             f"interpolation={self.interpolation!r} for input shape "
                             f"{tuple(inputs.shape)}. Use 'nearest', 'bilinear' or 'bicubic'")
        if self.interpolation in self._RESIZED:
            axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
            sizes = (inputs.shape[axes[0]] * sh, inputs.shape[axes[1]] * sw)
            if inputs.dtype.is_floating_point:
                return resize(inputs, sizes, axes, mode=self.interpolation)
            # Keras's image.resize: resized as floats, then rounded back to the input's type
            resized = resize(_as_float(inputs, self), sizes, axes, mode=self.interpolation)
            if inputs.dtype.name == "bool":
                return resized.to(inputs.dtype)
            resized = resized.round()
            if inputs.dtype.name == "uint8" and self.interpolation == "bicubic":
                resized = resized.clamp(0, 255)
            return resized.to(inputs.dtype)
        if self.data_format == "channels_last":
            n, h, w, c = inputs.shape
            tiled = inputs.reshape(n, h, 1, w, 1, c).expand(n, h, sh, w, sw, c)
            return tiled.reshape(n, h * sh, w * sw, c)
        n, c, h, w = inputs.shape
        tiled = inputs.reshape(n, c, h, 1, w, 1).expand(n, c, h, sh, w, sw)
        return tiled.reshape(n, c, h * sh, w * sw)

    def compute_output_shape(self, input_shape):
        _check_input_rank(self, input_shape)
        shape = list(input_shape)
        first = 1 if self.data_format == "channels_last" else 2
        for i, factor in enumerate(self.size):
            if shape[first + i] is not None:
                shape[first + i] *= factor
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config
