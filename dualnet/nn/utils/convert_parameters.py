"""Flatten parameters into one vector and back (torch.nn.utils.parameters_to_vector /
vector_to_parameters), e.g. for second-order methods or evolution strategies.
"""
from ...core.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(fn, params):
    device = None
    for p in params:
        if device is None:
            device = p.device
        elif p.device != device:
            raise TypeError(f"{fn}: all parameters must be on one device, found {device} and "
                            f"{p.device}")


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter flattened, in order (differentiable).

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.utils.parameters_to_vector([dn.ones(2, 2), dn.zeros(1)])
    tensor([1., 1., 1., 1., 0.])
    """
    from ...core.ops.shape.ops import cat

    params = list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: got no parameters to flatten")
    _check_same_device("parameters_to_vector", params)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Point each parameter's data at its slice of `vec` (the inverse of parameters_to_vector);
    the parameters then share memory with `vec`, as in torch."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: vec must be 1-D, got shape {list(vec.shape)}")
    params = list(parameters)
    _check_same_device("vector_to_parameters", params)
    needed = sum(p.numel() for p in params)
    if vec.numel() < needed:
        raise RuntimeError(f"vector_to_parameters: vec has {vec.numel()} elements but the "
                           f"parameters need {needed}")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec[pointer:pointer + n].detach().reshape(tuple(p.shape))
        pointer += n
