"""Losses against torch CPU (2 threads): cross_entropy on (128, 10) and (256, 10000) float32
logits (the targets: dualnet / torch <= 1 forward + backward), then nll_loss, mse_loss and
binary_cross_entropy_with_logits on a (128, 10) batch, all through the public API
(`F.cross_entropy(x, t).backward()`, `.grad` reset each call).

Then the fused cross-entropy kernels alone, serial and parallel builds, against the NumPy passes
they replace (max, subtract, `np.exp`, sum, log, pick), on the (256, 10000) logits.

    python bench/bench_loss.py [--threads N]   # N threads for both (default 2, SPEC.md's)
"""
import argparse
import sys

import numpy as np

from common import compare, fmt_ratio, fmt_timing, get_torch, header, table, wait_for_idle

import dualnet as dn
import dualnet.nn.functional as F
from dualnet.core.ops.loss import cpu

SHAPES = [(128, 10), (256, 10000)]


def _step(lib_f, op, leaf, *args, **kwargs):
    def run():
        leaf.grad = None
        getattr(lib_f, op)(leaf, *args, **kwargs).backward()

    return run


def _numpy_cross_entropy(x, target, scratch):
    """The unfused NumPy passes: log_softmax materialised, then the targets picked."""
    top = np.max(x, axis=1, keepdims=True)
    np.subtract(x, top, out=scratch)
    np.exp(scratch, out=scratch)
    lse = np.log(np.sum(scratch, axis=1, keepdims=True)) + top
    return np.mean(lse[:, 0] - x[np.arange(x.shape[0]), target])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and Numba")
    threads = parser.parse_args().threads
    torch = get_torch()
    if torch is None:
        print("bench_loss: torch is not installed; nothing to compare against")
        return 0
    import numba
    import torch.nn.functional as TF

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    wait_for_idle()
    rng = np.random.default_rng(0)
    rows = []

    def add(label, pass_, ours, theirs, batch_s=0.01):
        t = compare({"dualnet": ours, "torch": theirs}, repeat=15, batch_s=batch_s)
        rows.append([label, pass_, fmt_timing(t["dualnet"]), fmt_timing(t["torch"]),
                     fmt_ratio(t["dualnet"], t["torch"])])

    for shape in SHAPES:
        x_np = rng.standard_normal(shape, dtype=np.float32)
        t_np = rng.integers(0, shape[1], shape[0])
        x_dn, t_dn = dn.from_numpy(x_np).requires_grad_(), dn.from_numpy(t_np)
        x_t, t_t = torch.from_numpy(x_np).requires_grad_(), torch.from_numpy(t_np)
        np.testing.assert_allclose(F.cross_entropy(x_dn, t_dn).item(),
                                   TF.cross_entropy(x_t, t_t).item(), rtol=1e-5)
        label = f"cross_entropy {shape}"
        add(label, "forward", lambda: F.cross_entropy(x_dn, t_dn),
            lambda: TF.cross_entropy(x_t, t_t))
        add(label, "forward + backward", _step(F, "cross_entropy", x_dn, t_dn),
            _step(TF, "cross_entropy", x_t, t_t))
        if shape[1] > 100:
            add(label + ", label_smoothing=0.1", "forward + backward",
                _step(F, "cross_entropy", x_dn, t_dn, label_smoothing=0.1),
                _step(TF, "cross_entropy", x_t, t_t, label_smoothing=0.1))

    small = rng.standard_normal((128, 10), dtype=np.float32)
    target = rng.standard_normal((128, 10), dtype=np.float32)
    labels = rng.integers(0, 10, 128)
    probs = (target > 0).astype(np.float32)
    x_dn, x_t = dn.from_numpy(small).requires_grad_(), torch.from_numpy(small).requires_grad_()
    for op, ours_args, theirs_args in (
            ("nll_loss", (dn.from_numpy(labels),), (torch.from_numpy(labels),)),
            ("mse_loss", (dn.from_numpy(target),), (torch.from_numpy(target),)),
            ("binary_cross_entropy_with_logits", (dn.from_numpy(probs),),
             (torch.from_numpy(probs),))):
        add(f"{op} (128, 10)", "forward + backward", _step(F, op, x_dn, *ours_args),
            _step(TF, op, x_t, *theirs_args))

    print(header(f"losses, float32, {threads} thread(s) each (us per call, median ±IQR/2)",
                 __file__))
    print(table(["op", "pass", "dualnet", "torch", "dualnet / torch"], rows))
    print()
    print("Fused cross-entropy kernels alone on (256, 10000) float32, outputs preallocated "
          "(us per call):\n")
    print(table(["kernel", "time", "/ NumPy passes"], kernel_checks(rng)))
    print()
    return 0


def kernel_checks(rng):
    x = rng.standard_normal((256, 10000), dtype=np.float32)
    target = rng.integers(0, 10000, 256)
    weight, lse, loss = np.ones(10000, np.float32), np.empty(256, np.float32), \
        np.empty(256, np.float32)
    grad, scratch, out = np.full(256, 1 / 256, np.float32), np.empty_like(x), np.empty_like(x)
    zero = np.float32(0)
    forward = cpu._cross_entropy_rows
    backward = cpu._cross_entropy_backward_rows
    t = compare({
        "numpy": lambda: _numpy_cross_entropy(x, target, scratch),
        "serial": lambda: forward.serial(x, target, weight, -100, zero, lse, loss),
        "parallel": lambda: forward.parallel(x, target, weight, -100, zero, lse, loss),
        "backward-serial": lambda: backward.serial(x, target, weight, lse, -100, zero, grad, out),
        "backward-parallel": lambda: backward.parallel(x, target, weight, lse, -100, zero, grad,
                                                       out),
    }, repeat=15, batch_s=0.02)
    base = t["numpy"]
    return [["NumPy passes: max, subtract, `np.exp`, sum, log, pick (forward)", fmt_timing(base),
             "1.00x"]] + [
        [name, fmt_timing(t[key]), fmt_ratio(t[key], base)] for name, key in (
            ("fused forward, serial build", "serial"),
            ("fused forward, parallel build", "parallel"),
            ("fused backward (softmax - onehot), serial build", "backward-serial"),
            ("fused backward (softmax - onehot), parallel build", "backward-parallel"))]


if __name__ == "__main__":
    sys.exit(main())
