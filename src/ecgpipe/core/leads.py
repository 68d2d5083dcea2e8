"""Lead names, matched in one way everywhere: case-insensitively, ignoring surrounding spaces
(``"avr"`` is ``"aVR"``, ``" V1"`` is ``"V1"``)."""

from __future__ import annotations


def lead_key(name: object) -> str:
    """The form lead names are compared in."""
    return str(name).strip().casefold()
