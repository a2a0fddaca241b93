"""The documentation site: `mkdocs build --strict` of the real pages, run as part of pytest.

Every page computes its numbers with tapegrad while it builds (markdown-exec) and ends
with executed assertions, so this build is also a test of the library: a wrong gradient
fails it. The tests below check that the built pages hold the computed listings, and that
a page with a failing assertion really does fail the build (so the pages' checks bite).
Needs the `docs` extra (`bash scripts/setup_env.sh test` installs it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = [sys.executable, "-m", "mkdocs"]
PAGES = ["getting-started", "tensors-and-autograd", "backprop-and-the-tape",
         "function-vs-module", "nn-and-optim", "testing-against-torch", "checking-your-code",
         "training-mlp-and-cnn", "rnn-and-attention", "tape-as-text", "gpu-numba-cuda",
         "learn-gates", "learn-layers", "learn-engine"]


def _build(config: Path, site: Path, strict: bool = True) -> subprocess.CompletedProcess:
    try:
        import mkdocs  # noqa: F401
    except ImportError:  # a failure, not a skip: the docs are part of the test suite
        pytest.fail("mkdocs is missing: bash scripts/setup_env.sh test installs the docs extra")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    cmd = [*MKDOCS, "build", "-f", str(config), "-d", str(site)]
    if strict:
        cmd.append("--strict")
    return subprocess.run(cmd, cwd=config.parent, env=env, capture_output=True, text=True,
                          timeout=600)


def _text(html: str) -> str:
    """The page's text: tags dropped, entities of the listings decoded."""
    text = re.sub(r"<[^>]+>", "", html)
    return text.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")


@pytest.fixture
def site(docs_site: Path) -> Path:
    """The real site, built once per session (tests/conftest.py)."""
    return docs_site


def page(site: Path, name: str) -> str:
    return _text((site / name / "index.html").read_text(encoding="utf-8"))


def test_every_page_is_built_and_its_checks_ran(site: Path) -> None:
    for name in PAGES:
        text = page(site, name)
        assert "Checks run while this page was built" in text, name
        # the closing block printed its "ok" line (it runs after every assertion)
        assert re.search(r"^ok\b", text, re.M), name
        assert "Traceback" not in text, name


def test_backprop_page_shows_the_computed_tape_steps_and_pictures(site: Path) -> None:
    text = page(site, "backprop-and-the-tape")
    assert "%5 = mul %4 %1" in text  # the forward listing
    assert "d%1 += MulBackward0(d%5)[1]" in text  # the backward listing: b's first use
    assert "d%1 += MulBackward0(d%3)[1]" in text  # ... and its second
    html = (site / "backprop-and-the-tape" / "index.html").read_text(encoding="utf-8")
    # the engine's events as a table: MulBackward0 rows, b's accumulation 4 -> -2
    assert re.search(r"<td>MulBackward0 \(<code>mul</code>\)</td>", html)
    assert "[1] → b: -6, 4 → -2" in text
    assert "ok: grads [9.0, -2.0, -3.0]" in text
    # tapegrad.viz: the drawn graphs inline as SVG, the stepper in an iframe
    assert html.count("<svg") >= 2 and 'id="v1"' in html  # value node %1 (b)
    assert "<iframe" in html and "tiny-net-step-1" in html


def test_pages_hold_numbers_computed_by_tapegrad(site: Path) -> None:
    assert "SumBackward0" in page(site, "getting-started")
    fm = page(site, "function-vs-module")
    assert "gradcheck(MyReLU.apply, (inp,)) -> True" in fm
    assert "middle_linear ran 3 times in this forward" in fm
    assert fm.count("[middle_linear]") == 3  # the shared layer's three uses on the tape
    optim = page(site, "nn-and-optim")
    assert "training accuracy" in optim and "state kept per parameter" in optim
    oracle = page(site, "testing-against-torch")
    assert "grad x" in oracle and "<-- not close" in oracle
    assert "2 passed" in oracle
    home = page(site, "")
    assert "%1 = mm %0 %0" in home and "x.grad = [[7.0, 11.0], [9.0, 13.0]]" in home


def test_learn_backprop_pages_teach_with_computed_numbers(site: Path) -> None:
    gates = page(site, "learn-gates")
    # the gate patterns, each with its numbers
    assert "y = -5.0:  dy/dw = 2.0  dy/dx = -3.0  dy/db = 1.0" in gates
    assert "mul swaps: p·q with p = 3, q = -2 -> dp = -2.0, dq = 3.0" in gates
    assert "max routes: max([3, 7]) -> grad [0.0, 1.0]" in gates
    assert "copy sums: 3c + 5c -> dc = 8.0" in gates
    # the neuron's captions: formula, numbers, the engine's result (issue 13's example)
    assert "w1: ∂L/∂w1 = ∂L/∂x1w1·x1 = 0.5·2 = 1" in gates
    assert "n: ∂L/∂n = ∂L/∂o·(1 − o²) = 1·(1 − 0.707107²) = 0.5" in gates
    html = (site / "learn-gates" / "index.html").read_text(encoding="utf-8")
    # the drawn neuron, the exercise stepper and its three revealed answers
    assert html.count("<svg") >= 1 and "<iframe" in html and "exercise-step-1" in html
    assert html.count("<details>") == 3 and "<b>-8</b>" in html and "<b>8</b>" in html

    layers = page(site, "learn-layers")
    # the linear layer: by hand equals the engine, and the finite difference agrees
    m = re.search(r"dL/dW\[1, 2\]: engine ([-0-9.]+), numeric ([-0-9.]+)", layers)
    assert m and abs(float(m.group(1)) - float(m.group(2))) < 1e-6
    assert "(2, 3) = (4, 2)ᵀ·(4, 3)" in layers
    assert "summed over dim 0: the bias was broadcast over the batch" in layers
    assert "offset.grad = [[5.0, 10.0, 15.0]]" in layers
    assert "ConvolutionBackward0" in layers and "every position" in layers
    m = re.search(r"dK: max \|by hand - engine\| = (\S+)\n", layers)  # the conv kernel
    assert m and float(m.group(1)) < 1e-12
    assert (site / "learn-layers" / "index.html").read_text(encoding="utf-8").count("<svg")

    engine = page(site, "learn-engine")
    assert "backward ran: SumBackward0 -> AddBackward0 -> ExpBackward0 -> MulBackward0" in engine
    assert re.search(r"MulBackward0 .* a: grad \[1\., 1\.\] \+ \[", engine)  # a's 2nd share
    assert "after backward 3: w.grad = [12.0]" in engine
    assert "through detach: u.grad = [3.0]" in engine
    assert "dy/dx at x = 2: 12.0" in engine and "d²y/dx²: 12.0" in engine
    assert (site / "learn-engine" / "index.html").read_text(encoding="utf-8").count("<svg")
    assert re.search(r"tapegrad step -> exit 0, steps.html \d+ kB, \d+ frames", engine)


def test_training_and_sequence_pages_show_results_and_pictures(site: Path) -> None:
    train = page(site, "training-mlp-and-cnn")
    for net in ("MLP", "CNN"):
        accuracy = float(re.search(rf"{net} test accuracy: ([0-9.]+)", train).group(1))
        assert accuracy > 0.85, (net, accuracy)
    html = (site / "training-mlp-and-cnn" / "index.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 5 and "plots.gradient_flow" in train  # figures inline
    seq = page(site, "rnn-and-attention")
    assert "averaged = mean of the heads: True" in seq and "masked weights are 0" in seq
    html = (site / "rnn-and-attention" / "index.html").read_text(encoding="utf-8")
    assert 'id="mod_lstm"' in html and 'id="mod_encoder.self_attn"' in html  # collapsed


def test_tape_text_and_gpu_pages(site: Path) -> None:
    text = page(site, "tape-as-text")
    assert "%3 = sum %2 dim=0 keepdim=True" in text and "%4 = mul %3 3" in text
    assert "%6 = linear %0 %1 %2" in text and "[body.0]" in text
    assert "d%1 += AddmmBackward0(d%6)[1]" in text and "d%9 = 1" in text
    gpu = page(site, "gpu-numba-cuda")
    assert "devices: cuda:0 cuda:0 cuda:0" in gpu
    assert "softmax: numba.cuda kernel == plain numpy reference: True" in gpu
    assert "matmul == numpy: True" in gpu and "sum of 40 items: 780.0" in gpu
    assert "forward + backward + SGD step: 0 copies" in gpu
    assert gpu.count("RuntimeError: Expected all tensors to be on the same device") == 2
    assert "TypeError: can't convert cuda:0 device type tensor to numpy" in gpu
    assert "default: tensor([1.0986,    nan], device='cuda:0')" in gpu
    assert "with sync checks: IndexError: Target 7 is out of bounds." in gpu


def test_api_reference_is_generated_from_the_package(site: Path) -> None:
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    for ident in ["tapegrad.autograd.Function", "tapegrad.autograd.backward",
                  "tapegrad.autograd.grad", "tapegrad.autograd.Tape.listing",
                  "tapegrad.Tensor.backward", "tapegrad.nn.Module.parameters",
                  "tapegrad.testing.gradcheck.gradcheck",
                  "tapegrad.testing.oracle.compare_with_torch"]:
        assert f'id="{ident}"' in html, ident


def test_site_works_offline(site: Path) -> None:
    for name in ["", *PAGES, "api"]:
        html = (site / name / "index.html").read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html, name


def _tiny_project(tmp_path: Path, block: str) -> Path:
    """A one-page mkdocs project that uses this project's theme, plugins and hook."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# A page with a check\n\n```python exec=\"true\"\n" + block + "\n```\n")
    hook = (ROOT / "docs" / "hooks.py").as_posix()
    (tmp_path / "mkdocs.yml").write_text(textwrap.dedent(f"""\
        site_name: check
        theme:
          name: material
          font: false
        hooks:
          - {hook}
        markdown_extensions:
          - pymdownx.superfences
        plugins:
          - markdown-exec
        """))
    return tmp_path / "mkdocs.yml"


def test_a_wrong_assertion_fails_the_build(tmp_path: Path) -> None:
    block = textwrap.dedent("""\
        import tapegrad
        x = tapegrad.tensor(3.0, requires_grad=True)
        (x * x).backward()
        assert x.grad.item() == 5.0, "wrong on purpose: d(x^2)/dx at 3 is 6"
        """)
    run = _build(_tiny_project(tmp_path, block), tmp_path / "site")
    assert run.returncode != 0
    assert "wrong on purpose" in run.stdout + run.stderr


def test_the_same_page_with_a_right_assertion_builds(tmp_path: Path) -> None:
    block = textwrap.dedent("""\
        import tapegrad
        x = tapegrad.tensor(3.0, requires_grad=True)
        (x * x).backward()
        assert x.grad.item() == 6.0
        print("ok")
        """)
    run = _build(_tiny_project(tmp_path, block), tmp_path / "site")
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_hook_fails_a_page_that_prints_a_traceback(tmp_path: Path) -> None:
    block = 'print("Traceback (most recent call last):")'
    run = _build(_tiny_project(tmp_path, block), tmp_path / "site", strict=False)
    assert run.returncode != 0
    assert "an executed block raised" in run.stdout + run.stderr


def test_site_builds_from_the_docs_extra_alone(tmp_path: Path) -> None:
    """What `bash scripts/setup_env.sh docs` installs is enough to build the site: the
    pages that need torch or numba-cuda show a note instead of failing the build.
    (torch and numba_cuda are made unimportable for this build by a sitecustomize.)"""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nfor name in ('torch', 'numba_cuda'):\n    sys.modules[name] = None\n")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]))
    site = tmp_path / "site"
    run = subprocess.run([*MKDOCS, "build", "--strict", "-d", str(site)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    for name, module in (("testing-against-torch", "torch"), ("gpu-numba-cuda", "numba_cuda")):
        text = page(site, name)
        assert "The code on this page was not run while the site was built" in text, name
        assert f"import {module}" in text and not re.search(r"^ok\b", text, re.M), name
    # the other pages still ran their code and their checks
    assert re.search(r"^ok\b", page(site, "backprop-and-the-tape"), re.M)
    assert "was not run" not in page(site, "backprop-and-the-tape")


def test_api_reference_covers_viz(site: Path) -> None:
    text = page(site, "api")
    for name in ("tapegrad.viz.graph.draw", "tapegrad.viz.stepper.stepper_html",
                 "tapegrad.viz.stepper.backprop_steps"):
        assert name in text or name.rsplit(".", 1)[1] in text, name
    assert "collapse" in text and "show_accumulate" in text  # the docstrings made it
