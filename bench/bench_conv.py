"""Convolutions: dualnet (NCHW, and NHWC through the core op) against torch, float32.

Forward and forward + backward of conv2d on the shapes of the Keras MNIST convnet at batch 128
(targets: at most 1.5x torch's time at 2 threads), then a strided, a padded ResNet-style, a
depthwise, a transposed and a 1-D convolution, and a tiny one whose time is per-call overhead.
GFLOP/s counts 2*N*OH*OW*OC*C*kh*kw per product (forward, input gradient, weight gradient);
the machine's float32 matmul ceiling is ~180 GFLOP/s (SPEC.md).

Each candidate runs in its own process, the candidates taking turns for several rounds (the
table shows the median over rounds of each process's median): NumPy's OpenBLAS threads and
torch's OpenMP threads spin after each product, so running both libraries in one process slows
each down. `--compile` also measures the Numba compile time of the family's kernels, with an
empty and a warm cache.

    python bench/bench_conv.py [--rounds 3] [--threads 2] [--compile]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

import numpy as np

from common import fmt_us, get_torch, header, run_python, table, wait_for_idle

CEILING_GFLOPS = 180.0  # NumPy float32 matmul on this machine class (SPEC.md)

# (label, op, input shape NCHW / NCL, weight shape, kwargs, input needs grad, target row)
CASES = [
    ("conv 1->32, 28x28, 3x3, batch 128 (first layer: no input grad)", "conv2d",
     (128, 1, 28, 28), (32, 1, 3, 3), {}, False, True),
    ("conv 1->32, 28x28, 3x3, batch 128 (all grads)", "conv2d",
     (128, 1, 28, 28), (32, 1, 3, 3), {}, True, False),
    ("conv 32->64, 26x26, 3x3, batch 128", "conv2d",
     (128, 32, 26, 26), (64, 32, 3, 3), {}, True, True),
    ("conv 64->64, 14x14, 3x3 pad 1, batch 64", "conv2d",
     (64, 64, 14, 14), (64, 64, 3, 3), {"padding": 1}, True, False),
    ("conv 32->64, 28x28, 3x3 stride 2 pad 1, batch 64", "conv2d",
     (64, 32, 28, 28), (64, 32, 3, 3), {"stride": 2, "padding": 1}, True, False),
    ("depthwise 64, 28x28, 3x3 pad 1, batch 32", "conv2d",
     (32, 64, 28, 28), (64, 1, 3, 3), {"padding": 1, "groups": 64}, True, False),
    ("conv_transpose 64->32, 14x14, 4x4 stride 2 pad 1, batch 32", "conv_transpose2d",
     (32, 64, 14, 14), (64, 32, 4, 4), {"stride": 2, "padding": 1}, True, False),
    ("conv1d 64->64, L=256, k=5 pad 2, batch 32", "conv1d",
     (32, 64, 256), (64, 64, 5), {"padding": 2}, True, False),
    ("tiny 3->8, 8x8, 3x3, batch 1 (per-call overhead)", "conv2d",
     (1, 3, 8, 8), (8, 3, 3, 3), {}, True, False),
]
CANDIDATES = ("torch", "dualnet", "dualnet-nhwc")
_LAST = {"conv2d": "NHWC", "conv_transpose2d": "NHWC", "conv1d": "NLC"}


def _rate(gflops):
    return f"{gflops:.0f} ({gflops / CEILING_GFLOPS:.0%})"


def _flops(op, x_shape, w_shape, out_shape):
    """2 * multiply-adds of one product (the forward; each gradient costs the same)."""
    if op.startswith("conv_transpose"):  # the input-gradient product of a conv of out_shape
        return 2 * int(np.prod(x_shape)) * int(np.prod(w_shape[1:]))
    return 2 * int(np.prod(out_shape)) * int(np.prod(w_shape[1:]))


def _steps(candidate, op, x_shape, w_shape, kwargs, input_grad):
    """(forward, forward + backward, output shape) for one candidate."""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(x_shape, dtype=np.float32)
    w_np = (rng.standard_normal(w_shape, dtype=np.float32) * 0.1).astype(np.float32)
    out_ch = w_shape[1] * kwargs.get("groups", 1) if op.startswith("conv_transpose") \
        else w_shape[0]
    b_np = rng.standard_normal(out_ch, dtype=np.float32)
    if candidate == "torch":
        lib = get_torch()
        lib.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))  # --threads
        fn = getattr(lib.nn.functional, op)
    else:
        import dualnet as lib
        import dualnet.nn.functional as F

        fn = getattr(F, op)
        if candidate == "dualnet-nhwc":
            from dualnet.core.ops.conv.ops import convolution, convolution_transpose

            core = convolution_transpose if op.startswith("conv_transpose") else convolution
            layout = _LAST[op]
            x_np = np.ascontiguousarray(np.moveaxis(x_np, 1, -1))

            def fn(x, w, b, **kw):
                return core(x, w, b, layout=layout, **kw)
    x = lib.from_numpy(x_np).requires_grad_(input_grad)
    w = lib.from_numpy(w_np).requires_grad_()
    b = lib.from_numpy(b_np).requires_grad_()
    with lib.no_grad():
        out = fn(x, w, b, **kwargs)
    seed = lib.ones_like(out)

    def forward():
        with lib.no_grad():
            fn(x, w, b, **kwargs)

    def backward():
        fn(x, w, b, **kwargs).backward(seed)
        x.grad = w.grad = b.grad = None

    shape = tuple(out.shape)
    if candidate == "dualnet-nhwc":
        shape = shape[:1] + shape[-1:] + shape[1:-1]
    return forward, backward, shape


def worker(candidate):
    """Measure every case for one candidate; print {label: [forward s, fwd+bwd s, flops]}."""
    from common import measure

    results = {}
    for label, op, x_shape, w_shape, kwargs, input_grad, _ in CASES:
        forward, backward, out_shape = _steps(candidate, op, x_shape, w_shape, kwargs,
                                              input_grad)
        passes = 3 if input_grad else 2
        results[label] = [measure(forward, idle_wait_s=0, repeat=7, batch_s=0.05).median,
                          measure(backward, idle_wait_s=0, repeat=7, batch_s=0.05).median,
                          _flops(op, x_shape, w_shape, out_shape), passes]
    print(json.dumps(results))


COMPILE_CHILD = r"""
import json, time, numpy as np
import numba
numba.njit(lambda: 1)()  # LLVM's one-time set-up, not billed to the family
import dualnet as dn
import dualnet.nn.functional as F
from dualnet.core.ops.conv.ops import convolution
rng = np.random.default_rng(0)

def steps():
    for layout, shape in (("NCHW", (4, 8, 12, 12)), ("NHWC", (4, 12, 12, 8))):
        for kwargs, w_shape in (({}, (8, 8, 3, 3)), ({"stride": 2, "padding": 1}, (8, 8, 3, 3)),
                                ({"padding": 1, "groups": 8}, (8, 1, 3, 3))):
            x = dn.from_numpy(rng.standard_normal(shape, dtype=np.float32)).requires_grad_()
            w = dn.from_numpy(rng.standard_normal(w_shape, dtype=np.float32)).requires_grad_()
            b = dn.zeros(w_shape[0], requires_grad=True)
            convolution(x, w, b, layout=layout, **kwargs).sum().backward()
    x = dn.randn(2, 8, 5, 5, requires_grad=True)
    F.conv_transpose2d(x, dn.randn(8, 4, 3, 3, requires_grad=True), stride=2).sum().backward()

start = time.perf_counter(); steps(); first = time.perf_counter() - start
start = time.perf_counter(); steps(); again = time.perf_counter() - start
print(json.dumps({"first_s": first, "again_s": again}))
"""


def compile_times():
    """(empty-cache, warm-cache) seconds of the family's first use, minus its steady state."""
    cache_dir = tempfile.mkdtemp(prefix="dualnet-conv-cache-")
    try:
        out = []
        for _ in range(2):
            _, text = run_python(COMPILE_CHILD, env={"NUMBA_CACHE_DIR": cache_dir}, timeout=600)
            report = json.loads(text.strip().splitlines()[-1])
            out.append(report["first_s"] - report["again_s"])
        return out
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads")
    parser.add_argument("--compile", action="store_true", help="also time Numba compilation")
    parser.add_argument("--worker", choices=CANDIDATES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0

    candidates = [c for c in CANDIDATES if c != "torch" or get_torch() is not None]
    wait_for_idle()
    runs = {c: [] for c in candidates}
    threads = str(args.threads)
    for _ in range(args.rounds):
        for c in candidates:
            _, out = run_python(f"import sys; sys.path.insert(0, 'bench'); import bench_conv; "
                                f"bench_conv.main(['--worker', '{c}'])", timeout=900,
                                env={"OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads})
            runs[c].append(json.loads(out.strip().splitlines()[-1]))

    def median(c, label, i):
        return statistics.median(run[label][i] for run in runs[c])

    rows, rates = [], []
    for label, *_, target in CASES:
        for i, kind in enumerate(("forward", "forward + backward")):
            cells = {c: median(c, label, i) for c in candidates}
            torch_s = cells.get("torch")
            ratios = [f"{cells[c] / torch_s:.2f}x" if torch_s else "—"
                      for c in candidates if c != "torch"]
            rows.append([("**" + label + "**") if target else label, kind]
                        + [fmt_us(cells[c]) for c in candidates] + ratios)
            if target:
                flops, passes = runs["dualnet"][0][label][2], runs["dualnet"][0][label][3]
                total = flops * (1 if i == 0 else passes)
                rates.append([label, kind] + [_rate(total / cells[c] / 1e9) for c in candidates])
    print(header(f"Convolutions, float32, {args.threads} thread(s) (us per call; median over "
                 f"{args.rounds} rounds of a process per candidate)", __file__))
    print("dualnet-nhwc: the core op with layout='NHWC' (what keras_api calls) on channels-last "
          "data; torch always NCHW. Bold rows carry the 1.5x target.\n")
    print(table(["case", "pass"] + candidates + [f"{c} / torch" for c in candidates
                                                 if c != "torch"], rows))
    print("\nGFLOP/s (share of the ~180 GFLOP/s float32 matmul ceiling) on the target rows:\n")
    print(table(["case", "pass"] + candidates, rates))
    if args.compile:
        cold, warm = compile_times()
        print(f"\nNumba compile time of the conv family's kernels (float32, both layouts, the "
              f"GEMM, strided and depthwise paths, conv_transpose), first use minus steady "
              f"state: empty cache {cold:.2f} s, warm cache {warm:.2f} s.")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
