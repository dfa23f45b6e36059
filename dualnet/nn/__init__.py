"""`dualnet.nn`: the PyTorch-style frontend (modules land with the nn issue; functional is here)."""
from . import functional

__all__ = ["functional"]
