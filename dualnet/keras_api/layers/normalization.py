"""Keras's BatchNormalization and LayerNormalization over dualnet's core batch_norm (in its
Keras mode: momentum weighs the old moving value, biased moving variance) and layer_norm.

BatchNormalization's gamma / beta are trainable weights; moving_mean / moving_variance are
non-trainable weights, i.e. buffers of the nn.Module (in state_dict, not in parameters()).
"""
import numbers

from ...core.autograd import no_grad
from ...core.ops.normalization.ops import batch_norm, layer_norm
from .. import initializers, regularizers
from .core import _as_float, _serialized
from .layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]

_KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), what Keras's masked moments add to the count


def _positive_axis(layer, axis, rank, input_shape):
    if not -rank <= axis < rank:
        raise ValueError(f'{type(layer).__name__} layer "{layer.name}": invalid axis {axis} for '
                         f"an input of shape {tuple(input_shape)}")
    return axis % rank


class BatchNormalization(Layer):
    """Normalizes each channel (the `axis` dim) by the batch's mean and biased variance in
    training - and moves moving_mean / moving_variance towards them: moving = moving *
    momentum + batch * (1 - momentum) - and by the moving statistics in inference:

        y = gamma * (x - mean) / sqrt(var + epsilon) + beta

    A layer with trainable=False always runs in inference mode (Keras 3's rule for
    fine-tuning).

    >>> import dualnet as dn
    >>> bn = BatchNormalization()
    >>> bn(dn.tensor([[0.0], [2.0]]), training=True).tolist()
    [[-0.9995003938674927], [0.9995003938674927]]
    >>> bn.moving_mean.tolist(), bn.moving_variance.tolist()
    ([0.009999999776482582], [1.0])
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise ValueError(f"BatchNormalization: `axis` must be an int. Received: "
                             f"axis={axis!r}")
        if renorm:
            raise NotImplementedError("BatchNormalization: batch renormalization (renorm=True) "
                                      "is not supported by dualnet")
        if synchronized:
            raise ValueError("BatchNormalization: argument synchronized=True is only supported "
                             "with Keras's TensorFlow backend")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.renorm, self.renorm_clipping = renorm, renorm_clipping
        self.renorm_momentum, self.synchronized = renorm_momentum, synchronized

    def build(self, input_shape):
        axis = _positive_axis(self, self.axis, len(input_shape), input_shape)
        if axis == 0 or input_shape[axis] is None:
            raise ValueError(f'BatchNormalization layer "{self.name}": axis {self.axis} of input '
                             f"shape {tuple(input_shape)} must be a defined, non-batch dimension")
        shape = (input_shape[axis],)
        self.gamma = self.add_weight(shape=shape, name="gamma",
                                     initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean",
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        channels = self.moving_mean.shape[0]
        axis = _positive_axis(self, self.axis, inputs.ndim, inputs.shape)
        if inputs.shape[axis] != channels:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected axis {self.axis} of input shape to have value "
                             f"{channels}, but received input with shape {tuple(inputs.shape)}")
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError(f'BatchNormalization layer "{self.name}": the mask provided should '
                             f"be one dimension less than the inputs. Received: mask.shape="
                             f"{tuple(mask.shape)}, inputs.shape={tuple(inputs.shape)}")
        inputs = _as_float(inputs, self)
        if mask is not None and training and self.trainable:
            return self._masked_training(inputs, mask, axis)
        return batch_norm(inputs, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                          training=bool(training) and self.trainable, momentum=self.momentum,
                          eps=self.epsilon, axis=axis, momentum_weights="old",
                          running_var_correction=0)

    def _masked_training(self, inputs, mask, axis):
        """Keras's training step with a time-step mask: the batch moments count the unmasked
        positions only (mean = masked sum / (count + 1e-7), the same for the variance), the
        moving statistics follow them, and the normalisation uses them."""
        reduce = tuple(d for d in range(inputs.ndim) if d != axis)
        keep = mask if mask.dtype.name == "bool" else mask != 0
        keep = keep.unsqueeze(-1).expand(*inputs.shape)
        count = keep.to(inputs.dtype).sum(reduce, keepdim=True) + _KERAS_EPSILON
        mean = inputs.where(keep, 0.0).sum(reduce, keepdim=True) / count
        difference = (inputs - mean).where(keep, 0.0)
        variance = (difference * difference).sum(reduce, keepdim=True) / count
        with no_grad():
            m = self.momentum
            self.moving_mean.copy_(self.moving_mean * m + mean.reshape(-1) * (1.0 - m))
            self.moving_variance.copy_(self.moving_variance * m
                                       + variance.reshape(-1) * (1.0 - m))
        shape = [1] * inputs.ndim
        shape[axis] = inputs.shape[axis]
        factor = (variance + self.epsilon).rsqrt()
        if self.gamma is not None:
            factor = factor * self.gamma.reshape(shape)
        out = (inputs - mean) * factor
        return out + self.beta.reshape(shape) if self.beta is not None else out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": _serialized(initializers, self.beta_initializer),
            "gamma_initializer": _serialized(initializers, self.gamma_initializer),
            "moving_mean_initializer": _serialized(initializers, self.moving_mean_initializer),
            "moving_variance_initializer": _serialized(initializers,
                                                       self.moving_variance_initializer),
            "beta_regularizer": _serialized(regularizers, self.beta_regularizer),
            "gamma_regularizer": _serialized(regularizers, self.gamma_regularizer),
            "beta_constraint": self.beta_constraint, "gamma_constraint": self.gamma_constraint,
            "synchronized": self.synchronized, "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum,
        })
        return config


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (an int or a list of dims) by its own mean and
    variance, then scales by gamma and shifts by beta (both of the normalized dims' shape):

        y = gamma * (x - mean) / sqrt(var + epsilon) + beta

    >>> import dualnet as dn
    >>> LayerNormalization(epsilon=0.0)(dn.tensor([[1.0, 3.0]])).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if kwargs.pop("rms_scaling", False):
            raise NotImplementedError("LayerNormalization: rms_scaling=True (deprecated in Keras) "
                                      "is not supported by dualnet; use RMSNormalization")
        super().__init__(**kwargs)
        self.supports_masking = True
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        elif not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"LayerNormalization: expected an int or a list/tuple of ints for "
                            f"the argument 'axis', but received: {axis!r}")
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.rms_scaling = False
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint

    def build(self, input_shape):
        # as Keras: the axes become a sorted list, the weights take their sizes
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        rank = len(input_shape)
        for axis in self.axis:
            _positive_axis(self, axis, rank, input_shape)
        shape = tuple(input_shape[axis] for axis in self.axis)
        self.gamma = self.add_weight(shape=shape, name="gamma",
                                     initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.built = True

    def call(self, inputs):
        inputs = _as_float(inputs, self)
        rank = inputs.ndim
        axes = [_positive_axis(self, axis, rank, inputs.shape) for axis in self.axis]
        rest = [d for d in range(rank) if d not in axes]
        trailing = axes == list(range(rank - len(axes), rank))
        # layer_norm normalizes trailing dims (gamma's shape, in self.axis order): other axes
        # are moved to the end and back (views)
        moved = inputs if trailing else inputs.permute(*rest, *axes)
        normalized_shape = tuple(moved.shape[rank - len(axes):])
        out = layer_norm(moved, normalized_shape, self.gamma, self.beta, self.epsilon)
        if trailing:
            return out
        inverse = [0] * rank
        for position, dim in enumerate(rest + axes):
            inverse[dim] = position
        return out.permute(*inverse)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling,
            "beta_initializer": _serialized(initializers, self.beta_initializer),
            "gamma_initializer": _serialized(initializers, self.gamma_initializer),
            "beta_regularizer": _serialized(regularizers, self.beta_regularizer),
            "gamma_regularizer": _serialized(regularizers, self.gamma_regularizer),
            "beta_constraint": self.beta_constraint, "gamma_constraint": self.gamma_constraint,
        })
        return config
