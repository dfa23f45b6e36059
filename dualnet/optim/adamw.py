"""AdamW: Adam with decoupled weight decay (p *= 1 - lr*weight_decay before the update), torch's
default weight_decay of 1e-2."""
from .adam import Adam


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameter directly instead of entering the gradient
    (Loshchilov & Hutter); everything else, the `rule` included, as `Adam`.

    >>> import dualnet as dn
    >>> w = dn.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * 0.0).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 6)
    0.95
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None, rule="torch"):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, rule=rule)
