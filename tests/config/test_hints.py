"""Every configuration key a message or the docs name exists, so that a hint can always be
followed; every `ecgpipe` command line the docs show parses (issue 35)."""

from __future__ import annotations

import ast
import inspect
import re
import shlex
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
import pytorch_lightning as pl
from pydantic import BaseModel

from ecgpipe.cli import parser
from ecgpipe.config.parse import MOVED
from ecgpipe.config.schema import Config, TrainerConfig

from ..conftest import PROJECT

GROUPS = ("data", "validate", "preprocess", "split", "model", "train", "trainer", "evaluate",
          "mlflow")  # fmt: skip
KEY = re.compile(rf"(?<![\w./$@-])(?:{'|'.join(GROUPS)})(?:\.[a-z_][a-z0-9_]*)+(?![\w/(-]|\.[a-z])")
"""A dotted key of params.yaml: ``train.lr``, ``model.options.widths`` (not ``split.json``,
``evaluate.py``, ``stages/train.run``, ``train.run(cfg)``)."""
NOT_KEYS = {
    "data.readers": "the module of the readers' registry",
    "model.metadata.metadata": "what MLflow's model metadata holds",
    "mlflow.pyfunc": "MLflow's module",
    "mlflow.data.dataset_source_registry": "MLflow's module (a warning core/quiet.py filters)",
    "mlflow.set_tracking_uri": "MLflow's function",
    "mlflow.run_id": "an Optuna trial's attribute naming its MLflow run",
    "mlflow.source.name": "an MLflow tag",
    "mlflow.source.type": "an MLflow tag",
    "mlflow.source.git.commit": "an MLflow tag",
}
"""Names that look like keys and are not, each with what it is."""
FILES = re.compile(r"\.(json|py|md|csv|yaml|yml|npy|npz|ckpt|joblib|db|lock|txt|png|html|pkl)$")
DOCS = sorted([*(PROJECT / "docs").glob("*.md"), PROJECT / "README.md"])


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {f.alias or n: f.annotation for n, f in model.model_fields.items()}


def _holds(kind: Any, rest: list[str]) -> bool:
    """Whether a value of type ``kind`` has the key path ``rest``."""
    if not rest:
        return True
    origin = get_origin(kind)
    if origin is Annotated:
        return _holds(get_args(kind)[0], rest)
    if origin in (Union, types.UnionType):
        return any(_holds(k, rest) for k in get_args(kind))
    if origin is dict:
        return True  # a table of the user's names (evaluate.external.NAME, split.records.train)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        fields = _fields(kind)
        if rest[0] not in fields and kind is TrainerConfig:  # any further Trainer argument
            return len(rest) == 1 and rest[0] in inspect.signature(pl.Trainer).parameters
        return rest[0] in fields and _holds(fields[rest[0]], rest[1:])
    return False


def exists(key: str) -> bool:
    """A key of params.yaml, or one that moved (refused with its new name: a hint too)."""
    return key in MOVED or _holds(Config, key.split("."))


def keys_in_text(text: str) -> set[str]:
    return {k for k in KEY.findall(text) if not FILES.search(k) and k not in NOT_KEYS}


def keys_in_messages() -> dict[str, set[str]]:
    """The keys in every string literal of the package (messages, hints), by module."""
    found: dict[str, set[str]] = {}
    for path in sorted((PROJECT / "src" / "ecgpipe").rglob("*.py")):
        strings = [
            n.value
            for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        if keys := set().union(*map(keys_in_text, strings)) if strings else set():
            found[str(path.relative_to(PROJECT))] = keys
    return found


def test_the_key_pattern_finds_keys_and_leaves_files_and_functions() -> None:
    text = (
        "set `train.lr=1e-3` or preprocess.target_fs=200; see metrics/split.json, "
        "stages/train.py, `evaluate.run(cfg)`, ecgpipe.data.readers and $train.x"
    )
    assert keys_in_text(text) == {"train.lr", "preprocess.target_fs"}
    assert exists("train.lr") and exists("model.options.widths") and exists("data.n_records")
    assert exists("evaluate.external.site2.data.root") and exists("validate.workers")
    assert not exists("preprocess.target_fs") and not exists("train.nothing")
    assert exists("trainer.gradient_clip_val") and not exists("trainer.gradient_clip")
    assert exists("train.accelerator")  # moved: refused with its new name


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_key_the_docs_name_exists(doc: Path) -> None:
    missing = sorted(k for k in keys_in_text(doc.read_text()) if not exists(k))
    assert not missing, f"{doc.name} names keys params.yaml does not have: {missing}"


def test_every_key_a_message_names_exists() -> None:
    missing = {
        module: sorted(k for k in keys if not exists(k))
        for module, keys in keys_in_messages().items()
    }
    missing = {m: k for m, k in missing.items() if k}
    assert not missing, f"messages name keys params.yaml does not have: {missing}"


def command_lines() -> list[tuple[str, str]]:
    """(doc, command) of every `ecgpipe` command in the docs' code blocks, continuation lines
    joined, up to a shell operator or comment."""
    found = []
    for doc in DOCS:
        fenced, inside = [], False
        for line in doc.read_text().splitlines():
            if line.lstrip().startswith("```"):
                inside = not inside
            elif inside:
                fenced.append(line)
        for line in "\n".join(fenced).replace("\\\n", " ").splitlines():
            line = re.split(r"\s(?:&&|\||#|>)\s?", line.strip())[0]
            for prefix in (".venv/bin/ecgpipe ", "ecgpipe "):
                if line.startswith(prefix):
                    found.append((doc.name, line.removeprefix(prefix)))
    return found


@pytest.mark.parametrize(("doc", "line"), command_lines(), ids=lambda x: x)
def test_every_documented_command_line_parses(doc: str, line: str) -> None:
    argv = shlex.split(line)
    try:
        parser().parse_args(argv)
    except SystemExit as exit_:
        pytest.fail(f"{doc}: `ecgpipe {line}` does not parse (exit {exit_.code})")
    for override in argv:
        if "=" in override and not override.startswith("-"):
            key = override.split("=", 1)[0].lstrip("+~")
            assert key.split(".")[0] not in GROUPS or exists(key), f"{doc}: {key} in `{line}`"
