"""Every test record's (or beat's) probabilities and call, as ``evaluate`` writes them
(``reports/predictions.csv``): what a reader checks record by record, and what a
cross-validation pools (:mod:`ecgpipe.evaluation.crossval`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.core.paths import broken

P_PREFIX = "p_"


def _names(hits: np.ndarray, classes: Sequence[str]) -> list[str]:
    return [";".join(c for c, h in zip(classes, row, strict=True) if h) for row in hits]


def table(
    rows: np.ndarray,
    records: np.ndarray,
    patients: np.ndarray,
    truth: np.ndarray,
    hits: np.ndarray,
    p: np.ndarray,
    classes: Sequence[str],
    *,
    fold: np.ndarray | None = None,
) -> str:
    """CSV: the cache row, record, patient, true and called labels (``;``-joined), and each
    class's probability (``p_<class>``); first each row's ``fold`` where given (pooled
    cross-validation)."""
    frame = pd.DataFrame(
        {
            **({} if fold is None else {"fold": np.asarray(fold, np.int64)}),
            "row": np.asarray(rows, np.int64),
            "record_id": np.asarray(records).astype(str),
            "patient_id": np.asarray(patients).astype(str),
            "label": _names(np.asarray(truth, bool), classes),
            "called": _names(np.asarray(hits, bool), classes),
        }
    )
    for k, name in enumerate(classes):
        frame[f"{P_PREFIX}{name}"] = np.asarray(p, float)[:, k]
    return frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def read(path: Path, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The cache rows and (N, C) probabilities of a predictions file."""
    try:
        frame = pd.read_csv(path, dtype={"record_id": str, "patient_id": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise broken(path, f"unreadable ({err})") from None
    wanted = ["row", *(f"{P_PREFIX}{c}" for c in classes)]
    if missing := [c for c in wanted if c not in frame.columns]:
        raise broken(path, f"lacks the columns {', '.join(missing)}")
    return frame["row"].to_numpy(np.int64), frame[wanted[1:]].to_numpy(float)
