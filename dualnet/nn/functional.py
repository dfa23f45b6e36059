"""`dualnet.nn.functional`: torch.nn.functional's names over the core ops (no arithmetic here)."""
from ..core import ops as _ops
from ..core.ops.elementwise.ops import relu, sigmoid, tanh  # noqa: F401
from ..core.ops.reduction.ops import log_softmax, softmax  # noqa: F401

globals().update(_ops.functional_names())

__all__ = sorted({"relu", "sigmoid", "tanh", "softmax", "log_softmax"} | set(_ops.functional_names()))
