"""Quantized Dense inference, dualnet.keras_api against Keras 3: one call of a Dense 784 -> 256 on a
batch of 128 float32 rows after `quantize(mode)`, for the float layer and each mode that changes
the call's arithmetic ("int8": inputs quantized too, integer product; "int4" in blocks of 128
and per channel; "float8": quantize-dequantize of inputs and kernel). GPTQ and AWQ compute with
a dequantized float kernel once calibrated, which dualnet keeps cached: the float row's time.

Each framework runs in its own process (Keras 3 on its torch backend at 2 threads), the two
taking turns for several rounds; the table gives the median over rounds of each process's
median call time.

    python bench/bench_keras_quantized.py [--rounds 3]
"""
import argparse
import json
import statistics
import sys

from common import header, keras_frameworks, run_python, table, wait_for_idle

MODES = [("float32 (not quantized)", None, None), ("int8", "int8", None),
         ("int4, blocks of 128", "int4", 128), ("int4, per channel", "int4", -1),
         ("float8", "float8", None)]

WORKER = r"""
import json, os, sys, time
import numpy as np
framework, modes = sys.argv[1], json.loads(sys.argv[2])
if framework == "keras":
    os.environ["KERAS_BACKEND"] = "torch"
    import keras, torch
    torch.set_num_threads(2)
    as_input, no_grad = torch.tensor, torch.no_grad
else:
    import dualnet as dn
    from dualnet import keras_api as keras
    as_input, no_grad = dn.tensor, dn.no_grad
x = as_input(np.random.default_rng(0).standard_normal((128, 784)).astype(np.float32))
report = {}
for label, mode, block in modes:
    layer = keras.layers.Dense(256)
    layer.build((None, 784))
    if mode is not None:
        config = keras.quantizers.Int4QuantizationConfig(block_size=block) if mode == "int4" \
            else None
        layer.quantize(mode, config=config)
    with no_grad():
        for _ in range(5):
            layer(x)
        times = []
        for _ in range(50):
            start = time.perf_counter()
            layer(x)
            times.append(time.perf_counter() - start)
    report[label] = float(np.median(times))
print(json.dumps(report))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    frameworks = keras_frameworks()
    wait_for_idle()
    runs = {}
    for _ in range(args.rounds):
        for framework in frameworks:
            code = (f"import sys; sys.argv = ['w', {framework!r}, {json.dumps(MODES)!r}]; "
                    f"exec({WORKER!r})")
            _, out = run_python(code, timeout=600)
            runs.setdefault(framework, []).append(json.loads(out.strip().splitlines()[-1]))

    def median(framework, label):
        values = [r[label] for r in runs.get(framework, [])]
        return statistics.median(values) if values else None

    rows = []
    for label, _, _ in MODES:
        ours, theirs = median("dualnet", label), median("keras", label)
        rows.append([label, f"{ours * 1e3:.3f}", f"{theirs * 1e3:.3f}" if theirs else "—",
                     f"{theirs / ours:.2f}x" if theirs else "—"])
    print(header("Quantized Dense 784 -> 256, batch 128: one call (inference)", __file__))
    print(table(["mode", "dualnet (ms)", "Keras (ms)", "speed-up"], rows))
    print()


if __name__ == "__main__":
    sys.exit(main())
