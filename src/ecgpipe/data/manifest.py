"""The dataset manifest: one row per record, the contract between ``prepare`` and later stages.

A manifest is a CSV (``manifest.csv``) beside a ``dataset.json`` (:class:`DatasetInfo`).
Columns:

- ``record_id``: the dataset's own record id (PTB-XL's ``ecg_id``); validate checks uniqueness.
- ``patient_id``: who the record belongs to (empty when the source lacks it).
- ``path``: the WFDB record, relative to ``DatasetInfo.root``, without extension.
- ``fs``, ``n_leads``, ``leads`` (``|``-joined), ``n_samples``: what the dataset declares; validate
  compares them with the files. A reader that cannot know them without reading the records leaves
  them undeclared (``fs`` 0, ``n_leads`` 0, ``leads`` empty, ``n_samples`` -1); validate writes
  what each kept record's header says into its own manifest, so every later stage knows them.
- ``labels``: a JSON list of class names (multilabel: any number; multiclass: exactly one;
  beat: empty, the beat labels live in the record's annotation file).
- ``label_error``: why the source's labels could not be read (empty when they could).
- ``fold``: the source's own fold (PTB-XL's ``strat_fold``), ``-1`` when it has none.

Any further column says what the source knows of the record or its patient, as text, empty where
unknown: :data:`EXTRA` (age, sex, recording site and device) where a reader finds them, and the
user's own columns of a labels file. ``evaluate.subgroups`` reads them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import STAGE, read_json

COLUMNS = (
    "record_id",
    "patient_id",
    "path",
    "fs",
    "n_leads",
    "leads",
    "n_samples",
    "labels",
    "label_error",
    "fold",
)
DTYPES = {
    "record_id": str,
    "patient_id": str,
    "path": str,
    "fs": float,
    "n_leads": int,
    "leads": str,
    "n_samples": int,
    "labels": str,
    "label_error": str,
    "fold": int,
}
EXTRA = ("age", "sex", "site", "device")
"""The further columns readers add where the dataset gives them (the default subgroups)."""
LabelKind = Literal["multilabel", "multiclass", "beat"]


class ManifestError(PipelineError, ValueError):
    """A manifest or dataset description is missing or malformed."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a prepared dataset is, and what every one of its records should look like."""

    name: str
    root: str
    task: str
    label_kind: LabelKind
    classes: tuple[str, ...]
    fs: float | None
    """The sampling rate every record must have; ``None``: any (preprocess resamples each)."""
    leads: tuple[str, ...]
    """Leads every record must have (others are ignored); empty: those of most records, which
    validate finds out and writes into its own ``dataset.json``."""
    min_duration_s: float | None
    max_duration_s: float | None
    """Record lengths admitted (``None``: no bound); validate excludes records outside."""
    annotator: str | None = None
    """Beat data (``label_kind`` ``beat``): the extension of each record's beat annotations."""

    def resolve_root(self, base: Path) -> Path:
        """The dataset root as a path; a relative root is relative to ``base``."""
        root = Path(self.root)
        return root if root.is_absolute() else base / root

    def write(self, path: Path) -> None:
        atomic.write_json(path, asdict(self))

    @classmethod
    def read(cls, path: Path) -> DatasetInfo:
        """The description ``prepare`` (or ``validate``) wrote, checked: one line naming the file
        and the stage to rerun where it is missing, damaged or of the wrong types."""
        if not Path(path).is_file():
            raise ManifestError(f"{path}: not found; run the prepare stage first")
        raw = read_json(path, (), STAGE, INFO_TYPES)
        for key in ("classes", "leads"):
            if not all(isinstance(v, str) for v in raw[key]):
                raise STAGE.error(path, f"its {key} are not all strings")
        if raw["label_kind"] not in get_args(LabelKind):
            kinds = ", ".join(get_args(LabelKind))
            raise STAGE.error(path, f"its label_kind {raw['label_kind']!r} is not one of {kinds}")
        if not isinstance(raw.get("annotator"), str | None):
            raise STAGE.error(path, "its annotator is not a string")
        if unknown := sorted(set(raw) - {f.name for f in fields(cls)}):
            raise STAGE.error(path, f"not a dataset description (unknown keys: {unknown})")
        return cls(**{**raw, "classes": tuple(raw["classes"]), "leads": tuple(raw["leads"])})


NUMBER_OR_NULL = (int, float, type(None))
INFO_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "root": str,
    "task": str,
    "label_kind": str,
    "classes": list,
    "leads": list,
    "fs": NUMBER_OR_NULL,
    "min_duration_s": NUMBER_OR_NULL,
    "max_duration_s": NUMBER_OR_NULL,
}
"""What each key of a ``dataset.json`` holds (``annotator``, optional: a string or null)."""


def encode_labels(labels: list[str]) -> str:
    return json.dumps(sorted(labels))


def decode_labels(text: str) -> list[str]:
    return json.loads(text) if text else []


def write(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` (columns :data:`COLUMNS` first, then any further ones) atomically as CSV."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{path}: manifest lacks columns {missing}")
    atomic.write_text(path, df.loc[:, _ordered(df)].to_csv(index=False, lineterminator="\n"))


def _ordered(df: pd.DataFrame) -> list[str]:
    return [*COLUMNS, *(c for c in df.columns if c not in COLUMNS)]


def read(path: Path) -> pd.DataFrame:
    """Read a manifest, checking its columns; string columns stay strings (empty, never NaN)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found; run the prepare stage first") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{path}: manifest lacks columns {missing}")
    for col, typ in DTYPES.items():
        if typ is not str:
            try:
                df[col] = df[col].astype(typ)
            except ValueError as err:
                msg = f"{path}: column {col!r} is not {typ.__name__}: {err}"
                raise ManifestError(msg) from None
    return df.loc[:, _ordered(df)]
