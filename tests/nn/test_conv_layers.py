"""nn.Conv1d / Conv2d / ConvTranspose1d / ConvTranspose2d: forward and gradients equal torch's for
strides, paddings (ints, 'same', 'valid'), padding modes, dilation and groups; torch's weight
shapes, init bounds and reprs; argument and channel errors naming the layer."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from layer_parity import build, check_forward_backward, random, state_signature

# torch warns that its own 'same' with an even kernel copies the input; nothing to do with ours
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

# (constructor text, input shape)
CASES = [
    ("Conv1d(4, 6, 3)", (2, 4, 10)),
    ("Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False)", (2, 4, 11)),
    ("Conv1d(3, 4, 4, padding='same', padding_mode='reflect')", (2, 3, 9)),
    ("Conv1d(2, 2, 3, padding=2, padding_mode='circular')", (2, 7)),  # unbatched
    ("Conv1d(3, 5, 2, padding='valid', padding_mode='replicate')", (1, 3, 6)),
    ("Conv2d(3, 6, 3)", (2, 3, 7, 9)),
    ("Conv2d(3, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2))", (2, 3, 9, 8)),
    ("Conv2d(4, 8, 3, groups=4, padding='same')", (2, 4, 6, 5)),  # depthwise
    ("Conv2d(3, 4, 4, padding='same')", (1, 3, 7, 6)),  # even kernel: the odd pad goes after
    ("Conv2d(2, 3, (3, 2), padding='same', dilation=(2, 3))", (2, 2, 7, 8)),
    ("Conv2d(3, 6, (2, 4), padding='same', padding_mode='replicate')", (2, 3, 5, 7)),
    ("Conv2d(3, 4, 3, padding=1, padding_mode='reflect', bias=False)", (2, 3, 6, 5)),
    ("Conv2d(2, 4, 3, stride=2, padding=(2, 1), padding_mode='circular')", (2, 2, 7, 6)),
    ("Conv2d(3, 5, 3, padding='valid')", (3, 6, 6)),  # unbatched
    ("Conv2d(6, 4, (1, 3), groups=2, dilation=(1, 3), padding=(0, 3), padding_mode='zeros')",
     (2, 6, 4, 11)),
    ("ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)", (2, 4, 7)),
    ("ConvTranspose1d(3, 2, 4, dilation=2, bias=False)", (2, 3, 5)),
    ("ConvTranspose2d(4, 6, 3)", (2, 4, 5, 6)),
    ("ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), "
     "groups=2, bias=False)", (2, 4, 4, 5)),
    ("ConvTranspose2d(2, 3, 3, stride=2, dilation=2, padding=1)", (2, 5, 4)),  # unbatched
]


@pytest.mark.parametrize("text, shape", CASES)
def test_forward_and_backward_match_torch(text, shape):
    ours, theirs, torch = build(text)
    check_forward_backward(ours, theirs, torch, random(shape, seed=1), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("text", [t for t, _ in CASES] + [
    "Conv2d(3, 6, 3, padding=0, dilation=1, padding_mode='zeros')",
    "Conv2d(3, 6, 3, padding=(0, 1))", "Conv1d(3, 6, 3, padding='valid')",
    "Conv2d(2, 4, 3, padding='same', padding_mode='circular', dilation=2)"])
def test_repr_and_state_dict_match_torch(text):
    ours, theirs, _ = build(text, dtype=None)
    assert repr(ours) == repr(theirs)
    assert state_signature(ours) == state_signature(theirs)
    assert ours._reversed_padding_repeated_twice == list(theirs._reversed_padding_repeated_twice)


def test_float32_conv2d_matches_torch():
    ours, theirs, torch = build("Conv2d(8, 16, 3, stride=2, padding=1)", dtype=None)
    x = random((4, 8, 13, 11)).astype(np.float32)
    check_forward_backward(ours, theirs, torch, x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("output_size", [[10, 9], [9, 10], (2, 6, 10, 10), [9, 9]])
def test_conv_transpose_output_size_matches_torch(output_size):
    ours, theirs, torch = build("ConvTranspose2d(4, 6, 3, stride=2, padding=1)")
    x = random((2, 4, 5, 5))
    out = ours(dn.tensor(x), output_size=output_size)
    tout = theirs(torch.tensor(x), output_size=output_size)
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_conv_transpose_output_size_out_of_reach():
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match=r"output_size.*\[12, 9\].*from 9 to 10"):
        layer(dn.ones(1, 4, 5, 5), output_size=[12, 9])
    with pytest.raises(ValueError, match="2 or 4 elements"):
        layer(dn.ones(1, 4, 5, 5), output_size=[10])


@pytest.mark.parametrize("text, fan_in", [
    ("Conv2d(16, 32, 5)", 16 * 25), ("Conv1d(12, 20, 7, groups=4)", 3 * 7),
    ("ConvTranspose2d(8, 16, 3, groups=2)", 8 * 9),  # torch's fan_in: weight.size(1) * area
])
def test_init_is_uniform_within_one_over_sqrt_fan_in(text, fan_in):
    dn.manual_seed(0)
    layer = eval("nn." + text)  # noqa: S307
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.max() > 0.95 * bound and w.min() < -0.95 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_weight_shapes_and_factory_kwargs():
    assert nn.Conv2d(6, 4, (3, 2), groups=2).weight.shape == (4, 3, 3, 2)
    assert nn.ConvTranspose2d(6, 4, (3, 2), groups=2).weight.shape == (6, 2, 3, 2)
    assert nn.Conv1d(2, 3, 5).weight.shape == (3, 2, 5)
    layer = nn.Conv2d(2, 3, 3, bias=False, dtype=dn.float64, device="cpu")
    assert layer.weight.dtype == dn.float64 and layer.bias is None
    assert nn.ConvTranspose1d(2, 3, 3, dtype=dn.float64).bias.dtype == dn.float64


def test_stored_arguments_are_tuples_like_torch():
    layer = nn.Conv2d(3, 6, 3, stride=2, padding=1)
    assert layer.kernel_size == (3, 3) and layer.stride == (2, 2) and layer.padding == (1, 1)
    assert layer.dilation == (1, 1) and layer.output_padding == (0, 0)
    assert layer.transposed is False and nn.ConvTranspose1d(2, 2, 3).transposed is True
    assert nn.Conv1d(3, 6, 3, padding="same").padding == "same"


def test_wrong_channel_count_names_the_layer_expected_channels_and_shape():
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 6, .*3 channels.*\[2, 4, 8, 8\]"):
        nn.Conv2d(3, 6, 3)(dn.ones(2, 4, 8, 8))
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 6, .*3 channels.*\[4, 8, 8\]"):
        nn.Conv2d(3, 6, 3, padding=1, padding_mode="reflect")(dn.ones(4, 8, 8))
    with pytest.raises(RuntimeError, match=r"Conv1d\(2, 6, .*2 channels.*\[1, 3, 8\]"):
        nn.Conv1d(2, 6, 3)(dn.ones(1, 3, 8))
    with pytest.raises(RuntimeError, match=r"ConvTranspose2d\(4, 2, .*4 channels.*\[1, 3, 5, 5\]"):
        nn.ConvTranspose2d(4, 2, 3)(dn.ones(1, 3, 5, 5))


def test_other_shape_errors_come_from_the_op():
    with pytest.raises(RuntimeError, match=r"conv2d.*\[3, 3, 8, 8, 2\]"):
        nn.Conv2d(3, 6, 3)(dn.ones(3, 3, 8, 8, 2))  # wrong rank
    with pytest.raises(RuntimeError, match="kernel size"):
        nn.Conv2d(3, 6, 5)(dn.ones(1, 3, 3, 3))  # input smaller than the kernel


@pytest.mark.parametrize("call, match", [
    (lambda: nn.Conv2d(3, 6, 3, groups=0), "groups must be a positive"),
    (lambda: nn.Conv2d(3, 6, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), "out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(3, 6, 3, padding="full"), "'full'"),
    (lambda: nn.Conv2d(3, 6, 3, stride=2, padding="same"), "stride"),
    (lambda: nn.Conv1d(3, 6, 3, padding_mode="mirror"), "padding_mode.*'mirror'"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, padding_mode="reflect"), "zeros"),
])
def test_constructor_errors_are_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_torch_raises_value_errors_for_the_same_arguments():
    torch = pytest.importorskip("torch")
    for call in (lambda: torch.nn.Conv2d(3, 6, 3, groups=2),
                 lambda: torch.nn.Conv2d(3, 6, 3, stride=2, padding="same"),
                 lambda: torch.nn.Conv1d(3, 6, 3, padding_mode="mirror")):
        with pytest.raises(ValueError):
            call()
