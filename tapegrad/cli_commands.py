"""The ``tapegrad graph``, ``tapegrad step`` and ``tapegrad check`` commands, and the files
``tapegrad demo --out DIR`` writes (the parser and ``demo`` itself are in `tapegrad.cli`).

Mistakes a user can make (a wrong path, a missing ``:FUNCTION``, Graphviz not installed, an
unwritable output) end with one line on stderr and exit status 2, never a traceback: a
traceback would point into tapegrad when the problem is on the command line. Exceptions
raised by the user's own code are different: their traceback is printed, it is what the
user needs to fix them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tapegrad
from tapegrad.ops import registry
from tapegrad.testing import mutate, registry_check, torch_db
from tapegrad.testing.function_check import check_function
from tapegrad.testing.torch_db_scope import EXCLUDED_FAMILIES

USAGE_ERROR = 2


class CommandError(Exception):
    """A mistake on the command line: printed as one line, exit status 2."""


def fail(command: str, message: str) -> int:
    print(f"tapegrad {command}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


# ---------------------------------------------------------------- loading FILE.py:FUNCTION
def split_target(target: str) -> tuple[Path, str]:
    """``path/to/file.py:function`` -> (path, function name)."""
    file, sep, function = target.rpartition(":")
    if not sep or not file or not function:
        raise CommandError(f"expected FILE.py:FUNCTION (e.g. examples/mlp.py:loss), got "
                           f"{target!r}")
    path = Path(file)
    if not path.is_file():
        raise CommandError(f"no such file: {file}")
    return path, function


@contextlib.contextmanager
def _as_script(path: Path, module_name: str) -> Iterator[None]:
    """While importing and calling the user's code: its folder first on sys.path (as
    ``python FILE`` has it, so its own imports work) and its module in sys.modules
    (dataclasses and pickling look it up); both undone afterwards."""
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.modules.pop(module_name, None)
        if folder in sys.path:
            sys.path.remove(folder)


def load_function(path: Path, name: str, module_name: str) -> Callable[[], Any]:
    """Import FILE by path and return FUNCTION, checked to take no arguments. Errors
    raised while importing are the user's: they propagate."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CommandError(f"cannot import {path} (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    function = getattr(module, name, None)
    if function is None:
        found = sorted(k for k, v in vars(module).items()
                       if inspect.isfunction(v) and v.__module__ == module_name)
        hint = f" (its functions: {', '.join(found)})" if found else ""
        raise CommandError(f"{path} has no function {name!r}{hint}")
    if not callable(function):
        raise CommandError(f"{path}:{name} is not a function (it is {type(function).__name__})")
    try:
        required = [p.name for p in inspect.signature(function).parameters.values()
                    if p.default is p.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):  # builtins without a signature: just try calling
        required = []
    if required:
        raise CommandError(f"{path}:{name} must take no arguments, it needs "
                           f"{', '.join(required)}")
    return function


def call_target(target: str) -> tuple[Any, str]:
    """Import FILE, run FUNCTION; its result must be a Tensor or a Scalar."""
    path, name = split_target(target)
    module_name = f"_tapegrad_user_{path.stem}"
    with _as_script(path, module_name):
        result = load_function(path, name, module_name)()
    if not isinstance(result, (tapegrad.Tensor, tapegrad.Scalar)):
        raise CommandError(f"{name}() returned {type(result).__name__}; it must return the "
                           "tapegrad Tensor or Scalar to draw")
    return result, name


def output_path(given: str | None, default: str, suffixes: tuple[str, ...]) -> Path:
    """The output file, checked before any work is done: right suffix, writable folder."""
    path = Path(given if given is not None else default)
    if path.is_dir():
        raise CommandError(f"cannot write {path}: it is a directory")
    if path.suffix.lower() not in suffixes:
        raise CommandError(f"cannot write {path}: use one of {', '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CommandError(f"cannot write {path}: permission denied")
    return path


def _import_viz() -> Any:
    try:
        from tapegrad import viz
    except ImportError as exc:  # graphviz (the Python package) missing
        raise CommandError(f"the drawing module is unavailable: {exc}") from exc
    return viz


def _run(command: str, body: Callable[[], int]) -> int:
    """Run ``body``; command-line mistakes and Graphviz/IO problems become one line."""
    try:
        return body()
    except CommandError as exc:
        return fail(command, str(exc))
    except RuntimeError as exc:
        if "Graphviz" in str(exc):  # the graph module's "dot is not installed" message
            return fail(command, str(exc))
        raise
    except OSError as exc:
        return fail(command, f"cannot write: {exc}")


def _user_code(command: str, target: str, body: Callable[[], tuple[Any, str]]) -> Any:
    """Call the user's code; its own exceptions are shown with their traceback."""
    try:
        return body()
    except CommandError:
        raise
    except Exception as exc:
        traceback.print_exc()
        raise CommandError(f"{target} raised {type(exc).__name__} (traceback above)") from exc


# ---------------------------------------------------------------- graph
def graph_command(args: argparse.Namespace) -> int:
    """``tapegrad graph FILE.py:FUNCTION``: draw what FUNCTION's result depends on."""

    def body() -> int:
        path, name = split_target(args.target)
        out = output_path(args.output, f"{name}.svg", (".svg", ".png", ".pdf", ".dot", ".gv"))
        viz = _import_viz()
        result, _ = _user_code("graph", args.target, lambda: call_target(args.target))
        try:
            digraph = viz.draw(result, view=args.view, show_saved=args.show_saved,
                               title=args.title, collapse=args.collapse,
                               max_depth=args.max_depth)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from exc
        if out.suffix.lower() in (".dot", ".gv"):
            out.write_text(str(digraph), encoding="utf-8")  # DOT needs no Graphviz install
        else:
            viz.render(digraph, out)
        print(f"wrote {out} ({args.view} graph of {path.name}:{name})")
        return 0

    return _run("graph", body)


# ---------------------------------------------------------------- step
def step_command(args: argparse.Namespace) -> int:
    """``tapegrad step FILE.py:FUNCTION``: a step-through HTML page of the backward pass."""

    def body() -> int:
        path, name = split_target(args.target)
        out = output_path(args.output, f"{name}.html", (".html", ".htm"))
        viz = _import_viz()
        result, _ = _user_code("step", args.target, lambda: call_target(args.target))
        if isinstance(result, tapegrad.Tensor) and result.numel() != 1:
            raise CommandError(f"{name}() returned a tensor of shape {tuple(result.shape)}; "
                               "stepping through backward needs a single number (a loss)")
        try:
            html = viz.stepper_html(result, title=args.title or f"{path.name}:{name}",
                                    collapse=args.collapse, max_depth=args.max_depth,
                                    show_saved=args.show_saved, view=args.view,
                                    show_accumulate=args.show_accumulate)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from exc
        out.write_text(html, encoding="utf-8")
        print(f"wrote {out} (backward of {path.name}:{name}, open it in a browser)")
        return 0

    return _run("step", body)


# ---------------------------------------------------------------- check
def _torch_available() -> bool:
    """Look torch up without importing it (the comparison imports it when it runs)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except ValueError:  # sys.modules["torch"] is None: marked as not importable
        return False


def mutate_command(ops: list[str] | None) -> int:
    """``tapegrad check --mutate``: the mutants of every backward the ops' database cases
    reach, and those the cases fail to catch (exit status 1 when any survives that is not
    known to be equivalent)."""
    known = torch_db.in_scope_ops()
    unknown = [n for n in ops or () if n not in known]
    if unknown:
        return fail("check", f"not an in-scope entry of torch's database: "
                    f"{', '.join(map(repr, unknown))}; `tapegrad check --torch-db --list` "
                    "lists them")
    names = ops or [n for n, op in known.items() if op.supports_autograd]

    def progress(text: str) -> None:
        print(f"\r{text[:78]:<78}", end="", file=sys.stderr, flush=True)

    report = mutate.mutate(names, progress=progress)
    print("\r" + " " * 78 + "\r", end="", file=sys.stderr, flush=True)
    print(report)
    missed = [r for r in report.survivors if r.mutation not in mutate.EQUIVALENT]
    return 1 if missed else 0


def _example(obj: Any, module: Any, attr: str) -> Any:
    """``attr`` of the class, else of its file; a callable is called (no arguments)."""
    found = getattr(obj, attr, None)
    if found is None:
        found = getattr(module, attr, None)
    return found() if callable(found) and attr == "example_inputs" else found


def check_user_function(target: str, verbose: bool) -> int:
    """``tapegrad check FILE.py:NAME``: `tapegrad.testing.check_function` on the user's
    Function (or function of tensors) NAME, with the inputs of ``example_inputs`` (an
    attribute of NAME or a function of FILE: a tuple, or a function returning one) and,
    when FILE or NAME defines ``torch_reference``, that torch function as the reference."""
    path, name = split_target(target)
    module_name = f"_tapegrad_user_{path.stem}"

    def load() -> tuple[Any, Any, Any]:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise CommandError(f"cannot import {path} (is it a .py file?)")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        obj = getattr(module, name, None)
        if obj is None or not callable(obj):
            raise CommandError(f"{path} has no Function or function {name!r}")
        inputs = _example(obj, module, "example_inputs")
        if inputs is None:
            raise CommandError(
                f"{target} needs example inputs: give {name} an attribute example_inputs, or "
                f"define example_inputs() in {path.name}, returning a tuple of tensors or "
                "numpy arrays")
        return obj, tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,), \
            _example(obj, module, "torch_reference")

    with _as_script(path, module_name):
        obj, inputs, reference = _user_code("check", target, load)
        report = _user_code("check", target, lambda: check_function(
            obj, *inputs, reference=reference, raise_on_failure=False))
    if verbose or not report.passed:
        print(report)
    else:
        ran = [c for c in report.checks if c.status != "skip"]
        print(f"{path.name}:{name}: {len(ran)}/{len(ran)} checks passed "
              f"({len(report.checks) - len(ran)} skipped; -v lists them)")
    return 0 if report.passed else 1


def check_command(args: argparse.Namespace) -> int:
    """``tapegrad check``: every registered op (or those named) against PyTorch, or the
    user's own Function (``tapegrad check FILE.py:NAME``)."""
    if args.target is not None:
        return _run("check", lambda: check_user_function(args.target, args.verbose))
    if not _torch_available():
        return fail("check", "PyTorch is needed to check ops against it: "
                    "pip install torch==2.13.0")
    if args.mutate:  # break each backward rule on purpose: do the database's cases notice?
        return mutate_command(args.ops)
    if args.torch_db:  # PyTorch's own OpInfo/ModuleInfo/OptimizerInfo database
        return torch_db.command(args.ops, args.verbose, args.list)
    if args.list:
        print("\n".join(sorted(op.name for op in registry.all_ops())))
        print("\nOut of scope, by family (`tapegrad check --torch-db --list` lists every entry "
              "of PyTorch's database, present or missing):")
        for family, reason, _, _ in EXCLUDED_FAMILIES:
            print(f"  {family}: {reason}")
        return 0
    if args.ops:
        unknown = [n for n in args.ops if n not in {op.name for op in registry.all_ops()}]
        if unknown:
            return fail("check", f"unknown op {', '.join(map(repr, unknown))}; "
                        "`tapegrad check --list` shows the registered ops")
    names = args.ops or [op.name for op in registry.all_ops()]
    dtypes = args.dtype or registry_check.DTYPES
    layouts = (False,) if args.contiguous_only else (False, True)
    results = []
    for i, name in enumerate(names, 1):
        print(f"\rchecking {i}/{len(names)}: {name:<30}", end="", file=sys.stderr, flush=True)
        results.extend(registry_check.check_all([name], dtypes=dtypes, layouts=layouts))
    print("\r" + " " * 48 + "\r", end="", file=sys.stderr, flush=True)
    print(registry_check.format_results(results, verbose=args.verbose))
    return 1 if any(not r.passed for r in results) else 0


def _max_depth(text: str) -> int:
    depth = int(text)
    if depth < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {depth}")
    return depth


def _draw_options(p: argparse.ArgumentParser, view: str) -> None:
    """The options of tapegrad.viz.draw that graph and step share."""
    p.add_argument("--view", choices=("forward", "backward"), default=view,
                   help=f"ops with values (forward) or torch's backward functions with "
                        f"edges the way gradients flow (backward); default {view}")
    p.add_argument("--collapse", action="append", metavar="MODULE_PATH",
                   help="draw this module (a dotted path: enc, enc.0) as one box per call; "
                        "repeatable")
    p.add_argument("--max-depth", type=_max_depth, metavar="N",
                   help="draw only the ops at most N steps back from the result")
    p.add_argument("--show-saved", action="store_true", help="draw the saved tensors too")


def add_commands(sub: Any) -> None:
    """Register graph, step and check on the ``tapegrad`` parser's subparsers."""
    p = sub.add_parser("graph", help="draw the computation graph of FILE.py:FUNCTION's result")
    p.add_argument("target", metavar="FILE.py:FUNCTION",
                   help="a function taking no arguments and returning a Tensor or Scalar")
    p.add_argument("-o", "--output", help="output file: .svg (default <FUNCTION>.svg), "
                   ".png, .pdf, or .dot for the DOT text (needs no Graphviz)")
    _draw_options(p, "forward")
    p.add_argument("--title", help="a title above the graph")
    p.set_defaults(func=graph_command)

    p = sub.add_parser("step", help="write a step-through HTML page of the backward pass")
    p.add_argument("target", metavar="FILE.py:FUNCTION",
                   help="a function taking no arguments and returning a one-element loss")
    p.add_argument("-o", "--output", help="output .html file (default <FUNCTION>.html)")
    p.add_argument("--title", help="the page title (default FILE.py:FUNCTION)")
    _draw_options(p, "backward")
    p.add_argument("--show-accumulate", action="store_true",
                   help="start with AccumulateGrad as steps of their own (the page has a "
                        "checkbox for it too)")
    p.set_defaults(func=step_command)

    p = sub.add_parser("check", help="check ops' forward and gradients against PyTorch, or "
                       "your own Function: tapegrad check myops.py:MyFunction")
    p.add_argument("target", nargs="?", metavar="FILE.py:NAME",
                   help="check your own autograd.Function (or function of tensors) NAME with "
                        "tapegrad.testing.check_function; its inputs come from "
                        "example_inputs (on NAME or in FILE), its optional torch reference "
                        "from torch_reference")
    p.add_argument("--ops", nargs="+", metavar="NAME", help="only these ops (default: all)")
    p.add_argument("--dtype", action="append", choices=("float64", "float32"),
                   help="only this dtype (repeatable; default both)")
    p.add_argument("--contiguous-only", action="store_true",
                   help="skip the non-contiguous (strided) inputs")
    p.add_argument("--list", action="store_true", help="list the registered ops and exit "
                   "(with --torch-db: what is in scope, present, and out of scope)")
    p.add_argument("--torch-db", action="store_true",
                   help="run PyTorch's own test database (OpInfos, ModuleInfos, optimizers)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="a table row per case (with --torch-db: per op, module and "
                        "optimizer; with FILE.py:NAME: every check); default: failures and "
                        "one summary line")
    p.add_argument("--mutate", action="store_true",
                   help="break each backward rule the database's cases reach (sign, "
                   "transpose, broadcast sum, saved tensors) and list the mutants they miss")
    p.set_defaults(func=check_command)
