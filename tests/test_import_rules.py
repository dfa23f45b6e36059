"""SPEC.md's import rules, checked by import-linter (contracts in pyproject.toml).

Imports point down only (keras_api -> nn, optim -> core), core imports no
frontend, kernel files import nothing of the tensor or autograd layers.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]')")

REPO = Path(__file__).resolve().parents[1]
# Run the CLI with this interpreter, whatever is first on PATH.
LINT_IMPORTS = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def _lint_imports(project_dir: Path) -> subprocess.CompletedProcess:
    """Run `lint-imports` on the project in project_dir; it puts cwd first on sys.path."""
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", "--config", str(project_dir / "pyproject.toml")],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _report(result: subprocess.CompletedProcess) -> str:
    """lint-imports' output without its ASCII-art banner."""
    lines = result.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Contracts"), None)
    if start is None:  # an error before any contract ran: skip the banner's lines only
        start = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip()[0] in "║╔╚╣└─┘▲"), 0)
    return "\n".join(lines[start:]) + result.stderr


def test_import_contracts_are_kept():
    result = _lint_imports(REPO)
    if result.returncode != 0:
        pytest.fail(f"lint-imports failed:\n{_report(result)}", pytrace=False)


def _write_modules(root: Path, sources: dict) -> None:
    for dotted, source in sources.items():
        path = root.joinpath(*dotted.split(".")) / "__init__.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


_MINIMAL_CORE = {
    "dualnet": "",
    "dualnet.core": "",
    "dualnet.core.tensor": "",
    "dualnet.core.autograd": "",
    "dualnet.core.ops": "",
    "dualnet.core.ops.elementwise": "",
    "dualnet.core.ops.elementwise.cpu": "import numpy\n",
    "dualnet.datasets": "import numpy\n",
    "dualnet.datasets.mnist": "import numpy\n",
}


def test_contracts_tolerate_frontends_that_do_not_exist_yet(tmp_path):
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    _write_modules(tmp_path, _MINIMAL_CORE)
    result = _lint_imports(tmp_path)
    if result.returncode != 0:
        pytest.fail(_report(result), pytrace=False)


def test_contracts_catch_each_broken_rule(tmp_path):
    # Guards against contracts that check nothing (a wildcard matching no module).
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    _write_modules(
        tmp_path,
        {
            **_MINIMAL_CORE,
            "dualnet.nn": "import dualnet.core\n",
            "dualnet.core.misuse": "from dualnet import nn\n",
            "dualnet.core.ops.elementwise.cpu": "from dualnet.core import autograd\n",
            "dualnet.datasets.mnist": "import dualnet.core.tensor\n",
        },
    )
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, _report(result)
    assert "0 kept, 4 broken" in result.stdout, _report(result)
