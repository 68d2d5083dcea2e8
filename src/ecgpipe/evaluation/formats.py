"""Shared by the reports: JSON-ready numbers, intervals and Markdown cells."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def num(x: float) -> float | None:
    """A JSON-ready float: NaN becomes ``None``."""
    return None if math.isnan(x) else float(x)


def ci(lo: float, hi: float) -> list[float | None]:
    """An interval as a JSON-ready pair."""
    return [num(lo), num(hi)]


def macro(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the finite values (NaN where there is none)."""
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=-1)
    n = finite.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def md(value: Any) -> str:
    """A table cell: pipes escaped so that the row keeps its columns."""
    return str(value).replace("|", "\\|")


def f3(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def with_ci(x: float | None, interval: Sequence[float | None]) -> str:
    """``0.912 [0.890, 0.931]``; ``n/a`` for an undefined value."""
    if x is None:
        return "n/a"
    lo, hi = interval
    return f3(x) if lo is None or hi is None else f"{x:.3f} [{lo:.3f}, {hi:.3f}]"
