"""nn pooling layers: forward (and indices) and input gradients equal torch's for strides,
padding, dilation, ceil_mode, count_include_pad and adaptive sizes; reprs as torch prints them."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from layer_parity import build, check_forward_backward, random, state_signature

# (constructor text, input shape)
CASES = [
    ("MaxPool1d(2)", (2, 3, 9)),
    ("MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)", (2, 3, 12)),
    ("MaxPool1d(2, return_indices=True)", (3, 8)),  # unbatched
    ("MaxPool2d(2)", (2, 3, 8, 7)),
    ("MaxPool2d(3, 2, 1, ceil_mode=True)", (2, 3, 9, 10)),
    ("MaxPool2d((2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1))", (1, 2, 7, 9)),
    ("MaxPool2d(3, return_indices=True, ceil_mode=True)", (2, 10, 11)),
    ("AvgPool1d(3)", (2, 3, 10)),
    ("AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)", (2, 3, 10)),
    ("AvgPool2d(2)", (2, 3, 8, 7)),
    ("AvgPool2d((2, 3), stride=(2, 1), padding=1)", (2, 3, 7, 8)),
    ("AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)", (2, 2, 9, 8)),
    ("AvgPool2d(2, divisor_override=3)", (1, 2, 6, 6)),
    ("AdaptiveAvgPool1d(4)", (2, 3, 10)),
    ("AdaptiveAvgPool1d(3)", (3, 7)),  # unbatched
    ("AdaptiveAvgPool2d(1)", (2, 3, 5, 6)),
    ("AdaptiveAvgPool2d((3, None))", (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d((5, 7))", (1, 2, 8, 9)),
    ("AdaptiveMaxPool1d(3)", (2, 3, 10)),
    ("AdaptiveMaxPool1d(4, return_indices=True)", (2, 3, 9)),
    ("AdaptiveMaxPool2d((2, 3))", (2, 3, 7, 8)),
    ("AdaptiveMaxPool2d(3, return_indices=True)", (3, 7, 5)),  # unbatched
]


@pytest.mark.parametrize("text, shape", CASES)
def test_forward_and_backward_match_torch(text, shape):
    ours, theirs, torch = build(text)
    outs = check_forward_backward(ours, theirs, torch, random(shape, seed=2))
    if "return_indices=True" in text:
        assert len(outs) == 2 and str(outs[1].dtype).endswith("int64")


@pytest.mark.parametrize("text", [t for t, _ in CASES] + [
    "MaxPool2d(kernel_size=(2, 2), stride=(1, 1))", "AvgPool1d(kernel_size=2, stride=1)",
    "AvgPool2d(3, stride=None, padding=(1, 0))", "AdaptiveMaxPool2d(output_size=(None, 4))"])
def test_repr_and_state_dict_match_torch(text):
    ours, theirs, _ = build(text, dtype=None)
    assert repr(ours) == repr(theirs)
    assert state_signature(ours) == state_signature(theirs) == {}


def test_float32_max_pool_matches_torch():
    ours, theirs, torch = build("MaxPool2d(2)", dtype=None)
    x = random((4, 8, 12, 12)).astype(np.float32)
    check_forward_backward(ours, theirs, torch, x, rtol=1e-6, atol=1e-6)


def test_pooling_errors_come_from_the_op_with_the_input_shape():
    with pytest.raises(RuntimeError, match=r"\[2, 3\]"):
        nn.MaxPool2d(2)(dn.ones(2, 3))
    with pytest.raises(RuntimeError):
        nn.AvgPool1d(5)(dn.ones(1, 2, 3))  # window larger than the input
