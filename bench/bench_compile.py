"""Numba compile cost: what the first use of each op family costs, with an empty and a warm cache.

Kernels compile lazily and are cached on disk (`cache=True`). The parent runs a child process
with a fresh, empty `NUMBA_CACHE_DIR` (every kernel compiles), then a second child with the same
directory (every kernel loads from the cache). Each child imports Numba on its own first, then
exercises each op family once through the public API (forward and backward, float32) and
reports how long that first pass took, minus the same pass run again (the steady-state cost).

    python bench/bench_compile.py
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

from common import header, run_python, table, wait_for_idle

# Each family's first-use workload: (label, code) steps run in the child against `dn`, a float32
# matrix `a`, `b` (same shape), `row` (broadcasts against `a`), `g` (requires grad) and `idx`.
# A step whose function does not exist (the family has not landed) is skipped and reported.
FAMILIES = {
    "elementwise": [
        "a + b", "a - b", "a * b", "a / b", "dn.maximum(a, b)", "a + row", "-a", "a * a",
        "a > b", "dn.where(a > b, a, b)", "dn.clamp(a, -1.0, 1.0)", "dn.exp(a)",
        "dn.relu(g).backward(ones)", "dn.sigmoid(g).backward(ones)", "dn.tanh(g).backward(ones)",
        "(g * b + row).backward(ones)", "(g / b).backward(ones)",
        "dn.clamp(g, -1.0, 1.0).backward(ones)",
        "a.double() + b.double()",
    ],
    "reduction": [
        "a.sum()", "a.sum(dim=1)", "a.mean(dim=0)", "a.max()", "a.max(dim=1)", "a.amax(dim=1)",
        "a.argmax(dim=1)", "dn.softmax(a, dim=1)", "dn.log_softmax(a, dim=1)",
        "dn.logsumexp(a, dim=1)", "a.var(dim=1)", "g.sum().backward()",
        "g.mean(dim=1).sum().backward()",
        "dn.softmax(g, dim=1).sum().backward()", "dn.log_softmax(g, dim=1).sum().backward()",
        "g.amax(dim=1).sum().backward()",
    ],
    "matmul": [
        "a @ b", "dn.matmul(a, b[0])", "(g @ b).backward(ones)", "dn.bmm(a[None], b[None])",
    ],
    "shape": [
        "a.reshape(-1)", "a.transpose(0, 1).contiguous()", "a.permute(1, 0)", "a.unsqueeze(0)",
        "dn.cat([a, b], dim=0)", "dn.stack([a, b])",
        "g.t().contiguous().reshape(-1).backward(dn.ones(g.numel()))",
    ],
    "indexing": [
        "a[0]", "a[:, 1:3]", "a[idx]", "a[a > 0]", "a.gather(1, idx[:, None])",
        "c = a.clone(); c[0] = 1.0", "g[idx].backward(dn.ones(len(idx), a.shape[1]))",
    ],
    # The NN families (torch.nn.functional's names), on small NCHW/NHWC images built from `g`.
    "conv": [
        "x = g.reshape(4, 1, 32, 32); w = dn.randn(8, 1, 3, 3, requires_grad=True); "
        "F.conv2d(x, w, padding=1).sum().backward()",
        "x = g.reshape(4, 4, 16, 16); w = dn.randn(4, 1, 3, 3); "
        "F.conv2d(x, w, stride=2, groups=4).sum().backward()",
        "x = g.reshape(8, 8, 64); w = dn.randn(4, 8, 3); F.conv1d(x, w, dilation=2).sum().backward()",
        "x = g.reshape(4, 4, 16, 16); w = dn.randn(4, 2, 3, 3); "
        "F.conv_transpose2d(x, w, stride=2).sum().backward()",
    ],
    "pooling": [
        "F.max_pool2d(g.reshape(4, 4, 16, 16), 2).sum().backward()",
        "F.max_pool2d(g.reshape(4, 4, 16, 16), 3, stride=2, padding=1, ceil_mode=True).sum().backward()",
        "F.avg_pool2d(g.reshape(4, 4, 16, 16), 2).sum().backward()",
        "F.adaptive_avg_pool2d(g.reshape(4, 4, 16, 16), 1).sum().backward()",
        "F.adaptive_max_pool2d(g.reshape(4, 4, 16, 16), 5).sum().backward()",
    ],
    "normalization": [
        "F.batch_norm(g.reshape(16, 4, 8, 8), dn.zeros(4), dn.ones(4), dn.ones(4), dn.zeros(4), "
        "training=True).sum().backward()",
        "F.layer_norm(g, (64,), dn.ones(64), dn.zeros(64)).sum().backward()",
        "F.group_norm(g.reshape(16, 4, 8, 8), 2).sum().backward()",
        "F.instance_norm(g.reshape(16, 4, 8, 8)).sum().backward()",
    ],
    "loss": [
        "F.cross_entropy(g, idx.repeat(4)).backward()",
        "F.nll_loss(F.log_softmax(g, dim=1), idx.repeat(4)).backward()",
        "F.binary_cross_entropy_with_logits(g, b / 2).backward()",
        "F.mse_loss(g, a).backward()",
        "F.smooth_l1_loss(g, a).backward()",
    ],
    "activation": [
        "F.gelu(g).sum().backward()", "F.silu(g).sum().backward()", "F.elu(g).sum().backward()",
        "F.leaky_relu(g).sum().backward()", "F.softplus(g).sum().backward()",
    ],
    "recurrent": [
        "h = dn.zeros(64, 16); w_ih = dn.randn(64, 64, requires_grad=True); "
        "w_hh = dn.randn(64, 16); F.lstm_cell(g, (h, h), w_ih, w_hh)[0].sum().backward()",
        "h = dn.zeros(64, 16); w_ih = dn.randn(48, 64, requires_grad=True); "
        "w_hh = dn.randn(48, 16); F.gru_cell(g, h, w_ih, w_hh).sum().backward()",
    ],
}

CHILD = r"""
import json, sys, time
import numpy as np
start = time.perf_counter()
import numba
numba_s = time.perf_counter() - start
start = time.perf_counter()
numba.njit(lambda: 1)()  # LLVM's one-time set-up, so it is not billed to the first family
llvm_s = time.perf_counter() - start
start = time.perf_counter()
import dualnet as dn
import dualnet.nn.functional
import_s = time.perf_counter() - start
rng = np.random.default_rng(0)
a = dn.from_numpy(rng.standard_normal((64, 64), dtype=np.float32))
b = dn.from_numpy(rng.uniform(0.5, 2.0, (64, 64)).astype(np.float32))
row = dn.from_numpy(rng.standard_normal(64, dtype=np.float32))
ones = dn.ones(64, 64)
idx = dn.from_numpy(rng.integers(0, 64, 16))
families = json.loads(sys.argv[1])
report = {"numba_import_s": numba_s, "llvm_setup_s": llvm_s, "dualnet_import_s": import_s,
          "families": {}}

def run(steps):
    failed = []
    for step in steps:
        g = dn.from_numpy(rng.standard_normal((64, 64), dtype=np.float32)).requires_grad_()
        try:
            exec(step, {"dn": dn, "F": dn.nn.functional, "a": a, "b": b, "row": row, "g": g, "ones": ones, "idx": idx})
        except Exception as err:
            message = str(err).splitlines()[0][:80] if str(err) else ""
            failed.append(f"{step}: {type(err).__name__}: {message}")
    return failed

for family, steps in families.items():
    start = time.perf_counter()
    failed = run(steps)
    first = time.perf_counter() - start
    start = time.perf_counter()
    run(steps)
    again = time.perf_counter() - start
    report["families"][family] = {"first_s": first, "again_s": again, "failed": failed,
                                  "steps": len(steps)}
print(json.dumps(report))
"""


def _child(cache_dir):
    elapsed, out = run_python(CHILD.replace("json.loads(sys.argv[1])",
                                            f"json.loads({json.dumps(json.dumps(FAMILIES))})"),
                              env={"NUMBA_CACHE_DIR": str(cache_dir)}, timeout=300)
    return elapsed, json.loads(out.strip().splitlines()[-1])


def _cache_files(cache_dir, family):
    """Kernels of a family in the cache: Numba's index files (.nbi), one per compiled function.

    Numba names a source file's cache folder after the folder holding it (`elementwise_<hash>`).
    """
    return sum(1 for p in Path(cache_dir).rglob("*.nbi") if p.parent.name.startswith(family + "_"))


def main():
    wait_for_idle()
    cache_dir = Path(tempfile.mkdtemp(prefix="dualnet-numba-cache-"))
    try:
        cold_wall, cold = _child(cache_dir)
        warm_wall, warm = _child(cache_dir)
        kernels_cached = {family: _cache_files(cache_dir, family) for family in FAMILIES}
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)

    rows = [["`import numba`", f"{cold['numba_import_s']:.2f}", f"{warm['numba_import_s']:.2f}",
             "", "", ""],
            ["Numba's one-time set-up (a trivial `njit`)", f"{cold['llvm_setup_s']:.2f}",
             f"{warm['llvm_setup_s']:.2f}", "", "", ""],
            ["`import dualnet` (after numba)", f"{cold['dualnet_import_s']:.2f}",
             f"{warm['dualnet_import_s']:.2f}", "", "", ""]]
    notes = []
    total_cold = total_warm = 0.0
    for family in FAMILIES:
        c, w = cold["families"][family], warm["families"][family]
        ran = c["steps"] - len(c["failed"])
        if ran == 0:
            rows.append([family, "—", "—", "0", "", "not available yet"])
            notes.append(f"- {family}: skipped, first failure: `{c['failed'][0]}`")
            continue
        cold_s = max(0.0, c["first_s"] - c["again_s"])
        warm_s = max(0.0, w["first_s"] - w["again_s"])
        total_cold += cold_s
        total_warm += warm_s
        skipped = f"{len(c['failed'])} of {c['steps']} steps failed" if c["failed"] else ""
        count = kernels_cached[family]
        per_kernel = f"{warm_s / count * 1e3:.0f}" if count else ""
        rows.append([family, f"{cold_s:.2f}", f"{warm_s:.3f}", str(count), per_kernel, skipped])
        notes += [f"- {family}: `{f}`" for f in c["failed"]]
    rows.append(["**all families**", f"**{total_cold:.2f}**", f"**{total_warm:.3f}**", "", "", ""])
    rows.append(["child process wall time", f"{cold_wall:.2f}", f"{warm_wall:.2f}", "", "", ""])

    print(header("Numba compile cost per op family, first use (seconds)", __file__))
    print("First use of each family's ops (forward + backward, float32; elementwise also one "
          "float64 add) minus the same steps run again. *Empty cache*: a fresh `NUMBA_CACHE_DIR`, "
          "every kernel compiles; *cached*: a second process on that directory.\n")
    print(table(["", "empty cache (compile)", "cached (load)", "kernels cached (.nbi)",
                 "cached load per kernel (ms)", "note"], rows))
    if notes:
        print("\nSteps that failed (the family or op has not landed):\n")
        print("\n".join(notes))
    print()


if __name__ == "__main__":
    sys.exit(main())
