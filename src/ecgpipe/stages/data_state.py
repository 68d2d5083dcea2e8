"""Is the data the DVC stages prepared there, current, and the data a configuration asks for?

A sweep trains on ``data/processed`` and ``data/split`` as ``dvc repro`` left them; it never
re-runs a data stage. :func:`check_current` asks DVC whether those stages are up to date;
:func:`check_matches` compares a configuration's data sections with what ``dvc.lock`` recorded.
Both raise :class:`StaleDataError`, which says what to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ecgpipe.config.schema import Config
from ecgpipe.core.errors import PipelineError
from ecgpipe.tracking import flatten

#: The data stages, in DAG order, and the params.yaml section each one reads.
SECTIONS = {"prepare": "data", "validate": "validate", "preprocess": "preprocess", "split": "split"}
LAST = "split"
FIX = f"run `dvc repro {LAST}` (or `make repro`) first"


class StaleDataError(PipelineError):
    """The prepared data is missing, out of date, or not what the configuration asks for."""


def locked_params(root: Path) -> dict[str, Any]:
    """The data sections as ``dvc.lock`` recorded them for the data stages."""
    lock = root / "dvc.lock"
    if not lock.is_file():
        raise StaleDataError(f"{lock}: not found, so no data has been prepared; {FIX}")
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    out = {}
    for stage, section in SECTIONS.items():
        params = stages.get(stage, {}).get("params", {}).get("params.yaml", {})
        if section not in params:
            raise StaleDataError(f"{lock}: stage {stage} has not run; {FIX}")
        out[section] = params[section]
    return out


def check_matches(cfg: Config, root: Path) -> None:
    """Raise unless ``cfg``'s data sections equal those the prepared data was made with."""
    locked = locked_params(root)
    wanted = cfg.model_dump(by_alias=True, mode="json")
    diffs = []
    if wanted["split"]["strategy"] == "kfold":  # `split` wrote every fold: any is prepared
        locked["split"] = {**locked["split"], "fold": wanted["split"]["fold"]}
    for section, made in locked.items():
        a, b = flatten({section: wanted[section]}), flatten({section: made})
        diffs += [
            f"{k}: {a.get(k)!r} here, {b.get(k)!r} in the data"
            for k in sorted(a.keys() | b.keys())
            if a.get(k) != b.get(k)
        ]
    if diffs:
        raise StaleDataError(
            "this configuration needs other data than `dvc repro` prepared ("
            + "; ".join(diffs)
            + "). Sweeps never re-run data stages: set these in conf/ and run "
            f"`dvc repro {LAST}`, or leave them out of the sweep"
        )


def check_current(root: Path) -> None:
    """Raise unless DVC reports the data stages (and what they depend on) up to date."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            status = repo.status(targets=[f"{root / 'dvc.yaml'}:{LAST}"], with_deps=True)
    except DvcException as err:
        raise StaleDataError(f"{root}: cannot ask DVC about the data: {err}; {FIX}") from None
    if status:
        changed = ", ".join(f"{stage} ({_describe(changes)})" for stage, changes in status.items())
        raise StaleDataError(f"the prepared data is not up to date: {changed}; {FIX}")


def _describe(changes: list) -> str:
    """DVC's status entry for a stage -> ``changed deps: src/...; changed outs: data/split``."""
    parts = []
    for change in changes:
        if isinstance(change, dict):
            parts += [f"{kind}: {', '.join(map(str, what))}" for kind, what in change.items()]
        else:
            parts.append(str(change))
    return "; ".join(parts)
