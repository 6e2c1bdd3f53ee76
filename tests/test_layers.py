"""The package's layering: no import cycles among grokjax's modules, no module over 400 lines.

The import graph is read from the source with ``ast`` (nothing is imported), counting every
import: at module level, inside functions (a lazy import is still a dependency; it only hides
the cycle until the function runs) and under ``if TYPE_CHECKING:``; absolute and relative;
``importlib.import_module("grokjax.x")`` with a constant name too.

Packages.  A package's ``__init__.py`` is a module of its own (``grokjax.report``).  Importing
``grokjax.a.b`` runs ``grokjax/a/__init__.py`` first, so it also imports ``grokjax.a``;
``from grokjax.a import b`` imports ``grokjax.a`` and, where ``b`` is a submodule, also
``grokjax.a.b``.  One kind of edge is left out: a module's import of one of its *own* packages
(``grokjax.report.page`` importing ``grokjax.report`` or ``grokjax``, as in ``from grokjax
import phases``).  Python has always run those ``__init__``s before the module itself, so such
an import never loads anything new; and as ``grokjax/__init__.py`` re-exports most submodules,
counting it would join every module that says ``from grokjax import x`` into one cycle through
``grokjax/__init__.py`` and hide the real ones.  Edges *out of* an ``__init__``, and into a
package that is not the importer's own (``grokjax.engine`` importing ``grokjax.report.charts``
runs ``grokjax/report/__init__.py``), are kept: those load code and can close real cycles.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PKG_DIR = Path(__file__).resolve().parent.parent / "grokjax"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    mods = {}
    for f in sorted(PKG_DIR.rglob("*.py")):
        parts = f.relative_to(PKG_DIR.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return mods


def _with_packages(name: str) -> list[str]:
    """``grokjax.a.b`` -> [grokjax, grokjax.a, grokjax.a.b]: importing it runs each __init__."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _imported(mod: str, is_pkg: bool, node: ast.AST) -> list[str]:
    """Dotted names one import node loads (existing or not; filtered by the caller)."""
    if isinstance(node, ast.Import):
        return [n for a in node.names for n in _with_packages(a.name)]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            # The importer's package: the module itself for an __init__, else its parent.
            parts = mod.split(".") if is_pkg else mod.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, base] if base else parts)
        # `from a import b`: b may be a submodule or a name; the caller keeps existing modules.
        return [*_with_packages(base), *(f"{base}.{a.name}" for a in node.names)]
    if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"):
        return _with_packages(node.args[0].value)
    return []


def import_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """module -> modules it imports, and for each edge where it happens (file:line)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        lazy = {id(n) for f in ast.walk(tree)
                if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                for n in ast.walk(f)}
        own_packages = set(_with_packages(mod))  # itself and its packages: see the docstring
        for node in ast.walk(tree):
            for dep in _imported(mod, path.name == "__init__.py", node):
                if dep in mods and dep not in own_packages:
                    graph[mod].add(dep)
                    rel = path.relative_to(PKG_DIR.parent)
                    tag = f"{rel}:{node.lineno}" + (" (in a function)" if id(node) in lazy else "")
                    if tag not in where[mod, dep]:
                        where[mod, dep].append(tag)
    return graph, where


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def _report(comps: list[list[str]], graph: dict[str, set[str]],
            where: dict[tuple[str, str], list[str]]) -> str:
    lines = []
    for comp in comps:
        members = set(comp)
        lines.append(f"cycle of {len(comp)} modules: {', '.join(comp)}")
        lines.append("  imports inside it (cut enough of these to break it):")
        for a in comp:
            for b in sorted(graph[a] & members):
                lines.append(f"    {a} -> {b}   {'; '.join(where[a, b])}")
    return "\n".join(lines)


def test_tarjan_finds_cycles_and_only_them():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set(),
             "g": {"g"}}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]


def test_imports_are_resolved_with_their_packages():
    def names(mod, src, is_pkg=False):
        return {n for node in ast.walk(ast.parse(src)) for n in _imported(mod, is_pkg, node)}

    assert names("grokjax.report.page", "from . import charts") == {
        "grokjax", "grokjax.report", "grokjax.report.charts"}
    assert "grokjax.phases" in names("grokjax.report.page", "from ..phases import PHASES")
    assert "grokjax.report.axes" in names("grokjax.report", "from .axes import x", is_pkg=True)
    assert names("grokjax.engine", "import grokjax.report.charts as c") == {
        "grokjax", "grokjax.report", "grokjax.report.charts"}
    assert "grokjax.plan" in names("grokjax.x", "importlib.import_module('grokjax.plan')")


def test_no_import_cycles():
    graph, where = import_graph()
    comps = cycles(graph)
    assert not comps, "import cycles among grokjax's modules:\n" + _report(comps, graph, where)


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PKG_DIR.parent)): n for p in sorted(PKG_DIR.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{p} ({n})" for p, n in sorted(long.items(), key=lambda kv: -kv[1]))
