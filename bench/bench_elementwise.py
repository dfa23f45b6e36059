"""Elementwise ops on 1e6 float32 elements: dualnet against NumPy and torch.

Binary ops same-shape (1000, 1000) op (1000, 1000) and broadcast (1000, 1000) op (1000,), then
unary ops on (1000, 1000). dualnet is measured through its public API (`a + b`, `dn.exp(a)`)
under `dn.no_grad()` on tensors that do not require grad; every candidate allocates its output,
as a user's expression does. Target: dualnet within 1.5x of NumPy.

    python bench/bench_elementwise.py
"""
import sys

import numpy as np

from common import compare, fmt_ratio, fmt_timing, get_torch, header, table, wait_for_idle

import dualnet as dn

SHAPE = (1000, 1000)
BINARY = [  # (name, NumPy, dualnet / torch)
    ("add", np.add, lambda a, b: a + b),
    ("mul", np.multiply, lambda a, b: a * b),
    ("sub", np.subtract, lambda a, b: a - b),
    ("div", np.divide, lambda a, b: a / b),
    ("maximum", np.maximum, None),  # dn.maximum / torch.maximum
]
UNARY = ["exp", "tanh", "sigmoid", "relu"]


def _numpy_unary(name):
    if name == "sigmoid":
        return lambda a: 1.0 / (1.0 + np.exp(-a))  # NumPy has no sigmoid: the usual expression
    if name == "relu":
        return lambda a: np.maximum(a, np.float32(0))
    return getattr(np, name)


def main():
    torch = get_torch()
    wait_for_idle()
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal(SHAPE, dtype=np.float32)
    b_np = rng.uniform(0.5, 2.0, SHAPE).astype(np.float32)  # away from 0: div stays finite
    row_np = rng.uniform(0.5, 2.0, SHAPE[1]).astype(np.float32)

    a_dn, b_dn, row_dn = (dn.from_numpy(x.copy()) for x in (a_np, b_np, row_np))
    if torch is not None:
        a_t, b_t, row_t = (torch.from_numpy(x.copy()) for x in (a_np, b_np, row_np))

    rows = []
    with dn.no_grad():
        cases = []
        for name, np_fn, op in BINARY:
            dn_fn = op or getattr(dn, name)
            t_fn = op or (getattr(torch, name) if torch is not None else None)
            for label, second_np, second_dn, second_t in (
                    ("(1000,1000) op (1000,1000)", b_np, b_dn, b_t if torch else None),
                    ("(1000,1000) op (1000,)", row_np, row_dn, row_t if torch else None)):
                cands = {"numpy": (lambda f=np_fn, y=second_np: f(a_np, y)),
                         "dualnet": (lambda f=dn_fn, y=second_dn: f(a_dn, y))}
                if torch is not None:
                    cands["torch"] = lambda f=t_fn, y=second_t: f(a_t, y)
                cases.append((name, label, cands))
        for name in UNARY:
            cands = {"numpy": (lambda f=_numpy_unary(name): f(a_np)),
                     "dualnet": (lambda f=getattr(dn, name): f(a_dn))}
            if torch is not None:
                cands["torch"] = lambda f=getattr(torch, name): f(a_t)
            cases.append((name, "(1000,1000)", cands))

        _check_agreement(a_np, b_np, row_np, a_dn, b_dn, row_dn)
        for name, label, cands in cases:
            t = compare(cands, repeat=11, batch_s=0.01)
            torch_t = t.get("torch")
            rows.append([name, label, fmt_timing(t["numpy"]), fmt_timing(t["dualnet"]),
                         fmt_timing(torch_t) if torch_t else "—",
                         fmt_ratio(t["dualnet"], t["numpy"]), fmt_ratio(t["dualnet"], torch_t)])

    print(header("Elementwise ops, 1e6 float32 elements (us per call, median ±IQR/2)", __file__))
    print(table(["op", "shapes", "NumPy", "dualnet", "torch", "dualnet / NumPy", "dualnet / torch"],
                rows))
    print()
    print("Design checks, plain Numba kernels outside dualnet on the same (1000, 1000) float32 "
          "arrays, output preallocated (us per call):\n")
    print(table(["kernel", "time", "/ NumPy"], design_checks(a_np, b_np)))
    print()


def design_checks(a_np, b_np):
    """Why transcendental kernels call NumPy, and what `parallel=True` would buy for arithmetic."""
    import numba

    @numba.njit
    def exp_loop(a, out):
        flat_a, flat_out = a.reshape(-1), out.reshape(-1)
        for i in range(flat_a.size):
            flat_out[i] = np.exp(flat_a[i])
        return out

    @numba.njit
    def add_loop(a, b, out):
        flat_a, flat_b, flat_out = a.reshape(-1), b.reshape(-1), out.reshape(-1)
        for i in range(flat_a.size):
            flat_out[i] = flat_a[i] + flat_b[i]
        return out

    @numba.njit(parallel=True)
    def add_parallel(a, b, out):
        flat_a, flat_b, flat_out = a.reshape(-1), b.reshape(-1), out.reshape(-1)
        for i in numba.prange(flat_a.size):
            flat_out[i] = flat_a[i] + flat_b[i]
        return out

    out = np.empty_like(a_np)
    t = compare({"np.exp": lambda: np.exp(a_np, out=out),
                 "exp_loop": lambda: exp_loop(a_np, out),
                 "np.add": lambda: np.add(a_np, b_np, out=out),
                 "add_loop": lambda: add_loop(a_np, b_np, out),
                 "add_parallel": lambda: add_parallel(a_np, b_np, out)}, repeat=11, batch_s=0.01)
    return [["NumPy `np.exp(a, out=)` (SIMD)", fmt_timing(t["np.exp"]), "1.00x"],
            ["`@njit` loop of `np.exp` (scalar libm, no SVML)", fmt_timing(t["exp_loop"]),
             fmt_ratio(t["exp_loop"], t["np.exp"])],
            ["NumPy `np.add(a, b, out=)`", fmt_timing(t["np.add"]), "1.00x"],
            ["`@njit` add loop, serial", fmt_timing(t["add_loop"]),
             fmt_ratio(t["add_loop"], t["np.add"])],
            [f"`@njit(parallel=True)` add loop, {numba.get_num_threads()} threads",
             fmt_timing(t["add_parallel"]), fmt_ratio(t["add_parallel"], t["np.add"])]]


def _check_agreement(a_np, b_np, row_np, a_dn, b_dn, row_dn):
    """The benchmark is only worth reading if dualnet computes the same numbers as NumPy."""
    for name, np_fn, op in BINARY:
        dn_fn = op or getattr(dn, name)
        for y_np, y_dn in ((b_np, b_dn), (row_np, row_dn)):
            np.testing.assert_allclose(dn_fn(a_dn, y_dn).numpy(), np_fn(a_np, y_np), rtol=1e-6)
    for name in UNARY:
        np.testing.assert_allclose(getattr(dn, name)(a_dn).numpy(), _numpy_unary(name)(a_np),
                                   rtol=1e-5, atol=1e-7)


if __name__ == "__main__":
    sys.exit(main())
