"""Where each stage reads and writes, relative to the project root (as named in dvc.yaml).

``train`` and ``evaluate`` write under ``out`` (the root by default, as in dvc.yaml); a sweep job
gives its own directory there, so it trains on the DAG's data without touching the DAG's outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecgpipe.core.errors import PipelineError


@dataclass(frozen=True)
class Paths:
    root: Path
    out: Path | None = None
    dataset: str = "data/prepared"
    """Where ``prepare`` writes the dataset, relative to the root (an external set: elsewhere)."""
    fold: int | None = None
    """``split.strategy=kfold``: the fold whose split to train and test on (a sweep job's);
    ``None``: the one ``split`` wrote for ``split.fold``."""

    def under_root(self, path: str | Path) -> Path:
        """``path`` as configured: absolute, or relative to the project root."""
        path = Path(path)
        return path if path.is_absolute() else self.root / path

    @property
    def results(self) -> Path:
        """Where ``train`` and ``evaluate`` write: ``out``, else the root."""
        return self.out or self.root

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def prepared(self) -> Path:
        """prepare's output: ``manifest.csv``, ``dataset.json`` and, if generated, ``source/``."""
        return self.root / self.dataset

    @property
    def validated(self) -> Path:
        """validate's output: the manifest of kept records and ``dataset.json``."""
        return self.root / "data" / "validated"

    @property
    def processed(self) -> Path:
        """preprocess's output: the memory-mapped cache (see :mod:`ecgpipe.processing.cache`)."""
        return self.root / "data" / "processed"

    @property
    def split(self) -> Path:
        """split's output: ``train.npy``, ``val.npy``, ``test.npy`` row indices (of every fold
        under ``folds/<fold>/`` too, for ``split.strategy=kfold``)."""
        split = self.root / "data" / "split"
        return split if self.fold is None else split / "folds" / str(self.fold)

    @property
    def models(self) -> Path:
        """train's output (:class:`ModelDir` names its files)."""
        return self.results / "models"

    @property
    def model(self) -> ModelDir:
        return ModelDir(self.models)

    @property
    def checkpoints(self) -> Path:
        """train's checkpoints while it runs (``last.ckpt`` to resume from, ``best.ckpt``) and
        the run they belong to (``run.json``); removed when the training ends."""
        return self.results / "checkpoints"

    @property
    def metrics(self) -> Path:
        return self.results / "metrics"

    def headline(self, name: str) -> Path:
        """A stage's headline figures, its DVC metrics (see :mod:`ecgpipe.evaluation.headline`):
        ``integrity`` (validate) and ``split`` under the root's ``metrics/``, ``test``
        (evaluate) and ``external_NAME`` under ``out``'s."""
        data = name in ("integrity", "split")
        return (self.root / "metrics" if data else self.metrics) / f"{name}.json"

    @property
    def plots(self) -> Path:
        return self.results / "plots"

    @property
    def reports(self) -> Path:
        """validate's and split's reports."""
        return self.root / "reports"

    @property
    def eval_reports(self) -> Path:
        """evaluate's report and figures."""
        return self.results / "reports"

    def external(self, name: str) -> Path:
        """The external set ``name`` as its reader prepared it (manifest, generated records)."""
        return self.root / "data" / "external" / name

    def external_reports(self, name: str) -> Path:
        """The external set's report, per-patient table and per-record scores."""
        return self.eval_reports / "external" / name

    def external_metrics(self, name: str) -> Path:
        return self.metrics / "external" / f"{name}.json"


@dataclass(frozen=True)
class ModelDir:
    """A model folder as ``train`` writes it (``models/``, or a temporary one it fills): each
    file by name, and the labelling rule read back through :meth:`decision`."""

    path: Path

    @property
    def run(self) -> Path:
        """The MLflow run (``run_id``, ``experiment_id``)."""
        return self.path / "run.json"

    @property
    def checkpoint(self) -> Path:
        """A network's best checkpoint."""
        return self.path / "best.ckpt"

    @property
    def estimator(self) -> Path:
        """A classical model's fitted scikit-learn estimator."""
        return self.path / "estimator.joblib"

    @property
    def rhythm(self) -> Path:
        """``train.rhythm``'s trees on whole-record rhythm features."""
        return self.path / "rhythm.joblib"

    @property
    def normalization(self) -> Path:
        return self.path / "normalization.json"

    @property
    def thresholds(self) -> Path:
        """Multilabel: per class, the threshold tuned on validation (null: none)."""
        return self.path / "thresholds.json"

    @property
    def factors(self) -> Path:
        """Single-label: the argmax rule and its class factors."""
        return self.path / "decision.json"

    @property
    def conformal(self) -> Path:
        """The split-conformal quantiles of the served model's prediction sets."""
        return self.path / "conformal.json"

    def decision_file(self, multilabel: bool) -> Path:
        return self.thresholds if multilabel else self.factors

    def run_id(self) -> str:
        return read_json(self.run, types={"run_id": str})["run_id"]

    def decision(self, classes: list[str] | tuple[str, ...], multilabel: bool) -> np.ndarray:
        """The per-class thresholds (NaN: none) or argmax factors, in ``classes``' order."""
        file = self.decision_file(multilabel)
        raw = read_json(file)
        values = raw if multilabel else raw.get("factors") if isinstance(raw, dict) else None
        if not isinstance(values, dict) or (missing := [c for c in classes if c not in values]):
            raise broken(file, f"lacks the classes {list(classes) if values is None else missing}")
        for c in classes:  # a number (thresholds: or null, none tuned), never a string or a list
            value = values[c]
            if (value is None and not multilabel) or not isinstance(
                value, (int, float, type(None))
            ):
                raise broken(file, f"its {c} is a {_kind(value)}, not a number")
            if isinstance(value, bool):
                raise broken(file, f"its {c} is a boolean, not a number")
        return np.array([np.nan if values[c] is None else values[c] for c in classes], float)

    def rule(self) -> str:
        """Single-label: ``argmax``, or ``prior_corrected`` (the training prior undone)."""
        return read_json(self.factors, ("rule",))["rule"]


MADE_BY = {
    "prepared": "prepare",
    "validated": "validate",
    "processed": "preprocess",
    "split": "split",
    "models": "train",
}
"""The stage that writes each output folder (as named in dvc.yaml)."""


def rebuild_hint(path: Path) -> str:
    """How to rebuild the stage output at ``path``: the ``dvc repro`` of the stage that writes
    the folder it lies in."""
    stage = next((MADE_BY[p] for p in reversed(Path(path).parts) if p in MADE_BY), None)
    return f"run `dvc repro {stage}` to rebuild it" if stage else "rebuild it"


class BrokenOutputError(PipelineError):
    """A file ecgpipe reads back (a stage's output, an interrupted training's state, a file a
    setting names) is missing, truncated or corrupt."""


@dataclass(frozen=True)
class Origin:
    """Who made a file ecgpipe reads, which decides what its damage tells the user to do: an
    earlier stage (run it again: :data:`STAGE`), an interrupted run (start afresh), or the user
    (``key``, the setting that names the file: check it)."""

    hint: str | None = None
    """What to do; None: the ``dvc repro`` of the stage that writes the file's folder."""
    key: str | None = None
    """The setting that named the file, where the user gave it (``train.init_from``)."""

    def error(self, path: Path, why: str) -> BrokenOutputError:
        """One line: the file (as the setting named it), what is wrong, what to do."""
        where = f"{self.key}={path}" if self.key else f"{path}"
        return BrokenOutputError(f"{where}: {why}; {self.hint or rebuild_hint(path)}")


STAGE = Origin()
"""A stage's output, read by a later stage."""


def broken(path: Path, why: str, origin: Origin = STAGE) -> BrokenOutputError:
    """The error for a file at ``path`` that cannot be used, with what to do (for a stage's
    output: how to rebuild it)."""
    return origin.error(path, why)


def read_json(
    path: Path,
    keys: tuple[str, ...] = (),
    origin: Origin = STAGE,
    types: dict[str, type | tuple[type, ...]] | None = None,
) -> Any:
    """A JSON file ecgpipe wrote (a mapping holding ``keys``, those in ``types`` of those
    types), or a :class:`BrokenOutputError` naming it and what to do (see :class:`Origin`):
    the one way ecgpipe reads its JSON state back."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise origin.error(path, "missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise origin.error(path, f"not valid JSON, truncated or damaged ({err})") from None
    keys = (*keys, *(k for k in types or {} if k not in keys))
    if keys and not isinstance(raw, dict):
        raise origin.error(path, f"holds a {_kind(raw)}, not a mapping")
    if missing := [k for k in keys if k not in raw]:
        raise origin.error(path, f"lacks {', '.join(missing)}")
    for key, kind in (types or {}).items():
        kinds, value = kind if isinstance(kind, tuple) else (kind,), raw[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            want = " or ".join(dict.fromkeys(_kind(k) for k in kinds))
            raise origin.error(path, f"its {key} is a {_kind(value)}, not a {want}")
    return raw


def _kind(value: Any) -> str:
    """A JSON value's kind in JSON's words (a type, or an instance's)."""
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}
    t = value if isinstance(value, type) else type(value)
    return names.get(t, "number" if t in (int, float) else t.__name__)


def load_npy(path: Path, **kwargs: Any) -> np.ndarray:
    """A NumPy stage output (``np.load`` with ``kwargs``), or a :class:`BrokenOutputError`."""
    try:
        return np.load(path, **kwargs)
    except FileNotFoundError:
        raise broken(path, "missing") from None
    except (ValueError, OSError, EOFError) as err:
        raise broken(path, f"not a readable .npy array ({err})") from None
