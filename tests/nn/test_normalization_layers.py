"""nn.BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm1d/2d: forward and gradients equal torch's;
running statistics (momentum, momentum=None's cumulative average, num_batches_tracked) follow
torch step by step and eval mode normalises with them; state_dicts, reprs and errors."""
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from layer_parity import build, check_forward_backward, copy_state, random, state_signature

# (constructor text, input shape)
CASES = [
    ("BatchNorm1d(4)", (8, 4)),
    ("BatchNorm1d(3, affine=False)", (5, 3, 7)),
    ("BatchNorm1d(4, bias=False, momentum=None)", (6, 4, 2)),
    ("BatchNorm2d(3)", (4, 3, 5, 6)),
    ("BatchNorm2d(3, momentum=None, eps=1e-3)", (2, 3, 3, 5)),
    ("BatchNorm2d(2, track_running_stats=False)", (3, 2, 4, 4)),
    ("LayerNorm(5)", (3, 5)),
    ("LayerNorm([4, 5])", (2, 3, 4, 5)),
    ("LayerNorm(6, elementwise_affine=False)", (4, 6)),
    ("LayerNorm(6, bias=False)", (2, 2, 6)),
    ("LayerNorm((3,), eps=1e-3)", (7, 3)),
    ("GroupNorm(2, 4)", (3, 4, 5)),
    ("GroupNorm(3, 6, affine=False)", (2, 6, 4, 4)),
    ("GroupNorm(1, 3, bias=False)", (2, 3, 7)),
    ("GroupNorm(6, 6, eps=1e-3)", (2, 6, 3, 2)),
    ("InstanceNorm1d(3)", (2, 3, 8)),
    ("InstanceNorm1d(3, affine=True)", (3, 8)),  # unbatched
    ("InstanceNorm2d(2, affine=True, track_running_stats=True)", (3, 2, 4, 5)),
    ("InstanceNorm2d(2, affine=True, bias=False)", (2, 5, 3)),  # unbatched
]


def _buffers_equal(ours, theirs):
    tbuffers = dict(theirs.named_buffers())
    assert sorted(dict(ours.named_buffers())) == sorted(tbuffers)
    for name, buf in ours.named_buffers():
        np.testing.assert_allclose(buf.numpy(), tbuffers[name].numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("text, shape", CASES)
def test_training_forward_and_backward_match_torch(text, shape):
    ours, theirs, torch = build(text)
    # a non-zero mean and a scale other than 1, so a wrong statistic cannot hide
    check_forward_backward(ours, theirs, torch, random(shape, seed=3, scale=2.5) + 0.7,
                           rtol=1e-9, atol=1e-10)
    _buffers_equal(ours, theirs)


@pytest.mark.parametrize("text", [t for t, _ in CASES] + [
    "BatchNorm1d(5, eps=0.001, momentum=0.01)", "BatchNorm2d(4, affine=False, bias=False)",
    "InstanceNorm1d(4, momentum=None, track_running_stats=True)"])
def test_repr_and_state_dict_match_torch(text):
    ours, theirs, _ = build(text, dtype=None)
    assert repr(ours) == repr(theirs)
    assert state_signature(ours) == state_signature(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("text, shape", [
    ("BatchNorm1d(4)", (16, 4)),
    ("BatchNorm1d(4, momentum=None)", (10, 4, 3)),
    ("BatchNorm2d(3, momentum=0.3)", (4, 3, 5, 5)),
    ("BatchNorm2d(3, momentum=None, affine=False)", (2, 3, 4, 3)),
    ("InstanceNorm2d(3, track_running_stats=True)", (4, 3, 5, 5)),
    ("InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.5)", (4, 3, 6)),
])
def test_running_statistics_follow_torch_over_steps_and_eval_uses_them(text, shape):
    ours, theirs, torch = build(text)
    for step in range(5):
        x = random(shape, seed=10 + step, scale=1.0 + step) + step
        out, tout = ours(dn.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-9,
                                   atol=1e-10)
        _buffers_equal(ours, theirs)
    ours.eval()
    theirs.eval()
    x = random(shape, seed=99, scale=3.0) - 1.0
    out, tout = ours(dn.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-9, atol=1e-10)
    _buffers_equal(ours, theirs)  # eval changes nothing, num_batches_tracked included


def test_eval_mode_normalises_with_the_running_statistics():
    bn = nn.BatchNorm2d(3).double()
    for step in range(3):
        bn(dn.tensor(random((4, 3, 2, 2), seed=step) * 2 + 1))
    assert bn.num_batches_tracked.item() == 3
    bn.eval()
    x = random((2, 3, 2, 2), seed=7)
    mean, var = bn.running_mean.numpy(), bn.running_var.numpy()
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + bn.eps)
    np.testing.assert_allclose(bn(dn.tensor(x)).detach().numpy(), expected, rtol=1e-10)
    assert bn.num_batches_tracked.item() == 3


def test_momentum_none_is_the_plain_average_of_the_batch_statistics():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    batches = [random((6, 2), seed=s, scale=s + 1.0) + s for s in range(4)]
    for x in batches:
        bn(dn.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([x.var(0, ddof=1) for x in batches], axis=0), rtol=1e-12)


def test_momentum_updates_running_stats_with_the_unbiased_variance():
    bn = nn.BatchNorm1d(2, momentum=0.25).double()
    x = random((5, 2), seed=1) * 3 + 2
    bn(dn.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.25 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.75 + 0.25 * x.var(0, ddof=1),
                               rtol=1e-12)


def test_without_running_stats_eval_uses_the_batch_and_torch_agrees():
    ours, theirs, torch = build("BatchNorm2d(3, track_running_stats=False)")
    assert ours.running_mean is None and ours.num_batches_tracked is None
    assert list(ours.state_dict()) == ["weight", "bias"]
    ours.eval()
    theirs.eval()
    x = random((2, 3, 4, 4), seed=5) * 4
    out = ours(dn.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert abs(out.mean(axis=(0, 2, 3))).max() < 1e-10  # normalised by its own statistics


def test_buffers_dtypes_and_reset():
    bn = nn.BatchNorm2d(3, dtype=dn.float64)
    assert bn.running_mean.dtype == dn.float64 and bn.weight.dtype == dn.float64
    assert bn.num_batches_tracked.dtype == dn.int64 and bn.num_batches_tracked.ndim == 0
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                       "num_batches_tracked"]
    bn(dn.randn(4, 3, 2, 2, dtype=dn.float64))
    assert bn.num_batches_tracked.item() == 1
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    np.testing.assert_array_equal(bn.weight.detach().numpy(), np.ones(3))
    np.testing.assert_array_equal(bn.bias.detach().numpy(), np.zeros(3))


def test_a_state_dict_from_before_num_batches_tracked_loads():
    bn = nn.BatchNorm1d(3)
    bn(dn.randn(4, 3))
    state = bn.state_dict()
    del state["num_batches_tracked"]
    fresh = nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        fresh.load_state_dict(state)  # a current (version 2) file must have it
    state._metadata[""]["version"] = 1
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_mean.numpy(), bn.running_mean.numpy())
    assert fresh.num_batches_tracked.item() == 0
    fresh.load_state_dict(OrderedDict(state))  # no metadata at all: an old file too


def test_torch_state_dict_loads_into_ours_and_back():
    ours, theirs, torch = build("BatchNorm2d(4)", dtype=None)
    for _ in range(3):
        theirs(torch.randn(5, 4, 3, 3) * 2 + 1)
    copy_state(theirs, ours)
    assert ours.num_batches_tracked.item() == 3
    back = torch.nn.BatchNorm2d(4)
    back.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in ours.state_dict().items()})
    assert back.num_batches_tracked.item() == 3
    np.testing.assert_array_equal(back.running_var.numpy(), theirs.running_var.numpy())


@pytest.mark.parametrize("layer, shape, match", [
    ("BatchNorm1d(3)", (2, 3, 4, 5), r"BatchNorm1d: expected 2D or 3D input \(got 4D input"),
    ("BatchNorm1d(3)", (3,), r"expected 2D or 3D input \(got 1D input"),
    ("BatchNorm2d(3)", (2, 3, 4), r"BatchNorm2d: expected 4D input \(got 3D input"),
    ("InstanceNorm2d(3)", (3, 4), r"InstanceNorm2d: expected 3D or 4D input \(got 2D input"),
])
def test_wrong_rank_is_a_value_error_like_torch(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        eval("nn." + layer)(dn.ones(*shape))  # noqa: S307


def test_torch_also_raises_value_error_for_the_wrong_rank():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        torch.nn.BatchNorm1d(3)(torch.ones(2, 3, 4, 5))


@pytest.mark.parametrize("layer, shape, match", [
    ("BatchNorm1d(3)", (4, 5), r"BatchNorm1d\(3, .*3 channels.*\[4, 5\]"),
    ("BatchNorm2d(3).eval()", (2, 4, 2, 2), r"BatchNorm2d\(3, .*3 channels.*\[2, 4, 2, 2\]"),
    ("LayerNorm(5)", (4, 6), r"LayerNorm\(\(5,\), .*\[\*, 5\].*\[4, 6\]"),
    ("GroupNorm(2, 4)", (3, 6, 5), r"GroupNorm\(2, 4, .*4 channels.*\[3, 6, 5\]"),
])
def test_channel_mismatch_names_the_layer_and_shape(layer, shape, match):
    with pytest.raises(RuntimeError, match=match):
        eval("nn." + layer)(dn.ones(*shape))  # noqa: S307


def test_instance_norm_channel_mismatch_errors_with_affine_and_warns_without():
    with pytest.raises(ValueError, match=r"InstanceNorm1d.*num_features=3.*\[2, 4, 5\]"):
        nn.InstanceNorm1d(3, affine=True)(dn.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="num_features"):
        out = nn.InstanceNorm1d(3)(dn.randn(2, 4, 5))
    assert out.shape == (2, 4, 5)


def test_one_value_per_channel_cannot_train():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(dn.ones(1, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.BatchNorm1d(3).eval()(dn.ones(1, 3)).shape == (1, 3)


def test_group_norm_needs_divisible_channels():
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(4, 6)


def test_layer_norm_stores_a_tuple_and_has_parameters_of_that_shape():
    norm = nn.LayerNorm([3, 4], dtype=dn.float64)
    assert norm.normalized_shape == (3, 4)
    assert norm.weight.shape == (3, 4) and norm.bias.dtype == dn.float64
