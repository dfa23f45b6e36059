"""Activations, dropout and attention on CUDA against the CPU. Activations and attention are
compositions of elementwise / reduction / matmul ops (forward and backward compared); dropout's
masks come from the GPU random stream, so they are checked for their contract (values, scaling,
gradient = mask * grad, channel masks, reproducibility under dn.manual_seed), not against the
CPU's stream."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F

ACTIVATIONS = [
    ("relu", F.relu), ("relu6", F.relu6), ("leaky_relu", lambda x: F.leaky_relu(x, 0.2)),
    ("elu", F.elu), ("selu", F.selu), ("celu", lambda x: F.celu(x, 0.7)),
    ("gelu", F.gelu), ("gelu-tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("silu", F.silu), ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0)),
    ("mish", F.mish), ("hardtanh", F.hardtanh), ("hardsigmoid", F.hardsigmoid),
    ("hardswish", F.hardswish), ("logsigmoid", F.logsigmoid), ("softsign", F.softsign),
    ("tanhshrink", F.tanhshrink), ("sigmoid", F.sigmoid), ("tanh", F.tanh),
    ("softmax", lambda x: F.softmax(x, dim=-1)), ("log_softmax", lambda x: F.log_softmax(x, 0)),
    ("softmin", lambda x: F.softmin(x, dim=1)),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0)), ("hardshrink", F.hardshrink),
    ("softshrink", lambda x: F.softshrink(x, 1.0)), ("rrelu-eval", lambda x: F.rrelu(x, 0.1, 0.3)),
]
X = np.random.default_rng(0).standard_normal((3, 5)) * 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ACTIVATIONS, ids=[r[0] for r in ACTIVATIONS])
def test_activation_matches_cpu(check, row, dtype):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    check(row[1], X.astype(dtype), **tol)


def test_inplace_activation_on_the_device(check):
    check(lambda x: F.relu(x * 1.0, inplace=True), X)
    check(lambda x: F.threshold_(x * 1.0, 0.0, 2.0), X)


# activations of two inputs (weights, a second operand) or of an even-sized dim
PAIRED = [
    ("prelu-channels", lambda x, w: F.prelu(x, w), [(2, 3, 4), (3,)]),
    ("prelu-one", lambda x, w: F.prelu(x, w), [(3, 5), (1,)]),
    ("glu", lambda x: F.glu(x, dim=1), [(3, 4, 2)]),
    ("pairwise_distance", lambda a, b: F.pairwise_distance(a, b), [(4, 5), (4, 5)]),
    ("pairwise_distance-p1-broadcast", lambda a, b: F.pairwise_distance(a, b, 1.0, 1e-3, True),
     [(4, 5), (5,)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", PAIRED, ids=[r[0] for r in PAIRED])
def test_paired_activation_matches_cpu(check, row, dtype):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(4)
    check(row[1], *[rng.standard_normal(s).astype(dtype) for s in row[2]], **tol)


def test_rrelu_training_on_the_device():
    x = dn.tensor(-np.ones((6, 5)), device="cuda", requires_grad=True)
    dn.manual_seed(7)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    assert y.device.type == "cuda"
    slopes = -y.detach().cpu().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and np.unique(slopes).size > 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), slopes, rtol=1e-12)
    dn.manual_seed(7)
    np.testing.assert_array_equal(-F.rrelu(x, 0.1, 0.3, training=True).detach().cpu().numpy(),
                                  slopes)


# ----------------------------------------------------------------------------------- dropout

@pytest.mark.parametrize("dtype", [dn.float32, dn.float64])
def test_dropout_mask_scaling_and_gradient(dtype):
    x = dn.ones(20, 20, dtype=dtype, device="cuda", requires_grad=True)
    y = F.dropout(x, p=0.25)
    assert y.device.type == "cuda" and y.dtype == dtype
    values = y.detach().cpu().numpy()
    assert set(np.unique(values)) <= {0.0, np.float32(1 / 0.75) if dtype == dn.float32
                                      else 1 / 0.75}
    kept = (values != 0).mean()
    assert 0.6 < kept < 0.9  # 400 draws at p = 0.25
    upstream = np.random.default_rng(1).standard_normal((20, 20))
    (y * dn.tensor(upstream, dtype=dtype, device="cuda")).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), values * upstream, rtol=1e-6)


def test_dropout_repeats_under_manual_seed():
    x = dn.ones(8, 8, device="cuda")
    dn.manual_seed(123)
    first = F.dropout(x, 0.5).cpu().numpy()
    second = F.dropout(x, 0.5).cpu().numpy()
    dn.manual_seed(123)
    again = F.dropout(x, 0.5).cpu().numpy()
    np.testing.assert_array_equal(again, first)
    assert not np.array_equal(first, second)  # the stream moves on between draws


@pytest.mark.parametrize("op, shape", [(F.dropout1d, (4, 6, 3)), (F.dropout2d, (4, 6, 3, 3)),
                                       (F.dropout3d, (4, 6, 2, 1, 3))])
def test_channel_dropout_zeroes_whole_channels(op, shape):
    y = op(dn.ones(*shape, device="cuda"), 0.5).cpu().numpy()
    per_channel = y.reshape(4, 6, -1)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()
    assert set(np.unique(per_channel)) == {0.0, 2.0}  # 24 channels: some of each


def test_dropout_off_is_the_identity():
    x = dn.ones(3, device="cuda")
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_alpha_dropout_keeps_the_device():
    y = F.alpha_dropout(dn.ones(50, device="cuda"), 0.3, training=True)
    assert y.device.type == "cuda"
    assert len(np.unique(y.cpu().numpy())) == 2  # kept and dropped values


# --------------------------------------------------------------------------------- attention

def _qkv(dtype):
    rng = np.random.default_rng(2)
    return [rng.standard_normal(s).astype(dtype) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2))]


ATTENTION = [
    ("plain", lambda q, k, v: F.scaled_dot_product_attention(q, k, v)),
    ("causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                              scale=0.3)),
    ("bool-mask", lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=dn.tensor(np.arange(15).reshape(3, 5) % 3 != 1, device=q.device))),
    ("float-mask", lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=dn.tensor(np.linspace(-1, 1, 15).reshape(3, 5), device=q.device))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ATTENTION, ids=[r[0] for r in ATTENTION])
def test_attention_matches_cpu(check, row, dtype):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    check(row[1], *_qkv(dtype), **tol)
