"""softmax and log_softmax on (512, 1000) float32: dualnet against torch CPU (2 threads).

Forward alone, then forward + backward (an upstream gradient given, `.grad` reset each call),
through the public API: `dn.softmax(x, -1)`, `y.backward(g)`. Target: dualnet / torch <= 1.
Then the kernels alone (outside the Tensor and autograd layers), and the design check behind
them: the fused Numba kernel with its vectorised polynomial exp against the obvious NumPy
passes (max, subtract, `np.exp`, sum, divide).

    python bench/bench_softmax.py [--threads N]   # N threads for both (default 2, SPEC.md's)
"""
import argparse
import sys

import numpy as np

from common import compare, fmt_ratio, fmt_timing, get_torch, header, table, wait_for_idle

import dualnet as dn
from dualnet.core.ops.reduction import cpu

SHAPE = (512, 1000)


def _forward_backward(lib, op, leaf, grad):
    def run():
        leaf.grad = None
        getattr(lib, op)(leaf, -1).backward(grad)

    return run


def _numpy_softmax(x, out):
    top = np.max(x, axis=1, keepdims=True)
    np.subtract(x, top, out=out)
    np.exp(out, out=out)
    out /= np.sum(out, axis=1, keepdims=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and Numba")
    threads = parser.parse_args().threads
    torch = get_torch()
    if torch is None:
        print("bench_softmax: torch is not installed; nothing to compare against")
        return 0
    import numba

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    wait_for_idle()
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(SHAPE, dtype=np.float32)
    g_np = rng.standard_normal(SHAPE, dtype=np.float32)
    x_dn, g_dn, x_t, g_t = dn.from_numpy(x_np), dn.from_numpy(g_np), torch.from_numpy(x_np), \
        torch.from_numpy(g_np)
    leaf_dn, leaf_t = x_dn.detach().requires_grad_(), x_t.detach().requires_grad_()

    rows = []
    for op in ("softmax", "log_softmax"):
        np.testing.assert_allclose(getattr(dn, op)(x_dn, -1).numpy(),
                                   getattr(torch, op)(x_t, -1).numpy(), rtol=1e-5, atol=1e-6)
        for label, ours, theirs in (
                ("forward", lambda op=op: getattr(dn, op)(x_dn, -1),
                 lambda op=op: getattr(torch, op)(x_t, -1)),
                ("forward + backward", _forward_backward(dn, op, leaf_dn, g_dn),
                 _forward_backward(torch, op, leaf_t, g_t))):
            t = compare({"dualnet": ours, "torch": theirs}, repeat=15, batch_s=0.01)
            rows.append([op, label, fmt_timing(t["dualnet"]), fmt_timing(t["torch"]),
                         fmt_ratio(t["dualnet"], t["torch"])])

    print(header(f"softmax / log_softmax, {SHAPE} float32, {threads} thread(s) each (us per "
                 f"call, median ±IQR/2)", __file__))
    print(table(["op", "pass", "dualnet", "torch", "dualnet / torch"], rows))
    print()
    print("Kernels alone on the same arrays, output preallocated (us per call):\n")
    print(table(["kernel", "time", "/ NumPy passes"], kernel_checks(x_np, g_np)))
    print()
    return 0


def kernel_checks(x_np, g_np):
    out, grad_in = np.empty_like(x_np), np.empty_like(x_np)
    x3, out3, g3, gi3 = (a.reshape(SHAPE[0], SHAPE[1], 1) for a in (x_np, out, g_np, grad_in))
    rows2 = (x_np, out)
    t = compare({
        "numpy": lambda: _numpy_softmax(x_np, out),
        "fused-serial": lambda: cpu._softmax_rows.serial(*rows2),
        "fused-parallel": lambda: cpu._softmax_rows.parallel(*rows2),
        "backward": lambda: cpu.softmax_backward(g3, out3, gi3),
        "log_softmax": lambda: cpu.log_softmax(x3, out3),
        "log_softmax_backward": lambda: cpu.log_softmax_backward(g3, out3, gi3),
    }, repeat=15, batch_s=0.01)
    base = t["numpy"]
    return [["NumPy passes: max, subtract, `np.exp`, sum, divide", fmt_timing(base), "1.00x"],
            ["fused softmax, serial build", fmt_timing(t["fused-serial"]),
             fmt_ratio(t["fused-serial"], base)],
            ["fused softmax, parallel build", fmt_timing(t["fused-parallel"]),
             fmt_ratio(t["fused-parallel"], base)],
            ["softmax_backward (dispatched)", fmt_timing(t["backward"]), "—"],
            ["log_softmax (dispatched)", fmt_timing(t["log_softmax"]), "—"],
            ["log_softmax_backward (dispatched)", fmt_timing(t["log_softmax_backward"]), "—"]]


if __name__ == "__main__":
    sys.exit(main())
