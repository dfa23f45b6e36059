"""`dualnet.utils`: helpers of the PyTorch-style frontend; `dualnet.utils.data` loads datasets."""
from . import data

__all__ = ["data"]
