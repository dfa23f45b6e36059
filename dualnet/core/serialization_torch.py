"""The files `torch.save` writes (PyTorch >= 1.6's ZIP format), read with no torch installed
(`serialization_torch_write` writes them).

The archive holds `<name>/data.pkl`, a pickle of the saved object whose tensors point at raw
storages `<name>/data/<key>`, plus small records (`version`, `byteorder`...).

Reading is done the way `torch.load(weights_only=True)` does it, by a pickle interpreter of our
own rather than Python's `pickle.Unpickler`: it knows only the opcodes that build numbers,
strings, tuples, lists, dicts and sets, resolves only the globals a state_dict or an optimizer's
state uses (`collections.OrderedDict`, torch's tensor and parameter rebuilders, its storage
types), calls nothing else and sets attributes only on an OrderedDict (a state_dict's
`_metadata`). Anything else raises `UnsafePickleError`, so loading a file never runs code from
it, nor changes anything outside the objects it returns.
"""
import collections
import pickle
import pickletools
import zipfile

import numpy as np

from .device import CPU
from .tensor import Tensor


class UnsafePickleError(pickle.UnpicklingError, RuntimeError):
    """A torch file whose pickle asks for more than tensor records. It is a
    `pickle.UnpicklingError`, as torch.load(weights_only=True) raises, and a RuntimeError, as
    dn.load raises for every other unreadable file."""


def load_torch_archive(reader, prefix):
    """The object in a torch.save archive; `reader` is serialization's reader of the archive
    (its ZIP file, name for messages and device mapping), `prefix` the '<name>/' of data.pkl."""
    return _TorchUnpickler(reader, prefix).load_root()


# torch's storage classes (as its pickles name them) and the dtype of their raw bytes
_TORCH_STORAGES = {"FloatStorage": "float32", "DoubleStorage": "float64",
                   "HalfStorage": "float16", "LongStorage": "int64", "IntStorage": "int32",
                   "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
                   "BoolStorage": "bool"}


class _StorageType:
    def __init__(self, torch_name):
        self.torch_name = torch_name


# ------------------------------------------------------------------------------------- reading

# opcodes that push their decoded argument (pickletools.genops gives it)
_PUSH_ARG = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
             "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "BINBYTES",
             "SHORT_BINBYTES", "BINBYTES8"}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}
_IGNORED = {"PROTO", "FRAME"}


class _TorchUnpickler:
    """data.pkl of a torch.save archive, building only tensor records (weights_only=True)."""

    def __init__(self, reader, prefix):
        self.reader, self.prefix = reader, prefix
        self._storages = {}
        byteorder = prefix + "byteorder"
        names = set(reader.archive.namelist())
        self._big_endian = byteorder in names and reader.archive.read(byteorder).strip() == b"big"
        self._callables = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
            ("_codecs", "encode"): _codecs_encode,  # how protocol 2 pickles bytes
        }
        for builtins in ("builtins", "__builtin__"):  # protocol 2 spells it the Python 2 way
            self._callables.update({(builtins, "set"): set, (builtins, "bytearray"): bytearray,
                                    (builtins, "complex"): complex})

    def load_root(self):
        try:
            data = self.reader.archive.read(self.prefix + "data.pkl")
            return self._run(data)
        except pickle.UnpicklingError as err:
            raise UnsafePickleError(f"load: {self.reader.name}: {err}") from None
        except (EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
                zipfile.BadZipFile, OSError) as err:
            raise self.reader.corrupt(f"its data.pkl can't be read as a torch.save state "
                                      f"({type(err).__name__}: {err})") from None

    def _run(self, data):
        """Interpret the pickle `data`, opcode by opcode, allowing only what builds weights."""
        stack, marks, memo = [], [], {}

        def pop_mark():
            nonlocal stack
            items, stack = stack, marks.pop()
            return items

        def pop_items(count):
            if len(stack) < count:
                raise IndexError(f"{name} needs {count} items, the stack holds {len(stack)}")
            items = stack[-count:]
            del stack[-count:]
            return items

        for opcode, arg, pos in pickletools.genops(data):
            name = opcode.name
            if name in _PUSH_ARG:
                stack.append(arg)
            elif name in _CONSTANTS:
                stack.append(_CONSTANTS[name])
            elif name == "MARK":
                marks.append(stack)
                stack = []
            elif name == "STOP":
                return stack.pop()
            elif name in _IGNORED:
                continue
            elif name in _MEMO_PUT:
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in _MEMO_GET:
                stack.append(memo[arg])
            elif name == "POP":
                stack.pop()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name == "BYTEARRAY8":
                stack.append(bytearray(arg))
            elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "EMPTY_TUPLE"):
                stack.append({"EMPTY_LIST": list, "EMPTY_DICT": dict, "EMPTY_SET": set,
                              "EMPTY_TUPLE": tuple}[name]())
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                stack.append(tuple(pop_items(int(name[-1]))))
            elif name in ("TUPLE", "LIST", "FROZENSET"):
                items = pop_mark()
                stack.append({"TUPLE": tuple, "LIST": list, "FROZENSET": frozenset}[name](items))
            elif name == "DICT":
                items = pop_mark()
                stack.append(dict(_pairs(items)))
            elif name in ("APPEND", "SETITEM"):
                items = pop_items(1 if name == "APPEND" else 2)
                self._extend(name, stack[-1], items)
            elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
                items = pop_mark()
                self._extend(name, stack[-1], items)
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    module, _, attr = arg.partition(" ")
                else:
                    attr, module = stack.pop(), stack.pop()
                stack.append(self.find_class(module, attr))
            elif name == "REDUCE":
                args = stack.pop()
                func = stack.pop()
                if not any(func is allowed for allowed in self._callables.values()) \
                        or not isinstance(args, tuple):
                    raise pickle.UnpicklingError(f"it calls {func!r:.60}, which is not a tensor "
                                                 f"record")
                stack.append(func(*args))
            elif name == "BUILD":
                state = stack.pop()
                self._build(stack[-1], state)
            elif name == "BINPERSID":
                stack.append(self.persistent_load(stack.pop()))
            else:  # INST, OBJ, NEWOBJ, EXT*, PERSID, STRING, buffers: never in a weights file
                raise pickle.UnpicklingError(f"its pickle uses the opcode {name} (at byte {pos}), "
                                             f"which builds arbitrary objects; dualnet reads only "
                                             f"weights, as torch.load(weights_only=True) does")
        raise EOFError("the pickle ends without a STOP opcode")

    @staticmethod
    def _extend(name, target, items):
        if name in ("APPEND", "APPENDS") and type(target) is list:
            target.extend(items)
        elif name in ("SETITEM", "SETITEMS") and type(target) in (dict, collections.OrderedDict):
            for key, value in _pairs(items):
                target[key] = value
        elif name == "ADDITEMS" and type(target) is set:
            target.update(items)
        else:
            raise pickle.UnpicklingError(f"its {name} opcode targets a {type(target).__name__}")

    @staticmethod
    def _build(target, state):
        # torch's state_dicts carry `_metadata` as the OrderedDict's instance attribute
        if type(target) is not collections.OrderedDict or not isinstance(state, dict) \
                or not all(isinstance(key, str) for key in state):
            raise pickle.UnpicklingError(f"it sets the state of a {type(target).__name__}; only "
                                         f"an OrderedDict's attributes may be set")
        target.__dict__.update(state)

    def find_class(self, module, name):
        found = self._callables.get((module, name))
        if found is not None:
            return found
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(name)
        if module == "torch" and name.endswith("Storage"):
            raise pickle.UnpicklingError(f"it holds a torch {name[:-len('Storage')]} tensor, a "
                                         f"dtype dualnet does not have")
        raise pickle.UnpicklingError(f"it needs {module}.{name}, which is not a tensor record; "
                                     f"dualnet reads only weights (tensors in dicts, lists and "
                                     f"tuples of numbers and strings), as torch.load("
                                     f"weights_only=True) does")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[3], str)
                and type(pid[4]) is int and pid[4] >= 0):
            raise pickle.UnpicklingError(f"unexpected persistent record {pid!r:.80}")
        _, kind, key, location, numel = pid
        dtype = np.dtype(_TORCH_STORAGES[kind.torch_name])
        storage = self._storages.get(key)
        if storage is None:
            entry = f"{self.prefix}data/{key}"
            try:
                raw = self.reader.archive.read(entry)
            except KeyError:
                raise self.reader.corrupt(f"its data.pkl names the storage {entry!r}, which the "
                                          f"archive lacks") from None
            if len(raw) < numel * dtype.itemsize:
                raise self.reader.corrupt(f"storage {entry!r} holds {len(raw)} bytes, less than "
                                          f"{numel} {dtype} elements")
            array = np.frombuffer(raw, dtype.newbyteorder(">" if self._big_endian else "<"),
                                  count=numel)
            storage = self._storages[key] = (array, str(location))
        elif storage[0].dtype.name != dtype.name or storage[0].size != numel:
            raise self.reader.corrupt(f"storage {key!r} is named as {numel} {dtype} elements and "
                                      f"as {storage[0].size} {storage[0].dtype.name} elements")
        return storage

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad, hooks, *metadata):
        array, location = storage
        size, stride = tuple(size), tuple(stride)
        if len(size) != len(stride) or not all(type(v) is int for v in (offset, *size, *stride)) \
                or any(n < 0 for n in size):
            raise self.reader.corrupt(f"a tensor of size {size} has strides {stride} and offset "
                                      f"{offset!r}")
        if 0 not in size:  # every element read must lie inside the storage (no stray memory)
            low = offset + sum((n - 1) * s for n, s in zip(size, stride) if s < 0)
            high = offset + sum((n - 1) * s for n, s in zip(size, stride) if s > 0)
            if low < 0 or high >= array.size:
                raise self.reader.corrupt(f"a tensor of size {size} reaches past its storage of "
                                          f"{array.size} elements")
            view = np.lib.stride_tricks.as_strided(array[offset:], size,
                                                   tuple(s * array.itemsize for s in stride))
        else:
            view = np.empty(size, array.dtype)
        values = np.array(view, dtype=array.dtype.newbyteorder("="), order="C")
        t = Tensor._make(values, CPU, None, False, None, 0, None)
        target = self.reader.target_device(location)
        if target != CPU:
            t = t.to(target)
        if requires_grad:
            t.requires_grad_(True)
        return t


def _pairs(items):
    if len(items) % 2:
        raise ValueError(f"a dict of {len(items)} keys and values")
    return zip(items[::2], items[1::2])


def _rebuild_parameter(data, requires_grad, hooks, *state):
    # core knows no nn.Parameter: a parameter loads as its tensor; load_state_dict copies values
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"a parameter record holds a {type(data).__name__}, not a "
                                     f"tensor")
    if data.requires_grad != bool(requires_grad):
        data.requires_grad_(bool(requires_grad))
    return data


def _codecs_encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("a _codecs.encode record other than protocol 2's bytes")
    return text.encode("latin1")
