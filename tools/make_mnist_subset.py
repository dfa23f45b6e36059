"""Make the small MNIST subset shipped in dualnet/datasets/data/.

    python tools/make_mnist_subset.py [SOURCE_DIR]

SOURCE_DIR holds the four standard MNIST idx files (default: ../shared/data/mnist
beside the repository). The subset is the first 10,000 training and the first
2,000 test images with their labels: no randomness, and MNIST's files are
already shuffled, so every digit is well represented. The output is gzip'd
idx with no name or time in the gzip header: running the script again gives
byte-identical files.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "dualnet" / "datasets" / "data"
PREFIX = "small-"
COUNTS = {"train": 10_000, "t10k": 2_000}


def _load_mnist_module():
    # Load the module by path so the script does not import dualnet (and its core).
    spec = importlib.util.spec_from_file_location("_mnist", REPO / "dualnet" / "datasets" / "mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    source = Path(argv[1]) if len(argv) > 1 else REPO.parent / "shared" / "data" / "mnist"
    mnist = _load_mnist_module()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for split, count in COUNTS.items():
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            name = f"{split}-{kind}.gz"
            array = mnist.read_idx(source / name)[:count]
            destination = OUT_DIR / (PREFIX + name)
            mnist.write_idx(destination, array)
            print(f"{destination.relative_to(REPO)}: {array.shape} {destination.stat().st_size} bytes")
        labels = mnist.read_idx(OUT_DIR / f"{PREFIX}{split}-labels-idx1-ubyte.gz")
        print(f"  {split} label counts: {np.bincount(labels, minlength=10).tolist()}")


if __name__ == "__main__":
    main(sys.argv)
