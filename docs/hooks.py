"""mkdocs hook: project checks on every built page, and pages that need more than the
``docs`` extra.

markdown-exec reports an exception in an executed block as a warning, which fails
``mkdocs build --strict`` only; and a block that prints a traceback itself slips through
even that. This hook fails the build, strict or not, on any page whose text shows a
traceback (markdown-exec's error output is syntax-highlighted, so tags are dropped
before looking).

Some pages execute code that needs packages the ``docs`` extra does not install: torch
(the oracle of "Testing your ops against torch", "Adding an op" and "Second order") and
numba-cuda (the simulator that runs "GPU with numba.cuda"). Without them the page is
built with its code shown but not run, under a visible note that says what to install:
``bash scripts/setup_env.sh docs && .venv/bin/mkdocs serve`` works on a fresh clone.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from mkdocs.exceptions import PluginError

# page -> (the module its code imports, what installs it)
NEEDS = {
    "testing-against-torch.md": ("torch", "torch (bash scripts/setup_env.sh test installs "
                                 "torch==2.13.0, the CPU build)"),
    "adding-an-op.md": ("torch", "torch (bash scripts/setup_env.sh test installs "
                        "torch==2.13.0, the CPU build)"),
    "first-wrong-gradient.md": ("torch", "torch (bash scripts/setup_env.sh test installs "
                                "torch==2.13.0, the CPU build)"),
    "second-order.md": ("torch", "torch (bash scripts/setup_env.sh test installs "
                        "torch==2.13.0, the CPU build)"),
    "checking-your-code.md": ("torch", "torch (bash scripts/setup_env.sh test installs "
                              "torch==2.13.0, the CPU build)"),
    "gpu-numba-cuda.md": ("numba_cuda", "numba-cuda (pip install 'tapegrad[cuda]', or bash "
                          "scripts/setup_env.sh test)"),
}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules[module] is None
        return False


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    need = NEEDS.get(page.file.src_path)
    if need is None or _importable(need[0]):
        return markdown
    module, install = need
    shown = re.sub(r'^```python exec="true".*$', "```python", markdown, flags=re.M)
    note = (f'!!! warning "The code on this page was not run while the site was built"\n'
            f"    It needs {install}, which this environment lacks (`import {module}` "
            "fails). The code is shown as written; its results and the closing checks "
            "are missing until you install it and build again.\n\n")
    head, _, rest = shown.partition("\n")
    return f"{head}\n\n{note}{rest}" if head.startswith("# ") else note + shown


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    text = re.sub(r"<[^>]+>", "", html)
    if "Traceback (most recent call last)" in text:
        raise PluginError(f"{page.file.src_path}: an executed block raised (see the page)")
    return html
