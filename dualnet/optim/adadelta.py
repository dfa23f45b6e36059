"""Adadelta (steps scaled by the ratio of running RMS of updates and of gradients) under torch's
or Keras's rule; one fused kernel call per parameter."""
from ..core.creation import zeros_like
from ..core.ops.optim import ops as _updates
from .optimizer import (Optimizer, advance, check_at_least, check_rule, check_unit_interval,
                        check_unsupported, new_step)


class Adadelta(Optimizer):
    """v = rho*v + (1-rho)*g^2; delta = sqrt(u + eps)/sqrt(v + eps) * g;
    u = rho*u + (1-rho)*delta^2; p -= lr*delta.

    rule="torch" (default): g += weight_decay*p first. rule="keras" (Keras 3): decoupled decay
    p -= lr*weight_decay*p, and g multiplies sqrt(u + eps) before the division (Keras's order).
    State: 'step', 'square_avg' (v), 'acc_delta' (u).

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0], requires_grad=True)
    >>> opt = Adadelta([w])
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 6)
    0.996838
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False, rule="torch"):
        check_at_least("Adadelta", "lr", lr)
        check_unit_interval("Adadelta", "rho", rho, closed=True)
        check_at_least("Adadelta", "eps", eps)
        check_at_least("Adadelta", "weight_decay", weight_decay)
        check_unsupported("Adadelta", differentiable, capturable)
        self.rule = check_rule("Adadelta", rule)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = self.state[param]
        state["step"] = new_step()
        state["square_avg"] = zeros_like(param)
        state["acc_delta"] = zeros_like(param)
        return state

    def _prepare(self, group):
        keras = self.rule == "keras"
        args = _updates.adadelta_args(lr=group["lr"], rho=group["rho"], eps=group["eps"],
                                      weight_decay=group["weight_decay"],
                                      maximize=group["maximize"], decoupled=keras, keras=keras)
        launch = _updates.launch

        def update(param, grad, state):
            advance(state)
            launch(param._device, "adadelta", param._data, grad,
                   (state["square_avg"]._data, state["acc_delta"]._data), args)
        return update
