"""One optimizer step over the parameters of an MLP, every optimizer: dualnet.optim's fused
per-parameter kernels (the whole `step()`, and its kernel calls alone, replayed) against
torch.optim (its default single-tensor path on the CPU) on 1 and on 2 threads. Two models: the
784-256-256-10 MLP (~270k floats in 6 tensors: the kernels' speed) and the 784-32-10 MLP (~25k
floats in 4 tensors: the per-parameter overhead, which a small model's step budget of ~0.5 ms
must absorb). Gradients are fixed; only `step()` is timed.

    python bench/bench_optim.py            # both models
    python bench/bench_optim.py --small    # the small model only
"""
import sys

import numpy as np

from common import compare, fmt_ratio, fmt_timing, get_torch, header, table, wait_for_idle

import dualnet as dn
from dualnet import optim
from dualnet.core.dispatch import kernels

MODELS = {"784-256-256-10": (784, 256, 256, 10), "784-32-10": (784, 32, 10)}
CASES = [("SGD", "SGD", {"lr": 0.01}),
         ("SGD momentum 0.9", "SGD", {"lr": 0.01, "momentum": 0.9}),
         ("SGD nesterov, wd", "SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True,
                                      "weight_decay": 1e-4}),
         ("Adam", "Adam", {"lr": 1e-3}),
         ("Adam amsgrad, wd", "Adam", {"lr": 1e-3, "amsgrad": True, "weight_decay": 1e-4}),
         ("AdamW", "AdamW", {"lr": 1e-3}),
         ("RMSprop", "RMSprop", {"lr": 1e-3}),
         ("RMSprop momentum, centered", "RMSprop", {"lr": 1e-3, "momentum": 0.9,
                                                    "centered": True}),
         ("Adagrad", "Adagrad", {"lr": 1e-2}),
         ("Adadelta", "Adadelta", {"lr": 1.0})]
KERNELS = ("sgd", "adam", "rmsprop", "adagrad", "adadelta")


def make_optimizer(lib, optim_module, name, opts, sizes):
    """The optimizer over the MLP's parameters, gradients already set."""
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        for shape in ((fan_out, fan_in), (fan_out,)):
            p = lib.from_numpy(rng.standard_normal(shape).astype(np.float32) * 0.01)
            p.requires_grad_()
            p.grad = lib.from_numpy(rng.standard_normal(shape).astype(np.float32) * 1e-3)
            params.append(p)
    return getattr(optim_module, name)(params, **opts)


def kernel_calls(opt):
    """A zero-argument function replaying the kernel calls of one `opt.step()` (recorded)."""
    module = kernels("optim", dn.device("cpu"))
    calls, saved = [], {name: getattr(module, name) for name in KERNELS}

    def recorder(kernel):
        def record(*args):
            calls.append((kernel, args))
            return kernel(*args)
        return record

    for name, kernel in saved.items():
        setattr(module, name, recorder(kernel))
    try:
        opt.step()
    finally:
        for name, kernel in saved.items():
            setattr(module, name, kernel)

    def replay():
        for kernel, args in calls:
            kernel(*args)
    return replay


def main():
    torch = get_torch()
    models = {"784-32-10": MODELS["784-32-10"]} if "--small" in sys.argv else MODELS
    wait_for_idle()
    sections = []
    for model, sizes in models.items():
        rows = []
        for label, name, opts in CASES:
            opt = make_optimizer(dn, optim, name, opts, sizes)
            cands = {"dualnet": opt.step, "kernels": kernel_calls(opt)}
            t = compare(cands, repeat=15, batch_s=0.02, warmup=5, interleave=False)
            t1 = t2 = None
            if torch is not None:
                their_step = make_optimizer(torch, torch.optim, name, opts, sizes).step
                threads = torch.get_num_threads()
                try:
                    torch.set_num_threads(1)
                    t1 = compare({"torch": their_step}, repeat=15, batch_s=0.02, warmup=5,
                                 interleave=False)["torch"]
                    torch.set_num_threads(2)
                    t2 = compare({"torch": their_step}, repeat=15, batch_s=0.02, warmup=5,
                                 interleave=False)["torch"]
                finally:
                    torch.set_num_threads(threads)
            count = sum(p.numel() for g in opt.param_groups for p in g["params"])
            rows.append([label, fmt_timing(t["dualnet"]), fmt_timing(t["kernels"]),
                         fmt_timing(t1) if t1 else "—", fmt_timing(t2) if t2 else "—",
                         fmt_ratio(t["dualnet"], t1), fmt_ratio(t["dualnet"], t2)])
        sections.append((model, count, rows))
    print(header("Optimizer step over an MLP's parameters (us per step, median ±IQR/2)",
                 __file__))
    for model, count, rows in sections:
        print(f"MLP {model} ({count} float32 parameters):\n")
        print(table(["optimizer", "dualnet step", "dualnet kernels alone", "torch 1 thread",
                     "torch 2 threads", "dualnet / torch 1", "dualnet / torch 2"], rows))
        print()


if __name__ == "__main__":
    sys.exit(main())
