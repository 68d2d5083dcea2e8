"""``dvc.yaml`` names, for each stage, every ecgpipe module its entry point imports (directly or
through others, at module level or inside functions), so that a change to any code a stage runs
reruns it; and names no module it does not import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from tests.conftest import conf

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
RESOURCES = "src/ecgpipe/data/resources/"


def _module_file(name: str) -> Path | None:
    """The source file of ecgpipe module ``name`` (a package's ``__init__.py``), if any."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(file: Path) -> set[str]:
    """ecgpipe modules ``file`` imports anywhere in its body."""
    package = ".".join(file.relative_to(SRC).with_suffix("").parts)
    if file.name == "__init__.py":
        package = package.removesuffix(".__init__")
    else:
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # submodules imported by name
    return {n for n in names if n.split(".")[0] == "ecgpipe" and _module_file(n)}


def _closure(entry: str) -> set[Path]:
    """Source files of ``entry`` and every ecgpipe module it reaches, packages' non-empty
    ``__init__.py`` included (importing ``a.b`` runs ``a/__init__.py``)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imported(_module_file(name)))
    return {f for f in (_module_file(n) for n in seen) if _runs_code(f)}


def _runs_code(file: Path) -> bool:
    """Whether ``file`` holds more than a docstring and constants (``__version__``)."""
    return not all(
        isinstance(node, ast.Expr | ast.Assign) and isinstance(node.value, ast.Constant)
        for node in ast.parse(file.read_text()).body
    )


def _stages() -> dict[str, dict]:
    """Each stage's definition (a ``foreach`` stage's ``do``, one for all its items)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def _code_deps(stage: dict) -> list[Path]:
    """The stage's code dependencies; a dataset's ``source`` as the default dataset has it (the
    synthetic generator's code)."""
    source = conf("data", "synthetic")["source"]
    sources = ("${data.source}", "${item.data.source}")
    deps = [source if d in sources else str(d) for d in stage["deps"]]
    return [ROOT / d for d in deps if d.startswith("src/")]


@pytest.mark.parametrize("name", list(_stages()))
def test_dvc_yaml_lists_every_module_a_stage_imports(name: str) -> None:
    stage = _stages()[name]
    assert stage["cmd"] in (f"ecgpipe {name}", f"ecgpipe {name} ${{key}}")
    needed = _closure(f"ecgpipe.stages.{name}")
    listed = _code_deps(stage)
    missing = sorted(
        str(f.relative_to(ROOT)) for f in needed if not any(f.is_relative_to(d) for d in listed)
    )
    assert not missing, f"dvc.yaml stage {name} does not list: {missing}"
    literal = [  # data the code reads (resources/) is not a module
        ROOT / d
        for d in stage["deps"]
        if str(d).startswith("src/") and not str(d).startswith(RESOURCES)
    ]
    unused = sorted(
        str(d.relative_to(ROOT)) for d in literal if not any(f.is_relative_to(d) for f in needed)
    )
    assert not unused, f"dvc.yaml stage {name} lists modules it never imports: {unused}"


@pytest.mark.parametrize("name", ["prepare", "external"])
def test_stages_that_read_datasets_depend_on_the_tables_the_readers_read(name: str) -> None:
    shipped = {f"{RESOURCES}{p.name}" for p in (ROOT / RESOURCES).iterdir()}
    assert shipped <= set(_stages()[name]["deps"])


def test_the_closure_follows_imports_inside_functions() -> None:
    """``prepare`` imports its dataset readers inside functions; they count."""
    files = {str(f.relative_to(SRC)) for f in _closure("ecgpipe.stages.prepare")}
    assert "ecgpipe/data/wfdb_folder.py" in files
    assert "ecgpipe/stages/prepare.py" in files
