"""Per-op overhead: tiny (8-element) ops through the tensor API, and cold import time.

A tiny op costs almost nothing to compute, so its time is the framework's dispatch cost (Python
wrappers, type promotion, autograd bookkeeping, the kernel call). SPEC.md's budget: under ~15 us
per op to match torch on a small MLP. Also: cold `import dualnet` against `import torch` (fresh
interpreters, median of 5), and the check that `import dualnet` does not import Numba.

    python bench/bench_overhead.py              # tables
    python bench/bench_overhead.py --profile    # + cProfile of the tiny forward+backward chain
"""
import argparse
import cProfile
import io
import pstats
import statistics
import sys

import numpy as np

from common import (compare, fmt_ratio, fmt_timing, fmt_us, get_torch, header, run_python, table,
                    wait_for_idle)

import dualnet as dn

N = 8
CHAIN_OPS = 5
IMPORT_RUNS = 5


def chain(x, w, b, exp, tanh):
    """Five recorded ops: mul, add, exp, mul, tanh."""
    return tanh(exp(x * w + b) * x)


def _dualnet_chain_step(x, w, b, seed):
    y = chain(x, w, b, dn.exp, dn.tanh)
    y.backward(seed)
    x.grad = w.grad = b.grad = None


def _torch_chain_step(torch, x, w, b, seed):
    y = chain(x, w, b, torch.exp, torch.tanh)
    y.backward(seed)
    x.grad = w.grad = b.grad = None


def op_rows(torch):
    rng = np.random.default_rng(0)
    a_np, b_np = (rng.standard_normal(N, dtype=np.float32) for _ in range(2))
    a, b = dn.from_numpy(a_np.copy()), dn.from_numpy(b_np.copy())
    if torch is not None:
        a_t, b_t = torch.from_numpy(a_np.copy()), torch.from_numpy(b_np.copy())

    cases = [  # (label, NumPy, dualnet, torch, grad mode)
        ("a + b", lambda: a_np + b_np, lambda: a + b, lambda: a_t + b_t, False),
        ("a * b", lambda: a_np * b_np, lambda: a * b, lambda: a_t * b_t, False),
        ("exp(a)", lambda: np.exp(a_np), lambda: dn.exp(a), lambda: torch.exp(a_t), False),
        ("a + 1.0 (Python scalar)", lambda: a_np + 1.0, lambda: a + 1.0, lambda: a_t + 1.0, False),
        ("a + b, grad mode on, no requires_grad", lambda: a_np + b_np, lambda: a + b,
         lambda: a_t + b_t, True),
    ]
    rows = []
    for label, np_fn, dn_fn, t_fn, grad_mode in cases:
        cands = {"numpy": np_fn, "dualnet": dn_fn}
        if torch is not None:
            cands["torch"] = t_fn
        with dn.set_grad_enabled(grad_mode):
            if torch is not None:
                with torch.set_grad_enabled(grad_mode):
                    t = compare(cands)
            else:
                t = compare(cands)
        rows.append(_row(label, t, 1))

    # Recording: a leaf that requires grad makes every op build a graph node.
    x = dn.from_numpy(a_np.copy()).requires_grad_()
    cands = {"numpy": lambda: a_np + b_np, "dualnet": lambda: x + b}
    if torch is not None:
        x_t = torch.from_numpy(a_np.copy()).requires_grad_()
        cands["torch"] = lambda: x_t + b_t
    rows.append(_row("x + b, x requires_grad (records a node)", compare(cands), 1))

    # Forward + backward of a 5-op chain; NumPy column: the same forward and backward by hand.
    xs = [dn.from_numpy(v.copy()).requires_grad_() for v in (a_np, b_np, a_np)]
    seed = dn.ones(N)

    def numpy_chain():
        h = np.exp(a_np * b_np + a_np)
        y = np.tanh(h * a_np)
        gy = 1 - y * y
        gh = gy * a_np * h
        return gh * b_np + gy * h, gh * a_np, gh

    cands = {"numpy": numpy_chain, "dualnet": lambda: _dualnet_chain_step(*xs, seed)}
    if torch is not None:
        ts = [torch.from_numpy(v.copy()).requires_grad_() for v in (a_np, b_np, a_np)]
        seed_t = torch.ones(N)
        cands["torch"] = lambda: _torch_chain_step(torch, *ts, seed_t)
    rows.append(_row(f"{CHAIN_OPS}-op chain forward + backward", compare(cands), CHAIN_OPS))
    return rows


def _row(label, t, ops):
    torch_t = t.get("torch")
    per_op = fmt_us(t["dualnet"].median / ops) if ops > 1 else ""
    per_op_torch = fmt_us(torch_t.median / ops) if ops > 1 and torch_t else ""
    return [label, fmt_timing(t["numpy"]), fmt_timing(t["dualnet"]),
            fmt_timing(torch_t) if torch_t else "—", fmt_ratio(t["dualnet"], torch_t),
            f"{per_op} / {per_op_torch}" if ops > 1 else ""]


def import_rows():
    """Cold imports in fresh interpreters; the module caches (.pyc) are warm, as for a user."""
    statements = [("python -c pass", "pass"),
                  ("import numpy", "import numpy"),
                  ("import dualnet", "import dualnet"),
                  ("import dualnet; first a + b (loads Numba + cached kernels)",
                   "import dualnet as dn; x = dn.ones(8); x + x"),
                  ("import torch", "import torch")]
    rows = []
    for label, code in statements:
        if code == "import torch" and get_torch() is None:
            continue
        try:
            run_python(code)  # warm the OS file cache and .pyc files
            times = [run_python(code)[0] for _ in range(IMPORT_RUNS)]
        except RuntimeError as err:
            rows.append([label, "failed: " + str(err).strip().splitlines()[-1], ""])
            continue
        rows.append([label, f"{statistics.median(times) * 1e3:.0f}",
                     f"{(max(times) - min(times)) * 1e3:.0f}"])
    _, out = run_python("import sys, dualnet; print('numba' in sys.modules)")
    imports_numba = out.strip() == "True"
    return rows, imports_numba


def profile_chain(steps=2000, top=25):
    """cProfile of the tiny forward+backward chain: where the per-op time goes."""
    rng = np.random.default_rng(0)
    xs = [dn.from_numpy(rng.standard_normal(N, dtype=np.float32)).requires_grad_()
          for _ in range(3)]
    seed = dn.ones(N)
    for _ in range(50):
        _dualnet_chain_step(*xs, seed)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        _dualnet_chain_step(*xs, seed)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(top)
    print(f"#### cProfile: {steps} steps of the {CHAIN_OPS}-op chain forward + backward, "
          f"sorted by own time (profiling inflates Python calls)\n")
    print("```")
    print("\n".join(line for line in stream.getvalue().splitlines() if line.strip()))
    print("```\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="also cProfile the chain")
    args = parser.parse_args(argv)

    torch = get_torch()
    wait_for_idle()
    rows = op_rows(torch)
    imports, imports_numba = import_rows()

    print(header(f"Per-op overhead, {N}-element float32 tensors (us per call, median ±IQR/2)",
                 __file__))
    print(table(["op", "NumPy", "dualnet", "torch", "dualnet / torch",
                 "per op: dualnet / torch"], rows))
    print()
    print(f"Cold import in a fresh interpreter (ms, median of {IMPORT_RUNS}, "
          f"spread = max - min):\n")
    print(table(["statement", "ms", "spread"], imports))
    print()
    print(f"`import dualnet` imports Numba: {'YES (regression)' if imports_numba else 'no'}\n")
    if args.profile:
        profile_chain()
    return 1 if imports_numba else 0


if __name__ == "__main__":
    sys.exit(main())
