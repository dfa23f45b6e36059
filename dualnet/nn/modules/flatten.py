"""Flatten and Unflatten layers (torch.nn's names and reprs): reshaping views between a conv stack
and a dense head, as modules so they can sit in a Sequential."""
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims start_dim..end_dim into one (by default all but the batch dim).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.Flatten()(dn.zeros(32, 1, 5, 5)).shape
    dualnet.Size([32, 25])
    >>> nn.Flatten(0, 2)(dn.zeros(32, 1, 5, 5)).shape
    dualnet.Size([160, 5])
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim `dim` into `unflattened_size` (a tuple or list of ints, one may be -1).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.Unflatten(1, (2, 5, 5))(dn.zeros(2, 50)).shape
    dualnet.Size([2, 2, 5, 5])
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, str):
            raise TypeError(f"Unflatten: named dims are not supported, got dim={dim!r}; pass the "
                            f"dim's index")
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"Unflatten: dim must be an int, got {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                            f"{type(unflattened_size).__name__}")
        for position, size in enumerate(unflattened_size):
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                                f"{type(size).__name__} at position {position}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
