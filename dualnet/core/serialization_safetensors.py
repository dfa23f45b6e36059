"""safetensors files (Hugging Face's weights format) read and written without the safetensors
package: `dn.save(state_dict, path, format="safetensors")` and `dn.load(path)`.

The format: an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON (padded
with spaces), then the tensors' raw little-endian C-ordered bytes. The header maps each tensor
name to `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}` (offsets into the
bytes after the header, which the tensors must cover exactly, without overlap), and may hold a
`"__metadata__"` dict of strings. Only a flat dict of str -> tensor can be stored; loading gives
a dict of CPU tensors (moved by `map_location`) in the header's order, and never runs code.
"""
import json
import math
import struct

import numpy as np

from .device import CPU
from .dtypes import from_numpy_dtype
from .tensor import Tensor

# safetensors dtype names for the dtypes dualnet has
_DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32",
           "I64": "int64", "F16": "float16", "F32": "float32", "F64": "float64"}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
METADATA = "__metadata__"
# the safetensors package refuses headers over 100 MB; so do we, before reading one
MAX_HEADER = 100_000_000


def looks_like_safetensors(head):
    """Whether the first 9 bytes of a file are a safetensors header's start."""
    return len(head) >= 9 and head[8:9] == b"{" and \
        2 <= struct.unpack("<Q", head[:8])[0] <= MAX_HEADER


def write_safetensors(fh, obj):
    """Write the flat dict `obj` of str -> Tensor to the binary file `fh`."""
    if not isinstance(obj, dict):
        raise TypeError(f"save: format='safetensors' stores a dict of str -> tensor (a "
                        f"state_dict), got a {type(obj).__name__}")
    arrays = {}
    for key, value in obj.items():
        if not isinstance(key, str) or key == METADATA:
            raise TypeError(f"save: format='safetensors' needs str keys other than "
                            f"{METADATA!r}, got the key {key!r}")
        if not isinstance(value, Tensor):
            raise TypeError(f"save: format='safetensors' stores only tensors, but obj[{key!r}] "
                            f"is a {type(value).__name__}")
        array = np.asarray(value._host(), order="C")
        arrays[key] = array if array.dtype.byteorder != ">" else array.astype(
            array.dtype.newbyteorder("<"))
    # widest dtypes first (then by name, as the safetensors package orders them), so that every
    # tensor's bytes are aligned to its item size
    layout = sorted(arrays, key=lambda k: (-arrays[k].itemsize, k))
    offsets, position = {}, 0
    for key in layout:
        offsets[key] = [position, position + arrays[key].nbytes]
        position += arrays[key].nbytes
    header = {key: {"dtype": _NAMES[arrays[key].dtype.name], "shape": list(arrays[key].shape),
                    "data_offsets": offsets[key]} for key in arrays}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    fh.write(struct.pack("<Q", len(header_bytes)))
    fh.write(header_bytes)
    for key in layout:
        if arrays[key].nbytes:
            fh.write(arrays[key].reshape(-1).view(np.uint8))


def load_safetensors(fh, reader):
    """The dict of tensors in the safetensors file `fh`; `reader` gives the name for messages
    (`reader.corrupt`) and the device mapping."""
    data = fh.read()
    (length,) = struct.unpack("<Q", data[:8])
    if len(data) < 8 + length:
        raise reader.corrupt(f"its safetensors header says {length} bytes but the file has "
                             f"{max(len(data) - 8, 0)} after the length: it is truncated")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise reader.corrupt(f"its safetensors header is not valid JSON ({err})") from None
    buffer = memoryview(data)[8 + length:]
    metadata = header.pop(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise reader.corrupt(f"its {METADATA!r} is not a dict of strings")
    spans = []
    for key, info in header.items():
        spans.append((*_span(key, info, reader), key))
    covered = 0
    for begin, end, key in sorted(spans):
        if begin != covered:
            raise reader.corrupt(f"tensor {key!r} starts at byte {begin} of the data, expected "
                                 f"{covered} (tensors overlap or leave a gap)")
        covered = end
    if covered != len(buffer):
        raise reader.corrupt(f"its tensors cover {covered} bytes of data but {len(buffer)} follow "
                             f"the header (truncated, or stray bytes)")
    target = reader.target_device("cpu")
    tensors = {}
    for key, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        array = np.frombuffer(buffer[begin:end], dtype).astype(dtype.newbyteorder("="))
        t = Tensor._make(array.reshape(info["shape"]), CPU, from_numpy_dtype(array.dtype), False,
                         None, 0, None)
        tensors[key] = t if target.type == "cpu" else t.to(target)
    return tensors


def _span(key, info, reader):
    """(begin, end) of tensor `key`'s bytes, after checking its header entry."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise reader.corrupt(f"the header entry of tensor {key!r} lacks dtype, shape or "
                             f"data_offsets: {info!r:.100}")
    dtype = info["dtype"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        if isinstance(dtype, str) and dtype in _KNOWN_ELSEWHERE:
            raise RuntimeError(f"load: {reader.name}: tensor {key!r} has dtype {dtype}, which "
                               f"dualnet does not have (it has {', '.join(_DTYPES)})")
        raise reader.corrupt(f"tensor {key!r} has the unknown dtype {dtype!r:.40}")
    shape, offsets = info["shape"], info["data_offsets"]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise reader.corrupt(f"tensor {key!r} has the shape {shape!r:.60}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and
            all(type(n) is int for n in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise reader.corrupt(f"tensor {key!r} has data_offsets {offsets!r:.60}, not [begin, end]")
    nbytes = math.prod(shape) * np.dtype(_DTYPES[info["dtype"]]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise reader.corrupt(f"tensor {key!r} of dtype {info['dtype']} and shape {shape} needs "
                             f"{nbytes} bytes, but its data_offsets {offsets} span "
                             f"{offsets[1] - offsets[0]}")
    return offsets[0], offsets[1]


# dtypes of the format that dualnet lacks (an error says so, rather than "unknown")
_KNOWN_ELSEWHERE = {"BF16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64", "F4", "F6_E2M3",
                    "F6_E3M2", "E8M0", "F8_E8M0"}
