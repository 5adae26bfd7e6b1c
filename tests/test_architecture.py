"""The package structure docs/architecture.md describes, read from the imports themselves.

Every import counts, however it is written: module level, inside a function, under
``TYPE_CHECKING``, relative or absolute.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "propylon"
DOC = ROOT / "docs" / "architecture.md"

PROTOCOL_PACKAGES = ("saml", "scim", "provider", "oidc")
FRAMEWORKS = ("fastapi", "starlette", "sqlalchemy")
SHARED = {
    "propylon",
    "errors",
    "ids",
    "text",
    "settings",
    "logs",
    "background",
    "cooperative",
    "owner_only",
    "rfc3339",
}
"""Small top-level modules any package may use; they import none of ours but each other."""
RUNTIME_USERS = {"api", "cli", "admin", "signin", "demo"}
"""The runtime is built by ``api/`` and ``cli/``; the service layers they call take it (and
``demo/seed.py``, which makes the demo through them)."""

SQL_EXCEPTIONS = {
    # Only the type of the transaction handed to the SCIM operations.
    ("propylon.scim.service", "sqlalchemy"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Module → every module name it imports (external ones too, as written)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found[name].update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                found[name].add(module)
                found[name].update(f"{module}.{alias.name}" for alias in node.names)
    return found


IMPORTS = _imports()
MODULES = set(IMPORTS) | {_module_name(p) for p in SRC.rglob("*.py")}


def _package(module: str) -> str:
    """``propylon.x.y`` → ``x`` (a top-level module ``propylon.x`` is its own unit)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "propylon"


def _module_edges() -> dict[str, set[str]]:
    return {m: {t for t in targets if t in MODULES and t != m} for m, targets in IMPORTS.items()}


def _package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in _module_edges().items():
        for target in targets:
            if _package(module) != _package(target):
                edges[_package(module)].add(_package(target))
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = set(graph) | {t for ts in graph.values() for t in ts}
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _documented() -> dict[str, set[str]]:
    """The package table of docs/architecture.md: first column the package (`x/` or
    `x.py`), last column whom it calls (backticked names; anything else is outside)."""
    table: dict[str, set[str]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([\w.]+?)/?(?:\.py)?`", cells[0])
        calls = set(re.findall(r"`([\w]+)`", cells[-1]))
        for name in names:
            table[name] = calls
    return table


def test_no_import_cycle_between_packages() -> None:
    assert _cycles(_package_edges()) == []


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(_module_edges()) == []


def test_protocol_packages_use_no_web_framework_and_no_sql() -> None:
    offending = {
        (module, framework)
        for module, targets in IMPORTS.items()
        if _package(module) in PROTOCOL_PACKAGES
        for target in targets
        for framework in FRAMEWORKS
        if target == framework or target.startswith(framework + ".")
    }
    assert offending - SQL_EXCEPTIONS == set()
    assert SQL_EXCEPTIONS - offending == set(), "an exception no longer needed: remove it"


def test_only_the_shells_and_service_layers_import_the_runtime() -> None:
    users = {
        _package(m)
        for m, targets in _module_edges().items()
        if "propylon.runtime" in targets and m != "propylon.runtime"
    }
    assert users <= RUNTIME_USERS


def test_package_table_of_the_architecture_doc_matches_the_imports() -> None:
    table = _documented()
    edges = _package_edges()
    units = set(table) - SHARED
    assert {"api", "scim", "provider", "signin", "admin", "runtime"} <= units
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages | set(edges) - SHARED <= units, "every package has a row in the table"
    actual = {p: edges.get(p, set()) & units for p in units}
    assert actual == {p: table[p] & units for p in units}


def test_shared_modules_import_none_of_the_packages() -> None:
    edges = _package_edges()
    assert {p: edges[p] - SHARED for p in SHARED if edges.get(p, set()) - SHARED} == {}
