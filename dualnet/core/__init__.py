"""The tensor core: arrays on a device, autograd and the op families. Knows nothing of layers."""
from . import ops as _ops
from .tensor import Size, Tensor

_ops.install_tensor_methods(Tensor)
