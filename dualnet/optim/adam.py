"""Adam (and AMSGrad) under torch's or Keras's rule, with coupled (L2) or decoupled weight
decay; one fused kernel call per parameter."""
from ..core.creation import zeros_like
from ..core.ops.optim import ops as _updates
from .optimizer import (Optimizer, advance, check_at_least, check_betas, check_rule,
                        check_unsupported, new_step)


class Adam(Optimizer):
    """Adam: moving averages m, v of the gradient and its square, bias-corrected.

    rule="torch" (default): g += weight_decay*p (or, with decoupled_weight_decay=True, AdamW's
    p *= 1 - lr*weight_decay); m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g^2;
    p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps).
    rule="keras" (Keras 3, for `dualnet.keras_api`): decoupled decay p -= lr*weight_decay*p;
    p -= lr_t*m / (sqrt(v) + eps) with lr_t = lr*sqrt(1-beta2^t)/(1-beta1^t).
    amsgrad uses max(v) over the steps ('max_exp_avg_sq'); `maximize` ascends.
    State: 'step', 'exp_avg', 'exp_avg_sq' (+ 'max_exp_avg_sq').

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(x, 4) for x in w.tolist()]
    [0.9, -1.9]
    """

    _decoupled_default = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False, rule="torch"):
        name = type(self).__name__
        check_at_least(name, "lr", lr)
        check_at_least(name, "eps", eps)
        check_betas(name, betas)
        check_at_least(name, "weight_decay", weight_decay)
        check_unsupported(name, differentiable, capturable)
        self.rule = check_rule(name, rule)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = self.state[param]
        state["step"] = new_step()
        state["exp_avg"] = zeros_like(param)
        state["exp_avg_sq"] = zeros_like(param)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(param)
        return state

    def _prepare(self, group):
        keras = self.rule == "keras"
        beta1, beta2 = group["betas"]
        amsgrad = bool(group["amsgrad"])
        options = dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                       weight_decay=group["weight_decay"], amsgrad=amsgrad,
                       maximize=group["maximize"], keras=keras,
                       decoupled=keras or group.get("decoupled_weight_decay", False))
        args_at = {}  # step number -> kernel arguments (the group's parameters share steps)
        launch = _updates.launch

        def update(param, grad, state):
            step = advance(state)
            args = args_at.get(step)
            if args is None:
                args = args_at[step] = _updates.adam_args(step=step, **options)
            max_sq = None
            if amsgrad:
                max_sq = state.get("max_exp_avg_sq")
                if max_sq is None:  # amsgrad turned on after the first step
                    max_sq = state["max_exp_avg_sq"] = zeros_like(param)
                max_sq = max_sq._data
            launch(param._device, "adam", param._data, grad,
                   (state["exp_avg"]._data, state["exp_avg_sq"]._data, max_sq), args)
        return update
