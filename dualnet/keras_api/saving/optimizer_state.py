"""A keras_api optimizer's state as Keras 3 lists its `variables`: iterations, learning rate
(unless it is a schedule), then the slots in Keras's order - so `.weights.h5` optimizer groups
move both ways. The state itself is held by the wrapped `dualnet.optim` optimizer
(rule="keras"), per parameter, under torch's state names; this module maps one onto the other.
"""
import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy, zeros_like

__all__ = ["optimizer_slots"]


def _slot_layout(optimizer):
    """Keras's slot order for this optimizer, or None for an unknown class: a list of tuples of
    dualnet.optim state keys; Keras interleaves the keys of one tuple per variable (m and v of a
    variable side by side) and lays the tuples out one after the other over all variables.
    Slots that the options turn off (no momentum, no amsgrad, not centered) are absent, as in
    Keras."""
    names = {klass.__name__ for klass in type(optimizer).__mro__}
    if "Adam" in names or "AdamW" in names:
        return [("exp_avg", "exp_avg_sq")] + ([("max_exp_avg_sq",)] if optimizer.amsgrad else [])
    if "Nadam" in names:  # + its momentum product, last (`optimizer_slots`)
        return [("exp_avg", "exp_avg_sq")]
    if "SGD" in names:
        return [("momentum_buffer",)] if optimizer.momentum else []
    if "RMSprop" in names:
        return ([("square_avg",)] + ([("momentum_buffer",)] if optimizer.momentum else [])
                + ([("grad_avg",)] if optimizer.centered else []))
    if "Adagrad" in names:
        return [("sum",)]
    if "Adadelta" in names:
        return [("square_avg", "acc_delta")]
    return None


class _Slot:
    """One Keras optimizer variable: its shape, its value as NumPy, and `assign`."""

    def __init__(self, shape, read, write):
        self.shape, self._read, self._write = tuple(shape), read, write

    def numpy(self):
        return self._read()

    def assign(self, array):
        self._write(np.asarray(array))


def _tensor_slot(tensor):
    def write(array):
        with no_grad():
            tensor.copy_(from_numpy(np.ascontiguousarray(array)))
    return _Slot(tensor.shape, lambda: tensor.detach().cpu().numpy(), write)


def _ensure_state(inner, params, layout):
    """Make the per-parameter state a first step would make (zeros), so a file can be loaded
    into an optimizer that is built but has not stepped yet."""
    for group in inner.param_groups:
        for param in group["params"]:
            if not inner.state.get(param):
                inner._init_state(param, group)
    for param in params:
        state = inner.state[param]
        for keys in layout:
            for key in keys:
                if key not in state:
                    state[key] = zeros_like(param)


def optimizer_slots(optimizer, for_loading=False):
    """The optimizer's variables in Keras's order as `_Slot`s; [] while it has not stepped (for
    saving) or is not built (Keras's optimizers make their variables on the first step).
    Optimizers of an unknown class expose their own `variables` list."""
    inner = getattr(optimizer, "_inner", None)
    layout = _slot_layout(optimizer)
    if layout is None:
        return list(getattr(optimizer, "variables", None) or [])
    if inner is None or (optimizer.iterations == 0 and not for_loading):
        return []
    params = [p for group in inner.param_groups for p in group["params"]]
    _ensure_state(inner, params, layout)

    def read_iterations():
        return np.asarray(optimizer.iterations, dtype=np.int32)

    def write_iterations(array):
        count = int(array)
        optimizer.iterations = count
        # The bias corrections read each parameter's own step counter.
        for param in params:
            step = inner.state[param].get("step")
            if step is not None:
                step._data[()] = count

    slots = [_Slot((), read_iterations, write_iterations)]
    if not callable(optimizer._learning_rate):
        def write_learning_rate(array):
            optimizer.learning_rate = float(array)
        slots.append(_Slot((), lambda: np.asarray(optimizer.learning_rate, dtype=np.float32),
                           write_learning_rate))
    for keys in layout:
        for param in params:
            state = inner.state[param]
            slots.extend(_tensor_slot(state[key]) for key in keys)
    if "mu_product" in inner.state[params[0]]:
        slots.append(_mu_product_slot(inner, params))
    return slots


def _mu_product_slot(inner, params):
    """Keras's Nadam keeps one momentum product (its last variable), dualnet.optim.NAdam one per
    parameter (all equal when every parameter steps every time, as under compile/fit)."""
    def write(array):
        for param in params:
            inner.state[param]["mu_product"]._data[()] = float(array)
    return _Slot((), lambda: np.asarray(inner.state[params[0]]["mu_product"]._data,
                                        dtype=np.float32), write)
