"""The tensor core: arrays on a device, autograd and the op families. Knows nothing of layers."""
import warnings

from . import ops as _ops
from .tensor import Size, Tensor

_ops.install_tensor_methods(Tensor)

# NaN and inf follow IEEE rules in every kernel, silently, as in torch: NumPy's floating-point
# warnings from our own kernel calls are noise (filtered here at no per-call cost, unlike an
# np.errstate around every kernel; the user's own NumPy calls still warn as configured).
warnings.filterwarnings("ignore", message=r"(invalid value|divide by zero|overflow) encountered",
                        category=RuntimeWarning, module=r"dualnet\.core\.ops\.")
