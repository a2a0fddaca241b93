"""The documentation site in a real browser: headless Chromium driven by Playwright.

`mkdocs build --strict` and the HTML checks of tests/test_docs.py cannot see what only a
browser sees: a script that throws, CSS that shows every frame of the stepper at once, a
page that asks the network for something. Here the built site is served over HTTP on
127.0.0.1 and every page of the nav is opened; any console error, page error or request
that leaves the local server fails the test. The backprop stepper is then driven like a
reader drives it: Next/Prev, the arrow keys, the slider, and deep links ``#<id>-step-<k>``.

Uses Debian's ``/usr/bin/chromium`` (never ``playwright install``); both it and the PyPI
package ``playwright`` are installed by ``bash scripts/setup_env.sh test``.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import tapegrad as tg
from tapegrad import viz

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]
STEPPER_DIR = "browser-check"  # where the standalone stepper page is written in the site
STEPPER_ID = "chain"


def _nav_pages() -> list[str]:
    """The site paths of every page in mkdocs.yml's nav ("" for the home page)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def walk(items: Any) -> Iterator[str]:
        for item in items:
            target = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(target, list):
                yield from walk(target)
            else:
                yield "" if target == "index.md" else target.removesuffix(".md") + "/"

    return list(walk(config["nav"]))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest's output clean


@pytest.fixture(scope="module")
def served(docs_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """The built site plus a standalone stepper page, on http://127.0.0.1:<free port>/."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(docs_site, root, dirs_exist_ok=True)  # the shared build stays untouched
    # (a * b + c) * b: b is used twice, so its gradient accumulates (-6 + 4 = -2)
    a = tg.tensor(2.0, requires_grad=True)
    b = tg.tensor(-3.0, requires_grad=True)
    c = tg.tensor(10.0, requires_grad=True)
    loss = (a * b + c) * b
    steps = len(viz.backprop_steps(loss)) - 1
    (root / STEPPER_DIR).mkdir()
    viz.stepper_html(loss, root / STEPPER_DIR / "steps.html", html_id=STEPPER_ID)
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", steps
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium with a fresh profile (a persistent context in an empty dir)."""
    try:
        from playwright import sync_api
    except ImportError:  # a failure, not a skip: playwright is in the `test` extra
        pytest.fail("playwright is missing: bash scripts/setup_env.sh test installs it")
    if not Path(CHROMIUM).exists():  # a system package: not every machine can have it
        pytest.skip(f"{CHROMIUM} is missing: bash scripts/setup_env.sh test installs it "
                    "(apt-get install chromium fonts-dejavu-core)")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=FLAGS)
        try:
            yield context
        finally:
            context.close()


class _Watched:
    """A fresh tab that records console errors, page errors and non-local requests."""

    def __init__(self, context: Any, base: str) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        self.page.on("request", lambda req: self._request(req.url, base))

    def _console(self, msg: Any) -> None:
        # the browser asks for /favicon.ico on its own when a page names no icon (the
        # standalone stepper page): a missing one is not the page's error
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            self.problems.append(f"console error: {msg.text} ({msg.location})")

    def _request(self, url: str, base: str) -> None:
        if not url.startswith((base, "data:", "blob:", "about:")):
            self.problems.append(f"request outside the local site: {url}")

    def goto(self, url: str) -> Any:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok, (url, response and response.status)
        return self.page

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def tab(browser: Any, served: tuple) -> Iterator[_Watched]:
    watched = _Watched(browser, served[0])
    try:
        yield watched
        watched.check()  # also after the test's own assertions: late errors count
    finally:
        watched.page.close()


def _visible_steps(scope: Any) -> list[int]:
    """The data-step of every frame the browser actually renders (CSS applied)."""
    frames = scope.locator(".frame")
    return [int(frames.nth(i).get_attribute("data-step"))
            for i in range(frames.count()) if frames.nth(i).is_visible()]


def _assert_at(scope: Any, k: int, n: int) -> None:
    assert scope.locator(".counter").inner_text() == f"Step {k} / {n}"
    assert _visible_steps(scope) == [k]
    assert scope.locator(".slider").input_value() == str(k)


# ------------------------------------------------------------------ every page
def test_nav_lists_the_pages() -> None:
    pages = _nav_pages()
    assert "" in pages and "backprop-and-the-tape/" in pages and "api/" in pages


@pytest.mark.parametrize("path", _nav_pages())
def test_page_loads_without_errors(tab: _Watched, served: tuple, path: str) -> None:
    page = tab.goto(served[0] + path)
    assert page.locator("h1").first.is_visible()
    text = page.locator("article").inner_text()
    assert "Traceback" not in text
    # markdown the extensions should have turned into HTML shows as raw markers
    assert not re.search(r"^(!!!|\?\?\?|===) ", text, re.M), path
    # every inline Graphviz drawing is laid out with a real size
    for svg in page.locator("article svg:has(> g.graph)").all():
        box = svg.bounding_box()
        assert box is not None and box["width"] > 10 and box["height"] > 10, path
    tab.check()


# ------------------------------------------------------------------ the stepper
def test_standalone_stepper_buttons_keys_and_slider(tab: _Watched, served: tuple) -> None:
    base, n = served
    page = tab.goto(f"{base}{STEPPER_DIR}/steps.html")
    _assert_at(page, 0, n)
    page.locator("button.prev").click()  # clamped at the first step
    _assert_at(page, 0, n)
    page.locator("button.next").click()
    _assert_at(page, 1, n)
    assert page.evaluate("location.hash") == f"#{STEPPER_ID}-step-1"
    # the tape row of the current step is the highlighted one
    row = page.locator(f"#{STEPPER_ID}-step-1").get_attribute("data-row")
    assert row is not None
    assert page.locator("table.tape tr.current").get_attribute("data-row") == row
    page.locator("body").focus()
    page.keyboard.press("ArrowRight")
    _assert_at(page, 2, n)
    page.keyboard.press("ArrowLeft")
    _assert_at(page, 1, n)
    page.locator(".slider").evaluate(
        "(s, k) => { s.value = String(k); s.dispatchEvent(new Event('input')); }", n)
    _assert_at(page, n, n)
    page.locator("button.next").click()  # clamped at the last step
    _assert_at(page, n, n)
    assert page.evaluate("location.hash") == f"#{STEPPER_ID}-step-{n}"
    # the last frame holds the final gradients: a 9 (= b * b), b -2 (4 + -6, accumulated)
    last = page.locator(f"#{STEPPER_ID}-step-{n}").text_content() or ""
    assert ".grad: 9." in last and "grad -2" in last


def test_standalone_stepper_deep_links(tab: _Watched, served: tuple) -> None:
    base, n = served
    k = n - 1
    page = tab.goto(f"{base}{STEPPER_DIR}/steps.html#{STEPPER_ID}-step-{k}")
    _assert_at(page, k, n)
    page.evaluate(f"location.hash = '#{STEPPER_ID}-step-2'")  # a link followed in the page
    page.locator(".counter", has_text="Step 2 /").wait_for()
    _assert_at(page, 2, n)
    page.goto(f"{base}{STEPPER_DIR}/steps.html#{STEPPER_ID}-step-{n + 50}")
    _assert_at(page, n, n)  # out of range: the last step


def test_stepper_inside_the_backprop_page(tab: _Watched, served: tuple) -> None:
    page = tab.goto(served[0] + "backprop-and-the-tape/")
    frame = page.frame_locator('iframe[title="backprop step by step"]')
    root = frame.locator(".tg-stepper")
    assert root.get_attribute("id") == "tiny-net"
    n = int(root.get_attribute("data-steps"))
    assert n >= 5
    _assert_at(frame, 0, n)
    frame.locator("button.next").click()
    _assert_at(frame, 1, n)
    page.keyboard.press("ArrowRight")  # focus is on the Next button inside the frame
    _assert_at(frame, 2, n)
    page.keyboard.press("ArrowLeft")
    _assert_at(frame, 1, n)
    assert frame.locator("#tiny-net-step-1 svg").is_visible()
    # deep links live in the page's address (an <iframe srcdoc> has none of its own)
    assert page.evaluate("location.hash") == "#tiny-net-step-1"
    page.evaluate("location.hash = '#tiny-net-step-3'")  # a link followed in the page
    frame.locator(".counter", has_text="Step 3 /").wait_for()
    _assert_at(frame, 3, n)
    page.reload(wait_until="load")  # opened from the address bar: #tiny-net-step-3
    _assert_at(frame, 3, n)
