"""`dualnet.autograd`: custom ops (`Function`), `grad`, `backward`, `gradcheck` (torch.autograd)."""
from .core.autograd import (Function, backward, enable_grad, grad, is_grad_enabled, no_grad,
                            set_grad_enabled)
from .core.gradcheck import gradcheck, gradgradcheck

__all__ = ["Function", "backward", "grad", "gradcheck", "gradgradcheck", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled"]
