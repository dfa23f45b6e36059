"""Losses on CUDA against the CPU: every loss of the family, forward and backward (class-index
losses with class weights, ignore_index and label smoothing; each reduction), float32 and
float64; and the class-index kernels' error path."""
import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F

rng = np.random.default_rng(0)
LOGITS, TARGET = rng.standard_normal((5, 4)), np.array([0, 3, 1, 3, 2])
IGNORED = np.array([0, -100, 1, 3, -100])
PROBS, LABELS = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
CLASS_WEIGHT = rng.uniform(0.5, 2.0, 4)

# (name, fn, arrays: float arrays get gradients, int arrays are targets)
ROWS = [
    ("cross_entropy", lambda x, t: F.cross_entropy(x, t), [LOGITS, TARGET]),
    ("cross_entropy-weighted-smoothed", lambda x, t, w: F.cross_entropy(
        x, t, weight=w, label_smoothing=0.2), [LOGITS, TARGET, CLASS_WEIGHT]),
    ("cross_entropy-ignore-sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"),
     [LOGITS, IGNORED]),
    ("cross_entropy-none-nd", lambda x, t: F.cross_entropy(x, t, reduction="none"),
     [rng.standard_normal((2, 3, 4)), np.array([[0, 2, 1, 1], [2, 2, 0, 1]])]),
    ("cross_entropy-probabilities", lambda x, p: F.cross_entropy(x, p.softmax(-1)),
     [LOGITS, rng.standard_normal((5, 4))]),
    ("nll_loss", lambda x, t, w: F.nll_loss(x.log_softmax(-1), t, weight=w),
     [LOGITS, IGNORED, CLASS_WEIGHT]),
    ("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x, t), [PROBS, LABELS]),
    ("binary_cross_entropy-weighted-sum", lambda x, t, w: F.binary_cross_entropy(
        x, t, weight=w, reduction="sum"), [PROBS, LABELS, rng.uniform(0, 1, 4)]),
    ("binary_cross_entropy-at-0-and-1", lambda x, t: F.binary_cross_entropy(
        x, t, reduction="none"), [np.array([[0.0, 1.0, 0.5], [1.0, 0.25, 0.0]]),
                                  np.array([[0.0, 1.0, 0.2], [0.3, 1.0, 1.0]])]),
    ("bce_with_logits-large", lambda x, t: F.binary_cross_entropy_with_logits(x, t),
     [np.array([-800.0, -30.0, 0.0, 30.0, 800.0]), np.array([0.0, 1.0, 0.5, 0.0, 1.0])]),
    ("bce_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t),
     [LOGITS, rng.uniform(0, 1, (5, 4))]),
    ("bce_with_logits-pos_weight", lambda x, t, p: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=p, reduction="none"), [LOGITS, rng.uniform(0, 1, (5, 4)),
                                                rng.uniform(0.5, 2, 4)]),
    ("mse_loss", F.mse_loss, [LOGITS, PROBS.reshape(3, 4)[:1].repeat(5, 0)]),
    ("l1_loss-none", lambda x, t: F.l1_loss(x, t, reduction="none"), [LOGITS, LOGITS[::-1]]),
    ("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5, reduction="sum"),
     [LOGITS, LOGITS[::-1]]),
    ("huber_loss", lambda x, t: F.huber_loss(x, t, delta=0.7), [LOGITS, LOGITS[::-1]]),
    ("kl_div", lambda x, t: F.kl_div(x.log_softmax(-1), t, reduction="batchmean"),
     [LOGITS, rng.uniform(0.1, 1, (5, 4))]),
    ("cosine_similarity", lambda a, b: F.cosine_similarity(a, b), [LOGITS, LOGITS[::-1]]),
]


def _cast(arrays, dtype):
    return [a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a for a in arrays]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_matches_cpu(check, row, dtype):
    _, fn, arrays = row
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    check(fn, *_cast(arrays, dtype), **tol)


def test_target_out_of_range_is_an_index_error():
    x = dn.tensor(LOGITS, device="cuda")
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(x, dn.tensor([0, 1, 7, 2, 1], device="cuda"))


def test_class_index_kernels_match_cpu():
    """cross_entropy's row kernels directly: losses, logsumexps, totals and the gradient."""
    from dualnet.core.ops.loss import cpu, cuda

    x, t, w = LOGITS.astype(np.float32), IGNORED, CLASS_WEIGHT.astype(np.float32)
    smoothing = np.float32(0.1)
    results = []
    for module in (cpu, cuda):
        lse, loss = np.empty(5, np.float32), np.empty(5, np.float32)
        totals = module.cross_entropy(x, t, w, -100, smoothing, lse, loss)
        grad = module.cross_entropy_backward(x, t, w, lse, -100, smoothing,
                                             np.linspace(0.5, 1, 5).astype(np.float32),
                                             np.empty_like(x))
        results.append((lse, loss, np.array(totals), grad))
        assert module.first_out_of_range(np.array([0, 2, -100, 5, 9]), -100, 4) == 3
        assert module.first_out_of_range(t, -100, 4) == -1
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


MIXED = [
    ("cross_entropy", lambda c, g: F.cross_entropy(c(2, 3), dn.tensor([0, 1], device="cuda"))),
    ("cross_entropy", lambda c, g: F.cross_entropy(c(2, 3), dn.tensor([0, 1]), weight=g(3))),
    ("nll_loss", lambda c, g: F.nll_loss(g(2, 3), dn.tensor([0, 1]))),
    ("binary_cross_entropy", lambda c, g: F.binary_cross_entropy(c(2, 3) * 0.5, g(2, 3))),
    ("binary_cross_entropy_with_logits", lambda c, g: F.binary_cross_entropy_with_logits(
        g(2, 3), g(2, 3), pos_weight=c(3))),
    ("mse_loss", lambda c, g: F.mse_loss(c(2, 3), g(2, 3))),
    ("huber_loss", lambda c, g: F.huber_loss(g(2, 3), g(2, 3), weight=c(2, 3))),
]


@pytest.mark.parametrize("row", MIXED, ids=[f"{r[0]}-{i}" for i, r in enumerate(MIXED)])
def test_mixed_devices_name_both(row):
    op, fn = row
    with pytest.raises(RuntimeError, match=f"{op}: expected all tensors to be on the same "
                                           f"device.*(cpu and cuda:0|cuda:0 and cpu)"):
        fn(lambda *s: dn.ones(*s), lambda *s: dn.ones(*s, device="cuda"))
