"""`dualnet.nn`: the PyTorch-style frontend (torch.nn's names, signatures and defaults)."""
from . import functional
from .modules import *  # noqa: F401,F403  (Module, Linear, Conv2d, ...)
from .modules import __all__ as _module_names
from .parameter import Parameter
from . import init, utils

__all__ = ["functional", "init", "utils", "Parameter", *_module_names]
