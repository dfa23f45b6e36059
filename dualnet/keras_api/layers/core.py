"""Keras's core layers (Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
Lambda, Rescaling, Identity): Keras's names, defaults and configs over dualnet's core ops.

Also home of the small translation helpers the other layer files share (argument tuples,
data_format, the serialization of activations / initializers / regularizers in a config).
"""
import math
import numbers

from ...core.creation import as_tensor, ones
from ...core.ops.matmul import ops as _matmul
from ...nn import functional as F
from .. import activations, initializers, regularizers
from .keras_tensor import KerasTensor
from .layer import InputSpec, Layer
from .lora import LoRA
from . import quantization

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector",
           "Lambda", "Rescaling", "Identity", "Masking"]


# ----------------------------------------------------------------------------- shared helpers

def _serialized(module, value):
    """A config entry for an activation / initializer / regularizer: Keras's serialized form,
    or the object itself where it has none (a user's function keeps round-tripping in memory)."""
    if value is None:
        return None
    try:
        return module.serialize(value)
    except (ValueError, TypeError, AttributeError):
        return value


def _int_tuple(layer, name, value, rank):
    """An int or a sequence of `rank` ints as a tuple (Keras's standardize_tuple)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * rank
    try:
        values = tuple(value)
    except TypeError:
        values = None
    if (values is None or len(values) != rank or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values)):
        raise ValueError(f"{layer}: the `{name}` argument must be an int or a tuple of {rank} "
                         f"ints. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


def _positive_tuple(layer, name, value, rank, allow_zero=False):
    values = _int_tuple(layer, name, value, rank)
    if any(v < 0 or (v == 0 and not allow_zero) for v in values):
        raise ValueError(f"{layer}: the `{name}` argument must be a tuple of "
                         f"{'non-negative' if allow_zero else 'positive'} ints. Received: "
                         f"{name}={value!r}")
    return values


def _data_format(layer, value):
    """'channels_last' (Keras's default image_data_format) or 'channels_first'."""
    if value is None:
        return "channels_last"
    value = str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: the `data_format` argument must be one of "
                         f"'channels_first', 'channels_last'. Received: data_format={value!r}")
    return value


def _padding(layer, value, allowed=("valid", "same")):
    padding = str(value).lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{layer}: the `padding` argument must be one of "
                         f"{', '.join(repr(a) for a in allowed)}. Received: padding={value!r}")
    return padding


def _as_float(inputs, layer):
    """Integer / bool input in the layer's float dtype (Keras's ops promote it this way)."""
    return inputs if inputs.dtype.is_floating_point else inputs.to(layer._dtype)


def _check_rank(layer, input_shape, ndim=None, min_ndim=None):
    """Keras's InputSpec rank check, as a ValueError naming the layer and the shape."""
    rank = len(input_shape)
    if (ndim is not None and rank != ndim) or (min_ndim is not None and rank < min_ndim):
        expected = f"ndim={ndim}" if ndim is not None else f"min_ndim={min_ndim}"
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                         f"expected {expected}, found ndim={rank}. Full shape received: "
                         f"{tuple(input_shape)}")


# ----------------------------------------------------------------------------- Dense

class Dense(quantization.Quantizable, LoRA, Layer):
    """Densely connected layer: output = activation(inputs @ kernel + bias), kernel (in, units).

    On an N-D input it acts on the last axis (the same kernel for every leading index).
    `lora_rank=r` (or `enable_lora(r)` once built) freezes the kernel and learns a low-rank
    update: kernel = W + (A @ B) * (lora_alpha / r), A (in, r), B (r, units) (see `lora.LoRA`).

    >>> import dualnet as dn
    >>> Dense(4)(dn.ones(2, 3)).shape
    dualnet.Size([2, 4])
    >>> lora = Dense(4, lora_rank=2)
    >>> _ = lora(dn.ones(2, 3))
    >>> [tuple(w.shape) for w in lora.weights], len(lora.trainable_weights)
    ([(3, 4), (4,), (3, 2), (2, 4)], 3)

    `quantize("int8")` (or a dtype policy "int8_from_float32") stores the kernel as int8 plus a
    per-unit `kernel_scale` and runs an int8 product (see `quantization`).
    """

    _lora_names = ("kernel", "lora_kernel_a", "lora_kernel_b")
    _quant_names = ("kernel", "kernel_scale")
    _quant_axis = 0  # one scale per output unit
    _quant_kind = "dense"

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        kwargs["dtype"], policy = quantization.split_policy(kwargs.get("dtype"))
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True  # a mask over the leading dims passes through
        if (not isinstance(units, numbers.Integral) or isinstance(units, bool)) or units <= 0:
            raise ValueError(f"Dense: received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        self._init_quantization(policy, quantization_config)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self._init_lora(lora_rank, lora_alpha)

    @property
    def kernel(self):
        """The (in, units) kernel in use: the stored weight, plus the LoRA update once enabled
        (then a computed tensor, as Keras's `kernel`; the stored weight is `weights[0]`)."""
        return self._with_lora("kernel")

    def build(self, input_shape):
        _check_rank(self, input_shape, min_ndim=2)
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Dense layer "{self.name}": the last dimension of the inputs must '
                             f"be defined. Received: input_shape={tuple(input_shape)}")
        # add_weight keys it "kernel_1" (the class has a `kernel` property); the assignment
        # renames it "kernel", where the property reads it back
        if self.quantization_mode:  # int8 kernel + scale first, as Keras's quantized_build
            self._build_quantized((input_dim, self.units))
        else:
            self.kernel = self.add_weight(shape=(input_dim, self.units), name="kernel",
                                          initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer,
                                          constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        self._lora_after_build()

    def call(self, inputs, training=None):
        # x @ kernel (+ bias) straight on the (in, out) kernel: one addmm node for 2-D input, and
        # the kernel's gradient comes out C-contiguous (through F.linear and kernel.t() it would be
        # a transposed view, which the optimizer kernel must copy every step)
        inputs = _as_float(inputs, self)
        if self.__dict__["_is_quantized"]:
            return self.quantized_call(inputs, training)
        kernel = self.kernel
        if self.bias is not None and inputs.ndim == 2:
            return self.activation(_matmul.addmm(self.bias, inputs, kernel))
        out = _matmul.matmul(inputs, kernel)
        return self.activation(out if self.bias is None else out + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": _serialized(activations, self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _serialized(initializers, self.kernel_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "kernel_regularizer": _serialized(regularizers, self.kernel_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
        })
        self._quantization_config_entries(config)
        if self.lora_rank:
            config.update({"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha})
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _serialized(regularizers, self.activity_regularizer)
        return config


# ----------------------------------------------------------------------------- Activation

class Activation(Layer):
    """Applies an activation function (a name from keras.activations or a callable).

    >>> import dualnet as dn
    >>> Activation("relu")(dn.tensor([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = _serialized(activations, self.activation)
        return config


# ----------------------------------------------------------------------------- Dropout

class Dropout(Layer):
    """Sets inputs to 0 with probability `rate` and scales the rest by 1 / (1 - rate), in
    training only; `noise_shape` (None entries taken from the input) shares the mask along
    dims of size 1. Masks come from dualnet's global random stream, which
    `keras.utils.set_random_seed` / `dn.manual_seed` make repeat; `seed` is kept in the config
    only (the core dropout op takes no generator of its own).

    >>> import dualnet as dn
    >>> Dropout(0.5)(dn.ones(2, 3)).tolist()   # inference: the identity
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout: invalid value received for argument `rate`. Expected a "
                             f"float value between 0 and 1. Received: rate={rate!r}")
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is None:
            return F.dropout(inputs, self.rate, training=True)
        if len(self.noise_shape) != inputs.ndim:
            raise ValueError(f'Dropout layer "{self.name}": noise_shape {self.noise_shape} must '
                             f"have the input's rank; input shape {tuple(inputs.shape)}")
        shape = tuple(n if s is None else s for s, n in zip(self.noise_shape, inputs.shape))
        # the op's inverted-dropout mask, drawn once per noise_shape entry and broadcast
        mask = F.dropout(ones(shape, dtype=inputs.dtype, device=inputs.device), self.rate,
                         training=True)
        return inputs * mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


# ----------------------------------------------------------------------------- shape layers

class Flatten(Layer):
    """Flattens all but the batch dim (channels_first input is first moved to channels last,
    as Keras does, so both layouts flatten in the same order).

    >>> import dualnet as dn
    >>> Flatten()(dn.ones(2, 3, 4)).shape
    dualnet.Size([2, 12])
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("Flatten", data_format)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = inputs.permute(0, *range(2, inputs.ndim), 1)
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _resolved_target(layer, target_shape, input_shape):
    """target_shape with its -1 (if any) resolved from input_shape[1:] (None where unknown)."""
    unknown = [i for i, d in enumerate(target_shape) if d == -1]
    if len(unknown) > 1:
        raise ValueError(f'Reshape layer "{layer.name}": there can be at most one -1 in '
                         f"target_shape. Received: target_shape={target_shape}")
    rest = input_shape[1:]
    if any(d is None for d in rest):
        return tuple(None if d == -1 else d for d in target_shape)
    total, known = math.prod(rest), math.prod(d for d in target_shape if d != -1)
    if (unknown and (known == 0 or total % known)) or (not unknown and total != known):
        raise ValueError(f'Reshape layer "{layer.name}": the total size of the new array must '
                         f"be unchanged. Received: input_shape={tuple(input_shape)}, "
                         f"target_shape={target_shape}")
    return tuple(total // known if d == -1 else d for d in target_shape)


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (no batch dim; one entry may be -1).

    >>> import dualnet as dn
    >>> Reshape((3, -1))(dn.ones(2, 12)).shape
    dualnet.Size([2, 3, 4])
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(target_shape)
        if not all(isinstance(d, numbers.Integral) and (d > 0 or d == -1) for d in target_shape):
            raise ValueError(f"Reshape: target_shape must be a tuple of positive ints (one may "
                             f"be -1). Received: target_shape={target_shape}")
        self.target_shape = target_shape

    def call(self, inputs):
        target = _resolved_target(self, self.target_shape, tuple(inputs.shape))
        return inputs.reshape(inputs.shape[0], *target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + _resolved_target(self, self.target_shape, tuple(input_shape))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Permute(Layer):
    """Permutes the non-batch dims: `dims` is a permutation of 1..rank-1 (1-indexed, Keras).

    >>> import dualnet as dn
    >>> Permute((2, 1))(dn.ones(2, 3, 4)).shape
    dualnet.Size([2, 4, 3])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: invalid permutation argument `dims`. The set of indices "
                             f"in `dims` must be consecutive and start from 1. Received "
                             f"dims={dims}")

    def _check(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f'Permute layer "{self.name}": dims={self.dims} needs an input of '
                             f"rank {len(self.dims) + 1}, got shape {tuple(input_shape)}")

    def call(self, inputs):
        self._check(inputs.shape)
        return inputs.permute(0, *self.dims)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


class RepeatVector(Layer):
    """Repeats a (batch, features) input n times: (batch, n, features).

    >>> import dualnet as dn
    >>> RepeatVector(3)(dn.ones(2, 4)).shape
    dualnet.Size([2, 3, 4])
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            raise TypeError(f"RepeatVector: expected an integer value for `n`. Received: "
                            f"n={n!r} of type {type(n).__name__}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, ndim=2)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


# ----------------------------------------------------------------------------- Lambda, Rescaling

class Lambda(Layer):
    """Wraps a function of the inputs as a layer: call = function(inputs, **arguments).

    `output_shape` (without the batch dim, or a function of the input shape) states the output
    shape; otherwise it is learned by running the function.

    >>> import dualnet as dn
    >>> Lambda(lambda x: x * 2)(dn.ones(1, 2)).tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda: `function` must be callable. Received: "
                             f"function={function!r}")
        # as Keras: the output mask is `mask(inputs, previous_mask)` when callable, else `mask`
        # itself; without one a Lambda drops (with a warning) the mask it receives
        self.supports_masking = mask is not None
        self.mask = mask
        self.function = function
        self._output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_spec(self, *args, **kwargs):
        if self._output_shape is None:  # learned by running the function on zeros
            return super().compute_output_spec(*args, **kwargs)
        shape = tuple(args[0].shape)
        if callable(self._output_shape):
            return KerasTensor(tuple(self._output_shape(shape)), self.dtype)
        return KerasTensor((shape[0],) + tuple(self._output_shape), self.dtype)

    def get_config(self):
        config = super().get_config()
        # Keras stores the function's bytecode; dualnet keeps the function object itself
        config.update({"function": self.function, "arguments": self.arguments})
        if self.mask is not None:
            config["mask"] = self.mask
        if self._output_shape is not None:
            config["output_shape"] = self._output_shape
        return config


class Rescaling(Layer):
    """inputs * scale + offset (e.g. scale=1/255 maps pixels to [0, 1]); scale and offset may
    be per-channel sequences, broadcast over the last axis.

    >>> import dualnet as dn
    >>> Rescaling(0.5, offset=1.0)(dn.tensor([[2.0, 4.0]])).tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.scale = scale
        self.offset = offset

    def _constant(self, value, like):
        if isinstance(value, numbers.Real):
            return float(value)
        return as_tensor(value, dtype=like.dtype, device=like.device)

    def call(self, inputs):
        inputs = _as_float(inputs, self)  # Keras casts to the layer's float dtype
        return inputs * self._constant(self.scale, inputs) + self._constant(self.offset, inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config


class Identity(Layer):
    """Returns its input unchanged (a placeholder that keeps a model's structure).

    >>> import dualnet as dn
    >>> Identity()(dn.ones(1, 2)).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Masking(Layer):
    """Masks the time steps whose features all equal `mask_value`: the outputs are the inputs
    with those steps zeroed, carrying the mask (batch, timesteps) that mask-aware layers
    downstream (RNNs, attention, GlobalAveragePooling1D) skip.

    >>> import dualnet as dn
    >>> out = Masking()(dn.tensor([[[1.0], [0.0], [2.0]]]))
    >>> out._keras_mask.tolist()
    [[True, False, True]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return (inputs != self.mask_value).any(-1)

    def call(self, inputs):
        keep = (inputs != self.mask_value).any(-1, keepdim=True)
        outputs = inputs.where(keep, 0.0)
        outputs._keras_mask = keep.squeeze(-1)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config

