"""`nn.Parameter`: a leaf Tensor that a Module registers as learnable when set as an attribute.

It shares the memory of the tensor it wraps; results of ops on it are plain Tensors (ops build
their outputs with `Tensor._make`), so only the registered leaf itself is a Parameter.
"""
import numpy as np

from ..core.device import CPU
from ..core.dtypes import get_default_dtype, to_dtype
from ..core.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: `nn.Parameter(data, requires_grad=True)`.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> p = nn.Parameter(dn.zeros(2))
    >>> p.is_leaf, p.requires_grad, isinstance(p * 2, nn.Parameter)
    (True, True, False)
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = Tensor._make(np.empty((0,), get_default_dtype().np), CPU, None, False, None, 0,
                                None)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        # share memory and version counter with `data` (torch's Parameter(t) aliases t), but stay
        # a leaf of our own: no history is carried over
        self._data = data._data
        self._dtype = data._dtype
        self._device = data._device
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = data._version
        self._base = None
        self._view_fn = None
        self._grad_acc = None
        self._backward_hooks = None
        self._retains_grad = False
        if requires_grad:
            if not self._dtype.is_floating_point:
                raise RuntimeError(f"Parameter: only floating point tensors can require "
                                   f"gradients, got dtype {self._dtype}; pass "
                                   f"requires_grad=False for an integer parameter")
            self._requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copied = Tensor._make(self._data.copy(), self._device, self._dtype, False, None, 0, None)
        result = type(self)(copied, self._requires_grad)
        if self.grad is not None:
            result.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._host(), self._dtype.name, str(self._device),
                                     self._requires_grad))


def _rebuild_parameter(array, dtype_name, device_name, requires_grad):
    data = Tensor._make(np.array(array, dtype=to_dtype(dtype_name).np), CPU, None, False, None, 0,
                        None)
    if device_name != "cpu":
        data = data.to(device_name)
    return Parameter(data, requires_grad)
