"""The Markdown docs run: each file's ```python blocks, in order, in one namespace, must succeed
(docs/pytorch-users.md's training loop ends by asserting its test accuracy)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
DOCS = ["README.md", "docs/pytorch-users.md", "docs/keras-users.md", "docs/porting.md"]


def _blocks(name):
    return BLOCK.findall((ROOT / name).read_text())


def test_the_pytorch_users_doc_has_a_training_loop():
    code = "\n".join(_blocks("docs/pytorch-users.md"))
    for needed in ("DataLoader(", "optimizer.step()", "scheduler.step()", "load_state_dict",
                   "dn.no_grad()", "model.eval()"):
        assert needed in code, f"docs/pytorch-users.md lost its {needed}"


@pytest.mark.slow
@pytest.mark.parametrize("name", DOCS)
def test_the_doc_code_runs(name, capsys):
    blocks = _blocks(name)
    assert blocks, f"{name} has no python blocks"
    namespace = {"__name__": "doc_example"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"{name}[block {number}]", "exec"), namespace)
    if name == "docs/pytorch-users.md":
        assert "test loss" in capsys.readouterr().out
