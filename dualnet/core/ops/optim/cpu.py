"""CPU kernels of the optimizer updates: one fused pass per parameter (grad, state and param read
and written in place), each taking the update rule (`keras`: Keras 3's arithmetic, else torch's).

Arguments are contiguous 1-D arrays of one dtype, then the hyperparameters as Python floats
(complements such as 1 - beta1 included, taken in float64 by the caller) and the options as
0/1 ints. Each kernel first rounds the floats to the parameter's dtype (`param.dtype.type(x)`, as
NumPy's cast does), so float32 parameters are updated in float32 arithmetic, as torch's kernels
do: a float64 scalar inside the loop would promote every element to float64. (Python floats
also cost the dispatcher the least to type.) Every kernel first applies the shared prologue to
each element: `maximize` negates the gradient, `l2` adds l2 * param to it (torch's coupled decay)
and the parameter is multiplied by `decay_scale` (AdamW's and Keras's decoupled decay,
1 - lr * weight_decay; exactly 1 otherwise).

Speed: every element loop must vectorise (LLVM's <8 x float> on AVX2). So
- `error_model="numpy"`: with Python's model each division checks its divisor for zero and may
  raise, a branch that stops LLVM from vectorising (results are IEEE either way);
- options that pick which arrays a loop reads and writes (amsgrad's max, RMSprop's centered mean
  and momentum buffer, SGD's buffer) select separate loops outside the element loop; the loops
  are `inline="always"` helpers called with literal flags, so each copy is specialised (the
  small per-element helpers are plain calls: LLVM inlines them, and Numba inlining them into
  every copy cost ~20% more compile time);
- options that only change cheap arithmetic (maximize, L2, the rules' forms of a moving
  average) are loop-invariant selects, both sides computed: LLVM vectorises selects;
- where the two rules place eps differently around a square root, one form with two constants
  serves both exactly: a * g / (sqrt(v + eps_in) + eps_out), torch passing (1, 0, eps) and
  Keras (lr, eps, 0) (x * 1, x + 0 and x / 1 are exact), so no element computes two square
  roots or divisions.
No fastmath: it would change NaN/inf handling and the rounding the parity tests pin.
The kernels are serial. A `prange` twin (`_kernels.two_builds`) measured slower on the 2-core
machine under the workqueue threading layer dualnet selects (Adam over 2e5 float32: 135 us
serial, 214 us parallel; SGD momentum 76 vs 153 us) and took 2-3x the compile time; only
OpenMP's layer gained (125 -> 66 us, idle machine), and that layer fights OpenBLAS.
"""
import math

import numba

_JIT = dict(cache=True, error_model="numpy")


@numba.njit(cache=True)
def _lerp(start, end, weight, weight_complement):
    # torch's lerp: the form used depends on the weight, for accuracy near both ends (a select,
    # both computed, so the loop still vectorises)
    low = start + weight * (end - start)
    high = end - (end - start) * weight_complement
    return low if abs(weight) < 0.5 else high


@numba.njit(cache=True)
def _prologue(p, g, l2, decay_scale, maximize, has_l2):
    """(decayed parameter, gradient after maximize and L2) of one element."""
    g = -g if maximize else g
    g = g + l2 * p if has_l2 else g
    return p * decay_scale, g


# ----------------------------------------------------------------------------------- SGD

@numba.njit(**_JIT)
def sgd(param, grad, buf, lr, momentum, dampening_keep, l2, decay_scale, nesterov, maximize,
        first_step, keras):
    """torch: buf = momentum*buf + dampening_keep*g (buf = g on the first step), with
    dampening_keep = 1 - dampening; p -= lr*(g + momentum*buf if nesterov else buf).
    keras: v = momentum*v - lr*g; p += (momentum*v - lr*g if nesterov else v).
    momentum == 0: p -= lr*g (`buf` is not touched)."""
    cast = param.dtype.type
    lr, momentum, dampening_keep = cast(lr), cast(momentum), cast(dampening_keep)
    l2, decay_scale = cast(l2), cast(decay_scale)
    has_l2 = l2 != 0
    if momentum == 0:
        for i in range(param.size):
            p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
            param[i] = p - lr * g
    elif keras:
        for i in range(param.size):
            p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
            velocity = buf[i] * momentum - g * lr
            buf[i] = velocity
            param[i] = p + ((velocity * momentum - g * lr) if nesterov else velocity)
    else:
        for i in range(param.size):
            p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
            b = g if first_step else buf[i] * momentum + dampening_keep * g
            buf[i] = b
            param[i] = p - lr * ((g + momentum * b) if nesterov else b)


# ----------------------------------------------------------------------------------- Adam

@numba.njit(cache=True, inline="always")
def _adam_loop(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, b1, w1, b2, w2,
               eps, bias_correction2_sqrt, l2, decay_scale, maximize, has_l2, keras, amsgrad):
    for i in range(param.size):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        m = _lerp(exp_avg[i], g, w1, b1)
        exp_avg[i] = m
        old = exp_avg_sq[i]
        keras_form = old + (g * g - old) * w2
        torch_form = old * b2 + w2 * g * g
        v = keras_form if keras else torch_form
        exp_avg_sq[i] = v
        if amsgrad:
            v = max(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        param[i] = p - step_size * m / (math.sqrt(v) / bias_correction2_sqrt + eps)


@numba.njit(**_JIT)
def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, beta1, beta1_complement,
         beta2, beta2_complement, eps, bias_correction2_sqrt, l2, decay_scale, amsgrad, maximize,
         keras):
    """m = lerp(m, g, 1-beta1); torch v = beta2*v + (1-beta2)*g^2, keras v += (g^2-v)*(1-beta2);
    amsgrad: vmax = max(vmax, v), used as v below;
    p -= step_size * m / (sqrt(v)/bias_correction2_sqrt + eps): torch passes
    step_size = lr/(1-beta1^t) and bias_correction2_sqrt = sqrt(1-beta2^t), keras
    step_size = lr*sqrt(1-beta2^t)/(1-beta1^t) and 1 (x / 1 is exact, so one line serves both)."""
    cast = param.dtype.type
    step_size, eps, bc2 = cast(step_size), cast(eps), cast(bias_correction2_sqrt)
    b1, w1, b2, w2 = cast(beta1), cast(beta1_complement), cast(beta2), cast(beta2_complement)
    l2, decay_scale = cast(l2), cast(decay_scale)
    has_l2 = l2 != 0
    if amsgrad:
        _adam_loop(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, b1, w1, b2, w2,
                   eps, bc2, l2, decay_scale, maximize, has_l2, keras, True)
    else:
        _adam_loop(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, b1, w1, b2, w2,
                   eps, bc2, l2, decay_scale, maximize, has_l2, keras, False)


# ----------------------------------------------------------------------------------- RMSprop

@numba.njit(cache=True, inline="always")
def _rmsprop_loop(param, grad, square_avg, grad_avg, momentum_buffer, numerator, eps_in, eps_out,
                  scale, a_keep, a_new, momentum, l2, decay_scale, maximize, has_l2, keras,
                  centered, use_momentum):
    for i in range(param.size):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        old = square_avg[i]
        keras_form = a_keep * old + a_new * (g * g)
        torch_form = old * a_keep + a_new * g * g
        v = keras_form if keras else torch_form
        square_avg[i] = v
        if centered:
            old_mean = grad_avg[i]
            keras_mean = a_keep * old_mean + a_new * g
            mean = keras_mean if keras else _lerp(old_mean, g, a_new, a_keep)
            grad_avg[i] = mean
            v = v - mean * mean
        step = numerator * g / (math.sqrt(v + eps_in) + eps_out)
        if use_momentum:
            step = momentum_buffer[i] * momentum + step
            momentum_buffer[i] = step
        param[i] = p - scale * step


@numba.njit(**_JIT)
def rmsprop(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, alpha_complement, eps,
            momentum, l2, decay_scale, centered, maximize, keras):
    """v = alpha*v + (1-alpha)*g^2; centered: a = lerp(a, g, 1-alpha), variance v - a^2.
    torch: d = sqrt(var) + eps; momentum: b = momentum*b + g/d, p -= lr*b; else p -= lr*g/d.
    keras: s = lr*g/sqrt(var + eps); momentum: b = momentum*b + s, p -= b; else p -= s.
    Both as s = numerator*g/(sqrt(var + eps_in) + eps_out), p -= scale*(b or s)."""
    cast = param.dtype.type
    lr, eps, momentum = cast(lr), cast(eps), cast(momentum)
    a_keep, a_new = cast(alpha), cast(alpha_complement)
    l2, decay_scale = cast(l2), cast(decay_scale)
    has_l2 = l2 != 0
    one, zero = cast(1), cast(0)
    if keras:
        numerator, eps_in, eps_out, scale = lr, eps, zero, one
    else:
        numerator, eps_in, eps_out, scale = one, zero, eps, lr
    if momentum > 0:
        if centered:
            _rmsprop_loop(param, grad, square_avg, grad_avg, momentum_buffer, numerator, eps_in,
                          eps_out, scale, a_keep, a_new, momentum, l2, decay_scale, maximize,
                          has_l2, keras, True, True)
        else:
            _rmsprop_loop(param, grad, square_avg, grad_avg, momentum_buffer, numerator, eps_in,
                          eps_out, scale, a_keep, a_new, momentum, l2, decay_scale, maximize,
                          has_l2, keras, False, True)
    elif centered:
        _rmsprop_loop(param, grad, square_avg, grad_avg, momentum_buffer, numerator, eps_in,
                      eps_out, scale, a_keep, a_new, momentum, l2, decay_scale, maximize,
                      has_l2, keras, True, False)
    else:
        _rmsprop_loop(param, grad, square_avg, grad_avg, momentum_buffer, numerator, eps_in,
                      eps_out, scale, a_keep, a_new, momentum, l2, decay_scale, maximize,
                      has_l2, keras, False, False)


# ----------------------------------------------------------------------------------- Adagrad

@numba.njit(**_JIT)
def adagrad(param, grad, state_sum, clr, eps, l2, decay_scale, maximize, keras):
    """s += g^2; torch: p -= clr*g/(sqrt(s) + eps); keras: p -= clr*g/sqrt(s + eps);
    clr = lr / (1 + (t-1)*lr_decay). Both as clr*g/(sqrt(s + eps_in) + eps_out)."""
    cast = param.dtype.type
    clr, eps, l2, decay_scale = cast(clr), cast(eps), cast(l2), cast(decay_scale)
    has_l2 = l2 != 0
    zero = cast(0)
    eps_in, eps_out = (eps, zero) if keras else (zero, eps)
    for i in range(param.size):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        s = state_sum[i] + g * g
        state_sum[i] = s
        param[i] = p - clr * g / (math.sqrt(s + eps_in) + eps_out)


# ----------------------------------------------------------------------------------- Adadelta

@numba.njit(cache=True, inline="always")
def _adadelta_loop(param, grad, square_avg, acc_delta, lr, r_keep, r_new, eps, l2, decay_scale,
                   maximize, has_l2, keras):
    for i in range(param.size):
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


@numba.njit(**_JIT)
def adadelta(param, grad, square_avg, acc_delta, lr, rho, rho_complement, eps, l2, decay_scale,
             maximize, keras):
    """v = rho*v + (1-rho)*g^2; delta = sqrt(u + eps)/sqrt(v + eps)*g (keras multiplies by g
    before dividing); u = rho*u + (1-rho)*delta^2; p -= lr*delta."""
    cast = param.dtype.type
    lr, eps, l2, decay_scale = cast(lr), cast(eps), cast(l2), cast(decay_scale)
    r_keep, r_new = cast(rho), cast(rho_complement)
    has_l2 = l2 != 0
    if keras:
        _adadelta_loop(param, grad, square_avg, acc_delta, lr, r_keep, r_new, eps, l2,
                       decay_scale, maximize, has_l2, True)
    else:
        _adadelta_loop(param, grad, square_avg, acc_delta, lr, r_keep, r_new, eps, l2,
                       decay_scale, maximize, has_l2, False)


# ----------------------------------------------------------------------------------- NAdam

@numba.njit(**_JIT)
def nadam(param, grad, exp_avg, exp_avg_sq, grad_coef, avg_coef, beta1, beta1_complement, beta2,
          beta2_complement, eps, bias_correction2, l2, decay_scale, maximize, keras):
    """Adam with Nesterov momentum (Dozat): torch m = lerp(m, g, 1-beta1), keras
    m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g^2;
    p -= (grad_coef*g + avg_coef*m) / (sqrt(v/bias_correction2) + eps), the caller passing
    grad_coef = lr*(1-mu_t)/(1-prod(mu_1..mu_t)), avg_coef = lr*mu_{t+1}/(1-prod(mu_1..mu_t+1))
    and bias_correction2 = 1-beta2^t (both rules)."""
    cast = param.dtype.type
    grad_coef, avg_coef, eps, bc2 = cast(grad_coef), cast(avg_coef), cast(eps), \
        cast(bias_correction2)
    b1, w1, b2, w2 = cast(beta1), cast(beta1_complement), cast(beta2), cast(beta2_complement)
    l2, decay_scale = cast(l2), cast(decay_scale)
    has_l2 = l2 != 0
    for i in range(param.size):
        p, g = _prologue(param[i], grad[i], l2, decay_scale, maximize, has_l2)
        old_m = exp_avg[i]
        keras_m = old_m * b1 + g * w1
        m = keras_m if keras else _lerp(old_m, g, w1, b1)
        exp_avg[i] = m
        v = exp_avg_sq[i] * b2 + w2 * g * g
        exp_avg_sq[i] = v
        param[i] = p - (grad_coef * g + avg_coef * m) / (math.sqrt(v / bc2) + eps)
