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
BIG_ID = "big"  # a 50-op MLP: the page must stay readable at 1280x800
READABLE_PX = 11


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


def _fifty_ops() -> tuple[Any, dict]:
    """An MLP whose tape has 50 entries (24 Linear + Tanh pairs, a last Linear, the loss)."""
    tg.manual_seed(0)
    layers: list = []
    for _ in range(24):
        layers += [tg.nn.Linear(6, 6), tg.nn.Tanh()]
    net = tg.nn.Sequential(*layers, tg.nn.Linear(6, 1))
    loss = net(tg.randn(4, 6)).sum()
    assert len(tg.autograd.Tape.of(loss).entries) == 50
    return loss, dict(net.named_parameters())


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
    (root / STEPPER_DIR).mkdir()
    page = viz.stepper_html(loss, root / STEPPER_DIR / "steps.html", html_id=STEPPER_ID)
    steps = int(re.search(r'data-steps="(\d+)"', page).group(1))
    viz.stepper_html(loss, root / STEPPER_DIR / "quiz.html", html_id="quiz", quiz=True)
    big_loss, big_params = _fifty_ops()
    viz.stepper_html(big_loss, root / STEPPER_DIR / "big.html", html_id=BIG_ID,
                     params=big_params)
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


def _grad_row(scope: Any, html_id: str, nid: str) -> str:
    """The gradient row a value node shows now (no-break padding dropped)."""
    text = scope.locator(f'[id="{html_id}-{nid}"] text.g').text_content() or ""
    return text.replace("\u00a0", " ").strip()


_MIN_TEXT_PX = """root => {
  // the smallest on-screen font size of node text inside the graph's viewport, and how
  // many text elements that is measured over
  const vp = root.querySelector('.viewport').getBoundingClientRect();
  let px = Infinity, count = 0;
  root.querySelectorAll('svg g.node text').forEach(t => {
    const r = t.getBoundingClientRect();
    if (r.right < vp.left || r.left > vp.right || r.bottom < vp.top || r.top > vp.bottom) return;
    const ctm = t.getScreenCTM();
    px = Math.min(px, parseFloat(t.getAttribute('font-size')) * Math.abs(ctm.a));
    count += 1;
  });
  return [px, count];
}"""


def _inside(inner: dict, outer: dict) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1)


def _view(scope: Any) -> dict:
    return scope.locator(".tg-stepper").evaluate("r => r.tgView()")


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
    # the last step shows the final gradients: a 9 (= b * b), b -2 (4 + -6, accumulated)
    assert _grad_row(page, STEPPER_ID, "v0") == "grad 9"
    assert _grad_row(page, STEPPER_ID, "v1") == "grad -2"
    page.locator("button.prev").click()  # stepping back undoes what the last step did
    assert _grad_row(page, STEPPER_ID, "v0") != "grad 9" or \
        _grad_row(page, STEPPER_ID, "v1") != "grad -2"


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
    assert frame.locator("#tiny-net-step-1").is_visible()
    assert frame.locator(".viewport svg").is_visible()
    # deep links live in the page's address (an <iframe srcdoc> has none of its own)
    assert page.evaluate("location.hash") == "#tiny-net-step-1"
    page.evaluate("location.hash = '#tiny-net-step-3'")  # a link followed in the page
    frame.locator(".counter", has_text="Step 3 /").wait_for()
    _assert_at(frame, 3, n)
    page.reload(wait_until="load")  # opened from the address bar: #tiny-net-step-3
    _assert_at(frame, 3, n)


# ------------------------------------------------------------------ the stepper at any size
@pytest.fixture
def big(tab: _Watched, served: tuple) -> Any:
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    return tab.goto(f"{served[0]}{STEPPER_DIR}/big.html")


def test_fifty_ops_readable_at_the_default_view(big: Any) -> None:
    root = big.locator(".tg-stepper")
    px, count = root.evaluate(_MIN_TEXT_PX)
    assert count >= 6 and px >= READABLE_PX, (px, count)
    # the output is in view before the first step, and each step's node after it
    out = big.locator(f'[id="{BIG_ID}-v' + _output_id(big) + '"]')
    assert _inside(out.bounding_box(), big.locator(".viewport").bounding_box())
    for _ in range(6):
        big.keyboard.press("ArrowRight")
        active = big.locator(".viewport g.node.active")
        assert active.count() == 1
        assert _inside(active.bounding_box(), big.locator(".viewport").bounding_box())
        # ... with what it reads and writes (they fit at 100% in this graph)
        lit = big.locator(".viewport g.node.lit")
        assert lit.count() >= 1
        for i in range(lit.count()):
            assert _inside(lit.nth(i).bounding_box(), big.locator(".viewport").bounding_box())
        px, count = root.evaluate(_MIN_TEXT_PX)
        assert px >= READABLE_PX, px
    # Fit shows the whole graph, smaller; 100% comes back to readable text
    big.locator("button.fit").click()
    assert _inside(big.locator(".viewport svg").bounding_box(),
                   big.locator(".viewport").bounding_box())
    assert _view(big)["s"] < 0.5
    big.locator("button.actual").click()
    assert _view(big)["s"] == 1 and root.evaluate(_MIN_TEXT_PX)[0] >= READABLE_PX


def _output_id(page: Any) -> str:
    data = page.locator("script.tg-data").text_content()
    return re.search(r'"home":"v(\d+)"', data).group(1)


def test_zoom_and_pan_by_mouse_keys_and_touch(big: Any) -> None:
    vp = big.locator(".viewport").bounding_box()
    cx, cy = vp["x"] + vp["width"] / 2, vp["y"] + vp["height"] / 2
    start = _view(big)
    big.locator("body").focus()
    big.keyboard.press("+")
    assert _view(big)["s"] == pytest.approx(start["s"] * 1.25)
    big.keyboard.press("-")
    assert _view(big)["s"] == pytest.approx(start["s"])
    big.keyboard.press("Shift+ArrowLeft")
    assert _view(big)["x"] == pytest.approx(start["x"] + 80)
    big.keyboard.press("0")
    assert _view(big)["s"] == pytest.approx(_view(big)["fit"])
    big.keyboard.press("1")
    assert _view(big)["s"] == 1
    # the mouse: the wheel zooms around the pointer, a drag pans
    big.mouse.move(cx, cy)
    big.mouse.wheel(0, -200)
    big.wait_for_function("() => document.querySelector('.tg-stepper').tgView().s > 1.2")
    before = _view(big)
    big.mouse.down()
    big.mouse.move(cx + 60, cy + 40, steps=4)
    big.mouse.up()
    after = _view(big)
    assert after["x"] == pytest.approx(before["x"] + 60, abs=1)
    assert after["y"] == pytest.approx(before["y"] + 40, abs=1)
    # touch: one finger pans, two fingers pinch (pointer events, as a touch screen sends)
    pinch = big.locator(".viewport").evaluate("""(vp, c) => {
      const send = (type, id, x, y) => vp.dispatchEvent(new PointerEvent(type, {
        pointerId: id, pointerType: 'touch', clientX: x, clientY: y, bubbles: true}));
      const root = vp.closest('.tg-stepper');
      const s0 = root.tgView().s;
      send('pointerdown', 11, c[0] - 20, c[1]); send('pointerdown', 12, c[0] + 20, c[1]);
      send('pointermove', 12, c[0] + 60, c[1]);  // the fingers' distance: 40 -> 80
      send('pointerup', 11, c[0] - 20, c[1]); send('pointerup', 12, c[0] + 60, c[1]);
      return root.tgView().s / s0;
    }""", [cx, cy])
    assert pinch == pytest.approx(2.0)


def test_focus_dims_the_rest_and_can_be_turned_off(big: Any) -> None:
    big.keyboard.press("ArrowRight")
    big.keyboard.press("ArrowRight")
    opacity = """el => parseFloat(getComputedStyle(el).opacity)"""
    big.wait_for_timeout(250)  # the fade's transition
    active = big.locator(".viewport g.node.active")
    assert active.evaluate(opacity) == 1
    dim = big.locator(".viewport g.node:not(.lit)").first
    assert dim.evaluate(opacity) < 0.5
    lit_edges = big.locator(".viewport g.edge.lit")
    assert lit_edges.count() >= 2 and lit_edges.first.evaluate(opacity) == 1
    big.keyboard.press("f")
    big.wait_for_timeout(250)
    assert dim.evaluate(opacity) == 1


def test_tape_panel_keeps_the_current_row_in_view(big: Any) -> None:
    box = big.locator(".tapebox")
    n = int(big.locator(".tg-stepper").get_attribute("data-steps"))
    for k in (1, n // 2, n):
        big.locator(".slider").evaluate(
            "(s, k) => { s.value = String(k); s.dispatchEvent(new Event('input')); }", k)
        row = big.locator("table.tape tr.current")
        assert row.count() == 1
        r, b = row.bounding_box(), box.bounding_box()  # (long rows scroll sideways)
        assert b["y"] <= r["y"] and r["y"] + r["height"] <= b["y"] + b["height"], k
        # the caption panel shows the start of this step's caption (long ones scroll)
        caption = big.locator(f"#{BIG_ID}-step-{k}")
        c, panel = caption.bounding_box(), big.locator(".captions").bounding_box()
        assert caption.is_visible() and panel["y"] <= c["y"] < panel["y"] + 30, k


def test_accumulate_grad_toggle_and_details(big: Any) -> None:
    folded = int(big.locator(".tg-stepper").get_attribute("data-steps"))
    big.keyboard.press("ArrowRight")
    big.keyboard.press("ArrowRight")
    big.keyboard.press("a")  # AccumulateGrad as steps of their own: more steps
    full = int(big.locator(".tg-stepper").get_attribute("data-steps"))
    assert full > folded
    assert big.locator(".acc-toggle").is_checked()
    assert big.locator(".counter").inner_text().startswith("Step 2 /")
    big.keyboard.press("a")
    assert int(big.locator(".tg-stepper").get_attribute("data-steps")) == folded
    # hovering a value node shows its values, a click on a node keeps its details shown
    value = big.locator(".viewport g.node.lit.value").first
    value.hover()
    shown = big.locator(".details").inner_text()
    assert re.match(r"%\d+", shown) and "grad" in shown and "float32" in shown
    big.locator(".viewport g.node.active").click()
    text = big.locator(".details").inner_text()
    assert "Backward" in text
    big.mouse.move(1, 1)  # leaving the graph keeps the picked node's details
    assert big.locator(".details").inner_text() == text


def test_docs_stepper_page_is_full_width_and_readable(tab: _Watched, served: tuple) -> None:
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    page = tab.goto(served[0] + "stepper/")
    iframe = page.locator('iframe[title="backprop step by step, full width"]')
    assert iframe.bounding_box()["width"] >= 1100  # the page drops nav and table of contents
    frame = page.frame_locator('iframe[title="backprop step by step, full width"]')
    frame.locator(".tg-stepper.js").wait_for()
    frame.locator("button.next").click()
    px, count = frame.locator(".tg-stepper").evaluate(_MIN_TEXT_PX)
    assert count >= 6 and px >= READABLE_PX, (px, count)


def test_quiz_mode_checks_answers_hints_and_reveals(tab: _Watched, served: tuple) -> None:
    """(a * b + c) * b as a quiz: the graph hides each gradient until it is found, a wrong
    answer unlocks the hint, a right one (typed as a reader would) is accepted."""
    base, _ = served
    page = tab.goto(f"{base}{STEPPER_DIR}/quiz.html")
    root = page.locator("#quiz")
    root.locator(".next").click()  # the seed: d loss / d loss
    root.locator(".next").click()  # MulBackward0 of the last product
    questions = root.locator(".quiz-q")
    assert questions.count() == 2
    caption = root.locator('.steps.folded .frame[data-step="2"] .caption').first
    assert not caption.is_visible()
    nid = questions.nth(0).get_attribute("data-node")
    assert _grad_row(page, "quiz", nid) == "grad ?"
    first = questions.nth(0)
    first.locator("input").fill("12345")
    first.locator(".quiz-check").click()
    assert first.locator(".quiz-feedback").inner_text().startswith("Not yet")
    assert not first.locator(".quiz-hint").is_disabled()
    first.locator(".quiz-hint").click()
    assert "∂L/∂" in first.locator(".quiz-feedback").inner_text()
    # the engine's number: loss = (a*b + c)*b, so d loss / d(a*b + c) = b = -3
    first.locator("input").fill("−3")  # a typographic minus, as captions print it
    first.locator("input").press("Enter")
    done = root.locator(".quiz-q").nth(0)
    assert done.locator(".quiz-feedback").inner_text().startswith("✓")
    assert _grad_row(page, "quiz", nid) == "grad -3"
    assert "1 / " in root.locator(".quiz-score").inner_text()
    root.locator(".quiz-q").nth(1).locator(".quiz-reveal").click()
    assert caption.is_visible()
