"""One training step of an MLP written with raw tensors: dualnet against torch, same code.

The two MLP rows of SPEC.md's reference figures: 784-32-10 at batch 32 (per-op overhead bound:
~25 ops a step) and 784-256-256-10 at batch 128 (matrix products start to count). The step is
forward, log-softmax cross-entropy picked by indexing, backward, and SGD with momentum written
with in-place ops (torch's rule: buf = m * buf + g; p -= lr * buf). Both frameworks run this
very function, handed their module; torch's fused `F.cross_entropy` / `optim.SGD` would be a
little faster (SPEC's 0.51 ms/step for the small MLP is torch's nn + optim).

    python bench/bench_mlp.py
"""
import sys

import numpy as np

from common import compare, fmt_ratio, get_torch, header, table, wait_for_idle

import dualnet as dn

CASES = [("MLP 784-32-10, batch 32", (784, 32, 10), 32),
         ("MLP 784-256-256-10, batch 128", (784, 256, 256, 10), 128)]
LEARNING_RATE, MOMENTUM = 0.01, 0.9


def make_step(lib, sizes, batch):
    """A zero-argument training step on a fixed random batch, for `lib` (dualnet or torch)."""
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((batch, sizes[0]), dtype=np.float32))
    y = lib.from_numpy(rng.integers(0, sizes[-1], batch))
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = (rng.uniform(-1, 1, (fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        params += [lib.from_numpy(w).requires_grad_(), lib.zeros(fan_out, requires_grad=True)]
    buffers = [lib.zeros_like(p) for p in params]
    rows = lib.arange(batch)

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = lib.relu(h)
        loss = -lib.log_softmax(h, dim=1)[rows, y].mean()
        loss.backward()
        with lib.no_grad():
            for p, buf in zip(params, buffers):
                buf.mul_(MOMENTUM).add_(p.grad)
                p.sub_(LEARNING_RATE * buf)
                p.grad = None
        return loss

    return step


def main():
    torch = get_torch()
    wait_for_idle()
    rows = []
    for label, sizes, batch in CASES:
        cands = {"dualnet": make_step(dn, sizes, batch)}
        if torch is not None:
            cands["torch"] = make_step(torch, sizes, batch)
            first_dn, first_t = cands["dualnet"]().item(), cands["torch"]().item()
            assert abs(first_dn - first_t) < 1e-4 * max(1.0, abs(first_t)), (first_dn, first_t)
        # one after the other: interleaved, OpenBLAS's and torch's spinning threads collide
        t = compare(cands, repeat=11, batch_s=0.05, warmup=5, interleave=False)
        torch_t = t.get("torch")
        rows.append([label, _ms(t["dualnet"]), _ms(torch_t) if torch_t else "—",
                     fmt_ratio(t["dualnet"], torch_t)])
    print(header("MLP training step with raw tensors (ms per step, median ±IQR/2)", __file__))
    print(table(["model", "dualnet", "torch", "dualnet / torch"], rows))
    print()


def _ms(timing):
    flag = " *" if timing.others is not None and timing.others > 0.15 else ""
    return f"{timing.median * 1e3:.3f} ±{timing.iqr / 2 * 1e3:.3f}{flag}"


if __name__ == "__main__":
    sys.exit(main())
