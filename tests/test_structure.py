"""The rooms of the code stay small and point one way: modules, notebooks and their cells, and the imports
between the package's modules."""
import ast
import json
import re
import statistics

from conftest import REPO

PACKAGE, NOTEBOOKS = REPO / "gaussgan", REPO / "nbs"
GENERATED = {"_modidx.py"}  # nbdev's index of the symbols, written by nbdev_export


def package_imports() -> dict[str, set[str]]:
    "Each module of the package -> the package's modules it imports, at the top or inside a function."
    graph = {}
    for path in PACKAGE.glob("*.py"):
        if path.name in GENERATED or path.name == "__init__.py": continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ""
                if node.level: imported.add(name.split(".")[0] if name else "")  # from .x import y / from . import x
                elif name.startswith("gaussgan."): imported.add(name.split(".")[1])
                if node.level and not name: imported |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name.split(".")[1] for a in node.names if a.name.startswith("gaussgan.")}
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("gaussgan.")):
                imported.add(node.args[0].value.split(".")[1])  # importlib.import_module("gaussgan.x")
        graph[path.stem] = imported - {"", "__version__", path.stem}
    return graph


def test_no_module_imports_itself_through_others():
    graph = package_imports()
    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            module, path = stack.pop()
            for nxt in graph.get(module, ()):
                if nxt == start: return path + [nxt]
                if nxt not in seen: seen.add(nxt); stack.append((nxt, path + [nxt]))
    cycles = [c for c in map(cycle_from, graph) if c]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_import_check_sees_lazy_imports():
    assert "nets" in package_imports()["config"]  # config reads the generator types inside a function


def test_no_module_is_over_400_lines():
    long = {p.name: n for p in PACKAGE.glob("*.py") if p.name not in GENERATED
            and (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def exported_cells() -> list[tuple[str, int]]:
    cells = []
    for notebook in sorted(NOTEBOOKS.rglob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and re.match(r"\s*#\|\s*export", source):
                cells.append((notebook.name, len(source.splitlines())))
    return cells


def test_exported_cells_are_small():
    cells = exported_cells()
    assert len(cells) > 100
    assert not [c for c in cells if c[1] > 60], [c for c in cells if c[1] > 60]
    assert statistics.median(n for _, n in cells) <= 15


def test_notebooks_are_numbered_once_in_order_and_named_after_their_modules():
    numbered = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    numbers = [int(p.name[:2]) for p in numbered]
    assert numbers == list(range(len(numbered))), numbers
    for path in numbered:
        sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        modules = [m[1] for s in sources if (m := re.search(r"^#\|\s*default_exp\s+(\S+)", s, re.M))]
        assert modules == [path.stem[3:]], (path.name, modules)


def test_measurements_sit_in_their_own_folder_and_define_no_module():
    folder = NOTEBOOKS / "measurements"
    assert {p.stem for p in folder.glob("*.ipynb")} == {"benchmarks", "findings", "mode_collapse",
                                                        "quantum_comparison"}
    for path in folder.glob("*.ipynb"):
        assert "default_exp" not in path.read_text(), path.name
