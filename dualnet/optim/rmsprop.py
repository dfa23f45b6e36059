"""RMSprop (plain, centered, with momentum) under torch's or Keras's rule; one fused kernel call
per parameter."""
from ..core.creation import zeros_like
from ..core.ops.optim import ops as _updates
from .optimizer import (Optimizer, advance, check_at_least, check_rule, check_unsupported,
                        new_step)


class RMSprop(Optimizer):
    """Divides the gradient by a moving root mean square of past gradients.

    v = alpha*v + (1-alpha)*g^2; centered: a = alpha*a + (1-alpha)*g and v - a^2 replaces v.
    rule="torch" (default): g += weight_decay*p; d = sqrt(v) + eps; with momentum
    buf = momentum*buf + g/d, p -= lr*buf, else p -= lr*g/d.
    rule="keras" (Keras 3, `alpha` is Keras's rho): decoupled decay p -= lr*weight_decay*p;
    s = lr*g/sqrt(v + eps); with momentum buf = momentum*buf + s, p -= buf, else p -= s.
    State: 'step', 'square_avg' (+ 'momentum_buffer' when momentum > 0, 'grad_avg' when
    centered).

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False, *, rule="torch"):
        check_at_least("RMSprop", "lr", lr)
        check_at_least("RMSprop", "eps", eps)
        check_at_least("RMSprop", "momentum", momentum)
        check_at_least("RMSprop", "weight_decay", weight_decay)
        check_at_least("RMSprop", "alpha", alpha)
        check_unsupported("RMSprop", differentiable, capturable)
        self.rule = check_rule("RMSprop", rule)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = self.state[param]
        state["step"] = new_step()
        state["square_avg"] = zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = zeros_like(param)
        return state

    def _prepare(self, group):
        keras = self.rule == "keras"
        use_momentum, centered = group["momentum"] > 0, bool(group["centered"])
        args = _updates.rmsprop_args(lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                                     weight_decay=group["weight_decay"],
                                     momentum=group["momentum"], centered=centered,
                                     maximize=group["maximize"], decoupled=keras, keras=keras)
        launch = _updates.launch

        def update(param, grad, state):
            advance(state)
            buffer = grad_avg = None
            if use_momentum:
                buffer = state.get("momentum_buffer")
                if buffer is None:  # momentum turned on after the first step
                    buffer = state["momentum_buffer"] = zeros_like(param)
                buffer = buffer._data
            if centered:
                grad_avg = state.get("grad_avg")
                if grad_avg is None:  # centered turned on after the first step
                    grad_avg = state["grad_avg"] = zeros_like(param)
                grad_avg = grad_avg._data
            launch(param._device, "rmsprop", param._data, grad,
                   (state["square_avg"]._data, grad_avg, buffer), args)
        return update
