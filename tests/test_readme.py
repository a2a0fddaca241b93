"""Every Python snippet in README.md runs as written, each in a fresh interpreter.

A snippet that needs a name it does not define (the old "Testing your own op" one used
``tapegrad`` and ``np`` without importing them) fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"),
                      flags=re.S)


def test_readme_has_snippets():
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("k", range(len(SNIPPETS)))
def test_readme_snippet_runs(k: int, tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", SNIPPETS[k]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"README snippet {k}:\n{SNIPPETS[k]}\n{run.stderr}"
    assert not list(tmp_path.iterdir())  # writes nothing into the current directory


def test_readme_picture_is_the_drawing_its_script_makes(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", readme)
    assert pictures == ["docs/images/neuron_backward.svg"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ("import sys; sys.path.insert(0, 'scripts'); import readme_picture as r; "
            f"r.main(__import__('pathlib').Path({str(tmp_path / 'n.svg')!r}))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)
    fresh = (tmp_path / "n.svg").read_text(encoding="utf-8")
    stored = (ROOT / pictures[0]).read_text(encoding="utf-8")
    labels = re.compile(r">([^<>]+)</text>")
    assert labels.findall(stored) == labels.findall(fresh)  # same nodes, values and grads
    assert "%8 n" in stored and "grad 0.5" in stored
