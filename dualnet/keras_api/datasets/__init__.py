"""`keras.datasets`: `keras.datasets.mnist.load_data()`."""
from . import mnist

__all__ = ["mnist"]
