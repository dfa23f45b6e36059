"""Keras's learning-rate schedules (`keras.optimizers.schedules`): callables from the optimizer's
step count (its `iterations` before the update) to a learning rate."""
import math

__all__ = ["LearningRateSchedule", "ExponentialDecay", "CosineDecay", "PiecewiseConstantDecay",
           "serialize", "deserialize"]


class LearningRateSchedule:
    """Base class: `__call__(step)` returns the learning rate for that step."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_config")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps), the exponent floored when
    `staircase`.

    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
    0.025
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps, self.decay_rate = decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        exponent = float(step) / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate ** exponent

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from initial_learning_rate to warmup_target over warmup_steps,
    then a cosine from there down to alpha times it over decay_steps (held after):
    lr = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps)) + alpha)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, step, peak):
        fraction = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * step / self.warmup_steps
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0] (inclusive), values[i] on (boundaries[i-1],
    boundaries[i]], values[-1] after the last boundary.

    >>> PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(15)
    0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay: the length of boundaries should be 1 "
                             f"less than the length of values, got {len(boundaries)} "
                             f"boundaries and {len(values)} values")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


_CLASSES = {c.__name__: c for c in (ExponentialDecay, CosineDecay, PiecewiseConstantDecay)}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    name = config.get("class_name")
    if name not in _CLASSES:
        raise ValueError(f"Unknown learning rate schedule {name!r}; valid names are "
                         f"{', '.join(sorted(_CLASSES))}")
    return _CLASSES[name].from_config(config["config"])
