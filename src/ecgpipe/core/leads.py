"""Lead names, matched in one way everywhere: case-insensitively, ignoring surrounding spaces
(``"avr"`` is ``"aVR"``, ``" V1"`` is ``"V1"``)."""

from __future__ import annotations

import re
from collections.abc import Sequence


def lead_key(name: object) -> str:
    """The form lead names are compared in."""
    return str(name).strip().casefold()


KNOWN_LEAD = re.compile(
    r"""(?:(?:ecg|lead)[ _-]?)?      # an optional 'ECG ' or 'lead ' before the name
    (?: i{1,3} | -?av[rlf]            # limb leads: I, II, III, aVR, aVL, aVF (-aVR)
      | d(?:i{1,3}|[1-3])             # limb leads, as DI-DIII or D1-D3
      | v[1-9]r? | v                  # chest leads V1-V9, right-sided V3R-V9R, an unnumbered V
      | [xyz] | v[xyz]                # Frank orthogonal leads (PTB's vx, vy, vz)
      | ml(?:i{1,3}|[1-9])            # modified limb leads of ambulatory records (MIT-BIH's MLII)
      | mv[1-9] | cm[1-9] | cc[1-9]   # modified chest leads (MV2, CM5, CC5)
    )
    | ecg\d*                          # a single ECG signal: ECG, ECG1, ECG2
    """,
    re.VERBOSE,
)
"""The lead names ecgpipe knows, matched on :func:`lead_key`: a signal named otherwise is no ECG
lead ecgpipe can use, and its record is excluded."""


def is_known_lead(name: str) -> bool:
    """Whether ``name`` is a lead :data:`KNOWN_LEAD` knows (in any case, spaces around)."""
    return KNOWN_LEAD.fullmatch(lead_key(name)) is not None


class MissingLeadError(KeyError, ValueError):
    """Wanted leads are not among the names given; catchable as ``KeyError`` or ``ValueError``.
    ``missing`` names them."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


def positions(names: Sequence[str], wanted: Sequence[str]) -> tuple[int, ...]:
    """Where each lead of ``wanted`` is among ``names``, in ``wanted``'s order, matched by
    :func:`lead_key`: the one way a lead order is mapped by name (a record's leads onto a model's
    in ``predict`` and preprocessing, a data set's onto a trained network's in fine-tuning).

    Raises:
        MissingLeadError: leads of ``wanted`` absent from ``names`` (all of them named, with the
            leads there are).
        ValueError: ``names`` or ``wanted`` repeats a lead, or ``wanted`` is empty.
    """
    if isinstance(names, str) or isinstance(wanted, str):
        raise ValueError("names and wanted must be sequences of lead names, not one string")
    names, wanted = list(names), list(wanted)
    if not wanted:
        raise ValueError("at least one lead must be wanted")
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        key = lead_key(name)
        if key in index:
            raise ValueError(f"lead name {name!r} appears twice (case-insensitively) in {names!r}")
        index[key] = i
    if len({lead_key(lead) for lead in wanted}) < len(wanted):
        twice = next(w for i, w in enumerate(wanted) if lead_key(w) in map(lead_key, wanted[:i]))
        raise ValueError(f"wanted lists lead {twice!r} twice: {wanted!r}")
    if missing := tuple(str(w) for w in wanted if lead_key(w) not in index):
        which = ", ".join(map(repr, missing))
        raise MissingLeadError(
            f"lead{'s' if len(missing) > 1 else ''} {which} not in the record; available "
            f"leads: {', '.join(map(str, names))}",
            missing,
        )
    return tuple(index[lead_key(w)] for w in wanted)
