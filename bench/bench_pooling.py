"""Pooling forward and forward + backward: dualnet against torch CPU (2 threads), float32.

Through the public API (`F.max_pool2d(x, 2)`, `y.backward(g)`, `.grad` reset each call); the
Keras rows call the core op with layout="NHWC" and compare with torch on a channels_last
tensor (the same memory order). Target: dualnet / torch <= 1 for max_pool2d forward + backward
on the convnet shapes (the first rows).

    python bench/bench_pooling.py [--threads N] [--quick]
"""
import argparse
import sys

import numpy as np

from common import compare, fmt_ratio, fmt_timing, get_torch, header, table, wait_for_idle

import dualnet as dn
import dualnet.nn.functional as F
from dualnet.core.ops.pooling import ops as pooling

# (label, NCHW input shape, dualnet call(x, layout), torch call(x))
CASES = [
    ("max_pool2d 2x2", (128, 32, 26, 26), lambda x, lay: pooling.max_pool(x, 2, layout=lay),
     lambda T, x: T.nn.functional.max_pool2d(x, 2)),
    ("max_pool2d 2x2", (128, 64, 24, 24), lambda x, lay: pooling.max_pool(x, 2, layout=lay),
     lambda T, x: T.nn.functional.max_pool2d(x, 2)),
    ("max_pool2d 3x3 s2 p1", (32, 64, 56, 56),
     lambda x, lay: pooling.max_pool(x, 3, 2, 1, layout=lay),
     lambda T, x: T.nn.functional.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d 2x2", (128, 32, 26, 26), lambda x, lay: pooling.avg_pool(x, 2, layout=lay),
     lambda T, x: T.nn.functional.avg_pool2d(x, 2)),
    ("adaptive_avg_pool2d 1", (128, 512, 7, 7),
     lambda x, lay: pooling.adaptive_avg_pool(x, 1, layout=lay),
     lambda T, x: T.nn.functional.adaptive_avg_pool2d(x, 1)),
    ("adaptive_max_pool2d (5, 5)", (64, 64, 17, 17),
     lambda x, lay: pooling.adaptive_max_pool(x, 5, layout=lay),
     lambda T, x: T.nn.functional.adaptive_max_pool2d(x, 5)),
    ("max_pool1d 3 s2", (128, 64, 500), lambda x, lay: F.max_pool1d(x, 3, 2),
     lambda T, x: T.nn.functional.max_pool1d(x, 3, 2)),
]
LAYOUTS = {"NCHW": None, "NHWC": (0, 2, 3, 1)}


def _forward_backward(call, leaf, grad):
    def run():
        leaf.grad = None
        call(leaf).backward(grad)

    return run


def measure(torch, label, shape, ours, theirs, layout, rng, passes):
    x_np = rng.standard_normal(shape, dtype=np.float32)
    perm = LAYOUTS[layout] if len(shape) == 4 else None
    x_t = torch.from_numpy(x_np)
    if perm is not None:  # the same values, stored channels-last in both libraries
        x_np = np.ascontiguousarray(x_np.transpose(perm))
        x_t = x_t.contiguous(memory_format=torch.channels_last)
    x_dn = dn.from_numpy(x_np)
    call_dn = lambda x: ours(x, layout)  # noqa: E731
    call_t = lambda x: theirs(torch, x)  # noqa: E731
    want = call_t(x_t)
    got = call_dn(x_dn).numpy()
    np.testing.assert_allclose(got, want.permute(perm).numpy() if perm else want.numpy(),
                               rtol=1e-5, atol=1e-6)
    g_t = torch.from_numpy(rng.standard_normal(tuple(want.shape), dtype=np.float32))
    if perm is not None:
        g_t = g_t.contiguous(memory_format=torch.channels_last)
        g_dn = dn.from_numpy(np.ascontiguousarray(g_t.permute(perm).numpy()))
    else:
        g_dn = dn.from_numpy(g_t.numpy())
    leaf_dn, leaf_t = x_dn.detach().requires_grad_(), x_t.detach().requires_grad_()
    rows = []
    for name in passes:
        if name == "forward":
            pair = {"dualnet": lambda: call_dn(x_dn), "torch": lambda: call_t(x_t)}
        else:
            pair = {"dualnet": _forward_backward(call_dn, leaf_dn, g_dn),
                    "torch": _forward_backward(call_t, leaf_t, g_t)}
        t = compare(pair, repeat=11, batch_s=0.05, idle_wait_s=1.0)
        rows.append([label, shape_text(shape, layout), name, fmt_timing(t["dualnet"]),
                     fmt_timing(t["torch"]), fmt_ratio(t["dualnet"], t["torch"])])
    return rows


def shape_text(shape, layout):
    if len(shape) == 4 and layout == "NHWC":
        n, c, h, w = shape
        return f"({n}, {h}, {w}, {c}) NHWC"
    return f"{shape}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and Numba")
    parser.add_argument("--quick", action="store_true", help="only the two max_pool2d targets")
    args = parser.parse_args()
    torch = get_torch()
    if torch is None:
        print("bench_pooling: torch is not installed; nothing to compare against")
        return 0
    import numba

    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    wait_for_idle()
    rng = np.random.default_rng(0)
    rows = []
    cases = CASES[:2] if args.quick else CASES
    for label, shape, ours, theirs in cases:
        layouts = ("NCHW", "NHWC") if len(shape) == 4 and not label.startswith("adaptive") \
            else ("NCHW",)
        for layout in layouts:
            rows += measure(torch, label, shape, ours, theirs, layout, rng,
                            ("forward", "forward + backward"))
    print(header(f"Pooling, float32, {args.threads} thread(s) each (us per call, median "
                 f"±IQR/2)", __file__))
    print(table(["op", "input", "pass", "dualnet", "torch", "dualnet / torch"], rows))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
