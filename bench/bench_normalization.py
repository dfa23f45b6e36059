"""batch_norm, layer_norm and group_norm: dualnet against torch CPU (2 threads), float32.

Training forward (statistics, normalisation, affine; running statistics updated) and forward +
backward (an upstream gradient given, `.grad` of input, weight and bias reset each call),
through the public API (`F.batch_norm(...)`, `y.backward(g)`). The two batch-norm shapes are
the Keras mnist convnet's activations at batch 128; channels last is dualnet's `axis=-1`
against torch's channels_last memory format. Target: dualnet / torch <= 1.

    python bench/bench_normalization.py [--threads N] [--quick]
"""
import argparse
import sys

import numpy as np

from common import compare, fmt_ratio, fmt_timing, get_torch, header, table, wait_for_idle

import dualnet as dn
import dualnet.nn.functional as F

# (label, op, input shape, extra argument, channels last)
CASES = [
    ("batch_norm (128, 32, 26, 26)", "batch_norm", (128, 32, 26, 26), None, False),
    ("batch_norm (128, 64, 11, 11)", "batch_norm", (128, 64, 11, 11), None, False),
    ("batch_norm (128, 256)", "batch_norm", (128, 256), None, False),
    ("batch_norm NHWC (128, 26, 26, 32)", "batch_norm", (128, 32, 26, 26), None, True),
    ("layer_norm (64, 128, 256), last dim", "layer_norm", (64, 128, 256), None, False),
    ("group_norm (32, 64, 28, 28), 8 groups", "group_norm", (32, 64, 28, 28), 8, False),
]


def _call(lib_f, op, x, w, b, extra, channels_last, stats):
    if op == "batch_norm":
        kwargs = {"axis": -1} if channels_last and lib_f is F else {}
        return lib_f.batch_norm(x, *stats, w, b, True, **kwargs)
    if op == "layer_norm":
        return lib_f.layer_norm(x, x.shape[-1:], w, b)
    return lib_f.group_norm(x, extra, w, b)


def _runners(lib_f, op, leaves, grad, extra, channels_last, stats):
    x, w, b = leaves

    def forward():
        _call(lib_f, op, x.detach(), w.detach(), b.detach(), extra, channels_last, stats)

    def forward_backward():
        for leaf in leaves:
            leaf.grad = None
        _call(lib_f, op, x, w, b, extra, channels_last, stats).backward(grad)

    return forward, forward_backward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and Numba")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    torch = get_torch()
    if torch is None:
        print("bench_normalization: torch is not installed; nothing to compare against")
        return 0
    import numba

    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    repeat = 7 if args.quick else 15
    wait_for_idle()
    rng = np.random.default_rng(0)
    rows = []
    for label, op, shape, extra, channels_last in CASES:
        x_np = rng.standard_normal(shape, dtype=np.float32)
        g_np = rng.standard_normal(shape, dtype=np.float32)
        c = shape[-1] if op == "layer_norm" else shape[1]
        w_np = (1 + 0.1 * rng.standard_normal(c)).astype(np.float32)
        b_np = (0.1 * rng.standard_normal(c)).astype(np.float32)
        x_t, g_t = torch.from_numpy(x_np), torch.from_numpy(g_np)
        if channels_last:  # the same NCHW tensor stored NHWC; dualnet gets the NHWC array
            x_t = x_t.contiguous(memory_format=torch.channels_last)
            g_t = g_t.contiguous(memory_format=torch.channels_last)
            x_np = np.ascontiguousarray(np.moveaxis(x_np, 1, -1))
            g_np = np.ascontiguousarray(np.moveaxis(g_np, 1, -1))
        leaves_dn = [dn.from_numpy(a).requires_grad_() for a in (x_np, w_np, b_np)]
        leaves_t = [x_t.requires_grad_(), torch.from_numpy(w_np).requires_grad_(),
                    torch.from_numpy(b_np).requires_grad_()]
        stats_dn, stats_t = (dn.zeros(c), dn.ones(c)), (torch.zeros(c), torch.ones(c))
        ours = _runners(F, op, leaves_dn, dn.from_numpy(g_np), extra, channels_last, stats_dn)
        theirs = _runners(torch.nn.functional, op, leaves_t, g_t, extra, channels_last, stats_t)
        _check(op, leaves_dn, leaves_t, extra, channels_last, torch)
        for name, mine, reference in (("forward", ours[0], theirs[0]),
                                      ("forward + backward", ours[1], theirs[1])):
            t = compare({"dualnet": mine, "torch": reference}, repeat=repeat, batch_s=0.02)
            rows.append([label, name, fmt_timing(t["dualnet"]), fmt_timing(t["torch"]),
                         fmt_ratio(t["dualnet"], t["torch"])])

    print(header(f"normalization, float32, training mode, {args.threads} thread(s) each (us per "
                 f"call, median ±IQR/2)", __file__))
    print(table(["op and shape", "pass", "dualnet", "torch", "dualnet / torch"], rows))
    print()
    return 0


def _check(op, leaves_dn, leaves_t, extra, channels_last, torch):
    """The two libraries agree on these inputs before they are timed."""
    x = leaves_dn[0].detach()
    stats = (None, None)
    got = _call(F, op, x, leaves_dn[1].detach(), leaves_dn[2].detach(), extra, channels_last,
                stats).numpy()
    with torch.no_grad():
        want = _call(torch.nn.functional, op, leaves_t[0], leaves_t[1], leaves_t[2], extra,
                     channels_last, stats).numpy()
    if channels_last:
        want = np.moveaxis(want, 1, -1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
    sys.exit(main())
