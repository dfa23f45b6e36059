"""Containers of modules and parameters (torch's Sequential, ModuleList, ModuleDict,
ParameterList, ParameterDict): children are registered under their index or key, so names,
state_dict keys and reprs come out as torch's.
"""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from itertools import islice

from ...core.tensor import Tensor
from ..parameter import Parameter
from .module import Module, _addindent

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _absolute_index(container, idx):
    """`idx` (an int, possibly negative) as a position in range for `container`."""
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, got "
                        f"{type(idx).__name__}") from None
    size = len(container)
    if not -size <= idx < size:
        raise IndexError(f"{type(container).__name__} index {idx} is out of range for length "
                         f"{size}")
    return idx + size if idx < 0 else idx


def _check_module(container, what, module):
    if not isinstance(module, Module):
        raise TypeError(f"{type(container).__name__}.{what}: expected an nn.Module, got "
                        f"{type(module).__name__}")


def _renumber(container):
    """Rename children 0..n-1 after a deletion, keeping their order (torch does the same)."""
    container._modules = {str(i): m for i, m in enumerate(container._modules.values())}


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children kept in order, reached by position."""

    def _key_at(self, idx):
        return next(islice(iter(self._modules), _absolute_index(self, idx), None))

    def __setitem__(self, idx, module):
        _check_module(self, "__setitem__", module)
        setattr(self, self._key_at(idx), module)

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            for key in list(self._modules)[idx]:
                delattr(self, key)
        else:
            delattr(self, self._key_at(idx))
        _renumber(self)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, module):
        """Add `module` at the end; returns self."""
        _check_module(self, "append", module)
        self.add_module(str(len(self)), module)
        return self

    def pop(self, key):
        module = self[key]
        del self[key]
        return module


class Sequential(_ModuleSequence):
    """Modules called one after another, each on the previous one's output.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> class Double(nn.Module):
    ...     def forward(self, x):
    ...         return x * 2
    >>> net = nn.Sequential(Double(), Double())
    >>> net(dn.tensor([1.0]))
    tensor([4.])
    >>> len(net), type(net[-1]).__name__
    (2, 'Double')
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key_at(idx)]

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential + {type(other).__name__}: can only add another "
                            f"Sequential")
        result = Sequential()
        for module in (*self, *other):
            result.append(module)
        return result

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential += {type(other).__name__}: can only add another "
                            f"Sequential")
        return self.extend(other)

    def __mul__(self, times):
        if not isinstance(times, int) or isinstance(times, bool) or times <= 0:
            raise ValueError(f"Sequential * {times!r}: the multiplier must be a positive int")
        result = Sequential()
        for _ in range(times):
            for module in self:
                result.append(module)
        return result

    __rmul__ = __mul__

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put `module` before position `index` (torch's list.insert rule, without clamping)."""
        _check_module(self, "insert", module)
        size = len(self._modules)
        index = operator.index(index)
        if not -size <= index <= size:
            raise IndexError(f"Sequential.insert: index {index} is out of range for length "
                             f"{size}")
        if index < 0:
            index += size
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules = {str(i): m for i, m in enumerate(modules)}
        return self

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of submodules, registered (and named) by position; it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_absolute_index(self, idx))]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        if not isinstance(other, ModuleList):
            raise TypeError(f"ModuleList + {type(other).__name__}: can only add another "
                            f"ModuleList")
        result = ModuleList()
        for module in (*self, *other):
            result.append(module)
        return result

    def extend(self, modules):
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend: expected an iterable of modules, got "
                            f"{type(modules).__name__}")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index, module):
        _check_module(self, "insert", module)
        index = operator.index(index)
        modules = list(self._modules.values())
        modules.insert(index, module)  # Python's list.insert rule: out-of-range clamps
        self._modules = {str(i): m for i, m in enumerate(modules)}

    def __repr__(self):
        # runs of identical children print once, as torch does: "(0-2): 3 x Linear(...)"
        reprs = [repr(module) for module in self]
        if not reprs:
            return f"{self._get_name()}()"
        runs = []  # [first index, last index, repr]
        for idx, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = idx
            else:
                runs.append([idx, idx, text])
        lines = []
        for first, last, text in runs:
            label = f"({first}): " if first == last else f"({first}-{last}): {last - first + 1} x "
            lines.append(_addindent(label + text, 2))
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


def _pairs(op, what, items):
    """The (key, value) pairs of an iterable, each checked: torch's update() error classes."""
    if not isinstance(items, Iterable):
        raise TypeError(f"{op}: expected a mapping or an iterable of (key, {what}) pairs, got "
                        f"{type(items).__name__}")
    for i, pair in enumerate(items):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{op}: element #{i} is a {type(pair).__name__}, not a (key, {what}) "
                            f"pair")
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"{op}: element #{i} has length {len(pair)}; a (key, {what}) pair "
                             f"has 2")
        yield pair


class ModuleDict(Module):
    """An ordered dict of submodules, registered under their keys; it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add the modules of a mapping (in its order) or of an iterable of (key, module)."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for key, module in _pairs("ModuleDict.update", "module", modules):
            self[key] = module


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _describe_entry(key, value, style):
    if not isinstance(value, Tensor):
        return f"  ({key}): Object of type: {type(value).__name__}"
    size = "x".join(str(s) for s in value.shape)
    device = "" if value.device.type == "cpu" else f" ({value.device})"
    kind = "Parameter containing" if isinstance(value, Parameter) else "Tensor"
    if style == "dtype":
        type_name = f"dualnet.{value.dtype.name}"
    else:
        type_name = f"dualnet.{_TYPE_NAMES.get(value.dtype.name, value.dtype.name)}"
    return f"  ({key}): {kind}: [{type_name} of size {size}{device}]"


def _as_parameter(value):
    # a plain tensor put in a parameter container becomes a parameter, as in torch
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    """A list of parameters, registered by position (plain tensors are wrapped in Parameter)."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_absolute_index(self, idx)))

    def __setitem__(self, idx, param):
        setattr(self, str(_absolute_index(self, idx)), _as_parameter(param))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(self._size))

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, value):
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend: expected an iterable of parameters, got "
                            f"{type(values).__name__}")
        for value in list(values):
            self.append(value)
        return self

    def extra_repr(self):
        return "\n".join(_describe_entry(i, value, "dtype") for i, value in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called: it has no forward")


class ParameterDict(Module):
    """An ordered dict of parameters, registered under their keys (plain tensors are wrapped)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def __contains__(self, key):
        return key in self._keys

    def copy(self):
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for key in list(self._keys):
            del self[key]

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = list(self._keys)[-1]
        return key, self.pop(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None):
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def values(self):
        return (self[k] for k in self._keys)

    def update(self, values):
        """Add the entries of an OrderedDict/ParameterDict (in order), of another mapping (in
        sorted key order, as torch does for plain dicts) or of an iterable of (key, value)."""
        if isinstance(values, (OrderedDict, ParameterDict)):
            for key, value in values.items():
                self[key] = value
            return
        if isinstance(values, Mapping):
            for key, value in sorted(values.items()):
                self[key] = value
            return
        for key, value in _pairs("ParameterDict.update", "parameter", values):
            self[key] = value

    def __or__(self, other):
        result = self.copy()
        result.update(other)
        return result

    def __ror__(self, other):
        result = ParameterDict(other)
        result.update(self)
        return result

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self):
        return "\n".join(_describe_entry(k, self[k], "type") for k in self._keys)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called: it has no forward")
