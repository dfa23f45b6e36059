"""nn.Module and nn.Parameter: registration, naming order, modes, conversion, state_dict, hooks and
repr, each checked against torch.nn on the same module tree where torch is installed."""
import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from _twins import make_classes

Affine, Net = make_classes(dn)


def _torch():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------------------ Parameter


def test_parameter_shares_memory_and_is_a_leaf():
    t = dn.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, dn.Tensor) and isinstance(p, nn.Parameter)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    t[0] = 5.0
    assert p.tolist() == [5.0, 2.0]
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_op_results_are_plain_tensors():
    p = nn.Parameter(dn.ones(2))
    for out in (p * 2, p + p, p.sum(), p.detach(), p.data, p.reshape(2, 1), p.to(dn.float64)):
        assert type(out) is dn.Tensor


def test_parameter_repr():
    assert repr(nn.Parameter(dn.tensor([0.0, 1.0]))) == \
        "Parameter containing:\ntensor([0., 1.], requires_grad=True)"


def test_parameter_integer_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(dn.tensor([1, 2]))
    assert nn.Parameter(dn.tensor([1, 2]), requires_grad=False).dtype == dn.int64
    with pytest.raises(TypeError):
        nn.Parameter([1.0, 2.0])


def test_parameter_deepcopy_and_pickle_stay_parameters():
    p = nn.Parameter(dn.tensor([1.0, 2.0]))
    for clone in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(clone) is nn.Parameter and clone.requires_grad
        assert clone.tolist() == [1.0, 2.0]
        clone.data.zero_()
        assert p.tolist() == [1.0, 2.0]


def test_parameter_gets_gradient():
    p = nn.Parameter(dn.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]


# ------------------------------------------------------------------------------ registration


def test_registration_and_naming_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "body.0.weight", "body.0.bias", "body.1.weight",
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias", "heads.2.weight",
        "heads.2.bias", "table.b.weight", "table.b.bias"]
    assert [n for n, _ in net.named_buffers()][:3] == ["steps", "fc1.calls", "fc1.scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "body", "heads", "table"]
    assert [n for n, _ in net.named_modules()][:5] == ["", "fc1", "body", "body.0", "body.1"]
    assert len(list(net.parameters(recurse=False))) == 1
    assert [n for n, _ in net.named_parameters(prefix="model", recurse=False)] == ["model.scale"]
    assert net.fc1.bias is net.fc1._parameters["bias"]


@pytest.mark.parity
def test_naming_matches_torch():
    torch = _torch()
    _, TorchNet = make_classes(torch)
    ours, theirs = Net(), TorchNet()
    for method in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, method)()] == \
            [n for n, _ in getattr(theirs, method)()], method
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_shared_parameters_are_listed_once():
    net = nn.Sequential(Affine(2, 2))
    net.append(net[0])
    assert len(list(net.parameters())) == 2
    assert len(list(net.named_parameters(remove_duplicate=False))) == 4
    assert len(list(net.modules())) == 2
    assert len(list(net.named_modules(remove_duplicate=False))) == 3


def test_setattr_moves_between_kinds_and_delattr():
    m = nn.Module()
    m.x = nn.Parameter(dn.zeros(1))
    assert "x" in m._parameters
    m.x = None  # a registered parameter may be set to None
    assert m._parameters["x"] is None and m.x is None
    with pytest.raises(TypeError):  # a registered parameter takes only a Parameter or None
        m.x = Affine(1, 1)
    m.x = nn.Parameter(dn.zeros(1))
    m.register_buffer("x2", dn.zeros(1))
    m.x2 = nn.Parameter(dn.zeros(1))  # a Parameter replaces a buffer of the same name
    assert "x2" in m._parameters and "x2" not in m._buffers
    del m.x
    m.x = Affine(1, 1)  # now a submodule
    assert "x" in m._modules and "x" not in m._parameters
    m.register_buffer("b", dn.zeros(1))
    m.b = dn.ones(2)
    assert m._buffers["b"].tolist() == [1.0, 1.0]
    del m.x, m.b
    assert "x" not in m._modules and "b" not in m._buffers
    m.plain = 3
    assert m.plain == 3 and "plain" in m.__dict__
    del m.plain
    with pytest.raises(AttributeError):
        m.plain


def test_assigning_a_tensor_to_a_parameter_is_a_type_error():
    m = Affine(2, 2)
    with pytest.raises(TypeError, match="weight"):
        m.weight = dn.zeros(2, 2)
    with pytest.raises(TypeError, match="buffer"):
        m.calls = [1.0]
    with pytest.raises(TypeError, match="submodule"):
        seq = nn.Sequential(Affine(1, 1))
        setattr(seq, "0", 3)


def test_missing_attribute_message():
    class Net2(nn.Module):
        pass
    with pytest.raises(AttributeError, match="'Net2' object has no attribute 'foo'"):
        Net2().foo


def test_register_errors():
    m = nn.Module()
    with pytest.raises(TypeError):
        m.register_parameter("p", dn.zeros(1))
    with pytest.raises(KeyError):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError):
        m.register_buffer("", dn.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer(1, dn.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer("b", [1.0])
    with pytest.raises(TypeError):
        m.add_module("child", 3)
    m.attr = 1
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("attr", dn.zeros(1))
    non_leaf = nn.Parameter(dn.ones(1)) * 2
    leaf = nn.Parameter(dn.ones(1))
    leaf.grad_fn = non_leaf.grad_fn  # a Parameter carrying history is refused
    with pytest.raises(ValueError, match="leaf"):
        m.register_parameter("q", leaf)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(dn.zeros(1))
    with pytest.raises(AttributeError, match="__init__"):
        Early()


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("body.1") is net.body[1]
    assert net.get_submodule("") is net
    assert net.get_parameter("heads.2.bias") is net.heads[2].bias
    assert net.get_buffer("fc1.calls") is net.fc1.calls
    with pytest.raises(AttributeError):
        net.get_submodule("body.7")
    with pytest.raises(AttributeError):
        net.get_parameter("fc1.nothing")
    net.register_module("extra", Affine(1, 1))
    assert net.extra is net.get_submodule("extra")


def test_forward_missing_is_not_implemented():
    class Net3(nn.Module):
        pass
    with pytest.raises(NotImplementedError, match=r'Module \[Net3\] is missing the required '
                                                  r'"forward" function'):
        Net3()(dn.zeros(1))


def test_init_rejects_arguments():
    with pytest.raises(TypeError):
        nn.Module(3)


# ------------------------------------------------------------------------------ modes, to, grads


def test_train_eval():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")


def test_to_dtype_keeps_parameter_identity():
    net = Net()
    weight = net.fc1.weight
    net.fc1.weight.grad = dn.ones(4, 3)
    assert net.to(dn.float64) is net
    assert net.fc1.weight is weight and isinstance(weight, nn.Parameter)
    assert weight.dtype == dn.float64 and weight.grad.dtype == dn.float64
    assert net.fc1.calls.dtype == dn.float64
    assert net.steps.dtype == dn.int64  # integer buffers keep their dtype
    net.float()
    assert weight.dtype == dn.float32 and weight.requires_grad
    net.double().half()
    assert weight.dtype == dn.float16
    net.to(dn.zeros(1, dtype=dn.float32))
    assert weight.dtype == dn.float32
    net.to("cpu").cpu()
    assert weight.device.type == "cpu"
    with pytest.raises(TypeError, match="floating point"):
        net.to(dn.int64)
    out = net(dn.ones(2, 3))
    out.sum().backward()
    assert weight.grad.shape == (4, 3)


def test_zero_grad_and_requires_grad():
    m = Affine(2, 2)
    (m(dn.ones(1, 2)).sum()).backward()
    assert m.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert m.weight.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_apply_visits_children_first():
    net = Net()
    seen = []
    assert net.apply(lambda mod: seen.append(mod)) is net
    assert seen[-1] is net and seen[0] is net.fc1
    assert len(seen) == len(list(net.modules()))


# ------------------------------------------------------------------------------ state_dict


def test_state_dict_keys_values_detached():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert "fc1.scratch" not in sd and "fc1.calls" in sd and "steps" in sd
    assert not sd["fc1.weight"].requires_grad and type(sd["fc1.weight"]) is dn.Tensor
    sd["fc1.weight"][0, 0] = 42.0  # shares memory with the parameter, like torch
    assert net.fc1.weight[0, 0].item() == 42.0
    kept = net.state_dict(keep_vars=True)
    assert kept["fc1.weight"] is net.fc1.weight
    prefixed = net.state_dict(prefix="model.")
    assert list(prefixed) == ["model." + k for k in sd]


@pytest.mark.parity
def test_state_dict_loads_into_torch_and_back():
    torch = _torch()
    _, TorchNet = make_classes(torch)
    ours, theirs = Net(), TorchNet()
    with dn.no_grad():
        ours.fc1.weight.mul_(3.0)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    assert np.allclose(theirs.fc1.weight.detach().numpy(), ours.fc1.weight.detach().numpy())
    fresh = Net()
    result = fresh.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert np.allclose(fresh.fc1.weight.detach().numpy(), ours.fc1.weight.detach().numpy())


def test_load_state_dict_copies_in_place():
    src, dst = Affine(2, 3), Affine(2, 3)
    with dn.no_grad():
        src.weight.fill_(7.0)
    weight = dst.weight
    dst.load_state_dict(src.state_dict())
    assert dst.weight is weight and weight.tolist() == [[7.0] * 2] * 3
    assert weight.requires_grad
    src.weight.data.fill_(1.0)
    assert weight[0, 0].item() == 7.0  # a copy, not an alias


def test_load_state_dict_strict_lists_every_problem():
    net = Affine(2, 3)
    bad = {"weight": dn.zeros(2, 2), "calls": dn.zeros(1), "extra.w": dn.zeros(1),
           "junk": dn.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Affine:")
    assert '"bias"' in message and "Missing key(s)" in message
    assert '"extra.w"' in message and '"junk"' in message and "Unexpected key(s)" in message
    assert "weight" in message and "[2, 2]" in message and "[3, 2]" in message


def test_load_state_dict_non_strict_reports_keys():
    net = Net()
    sd = net.state_dict()
    del sd["fc1.bias"]
    sd["fc1.other"] = dn.zeros(1)
    sd["nothing.at.all"] = dn.zeros(1)
    result = Net().load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.bias"]
    assert sorted(result.unexpected_keys) == ["fc1.other", "nothing.at.all"]
    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked regardless
        Net().load_state_dict({"fc1.weight": dn.zeros(1)}, strict=False)


@pytest.mark.parity
def test_load_state_dict_reports_same_keys_as_torch():
    torch = _torch()
    TorchAffine, TorchNet = make_classes(torch)
    sd = Net().state_dict()
    del sd["heads.1.bias"], sd["steps"]
    sd["table.b.nope"] = dn.zeros(1)
    sd["body.5.weight"] = dn.zeros(1)
    ours = Net().load_state_dict(sd, strict=False)
    theirs = TorchNet().load_state_dict({k: torch.from_numpy(v.numpy().copy())
                                         for k, v in sd.items()}, strict=False)
    assert ours.missing_keys == theirs.missing_keys
    assert ours.unexpected_keys == theirs.unexpected_keys


def test_load_state_dict_type_errors_and_numpy():
    net = Affine(1, 2)
    with pytest.raises(TypeError):
        net.load_state_dict([("weight", dn.zeros(2, 1))])
    with pytest.raises(RuntimeError, match="weight"):
        net.load_state_dict({"weight": "not a tensor", "bias": dn.zeros(2), "calls": dn.zeros(1)})
    net.load_state_dict({"weight": np.full((2, 1), 3.0), "bias": np.zeros(2, np.float64),
                         "calls": np.ones(1)})
    assert net.weight.tolist() == [[3.0], [3.0]] and net.weight.dtype == dn.float32


def test_load_state_dict_assign():
    net = Affine(1, 2)
    new_weight = dn.full((2, 1), 5.0)
    net.load_state_dict({"weight": new_weight, "bias": dn.zeros(2), "calls": dn.zeros(1)},
                        assign=True)
    assert isinstance(net.weight, nn.Parameter) and net.weight.requires_grad
    new_weight[0, 0] = 9.0
    assert net.weight[0, 0].item() == 9.0  # assigned, not copied


def test_state_dict_hooks_customise_loading():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("count", dn.zeros(1))

        def _load_from_state_dict(self, state_dict, prefix, *rest):
            state_dict.setdefault(prefix + "count", dn.tensor([-1.0]))  # old files lacked it
            super()._load_from_state_dict(state_dict, prefix, *rest)

    outer = nn.Sequential(Counter())
    assert outer.load_state_dict({}).missing_keys == []
    assert outer[0].count.tolist() == [-1.0]

    class WithExtra(nn.Module):
        def get_extra_state(self):
            return {"note": 1}

        def set_extra_state(self, state):
            self.note = state["note"]

    m = WithExtra()
    assert m.state_dict()["_extra_state"] == {"note": 1}
    m.load_state_dict({"_extra_state": {"note": 2}})
    assert m.note == 2
    seen = []
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(keys))
    m.load_state_dict({"_extra_state": {"note": 3}})
    assert seen and seen[0].missing_keys == []


def test_state_dict_metadata_version():
    sd = Net().state_dict()
    assert sd._metadata["fc1"] == {"version": 1} and sd._metadata[""] == {"version": 1}


# ------------------------------------------------------------------------------ hooks


def test_forward_pre_and_forward_hooks():
    m = Affine(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append(("pre", len(args))))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", tuple(out.shape))))
    m(dn.ones(1, 2))
    assert calls == [("pre", 1), ("post", (1, 2))]
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    m(dn.ones(1, 2))
    assert len(calls) == 2
    assert not m._forward_hooks and not m._forward_pre_hooks


def test_hooks_can_replace_inputs_and_outputs():
    m = Affine(2, 2)
    m.register_forward_pre_hook(lambda mod, args: args[0] * 0)
    handle = m.register_forward_hook(lambda mod, args, out: out + 100)
    out = m(dn.ones(1, 2))
    assert np.allclose(out.detach().numpy(), m.bias.detach().numpy() + 100)
    handle.remove()
    with m.register_forward_hook(lambda mod, args, out: out * 0, prepend=True):
        assert m(dn.ones(1, 2)).abs().sum().item() == 0
    assert m(dn.ones(1, 2)).abs().sum().item() > 0


def test_hooks_with_kwargs_and_order():
    class Add(nn.Module):
        def forward(self, x, shift=0.0):
            return x + shift

    m = Add()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"shift": 10.0}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("b", kwargs)) or None,
                            with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    assert m(dn.zeros(1)).item() == 10.0
    assert order == ["first", ("b", {"shift": 10.0})]


class _Mix(nn.Module):
    """A tiny module built from dn ops with a Parameter, two inputs and two outputs."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(dn.tensor([[1.0, -2.0], [0.5, 3.0]]))

    def forward(self, x, y, scale=1.0):
        return (x @ self.w) * y * scale, (x * x).sum()


def _torch_mix(torch):
    class TorchMix(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 3.0]]))

        def forward(self, x, y, scale=1.0):
            return (x @ self.w) * y * scale, (x * x).sum()
    return TorchMix()


def _run_backward_hooks(lib, module, y_requires_grad, x_requires_grad=True):
    seen = []
    module.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go)))
    module.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", gi, go)))
    x = lib.tensor([[1.0, 2.0], [-1.0, 0.5]], requires_grad=x_requires_grad)
    y = lib.tensor([[2.0, 3.0], [1.0, -1.0]], requires_grad=y_requires_grad)
    out, sq = module(x, y, 2.0)
    ((out * out).sum() + sq).backward()
    return seen, x, y


def _as_np(items):
    return [None if g is None else np.asarray(g.detach().numpy()) for g in items]


@pytest.mark.parity
@pytest.mark.parametrize("y_requires_grad", [False, True])
@pytest.mark.parametrize("x_requires_grad", [False, True])
def test_full_backward_hook_matches_torch(y_requires_grad, x_requires_grad):
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, _, _ = _run_backward_hooks(dn, _Mix(), y_requires_grad, x_requires_grad)
        theirs, _, _ = _run_backward_hooks(torch, _torch_mix(torch), y_requires_grad,
                                           x_requires_grad)
    assert [s[0] for s in ours] == [s[0] for s in theirs] == ["pre", "full"]
    for a, b in zip(ours, theirs):
        for mine, ref in zip(a[1:], b[1:]):
            mine, ref = _as_np(mine), _as_np(ref)
            assert len(mine) == len(ref)
            for m_grad, t_grad in zip(mine, ref):
                assert (m_grad is None) == (t_grad is None)
                if m_grad is not None:
                    assert np.allclose(m_grad, t_grad)


def test_full_backward_hook_can_replace_grad_input():
    m = _Mix()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 1, gi[1], gi[2]))
    x = dn.tensor([[1.0, 2.0]], requires_grad=True)
    y = dn.tensor([[1.0, 1.0]], requires_grad=True)
    out, _ = m(x, y, 1.0)
    out.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0]]
    assert m.w.grad is not None  # the parameter's gradient is untouched by the hook
    m2 = _Mix()
    m2.register_full_backward_hook(lambda mod, gi, go: (gi[0],))
    out, _ = m2(dn.ones(1, 2, requires_grad=True), dn.ones(1, 2), 1.0)
    with pytest.raises(RuntimeError, match="gradients"):
        out.sum().backward()


def test_backward_hook_removed_and_not_fired_without_grad():
    m = _Mix()
    seen = []
    handle = m.register_full_backward_hook(lambda *a: seen.append(a))
    with dn.no_grad():
        m(dn.ones(1, 2), dn.ones(1, 2))
    handle.remove()
    out, _ = m(dn.ones(1, 2, requires_grad=True), dn.ones(1, 2))
    out.sum().backward()
    assert seen == []


# ------------------------------------------------------------------------------ repr


def test_repr_format():
    net = Net()
    text = repr(net)
    assert text.startswith("Net(\n  (fc1): Affine(in_features=3, out_features=4, bias=True)\n"
                           "  (body): Sequential(\n    (0): Affine(")
    assert "(0-1): 2 x Affine(in_features=4, out_features=2, bias=True)" in text
    assert repr(nn.Module()) == "Module()"

    class Multi(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"
    assert repr(Multi()) == "Multi(\n  a=1\n  b=2\n)"


@pytest.mark.parity
def test_repr_matches_torch():
    torch = _torch()
    _, TorchNet = make_classes(torch)
    assert repr(Net()) == repr(TorchNet())
    outer_ours = nn.Sequential(OrderedDict([("inner", Net()), ("tail", nn.ModuleList())]))
    outer_theirs = torch.nn.Sequential(OrderedDict([("inner", TorchNet()),
                                                    ("tail", torch.nn.ModuleList())]))
    assert repr(outer_ours) == repr(outer_theirs)


def test_dir_lists_registered_names():
    names = dir(Net())
    assert "fc1" in names and "scale" in names and "steps" in names and "forward" in names


def test_deepcopy_module():
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.fc1.weight is not net.fc1.weight
    assert isinstance(clone.fc1.weight, nn.Parameter)
    assert np.allclose(clone.fc1.weight.detach().numpy(), net.fc1.weight.detach().numpy())
    assert list(clone.state_dict()) == list(net.state_dict())


def test_call_without_super_init_is_a_clear_error():
    class NoInit(nn.Module):
        def __init__(self):
            pass

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="super"):
        NoInit()(dn.zeros(1))


@pytest.mark.parity
def test_with_library_layers_like_torch():
    torch = _torch()
    if not hasattr(nn, "Linear") or not hasattr(nn, "ReLU"):
        pytest.skip("nn.Linear / nn.ReLU not written yet")
    ours = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.ModuleList([nn.Linear(3, 3)] * 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                 torch.nn.ModuleList([torch.nn.Linear(3, 3)] * 2))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    got, want = [], []
    ours[0].register_full_backward_hook(lambda m, gi, go: got.append((gi, go)))
    theirs[0].register_full_backward_hook(lambda m, gi, go: want.append((gi, go)))
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    out_ours = ours[1](ours[0](dn.tensor(x, requires_grad=True)))
    out_theirs = theirs[1](theirs[0](torch.tensor(x, requires_grad=True)))
    (out_ours * out_ours).sum().backward()
    (out_theirs * out_theirs).sum().backward()
    for mine, ref in zip(got[0], want[0]):
        assert np.allclose(_as_np(mine)[0], _as_np(ref)[0], atol=1e-6)


def test_always_call_hook_runs_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(dn.zeros(1))
    assert seen == [("always", None)]
