"""dn.save(obj, f, format="torch"): files that real torch.load(weights_only=True) reads."""
import collections
import io
import os
import zipfile

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn, optim

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

DTYPES = [dn.float32, dn.float64, dn.int64, dn.bool, dn.float16, dn.int32, dn.int16, dn.int8,
          dn.uint8]


def _torch_load(obj, **kwargs):
    buffer = io.BytesIO()
    dn.save(obj, buffer, format="torch")
    buffer.seek(0)
    return torch.load(buffer, weights_only=True, **kwargs)


def _check(dn_tensor, torch_tensor):
    assert str(torch_tensor.dtype) == f"torch.{dn_tensor.dtype.name}"
    assert tuple(torch_tensor.shape) == tuple(dn_tensor.shape)
    np.testing.assert_array_equal(torch_tensor.numpy(), dn_tensor.detach().numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=[d.name for d in DTYPES])
def test_dtypes(dtype):
    values = dn.tensor([[0, 1, 1], [1, 0, 1]]) if dtype == dn.bool else \
        dn.arange(-3, 3).reshape(2, 3) if dtype != dn.uint8 else dn.arange(6).reshape(2, 3)
    t = values.to(dtype)
    loaded = _torch_load({"t": t, "scalar": t[1, 2], "empty": dn.zeros(0, 2, dtype=dtype)})
    _check(t, loaded["t"])
    _check(t[1, 2], loaded["scalar"])
    _check(dn.zeros(0, 2, dtype=dtype), loaded["empty"])


def test_non_contiguous_views():
    base = dn.arange(24.0).reshape(4, 6)
    views = {"transposed": base.t(), "strided": base[1:, ::2], "column": base[:, 3],
             "expanded": dn.arange(3.0).expand(4, 3), "flipped": base.flip(0),
             "permuted": base.reshape(2, 3, 4).permute(2, 0, 1)}
    loaded = _torch_load(views)
    for key, view in views.items():
        _check(view, loaded[key])
    assert loaded["transposed"].stride() == (1, 6)  # the view itself, not a copy
    assert loaded["expanded"].stride() == (0, 1)


def test_views_of_one_buffer_share_one_storage():
    base = dn.arange(12.0).reshape(3, 4)
    state = {"base": base, "row": base[1], "odd": base[:, 1::2], "again": base}
    loaded = _torch_load(state)
    storage = loaded["base"].untyped_storage().data_ptr()
    assert loaded["row"].untyped_storage().data_ptr() == storage
    assert loaded["odd"].untyped_storage().data_ptr() == storage
    assert loaded["again"] is loaded["base"]  # the same tensor saved twice is one object
    loaded["base"][1, 1] = 100.0  # a write through one is seen by the views, as in torch
    assert loaded["row"][1].item() == 100.0 and loaded["odd"][1, 0].item() == 100.0
    archive = zipfile.ZipFile(_bytes(state))
    assert [n for n in archive.namelist() if "/data/" in n] == ["archive/data/0"]


def test_nested_containers_and_plain_values():
    obj = collections.OrderedDict(a=[dn.ones(2), (1, "two", None)], b={"x": 2.5, 3: True},
                                  c=2 ** 70, d=-(2 ** 40), e=-7, f=float("inf"), g=(), h=[],
                                  k={(1, "t"): "tuple key"})
    loaded = _torch_load(obj)
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(obj)
    _check(obj["a"][0], loaded["a"][0])
    assert loaded["a"][1] == (1, "two", None) and loaded["b"] == {"x": 2.5, 3: True}
    assert (loaded["c"], loaded["d"], loaded["e"], loaded["f"]) == (2 ** 70, -(2 ** 40), -7,
                                                                    float("inf"))
    assert loaded["g"] == () and loaded["h"] == [] and loaded["k"] == {(1, "t"): "tuple key"}


def test_requires_grad_is_kept():
    loaded = _torch_load({"p": nn.Parameter(dn.ones(2)), "t": dn.ones(2)})
    assert loaded["p"].requires_grad and not loaded["t"].requires_grad


def _twin_models():
    dn.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.LayerNorm(5))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
                                 torch.nn.ReLU(), torch.nn.Flatten(),
                                 torch.nn.Linear(3 * 4 * 4, 5), torch.nn.LayerNorm(5))
    return ours, theirs


def test_model_state_dict_loads_into_torch_with_identical_outputs(tmp_path):
    ours, theirs = _twin_models()
    x = np.random.default_rng(0).standard_normal((4, 1, 4, 4)).astype(np.float32)
    ours(dn.from_numpy(x))  # a training-mode step: BatchNorm's running stats move
    path = tmp_path / "model.pt"
    dn.save(ours.state_dict(), path, format="torch")
    state = torch.load(path, weights_only=True)
    assert state._metadata == ours.state_dict()._metadata
    theirs.load_state_dict(state)  # strict: same keys, shapes and dtypes
    assert state["1.num_batches_tracked"].dtype == torch.int64
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(dn.from_numpy(x)).detach().numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    mapped = torch.load(path, weights_only=True, mmap=True)  # storages are 64-byte aligned
    np.testing.assert_array_equal(mapped["4.weight"].numpy(), state["4.weight"].numpy())
    again = dn.load(path)  # and dualnet reads its own torch file back
    assert list(again) == list(state)
    np.testing.assert_array_equal(again["0.weight"].numpy(), ours[0].weight.detach().numpy())


def test_optimizer_state_dict(tmp_path):
    model = nn.Linear(3, 2)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    model(dn.ones(1, 3)).sum().backward()
    optimizer.step()
    path = tmp_path / "optimizer.pt"
    dn.save(optimizer.state_dict(), path, format="torch")
    state = torch.load(path, weights_only=True)
    assert state["param_groups"][0]["lr"] == 0.01 and state["param_groups"][0]["params"] == [0, 1]
    _check(optimizer.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"])
    reference = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.01)
    reference.load_state_dict(state)  # the layout is torch's


def test_save_is_atomic_and_refuses_what_torch_would_not_load(tmp_path):
    path = tmp_path / "w.pt"
    dn.save({"w": dn.ones(2)}, path, format="torch")
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"a ndarray at obj\['bad'\]\[1\].*dn.from_numpy"):
        dn.save({"w": dn.zeros(2), "bad": [1, np.ones(2)]}, path, format="torch")
    with pytest.raises(TypeError, match=r"can't save a set at obj\['s'\]"):
        dn.save({"s": {1, 2}}, path, format="torch")
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["w.pt"]
    cycle = {}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="contains itself"):
        dn.save(cycle, io.BytesIO(), format="torch")


def test_deterministic_bytes():
    state = {"w": dn.arange(4.0), "b": dn.ones(1)}
    assert _bytes(state).getvalue() == _bytes(state).getvalue()


def _bytes(obj):
    buffer = io.BytesIO()
    dn.save(obj, buffer, format="torch")
    buffer.seek(0)
    return buffer
