"""Adagrad (per-element learning rates from the running sum of squared gradients) under torch's
or Keras's rule; one fused kernel call per parameter."""
from ..core.creation import full_like
from ..core.ops.optim import ops as _updates
from .optimizer import (Optimizer, advance, check_at_least, check_rule, check_unsupported,
                        new_step)


class Adagrad(Optimizer):
    """s += g^2, then a step scaled by 1/sqrt(s); the learning rate decays as
    clr = lr / (1 + (t-1)*lr_decay).

    rule="torch" (default): g += weight_decay*p; p -= clr*g / (sqrt(s) + eps).
    rule="keras" (Keras 3): decoupled decay p -= lr*weight_decay*p; p -= clr*g / sqrt(s + eps).
    State ('step', 'sum' = initial_accumulator_value) is made at construction, as torch does.

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 4)
    0.5
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None,
                 rule="torch"):
        check_at_least("Adagrad", "lr", lr)
        check_at_least("Adagrad", "lr_decay", lr_decay)
        check_at_least("Adagrad", "weight_decay", weight_decay)
        check_at_least("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        check_at_least("Adagrad", "eps", eps)
        check_unsupported("Adagrad", differentiable)
        self.rule = check_rule("Adagrad", rule)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(param, group)

    def _init_state(self, param, group):
        state = self.state[param]
        state["step"] = new_step()
        state["sum"] = full_like(param, group["initial_accumulator_value"])
        return state

    def _prepare(self, group):
        keras = self.rule == "keras"
        options = dict(lr=group["lr"], lr_decay=group["lr_decay"], eps=group["eps"],
                       weight_decay=group["weight_decay"], maximize=group["maximize"],
                       decoupled=keras, keras=keras)
        args_at = {}  # step number -> kernel arguments (the group's parameters share steps)
        launch = _updates.launch

        def update(param, grad, state):
            step = advance(state)
            args = args_at.get(step)
            if args is None:
                args = args_at[step] = _updates.adagrad_args(step=step, **options)
            launch(param._device, "adagrad", param._data, grad, (state["sum"]._data,), args)
        return update
