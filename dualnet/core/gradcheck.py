"""Finite-difference checks of analytical gradients (float64), as torch.autograd.gradcheck."""
import numpy as np

from . import config
from .autograd import grad as _grad
from .tensor import Tensor


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn, inputs, i, eps):
    """d(outputs)/d(inputs[i]) by central differences, one column per input element."""
    flat = inputs[i]._data.flat  # writes through, even into a non-contiguous input
    columns = []
    # grad mode stays on: gradgradcheck's `fn` itself calls autograd.grad
    for k in range(inputs[i]._data.size):
        original = flat[k]
        flat[k] = original + eps
        plus = [o.detach()._data.astype(np.float64).ravel().copy() for o in _as_tuple(fn(*inputs))]
        flat[k] = original - eps
        minus = [o.detach()._data.astype(np.float64).ravel().copy() for o in _as_tuple(fn(*inputs))]
        flat[k] = original
        columns.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def _analytical_jacobian(outputs, inputs, i):
    rows = []
    for out in outputs:
        if not out.requires_grad:
            rows.extend(np.zeros((out.numel(), inputs[i].numel())))
            continue
        for k in range(out.numel()):
            seed = np.zeros(out._data.size, dtype=out._data.dtype)
            seed[k] = 1
            seed_t = Tensor._make(seed.reshape(out._data.shape), out._device, out._dtype, False, None,
                                  0, None)
            (g,) = _grad(out, inputs[i], seed_t, retain_graph=True, allow_unused=True)
            rows.append(np.zeros(inputs[i].numel()) if g is None else
                        g._data.astype(np.float64).ravel())
    return np.stack(rows) if rows else np.zeros((0, inputs[i].numel()))


def gradcheck(func, inputs, *, eps=config.GRADCHECK_EPS, atol=config.GRADCHECK_ATOL,
              rtol=config.GRADCHECK_RTOL, raise_exception=True, **_ignored):
    """True when func's backward matches central differences for every float64 input needing grad.

    >>> import dualnet as dn
    >>> x = dn.randn(3, dtype=dn.float64, requires_grad=True)
    >>> dn.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check; "
                         "create the inputs with requires_grad=True")
    for i in checked:
        if inputs[i].dtype.name != "float64":
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need "
                             f"float64 inputs to be meaningful")
    outputs = _as_tuple(func(*inputs))
    for i in checked:
        analytical = _analytical_jacobian(outputs, inputs, i)
        numerical = _numerical_jacobian(func, inputs, i, eps)
        if analytical.shape != numerical.shape or not np.allclose(analytical, numerical, rtol=rtol,
                                                                  atol=atol):
            if not raise_exception:
                return False
            worst = np.max(np.abs(analytical - numerical)) if analytical.shape == numerical.shape \
                else "shape mismatch"
            raise RuntimeError(f"gradcheck: Jacobian mismatch for input {i} (largest difference "
                               f"{worst}).\nnumerical:\n{numerical}\nanalytical:\n{analytical}")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, **kwargs):
    """gradcheck of the first derivative: checks second derivatives (create_graph=True)."""
    inputs = _as_tuple(inputs)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]

    def first_derivative(*args):
        outs = _as_tuple(func(*args))
        seeds = grad_outputs or tuple(Tensor._make(np.ones(o._data.shape), o._device, o._dtype,
                                                   False, None, 0, None) for o in outs)
        used = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        grads = _grad(outs, used, seeds, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    del diff
    return gradcheck(first_derivative, inputs, **kwargs)
