"""Writing the files `torch.save` writes (PyTorch >= 1.6's ZIP format) with no torch installed:
`dn.save(obj, path, format="torch")`, read back by `torch.load(path, weights_only=True)`.

The archive holds the same records torch.save writes (`data.pkl`, `.format_version`,
`.storage_alignment`, `byteorder`, `data/<key>`, `version`), each storage's bytes aligned to 64
in the file as torch aligns them. `data.pkl` is a protocol-2 pickle written opcode by opcode,
because pickling torch's names through Python's pickler would need torch itself: tensors become
`torch._utils._rebuild_tensor_v2` records, a state_dict's `_metadata` is kept, the same tensor
saved twice is one object, and tensors that are views of one NumPy buffer share one storage, as
they would in torch.
"""
import collections
import io
import struct
import zipfile

import numpy as np

from .serialization_torch import _TORCH_STORAGES
from .tensor import Tensor

_STORAGE_OF_DTYPE = {dtype: name for name, dtype in _TORCH_STORAGES.items()}

ARCHIVE_NAME = "archive"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ALIGNMENT = 64  # torch aligns each storage's bytes in the file (for torch.load(mmap=True))


def write_torch_archive(fh, obj):
    """Write `obj` to the binary file `fh` as torch.save's ZIP archive."""
    pickler = _TorchPickler()
    data_pkl = pickler.dump(obj)
    records = [("data.pkl", data_pkl), (".format_version", b"1"),
               (".storage_alignment", str(_ALIGNMENT).encode()), ("byteorder", b"little")]
    records += [(f"data/{key}", array) for key, array in pickler.storages]
    records.append(("version", b"3\n"))
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, payload in records:
            info = zipfile.ZipInfo(f"{ARCHIVE_NAME}/{name}", _ZIP_DATE)
            nbytes = memoryview(payload).nbytes
            zip64 = nbytes >= zipfile.ZIP64_LIMIT
            # pad the local header's extra field (id "FB", as torch's writer does) so that the
            # bytes start on an alignment boundary
            header = 30 + len(info.filename.encode("utf-8")) + (20 if zip64 else 0) + 4
            pad = -(archive.fp.tell() + header) % _ALIGNMENT
            info.extra = struct.pack("<2sH", b"FB", pad) + b"Z" * pad
            with archive.open(info, "w", force_zip64=zip64) as out:
                out.write(payload)


class _TorchPickler:
    """A protocol-2 pickle of a weights object as torch.save writes it, built opcode by opcode."""

    def __init__(self):
        self.out = io.BytesIO()
        self.storages = []  # (key, little-endian C-contiguous array): data/<key>
        self._storage_keys = {}  # (id(buffer), dtype) -> key
        self._memo = {}  # id(tensor) -> memo index
        self._keep = []  # objects whose ids are keys above, alive until the dump is done
        self._open = set()  # containers on the current path (cycle check)

    def dump(self, obj):
        self.out.write(b"\x80\x02")
        self._save(obj, "obj")
        self.out.write(b".")
        return self.out.getvalue()

    # -- scalars
    def _int(self, value):
        if 0 <= value < 256:
            self.out.write(b"K" + bytes([value]))
        elif -2 ** 31 <= value < 2 ** 31:
            self.out.write(b"J" + struct.pack("<i", value))
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out.write(b"\x8a" + bytes([len(data)]) + data if len(data) < 256
                           else b"\x8b" + struct.pack("<I", len(data)) + data)

    def _str(self, value):
        data = value.encode("utf-8", "surrogatepass")
        self.out.write(b"X" + struct.pack("<I", len(data)) + data)

    def _global(self, module, name):
        self.out.write(b"c" + f"{module}\n{name}\n".encode("ascii"))

    def _tuple(self, items, path):
        self.out.write(b"(")
        for i, item in enumerate(items):
            self._save(item, f"{path}[{i}]")
        self.out.write(b"t")

    # -- values
    def _save(self, obj, path):
        if obj is None:
            self.out.write(b"N")
        elif obj is True or obj is False:
            self.out.write(b"\x88" if obj else b"\x89")
        elif isinstance(obj, (int, np.integer)) and not isinstance(obj, (bool, np.bool_)):
            self._int(int(obj))
        elif isinstance(obj, (float, np.floating)):
            self.out.write(b"G" + struct.pack(">d", float(obj)))
        elif isinstance(obj, str):
            self._str(obj)
        elif isinstance(obj, Tensor):
            self._tensor(obj)
        elif isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._open:
                raise ValueError(f"save: {path} contains itself (a reference cycle); only trees "
                                 f"of containers can be saved")
            self._open.add(id(obj))
            try:
                self._container(obj, path)
            finally:
                self._open.discard(id(obj))
        else:
            raise TypeError(f"save: format='torch' can't save a {type(obj).__name__} at {path}: "
                            f"only tensors, dict / OrderedDict / list / tuple containers and int, "
                            f"float, bool, str or None values load with torch.load("
                            f"weights_only=True)" + ("; wrap NumPy arrays with dn.from_numpy"
                                                     if isinstance(obj, np.ndarray) else ""))

    def _container(self, obj, path):
        if isinstance(obj, tuple):
            self._tuple(obj, path)
            return
        if isinstance(obj, list):
            self.out.write(b"](")
            for i, item in enumerate(obj):
                self._save(item, f"{path}[{i}]")
            self.out.write(b"e")
            return
        ordered = isinstance(obj, collections.OrderedDict)
        if ordered:
            self._global("collections", "OrderedDict")
            self.out.write(b")R")
        else:
            self.out.write(b"}")
        self.out.write(b"(")
        for key, value in obj.items():
            if not (key is None or isinstance(key, (str, int, float, bool, tuple))):
                raise TypeError(f"save: can't save the dict key {key!r} "
                                f"({type(key).__name__}) in {path}: keys must be str, int, float, "
                                f"bool, None or tuples of those")
            self._save(key, f"{path} (a key)")
            self._save(value, f"{path}[{key!r}]")
        self.out.write(b"u")
        metadata = getattr(obj, "_metadata", None) if ordered else None
        if metadata is not None:  # a state_dict's versions, as torch pickles them (BUILD)
            self.out.write(b"}(")
            self._str("_metadata")
            self._save(metadata, f"{path}._metadata")
            self.out.write(b"ub")

    def _tensor(self, t):
        index = self._memo.get(id(t))
        if index is not None:  # the same tensor again: one object in torch too
            self.out.write(b"j" + struct.pack("<I", index))
            return
        key, numel, storage_type, offset, stride = self._storage(t)
        self._global("torch._utils", "_rebuild_tensor_v2")
        self.out.write(b"((")
        self._str("storage")
        self._global("torch", storage_type)
        self._str(key)
        self._str(str(t.device))
        self._int(numel)
        self.out.write(b"tQ")
        self._int(offset)
        self._tuple(tuple(t.shape), "shape")
        self._tuple(stride, "stride")
        self.out.write(b"\x88" if t.requires_grad else b"\x89")
        self._global("collections", "OrderedDict")  # backward hooks: none
        self.out.write(b")Rt")
        self.out.write(b"R")
        index = self._memo[id(t)] = len(self._memo)
        self._keep.append(t)
        self.out.write(b"r" + struct.pack("<I", index))

    def _storage(self, t):
        """(key, numel, storage type, offset, strides) of the storage holding `t`: views of one
        NumPy buffer share it (offset and strides in elements), anything else gets its own."""
        storage_type = _STORAGE_OF_DTYPE.get(t.dtype.name)
        if storage_type is None:
            raise TypeError(f"save: format='torch' has no storage type for dtype {t.dtype}")
        array = t._data if t.device.type == "cpu" else np.asarray(t._host(), order="C")
        buffer = array
        while isinstance(buffer.base, np.ndarray):
            buffer = buffer.base
        shared = self._view_of(array, buffer)
        if shared is None:
            buffer = np.asarray(array, order="C")
            shared = 0, tuple(s // buffer.itemsize for s in buffer.strides)
        offset, stride = shared
        cache = (id(buffer), buffer.dtype.str)
        key = self._storage_keys.get(cache)
        if key is None:
            key = self._storage_keys[cache] = str(len(self.storages))
            self._keep.append(buffer)
            little = buffer.dtype.newbyteorder("<")
            self.storages.append((key, buffer if buffer.dtype == little else buffer.astype(little)))
        return key, buffer.size, storage_type, offset, stride

    @staticmethod
    def _view_of(array, buffer):
        """(offset, strides) in elements of `array` inside the C-contiguous `buffer`, or None."""
        if buffer.dtype != array.dtype or not buffer.flags.c_contiguous or array.size == 0:
            return None
        itemsize = array.itemsize
        start = array.__array_interface__["data"][0] - buffer.__array_interface__["data"][0]
        if start % itemsize or any(s % itemsize or s < 0 for s in array.strides):
            return None  # torch has no negative or unaligned strides: save a copy
        offset, stride = start // itemsize, tuple(s // itemsize for s in array.strides)
        last = offset + sum((n - 1) * s for n, s in zip(array.shape, stride))
        if offset < 0 or last >= buffer.size:
            return None
        return offset, stride
