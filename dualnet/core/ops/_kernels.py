"""Helpers for writing Numba kernels, shared by the families' cpu.py files (arrays only)."""
import types

import numba

from ..config import PARALLEL_MIN_ELEMENTS


def two_builds(fn=None, **options):
    """A serial and a `parallel=True` build of one kernel, picked by the first argument's size.

    Waking the thread pool costs ~2.4 us and only pays above ~1e5 elements on 2 cores. The
    parallel twin gets its own name: the disk cache keys on a function's qualified name, so
    one function compiled both ways would load the wrong build.
    """
    if fn is None:
        return lambda f: two_builds(f, **options)
    options.setdefault("cache", True)
    serial = numba.njit(**options)(fn)
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel")
    twin.__qualname__ = fn.__qualname__ + "_parallel"
    parallel = numba.njit(parallel=True, **options)(twin)

    def run(*args):
        kernel = parallel if args[0].size >= PARALLEL_MIN_ELEMENTS else serial
        return kernel(*args)

    run.serial, run.parallel = serial, parallel
    run.__name__ = fn.__name__
    return run
