"""The `Optimizer` base class (torch's API): parameter groups, per-parameter state, `step`,
`zero_grad` and `state_dict` in torch's format; subclasses only make state and update one
parameter with a fused kernel (`dualnet.core.ops.optim`)."""
import copy
import warnings
from collections import defaultdict

import numpy as np

from ..core.autograd import enable_grad, no_grad
from ..core.creation import tensor
from ..core.dtypes import float32
from ..core.tensor import Tensor

RULES = ("torch", "keras")
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# per-parameter 0-d counters kept as float32 CPU tensors whatever the parameter's dtype
_SCALAR_STATES = ("step", "mu_product")


def check_rule(optimizer, rule):
    """`rule` validated: "torch" or "keras" (the arithmetic of SPEC's conventions table)."""
    if rule not in RULES:
        raise ValueError(f"{optimizer}: rule must be 'torch' or 'keras', got {rule!r}")
    return rule


def check_at_least(optimizer, name, value, low=0.0):
    if not value >= low:  # also rejects NaN
        raise ValueError(f"{optimizer}: {name} must be >= {low}, got {value}")


def check_unit_interval(optimizer, name, value, closed=False):
    """0 <= value < 1 (or <= 1 when `closed`)."""
    if not (0.0 <= value < 1.0 or closed and value == 1.0):
        bound = "]" if closed else ")"
        raise ValueError(f"{optimizer}: {name} must be in [0, 1{bound}, got {value}")


def check_betas(optimizer, betas):
    """Adam-family betas: a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{optimizer}: betas must be a pair (beta1, beta2), got {betas!r}")
    check_unit_interval(optimizer, "betas[0]", betas[0])
    check_unit_interval(optimizer, "betas[1]", betas[1])


def check_unsupported(optimizer, differentiable=False, capturable=False):
    """torch's `differentiable` (autograd through step) and `capturable` (CUDA graphs) options
    have no counterpart here: turning them on is an error rather than silently ignored."""
    for name, value in (("differentiable", differentiable), ("capturable", capturable)):
        if value:
            raise ValueError(f"{optimizer}: {name}=True is not supported by dualnet")


def new_step():
    """A step counter as torch keeps it: a 0-d float32 CPU tensor."""
    return tensor(0.0, dtype=float32)


def advance(state):
    """Increment the state's step counter in place and return the new count as a float."""
    counter = state["step"]._data
    step = float(counter) + 1.0
    counter[()] = step  # float32: rounds as `counter += 1` does
    return float(counter)


class Optimizer:
    """Base class: holds `param_groups` (dicts of 'params' plus every option, defaults filled in)
    and `state` (a dict per parameter, keyed by the parameter).

    A subclass calls `super().__init__(params, defaults)` and defines `_init_state(param, group)`
    (return the parameter's state dict, creating what the options need) and `_prepare(group)`,
    called once per group and step: it reads and converts the group's options and returns
    `update(param, grad, state)`, one fused in-place update of a parameter (`grad` an array).
    Doing the per-group work once keeps a small parameter's update to a few microseconds.
    `foreach` and `fused` options are accepted for torch compatibility: every update is one
    fused kernel per parameter whatever they say.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts (parameter "
                            f"groups), got a single Tensor; wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be given in a fixed order (a list or "
                            f"tuple), got a set, whose order changes between runs")
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got "
                            f"{type(params).__name__}") from None
        if not groups:
            raise ValueError(f"{name}: the parameter list is empty; an optimizer needs at least "
                             f"one parameter to update")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # ------------------------------------------------------------------ groups

    def add_param_group(self, param_group):
        """Add a dict with 'params' (and any per-group options; the rest come from defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be given in a fixed order (a list or "
                            f"tuple), got a set, whose order changes between runs")
        else:
            params = list(params)
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {index} of the "
                                f"group is a {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {index} "
                                 f"of the group was computed by an op); pass a leaf tensor, "
                                 f"e.g. x.detach().requires_grad_()")
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(f"{name}: a parameter group holds the same tensor more than once; it "
                          f"will be updated once per occurrence", stacklevel=2)
        seen = {id(p) for other in self.param_groups for p in other["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters already belong to another parameter "
                             f"group; a parameter can be in one group only")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient: set it to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad = grad.detach()
                        param.grad = grad
                    grad._data[...] = 0
                    grad._bump_version()

    def step(self, closure=None):
        """Update every parameter that has a gradient; `closure` (re-evaluates the model and
        returns the loss) runs first, with grad enabled, and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        states = self.state
        with no_grad():
            for group in self.param_groups:
                update = None
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if param._data.dtype not in _KERNEL_DTYPES:
                        raise TypeError(f"{type(self).__name__}: parameters must be float32 or "
                                        f"float64, got {param.dtype}")
                    state = states.get(param)
                    if not state:
                        state = self._init_state(param, group)
                    if update is None:
                        update = self._prepare(group)
                    update(param, grad._data, state)
                    param._bump_version()
        return loss

    def _init_state(self, param, group):
        raise NotImplementedError(f"{type(self).__name__} must define _init_state")

    def _prepare(self, group):
        raise NotImplementedError(f"{type(self).__name__} must define _prepare")

    # ------------------------------------------------------------------ state_dict

    def state_dict(self):
        """{'state': {index: {name: value}}, 'param_groups': [{options..., 'params': [index]}]},
        parameters numbered across groups in order (torch's format). The state tensors are the
        optimizer's own (not copies), as in torch."""
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(k)] if isinstance(k, Tensor) else k: v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take state and group options from `state_dict` (as `state_dict()` returns it, or as
        torch writes it), matched to this optimizer's parameters by position. State tensors are
        copied, cast to each parameter's dtype and device (step counters stay float32)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups', got {type(state_dict).__name__}")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, this optimizer {len(self.param_groups)}")
        for index, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {index} has "
                                 f"{len(saved['params'])} parameters in the state dict, "
                                 f"{len(group['params'])} in this optimizer")
        param_of = {}
        for group, saved in zip(self.param_groups, saved_groups):
            param_of.update(zip(saved["params"], group["params"]))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = param_of.get(key)
            if param is None:
                state[key] = copy.deepcopy(value)
            else:
                state[param] = {k: _copy_state_value(param, k, v) for k, v in value.items()}
        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            for key, default in self.defaults.items():
                saved.setdefault(key, default)
            groups.append(saved)
        self.state = state
        self.param_groups = groups


def _copy_state_value(param, key, value):
    """A copy of one saved state value fit for `param`: tensors (dualnet's, or anything that
    converts to a NumPy array, such as torch's) cast to its dtype and device."""
    if key in _SCALAR_STATES:
        if isinstance(value, Tensor):
            value = value.detach().cpu().numpy()
        return tensor(float(np.asarray(value)), dtype=float32)
    if isinstance(value, dict):
        return {k: _copy_state_value(param, k, v) for k, v in value.items()}
    if isinstance(value, Tensor):
        array = value.detach().cpu().numpy()
    elif hasattr(value, "__array__") and not np.isscalar(value):
        array = np.asarray(value)
    else:
        return copy.deepcopy(value)
    copied = tensor(np.array(array, order="C"), device=param.device)
    if param.is_floating_point() and copied.is_floating_point():
        copied = copied.to(dtype=param.dtype)
    if tuple(copied.shape) != tuple(param.shape):
        raise ValueError(f"load_state_dict: state '{key}' has shape {tuple(copied.shape)}, its "
                         f"parameter {tuple(param.shape)}")
    return copied
