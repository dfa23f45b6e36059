"""Every example in a public docstring of `dualnet` runs and prints what it says (STYLE.md 14).

Each module under dualnet/ is imported and its doctests are run with `dn` (dualnet) and `np`
in scope; docstrings of private names (a `_` in the dotted path) are left out.
"""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import dualnet

MODULES = sorted(info.name for info in pkgutil.walk_packages(dualnet.__path__, "dualnet."))
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _public(test, module_name):
    inner = test.name[len(module_name):].lstrip(".")
    return not any(part.startswith("_") for part in inner.split(".") if part)


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:  # an optional dependency (CuPy, numba-cuda, Keras...) is missing
        pytest.skip(f"{name} needs {error.name or error}")


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = _import(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, module_name, extraglobs={"dn": dualnet, "np": np})
             if t.examples and _public(t, module_name)]
    if not tests:
        pytest.skip("no examples")
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    for test in tests:
        previous = dualnet.get_default_dtype()
        runner.run(test, out=report.append)
        dualnet.set_default_dtype(previous)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)


def test_the_public_ops_have_examples_somewhere():
    """At least the core's own examples exist (a guard against the finder silently finding none)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = sum(len(t.examples) for name in ("dualnet.core.tensor", "dualnet.core.autograd",
                                             "dualnet.core.creation")
                for t in finder.find(importlib.import_module(name)))
    assert found >= 5
