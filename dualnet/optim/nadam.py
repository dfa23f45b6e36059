"""NAdam (Adam with Nesterov momentum) under torch's or Keras's rule, with coupled (L2) or
decoupled weight decay; one fused kernel call per parameter."""
from ..core.creation import tensor, zeros_like
from ..core.dtypes import float32
from ..core.ops.optim import ops as _updates
from .optimizer import (Optimizer, advance, check_at_least, check_betas, check_rule,
                        check_unsupported, new_step)


class NAdam(Optimizer):
    """NAdam (Dozat, 2016): Adam whose step looks ahead with the next momentum coefficient.

    mu_t = beta1 * (1 - 0.5 * 0.96^(t*momentum_decay)), prod_t = mu_1 * ... * mu_t;
    m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g^2;
    p -= lr * ((1-mu_t)/(1-prod_t) * g + mu_{t+1}/(1-prod_{t+1}) * m)
         / (sqrt(v/(1-beta2^t)) + eps).
    rule="torch" (default): g += weight_decay*p, or with decoupled_weight_decay=True
    p *= 1 - lr*weight_decay (NAdamW). rule="keras" (Keras 3's Nadam, for `dualnet.keras_api`,
    which passes momentum_decay=1: Keras's schedule is 0.96^t): decoupled decay always, m as a
    plain moving average (torch keeps it with lerp). `maximize` ascends.
    State: 'step', 'mu_product' (float32 0-d tensors, as torch keeps them), 'exp_avg',
    'exp_avg_sq'.

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = NAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(x, 4) for x in w.tolist()]
    [0.8944, -1.8944]
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, rule="torch"):
        name = type(self).__name__
        check_at_least(name, "lr", lr)
        check_at_least(name, "eps", eps)
        check_betas(name, betas)
        check_at_least(name, "weight_decay", weight_decay)
        check_at_least(name, "momentum_decay", momentum_decay)
        check_unsupported(name, differentiable, capturable)
        self.rule = check_rule(name, rule)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = self.state[param]
        state["step"] = new_step()
        state["mu_product"] = tensor(1.0, dtype=float32)
        state["exp_avg"] = zeros_like(param)
        state["exp_avg_sq"] = zeros_like(param)
        return state

    def _prepare(self, group):
        keras = self.rule == "keras"
        beta1, beta2 = group["betas"]
        momentum_decay = group["momentum_decay"]
        options = dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                       weight_decay=group["weight_decay"], momentum_decay=momentum_decay,
                       maximize=group["maximize"], keras=keras,
                       decoupled=keras or group.get("decoupled_weight_decay", False))
        args_at = {}  # (step, mu_product) -> kernel arguments (shared by the group's parameters)
        launch = _updates.launch

        def update(param, grad, state):
            step = advance(state)
            counter = state["mu_product"]._data
            mu_product = _updates.nadam_mu_product(float(counter), step, beta1, momentum_decay)
            counter[()] = mu_product
            key = (step, mu_product)
            args = args_at.get(key)
            if args is None:
                args = args_at[key] = _updates.nadam_args(step=step, mu_product=mu_product,
                                                          **options)
            launch(param._device, "nadam", param._data, grad,
                   (state["exp_avg"]._data, state["exp_avg_sq"]._data), args)
        return update
