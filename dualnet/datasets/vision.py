"""`MNIST` as a map-style Dataset (torchvision's signature), over the NumPy loader in mnist.py.

Images come as float32 tensors (1, 28, 28) in [0, 1] — what torchvision gives after
`transforms.ToTensor()`; torchvision's own default is a PIL image, which dualnet does not use.
"""
from pathlib import Path

import numpy as np

from ..core.creation import from_numpy as _from_numpy
from ..utils.data import Dataset
from . import mnist as _mnist

__all__ = ["MNIST"]

_PIXEL_MAX = np.float32(255)  # uint8 pixels map to [0, 1] by division, as ToTensor does


def _to_unit_float(images):
    """uint8 (..., 28, 28) -> float32 (..., 1, 28, 28) in [0, 1]."""
    scaled = images.astype(np.float32)
    scaled /= _PIXEL_MAX
    return scaled.reshape(*images.shape[:-2], 1, *images.shape[-2:])


def _torchvision_raw_dir(root, train):
    """root/MNIST/raw when it holds this split's files (torchvision's layout), else None."""
    if root is None:
        return None
    raw = Path(root).expanduser() / "MNIST" / "raw"
    names = _mnist._SPLIT_FILES[bool(train)]
    return raw if all(_mnist._find_file(raw, name) for name in names) else None


class MNIST(Dataset):
    """The MNIST digits: `data[i]` is `(image, label)`, image a float32 tensor (1, 28, 28) in
    [0, 1], label an int; `transform` / `target_transform` are applied to them when given.

    Files are read from `root` (or, as torchvision lays them out, `root/MNIST/raw`), else
    `$DUALNET_DATA/mnist`, else `~/.dualnet/datasets/mnist`; `download=True` fetches missing
    ones. Without them a RuntimeError says where to put them. `subset="small"` reads instead
    the subset shipped inside the package (10,000 train / 2,000 test images), never silently.

    `data` holds the uint8 images (N, 28, 28) and `targets` the int64 labels, as tensors.

    >>> test = MNIST(train=False, subset="small")
    >>> image, label = test[0]
    >>> len(test), image.shape, image.dtype, type(label)
    (2000, dualnet.Size([1, 28, 28]), dualnet.float32, <class 'int'>)
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, subset=None):
        if transform is not None and not callable(transform):
            raise TypeError(f"MNIST: transform must be callable, got {type(transform).__name__}")
        if target_transform is not None and not callable(target_transform):
            raise TypeError(f"MNIST: target_transform must be callable, got "
                            f"{type(target_transform).__name__}")
        self.root = root
        self.train = bool(train)
        self.subset = subset
        self.transform = transform
        self.target_transform = target_transform
        if subset is None:
            root = _torchvision_raw_dir(root, train) or root
        try:
            images, labels = _mnist.load_mnist(root, train=train, download=download,
                                               subset=subset)
        except RuntimeError as err:
            raise RuntimeError(
                f"{err}\nWith dualnet.datasets.MNIST: download=True fetches the files, "
                f"subset='small' uses the subset shipped with dualnet.") from None
        self._images = images
        self._labels = labels.astype(np.int64)
        self.data = _from_numpy(images)
        self.targets = _from_numpy(self._labels)

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        image = _from_numpy(_to_unit_float(self._images[index]))
        label = int(self._labels[index])
        return self._transformed(image, label)

    def __getitems__(self, indices):
        """The samples at `indices`, converted in one go before any per-sample transform."""
        rows = np.asarray(indices, dtype=np.int64).reshape(-1)
        images = _to_unit_float(self._images.take(rows, axis=0))
        labels = self._labels.take(rows).tolist()
        return [self._transformed(_from_numpy(image), label)
                for image, label in zip(images, labels)]

    def _transformed(self, image, label):
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __getattr__(self, name):
        # The DataLoader's whole-batch path; only without per-sample transforms.
        if name == "_collated_batch" and self.__dict__.get("transform") is None \
                and self.__dict__.get("target_transform") is None and "_images" in self.__dict__:
            return self._batch_without_transforms
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _batch_without_transforms(self, indices):
        rows = np.asarray(indices, dtype=np.int64).reshape(-1)
        return [_from_numpy(_to_unit_float(self._images.take(rows, axis=0))),
                _from_numpy(self._labels.take(rows))]

    def __repr__(self):
        source = f"subset={self.subset!r}" if self.subset else f"root={self.root!r}"
        return (f"MNIST({'train' if self.train else 'test'}, {len(self)} images, {source}, "
                f"transform={self.transform!r}, target_transform={self.target_transform!r})")
