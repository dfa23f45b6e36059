"""Training throughput the PyTorch way: nn.Module + optim + DataLoader, dualnet against torch.

The three workloads of the nn issue, each a full training step (DataLoader batch, forward, loss,
backward, optimizer step) over an in-memory TensorDataset of MNIST-shaped random data:

- MLP 784-256-256-10, batch 128, SGD with momentum (target: at least torch's throughput);
- the PyTorch examples' MNIST convnet (examples/mnist_nn.py's Net), batch 128, Adam
  (target: at least 0.75x torch's throughput);
- MLP 784-32-10, batch 32, SGD with momentum: per-op overhead bound (target: torch's throughput).

Each library runs in its own process (NumPy's OpenBLAS threads and torch's OpenMP threads slow
each other down in one process, and peak RSS must be each library's own), the two taking turns
for several rounds; the table gives the median over rounds of each process's steady-state
images/s (after warm-up steps, which pay Numba's kernel loading) and its peak RSS.

    python bench/bench_training.py [--rounds 3] [--seconds 4]
"""
import argparse
import json
import statistics
import sys

from common import get_torch, header, run_python, table, wait_for_idle

WORKLOADS = ["mlp_256", "convnet", "mlp_32"]
LABELS = {"mlp_256": ("MLP 784-256-256-10, batch 128, SGD momentum", 128, 1.0),
          "convnet": ("MNIST convnet (examples/mnist_nn.py), batch 128, Adam", 128, 0.75),
          "mlp_32": ("MLP 784-32-10, batch 32, SGD momentum", 32, 1.0)}

WORKER = r"""
import json, resource, statistics, sys, time
import numpy as np
library, workload, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if library == "torch":
    import torch as dn
    import torch.nn.functional as F
    from torch import nn, optim
    from torch.utils.data import DataLoader, TensorDataset
else:
    import dualnet as dn
    import dualnet.nn.functional as F
    from dualnet import nn, optim
    from dualnet.utils.data import DataLoader, TensorDataset


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = dn.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


dn.manual_seed(0)
rng = np.random.default_rng(0)
n = 4096
if workload == "convnet":
    model, batch = ConvNet(), 128
    images = rng.random((n, 1, 28, 28), dtype=np.float32)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = F.nll_loss
else:
    hidden, batch = ((256, 256), 128) if workload == "mlp_256" else ((32,), 32)
    layers, width = [], 784
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    images = rng.random((n, 784), dtype=np.float32)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = F.cross_entropy
labels = rng.integers(0, 10, n)
loader = DataLoader(TensorDataset(dn.from_numpy(images), dn.from_numpy(labels)),
                    batch_size=batch, shuffle=True, drop_last=True)


def epoch(max_steps):
    steps = 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        steps += 1
        if steps == max_steps:
            break
    return steps


model.train()
epoch(5)  # warm-up: Numba's kernel loading, allocator and BLAS thread start-up
rates = []
deadline = time.perf_counter() + seconds
while time.perf_counter() < deadline or len(rates) < 3:
    start = time.perf_counter()
    steps = epoch(10)
    rates.append(steps * batch / (time.perf_counter() - start))
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"images_per_s": statistics.median(rates), "peak_rss_mib": peak_mib}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per process")
    parser.add_argument("--only", choices=WORKLOADS, action="append")
    args = parser.parse_args(argv)
    libraries = ["dualnet"] + (["torch"] if get_torch() is not None else [])
    wait_for_idle()
    runs = {(w, lib): [] for w in WORKLOADS for lib in libraries}
    for workload in args.only or WORKLOADS:
        for _ in range(args.rounds):
            for lib in libraries:
                code = (f"import sys; sys.argv = ['w', {lib!r}, {workload!r}, "
                        f"'{args.seconds}']; exec({WORKER!r})")
                _, out = run_python(code, timeout=600)
                runs[workload, lib].append(json.loads(out.strip().splitlines()[-1]))

    rows = []
    for workload in args.only or WORKLOADS:
        label, batch, target = LABELS[workload]
        cells = {lib: (statistics.median(r["images_per_s"] for r in runs[workload, lib]),
                       max(r["peak_rss_mib"] for r in runs[workload, lib]))
                 for lib in libraries}
        ours = cells["dualnet"]
        theirs = cells.get("torch")
        ratio = f"{ours[0] / theirs[0]:.2f}x" if theirs else "—"
        rows.append([label, f"{ours[0]:.0f}", f"{theirs[0]:.0f}" if theirs else "—", ratio,
                     f">= {target:.2f}x", f"{ours[1]:.0f}", f"{theirs[1]:.0f}" if theirs else "—",
                     f"{1e3 * batch / ours[0]:.2f}", f"{1e3 * batch / theirs[0]:.2f}" if theirs
                     else "—"])
    print(header("Training throughput, nn + optim + DataLoader (images/s, steady state)",
                 __file__))
    print(table(["workload", "dualnet img/s", "torch img/s", "dualnet / torch throughput",
                 "target", "dualnet peak RSS (MiB)", "torch peak RSS (MiB)", "dualnet ms/step",
                 "torch ms/step"], rows))
    print()


if __name__ == "__main__":
    sys.exit(main())
