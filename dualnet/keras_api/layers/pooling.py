"""Keras's pooling layers: MaxPooling1D/2D, AveragePooling1D/2D (padding 'valid' / 'same';
the average does not count the padding) and the global max / average poolings, over dualnet's
core pooling and reduction ops, which take the channels-last layout directly.
"""
from ...core.ops.pooling.ops import avg_pool, max_pool
from .core import _data_format, _padding, _positive_tuple
from .layer import InputSpec, Layer

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D"]

_LAYOUTS = {(1, "channels_last"): "NLC", (1, "channels_first"): "NCL",
            (2, "channels_last"): "NHWC", (2, "channels_first"): "NCHW"}


def _check_rank(layer, input_shape, ndim):
    if len(input_shape) != ndim:
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                         f"expected ndim={ndim}, found ndim={len(input_shape)}. Full shape "
                         f"received: {tuple(input_shape)}")


def _pool_length(size, pool, stride, padding):
    if size is None:
        return None
    if padding == "same":
        return (size + stride - 1) // stride
    return (size - pool) // stride + 1


class _Pooling(Layer):
    """A fixed-window pooling: pool_size, strides (None: pool_size), padding, data_format."""

    rank = 2

    def __init__(self, pool_size, strides, padding, data_format, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = _positive_tuple(cls, "pool_size", pool_size, self.rank)
        self.strides = (self.pool_size if strides is None
                        else _positive_tuple(cls, "strides", strides, self.rank))
        self.padding = _padding(cls, padding)
        self.data_format = _data_format(cls, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _spatial_first(self):
        return 1 if self.data_format == "channels_last" else 2

    def _pool(self, inputs):
        raise NotImplementedError  # each subclass names its core op

    def call(self, inputs):
        return self._pool(inputs)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, self.rank + 2)
        shape, first = list(input_shape), self._spatial_first()
        for i in range(self.rank):
            shape[first + i] = _pool_length(shape[first + i], self.pool_size[i],
                                            self.strides[i], self.padding)
        if any(d is not None and d <= 0 for d in shape[first:first + self.rank]):
            raise ValueError(f'{type(self).__name__} layer "{self.name}": computed output size '
                             f"would be negative or zero: input shape {tuple(input_shape)}, "
                             f"pool_size={self.pool_size}, strides={self.strides}, "
                             f"padding={self.padding!r}")
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


class _MaxPooling(_Pooling):
    def _pool(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))  # Keras's error for a too-small input
        return max_pool(inputs, self.pool_size, self.strides, self.padding,
                        layout=_LAYOUTS[(self.rank, self.data_format)])


class _AveragePooling(_Pooling):
    def _pool(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))
        # Keras's average divides by the taps inside the input: padding is not counted
        return avg_pool(inputs, self.pool_size, self.strides, self.padding,
                        count_include_pad=False, layout=_LAYOUTS[(self.rank, self.data_format)])


class MaxPooling1D(_MaxPooling):
    """Max over windows of `pool_size` steps of (batch, steps, features).

    >>> import dualnet as dn
    >>> MaxPooling1D(2)(dn.arange(6.0).reshape(1, 6, 1)).reshape(-1).tolist()
    [1.0, 3.0, 5.0]
    """

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling2D(_MaxPooling):
    """Max over pool_size windows of (batch, height, width, channels); 'same' pads with -inf,
    the odd pixel bottom / right (TensorFlow's rule).

    >>> import dualnet as dn
    >>> MaxPooling2D()(dn.ones(1, 5, 5, 3)).shape
    dualnet.Size([1, 2, 2, 3])
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_AveragePooling):
    """Mean over windows of `pool_size` steps (with 'same', only the steps inside the input).

    >>> import dualnet as dn
    >>> x = dn.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    >>> AveragePooling1D(2, padding="same")(x).reshape(-1).tolist()
    [1.5, 3.5, 5.0]
    """

    rank = 1

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(_AveragePooling):
    """Mean over pool_size windows of (batch, height, width, channels), padding not counted.

    >>> import dualnet as dn
    >>> AveragePooling2D(2)(dn.ones(1, 4, 4, 2)).shape
    dualnet.Size([1, 2, 2, 2])
    """

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


# ----------------------------------------------------------------------------- global pooling

class _GlobalPooling(Layer):
    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def _reduce(self, inputs, axes):
        raise NotImplementedError  # each subclass names its reduction

    def call(self, inputs):
        return self._reduce(inputs, self._axes())

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, self.rank + 2)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class _GlobalAverage(_GlobalPooling):
    def _reduce(self, inputs, axes):
        return inputs.mean(axes, keepdim=self.keepdims)


class _GlobalMax(_GlobalPooling):
    def _reduce(self, inputs, axes):
        return inputs.amax(axes, keepdim=self.keepdims)


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over the steps of (batch, steps, features) -> (batch, features); with a time-step
    mask (batch, steps) (given, or carried by the input), the mean of the unmasked steps.

    >>> import dualnet as dn
    >>> GlobalAveragePooling1D()(dn.ones(2, 5, 3)).shape
    dualnet.Size([2, 3])
    """

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps = self._axes()[0]
        keep = (mask if mask.dtype.name == "bool" else mask != 0).unsqueeze(
            2 if self.data_format == "channels_last" else 1)
        total = inputs.where(keep, 0.0).sum(steps, keepdim=self.keepdims)
        return total / keep.to(inputs.dtype).sum(steps, keepdim=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over height and width -> (batch, channels), or (batch, 1, 1, channels) with
    keepdims.

    >>> import dualnet as dn
    >>> GlobalAveragePooling2D(keepdims=True)(dn.ones(2, 4, 4, 3)).shape
    dualnet.Size([2, 1, 1, 3])
    """


class GlobalMaxPooling1D(_GlobalMax):
    """Max over the steps of (batch, steps, features) -> (batch, features).

    >>> import dualnet as dn
    >>> GlobalMaxPooling1D()(dn.arange(6.0).reshape(1, 3, 2)).tolist()
    [[4.0, 5.0]]
    """

    rank = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Max over height and width -> (batch, channels).

    >>> import dualnet as dn
    >>> GlobalMaxPooling2D()(dn.ones(2, 4, 4, 3)).shape
    dualnet.Size([2, 3])
    """
