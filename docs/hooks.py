"""mkdocs hook: project checks on every built page.

markdown-exec reports an exception in an executed block as a warning, which fails
``mkdocs build --strict`` only; and a block that prints a traceback itself slips through
even that. This hook fails the build, strict or not, on any page whose text shows a
traceback (markdown-exec's error output is syntax-highlighted, so tags are dropped
before looking).
"""

from __future__ import annotations

import re
from typing import Any

from mkdocs.exceptions import PluginError


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    text = re.sub(r"<[^>]+>", "", html)
    if "Traceback (most recent call last)" in text:
        raise PluginError(f"{page.file.src_path}: an executed block raised (see the page)")
    return html
