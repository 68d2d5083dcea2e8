"""Signal units: every record in millivolts, whatever unit its header gives each signal.

A WFDB header gives each signal's unit after its gain (``1000/uV``); a signal line without one is
in millivolts (the WFDB default, and what wfdb reports for it). :func:`to_millivolts` is the one
conversion every reader (through :mod:`ecgpipe.data.wfdb_io`) and ``predict`` use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MISSING_UNIT = "mV"
"""The unit of a signal whose header line names none (wfdb's read default, the WFDB default)."""

MV_PER_UNIT = {"mv": 1.0, "uv": 1e-3, "\u00b5v": 1e-3, "\u03bcv": 1e-3, "v": 1e3}
"""Millivolts in one unit, by the unit's name compared case-insensitively (micro: ``u``, the
micro sign or the Greek mu)."""


class UnitError(ValueError):
    """A signal in a unit that is no voltage ecgpipe knows: the record cannot be used."""


def mv_per_unit(units: Sequence[str | None], leads: Sequence[str | None]) -> np.ndarray:
    """Millivolts per unit of each signal, or a :class:`UnitError` naming each signal (by lead)
    whose unit is unknown. ``None`` is a missing unit (:data:`MISSING_UNIT`)."""
    factors, unknown = [], []
    for i, (unit, lead) in enumerate(zip(units, leads, strict=True)):
        unit = MISSING_UNIT if unit is None else unit
        factor = MV_PER_UNIT.get(unit.strip().casefold())
        if factor is None:
            unknown.append(f"lead {lead or f'(signal {i + 1}, unnamed)'} is in {unit!r}")
            factor = np.nan
        factors.append(factor)
    if unknown:
        raise UnitError(
            f"{'; '.join(unknown)}: not a voltage ecgpipe reads (mV, uV or V; none given: mV)"
        )
    return np.asarray(factors, dtype=np.float64)


def to_millivolts(
    signal: np.ndarray, units: Sequence[str | None], leads: Sequence[str | None]
) -> np.ndarray:
    """A (samples, signals) physical signal in its header's ``units`` (one per signal), in mV.
    Signals already in mV are returned as they are (the same array where all are)."""
    factors = mv_per_unit(units, leads)
    if (factors == 1.0).all():
        return signal
    return (signal * factors).astype(signal.dtype, copy=False)
