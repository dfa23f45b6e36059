"""Plain NumPy references of the optimizer update rules, torch's and Keras's (SPEC's conventions
table), written formula by formula in float64. Each `step` takes the parameter, its gradient and
a state dict (filled on the first call) and returns the new parameter. Nothing here imports
dualnet."""
import numpy as np


def _prologue(p, g, lr, weight_decay, maximize, decoupled):
    """The gradient after `maximize` and L2 decay, and the parameter after decoupled decay."""
    g = -g if maximize else g
    if weight_decay:
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
    return p, g


def sgd(p, g, state, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
        maximize=False, rule="torch"):
    keras = rule == "keras"
    p, g = _prologue(p, g, lr, weight_decay, maximize, keras)
    if momentum == 0:
        return p - lr * g
    if keras:
        v = momentum * state.get("v", np.zeros_like(p)) - lr * g
        state["v"] = v
        return p + (momentum * v - lr * g if nesterov else v)
    buf = g.copy() if "buf" not in state else momentum * state["buf"] + (1 - dampening) * g
    state["buf"] = buf
    return p - lr * (g + momentum * buf if nesterov else buf)


def adam(p, g, state, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False, decoupled=False, rule="torch"):
    keras = rule == "keras"
    b1, b2 = betas
    p, g = _prologue(p, g, lr, weight_decay, maximize, decoupled or keras)
    t = state["t"] = state.get("t", 0) + 1
    m = state["m"] = b1 * state.get("m", np.zeros_like(p)) + (1 - b1) * g
    v = state["v"] = b2 * state.get("v", np.zeros_like(p)) + (1 - b2) * g * g
    if amsgrad:
        v = state["vmax"] = np.maximum(state.get("vmax", np.zeros_like(p)), v)
    if keras:
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return p - lr_t * m / (np.sqrt(v) + eps)
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def rmsprop(p, g, state, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False, rule="torch"):
    keras = rule == "keras"
    p, g = _prologue(p, g, lr, weight_decay, maximize, keras)
    v = state["v"] = alpha * state.get("v", np.zeros_like(p)) + (1 - alpha) * g * g
    if centered:
        mean = state["mean"] = alpha * state.get("mean", np.zeros_like(p)) + (1 - alpha) * g
        v = v - mean * mean
    if keras:
        step = lr * g / np.sqrt(v + eps)
        if momentum > 0:
            step = state["buf"] = momentum * state.get("buf", np.zeros_like(p)) + step
        return p - step
    step = g / (np.sqrt(v) + eps)
    if momentum > 0:
        step = state["buf"] = momentum * state.get("buf", np.zeros_like(p)) + step
    return p - lr * step


def adagrad(p, g, state, *, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, maximize=False, rule="torch"):
    keras = rule == "keras"
    p, g = _prologue(p, g, lr, weight_decay, maximize, keras)
    t = state["t"] = state.get("t", 0) + 1
    clr = lr / (1 + (t - 1) * lr_decay)
    s = state["s"] = state.get("s", np.full_like(p, initial_accumulator_value)) + g * g
    if keras:
        return p - clr * g / np.sqrt(s + eps)
    return p - clr * g / (np.sqrt(s) + eps)


def adadelta(p, g, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False,
             rule="torch"):
    p, g = _prologue(p, g, lr, weight_decay, maximize, rule == "keras")
    v = state["v"] = rho * state.get("v", np.zeros_like(p)) + (1 - rho) * g * g
    u = state.get("u", np.zeros_like(p))
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    state["u"] = rho * u + (1 - rho) * delta * delta
    return p - lr * delta
