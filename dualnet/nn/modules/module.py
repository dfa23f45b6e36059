"""`nn.Module`: the base of every layer and model, with torch's registration, naming, state_dict,
hooks and repr, so code (and weight files) written for torch.nn port unchanged.
"""
import warnings
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ...core import autograd as _autograd
from ...core.autograd import Function, no_grad
from ...core.device import CPU
from ...core.dtypes import to_dtype
from ...core.tensor import Tensor, _parse_to
from ..parameter import Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: the keys the model wanted but did not get, and the extras."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by every `register_*_hook`; `.remove()` unregisters the hook (also as a context)."""

    _next_id = 0

    def __init__(self, hooks_dict, *extra_dicts):
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1
        self._refs = tuple(weakref.ref(d) for d in (hooks_dict, *extra_dicts))

    def remove(self):
        for ref in self._refs:
            hooks = ref()
            if hooks is not None and self.id in hooks:
                del hooks[self.id]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(hooks, hook, prepend, *extra_dicts):
    handle = RemovableHandle(hooks, *extra_dicts)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _addindent(text, spaces):
    """Indent every line of a child's repr but the first (which follows its "(name): " label)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _check_name(kind, name):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got "{name}"')


class Module:
    """Base class of every layer and model: subclass it, create parameters and submodules in
    `__init__` as attributes, and write `forward`.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> class Scale(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = nn.Parameter(dn.ones(2))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> m = Scale()
    >>> [name for name, _ in m.named_parameters()]
    ['w']
    >>> m(dn.tensor([1.0, 2.0]))
    tensor([1., 2.], grad_fn=<MulBackward0>)
    """

    _version = 1  # saved in state_dict metadata so `_load_from_state_dict` can convert old files
    training: bool
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args or ''}{kwargs or ''}: Module.__init__ takes none")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = OrderedDict()
        d["_forward_hooks_always_called"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()

    # ------------------------------------------------------------------ forward and __call__

    def _forward_unimplemented(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function: subclasses of nn.Module define forward()')

    forward = _forward_unimplemented

    def __call__(self, *args, **kwargs):
        # the common case (no hooks) costs four dict truth tests on top of forward itself; one
        # __dict__ fetch, since each attribute read of a class with __getattr__ is slower
        d = self.__dict__
        try:
            hooked = (d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"]
                      or d["_backward_pre_hooks"])
        except KeyError:
            raise AttributeError(f"{type(self).__name__} was called before Module.__init__() "
                                 f"ran: call super().__init__() first in its __init__") from None
        if not hooked:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"forward pre-hook of {self._get_name()} registered "
                                           f"with_kwargs=True must return None or a tuple "
                                           f"(args, kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward_state = None
        if (self._backward_hooks or self._backward_pre_hooks) and _autograd.is_grad_enabled():
            backward_state = _BackwardHookState(self)
            args = backward_state.wrap_inputs(args)
        try:
            output = self.forward(*args, **kwargs)
        except BaseException:
            self._run_always_called_hooks(args, kwargs)
            raise
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        if backward_state is not None:
            output = backward_state.wrap_outputs(output)
        return output

    def _run_always_called_hooks(self, args, kwargs):
        """forward raised: hooks registered with always_call=True still run (output None)."""
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id not in self._forward_hooks_always_called:
                continue
            try:
                if hook_id in self._forward_hooks_with_kwargs:
                    hook(self, args, kwargs, None)
                else:
                    hook(self, args, None)
            except Exception as err:  # the forward's own error is the one to surface
                warnings.warn(f"a forward hook of {self._get_name()} (always_call=True) raised "
                              f"{type(err).__name__}: {err} while forward was failing",
                              stacklevel=3)

    # ------------------------------------------------------------------ attribute registration

    def __getattr__(self, name):
        # only reached when normal lookup fails: real attributes live in __dict__
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _discard(name, d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter '{name}' of "
                                f"{self._get_name()}: expected an nn.Parameter or None")
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign a submodule before Module.__init__() call")
                _discard(name, d, self._parameters, self._buffers,
                         self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign a {type(value).__name__} to submodule "
                                    f"'{name}' of {self._get_name()}: expected an nn.Module or "
                                    f"None")
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign a {type(value).__name__} to buffer "
                                        f"'{name}' of {self._get_name()}: expected a Tensor or "
                                        f"None")
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name):
        d = self.__dict__
        if name in d.get("_parameters", ()):
            del self._parameters[name]
        elif name in d.get("_buffers", ()):
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in d.get("_modules", ()):
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = set(object.__dir__(self))
        keys.update(self._parameters, self._buffers, self._modules)
        return sorted(k for k in keys if not k[:1].isdigit())

    def _check_registrable(self, kind, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot register a {kind} before Module.__init__() call")
        _check_name(kind, name)

    def register_parameter(self, name, param):
        """Add `param` (an nn.Parameter, or None for an absent one) under `name`."""
        self._check_registrable("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists on {self._get_name()}")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot register a {type(param).__name__} as parameter '{name}': "
                            f"expected an nn.Parameter or None")
        if param.grad_fn is not None:
            raise ValueError(f"cannot register parameter '{name}': it is not a leaf (it was "
                             f"computed from other tensors); parameters must be created by the "
                             f"user, e.g. nn.Parameter(t.detach())")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a tensor that is state but not a parameter (running statistics, ...).

        Persistent buffers are saved in `state_dict()`; non-persistent ones only follow `.to()`.
        """
        self._check_registrable("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists on {self._get_name()}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register a {type(tensor).__name__} as buffer '{name}': "
                            f"expected a Tensor or None")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add `module` (or None) as a child under `name`."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_registrable("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists on {self._get_name()}")
        self._modules[name] = module

    def register_module(self, name, module):
        self.add_module(name, module)

    def get_submodule(self, target):
        """The submodule at dotted path `target` ("" is the module itself)."""
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if not isinstance(module, Module) or item not in module._modules:
                raise AttributeError(f"{module._get_name()} has no submodule '{item}' (looking "
                                     f"up '{target}')")
            module = module._modules[item]
            if not isinstance(module, Module):
                raise AttributeError(f"'{item}' is not an nn.Module (looking up '{target}')")
        return module

    def _get_leaf(self, target, kind, table):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in getattr(module, table):
            raise AttributeError(f"{module._get_name()} has no {kind} '{name}'")
        return getattr(module, table)[name]

    def get_parameter(self, target):
        return self._get_leaf(target, "parameter", "_parameters")

    def get_buffer(self, target):
        return self._get_leaf(target, "buffer", "_buffers")

    # ------------------------------------------------------------------ iteration

    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (module_prefix + "." + name if module_prefix else name), value

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + "." + name if prefix else name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    # ------------------------------------------------------------------ modes and conversion

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's `.grad`: to None (default) or to zeros in place."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                if param.grad.grad_fn is not None:
                    param.grad.detach_()
                else:
                    param.grad.requires_grad_(False)
                param.grad.zero_()

    def apply(self, fn):
        """Call `fn` on every submodule (children first) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply(self, fn):
        """Convert every parameter, gradient and buffer with `fn`, keeping Parameter identity."""
        for module in self.children():
            module._apply(fn)
        with no_grad():
            for param in self._parameters.values():
                if param is None:
                    continue
                converted = fn(param)
                if converted is not param:
                    param.data = converted
                if param.grad is not None:
                    converted_grad = fn(param.grad)
                    if converted_grad is not param.grad:
                        param.grad.data = converted_grad
            for name, buf in self._buffers.items():
                if buf is not None:
                    self._buffers[name] = fn(buf)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast parameters and buffers in place: `to(device)`, `to(dtype)`,
        `to(device, dtype)`, `to(tensor)`; only floating point tensors change dtype."""
        dev, dtype, _ = _parse_to(None, args, dict(kwargs))
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"{self._get_name()}.to() only accepts floating point dtypes, got "
                            f"{dtype}")

        def convert(t):
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            return t if dev is None else t.to(dev)

        return self._apply(convert)

    def _cast_floating(self, name):
        dtype = to_dtype(name)
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def cpu(self):
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None):
        return self._apply(lambda t: t.cuda(device))

    def float(self):
        return self._cast_floating("float32")

    def double(self):
        return self._cast_floating("float64")

    def half(self):
        return self._cast_floating("float16")

    def type(self, dst_type):
        dtype = to_dtype(dst_type)
        return self._apply(lambda t: t.to(dtype))

    # ------------------------------------------------------------------ state_dict

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Write this module's own parameters and persistent buffers (no children)."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def get_extra_state(self):
        raise RuntimeError(f"{self._get_name()}.get_extra_state() was called but the module does "
                           f"not define it; override get_extra_state/set_extra_state together")

    def set_extra_state(self, state):
        raise RuntimeError(f"{self._get_name()}.set_extra_state() was called but the module does "
                           f"not define it; override get_extra_state/set_extra_state together")

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer under its dotted name (torch's
        keys); values are detached tensors sharing the module's memory unless keep_vars."""
        if args:  # torch's old positional order: (destination, prefix, keep_vars)
            if len(args) > 3:
                raise TypeError(f"state_dict() takes at most 3 positional arguments, got "
                                f"{len(args)}")
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:
            metadata[prefix[:-1]] = {"version": self._version}
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, {"version": self._version})
            if result is not None:
                destination = result
        return destination

    def register_state_dict_pre_hook(self, hook):
        """hook(module, prefix, keep_vars), called before this module's entries are written."""
        return _add_hook(self._state_dict_pre_hooks, hook, False)

    def register_state_dict_post_hook(self, hook):
        """hook(module, state_dict, prefix, local_metadata), called after they are written."""
        return _add_hook(self._state_dict_hooks, hook, False)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Copy this module's own entries from `state_dict` (keys under `prefix`); record missing
        and unexpected keys and every problem in the lists rather than raising."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        own = {name: p for name, p in self._parameters.items() if p is not None}
        own.update((name, b) for name, b in self._buffers.items()
                   if b is not None and name not in self._non_persistent_buffers_set)
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, current in own.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if isinstance(value, np.ndarray) or isinstance(value, np.generic):
                value = Tensor._make(np.asarray(value), CPU, None, False, None, 0, None)
            if not isinstance(value, Tensor):
                error_msgs.append(f'the entry "{key}" must be a tensor or a NumPy array, got a '
                                  f'{type(value).__name__}')
                continue
            if tuple(value.shape) != tuple(current.shape):
                error_msgs.append(f"size mismatch for {key}: the state_dict holds shape "
                                  f"{list(value.shape)} but the model's is "
                                  f"{list(current.shape)}")
                continue
            try:
                with no_grad():
                    if assign:
                        self._assign_entry(name, current, value)
                    else:
                        current.copy_(value)
            except Exception as err:  # a dtype/device refusal: report it with the others
                error_msgs.append(f'while copying "{key}" (state_dict shape {list(value.shape)}, '
                                  f'model shape {list(current.shape)}): {err}')
        extra_key = prefix + "_extra_state"
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix) or key == extra_key:
                    continue
                head = key[len(prefix):].split(".", 1)[0]
                if "." in key[len(prefix):]:
                    if head not in self._modules:
                        unexpected_keys.append(key)
                elif head not in own:
                    unexpected_keys.append(key)

    def _assign_entry(self, name, current, value):
        if name in self._parameters:
            if isinstance(value, Parameter) and value.requires_grad == current.requires_grad:
                self._parameters[name] = value
            else:
                self._parameters[name] = Parameter(value.detach(), current.requires_grad)
        else:
            self._buffers[name] = value

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy `state_dict`'s tensors (or NumPy arrays) into this module's parameters and
        buffers in place; with strict=True any missing or unexpected key is an error.

        Returns `(missing_keys, unexpected_keys)`; shape mismatches always raise RuntimeError,
        listing every problem at once. A load that raises leaves the module as it was (torch
        would keep the entries copied before the error).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict-like state_dict, got "
                            f"{type(state_dict).__name__}")
        missing_keys, unexpected_keys, error_msgs = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)

        def load(module, local_state, prefix):
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            module._load_from_state_dict(local_state, prefix, local_metadata, True, missing_keys,
                                         unexpected_keys, error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state = {k: v for k, v in local_state.items()
                                   if k.startswith(child_prefix)}
                    load(child, child_state, child_prefix)
            incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, incompatible)

        snapshot = self._load_snapshot()
        try:
            load(self, state_dict, "")
        except BaseException:
            self._restore_snapshot(snapshot)
            raise
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: "
                                  + ", ".join(f'"{k}"' for k in unexpected_keys) + ". ")
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: "
                                  + ", ".join(f'"{k}"' for k in missing_keys) + ". ")
        if error_msgs:
            # unlike torch, a failed load leaves the model as it was: nothing half-loaded
            self._restore_snapshot(snapshot)
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(error_msgs))
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    def _load_snapshot(self):
        """Each module's parameter and buffer tables and a copy of every tensor's values, taken
        before a load so that a failed one can be undone."""
        snapshot = []
        for module in self.modules():
            tensors = [t for t in list(module._parameters.values()) + list(module._buffers.values())
                       if t is not None]
            snapshot.append((module, dict(module._parameters), dict(module._buffers),
                             [(t, t.detach().clone()) for t in tensors]))
        return snapshot

    @staticmethod
    def _restore_snapshot(snapshot):
        with no_grad():
            for module, parameters, buffers, values in snapshot:
                module._parameters.clear()
                module._parameters.update(parameters)
                module._buffers.clear()
                module._buffers.update(buffers)
                for tensor, value in values:
                    tensor.copy_(value)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """hook(state_dict, prefix, local_metadata, strict, missing, unexpected, errors), plus
        the module first when with_module."""
        if not with_module:
            def call(module, *rest, _hook=hook):
                return _hook(*rest)
            return _add_hook(self._load_state_dict_pre_hooks, call, False)
        return _add_hook(self._load_state_dict_pre_hooks, hook, False)

    def register_load_state_dict_post_hook(self, hook):
        """hook(module, incompatible_keys), called after this module's entries are loaded;
        it may edit the key lists in place (e.g. to accept a missing key)."""
        return _add_hook(self._load_state_dict_post_hooks, hook, False)

    # ------------------------------------------------------------------ hooks

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) -> None or new args (with_kwargs: hook(module, args, kwargs) ->
        None or (args, kwargs)), run before forward."""
        handle = _add_hook(self._forward_pre_hooks, hook, prepend,
                           self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """hook(module, args, output) -> None or a replacement output (with_kwargs:
        hook(module, args, kwargs, output)), run after forward."""
        handle = _add_hook(self._forward_hooks, hook, prepend, self._forward_hooks_with_kwargs,
                           self._forward_hooks_always_called)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) -> None or new grad_input, run once the
        gradients w.r.t. the module's tensor inputs are known (grad_input has one entry per
        positional tensor argument, None where that input needs no gradient)."""
        return _add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) -> None or new grad_output, run when the gradients w.r.t.
        the module's outputs are known, before they flow into the module."""
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    # ------------------------------------------------------------------ printing

    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside this module's parentheses in its repr (override in layers)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_addindent(repr(module), 2)}"
                       for name, module in self._modules.items()]
        if not child_lines and len(lines) == 1:
            return f"{self._get_name()}({lines[0]})"
        lines += child_lines
        if not lines:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


def _discard(name, *containers):
    for container in containers:
        if name in container:
            if isinstance(container, set):
                container.discard(name)
            else:
                del container[name]


# ---------------------------------------------------------------------------- full backward hooks


class _BackwardHookState:
    """One hooked call of a module: gradients met at its outputs wait here for its inputs'.

    As in torch, grad_input has one entry per positional argument (None for non-tensors, zeros
    for a tensor that needs no gradient beside one that does) and grad_output one per output
    (None where an output needs no gradient).
    """

    __slots__ = ("module", "n_inputs", "input_positions", "grad_outputs")

    def __init__(self, module):
        self.module = module
        self.n_inputs = 0
        self.input_positions = None  # positions of the wrapped tensors, once wrapped
        self.grad_outputs = None

    def wrap_inputs(self, args):
        self.n_inputs = len(args)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in positions]
        if not self.module._backward_hooks or not any(t.requires_grad for t in tensors):
            return args
        wrapped = _HookIdentity.apply(self, True, *tensors)
        self.input_positions = positions
        args = list(args)
        for i, t in zip(positions, wrapped):
            args[i] = t
        return tuple(args)

    def wrap_outputs(self, output):
        single = not isinstance(output, tuple)
        items = (output,) if single else output
        positions = [i for i, o in enumerate(items) if isinstance(o, Tensor)]
        tensors = [items[i] for i in positions]
        if not any(t.requires_grad for t in tensors):
            return output
        wrapped = _HookIdentity.apply(self, (positions, len(items)), *tensors)
        rebuilt = list(items)
        for i, t in zip(positions, wrapped):
            rebuilt[i] = t
        if single:
            return rebuilt[0]
        if hasattr(items, "_fields"):  # a namedtuple keeps its type
            return type(items)(*rebuilt)
        return tuple(rebuilt)

    def at_outputs(self, grads, positions, n_outputs):
        module = self.module
        packed = [None] * n_outputs
        for i, g in zip(positions, grads):
            packed[i] = g
        packed = tuple(packed)
        for hook in list(module._backward_pre_hooks.values()):
            result = hook(module, packed)
            if result is not None:
                packed = _check_grads(module, "full backward pre-hook", tuple(result), packed)
        self.grad_outputs = packed
        if self.input_positions is None and module._backward_hooks:
            warnings.warn(f"full backward hook of {module._get_name()} runs when the gradients "
                          f"of its outputs are known, since none of its inputs needs a gradient "
                          f"(grad_input is all None)", stacklevel=2)
            self.run_hooks((None,) * self.n_inputs)
        return tuple(packed[i] for i in positions)

    def at_inputs(self, grads):
        packed = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grads):
            packed[i] = g
        packed = self.run_hooks(tuple(packed))
        return tuple(packed[i] for i in self.input_positions)

    def run_hooks(self, grad_input):
        module = self.module
        for hook in list(module._backward_hooks.values()):
            result = hook(module, grad_input, self.grad_outputs)
            if result is not None:
                grad_input = _check_grads(module, "full backward hook", tuple(result), grad_input)
        return grad_input


def _check_grads(module, what, new, old):
    if len(new) != len(old):
        raise RuntimeError(f"{what} of {module._get_name()} returned {len(new)} gradients, "
                           f"expected {len(old)}")
    return new


class _HookIdentity(Function):
    """Identity on a module's tensor inputs (where = True) or outputs (where = (positions,
    count)) whose backward hands the gradients flowing through it to the module's hooks."""

    @staticmethod
    def forward(ctx, state, where, *tensors):
        ctx.state, ctx.where = state, where
        ctx.requires = tuple(t.requires_grad for t in tensors)
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tuple(tensors)

    @staticmethod
    def backward(ctx, *grads):
        if ctx.where is True:
            grads = ctx.state.at_inputs(grads)
        else:
            # an output that needs no gradient gets None, not the engine's zeros
            grads = tuple(g if need else None for g, need in zip(grads, ctx.requires))
            grads = ctx.state.at_outputs(grads, *ctx.where)
        return (None, None, *grads)
