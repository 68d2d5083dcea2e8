"""What a header or a labels table may plausibly say of a patient: an age in years and a sex.

A value outside these is a problem with its reason (the record's header or row is refused, and
the integrity report says why), never clipped, guessed or dropped in silence; an unknown value
(empty, ``NaN``, ``Unknown``) is no problem, and stays unknown.
"""

from __future__ import annotations

AGE_YEARS = (0.0, 120.0)
"""The ages a living patient may have, in years."""
UNKNOWN = ("", "nan", "unknown", "none")
"""How headers and tables say a value is not known (compared in lower case)."""
SEXES = {"male": "M", "m": "M", "female": "F", "f": "F"}
"""The words for sex (lower case) and what ecgpipe writes for them."""


def age(text: str, where: str) -> tuple[float | None, str]:
    """``text`` as an age in years (None when unknown) and the problem with it ("" if none);
    ``where`` names it in the problem, e.g. ``'#Age: 610'``."""
    if text.strip().lower() in UNKNOWN:
        return None, ""
    try:
        years = float(text)
    except ValueError:
        return None, f"{where} is not a number"
    low, high = AGE_YEARS
    if not low <= years <= high:
        return None, f"{where} is not a plausible age ({low:g} to {high:g} years)"
    return years, ""


def sex(text: str, where: str) -> tuple[str, str]:
    """``text`` as ``M``, ``F`` or ``""`` (unknown), and the problem with it ("" if none)."""
    word = text.strip().lower()
    if word in UNKNOWN:
        return "", ""
    if word not in SEXES:
        return "", f"{where} is not a sex ecgpipe reads ({', '.join(sorted(SEXES))}, or unknown)"
    return SEXES[word], ""
