"""Matrix products: dualnet against torch and NumPy's bare BLAS calls, float32.

Forward alone and forward + backward (the two gradient products) for a square 512 product, a
Linear layer's shapes, rows times a matrix and a batched product, then a tiny 2x2 product,
whose time is the per-call overhead (Python, autograd bookkeeping). Target: 512x512 forward +
backward within 1.2x of torch at 2 threads.

Each candidate runs in its own process, the three taking turns for several rounds (the table
shows the median over rounds): NumPy's OpenBLAS threads and torch's OpenMP threads spin for a
while after each product, so running both libraries in one process slows each down 2-10x.

    python bench/bench_matmul.py [--rounds 3] [--threads 2]

`--threads 1` (NumPy's OpenBLAS and torch both single-threaded) is the steadier comparison on
a machine other processes share: a 2-thread GEMM waits for its slower thread.
"""
import argparse
import json
import os
import statistics
import sys

import numpy as np

from common import fmt_us, get_torch, header, run_python, table, wait_for_idle

SHAPES = [  # (label, a's shape, b's shape)
    ("512x512 @ 512x512", (512, 512), (512, 512)),
    ("MLP layer 128x784 @ 784x256", (128, 784), (784, 256)),
    ("rows @ matrix 32x64x128 @ 128x128", (32, 64, 128), (128, 128)),
    ("batched 32x64x64 @ 32x64x64", (32, 64, 64), (32, 64, 64)),
    ("tiny 2x2 @ 2x2 (per-call overhead)", (2, 2), (2, 2)),
]
CANDIDATES = ("numpy", "dualnet", "torch")


def _steps(candidate, sa, sb):
    """(forward, forward + backward) zero-argument callables of one candidate."""
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal(sa, dtype=np.float32)
    b_np = rng.standard_normal(sb, dtype=np.float32)
    seed_np = np.ones(np.matmul(a_np, b_np).shape, np.float32)
    if candidate == "numpy":
        b_t = np.swapaxes(b_np, -1, -2)
        # b's gradient: a batch of rows times one matrix sums over the batch in one GEMM
        rows_a = a_np.reshape(-1, sa[-1]) if len(sb) == 2 else a_np
        rows_seed = seed_np.reshape(-1, sb[-1]) if len(sb) == 2 else seed_np
        rows_a_t = np.swapaxes(rows_a, -1, -2)

        def backward():
            np.matmul(a_np, b_np)
            np.matmul(seed_np, b_t)
            np.matmul(rows_a_t, rows_seed)

        return (lambda: np.matmul(a_np, b_np)), backward
    if candidate == "dualnet":
        import dualnet as lib

        wrap = lib.from_numpy
    else:
        lib = get_torch()
        lib.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
        wrap = lib.from_numpy
    a, b = wrap(a_np.copy()), wrap(b_np.copy())
    grad_a, grad_b = wrap(a_np.copy()).requires_grad_(), wrap(b_np.copy()).requires_grad_()
    seed = wrap(seed_np)

    def backward():
        (grad_a @ grad_b).backward(seed)
        grad_a.grad = grad_b.grad = None

    return (lambda: a @ b), backward


def worker(candidate):
    """Measure every shape for one candidate; print {label: [forward s, backward s]} as JSON."""
    from common import measure

    results = {}
    for label, sa, sb in SHAPES:
        forward, backward = _steps(candidate, sa, sb)
        results[label] = [measure(forward, idle_wait_s=0, repeat=11, batch_s=0.02).median,
                          measure(backward, idle_wait_s=0, repeat=11, batch_s=0.02).median]
    print(json.dumps(results))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads")
    parser.add_argument("--worker", choices=CANDIDATES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0

    candidates = [c for c in CANDIDATES if c != "torch" or get_torch() is not None]
    wait_for_idle()
    runs = {c: [] for c in candidates}
    for _ in range(args.rounds):
        for c in candidates:
            threads = str(args.threads)
            _, out = run_python(f"import sys; sys.path.insert(0, 'bench'); import bench_matmul; "
                                f"bench_matmul.main(['--worker', '{c}'])", timeout=600,
                                env={"OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads})
            runs[c].append(json.loads(out.strip().splitlines()[-1]))

    def median(c, label, i):
        return statistics.median(run[label][i] for run in runs[c])

    rows = []
    for label, _, _ in SHAPES:
        for i, kind in enumerate(("forward", "forward + backward")):
            cells = {c: median(c, label, i) for c in candidates}
            torch_s = cells.get("torch")
            rows.append([label, kind] + [fmt_us(cells[c]) for c in candidates] +
                        [f"{cells['dualnet'] / torch_s:.2f}x" if torch_s else "—",
                         f"{cells['dualnet'] / cells['numpy']:.2f}x"])
    print(header(f"Matrix products, float32, {args.threads} BLAS thread(s) (us per call; median "
                 f"over {args.rounds} rounds of a process per candidate)", __file__))
    print("NumPy column: the bare BLAS calls (forward; forward + the two gradient products).\n")
    print(table(["product", "pass"] + candidates + ["dualnet / torch", "dualnet / NumPy"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
