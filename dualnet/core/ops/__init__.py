"""The op families. Each family's `ops.py` defines its ops once (forward + backward) and calls
the kernels of `cpu.py` / `cuda.py` through `dispatch`; `METHODS` lists what becomes a Tensor
method and `__all__` what becomes a `dualnet.<name>` function."""
from .elementwise import ops as elementwise
from .indexing import ops as indexing
from .matmul import ops as matmul
from .reduction import ops as reduction
from .shape import ops as shape

FAMILIES = (elementwise, reduction, shape, indexing, matmul)


def install_tensor_methods(tensor_cls):
    for family in FAMILIES:
        for name, fn in family.METHODS.items():
            setattr(tensor_cls, name, fn)


def public_functions():
    names = {}
    for family in FAMILIES:
        for name in family.__all__:
            names[name] = getattr(family, name)
    return names
