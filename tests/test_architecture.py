"""The layering rule: a module imports only from its own layer or the layers below it.

kernels -> autograd -> tensor/scalar -> ops -> nn/optim/data -> viz/testing -> cli.
Imports inside functions count too (they are still dependencies). viz and testing may
import the public package root itself (they run user code written against it).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tapegrad"

# First path component under tapegrad/ (a package or a module) -> its layer.
LAYERS = {
    "dtypes": 0, "device": 0, "cuda": 0, "random": 0, "_malloc": 0, "kernels": 0,
    "autograd": 1,
    "formula": 1,
    "printing": 2, "tensor": 2, "creation": 2, "scalar": 2, "scalar_backward": 2, "pointwise": 2,
    "ops": 3, "linalg": 3,
    "nn": 4, "optim": 4, "utils": 4, "datasets": 4, "serialization": 4,
    "viz": 5, "testing": 5,
    "cli": 6, "cli_commands": 6, "__main__": 6, "__init__": 6,
}


def component(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "tapegrad":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "tapegrad":  # `from tapegrad import nn`: the names are modules
                found += [(node.lineno, f"tapegrad.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_every_module_has_a_layer():
    missing = {p.relative_to(PACKAGE).parts[0].removesuffix(".py")
               for p in PACKAGE.rglob("*.py")} - set(LAYERS)
    assert not missing, f"add these to LAYERS: {sorted(missing)}"


def test_lower_layers_never_import_higher_ones():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        own = LAYERS[rel.parts[0].removesuffix(".py")]
        if rel.name == "__init__.py" and len(rel.parts) == 1:
            continue  # the package root re-exports everything
        for lineno, name in imports_of(path):
            comp = component(name)
            if comp is None or comp not in LAYERS:
                continue
            if comp == "__init__" and own >= LAYERS["testing"]:
                continue  # viz/testing may use the public package (`lib=tapegrad`), as users do
            if LAYERS[comp] > own:
                violations.append(f"{rel}:{lineno} imports {name} (layer {LAYERS[comp]} > {own})")
    assert not violations, "\n".join(violations)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The tapegrad modules ``path`` imports when it is imported (not inside functions, not
    under ``if TYPE_CHECKING:``), each named as precisely as the import allows."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in modules and m != me}


def test_no_import_circles():
    """A module never needs, while it is being imported, a module that needs it back:
    no bottom-of-file imports, no half-initialised modules (strongly connected components
    of the module-level import graph, found by Tarjan's algorithm)."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: module_level_imports(p, set(paths)) for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # recursion depth is bounded by the number of modules
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_no_star_imports_between_modules():
    """Only a package's __init__ gathers names with ``import *``; modules name what they use."""
    stars = [f"{p.relative_to(PACKAGE)}:{n.lineno}" for p in PACKAGE.rglob("*.py")
             if p.name != "__init__.py" for n in ast.parse(p.read_text()).body
             if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)]
    assert not stars, stars


# Imports inside functions, each for a reason that a module-level import cannot serve.
DEFERRED_IMPORTS = {
    # cycle breaks in the autograd core: these modules build on each other's classes
    "autograd/function.py": {"tapegrad.autograd.views"},
    "autograd/variable.py": {"tapegrad.autograd.api", "tapegrad.autograd.function"},
    "tensor.py": {"tapegrad.creation"},
    # the CUDA backend loads its kernel modules on first use (import time, and no numba.cuda)
    "kernels/cuda/array.py": {".indexing", "."},
    "kernels/cuda/numpy_api.py": {".", ".nonzero"},
    "kernels/cuda/ufuncs.py": {"."},
    "nn/functional/dropout.py": {"tapegrad.kernels.cuda"},
    # pytest loads the plugin in every session: tapegrad loads when a fixture is used
    "testing/pytest_plugin.py": {"tapegrad.testing.oracle", "tapegrad.testing.gradcheck",
                                 "tapegrad.testing.function_check"},
    # the first-wrong-gradient locator builds on the oracle's helpers and loads graphviz:
    # the oracle imports it only when a gradient disagrees
    "testing/oracle.py": {"tapegrad.testing.locate"},
    # the out-of-scope list loads only when a name tapegrad lacks is asked for
    "__init__.py": {"tapegrad.testing.torch_db_scope", "tapegrad.testing.exercise"},
    # graphviz and matplotlib load only for the commands that draw
    "cli.py": {"tapegrad", "tapegrad.viz"},
    "cli_commands.py": {"tapegrad"},
}


def test_imports_inside_functions_are_the_documented_ones():
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and (
                        sub.level or (sub.module or "").startswith("tapegrad")):
                    name = "." * sub.level + (sub.module or "")
                elif isinstance(sub, ast.Import) and sub.names[0].name.startswith("tapegrad"):
                    name = sub.names[0].name
                else:
                    continue
                found.setdefault(str(path.relative_to(PACKAGE)), set()).add(name)
    extra = {f: names - DEFERRED_IMPORTS.get(f, set()) for f, names in found.items()}
    assert not {f: n for f, n in extra.items() if n}, (
        "import at module level, or add the import to DEFERRED_IMPORTS with its reason")
