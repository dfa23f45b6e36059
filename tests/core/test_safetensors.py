"""dn.save(state_dict, f, format="safetensors") / dn.load: the safetensors format without the
safetensors package, checked against the real package both ways, and broken headers."""
import io
import json
import os
import struct

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

DTYPES = [dn.float16, dn.float32, dn.float64, dn.uint8, dn.int8, dn.int16, dn.int32, dn.int64,
          dn.bool]


def _state():
    state = {dtype.name: (dn.arange(-2, 4).reshape(2, 3) if dtype != dn.uint8 else
                          dn.arange(6).reshape(2, 3)).to(dtype) for dtype in DTYPES}
    state.update(scalar=dn.tensor(2.5), empty=dn.zeros(0, 4), transposed=dn.randn(3, 5).t())
    return state


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_round_trip_keeps_order_dtypes_and_shapes(tmp_path):
    state = _state()
    path = tmp_path / "w.safetensors"
    dn.save(state, path, format="safetensors")
    loaded = dn.load(path)
    assert list(loaded) == list(state)
    for key in state:
        _same(state[key], loaded[key])
    loaded["float32"][0, 0] = 9.0  # loaded tensors own writable memory
    assert state["float32"][0, 0].item() == -2.0


def test_layout_is_the_documented_one():
    buffer = io.BytesIO()
    dn.save({"b": dn.tensor([1, 2], dtype=dn.uint8), "a": dn.ones(2, dtype=dn.float64)}, buffer,
            format="safetensors")
    data = buffer.getvalue()
    (length,) = struct.unpack("<Q", data[:8])
    assert length % 8 == 0
    header = json.loads(data[8:8 + length])
    # widest dtype first in the data, so every tensor is aligned to its item size
    assert header == {"b": {"dtype": "U8", "shape": [2], "data_offsets": [16, 18]},
                      "a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}
    assert data[8 + length:] == np.ones(2).tobytes() + bytes([1, 2])


def test_model_state_dict_round_trip(tmp_path):
    dn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = tmp_path / "model.safetensors"
    dn.save(model.state_dict(), path, format="safetensors")
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(dn.load(path))
    for key, value in model.state_dict().items():
        _same(value, other.state_dict()[key])


@pytest.mark.parity
def test_the_safetensors_package_reads_ours(tmp_path):
    numpy_api = pytest.importorskip("safetensors.numpy")
    state = _state()
    path = tmp_path / "ours.safetensors"
    dn.save(state, path, format="safetensors")
    loaded = numpy_api.load_file(str(path))
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert loaded[key].dtype == value.numpy().dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value.numpy())


@pytest.mark.parity
def test_we_read_the_safetensors_package(tmp_path):
    numpy_api = pytest.importorskip("safetensors.numpy")
    # (C-contiguous arrays: the package writes a transposed array's memory, not its values)
    arrays = {key: np.ascontiguousarray(t.numpy()) for key, t in _state().items()}
    path = tmp_path / "theirs.safetensors"
    numpy_api.save_file(arrays, str(path), metadata={"format": "np"})
    loaded = dn.load(path)
    assert sorted(loaded) == sorted(arrays)
    for key, array in arrays.items():
        assert loaded[key].numpy().dtype == array.dtype and loaded[key].shape == array.shape
        np.testing.assert_array_equal(loaded[key].numpy(), array)


@pytest.mark.parity
def test_torch_state_dicts_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    torch_api = pytest.importorskip("safetensors.torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    path = tmp_path / "torch.safetensors"
    torch_api.save_file(theirs.state_dict(), str(path))
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ours.load_state_dict(dn.load(path))
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(),
                                  theirs[0].weight.detach().numpy())
    dn.save(ours.state_dict(), path, format="safetensors")
    back = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    back.load_state_dict(torch_api.load_file(str(path)))
    assert back[1].num_batches_tracked.dtype == torch.int64
    np.testing.assert_array_equal(back[1].running_var.numpy(), ours[1].running_var.numpy())


def test_only_flat_dicts_of_tensors(tmp_path):
    path = tmp_path / "w.safetensors"
    dn.save({"w": dn.ones(1)}, path, format="safetensors")
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"only tensors, but obj\['nested'\] is a dict"):
        dn.save({"w": dn.ones(1), "nested": {"x": dn.ones(1)}}, path, format="safetensors")
    with pytest.raises(TypeError, match=r"str keys .* got the key 3"):
        dn.save({3: dn.ones(1)}, path, format="safetensors")
    with pytest.raises(TypeError, match=r"a dict of str -> tensor .* got a Tensor"):
        dn.save(dn.ones(1), path, format="safetensors")
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["w.safetensors"]


def _file(header, data=b"", pad=True):
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


F32 = np.arange(4, dtype=np.float32).tobytes()


@pytest.mark.parametrize("content, pattern", [
    (_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, F32[:10]),
     r"cover 16 bytes of data but 10 follow"),
    (_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})[:20],
     r"header says \d+ bytes but the file has 12 .*truncated"),
    (_file(b"{\"w\": {\"dtype\": ", pad=True), r"header is not valid JSON"),
    (_file({"w": {"dtype": "F32", "shape": [4]}}, F32),
     r"tensor 'w' lacks dtype, shape or data_offsets"),
    (_file({"w": {"dtype": "Q7", "shape": [4], "data_offsets": [0, 16]}}, F32),
     r"tensor 'w' has the unknown dtype 'Q7'"),
    (_file({"w": {"dtype": ["F32"], "shape": [4], "data_offsets": [0, 16]}}, F32),
     r"tensor 'w' has the unknown dtype \['F32'\]"),
    (_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, F32),
     r"tensor 'w' of dtype F32 and shape \[3\] needs 12 bytes, but its data_offsets \[0, 16\] "
     r"span 16"),
    (_file({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, F32),
     r"tensor 'w' has the shape \[-4\]"),
    (_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}, F32),
     r"tensor 'w' has data_offsets \[16, 0\]"),
    (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, F32),
     r"tensor 'b' starts at byte 4 of the data, expected 8 \(tensors overlap or leave a gap\)"),
    (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "__metadata__": {"n": 1}}, F32[:8]), r"'__metadata__' is not a dict of strings"),
    (_file({"w": 5}), r"the header entry of tensor 'w' lacks dtype"),
], ids=["short-data", "truncated-header", "bad-json", "missing-field", "unknown-dtype",
        "unhashable-dtype", "wrong-size", "negative-shape", "reversed-offsets", "overlap",
        "bad-metadata", "entry-not-an-object"])
def test_corrupt_files_name_the_file_and_the_tensor(tmp_path, content, pattern):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(RuntimeError, match=r"broken\.safetensors. is corrupt: .*" + pattern):
        dn.load(path)


def test_dtypes_dualnet_lacks_are_named():
    content = _file({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4)
    with pytest.raises(RuntimeError, match=r"tensor 'w' has dtype BF16, which dualnet does not "
                                           r"have"):
        dn.load(io.BytesIO(content))


def test_map_location():
    buffer = io.BytesIO()
    dn.save({"w": dn.ones(2)}, buffer, format="safetensors")
    buffer.seek(0)
    assert dn.load(buffer, map_location="cpu")["w"].device == dn.device("cpu")
    if not dn.cuda.is_available():
        buffer.seek(0)
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            dn.load(buffer, map_location="cuda")
