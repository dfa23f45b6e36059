"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict behave as torch's
(indexing, slicing, mutation, naming, error classes, repr)."""
from collections import OrderedDict

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from _twins import make_classes

Affine, Net = make_classes(dn)


class AddConst(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return x + self.value

    def extra_repr(self):
        return f"value={self.value}"


# ------------------------------------------------------------------------------ Sequential


def test_sequential_forward_and_forms():
    seq = nn.Sequential(AddConst(1), AddConst(10))
    assert seq(dn.tensor([0.0])).item() == 11.0
    named = nn.Sequential(OrderedDict([("first", AddConst(1)), ("second", AddConst(2))]))
    assert [n for n, _ in named.named_children()] == ["first", "second"]
    assert named.second.value == 2
    assert nn.Sequential()(dn.tensor([3.0])).item() == 3.0  # empty: identity


def test_sequential_indexing_and_slicing():
    mods = [AddConst(i) for i in range(4)]
    seq = nn.Sequential(*mods)
    assert seq[0] is mods[0] and seq[-1] is mods[3] and seq[-4] is mods[0]
    part = seq[1:3]
    assert isinstance(part, nn.Sequential) and list(part) == mods[1:3]
    assert [n for n, _ in part.named_children()] == ["1", "2"]  # torch keeps the names
    assert len(seq) == 4 and list(seq) == mods
    for bad in (4, -5):
        with pytest.raises(IndexError):
            seq[bad]
    with pytest.raises(TypeError):
        seq["0"]


def test_sequential_mutation():
    seq = nn.Sequential(AddConst(0), AddConst(1), AddConst(2))
    new = AddConst(9)
    seq[1] = new
    assert seq[1] is new
    with pytest.raises(TypeError):
        seq[0] = 3
    del seq[0]
    assert [m.value for m in seq] == [9, 2]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]  # renumbered
    seq.append(AddConst(3)).extend([AddConst(4), AddConst(5)])
    assert [m.value for m in seq] == [9, 2, 3, 4, 5]
    seq.insert(0, AddConst(-1))
    seq.insert(-1, AddConst(45))
    assert [m.value for m in seq] == [-1, 9, 2, 3, 4, 45, 5]
    with pytest.raises(IndexError):
        seq.insert(100, AddConst(0))
    del seq[1:3]
    assert [m.value for m in seq] == [-1, 3, 4, 45, 5]
    assert seq.pop(0).value == -1
    with pytest.raises(TypeError):
        seq.append("relu")
    with pytest.raises(TypeError):
        nn.Sequential(AddConst(1), 3)
    both = nn.Sequential(AddConst(1)) + nn.Sequential(AddConst(2))
    assert [m.value for m in both] == [1, 2]
    tripled = nn.Sequential(AddConst(1)) * 3
    assert len(tripled) == 3 and tripled(dn.tensor([0.0])).item() == 3.0


def test_sequential_of_parameters_state_dict():
    seq = nn.Sequential(Affine(2, 3), AddConst(1), Affine(3, 1))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "0.calls", "2.weight", "2.bias",
                                      "2.calls"]
    out = seq(dn.ones(5, 2))
    assert out.shape == (5, 1)
    out.sum().backward()
    assert seq[0].weight.grad.shape == (3, 2)


@pytest.mark.parity
def test_sequential_repr_matches_torch():
    torch = pytest.importorskip("torch")
    TorchAffine, _ = make_classes(torch)
    ours = nn.Sequential(Affine(2, 3), nn.Sequential(Affine(3, 3), Affine(3, 1)))
    theirs = torch.nn.Sequential(TorchAffine(2, 3),
                                 torch.nn.Sequential(TorchAffine(3, 3), TorchAffine(3, 1)))
    assert repr(ours) == repr(theirs)
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential()) == "Sequential()"


# ------------------------------------------------------------------------------ ModuleList


def test_module_list():
    mods = [AddConst(i) for i in range(3)]
    ml = nn.ModuleList(mods)
    assert len(ml) == 3 and list(ml) == mods and ml[-1] is mods[2]
    assert isinstance(ml[:2], nn.ModuleList) and list(ml[:2]) == mods[:2]
    with pytest.raises(IndexError):
        ml[3]
    with pytest.raises(IndexError):
        ml[-4]
    ml.append(AddConst(3))
    ml += [AddConst(4)]
    ml.extend(nn.ModuleList([AddConst(5)]))
    assert [m.value for m in ml] == [0, 1, 2, 3, 4, 5]
    ml.insert(1, AddConst(10))
    assert [m.value for m in ml][:3] == [0, 10, 1]
    ml[0] = AddConst(-1)
    assert ml[0].value == -1
    del ml[1]
    assert [n for n, _ in ml.named_children()] == [str(i) for i in range(6)]
    assert ml.pop(-1).value == 5
    with pytest.raises(TypeError):
        ml.append(3)
    with pytest.raises(TypeError):
        ml.extend(AddConst(1))
    with pytest.raises(TypeError):
        nn.ModuleList([AddConst(1), "x"])
    with pytest.raises(NotImplementedError):
        ml(dn.zeros(1))
    joined = nn.ModuleList([AddConst(1)]) + nn.ModuleList([AddConst(2)])
    assert [m.value for m in joined] == [1, 2]


def test_module_list_parameters_registered():
    ml = nn.ModuleList([Affine(2, 2), Affine(2, 2)])
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


@pytest.mark.parity
def test_module_list_repr_groups_repeats_like_torch():
    torch = pytest.importorskip("torch")
    TorchAffine, _ = make_classes(torch)
    shapes = [(2, 2), (2, 2), (2, 2), (2, 1), (2, 2), (2, 2)]
    ours = nn.ModuleList([Affine(*s) for s in shapes])
    theirs = torch.nn.ModuleList([TorchAffine(*s) for s in shapes])
    assert repr(ours) == repr(theirs)
    assert "(0-2): 3 x Affine" in repr(ours)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


# ------------------------------------------------------------------------------ ModuleDict


def test_module_dict():
    md = nn.ModuleDict({"b": AddConst(1), "a": AddConst(2)})
    assert list(md) == ["b", "a"] and list(md.keys()) == ["b", "a"]
    assert md["a"].value == 2 and "a" in md and "z" not in md and len(md) == 2
    md["c"] = AddConst(3)
    md.update([("d", AddConst(4))])
    md.update(OrderedDict([("e", AddConst(5))]))
    assert [m.value for m in md.values()] == [1, 2, 3, 4, 5]
    assert [n for n, _ in md.named_children()] == ["b", "a", "c", "d", "e"]
    assert md.pop("a").value == 2
    del md["b"]
    assert list(md) == ["c", "d", "e"]
    with pytest.raises(KeyError):
        md["missing"]
    with pytest.raises(TypeError):
        md["x"] = 3
    with pytest.raises(TypeError):
        md.update(3)
    with pytest.raises(ValueError):
        md.update([("k", AddConst(1), "extra")])
    md.clear()
    assert len(md) == 0


# ------------------------------------------------------------------------ parameter containers


def test_parameter_list():
    pl = nn.ParameterList([nn.Parameter(dn.zeros(2)), dn.ones(3)])
    assert len(pl) == 2
    assert isinstance(pl[1], nn.Parameter) and pl[1].requires_grad  # a tensor gets wrapped
    pl.append(dn.zeros(1))
    pl += [dn.zeros(4)]
    assert [tuple(p.shape) for p in pl] == [(2,), (3,), (1,), (4,)]
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2", "3"]
    assert pl[-1].shape == (4,)
    assert isinstance(pl[1:3], nn.ParameterList) and len(pl[1:3]) == 2
    with pytest.raises(IndexError):
        pl[4]
    replacement = nn.Parameter(dn.full((2,), 7.0))
    pl[0] = replacement
    assert pl[0] is replacement
    with pytest.raises(TypeError):
        pl.extend(dn.zeros(2))


def test_parameter_list_in_module_trains():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([nn.Parameter(dn.ones(2)) for _ in range(2)])

        def forward(self):
            return self.ps[0] * self.ps[1]

    h = Holder()
    assert list(h.state_dict()) == ["ps.0", "ps.1"]
    h().sum().backward()
    assert h.ps[0].grad.tolist() == [1.0, 1.0]


def test_parameter_dict():
    pd = nn.ParameterDict(OrderedDict([("w", nn.Parameter(dn.ones(2))), ("b", dn.zeros(1))]))
    assert list(nn.ParameterDict({"w": dn.ones(1), "b": dn.ones(1)})) == ["b", "w"]  # sorted
    assert list(pd) == ["w", "b"] and len(pd) == 2 and "w" in pd
    assert isinstance(pd["b"], nn.Parameter)
    pd["c"] = dn.zeros(3)
    pd.update([("d", dn.zeros(1))])
    assert [n for n, _ in pd.named_parameters()] == ["w", "b", "c", "d"]
    assert pd.pop("c").shape == (3,)
    assert pd.get("zz") is None and pd.get("w") is pd["w"]
    assert list(pd.keys()) == ["w", "b", "d"]
    assert [k for k, _ in pd.items()] == ["w", "b", "d"]
    del pd["w"]
    assert "w" not in pd and len(list(pd.parameters())) == 2
    with pytest.raises(KeyError):
        pd["w"]
    with pytest.raises(TypeError):
        pd[3] = dn.zeros(1)
    with pytest.raises(ValueError):
        pd.update([("k",)])
    copied = pd.copy()
    assert list(copied) == list(pd) and copied["b"] is pd["b"]
    assert pd.popitem()[0] == "d"
    pd.clear()
    assert len(pd) == 0


@pytest.mark.parity
def test_parameter_containers_state_dict_like_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Module()
    ours.pl = nn.ParameterList([dn.zeros(2), dn.zeros(3)])
    ours.pd = nn.ParameterDict({"x": dn.zeros(1), "a": dn.zeros(2)})
    theirs = torch.nn.Module()
    theirs.pl = torch.nn.ParameterList([torch.zeros(2), torch.zeros(3)])
    theirs.pd = torch.nn.ParameterDict({"x": torch.zeros(1), "a": torch.zeros(2)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]


def test_parameter_containers_repr():
    pl = nn.ParameterList([dn.zeros(2, 3), nn.Parameter(dn.zeros(2, dtype=dn.float64))])
    assert repr(pl) == ("ParameterList(\n"
                        "    (0): Parameter containing: [dualnet.float32 of size 2x3]\n"
                        "    (1): Parameter containing: [dualnet.float64 of size 2]\n)")
    pd = nn.ParameterDict({"a": dn.zeros(2, 3)})
    assert repr(pd) == ("ParameterDict(  (a): Parameter containing: "
                        "[dualnet.FloatTensor of size 2x3])")
    with pytest.raises(RuntimeError):
        pl()
    assert np.allclose(pl[0].detach().numpy(), 0)
