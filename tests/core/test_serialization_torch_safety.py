"""Reading torch files safely: the restricted unpickler accepts tensor records only, broken
archives are named, and load_state_dict of a file that does not fit changes nothing."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from dualnet.core.serialization_torch import UnsafePickleError

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity


def _torch_file(path, obj):
    torch.save(obj, path)
    return path


def _replace_pickle(path, data_pkl):
    """Rewrite the torch file at `path` with `data_pkl` in place of its data.pkl."""
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data_pkl if name.endswith("/data.pkl") else data)
    return path


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol_torch_writes(tmp_path, protocol):
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    path = tmp_path / "p.pt"
    torch.save(model.state_dict(), path, pickle_protocol=protocol)
    loaded, expected = dn.load(path), model.state_dict()
    assert list(loaded) == list(expected) and loaded._metadata == expected._metadata
    for key, value in expected.items():
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())


def test_plain_values_torch_allows_load(tmp_path):
    values = {"bytes": b"\x00\xff", "set": {1, 2}, "bytearray": bytearray(b"xy"),
              "complex": 1 + 2j, "nested": [{"lr": 0.1, "n": None}]}
    path = _torch_file(tmp_path / "values.pt", values)
    assert torch.load(path, weights_only=True) == values
    assert dn.load(path) == values


class _System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_pickle_asking_for_os_system_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = _torch_file(tmp_path / "evil.pt", {"w": torch.ones(2)})
    _replace_pickle(path, pickle.dumps({"w": _System(f"touch {marker}")}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"evil\.pt.*needs (posix|os)\.system"):
        dn.load(path)
    with pytest.raises(pickle.UnpicklingError):  # torch refuses it too
        torch.load(path, weights_only=True)
    assert not marker.exists()


@pytest.mark.parametrize("payload, global_name", [
    (pickle.dumps(eval, protocol=2), "(__builtin__|builtins).eval"),
    (pickle.dumps(np.ones(2), protocol=2), "numpy"),
    (pickle.dumps(io.BytesIO, protocol=4), "_io.BytesIO"),
], ids=["eval", "numpy-array", "protocol-4-class"])
def test_any_other_global_is_refused(tmp_path, payload, global_name):
    path = _replace_pickle(_torch_file(tmp_path / "g.pt", torch.ones(1)), payload)
    with pytest.raises(UnsafePickleError, match=rf"g\.pt.*needs {global_name}"):
        dn.load(path)


def test_a_whole_pickled_module_is_refused(tmp_path):
    path = _torch_file(tmp_path / "module.pt", torch.nn.Linear(2, 2))  # torch.save(model)
    with pytest.raises(UnsafePickleError, match=r"module\.pt.*needs torch\.nn\.modules\.linear"
                                                r"\.Linear, which is not a tensor record"):
        dn.load(path)
    assert isinstance(UnsafePickleError("x"), RuntimeError)  # dn.load's other errors' class


def _tensor_record(extra=b""):
    """Protocol-2 opcodes of one float32 tensor of 2 elements stored under key '0'."""
    return (b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQ"
            b"K\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR" + extra)


@pytest.mark.parametrize("body, pattern", [
    # BUILD on a tensor would set any attribute (its array, its autograd state)
    (_tensor_record(b"}X\x05\x00\x00\x00_dataX\x01\x00\x00\x00xsb."),
     r"sets the state of a Tensor"),
    # BUILD on one of our rebuild functions would change it for every later load
    (b"ctorch._utils\n_rebuild_parameter\nN}X\x0c\x00\x00\x00__defaults__)s\x86b.",
     r"sets the state of a function"),
    # objects made without a global: NEWOBJ on a class, INST
    (b"ccollections\nOrderedDict\n)\x81.", r"opcode NEWOBJ"),
    (b"(icollections\nOrderedDict\n.", r"opcode INST"),
    # calling something that is not one of the allowed rebuilders
    (_tensor_record(b")R."), r"calls tensor"),
], ids=["build-tensor", "build-function", "newobj", "inst", "call-tensor"])
def test_opcodes_that_build_more_than_weights_are_refused(tmp_path, body, pattern):
    path = _torch_file(tmp_path / "op.pt", torch.ones(2))
    _replace_pickle(path, b"\x80\x02" + body)
    with pytest.raises(UnsafePickleError, match=rf"op\.pt.*{pattern}"):
        dn.load(path)
    assert dn.load(_torch_file(tmp_path / "fine.pt", torch.ones(2))).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("body", [b"K\x01\x86.", b"(K\x01d.", b"}K\x01s.", b"h\x05.", b"K\x01",
                                  b"\xff."], ids=["short-tuple2", "odd-dict", "short-setitem",
                                                   "unknown-memo", "no-stop", "bad-opcode"])
def test_malformed_pickles_are_corrupt_files(tmp_path, body):
    path = _replace_pickle(_torch_file(tmp_path / "malformed.pt", torch.ones(1)),
                           b"\x80\x02" + body)
    with pytest.raises(RuntimeError, match=r"malformed\.pt. is corrupt: its data\.pkl can't be "
                                           r"read"):
        dn.load(path)


def test_strides_reaching_outside_the_storage_are_refused(tmp_path):
    # a negative stride would read memory in front of the storage
    record = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
              b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQ"
              b"K\x00K\x04\x85J\xff\xff\xff\xff\x85\x89ccollections\nOrderedDict\n)RtR.")
    path = _replace_pickle(_torch_file(tmp_path / "strides.pt", torch.ones(2)), record)
    with pytest.raises(RuntimeError, match=r"strides\.pt.*is corrupt.*reaches past its storage"):
        dn.load(path)


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_torch_file_names_the_file(tmp_path, cut):
    path = _torch_file(tmp_path / "cut.pt", {"w": torch.randn(64, 64)})
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(RuntimeError, match=r"cut\.pt.*(truncated or corrupt|is corrupt)"):
        dn.load(path)


def test_corrupt_storage_bytes_name_the_file(tmp_path):
    path = _torch_file(tmp_path / "bad.pt", {"w": torch.randn(8)})
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data[:4] if name.endswith("/data/0") else data)
    with pytest.raises(RuntimeError, match=r"bad\.pt.*is corrupt: storage 'bad/data/0' holds 4 "
                                           r"bytes"):
        dn.load(path)


# ------------------------------------------------------------- load_state_dict: all or nothing

def _ours():
    dn.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _snapshot(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _theirs_state(edit):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                torch.nn.Linear(4, 2))
    state = model.state_dict()
    edit(state)
    return state


@pytest.mark.parametrize("edit, pattern", [
    (lambda s: s.pop("2.bias"), r'Missing key\(s\) in state_dict: "2\.bias"'),
    (lambda s: s.update(extra=torch.ones(1)), r'Unexpected key\(s\) in state_dict: "extra"'),
    (lambda s: s.update({"2.weight": torch.ones(2, 5)}),
     r"size mismatch for 2\.weight: the state_dict holds shape \[2, 5\] but the model's is "
     r"\[2, 4\]"),
], ids=["missing", "extra", "mis-shaped"])
def test_a_file_that_does_not_fit_names_the_tensor_and_changes_nothing(tmp_path, edit, pattern):
    path = _torch_file(tmp_path / "weights.pt", _theirs_state(edit))
    model = _ours()
    before = _snapshot(model)
    parameters = [id(p) for p in model.parameters()]
    with pytest.raises(RuntimeError, match=pattern):
        model.load_state_dict(dn.load(path))
    after = _snapshot(model)
    assert list(after) == list(before) and [id(p) for p in model.parameters()] == parameters
    for key in before:  # "0.weight" comes first and fits: it must not have been copied either
        np.testing.assert_array_equal(after[key], before[key])
    with pytest.raises(RuntimeError, match=pattern):
        model.load_state_dict(dn.load(path), assign=True)
    for key, value in _snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])
    model.load_state_dict(dn.load(_torch_file(tmp_path / "good.pt", _theirs_state(lambda s: 0))))
    np.testing.assert_array_equal(model[0].weight.detach().numpy(),
                                  _theirs_state(lambda s: 0)["0.weight"].numpy())
