"""`to_categorical` and `normalize` with Keras's names and results (NumPy in, NumPy out;
a dualnet Tensor in gives a float32 Tensor out, as Keras gives a backend tensor)."""
import numpy as np

from ...core.tensor import Tensor

__all__ = ["normalize", "to_categorical"]


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels: shape ``x.shape + (num_classes,)``, float64 like
    Keras (a trailing axis of size 1 is dropped first, so (N, 1) labels give (N, C)).

    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    as_tensor = isinstance(x, Tensor)
    labels = np.asarray(x.detach().cpu().numpy() if as_tensor else x)
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError(f"to_categorical: labels must be integers, got values like {labels.ravel()[:3]}")
    labels = labels.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if not num_classes:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes - 1}] for "
                         f"num_classes={num_classes}, got min {labels.min()} and max {labels.max()}")
    categorical = np.zeros((labels.shape[0], num_classes))
    categorical[np.arange(labels.shape[0]), labels] = 1
    categorical = categorical.reshape(shape + (num_classes,))
    if as_tensor:
        from ...core.creation import tensor
        return tensor(categorical.astype(np.float32))
    return categorical


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left as 1), as NumPy.

    >>> normalize(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    array = np.asarray(x.detach().cpu().numpy() if isinstance(x, Tensor) else x)
    norm = np.atleast_1d(np.linalg.norm(array, order, axis))
    norm[norm == 0] = 1
    return array / np.expand_dims(norm, axis if axis is not None else -1)
