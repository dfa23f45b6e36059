"""Every public CPU kernel of every op family has a CUDA twin of the same name and signature
(SPEC: cpu.py and cuda.py side by side, the same kernel names and arguments)."""
import importlib
import inspect
import pkgutil
import sys

import pytest

import dualnet.core.ops as ops_package

FAMILIES = sorted(info.name for info in pkgutil.iter_modules(ops_package.__path__)
                  if info.ispkg and importlib.util.find_spec(f"dualnet.core.ops.{info.name}.cpu"))


def _python_function(obj):
    """The Python function behind a kernel: numba dispatchers keep it as py_func, the CUDA
    simulator's kernels as fn."""
    for attribute in ("py_func", "fn"):
        inner = getattr(obj, attribute, None)
        if callable(inner):
            return inner
    return obj


def public_kernels(module):
    """{name: signature} of the module's public callables that it defines (not imports)."""
    found = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj) or inspect.isclass(obj) or not callable(obj):
            continue
        function = _python_function(obj)
        home = getattr(function, "__module__", None) or ""
        if not home.startswith("dualnet"):
            continue  # numba, numpy and math names the module imported
        if home != module.__name__ and getattr(function, "__name__", None) == name and \
                getattr(sys.modules.get(home), name, None) is obj:
            continue  # a helper imported from another dualnet module under its own name
        found[name] = inspect.signature(function)
    return found


def test_every_family_with_kernels_is_checked():
    assert {"elementwise", "reduction", "shape", "indexing", "matmul", "conv", "loss"} <= set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_twins(family):
    cpu = importlib.import_module(f"dualnet.core.ops.{family}.cpu")
    try:
        gpu = importlib.import_module(f"dualnet.core.ops.{family}.cuda")
    except ModuleNotFoundError as err:
        if err.name == f"dualnet.core.ops.{family}.cuda":
            pytest.fail(f"{family}: no cuda.py beside its cpu.py")
        raise
    cpu_kernels, gpu_kernels = public_kernels(cpu), public_kernels(gpu)
    assert cpu_kernels, f"{family}/cpu.py has no public kernels?"
    missing = sorted(set(cpu_kernels) - set(gpu_kernels))
    assert not missing, f"{family}/cuda.py lacks the twins of {missing}"
    extra = sorted(set(gpu_kernels) - set(cpu_kernels))
    assert not extra, f"{family}/cuda.py has public kernels with no CPU twin: {extra}"
    different = {name: (str(cpu_kernels[name]), str(gpu_kernels[name])) for name in cpu_kernels
                 if cpu_kernels[name] != gpu_kernels[name]}
    assert not different, f"{family}: signatures differ (cpu, cuda): {different}"
