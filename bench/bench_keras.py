"""Training the Keras way: `fit` throughput and `predict` speed, dualnet.keras_api against Keras 3.

Workloads of the Keras issue: the Keras "simple MNIST convnet" (34,826 params, Adam, batch 128)
and an MLP 784-256-256-10 (SGD momentum, batch 128), each trained by `model.fit(verbose=0)` on
MNIST-shaped random data (targets: at least 1.5x Keras's images/s); `predict` on 10,000 images
(target: at least Keras's speed); and fit's own overhead: the same MLP's step in fit against a
hand-written loop doing the same shuffled batches, forward/loss/backward/step (target: under 5%),
the two taking turns epoch by epoch in one process.

Each framework runs in its own process (Keras 3 on its torch backend at 2 threads), the two
taking turns for several rounds; the table gives the median over rounds.

    python bench/bench_keras.py [--rounds 3] [--images 4096]
"""
import argparse
import json
import statistics
import sys

from common import header, keras_frameworks, run_python, table, wait_for_idle

WORKER = r"""
import json, os, sys, time
import numpy as np
framework, workload, images = sys.argv[1], sys.argv[2], int(sys.argv[3])
if framework == "keras":
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    from keras import layers
else:
    from dualnet import keras_api as keras
    from dualnet.keras_api import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
if workload == "convnet":
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    x = rng.random((images, 28, 28, 1), dtype=np.float32)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
else:
    model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(256, activation="relu"),
                              layers.Dense(256, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    x = rng.random((images, 784), dtype=np.float32)
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  metrics=["accuracy"])
y = keras.utils.to_categorical(rng.integers(0, 10, images), 10)
model.fit(x[:512], y[:512], batch_size=128, epochs=1, verbose=0)  # warm-up (compiles kernels)
rates = []
for _ in range(3):
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    rates.append(images / (time.perf_counter() - start))
report = {"fit_images_per_s": float(np.median(rates))}
test = rng.random((10000,) + x.shape[1:], dtype=np.float32)
model.predict(test[:1000], batch_size=1000, verbose=0)
times = []
for _ in range(3):
    start = time.perf_counter()
    model.predict(test, verbose=0)
    times.append(time.perf_counter() - start)
report["predict_10k_s"] = float(np.median(times))
if framework == "dualnet" and workload == "mlp":
    # fit's own overhead: the same step by hand (forward, loss, backward, optimizer step), with
    # the model's own optimizer: the two loops then share its momentum buffers, whose number of
    # denormal entries (the dead ReLU units' rows decay into them) sets the update's speed; a
    # second optimizer would run the same arithmetic ~10% faster or slower on its own state
    import dualnet as dn
    inner = model.optimizer
    loss_fn = keras.losses.CategoricalCrossentropy()
    y32 = y.astype(np.float32)
    def epoch():
        # shuffled batches gathered from the arrays, as fit's (shuffle=True) and a DataLoader's
        order = np.random.permutation(images)
        for first in range(0, images, 128):
            index = order[first:first + 128]
            inner.zero_grad()
            loss = loss_fn(dn.from_numpy(y32[index]), model(dn.from_numpy(x[index]),
                                                           training=True))
            loss.backward()
            inner.step()
            loss.item()
    epoch()
    # fit and the hand loop epoch by epoch in turns (which goes first alternating), so that
    # each pair shares the machine's state; the overhead is the median of the pairs' ratios
    hand, ratios = [], []
    for turn in range(20):
        times = {}
        for name in (("fit", "hand") if turn % 2 else ("hand", "fit")):
            start = time.perf_counter()
            model.fit(x, y, batch_size=128, epochs=1, verbose=0) if name == "fit" else epoch()
            times[name] = time.perf_counter() - start
        hand.append(images / times["hand"])
        ratios.append(times["fit"] / times["hand"] - 1)
    report["hand_images_per_s"] = float(np.median(hand))
    report["fit_overhead"] = float(np.median(ratios))
print(json.dumps(report))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=4096)
    args = parser.parse_args(argv)
    frameworks = keras_frameworks()
    wait_for_idle()
    runs = {}
    for workload in ("convnet", "mlp"):
        for _ in range(args.rounds):
            for framework in frameworks:
                code = (f"import sys; sys.argv = ['w', {framework!r}, {workload!r}, "
                        f"'{args.images}']; exec({WORKER!r})")
                _, out = run_python(code, timeout=900)
                runs.setdefault((workload, framework), []).append(
                    json.loads(out.strip().splitlines()[-1]))

    def median(workload, framework, key):
        values = [r[key] for r in runs.get((workload, framework), []) if key in r]
        return statistics.median(values) if values else None

    rows = []
    for workload, label in (("convnet", "Keras MNIST convnet, Adam, batch 128"),
                            ("mlp", "MLP 784-256-256-10, SGD momentum, batch 128")):
        ours = median(workload, "dualnet", "fit_images_per_s")
        theirs = median(workload, "keras", "fit_images_per_s")
        p_ours = median(workload, "dualnet", "predict_10k_s")
        p_theirs = median(workload, "keras", "predict_10k_s")
        rows.append([label, f"{ours:.0f}", f"{theirs:.0f}" if theirs else "—",
                     f"{ours / theirs:.2f}x" if theirs else "—", ">= 1.5x",
                     f"{p_ours * 1e3:.0f}", f"{p_theirs * 1e3:.0f}" if p_theirs else "—",
                     f"{p_theirs / p_ours:.2f}x" if p_theirs else "—"])
    print(header("Keras-style training: fit throughput and predict on 10k images", __file__))
    print(table(["workload", "dualnet fit img/s", "Keras fit img/s", "fit speed-up",
                 "target", "dualnet predict 10k (ms)", "Keras predict 10k (ms)",
                 "predict speed-up"], rows))
    hand = median("mlp", "dualnet", "hand_images_per_s")
    overhead = median("mlp", "dualnet", "fit_overhead")
    if hand and overhead is not None:
        print(f"\nfit's own overhead on the MLP (progress bar off, metrics and callbacks on): "
              f"{overhead * 100:.1f}% of a step (median over rounds of the median ratio of "
              f"20 fit / hand-written-loop epoch pairs run in turns; the same step by hand "
              f"{hand:.0f} img/s; target under 5%)")
    print()


if __name__ == "__main__":
    sys.exit(main())
