"""Keras's "simple MNIST convnet" example on dualnet.keras_api - and, with --keras, the same file on
real Keras 3 (torch backend): only the imports differ.

    python examples/mnist_keras.py --subset small --epochs 1      # quick, offline
    python examples/mnist_keras.py                                 # full MNIST, 15 epochs
    python examples/mnist_keras.py --keras --subset small --epochs 1

Prints the model summary, the test accuracy, seconds per epoch and the peak resident memory.
"""
import argparse
import os
import resource
import sys
import tempfile
import time

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", choices=["small"], default=None,
                        help="the MNIST subset shipped inside dualnet (10,000/2,000 images)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the four MNIST idx files (default: $DUALNET_DATA/mnist "
                             "or ~/.dualnet/datasets/mnist)")
    parser.add_argument("--keras", action="store_true",
                        help="run on real Keras 3 with KERAS_BACKEND=torch instead of dualnet")
    return parser.parse_args(argv)


def load_mnist(args):
    # The data always comes through dualnet's loader, so both runs see the same arrays.
    from dualnet.keras_api.datasets import mnist
    return mnist.load_data(path=args.data_dir, subset=args.subset)


def main(argv=None):
    args = parse_args(argv)
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        from keras import layers
    else:
        from dualnet import keras_api as keras
        from dualnet.keras_api import layers

    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_mnist(args)
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

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
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.1, verbose=2)
    seconds_per_epoch = (time.perf_counter() - start) / args.epochs

    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mnist_convnet.weights.h5")
        model.save_weights(path)
        model.load_weights(path)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"framework: {'keras ' + keras.__version__ if args.keras else 'dualnet.keras_api'}")
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    print(f"seconds per epoch: {seconds_per_epoch:.2f}")
    print(f"peak RSS: {peak_mib:.0f} MiB")
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1:])
