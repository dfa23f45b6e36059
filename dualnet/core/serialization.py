"""`dn.save` / `dn.load`: tensors and nested containers of them (a state_dict, a checkpoint) in a
ZIP archive of `.npy` files. A dualnet archive holds no pickle; `load` also reads the files
PyTorch's `torch.save` writes, through an unpickler that accepts tensor records only.

The format (version 1)
----------------------
A ZIP archive (entries stored uncompressed) with

- `index.json`: `{"format": "dualnet", "version": 1, "root": NODE}`, where NODE describes the
  saved object:
    - `null`, `true` / `false`, a number or a string: that Python value itself (None, bool, int,
      float (NaN and infinities spelled `NaN`, `Infinity`), str);
    - `{"list": [NODE, ...]}`, `{"tuple": [NODE, ...]}`;
    - `{"dict": [[KEY, NODE], ...]}`, `{"ordered_dict": [[KEY, NODE], ...]}` (in insertion
      order; a KEY is a NODE of None, bool, int, float, str or a tuple of those);
    - `{"bytes": "<base64>"}`;
    - `{"tensor": {"file": "tensors/0.npy", "dtype": "float32", "shape": [2, 3],
      "requires_grad": false, "device": "cpu"}}`;
    - `{"ndarray": {"file": "tensors/1.npy", "dtype": "float32", "shape": [2, 3]}}` (a NumPy
      array, loaded back as one).
- `tensors/<n>.npy`: one C-ordered array per tensor in NumPy's `.npy` format (written and read
  with `allow_pickle=False`, so an array of Python objects is refused).

A tensor object that appears several times is stored once and loads as one object; tensors
that merely share memory (a view and its base) are stored separately. A saved tensor keeps its
values, dtype, shape, `requires_grad` and device; not its graph, `.grad` or view relationships.
NumPy scalars are saved as the Python number they hold.

PyTorch files
-------------
`torch.save` (PyTorch >= 1.6) writes a ZIP archive too, around `<name>/data.pkl`; `load` reads
it as `torch.load(weights_only=True)` does (see `serialization_torch`): only tensor records are
accepted, so loading a file never runs code from it. Parameters load as plain tensors with
`requires_grad` set; tensors that shared a storage load as separate copies. The older non-ZIP
torch format is refused.

`save(obj, f, format="torch")` writes that format (see `serialization_torch_write`); tensors that
are views of one buffer share a storage in the file, as they would in torch.

safetensors files
-----------------
`save(state_dict, f, format="safetensors")` writes, and `load` reads, the safetensors format
(see `serialization_safetensors`): a flat dict of str -> tensor, loaded as a dict of tensors.

Saving to a path is atomic: the archive is written to a temporary file in the same directory,
flushed to disk (fsync) and renamed over the target, so a crash or an error mid-save leaves any
previous file intact.
"""
import base64
import collections
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from .device import CPU, cuda_is_available
from .device import device as _device
from .dtypes import to_dtype
from .serialization_safetensors import load_safetensors, looks_like_safetensors, write_safetensors
from .tensor import Tensor

FORMAT = "dualnet"
VERSION = 1
INDEX = "index.json"
# Fixed entry timestamps make the same object save to the same bytes (ZIP's earliest date).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_KEY_TYPES = (str, int, float, bool, type(None))


def save(obj, f, *, format="dualnet"):
    """Write `obj` (a tensor, or dicts / lists / tuples of tensors and plain values) to `f`, a
    path or a binary file object.

    format: "dualnet" (the default: the archive described in the module docstring, no pickle),
    "torch" (torch.save's ZIP format, which `torch.load(f, weights_only=True)` reads: tensors,
    dicts, OrderedDicts, lists, tuples, and int, float, bool, str or None values) or
    "safetensors" (a flat dict of str -> tensor, such as a state_dict). `load` tells the three
    apart by their content. Saving to a path is atomic, whatever the format.

    >>> import io, dualnet as dn
    >>> buffer = io.BytesIO()
    >>> dn.save({"weight": dn.ones(2, 3), "step": 10}, buffer)
    >>> _ = buffer.seek(0)
    >>> state = dn.load(buffer)
    >>> state["weight"].shape, state["step"]
    (dualnet.Size([2, 3]), 10)
    """
    if not (isinstance(f, (str, os.PathLike)) or hasattr(f, "write")):
        raise TypeError(f"save: f must be a path (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__}")
    if format == "dualnet":
        writer = _Writer()
        index = {"format": FORMAT, "version": VERSION, "root": writer.encode(obj, "obj")}
        index_bytes = json.dumps(index).encode("utf-8")

        def write(fh):
            _write_archive(fh, index_bytes, writer.arrays)
    elif format == "torch":
        from .serialization_torch_write import write_torch_archive

        def write(fh):
            write_torch_archive(fh, obj)
    elif format == "safetensors":
        def write(fh):
            write_safetensors(fh, obj)
    else:
        raise ValueError(f"save: format must be 'dualnet', 'torch' or 'safetensors', got "
                         f"{format!r}")
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), write)
    else:
        write(f)


def load(f, map_location=None, *, weights_only=True):
    """Read what `save` wrote to `f` (a path or a binary file object).

    `f` may hold a dualnet archive, a torch.save file or a safetensors file; the content decides.
    map_location: None (each tensor back on its saved device), a device (`"cpu"`), or a dict
    from saved device to device (`{"cuda:0": "cpu"}`). weights_only is accepted for PyTorch's
    spelling: loading never runs code from the file, whatever its value (a torch file's pickle
    is interpreted with tensor records only; see `serialization_torch`).
    """
    if isinstance(f, (str, os.PathLike)):
        name = repr(os.fspath(f))
        with open(f, "rb") as fh:
            return _load(fh, name, map_location)
    if not hasattr(f, "read"):
        raise TypeError(f"load: f must be a path (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__}")
    name = repr(getattr(f, "name", "the file object"))
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())  # a ZIP archive is read from its end: needs seeking
    return _load(f, name, map_location)


# ------------------------------------------------------------------------------------- writing

class _Writer:
    """Turns the saved object into index nodes, collecting the arrays to write."""

    def __init__(self):
        self.arrays = []  # (entry name, host array)
        self._entries = {}  # id(tensor or array) -> entry name
        self._keep = []  # the objects behind those ids, alive until the save is done
        self._open = set()  # ids of the containers on the current path (cycle check)

    def encode(self, obj, path):
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, Tensor):
            return {"tensor": {"file": self._entry(obj, obj._host()), "dtype": obj.dtype.name,
                               "shape": list(obj.shape), "requires_grad": obj.requires_grad,
                               "device": str(obj.device)}}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject or obj.dtype.kind not in "biuf":
                raise TypeError(f"save: can't save the NumPy array of dtype {obj.dtype} at {path}: "
                                f"only bool, integer and float arrays are supported")
            return {"ndarray": {"file": self._entry(obj, obj), "dtype": obj.dtype.name,
                                "shape": list(obj.shape)}}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return obj.item()
        if isinstance(obj, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._open:
                raise ValueError(f"save: {path} contains itself (a reference cycle); only trees "
                                 f"of containers can be saved")
            self._open.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self._open.discard(id(obj))
        raise TypeError(f"save: can't save a {type(obj).__name__} at {path}: only tensors, NumPy "
                        f"arrays, dict / OrderedDict / list / tuple containers and int, float, "
                        f"bool, str, bytes or None values can be saved")

    def _container(self, obj, path):
        if isinstance(obj, dict):
            tag = "ordered_dict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {tag: [[self._key(k, path), self.encode(v, f"{path}[{k!r}]")]
                          for k, v in obj.items()]}
        tag = "list" if isinstance(obj, list) else "tuple"
        return {tag: [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}

    def _key(self, key, path):
        if isinstance(key, _KEY_TYPES) or (isinstance(key, tuple) and
                                           all(isinstance(k, _KEY_TYPES) for k in key)):
            return self.encode(key, f"{path} (a key)")
        raise TypeError(f"save: can't save the dict key {key!r} ({type(key).__name__}) in {path}: "
                        f"keys must be str, int, float, bool, None or tuples of those")

    def _entry(self, obj, array):
        entry = self._entries.get(id(obj))
        if entry is None:
            entry = f"tensors/{len(self.arrays)}.npy"
            self._entries[id(obj)] = entry
            self._keep.append(obj)
            self.arrays.append((entry, array if array.flags.c_contiguous else array.copy()))
        return entry


def _write_archive(fh, index_bytes, arrays):
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(zipfile.ZipInfo(INDEX, _ZIP_DATE), index_bytes)
        for entry, array in arrays:
            info = zipfile.ZipInfo(entry, _ZIP_DATE)
            large = array.nbytes >= zipfile.ZIP64_LIMIT // 2  # ZIP64 headers past 2 GiB
            with archive.open(info, "w", force_zip64=large) as out:
                np.lib.format.write_array(out, array, allow_pickle=False)


class MissingDirectoryError(FileNotFoundError, RuntimeError):
    """save() into a directory that does not exist: torch raises RuntimeError, Python's own
    open() FileNotFoundError; this is both, so either `except` catches it."""


def _atomic_write(path, write):
    """write(fh) into a temporary file next to `path`, fsync it, then rename it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise MissingDirectoryError(f"save: can't write {path!r}: the directory {directory!r} does "
                                f"not exist")
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _new_file_mode(path):
    """The target's permissions if it exists, else what open() would give (0o666 less umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------- reading

def _load(fh, name, map_location):
    start = fh.tell()
    head = fh.read(9)
    magic = head[:4]
    fh.seek(start)
    if looks_like_safetensors(head):
        return load_safetensors(fh, _Reader(None, name, map_location))
    if magic[:1] == b"\x80":
        raise RuntimeError(f"load: {name} is a pickle (a PyTorch file in its legacy pre-1.6 "
                           f"format, or pickle.dump output); dualnet reads only its own archives "
                           f"and torch.save's ZIP format (re-save the file with a recent PyTorch)")
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        detail = ("it starts like a ZIP archive, so it is probably truncated or corrupt"
                  if magic == b"PK\x03\x04" else "it is not a ZIP archive")
        raise RuntimeError(f"load: {name} is not a dualnet archive ({detail}: {err})") from None
    with archive:
        names = archive.namelist()
        if INDEX not in names:
            pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
            if pickles:
                from .serialization_torch import load_torch_archive

                reader = _Reader(archive, name, map_location)
                return load_torch_archive(reader, pickles[0][:-len("data.pkl")])
            raise RuntimeError(f"load: {name} is a ZIP archive but not a dualnet archive (it has "
                               f"no {INDEX})")
        try:
            index = json.loads(archive.read(INDEX).decode("utf-8"))
        except (ValueError, zipfile.BadZipFile, EOFError, OSError) as err:
            raise RuntimeError(f"load: {name} is corrupt: its {INDEX} can't be read ({err})") \
                from None
        if not isinstance(index, dict) or index.get("format") != FORMAT or "root" not in index:
            raise RuntimeError(f"load: {name} is not a dualnet archive (its {INDEX} is not a "
                               f"dualnet index)")
        if not isinstance(index.get("version"), int) or index["version"] > VERSION:
            raise RuntimeError(f"load: {name} has format version {index.get('version')!r}; this "
                               f"dualnet reads versions up to {VERSION} (upgrade dualnet)")
        return _Reader(archive, name, map_location).decode(index["root"])


class _Reader:
    def __init__(self, archive, name, map_location):
        self.archive, self.name, self.map_location = archive, name, map_location
        self._loaded = {}  # entry name -> the tensor or array loaded from it
        self._devices = {}  # saved device string -> target device

    def corrupt(self, what):
        return RuntimeError(f"load: {self.name} is corrupt: {what}")

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise self.corrupt(f"unexpected node {node!r:.80} in {INDEX}")
        (tag, body), = node.items()
        if tag in ("list", "tuple") and isinstance(body, list):
            items = [self.decode(v) for v in body]
            return items if tag == "list" else tuple(items)
        if tag in ("dict", "ordered_dict") and isinstance(body, list):
            pairs = []
            for pair in body:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.corrupt(f"a {tag} item is not a [key, value] pair")
                pairs.append((self.decode(pair[0]), self.decode(pair[1])))
            return dict(pairs) if tag == "dict" else collections.OrderedDict(pairs)
        if tag == "bytes" and isinstance(body, str):
            return base64.b64decode(body)
        if tag in ("tensor", "ndarray") and isinstance(body, dict):
            entry = body.get("file")
            if entry not in self._loaded:
                self._loaded[entry] = self._tensor(body) if tag == "tensor" else self._array(body)
            return self._loaded[entry]
        raise self.corrupt(f"unknown node {tag!r} in {INDEX}")

    def _array(self, body):
        entry = body.get("file")
        try:
            with self.archive.open(entry) as fh:
                array = np.lib.format.read_array(fh, allow_pickle=False)
        except KeyError:
            raise self.corrupt(f"{INDEX} names {entry!r}, which the archive lacks") from None
        except ValueError as err:
            if "allow_pickle" in str(err) or "Object arrays" in str(err):
                raise RuntimeError(f"load: {entry} in {self.name} holds Python objects (a pickled "
                                   f"array); dualnet never unpickles, so it refuses it") from None
            raise self.corrupt(f"{entry} is not a readable .npy array ({err})") from None
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise self.corrupt(f"{entry} can't be read ({err})") from None
        if array.dtype.name != body.get("dtype"):
            raise self.corrupt(f"{entry} holds {array.dtype} where {INDEX} says "
                               f"{body.get('dtype')}")
        if list(array.shape) != body.get("shape"):
            raise self.corrupt(f"{entry} has shape {list(array.shape)} where {INDEX} says "
                               f"{body.get('shape')}")
        return array if array.flags.c_contiguous else np.ascontiguousarray(array)

    def _tensor(self, body):
        array = self._array(body)
        try:
            dtype = to_dtype(body["dtype"])
        except (TypeError, ValueError, KeyError):
            raise self.corrupt(f"unknown tensor dtype {body.get('dtype')!r}") from None
        t = Tensor._make(array, CPU, dtype, False, None, 0, None)
        target = self.target_device(str(body.get("device", "cpu")))
        if target != CPU:
            t = t.to(target)
        if body.get("requires_grad"):
            t.requires_grad_(True)
        return t

    def target_device(self, saved):
        target = self._devices.get(saved)
        if target is not None:
            return target
        location = self.map_location
        if isinstance(location, dict):
            location = location.get(saved, saved)
        elif location is None:
            location = saved
        elif callable(location) and not isinstance(location, (str, _device)):
            raise TypeError("load: map_location as a function is not supported; pass a device "
                            "('cpu') or a dict such as {'cuda:0': 'cpu'}")
        try:
            target = _device(location)
        except (TypeError, RuntimeError) as err:
            raise ValueError(f"load: map_location: {err}") from None
        if target.type == "cuda":
            if not cuda_is_available():
                raise RuntimeError(f"load: {self.name} holds tensors saved on {saved}, but CUDA is "
                                   f"not available here; pass map_location='cpu' to load them "
                                   f"onto the CPU")
            if target.index is None:
                target = _device("cuda", 0)
        self._devices[saved] = target
        return target
