"""The package's folders are layers: a module imports its own group or the groups below it,
never one above (docs/architecture.md draws it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS = (
    ("core",),
    ("config",),
    ("data",),
    ("processing",),
    ("models", "evaluation"),
    ("training", "serving"),
    ("tracking",),
    ("stages", "tuning"),
    ("cli", "sweep"),
    ("__main__",),
)
"""Bottom to top; groups on one line may not import each other either."""
RANK = {group: i for i, layer in enumerate(LAYERS) for group in layer}


def _group(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "ecgpipe" and len(parts) > 1 else None


def _imports(file: Path, src: Path) -> list[tuple[int, str]]:
    """(line, ecgpipe module) of every import in ``file``, in functions and TYPE_CHECKING too."""
    package = ".".join(file.relative_to(src).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            found += [(node.lineno, base)]
            if base == "ecgpipe":  # from ecgpipe import tracking
                found += [(node.lineno, f"ecgpipe.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if _group(name)]


def _modules() -> list[Path]:
    return sorted((SRC / "ecgpipe").rglob("*.py"))


def test_every_group_has_a_layer() -> None:
    groups = {_group(".".join(p.relative_to(SRC).with_suffix("").parts)) for p in _modules()}
    groups.discard("__init__")
    assert groups <= set(RANK), f"groups without a layer: {groups - set(RANK)}"


def _upward(file: Path, src: Path = SRC) -> list[str]:
    """The imports of ``file`` (under ``src``) from its own layer's other groups or above."""
    here = _group(".".join(file.relative_to(src).with_suffix("").parts))
    if here in (None, "__init__"):
        return []
    return [
        f"line {line}: {name}"
        for line, name in _imports(file, src)
        if (there := _group(name)) != here and RANK[there] >= RANK[here]
    ]


@pytest.mark.parametrize("file", _modules(), ids=lambda p: str(p.relative_to(SRC / "ecgpipe")))
def test_nothing_imports_upward_or_sideways(file: Path) -> None:
    wrong = _upward(file)
    assert not wrong, f"{file.relative_to(SRC)} imports from a layer not below its own: {wrong}"


def test_the_rule_catches_upward_and_sideways_imports(tmp_path: Path) -> None:
    """The check itself, on modules written for it."""
    (tmp_path / "ecgpipe" / "data").mkdir(parents=True)
    cases = {
        "data/up.py": "from ecgpipe.training import losses\n",
        "data/up_in_function.py": "def f():\n    from ecgpipe import tracking\n",
        "data/down.py": "from ecgpipe.core import atomic\nfrom ecgpipe.data import wfdb_io\n",
        "models/sideways.py": "from ecgpipe.evaluation import metrics\n",
    }
    found = {}
    for name, text in cases.items():
        file = tmp_path / "ecgpipe" / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        found[name] = _upward(file, tmp_path)
    assert found == {
        "data/up.py": ["line 1: ecgpipe.training"],
        "data/up_in_function.py": ["line 2: ecgpipe.tracking"],
        "data/down.py": [],
        "models/sideways.py": ["line 1: ecgpipe.evaluation"],
    }


def test_docs_architecture_names_every_module():
    """docs/architecture.md says what each module holds: a new module must be added there."""
    text = (SRC.parents[0] / "docs" / "architecture.md").read_text()
    modules = sorted(
        p.relative_to(SRC / "ecgpipe").with_suffix("")
        for p in (SRC / "ecgpipe").rglob("*.py")
        if p.name != "__init__.py"
    )
    missing = [str(m) for m in modules if f"`{m.name}`" not in text]
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_every_stage_is_a_thin_entry_point():
    """docs/architecture.md's claim, with its number: a stage module reads its config, calls the
    library and writes its outputs in at most that many lines."""
    text = (SRC.parents[0] / "docs" / "architecture.md").read_text()
    claim = re.search(r"Stages are thin\.[^-]*?in at most (\d+) lines", text)
    assert claim, "docs/architecture.md no longer says how long a stage may be"
    limit = int(claim.group(1))
    long = {
        p.name: n
        for p in sorted((SRC / "ecgpipe" / "stages").glob("*.py"))
        if (n := len(p.read_text().splitlines())) > limit
    }
    assert not long, f"stage modules over {limit} lines (move the work into the library): {long}"
