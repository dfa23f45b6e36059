"""Keras's BatchNormalization and LayerNormalization over dualnet's core batch_norm (in its
Keras mode: momentum weighs the old moving value, biased moving variance) and layer_norm.

BatchNormalization's gamma / beta are trainable weights; moving_mean / moving_variance (and
with renorm=True moving_stddev / renorm_mean / renorm_stddev) are non-trainable weights, i.e.
buffers of the nn.Module (in state_dict, not in parameters()).
"""
import math
import numbers
import warnings

from ...core.autograd import no_grad
from ...core.creation import as_tensor
from ...core.ops.normalization.ops import batch_norm, layer_norm
from .. import initializers, regularizers
from .core import _as_float, _serialized
from .layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]

_KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), what Keras's masked moments add to the count


_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def _checked_clipping(clipping):
    """renorm_clipping as Keras accepts it: None (no clipping) or a dict of optional rmax /
    rmin / dmax numbers with rmin <= rmax and dmax >= 0."""
    clipping = {} if clipping is None else clipping
    if not isinstance(clipping, dict):
        raise ValueError(f"BatchNormalization: `renorm_clipping` must be a dict with optional "
                         f"keys {list(_CLIPPING_KEYS)}, got {clipping!r}")
    unknown = sorted(set(clipping) - set(_CLIPPING_KEYS), key=str)
    if unknown:
        raise ValueError(f"BatchNormalization: invalid keys {unknown} in `renorm_clipping`="
                         f"{clipping}; the supported keys are {list(_CLIPPING_KEYS)}")
    for key, value in clipping.items():
        if value is not None and (not isinstance(value, numbers.Real)
                                  or isinstance(value, bool)):
            raise ValueError(f"BatchNormalization: `renorm_clipping['{key}']` must be a number "
                             f"or None, got {value!r}")
    rmax, rmin, dmax = (clipping.get(key) for key in _CLIPPING_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(f"BatchNormalization: `renorm_clipping` needs rmax >= rmin, got "
                         f"rmax={rmax}, rmin={rmin}")
    if dmax is not None and dmax < 0:
        raise ValueError(f"BatchNormalization: `renorm_clipping` needs dmax >= 0, got "
                         f"dmax={dmax}")
    return clipping


def _move(variable, value, momentum):
    """A moving statistic's update in place, Keras's rule: momentum weighs the old value."""
    variable.copy_(variable * momentum + value * (1.0 - momentum))


def _cloned(initializer):
    # as Keras: a fresh instance per weight, so an unseeded random initializer draws anew
    return initializer.clone() if isinstance(initializer, initializers.Initializer) else initializer


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

    renorm=True is batch renormalization (Ioffe 2017) as Keras 3 does it: in training the
    normalized batch is corrected towards the renorm moving statistics, y = gamma * (x_hat * r
    + d) + beta with r = sqrt(var + epsilon) / renorm_stddev and d = (mean - renorm_mean) /
    renorm_stddev, both clipped by `renorm_clipping` ({"rmin", "rmax", "dmax"}, each optional)
    and not differentiated. renorm_mean / renorm_stddev follow the batch with renorm_momentum;
    moving_mean / moving_stddev with momentum, and moving_variance = relu(moving_stddev**2 -
    epsilon). Inference is the same as without renorm.

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
            renorm_clipping = _checked_clipping(renorm_clipping)
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
        if self.renorm:
            # Keras's three extra weights, in its order: renorm tracks standard deviations (as
            # the paper does), starting at the square root of the moving variance's initializer
            def stddev_initializer(shape, dtype=None):
                initial = _cloned(self.moving_variance_initializer)(shape, dtype=dtype)
                return as_tensor(initial).sqrt()
            self.moving_stddev = self.add_weight(shape=shape, name="moving_stddev",
                                                 initializer=stddev_initializer, trainable=False)
            self.renorm_mean = self.add_weight(shape=shape, name="renorm_mean",
                                               initializer=_cloned(self.moving_mean_initializer),
                                               trainable=False)
            self.renorm_stddev = self.add_weight(shape=shape, name="renorm_stddev",
                                                 initializer=stddev_initializer,
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
        if (mask is not None or self.renorm) and training and self.trainable:
            return self._composed_training(inputs, mask, axis)
        return batch_norm(inputs, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                          training=bool(training) and self.trainable, momentum=self.momentum,
                          eps=self.epsilon, axis=axis, momentum_weights="old",
                          running_var_correction=0)

    def _composed_training(self, inputs, mask, axis):
        """Keras's training step with a time-step mask or renorm, composed from core ops. With
        a mask the batch moments count the unmasked positions only (mean = masked sum /
        (count + 1e-7), the same for the variance); the moving statistics follow the moments
        and the normalisation uses them, with renorm's correction folded into gamma and beta:
        gamma * (x_hat * r + d) + beta = x_hat * (r * gamma) + (d * gamma + beta)."""
        reduce = tuple(d for d in range(inputs.ndim) if d != axis)
        if mask is None:
            mean = inputs.mean(reduce, keepdim=True)
            variance = (inputs - mean).square().mean(reduce, keepdim=True)
        else:
            keep = mask if mask.dtype.name == "bool" else mask != 0
            keep = keep.unsqueeze(-1).expand(*inputs.shape)
            count = keep.to(inputs.dtype).sum(reduce, keepdim=True) + _KERAS_EPSILON
            mean = inputs.where(keep, 0.0).sum(reduce, keepdim=True) / count
            difference = (inputs - mean).where(keep, 0.0)
            variance = (difference * difference).sum(reduce, keepdim=True) / count
        gamma, beta = self.gamma, self.beta
        with no_grad():
            batch_mean, batch_variance = mean.reshape(-1), variance.reshape(-1)
            _move(self.moving_mean, batch_mean, self.momentum)
            if self.renorm:
                r, d = self._renorm_correction(batch_mean, batch_variance)
                self._update_renorm_statistics(batch_mean, batch_variance)
            else:
                _move(self.moving_variance, batch_variance, self.momentum)
        if self.renorm:  # r and d are constants of the step (stop-gradient, as in Keras)
            shift = d * gamma if gamma is not None else d
            beta = shift + beta if beta is not None else shift
            gamma = r * gamma if gamma is not None else r
        shape = [1] * inputs.ndim
        shape[axis] = inputs.shape[axis]
        factor = (variance + self.epsilon).rsqrt()
        if gamma is not None:
            factor = factor * gamma.reshape(shape)
        out = (inputs - mean) * factor
        return out + beta.reshape(shape) if beta is not None else out

    def _renorm_correction(self, mean, variance):
        """(r, d) of batch renormalization from the batch moments and the renorm statistics
        before this step's update."""
        # the floor keeps r and d finite while renorm_stddev is still near 0 (Keras's floor)
        renorm_stddev = self.renorm_stddev.clamp_min(math.sqrt(self.epsilon))
        r = (variance + self.epsilon).sqrt() / renorm_stddev
        d = (mean - self.renorm_mean) / renorm_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = r.clamp_min(float(clipping["rmin"]))
        if clipping.get("rmax") is not None:
            r = r.clamp_max(float(clipping["rmax"]))
        if clipping.get("dmax") is not None:
            d = d.clamp(-float(clipping["dmax"]), float(clipping["dmax"]))
        return r, d

    def _update_renorm_statistics(self, mean, variance):
        """renorm_* move with renorm_momentum, moving_stddev with momentum (moving_mean moves in
        the caller, as without renorm); moving_variance is derived from moving_stddev (relu:
        rounding may take stddev**2 below epsilon)."""
        stddev = (variance + self.epsilon).sqrt()
        renorm_momentum = float(self.renorm_momentum)
        _move(self.renorm_mean, mean, renorm_momentum)
        _move(self.renorm_stddev, stddev, renorm_momentum)
        _move(self.moving_stddev, stddev, self.momentum)
        self.moving_variance.copy_((self.moving_stddev.square() - self.epsilon).relu())

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

    rms_scaling=True (deprecated, warns as in Keras 3) computes what Keras 3.15 computes:
    no centering and no beta, a gamma even with scale=False, and the variance (not the mean
    square) as the scale: y = gamma * x / sqrt(var + epsilon).

    >>> import dualnet as dn
    >>> LayerNormalization(epsilon=0.0)(dn.tensor([[1.0, 3.0]])).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn("LayerNormalization: rms_scaling=True is deprecated in Keras; it "
                          "scales by the variance, not the root mean square. For RMS "
                          "normalization use RMSNormalization instead.", UserWarning,
                          stacklevel=2)
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
        self.rms_scaling = rms_scaling
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
                                     constraint=self.gamma_constraint
                                     ) if self.scale or self.rms_scaling else None
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint
                                    ) if self.center and not self.rms_scaling else None
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
        if self.rms_scaling:
            trailing_dims = tuple(range(rank - len(axes), rank))
            variance = moved.var(trailing_dims, keepdim=True, correction=0)
            out = moved * (variance + self.epsilon).rsqrt() * self.gamma  # gamma always made
        else:
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
