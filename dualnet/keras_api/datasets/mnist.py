"""`keras.datasets.mnist.load_data`: Keras's MNIST arrays, read by `dualnet.datasets.load_mnist`."""
from ...datasets import load_mnist

__all__ = ["load_data"]


def load_data(path=None, subset=None):
    """Return ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8
    labels (N,), as `keras.datasets.mnist.load_data()` does.

    The idx files are read from ``path`` (a directory), else ``$DUALNET_DATA/mnist``, else
    ``~/.dualnet/datasets/mnist``, downloaded there when missing and the network allows; offline
    with no files a RuntimeError says where to put them. ``subset="small"`` loads the subset
    shipped inside the package (10,000 train / 2,000 test images) instead, and only when asked.
    Unlike Keras, ``path`` names a directory of idx files, not an ``.npz`` file name.
    """
    if subset is not None and path is not None:
        raise ValueError("mnist.load_data: pass path or subset, not both (the subset ships "
                         "inside the package)")
    train = load_mnist(root=path, train=True, subset=subset)
    test = load_mnist(root=path, train=False, subset=subset)
    return train, test
