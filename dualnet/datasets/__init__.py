"""Datasets as NumPy arrays: MNIST from idx files (NumPy only, no tensors)."""

from .mnist import load_mnist, mnist_dir, read_idx, write_idx

__all__ = ["load_mnist", "mnist_dir", "read_idx", "write_idx"]
