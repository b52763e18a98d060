"""The shape of the code, each rule held by a test: no import cycles, netlib never imports streamlit,
files and functions stay small, pages stay thin, and each shared fact lives in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NETLIB = REPO / "netlib"
MAX_FILE_LINES, MAX_FUNCTION_LINES = 300, 60


def netlib_files() -> list[Path]:
    return sorted(NETLIB.rglob("*.py"))


def page_files() -> list[Path]:
    return [REPO / "app.py", *sorted((REPO / "app_pages").glob("*.py"))]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The netlib modules `path` imports, anywhere in the file (a function-level import is still a
    dependency); `from pkg import mod` counts as an import of pkg.mod."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
    return {m for m in out if m in modules and m != here}


def import_graph() -> dict[str, set[str]]:
    files = netlib_files()
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that starts and ends at the same module, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_sees_the_layers():
    graph = import_graph()
    assert "netlib.engine.loop" in graph["netlib.cli.commands"]  # a function-level import counts
    assert "netlib.checkpoint" in graph["netlib.runs.writer"]  # a relative import resolves
    assert len(graph) >= 30


def test_no_import_cycle_between_netlib_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.process
def test_importing_netlib_never_imports_streamlit():
    code = ("import importlib, sys\n"
            f"mods = {importable()!r}\n"
            "for m in ['netlib', *mods]:\n"
            "    importlib.import_module(m)\n"
            "    assert 'streamlit' not in sys.modules, f'importing {m} imported streamlit'\n"
            "print(len(mods))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout) == len(importable()) >= 30


def importable() -> list[str]:
    """Every netlib module but __main__ (importing that one runs the command line)."""
    return sorted(module_name(p) for p in netlib_files() if p.name != "__main__.py")


def _too_long(paths: list[Path]) -> tuple[list[str], list[str]]:
    files, functions = [], []
    for path in paths:
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            files.append(f"{path.relative_to(REPO)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    functions.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {n} lines")
    return files, functions


def support_files() -> list[Path]:
    """The tests and the scripts: held to the same sizes as the code they exercise."""
    return sorted((REPO / "tests").glob("*.py")) + sorted((REPO / "scripts").glob("*.py"))


@pytest.mark.parametrize("where", ["netlib", "pages", "tests and scripts"])
def test_files_and_functions_stay_small(where):
    paths = {"netlib": netlib_files, "pages": page_files, "tests and scripts": support_files}[where]()
    files, functions = _too_long(paths)
    assert not files, f"over {MAX_FILE_LINES} lines: {files}"
    assert not functions, f"over {MAX_FUNCTION_LINES} lines: {functions}"


def test_pages_stay_thin():
    """Pages lay out widgets and call netlib: no torch (only _common.py sets up the server's own torch
    threads and warms up loaded models), no file formats or processes of their own."""
    for path in page_files():
        tree = ast.parse(path.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        banned = {"torchvision", "json", "subprocess", "pickle"} | ({"torch"} if path.name != "_common.py" else set())
        heavy = {m for m in imported if m.split(".")[0] in banned}
        assert not heavy, f"{path.relative_to(REPO)} imports {sorted(heavy)}: that belongs in netlib"


def _mentions(needle: str, paths) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths if needle in p.read_text()]


def test_each_shared_fact_lives_in_one_place():
    assert _mentions("0.1307", netlib_files()) == ["netlib/data.py"]  # MNIST's mean (and std beside it)
    assert _mentions("mkstemp(", netlib_files()) == ["netlib/atomic.py"]  # the one atomic write
    assert _mentions("__file__", netlib_files()) == ["netlib/lab/catalogue.py"]  # the project root
    assert _mentions('("1x1", 16)', netlib_files() + page_files()) == ["netlib/models.py"]  # branch widths
    assert _mentions("st.Page(", page_files()) == ["app.py"]  # the page list: app_pages/_common.PAGES


def test_the_project_points_nowhere_outside_itself():
    outside = ["../" + "shared", "DESIGN" + ".md", "DESIGN" + " §"]
    texts = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *netlib_files(), *page_files(),
             *sorted((REPO / "tests").glob("*.py")), *sorted((REPO / "scripts").glob("*"))]
    found = [f"{p.relative_to(REPO)} mentions {o}" for p in texts if p.is_file() for o in outside if o in p.read_text()]
    assert not found, found


BASE = {"netlib", "netlib.__main__", "netlib.models", "netlib.recipes", "netlib.mnist", "netlib.data",
        "netlib.checkpoint", "netlib.safepath", "netlib.bounded", "netlib.names", "netlib.atomic", "netlib.request"}


def test_imports_point_down():
    """The base imports only the base; the engine only the base and itself; nothing imports the cli."""
    for module, deps in import_graph().items():
        if module in BASE - {"netlib.__main__"}:
            assert deps <= BASE, f"{module} (base) imports {sorted(deps - BASE)}"
        if module.startswith("netlib.engine"):
            bad = {d for d in deps if d not in BASE and not d.startswith("netlib.engine")}
            assert not bad, f"{module} (engine) imports {sorted(bad)}"
        if not module.startswith("netlib.cli") and module != "netlib.__main__":
            assert not {d for d in deps if d.startswith("netlib.cli")}, f"{module} imports the command line"
