"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay, under
torch's or Keras's rule; one fused kernel call per parameter."""
from ..core.creation import zeros_like
from ..core.ops.optim import ops as _updates
from .optimizer import Optimizer, check_at_least, check_rule, check_unsupported


class SGD(Optimizer):
    """Gradient descent, optionally with momentum.

    rule="torch" (default): g += weight_decay*p; buf = momentum*buf + (1-dampening)*g (buf = g
    on the first step); p -= lr*(g + momentum*buf if nesterov else buf).
    rule="keras" (Keras 3's SGD, for `dualnet.keras_api`): p -= lr*weight_decay*p first
    (decoupled decay); v = momentum*v - lr*g; p += (momentum*v - lr*g if nesterov else v).
    Keras has no dampening (it must be 0) and allows nesterov without momentum.
    `maximize` ascends instead (the gradient is negated). State: 'momentum_buffer' (torch's name,
    holding Keras's velocity under the keras rule).

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.tolist()
    [0.800000011920929, 1.600000023841858]
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None,
                 rule="torch"):
        check_at_least("SGD", "lr", lr)
        check_at_least("SGD", "momentum", momentum)
        check_at_least("SGD", "weight_decay", weight_decay)
        check_unsupported("SGD", differentiable)
        self.rule = check_rule("SGD", rule)
        if rule == "torch" and nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        if rule == "keras" and dampening != 0:
            raise ValueError(f"SGD: the keras rule has no dampening, got dampening={dampening}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        # torch keeps no state at all for plain SGD
        return self.state[param] if group["momentum"] != 0 else None

    def _prepare(self, group):
        keras = self.rule == "keras"
        options = dict(lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
                       weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                       maximize=group["maximize"], decoupled=keras, keras=keras)
        args = _updates.sgd_args(first_step=False, **options)
        launch = _updates.launch

        def update(param, grad, state):
            if state is None:
                launch(param._device, "sgd", param._data, grad, (None,), args)
                return
            buffer = state.get("momentum_buffer")
            if buffer is None:  # the first step: buf = g
                buffer = state["momentum_buffer"] = zeros_like(param)
                launch(param._device, "sgd", param._data, grad, (buffer._data,),
                       _updates.sgd_args(first_step=True, **options))
                return
            launch(param._device, "sgd", param._data, grad, (buffer._data,), args)
        return update
