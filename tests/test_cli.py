"""The ``tapegrad`` command: graph, step, check and demo, with every usage error's exit
status and one-line message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tapegrad.cli import main

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = textwrap.dedent("""
    import tapegrad as tg

    def loss():
        w = tg.tensor([0.5, -1.0], requires_grad=True)
        return (w * w).tanh().sum()

    def vector():
        w = tg.tensor([0.5, -1.0], requires_grad=True)
        return w * 2

    def scalar():
        a = tg.Scalar(2.0, label="a")
        return (a * a + a).tanh()

    def number():
        return 3

    def needs(x):
        return x

    def boom():
        raise ValueError("boom inside user code")

    def uses_helper():
        import helper  # a module next to this file, imported when called

        return helper.double(tg.tensor([1.0], requires_grad=True))

    def net():
        tg.manual_seed(0)
        model = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.Tanh(), tg.nn.Linear(4, 1))
        return model(tg.randn(2, 3)).sum()

    value = 5
""")



@pytest.fixture
def prog(tmp_path, monkeypatch):
    """A user file in an empty working directory; returns its name."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "helper.py").write_text("def double(x):\n    return (x * 2).sum()\n")
    monkeypatch.chdir(tmp_path)
    return "prog.py"


def _one_line_error(capsys, *needles: str) -> None:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("tapegrad ")
    for needle in needles:
        assert needle in lines[0]


# ---------------------------------------------------------------- check
def test_check_prints_one_summary_line_by_default(capsys):
    status = main(["check", "--ops", "add", "mul", "--dtype", "float64", "--contiguous-only"])
    out = capsys.readouterr().out
    assert status == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ops 2/2 pass, cases: ") and lines[0].endswith(" 0 failed")


def test_check_prints_the_table_and_passes(capsys):
    status = main(["check", "--ops", "add", "mul", "--dtype", "float64", "--contiguous-only",
                   "-v"])
    out = capsys.readouterr().out
    assert status == 0
    header = out.splitlines()[0].split()
    assert header[:2] == ["op", "sample"] and "err" in header
    rows = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert {"add", "mul"} <= set(rows)
    assert " 0 failed" in out


def test_check_failure_exits_1(capsys, monkeypatch):
    from tapegrad.testing import registry_check

    def failing(names, dtypes, layouts):
        return [registry_check.Result(names[0], "s", "float64", False, 1.0, None, False,
                                      "forward differs")]

    monkeypatch.setattr(registry_check, "check_all", failing)
    assert main(["check", "--ops", "add"]) == 1
    out = capsys.readouterr().out
    assert "FAIL add" in out and "forward differs" in out
    assert out.strip().splitlines()[-1] == ("ops 0/1 pass, cases: 0 passed, 1 failed "
                                            "(failing: add)")
    assert main(["check", "--ops", "add", "-v"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "0 passed, 1 failed" in out


USER_OPS = textwrap.dedent("""
    import numpy as np
    from tapegrad.autograd import Function

    class AddBias(Function):
        @staticmethod
        def forward(ctx, x, bias):
            return x + bias

        @staticmethod
        def backward(ctx, grad):
            return grad, grad.sum(0)

    class ForgotTheSum(AddBias):
        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    def example_inputs():
        rng = np.random.default_rng(0)
        return rng.standard_normal((3, 4)), rng.standard_normal(4)

    def torch_reference(x, bias):
        return x + bias
""")


def test_check_a_users_function(tmp_path, monkeypatch, capsys):
    (tmp_path / "myops.py").write_text(USER_OPS)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "myops.py:AddBias"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["myops.py:AddBias: 9/9 checks passed (0 skipped; -v lists them)"]
    assert main(["check", "myops.py:AddBias", "-v"]) == 0
    out = capsys.readouterr().out
    assert "ok    torch reference" in out and "9 of 9 checks passed" in out
    assert main(["check", "myops.py:ForgotTheSum"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  backward contract" in out
    assert "a gradient of shape [3, 4] for `bias`, which has shape [4]" in out
    assert main(["check", "myops.py:Missing"]) == 2
    _one_line_error(capsys, "no Function or function 'Missing'")
    (tmp_path / "bare.py").write_text(USER_OPS.split("\ndef example_inputs")[0])
    assert main(["check", "bare.py:AddBias"]) == 2
    _one_line_error(capsys, "needs example inputs", "example_inputs()")


def test_check_without_torch(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes ``import torch`` fail
    assert main(["check", "--ops", "add"]) == 2
    _one_line_error(capsys, "pip install torch==2.13.0")


def test_check_unknown_op_and_list(capsys):
    assert main(["check", "--ops", "add", "no_such_op"]) == 2
    _one_line_error(capsys, "'no_such_op'")
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    names = out.split()
    assert "add" in names and "mul" in names
    assert "Out of scope" in out and "  fft: Fourier transforms need complex tensors" in out


# ---------------------------------------------------------------- errors of graph/step
@pytest.mark.parametrize("command", ["graph", "step"])
@pytest.mark.parametrize(("target", "needle"), [
    ("prog.py", "FILE.py:FUNCTION"),
    ("missing.py:loss", "no such file: missing.py"),
    ("prog.py:nope", "no function 'nope'"),
    ("prog.py:value", "not a function"),
    ("prog.py:number", "returned int"),
    ("prog.py:needs", "must take no arguments"),
])
def test_usage_errors_exit_2_with_one_line(capsys, prog, command, target, needle):
    assert main([command, target]) == 2
    _one_line_error(capsys, needle)


def test_user_exception_shows_its_traceback_then_exits_2(capsys, prog):
    assert main(["graph", "prog.py:boom"]) == 2
    err = capsys.readouterr().err
    assert "ValueError: boom inside user code" in err  # the user's own traceback
    assert err.strip().splitlines()[-1] == ("tapegrad graph: error: prog.py:boom raised "
                                            "ValueError (traceback above)")


@pytest.mark.parametrize(("output", "needle"), [
    ("no_dir/out.svg", "no such directory"),
    (".", "is a directory"),
    ("out.txt", "use one of"),
])
def test_unwritable_output(capsys, prog, output, needle):
    assert main(["graph", "prog.py:loss", "-o", output]) == 2
    _one_line_error(capsys, needle)


def test_graphviz_missing(capsys, prog, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ``dot`` to be found
    assert main(["graph", "prog.py:loss"]) == 2
    _one_line_error(capsys, "apt-get install graphviz")
    assert not (tmp_path / "loss.svg").exists()
    # the DOT text needs no Graphviz
    assert main(["graph", "prog.py:loss", "-o", "loss.dot"]) == 0
    assert (tmp_path / "loss.dot").read_text().startswith("digraph")


# ---------------------------------------------------------------- graph / step output
def test_graph_writes_svg_with_default_name(capsys, prog, tmp_path):
    assert main(["graph", "prog.py:loss"]) == 0
    svg = (tmp_path / "loss.svg").read_text()
    assert "<svg" in svg and "tanh" in svg
    assert "wrote loss.svg" in capsys.readouterr().out


def test_graph_backward_view_png_and_scalar(prog, tmp_path):
    assert main(["graph", "prog.py:loss", "--view", "backward", "-o", "b.png"]) == 0
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["graph", "prog.py:loss", "--view", "backward", "-o", "b.dot"]) == 0
    assert "TanhBackward0" in (tmp_path / "b.dot").read_text()
    assert main(["graph", "prog.py:scalar", "-o", "s.svg"]) == 0
    assert "<svg" in (tmp_path / "s.svg").read_text()


def test_user_file_imports_its_neighbours(prog, tmp_path):
    assert main(["graph", "prog.py:uses_helper", "-o", "h.dot"]) == 0
    assert "mul" in (tmp_path / "h.dot").read_text()
    assert str(tmp_path) not in sys.path  # the folder is taken off sys.path again
    assert "helper" in sys.modules
    sys.modules.pop("helper")


def test_step_writes_html(capsys, prog, tmp_path):
    assert main(["step", "prog.py:loss"]) == 0
    html = (tmp_path / "loss.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html
    assert main(["step", "prog.py:scalar", "-o", "s.html"]) == 0
    assert (tmp_path / "s.html").stat().st_size > 1000
    capsys.readouterr()
    assert main(["step", "prog.py:vector"]) == 2
    _one_line_error(capsys, "single number")


def test_graph_and_step_take_the_draw_options(capsys, prog, tmp_path):
    args = ["--collapse", "0", "--max-depth", "2", "--show-saved"]
    assert main(["graph", "prog.py:net", "-o", "n.dot", "--view", "backward", *args]) == 0
    dot = (tmp_path / "n.dot").read_text()
    assert "note_max_depth" in dot and "saved" in dot and "AddmmBackward0" in dot
    assert main(["graph", "prog.py:net", "-o", "c.dot", "--collapse", "0"]) == 0
    assert "mod_0 [" in (tmp_path / "c.dot").read_text()
    assert main(["step", "prog.py:net", "-o", "s.html", "--collapse", "0",
                 "--show-accumulate"]) == 0
    html = (tmp_path / "s.html").read_text()
    assert '-mod_0" class="node module"' in html and '"start":"full"' in html
    assert main(["step", "prog.py:net", "-o", "f.html", "--view", "forward"]) == 0
    forward = (tmp_path / "f.html").read_text()
    assert ">addmm<" in forward or ">linear<" in forward
    assert "AddmmBackward0</text>" not in forward  # op names, not backward functions
    assert main(["step", "prog.py:net", "-o", "d.html", "--max-depth", "1"]) == 0
    assert '-note_max_depth"' in (tmp_path / "d.html").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # argparse's own usage error
        main(["graph", "prog.py:net", "--max-depth", "0"])
    assert exc.value.code == 2 and "must be 1 or more" in capsys.readouterr().err


# ---------------------------------------------------------------- demo
def test_demo_writes_pictures(capsys, tmp_path):
    out_dir = tmp_path / "pics"
    status = main(["demo", "--steps", "30", "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert status in (0, 1)  # 30 steps may stop short of the accuracy the warning wants
    assert "step    1  loss" in out and "The tape of loss" in out  # today's output stays
    # scripts/test.sh installs Graphviz, so every file is expected
    expected = ["training_curves.png", "moons_boundary.png", "moons_step.svg",
                "digits_step.svg", "backprop_steps.html"]
    for name in expected:
        assert (out_dir / name).stat().st_size > 1000, name
        assert str(out_dir / name) in out
    assert "w1" in (out_dir / "moons_step.svg").read_text()
    assert "3.weight" in (out_dir / "digits_step.svg").read_text()  # named parameters
    assert "45/45" in out  # the digits progress bar reached the end of each epoch


def test_demo_out_is_a_file(capsys, tmp_path):
    (tmp_path / "f").write_text("")
    assert main(["demo", "--out", str(tmp_path / "f")]) == 2
    _one_line_error(capsys, "not a directory")


def test_python_m_tapegrad_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tapegrad", "graph", "nofunction.py"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.strip() == ("tapegrad graph: error: expected FILE.py:FUNCTION "
                                   "(e.g. examples/mlp.py:loss), got 'nofunction.py'")


def test_help_shows_no_rst_markup(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "`" not in out and "tapegrad command" in out


def test_check_mutate_reports_the_mutants(capsys):
    # expand's backward has a sign mutant (caught) and a dropped broadcast sum (equivalent:
    # the engine sums itself), so the command passes and says both
    assert main(["check", "--mutate", "--ops", "expand"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mutants: ") and "killed" in out
    assert "survived: sum-to-shape of tapegrad.ops.shape.Expand" in out and "equivalent" in out
    assert main(["check", "--mutate", "--ops", "no_such_op"]) == 2
