"""CUDA kernels of the optimizer updates: one fused grid-stride pass per parameter (grad, state
and param read and written in place), the twins of cpu.py with the same arguments and rules
(`keras`: Keras 3's arithmetic, else torch's; see cpu.py for each formula).

The public functions round the hyperparameters to the parameter's dtype on the host (NumPy
scalars: a float32 parameter is updated in float32 arithmetic, as on the CPU and in torch) and
launch the kernel; options arrive as 0/1 ints, uniform across threads, so their branches never
diverge within a warp.
"""
import math

from numba import cuda

from .._cuda import launch


@cuda.jit(device=True)
def _lerp(start, end, weight, weight_complement):
    # torch's lerp: the form used depends on the weight, for accuracy near both ends
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * weight_complement


@cuda.jit(device=True)
def _prologue(p, g, l2, decay_scale, maximize, has_l2):
    """(decayed parameter, gradient after maximize and L2) of one element."""
    if maximize:
        g = -g
    if has_l2:
        g = g + l2 * p
    return p * decay_scale, g


# ----------------------------------------------------------------------------------- SGD

@cuda.jit
def _sgd(param, grad, buf, lr, momentum, dampening_keep, l2, decay_scale, nesterov, maximize,
         first_step, keras):
    has_l2 = l2 != 0
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, param.size, stride):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        if momentum == 0:
            param[i] = p - lr * g
        elif keras:
            velocity = buf[i] * momentum - g * lr
            buf[i] = velocity
            param[i] = p + ((velocity * momentum - g * lr) if nesterov else velocity)
        else:
            b = g if first_step else buf[i] * momentum + dampening_keep * g
            buf[i] = b
            param[i] = p - lr * ((g + momentum * b) if nesterov else b)


def sgd(param, grad, buf, lr, momentum, dampening_keep, l2, decay_scale, nesterov, maximize,
        first_step, keras):
    """torch: buf = momentum*buf + dampening_keep*g (g on the first step), p -= lr*(g +
    momentum*buf if nesterov else buf); keras: v = momentum*v - lr*g, p += (momentum*v - lr*g
    if nesterov else v); momentum == 0: p -= lr*g."""
    cast = param.dtype.type
    launch(_sgd, param.size, param, grad, buf, cast(lr), cast(momentum), cast(dampening_keep),
           cast(l2), cast(decay_scale), nesterov, maximize, first_step, keras)


# ----------------------------------------------------------------------------------- Adam

@cuda.jit
def _adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, b1, w1, b2, w2, eps,
          bias_correction2_sqrt, l2, decay_scale, amsgrad, maximize, keras):
    has_l2 = l2 != 0
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, param.size, stride):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        m = _lerp(exp_avg[i], g, w1, b1)
        exp_avg[i] = m
        old = exp_avg_sq[i]
        if keras:
            v = old + (g * g - old) * w2
        else:
            v = old * b2 + w2 * g * g
        exp_avg_sq[i] = v
        if amsgrad:
            v = max(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        param[i] = p - step_size * m / (math.sqrt(v) / bias_correction2_sqrt + eps)


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, beta1, beta1_complement,
         beta2, beta2_complement, eps, bias_correction2_sqrt, l2, decay_scale, amsgrad, maximize,
         keras):
    """m = lerp(m, g, 1-beta1); v by each rule; amsgrad keeps max(v);
    p -= step_size * m / (sqrt(v)/bias_correction2_sqrt + eps)."""
    cast = param.dtype.type
    launch(_adam, param.size, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, cast(step_size),
           cast(beta1), cast(beta1_complement), cast(beta2), cast(beta2_complement), cast(eps),
           cast(bias_correction2_sqrt), cast(l2), cast(decay_scale), amsgrad, maximize, keras)


# ----------------------------------------------------------------------------------- RMSprop

@cuda.jit
def _rmsprop(param, grad, square_avg, grad_avg, momentum_buffer, numerator, eps_in, eps_out,
             scale, a_keep, a_new, momentum, l2, decay_scale, centered, maximize, keras):
    has_l2 = l2 != 0
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, param.size, stride):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        old = square_avg[i]
        if keras:
            v = a_keep * old + a_new * (g * g)
        else:
            v = old * a_keep + a_new * g * g
        square_avg[i] = v
        if centered:
            old_mean = grad_avg[i]
            if keras:
                mean = a_keep * old_mean + a_new * g
            else:
                mean = _lerp(old_mean, g, a_new, a_keep)
            grad_avg[i] = mean
            v = v - mean * mean
        step = numerator * g / (math.sqrt(v + eps_in) + eps_out)
        if momentum > 0:
            step = momentum_buffer[i] * momentum + step
            momentum_buffer[i] = step
        param[i] = p - scale * step


def rmsprop(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, alpha_complement, eps,
            momentum, l2, decay_scale, centered, maximize, keras):
    """v = alpha*v + (1-alpha)*g^2 (centered: minus the squared running mean of g);
    s = numerator*g/(sqrt(var + eps_in) + eps_out), torch (1, 0, eps), keras (lr, eps, 0);
    momentum: b = momentum*b + s; p -= scale*(b or s), scale lr (torch) or 1 (keras)."""
    cast = param.dtype.type
    lr, eps = cast(lr), cast(eps)
    one, zero = cast(1), cast(0)
    if keras:
        numerator, eps_in, eps_out, scale = lr, eps, zero, one
    else:
        numerator, eps_in, eps_out, scale = one, zero, eps, lr
    launch(_rmsprop, param.size, param, grad, square_avg, grad_avg, momentum_buffer, numerator,
           eps_in, eps_out, scale, cast(alpha), cast(alpha_complement), cast(momentum), cast(l2),
           cast(decay_scale), centered, maximize, keras)


# ----------------------------------------------------------------------------------- Adagrad

@cuda.jit
def _adagrad(param, grad, state_sum, clr, eps_in, eps_out, l2, decay_scale, maximize):
    has_l2 = l2 != 0
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, param.size, stride):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        s = state_sum[i] + g * g
        state_sum[i] = s
        param[i] = p - clr * g / (math.sqrt(s + eps_in) + eps_out)


def adagrad(param, grad, state_sum, clr, eps, l2, decay_scale, maximize, keras):
    """s += g^2; torch: p -= clr*g/(sqrt(s) + eps); keras: p -= clr*g/sqrt(s + eps)."""
    cast = param.dtype.type
    eps, zero = cast(eps), cast(0)
    eps_in, eps_out = (eps, zero) if keras else (zero, eps)
    launch(_adagrad, param.size, param, grad, state_sum, cast(clr), eps_in, eps_out, cast(l2),
           cast(decay_scale), maximize)


# ----------------------------------------------------------------------------------- Adadelta

@cuda.jit
def _adadelta(param, grad, square_avg, acc_delta, lr, r_keep, r_new, eps, l2, decay_scale,
              maximize, keras):
    has_l2 = l2 != 0
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, param.size, stride):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        u = acc_delta[i]
        if keras:
            v = r_keep * square_avg[i] + r_new * (g * g)
            delta = math.sqrt(u + eps) * g / math.sqrt(v + eps)
            acc_delta[i] = r_keep * u + r_new * (delta * delta)
        else:
            v = square_avg[i] * r_keep + r_new * g * g
            delta = math.sqrt(u + eps) / math.sqrt(v + eps) * g
            acc_delta[i] = u * r_keep + r_new * delta * delta
        square_avg[i] = v
        param[i] = p - lr * delta


def adadelta(param, grad, square_avg, acc_delta, lr, rho, rho_complement, eps, l2, decay_scale,
             maximize, keras):
    """v = rho*v + (1-rho)*g^2; delta = sqrt(u + eps)/sqrt(v + eps)*g; u = rho*u +
    (1-rho)*delta^2; p -= lr*delta."""
    cast = param.dtype.type
    launch(_adadelta, param.size, param, grad, square_avg, acc_delta, cast(lr), cast(rho),
           cast(rho_complement), cast(eps), cast(l2), cast(decay_scale), maximize, keras)


# ----------------------------------------------------------------------------------- NAdam

@cuda.jit
def _nadam(param, grad, exp_avg, exp_avg_sq, grad_coef, avg_coef, b1, w1, b2, w2, eps,
           bias_correction2, l2, decay_scale, maximize, keras):
    has_l2 = l2 != 0
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, param.size, stride):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        old_m = exp_avg[i]
        if keras:
            m = old_m * b1 + g * w1
        else:
            m = _lerp(old_m, g, w1, b1)
        exp_avg[i] = m
        v = exp_avg_sq[i] * b2 + w2 * g * g
        exp_avg_sq[i] = v
        param[i] = p - (grad_coef * g + avg_coef * m) / (math.sqrt(v / bias_correction2) + eps)


def nadam(param, grad, exp_avg, exp_avg_sq, grad_coef, avg_coef, beta1, beta1_complement, beta2,
          beta2_complement, eps, bias_correction2, l2, decay_scale, maximize, keras):
    """Adam with Nesterov momentum (Dozat): m by each rule, v = beta2*v + (1-beta2)*g^2;
    p -= (grad_coef*g + avg_coef*m) / (sqrt(v/bias_correction2) + eps)."""
    cast = param.dtype.type
    launch(_nadam, param.size, param, grad, exp_avg, exp_avg_sq, cast(grad_coef),
           cast(avg_coef), cast(beta1), cast(beta1_complement), cast(beta2),
           cast(beta2_complement), cast(eps), cast(bias_correction2), cast(l2),
           cast(decay_scale), maximize, keras)
