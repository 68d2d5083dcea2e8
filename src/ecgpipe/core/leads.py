"""Lead names, matched in one way everywhere: case-insensitively, ignoring surrounding spaces
(``"avr"`` is ``"aVR"``, ``" V1"`` is ``"V1"``)."""

from __future__ import annotations

import re


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
