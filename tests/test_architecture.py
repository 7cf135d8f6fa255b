"""The package map holds: dependencies point one way, ``import sim`` stays cheap, modules stay
readable, and the project stands alone (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"

# which layer may import which: cli → analysis → batch → model ← policies; config below all
MAY_IMPORT = {
    "config": {"config"},
    "model": {"config", "model"},
    "policies": {"config", "model", "policies"},
    "batch": {"config", "model", "policies", "batch"},
    "analysis": {"config", "model", "policies", "batch", "analysis"},
    "roster": {"config", "model", "roster"},  # the model reaches it through a plugin point
    "cli": {"config", "model", "policies", "batch", "analysis", "roster", "cli"},
}
OUTSIDE_DOCUMENTS = ("DESIGN" + ".md", "DESIGN" + " §")  # the team's notes, not in the repo
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
# functions allowed past MAX_FUNCTION_LINES, each with its reason
LONG_FUNCTIONS: dict[str, str] = {}


def layer(module_path: Path) -> str | None:
    parts = module_path.relative_to(SIM).parts
    return parts[0] if len(parts) > 1 else None


def imported_sim_modules(path: Path) -> list[tuple[int, str]]:
    """Every ``sim.*`` module a file imports, at any depth (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("sim.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sim":
                out += [(node.lineno, f"sim.{a.name}") for a in node.names]
            elif node.module.startswith("sim."):
                out.append((node.lineno, node.module))
    return out


def sim_files() -> list[Path]:
    return sorted(p for p in SIM.rglob("*.py") if "__pycache__" not in p.parts)


def test_dependencies_point_one_way():
    wrong = []
    for path in sim_files():
        own = layer(path)
        if own is None:
            continue
        for lineno, module in imported_sim_modules(path):
            target = module.split(".")[1]
            if target in MAY_IMPORT and target not in MAY_IMPORT[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{lineno}: {own} imports {module}")
    assert not wrong, "imports against the package map:\n" + "\n".join(wrong)


def test_every_package_says_what_it_is_and_what_it_may_import():
    for pkg in MAY_IMPORT:
        doc = ast.get_docstring(ast.parse((SIM / pkg / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "May import" in doc, f"sim/{pkg}/__init__.py: docstring lacks 'May import'"


def test_import_sim_loads_neither_numba_nor_the_model():
    code = (
        "import sys, sim, sim.analysis.compare, sim.analysis.outcomes, sim.batch.results\n"
        "heavy = [m for m in ('numba', 'sim.model.model', 'mesa') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import sim loaded {out.stdout.strip()}"


def test_modules_stay_readable():
    long_modules = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in sim_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long_modules, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(long_modules)


def test_functions_stay_readable():
    long_functions = []
    for p in sim_files():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                key = f"{p.relative_to(SIM).with_suffix('')}.{node.name}".replace("/", ".")
                if n > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                    long_functions.append(f"{key}: {n} lines")
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(
        long_functions
    )


@pytest.mark.parametrize(
    "folder", ["sim", "tests", "docs", "benchmarks", "scenarios", "experiments"]
)
def test_the_project_stands_alone(folder):
    """No reference to a design file outside the repository."""
    hits = []
    for p in (ROOT / folder).rglob("*"):
        if p.is_file() and p.suffix in (".py", ".md", ".toml") and p != Path(__file__):
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if any(ref in line for ref in OUTSIDE_DOCUMENTS):
                    hits.append(f"{p.relative_to(ROOT)}:{i}")
    assert not hits, "references to a file outside the repository:\n" + "\n".join(hits)


# the model's tables as the instruments name them (``hh, p, v, e = model.hh, ...``)
TABLES = {"hh", "p", "v", "e", "persons", "villages", "ent"}


def _writes_a_table(target: ast.expr) -> bool:
    """An assignment target that writes a column of a model table: ``hh.x[...] = ``,
    ``hh.x = ``, ``model.hh.x[...] = `` (``model.effects`` is the year's record: allowed)."""
    node = target.value if isinstance(target, ast.Subscript) else target
    if not isinstance(node, ast.Attribute):
        return False
    base = node.value
    if isinstance(base, ast.Name):
        return base.id in TABLES
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        return base.value.id == "model" and base.attr in TABLES | {"hh", "yr"}
    return False


def test_policies_change_state_only_through_the_model():
    """Instruments choose who is served; what serving does to the county is a rule of the model
    (``sim.model.changes``) or this year's effects record (``model.effects``)."""
    offenders = []
    for path in sorted((SIM / "policies").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            offenders += [f"{path.name}:{node.lineno}" for t in targets if _writes_a_table(t)]
    assert not offenders, f"policies writing the model's tables directly: {offenders}"
