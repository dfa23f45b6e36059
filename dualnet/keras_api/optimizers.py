"""Keras 3's optimizers: Keras's names, defaults and options over the shared `dualnet.optim`
classes run with `rule="keras"` (the update arithmetic lives there). A wrapper binds to its
variables on the first step, evaluates learning-rate schedules at `iterations`, and clips
gradients (clipnorm / clipvalue / global_clipnorm) before the update."""
import numpy as np

from .. import optim as _optim
from ..core.autograd import no_grad
from ..core.creation import as_tensor
from ..core.tensor import Tensor
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from . import optimizers_schedules as schedules

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Nadam",
           "schedules", "get", "serialize", "deserialize"]


class Optimizer:
    """Base of the Keras optimizers. Subclasses name the `dualnet.optim` class and translate
    their options in `_inner_options()`."""

    _inner_class = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls = type(self).__name__
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{cls}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` "
                             f"can be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue},"
                             f" global_clipnorm={global_clipnorm}")
        for option, value in (("use_ema", use_ema), ("loss_scale_factor", loss_scale_factor),
                              ("gradient_accumulation_steps", gradient_accumulation_steps)):
            if value:
                raise ValueError(f"{cls}: {option}={value!r} is not supported by dualnet")
        self.name = name or _snake(cls)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.iterations = 0
        self._learning_rate = self._check_learning_rate(learning_rate)
        self._inner = None
        self._variables = None
        self._overwritten_variables, self._stepped_variables = [], []

    # ------------------------------------------------------------------ learning rate

    def _check_learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a float or a "
                             f"LearningRateSchedule, got {value!r}") from None

    @property
    def learning_rate(self):
        """The current learning rate (a schedule evaluated at `iterations`)."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, schedules.LearningRateSchedule) and \
                not isinstance(value, schedules.LearningRateSchedule):
            raise TypeError(f"{type(self).__name__}: this optimizer was created with a "
                            f"LearningRateSchedule as learning_rate; a float cannot replace it")
        self._learning_rate = self._check_learning_rate(value)

    lr = learning_rate

    def _current_learning_rate(self):
        rate = self._learning_rate
        if callable(rate):
            return float(rate(self.iterations) if isinstance(
                rate, schedules.LearningRateSchedule) else rate())
        return rate

    # ------------------------------------------------------------------ binding and stepping

    @property
    def variables(self):
        """The optimizer's state tensors (moments, velocities), in variable order."""
        if self._inner is None:
            return []
        found = []
        for param in self._variables:
            for value in (self._inner.state.get(param) or {}).values():
                if isinstance(value, Tensor) and value.shape == param.shape:
                    found.append(value)
        return found

    def build(self, variables):
        """Bind to `variables` (the model's trainable weights): makes the dualnet.optim
        optimizer that holds the state."""
        variables = list(variables)
        self._variables = variables
        options = self._inner_options()
        options["weight_decay"] = self.weight_decay or 0.0
        # as Keras, a variable overwritten with its gradient gets no optimizer state
        self._overwritten_variables = [v for v in variables if _overwritten(v)]
        self._stepped_variables = [v for v in variables if not _overwritten(v)]
        self._inner = self._inner_class(self._stepped_variables or variables,
                                        lr=self._current_learning_rate(), rule="keras", **options)

    @property
    def built(self):
        return self._inner is not None

    def step(self):
        """One update of the bound variables from their `.grad` (the trainer's call)."""
        if self._overwritten_variables:
            self._overwrite_with_gradients()
        variables = self._stepped_variables
        if self.clipvalue is not None:
            clip_grad_value_(variables, self.clipvalue)
        elif self.clipnorm is not None:
            for variable in variables:
                if variable.grad is not None:
                    clip_grad_norm_([variable], self.clipnorm)
        elif self.global_clipnorm is not None:
            clip_grad_norm_(variables, self.global_clipnorm)
        if callable(self._learning_rate) or self._inner.param_groups[0]["lr"] != \
                self._learning_rate:
            rate = self._current_learning_rate()
            for group in self._inner.param_groups:
                group["lr"] = rate
        self._inner.step()
        self.iterations += 1

    def _overwrite_with_gradients(self):
        """Keras's `_overwrite_variables_directly_with_gradients`: a variable made with
        `overwrite_with_gradient=True` (float8's scales and amax histories) takes its gradient
        as its new value, before and outside clipping, weight decay and the update rule."""
        for variable in self._overwritten_variables:
            if variable.grad is not None:
                with no_grad():
                    variable.copy_(variable.grad)
                variable.grad = None

    def zero_grad(self):
        if self._inner is not None:
            self._inner.zero_grad()
            for variable in self._overwritten_variables:
                variable.grad = None

    def apply_gradients(self, grads_and_vars):
        """Keras's API: update each variable with its gradient (arrays or tensors)."""
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._variables
        trainable_variables = list(trainable_variables)
        if self._inner is None:
            self.build(trainable_variables)
        elif [id(v) for v in trainable_variables] != [id(v) for v in self._variables]:
            raise ValueError(f"{type(self).__name__}: this optimizer was built for "
                             f"{len(self._variables)} other variables; use a new optimizer "
                             f"for a different set of variables")
        with no_grad():
            for grad, variable in zip(grads, trainable_variables):
                if grad is None:
                    variable.grad = None
                    continue
                if not isinstance(grad, Tensor):
                    grad = as_tensor(np.asarray(grad), dtype=variable.dtype,
                                     device=variable.device)
                variable.grad = grad.detach().clone()
        self.step()

    # ------------------------------------------------------------------ config

    def _inner_options(self):
        raise NotImplementedError

    def get_config(self):
        rate = self._learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            rate = schedules.serialize(rate)
        return {"name": self.name, "learning_rate": rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        rate = config.get("learning_rate")
        if isinstance(rate, dict):
            config["learning_rate"] = schedules.deserialize(rate)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} learning_rate={self.learning_rate}>"


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: v = momentum*v - lr*g; p += v."""

    _inner_class = _optim.SGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="SGD", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float in [0, 1], got {momentum}")
        self.momentum, self.nesterov = momentum, nesterov

    def _inner_options(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with Keras's epsilon placement: p -= lr_t * m / (sqrt(v) + eps)."""

    _inner_class = _optim.Adam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adam", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _inner_options(self):
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon,
                "amsgrad": self.amsgrad}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004)."""

    _inner_class = _optim.AdamW

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float, received None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name=name, **kwargs)


class RMSprop(Optimizer):
    """RMSprop: p -= lr * g / sqrt(v + eps), v = rho*v + (1-rho)*g^2 (centered, momentum)."""

    _inner_class = _optim.RMSprop

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _inner_options(self):
        return {"alpha": self.rho, "momentum": self.momentum, "eps": self.epsilon,
                "centered": self.centered}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: s += g^2; p -= lr * g / sqrt(s + eps), s starting at
    initial_accumulator_value."""

    _inner_class = _optim.Adagrad

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _inner_options(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "eps": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value":
                self.initial_accumulator_value, "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta with Keras's defaults (lr 0.001, rho 0.95, epsilon 1e-7)."""

    _inner_class = _optim.Adadelta

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="adadelta",
                 **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _inner_options(self):
        return {"rho": self.rho, "eps": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum, Keras 3's rule: momentum schedule
    mu_t = beta_1 * (1 - 0.5 * 0.96^t), p -= lr * m_hat / (sqrt(v_hat) + epsilon)."""

    _inner_class = _optim.NAdam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _inner_options(self):
        # Keras's schedule 0.96^t is torch's 0.96^(t * momentum_decay) with momentum_decay 1
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon,
                "momentum_decay": 1.0}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


def _overwritten(variable):
    return getattr(variable, "overwrite_with_gradient", False)


def _snake(name):
    return name.lower()


_CLASSES = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam)}
_NAMES = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier):
    """An optimizer from a string ('adam', 'sgd', 'rmsprop', ...; any case), a config dict or
    an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; valid "
                             f"names are {', '.join(sorted(_NAMES))}")
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    name = config.get("class_name", "")
    cls = _CLASSES.get(name) or _NAMES.get(name.lower())
    if cls is None:
        raise ValueError(f"Could not interpret optimizer config: unknown class_name {name!r}; "
                         f"valid names are {', '.join(sorted(_CLASSES))}")
    return cls.from_config(config.get("config", {}))
