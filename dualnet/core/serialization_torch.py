"""Reading the files `torch.save` writes (PyTorch >= 1.6's ZIP format), with no torch installed.

The archive holds `<name>/data.pkl`, a pickle of the saved object whose tensors point at raw
storages `<name>/data/<key>`. It is read the way `torch.load(weights_only=True)` reads it: the
unpickler resolves only the names a state_dict or an optimizer's state uses and refuses any
other, so loading a file never runs code from it. `serialization.load` calls this when it finds
a `data.pkl` in the archive.
"""
import collections
import pickle
import zipfile

import numpy as np

from .device import CPU
from .tensor import Tensor


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


class _TorchUnpickler(pickle.Unpickler):
    """data.pkl of a torch.save archive, resolving only tensor records (weights_only=True)."""

    def __init__(self, reader, prefix):
        self.reader, self.prefix = reader, prefix
        self._storages = {}
        byteorder = prefix + "byteorder"
        names = set(reader.archive.namelist())
        self._big_endian = byteorder in names and reader.archive.read(byteorder).strip() == b"big"
        super().__init__(reader.archive.open(prefix + "data.pkl"))

    def load_root(self):
        try:
            return self.load()
        except pickle.UnpicklingError as err:
            raise RuntimeError(f"load: {self.reader.name}: {err}") from None
        except (EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
                zipfile.BadZipFile) as err:
            raise self.reader.corrupt(f"its data.pkl can't be read as a torch.save state "
                                      f"({type(err).__name__}: {err})") from None

    def find_class(self, module, name):
        allowed = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
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
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent record {pid!r:.80}")
        _, kind, key, location, numel = pid
        storage = self._storages.get(key)
        if storage is None:
            dtype = np.dtype(_TORCH_STORAGES[kind.torch_name])
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
        return storage

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad, hooks, *metadata):
        array, location = storage
        size, stride = tuple(size), tuple(stride)
        if len(size) != len(stride):
            raise self.reader.corrupt(f"a tensor of size {size} has strides {stride}")
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if 0 not in size else -1
        if offset < 0 or last >= array.size:
            raise self.reader.corrupt(f"a tensor of size {size} reaches past its storage of "
                                      f"{array.size} elements")
        view = np.lib.stride_tricks.as_strided(array[offset:], size,
                                               tuple(s * array.itemsize for s in stride))
        values = np.array(view, dtype=array.dtype.newbyteorder("="), order="C")
        t = Tensor._make(values, CPU, None, False, None, 0, None)
        target = self.reader.target_device(location)
        if target != CPU:
            t = t.to(target)
        if requires_grad:
            t.requires_grad_(True)
        return t


def _rebuild_parameter(data, requires_grad, hooks, *state):
    # core knows no nn.Parameter: a parameter loads as its tensor; load_state_dict copies values
    if data.requires_grad != bool(requires_grad):
        data.requires_grad_(bool(requires_grad))
    return data
