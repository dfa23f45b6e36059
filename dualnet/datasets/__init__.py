"""Datasets: MNIST as NumPy arrays from idx files (`mnist`, NumPy only) and as a Dataset
of tensors for DataLoader (`MNIST`, in `vision`)."""

from .mnist import load_mnist, mnist_dir, read_idx, write_idx
from .vision import MNIST

__all__ = ["MNIST", "load_mnist", "mnist_dir", "read_idx", "write_idx"]
