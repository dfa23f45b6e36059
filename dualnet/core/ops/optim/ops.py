"""Array-level optimizer updates: one call updates one parameter in place with its device's fused
kernel (`cpu.py`).

`keras=True` picks Keras 3's arithmetic, else torch's (SPEC's conventions table). Weight decay:
`decoupled=False` adds weight_decay * param to the gradient (torch's L2), `decoupled=True` scales
the parameter by 1 - lr * weight_decay before the update (AdamW, and Keras for every optimizer).
Arrays may be non-contiguous (the kernel then runs on a contiguous copy, written back); the
gradient is cast to the parameter's dtype. Bias corrections are computed here in float64.

Two layers, for the optimizers' per-parameter cost (a small model's whole step is a few hundred
microseconds): `*_args` functions turn the options into the kernel's trailing arguments (Python
floats and 0/1 ints; the kernel rounds the floats to the parameter's dtype), which `dualnet.optim`
computes once per parameter group and step, and `launch` runs a kernel on one parameter with
them. The keyword functions (`sgd`, `adam`, ...) do both, for one-off calls and tests.
"""
import math

import numpy as np

from ...device import array_module
from ...dispatch import kernels

_EMPTY = {}  # (device type, dtype) -> a 0-element array: the argument for an unused state
_MODULES = {}  # device type -> kernel module (dispatch.kernels, looked up once)


def launch(dev, name, param, grad, states, args):
    """Run the `name` kernel of `dev` on the arrays `param` (updated in place), `grad` and
    `states` (a tuple: arrays updated in place, or None for a state the options leave unused)
    with trailing arguments `args` (from the `*_args` functions)."""
    module = _MODULES.get(dev.type)
    if module is None:
        module = _MODULES[dev.type] = kernels("optim", dev)
    dtype = param.dtype
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    # ravel() is a view of a C-contiguous array and a copy (owning its memory: base None)
    # otherwise; copies of the parameter and states are written back after the kernel
    flat = param.ravel()
    flats = [flat, grad.ravel()]
    copied = flat.base is None
    for state in states:
        if state is None:
            flat = _EMPTY.get((dev.type, dtype))
            if flat is None:
                flat = _EMPTY[dev.type, dtype] = array_module(dev).empty(0, dtype)
        else:
            flat = state.ravel()
            copied = copied or flat.base is None
        flats.append(flat)
    getattr(module, name)(*flats, *args)
    if copied:
        for target, work in zip((param,) + states, flats[:1] + flats[2:]):
            if target is not None and work.base is None:
                target[...] = work.reshape(target.shape)


def _flag(value):
    """An option as the kernels take it: 0 or 1 (Numba's dispatcher types an int faster than a
    bool, and the kernels only test it)."""
    return 1 if value else 0


def _decay(lr, weight_decay, decoupled):
    """(l2 coefficient added to the gradient, factor the parameter is scaled by)."""
    if decoupled:
        return 0.0, 1.0 - lr * weight_decay
    return float(weight_decay), 1.0


def sgd_args(*, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step,
             decoupled=False, keras=False):
    lr = float(lr)
    l2, decay_scale = _decay(lr, weight_decay, decoupled)
    return (lr, float(momentum), 1.0 - dampening, l2, decay_scale, _flag(nesterov),
            _flag(maximize), _flag(first_step), _flag(keras))


def sgd(dev, param, grad, momentum_buffer, **options):
    """One SGD step of `param`; `momentum_buffer` is None when momentum is 0. Options: lr,
    momentum, dampening, weight_decay, nesterov, maximize, first_step, decoupled, keras."""
    launch(dev, "sgd", param, grad, (momentum_buffer,), sgd_args(**options))


def adam_args(*, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled=False,
              keras=False):
    """At 1-based step number `step`."""
    lr, beta1, beta2 = float(lr), float(beta1), float(beta2)
    bias_correction1 = 1.0 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    if keras:
        step_size, bias_correction2_sqrt = lr * bias_correction2_sqrt / bias_correction1, 1.0
    else:
        step_size = lr / bias_correction1
    l2, decay_scale = _decay(lr, weight_decay, decoupled)
    return (step_size, beta1, 1.0 - beta1, beta2, 1.0 - beta2, float(eps), bias_correction2_sqrt,
            l2, decay_scale, _flag(amsgrad), _flag(maximize), _flag(keras))


def adam(dev, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, **options):
    """One Adam step of `param` at 1-based step number `step`; max_exp_avg_sq None unless
    amsgrad. Options: step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled,
    keras."""
    launch(dev, "adam", param, grad, (exp_avg, exp_avg_sq, max_exp_avg_sq), adam_args(**options))


def rmsprop_args(*, lr, alpha, eps, weight_decay, momentum, centered, maximize, decoupled=False,
                 keras=False):
    lr = float(lr)
    l2, decay_scale = _decay(lr, weight_decay, decoupled)
    return (lr, float(alpha), 1.0 - alpha, float(eps), float(momentum), l2, decay_scale,
            _flag(centered), _flag(maximize), _flag(keras))


def rmsprop(dev, param, grad, square_avg, grad_avg, momentum_buffer, **options):
    """One RMSprop step; grad_avg None unless centered, momentum_buffer None unless momentum > 0.
    Options: lr, alpha, eps, weight_decay, momentum, centered, maximize, decoupled, keras."""
    launch(dev, "rmsprop", param, grad, (square_avg, grad_avg, momentum_buffer),
           rmsprop_args(**options))


def adagrad_args(*, step, lr, lr_decay, eps, weight_decay, maximize, decoupled=False,
                 keras=False):
    """At 1-based step number `step` (the learning rate decays with it)."""
    lr = float(lr)
    clr = lr / (1 + (step - 1) * lr_decay)
    l2, decay_scale = _decay(lr, weight_decay, decoupled)
    return (float(clr), float(eps), l2, decay_scale, _flag(maximize), _flag(keras))


def adagrad(dev, param, grad, state_sum, **options):
    """One Adagrad step. Options: step, lr, lr_decay, eps, weight_decay, maximize, decoupled,
    keras."""
    launch(dev, "adagrad", param, grad, (state_sum,), adagrad_args(**options))


def adadelta_args(*, lr, rho, eps, weight_decay, maximize, decoupled=False, keras=False):
    lr = float(lr)
    l2, decay_scale = _decay(lr, weight_decay, decoupled)
    return (lr, float(rho), 1.0 - rho, float(eps), l2, decay_scale, _flag(maximize), _flag(keras))


def adadelta(dev, param, grad, square_avg, acc_delta, **options):
    """One Adadelta step. Options: lr, rho, eps, weight_decay, maximize, decoupled, keras."""
    launch(dev, "adadelta", param, grad, (square_avg, acc_delta), adadelta_args(**options))


def nadam_momentum(step, beta1, momentum_decay):
    """NAdam's momentum coefficient mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)) at
    1-based step `step` (Dozat's schedule; Keras 3 uses momentum_decay = 1)."""
    return float(beta1) * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))


def nadam_mu_product(mu_product, step, beta1, momentum_decay):
    """The running product mu_1 * ... * mu_t from the product up to t-1, rounded to float32 at
    each step as torch (its float32 'mu_product' state) and Keras (its float32 variable) keep
    it."""
    mu = np.float32(nadam_momentum(step, beta1, momentum_decay))
    return float(np.float32(mu_product) * mu)


def nadam_args(*, step, mu_product, lr, beta1, beta2, eps, weight_decay, momentum_decay,
               maximize, decoupled=False, keras=False):
    """At 1-based step number `step`, `mu_product` being mu_1 * ... * mu_t (this step's
    included, `nadam_mu_product`)."""
    lr, beta1, beta2 = float(lr), float(beta1), float(beta2)
    mu = nadam_momentum(step, beta1, momentum_decay)
    mu_next = nadam_momentum(step + 1, beta1, momentum_decay)
    grad_coef = lr * (1.0 - mu) / (1.0 - mu_product)
    avg_coef = lr * mu_next / (1.0 - mu_product * mu_next)
    l2, decay_scale = _decay(lr, weight_decay, decoupled)
    return (grad_coef, avg_coef, beta1, 1.0 - beta1, beta2, 1.0 - beta2, float(eps),
            1.0 - beta2 ** step, l2, decay_scale, _flag(maximize), _flag(keras))


def nadam(dev, param, grad, exp_avg, exp_avg_sq, **options):
    """One NAdam step of `param`. Options: step, mu_product, lr, beta1, beta2, eps,
    weight_decay, momentum_decay, maximize, decoupled, keras."""
    launch(dev, "nadam", param, grad, (exp_avg, exp_avg_sq), nadam_args(**options))
