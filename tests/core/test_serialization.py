"""dn.save / dn.load: round trips, atomic writes, bad input and bad files, and never a pickle."""
import collections
import doctest
import io
import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest

import dualnet as dn
from dualnet.core import serialization

DTYPES = [dn.float16, dn.float32, dn.float64, dn.uint8, dn.int8, dn.int16, dn.int32, dn.int64,
          dn.bool]


def _round_trip(obj, **load_kwargs):
    buffer = io.BytesIO()
    dn.save(obj, buffer)
    buffer.seek(0)
    return dn.load(buffer, **load_kwargs)


def _same_tensor(a, b):
    assert isinstance(b, dn.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _files(directory):
    return sorted(os.listdir(directory))


# ---------------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", DTYPES, ids=[d.name for d in DTYPES])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_tensor_round_trip(dtype, shape):
    values = np.random.default_rng(0).standard_normal(shape) * 10
    t = dn.tensor(values.astype(dtype.np))
    _same_tensor(t, _round_trip(t))


def test_requires_grad_and_non_leaf_tensors():
    w = dn.randn(3, 2, requires_grad=True)
    y = w * 2.0  # a non-leaf: its values are saved, not its graph
    loaded = _round_trip({"w": w, "y": y})
    _same_tensor(w, loaded["w"])
    assert loaded["y"].requires_grad and loaded["y"].grad_fn is None


def test_nested_state_dict_round_trip():
    state = {
        "model": collections.OrderedDict([("layer.weight", dn.randn(4, 3)),
                                          ("layer.bias", dn.zeros(4)),
                                          ("bn.num_batches_tracked", dn.tensor(7))]),
        "optimizer": {"state": {0: {"step": 3, "exp_avg": dn.randn(4, 3)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                        "amsgrad": False, "name": None}]},
        "values": [1, -2 ** 70, 0.1, math.inf, -math.inf, "ünïcode", b"\x00\xff", None, True],
        ("tuple", 1): (dn.ones(1), 2.5),
        1.5: "float key",
        None: "none key",
    }
    loaded = _round_trip(state)
    assert list(loaded) == list(state)
    assert type(loaded["model"]) is collections.OrderedDict
    assert list(loaded["model"]) == list(state["model"])
    for key, t in state["model"].items():
        _same_tensor(t, loaded["model"][key])
    assert loaded["optimizer"]["state"][0]["step"] == 3
    exp_avg = state["optimizer"]["state"][0]["exp_avg"]
    _same_tensor(exp_avg, loaded["optimizer"]["state"][0]["exp_avg"])
    assert loaded["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    assert type(loaded["optimizer"]["param_groups"][0]["betas"]) is tuple
    assert loaded["values"] == state["values"]
    assert type(loaded[("tuple", 1)]) is tuple and loaded[("tuple", 1)][1] == 2.5
    assert loaded[1.5] == "float key" and loaded[None] == "none key"


def test_nan_and_plain_values():
    loaded = _round_trip([math.nan, 0, "", [], {}, ()])
    assert math.isnan(loaded[0]) and loaded[1:] == [0, "", [], {}, ()]
    assert _round_trip(5) == 5 and _round_trip(None) is None


def test_numpy_values():
    loaded = _round_trip({"array": np.arange(6, dtype=np.int16).reshape(2, 3),
                          "scalar": np.float32(1.5), "flag": np.bool_(True)})
    assert loaded["array"].dtype == np.int16 and loaded["array"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert loaded["scalar"] == 1.5 and loaded["flag"] is True


def test_same_tensor_twice_loads_as_one_object():
    t = dn.randn(3)
    loaded = _round_trip({"a": t, "b": [t], "c": dn.randn(3)})
    assert loaded["a"] is loaded["b"][0]
    assert loaded["a"] is not loaded["c"]


def test_views_are_stored_with_their_values():
    base = dn.from_numpy(np.arange(12.0).reshape(3, 4))
    view = dn.from_numpy(base.numpy().T)  # shares memory, Fortran order
    loaded = _round_trip({"base": base, "view": view})
    _same_tensor(view, loaded["view"])
    _same_tensor(base, loaded["base"])
    assert loaded["view"].is_contiguous()


def test_loaded_tensors_own_writable_memory():
    t = dn.ones(3)
    loaded = _round_trip(t)
    loaded.add_(1.0)
    assert t.tolist() == [1.0, 1.0, 1.0] and loaded.tolist() == [2.0, 2.0, 2.0]


def test_paths_and_file_objects(tmp_path):
    t = dn.randn(2, 2)
    dn.save(t, str(tmp_path / "a.pt"))
    dn.save(t, tmp_path / "b.pt")
    with open(tmp_path / "c.pt", "wb") as fh:
        dn.save(t, fh)
    for name in ("a.pt", "b.pt", "c.pt"):
        _same_tensor(t, dn.load(tmp_path / name))
        _same_tensor(t, dn.load(str(tmp_path / name)))
    with open(tmp_path / "a.pt", "rb") as fh:
        _same_tensor(t, dn.load(fh))

    class ReadOnlyStream:  # not seekable, like a pipe
        def __init__(self, data):
            self._buffer = io.BytesIO(data)

        def read(self, n=-1):
            return self._buffer.read(n)

    _same_tensor(t, dn.load(ReadOnlyStream((tmp_path / "a.pt").read_bytes())))


def test_saving_is_deterministic(tmp_path):
    state = {"w": dn.arange(6.0), "n": 1}
    dn.save(state, tmp_path / "a.pt")
    dn.save(state, tmp_path / "b.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


def test_archive_layout_is_documented_one(tmp_path):
    dn.save({"w": dn.ones(2, 3)}, tmp_path / "m.pt")
    with zipfile.ZipFile(tmp_path / "m.pt") as archive:
        assert sorted(archive.namelist()) == ["index.json", "tensors/0.npy"]
        index = json.loads(archive.read("index.json"))
        array = np.load(io.BytesIO(archive.read("tensors/0.npy")), allow_pickle=False)
    assert index["format"] == "dualnet" and index["version"] == 1
    assert index["root"] == {"dict": [["w", {"tensor": {
        "file": "tensors/0.npy", "dtype": "float32", "shape": [2, 3], "requires_grad": False,
        "device": "cpu"}}]]}
    assert array.dtype == np.float32 and array.shape == (2, 3)


# ---------------------------------------------------------------------------------- map_location

@pytest.mark.parametrize("location", [None, "cpu", dn.device("cpu"), {"cpu": "cpu"}])
def test_map_location_cpu(location):
    t = dn.randn(2)
    loaded = _round_trip(t, map_location=location)
    assert loaded.device == dn.device("cpu")
    _same_tensor(t, loaded)
    _same_tensor(t, _round_trip(t, map_location=location, weights_only=False))


def _archive(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _npy(array, allow_pickle=False):
    out = io.BytesIO()
    np.save(out, array, allow_pickle=allow_pickle)
    return out.getvalue()


def _index(root, version=1):
    return json.dumps({"format": "dualnet", "version": version, "root": root})


def _tensor_node(dtype="float32", shape=(2,), device="cpu", file="tensors/0.npy"):
    return {"tensor": {"file": file, "dtype": dtype, "shape": list(shape), "requires_grad": False,
                       "device": device}}


def test_cuda_tensors_map_to_cpu():
    archive = {"index.json": _index(_tensor_node(device="cuda:0")),
               "tensors/0.npy": _npy(np.ones(2, np.float32))}
    loaded = dn.load(_archive(archive), map_location="cpu")
    assert loaded.device == dn.device("cpu") and loaded.tolist() == [1.0, 1.0]
    loaded = dn.load(_archive(archive), map_location={"cuda:0": "cpu"})
    assert loaded.device == dn.device("cpu")
    if not dn.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"saved on cuda:0.*map_location='cpu'"):
            dn.load(_archive(archive))


def test_map_location_bad_values():
    t = dn.ones(1)
    with pytest.raises(TypeError, match="map_location as a function"):
        _round_trip(t, map_location=lambda storage, location: storage)
    with pytest.raises(ValueError, match="map_location"):
        _round_trip(t, map_location="tpu")


# ---------------------------------------------------------------------------------- atomic writes

def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    old = {"w": dn.arange(4.0)}
    dn.save(old, path)
    old_bytes = path.read_bytes()
    write_array = np.lib.format.write_array
    calls = []

    def fail_on_second(fh, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fh.write(b"partial bytes")
            raise OSError("disk full (simulated)")
        return write_array(fh, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", fail_on_second)
    with pytest.raises(OSError, match="simulated"):
        dn.save({"a": dn.ones(1000), "b": dn.ones(1000)}, path)
    assert path.read_bytes() == old_bytes
    assert _files(tmp_path) == ["model.pt"]
    monkeypatch.undo()
    _same_tensor(old["w"], dn.load(path)["w"])


def test_failed_fsync_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    dn.save(dn.zeros(3), path)
    old_bytes = path.read_bytes()

    def fail(fd):
        raise OSError("I/O error (simulated)")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="simulated"):
        dn.save(dn.ones(3), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert _files(tmp_path) == ["model.pt"]


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "fresh.pt"
    dn.save(dn.ones(1), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dn.save(dn.ones(1), tmp_path / "nowhere" / "m.pt")


# ---------------------------------------------------------------------------------- bad objects

def test_unsupported_value_names_its_key_path(tmp_path):
    path = tmp_path / "m.pt"
    dn.save({"w": dn.ones(1)}, path)
    old_bytes = path.read_bytes()
    state = {"layer": {"weight": dn.ones(2), "fn": len}}
    with pytest.raises(TypeError, match=r"builtin_function_or_method at obj\['layer'\]\['fn'\]"):
        dn.save(state, path)
    assert path.read_bytes() == old_bytes  # nothing was written
    with pytest.raises(TypeError, match=r"obj\['layers'\]\[1\]"):
        dn.save({"layers": [1, object()]}, io.BytesIO())
    with pytest.raises(TypeError, match=r"can't save a set at obj"):
        dn.save({1, 2}, io.BytesIO())
    assert _files(tmp_path) == ["m.pt"]


def test_bad_inputs_to_save():
    with pytest.raises(TypeError, match="dict key"):
        dn.save({frozenset(): 1}, io.BytesIO())
    with pytest.raises(TypeError, match="NumPy array of dtype object"):
        dn.save(np.array([None, 1], dtype=object), io.BytesIO())
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="contains itself"):
        dn.save(cycle, io.BytesIO())
    with pytest.raises(TypeError, match="path .* or a binary file object"):
        dn.save(dn.ones(1), 42)
    with pytest.raises(ValueError, match="format must be 'dualnet', 'torch' or 'safetensors', "
                       "got 'pickle'"):
        dn.save(dn.ones(1), io.BytesIO(), format="pickle")


def test_shared_containers_are_fine():
    shared = [dn.ones(1)]
    loaded = _round_trip({"a": shared, "b": shared})
    assert loaded["a"][0] is loaded["b"][0]


# ---------------------------------------------------------------------------------- bad files

def test_not_an_archive(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"hello, this is not a model")
    with pytest.raises(RuntimeError, match=r"junk\.bin.*not a dualnet archive.*not a ZIP"):
        dn.load(path)
    with pytest.raises(TypeError, match="path .* or a binary file object"):
        dn.load(3.5)


def test_truncated_archive(tmp_path):
    path = tmp_path / "model.pt"
    dn.save({"w": dn.randn(100, 100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match=r"model\.pt.*truncated or corrupt"):
        dn.load(path)


def test_corrupt_entry(tmp_path):
    path = tmp_path / "model.pt"
    dn.save({"w": dn.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    at = data.index(b"\x93NUMPY") + 500  # inside the stored array's bytes
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=r"model\.pt. is corrupt"):
        dn.load(path)


def test_zip_that_is_not_a_dualnet_archive():
    with pytest.raises(RuntimeError, match="no index.json"):
        dn.load(_archive({"hello.txt": "hi"}))
    with pytest.raises(RuntimeError, match="not a dualnet index"):
        dn.load(_archive({"index.json": json.dumps({"something": "else"})}))
    with pytest.raises(RuntimeError, match="index.json can't be read"):
        dn.load(_archive({"index.json": "{not json"}))


@pytest.mark.parametrize("entries, pattern", [
    ({"index.json": _index(_tensor_node())}, r"names 'tensors/0.npy', which the archive lacks"),
    ({"index.json": _index(_tensor_node()), "tensors/0.npy": _npy(np.ones(2, np.float64))},
     r"holds float64 where index.json says float32"),
    ({"index.json": _index(_tensor_node(shape=(3,))),
      "tensors/0.npy": _npy(np.ones(2, np.float32))},
     r"has shape \[2\] where index.json says \[3\]"),
    ({"index.json": _index(_tensor_node()), "tensors/0.npy": b"\x93NUMPY garbage"},
     r"not a readable \.npy array"),
    ({"index.json": _index({"set": [1, 2]})}, r"unknown node 'set'"),
    ({"index.json": _index({"list": [1], "tuple": [2]})}, r"unexpected node"),
    ({"index.json": _index(1, version=99)}, r"format version 99.*upgrade dualnet"),
])
def test_inconsistent_archives(entries, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        dn.load(_archive(entries))


def test_pickled_arrays_are_refused_and_never_unpickled(monkeypatch):
    entries = {"index.json": _index({"ndarray": {"file": "tensors/0.npy", "dtype": "object",
                                                 "shape": [2]}}),
               "tensors/0.npy": _npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)}

    def no_unpickling(*args, **kwargs):
        raise AssertionError("load unpickled something")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with pytest.raises(RuntimeError, match="holds Python objects.*never unpickles"):
        dn.load(_archive(entries))
    entries["index.json"] = _index(_tensor_node(dtype="float32", shape=(2,)))
    with pytest.raises(RuntimeError, match="holds Python objects"):
        dn.load(_archive(entries))


def test_pickle_files_are_refused(tmp_path):
    path = tmp_path / "legacy.pt"
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    with pytest.raises(RuntimeError, match=r"legacy\.pt. is a pickle.*torch.save's ZIP format"):
        dn.load(path)


# ---------------------------------------------------------------------------------- torch files

def _torch_like(data_pkl, storages=None):
    entries = {"archive/data.pkl": data_pkl, "archive/version": "3\n",
               "archive/byteorder": "little"}
    for key, data in (storages or {}).items():
        entries[f"archive/data/{key}"] = data
    return _archive(entries)


def _torch_tensor_pickle(storage_type, key, numel, offset, size, stride):
    """Protocol-2 bytes of the record torch.save writes for one tensor (without torch)."""
    def tup(values):
        return b"(" + b"".join(b"K" + bytes([v]) for v in values) + b"t"
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(("
            + b"X\x07\x00\x00\x00storage"
            + b"ctorch\n" + storage_type + b"\n"
            + b"X" + len(key).to_bytes(4, "little") + key
            + b"X\x03\x00\x00\x00cpu" + b"K" + bytes([numel]) + b"tQ"
            + b"K" + bytes([offset]) + tup(size) + tup(stride)
            + b"\x89ccollections\nOrderedDict\n)RtR.")


def test_torch_record_without_torch():
    data = np.arange(6, dtype=np.float32).tobytes()
    record = _torch_tensor_pickle(b"FloatStorage", b"0", 6, 1, (2, 2), (3, 1))
    loaded = dn.load(_torch_like(record, {"0": data}))
    assert loaded.dtype == dn.float32 and loaded.tolist() == [[1.0, 2.0], [4.0, 5.0]]
    assert dn.load(_torch_like(b"\x80\x02}q\x00.")) == {}


@pytest.mark.parametrize("data_pkl, storages, pattern", [
    (_torch_tensor_pickle(b"FloatStorage", b"0", 6, 0, (2, 3), (3, 1)), {},
     r"names the storage 'archive/data/0', which the archive lacks"),
    (_torch_tensor_pickle(b"FloatStorage", b"0", 6, 0, (2, 3), (3, 1)), {"0": b"\x00" * 8},
     r"holds 8 bytes, less than 6 float32"),
    (_torch_tensor_pickle(b"FloatStorage", b"0", 6, 2, (2, 3), (3, 1)), {"0": b"\x00" * 24},
     r"reaches past its storage"),
    (_torch_tensor_pickle(b"BFloat16Storage", b"0", 1, 0, (1,), (1,)), {"0": b"\x00" * 2},
     r"torch BFloat16 tensor, a dtype dualnet does not have"),
    (b"\x80\x02}q\x00", {}, r"is corrupt: its data.pkl can't be read"),
])
def test_bad_torch_files(data_pkl, storages, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        dn.load(_torch_like(data_pkl, storages))


def test_torch_files_never_run_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = b"cos\nsystem\n(X" + len(f"touch {marker}").to_bytes(4, "little") + \
        f"touch {marker}".encode() + b"tR."
    with pytest.raises(RuntimeError, match=r"needs os.system, which is not a tensor record"):
        dn.load(_torch_like(b"\x80\x02" + payload))
    builtin = b"\x80\x02cbuiltins\neval\n(X\x04\x00\x00\x001+1tR."
    with pytest.raises(RuntimeError, match=r"needs builtins.eval"):
        dn.load(_torch_like(builtin))
    assert not marker.exists()


@pytest.mark.parity
def test_reads_torch_state_dicts(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(8, 3))
    model(torch.randn(4, 1, 4, 4)).sum().backward()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    optimizer.step()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    loaded = dn.load(path)
    expected = model.state_dict()
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(expected)
    for key, value in expected.items():
        assert loaded[key].dtype.name == str(value.dtype).replace("torch.", "")
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
    assert loaded["1.num_batches_tracked"].dtype == dn.int64
    assert loaded._metadata == expected._metadata

    torch.save(optimizer.state_dict(), path)
    state = dn.load(path, map_location="cpu")
    reference = optimizer.state_dict()
    assert state["param_groups"][0]["lr"] == 1e-3
    assert state["param_groups"][0]["betas"] == reference["param_groups"][0]["betas"]
    np.testing.assert_array_equal(state["state"][0]["exp_avg"].numpy(),
                                  reference["state"][0]["exp_avg"].numpy())


@pytest.mark.parity
def test_reads_torch_tensor_kinds(tmp_path):
    torch = pytest.importorskip("torch")
    base = torch.arange(12.0, dtype=torch.float64).reshape(3, 4)
    shared = torch.ones(2)
    obj = {"param": torch.nn.Parameter(torch.randn(2, 2)), "view": base[1:, ::2],
           "transposed": base.t(), "half": torch.ones(3, dtype=torch.float16),
           "flags": torch.tensor([True, False]), "int8": torch.tensor([-3, 4], dtype=torch.int8),
           "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3), "list": [shared, shared],
           "tuple": (1, "two", None)}
    path = tmp_path / "kinds.pt"
    torch.save(obj, path)
    loaded = dn.load(path)
    assert loaded["param"].requires_grad and loaded["param"].is_leaf
    for key in ("view", "transposed", "half", "flags", "int8", "scalar", "empty"):
        assert loaded[key].shape == tuple(obj[key].shape)
        np.testing.assert_array_equal(loaded[key].numpy(), obj[key].numpy())
        assert loaded[key].is_contiguous()
    assert loaded["list"][0] is loaded["list"][1]
    assert loaded["tuple"] == (1, "two", None)
    torch.save(torch.ones(2, 3), path)
    assert dn.load(path).shape == (2, 3)


# ---------------------------------------------------------------------------------- docs

def test_docstring_examples():
    result = doctest.testmod(serialization, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
