"""The op families. Each family's `ops.py` defines its ops once (forward + backward) and calls
the kernels of `cpu.py` / `cuda.py` through `dispatch`; `METHODS` lists what becomes a Tensor
method, `__all__` what becomes a `dualnet.<name>` function and `FUNCTIONAL` what
`dualnet.nn.functional` exports."""
from .activation import ops as activation
from .attention import ops as attention
from .conv import ops as conv
from .dropout import ops as dropout
from .elementwise import ops as elementwise
from .embedding import ops as embedding
from .indexing import ops as indexing
from .loss import ops as loss
from .matmul import ops as matmul
from .normalization import ops as normalization
from .padding import ops as padding
from .pooling import ops as pooling
from .recurrent import ops as recurrent
from .resize import ops as resize
from .reduction import ops as reduction
from .shape import ops as shape

FAMILIES = (elementwise, reduction, shape, indexing, matmul, activation, conv, pooling,
            normalization, loss, dropout, embedding, padding, recurrent, attention, resize)


def install_tensor_methods(tensor_cls):
    for family in FAMILIES:
        for name, fn in getattr(family, "METHODS", {}).items():
            setattr(tensor_cls, name, fn)


def public_functions():
    names = {}
    for family in FAMILIES:
        for name in getattr(family, "__all__", ()):
            names[name] = getattr(family, name)
    return names


def functional_names():
    """name -> function for `dualnet.nn.functional` (PyTorch's torch.nn.functional names)."""
    names = {}
    for family in FAMILIES:
        for name in getattr(family, "FUNCTIONAL", ()):
            names[name] = getattr(family, name)
    return names
