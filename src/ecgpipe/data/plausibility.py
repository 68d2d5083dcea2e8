"""What a header or a labels table may plausibly say: a patient's age in years and sex, a
recording's sampling rate, and the scale of its values.

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
SAMPLING_RATE_HZ = (50.0, 20_000.0)
"""The rates an ECG is recorded at (below 50 Hz a QRS complex is lost)."""
UNIT_SLIP = 1000.0
"""The factor by which a wrong gain or unit (uV written as mV) scales every value."""


def sampling_rate(fs: float) -> str:
    """The problem with a header's rate ``fs`` in Hz ("" if none)."""
    low, high = SAMPLING_RATE_HZ
    if low <= fs <= high:
        return ""
    return f"header says {fs:g} Hz, not a rate an ECG is recorded at ({low:g} to {high:g} Hz)"


def slipped(std_mv: float, peak_mv: float, flat_std_mv: float, peak_limit_mv: float) -> str:
    """A hint for a lead too flat (std below ``flat_std_mv``) or too large (peak above
    ``peak_limit_mv``) that :data:`UNIT_SLIP` times larger or smaller would be an ordinary ECG:
    the header's gain or unit is the likely cause ("" otherwise)."""
    if std_mv <= 0:
        return ""
    if std_mv < flat_std_mv:
        factor, how = UNIT_SLIP, "larger"
    elif peak_mv > peak_limit_mv:
        factor, how = 1 / UNIT_SLIP, "smaller"
    else:
        return ""
    if std_mv * factor < flat_std_mv or peak_mv * factor > peak_limit_mv:
        return ""
    return (
        f"; {UNIT_SLIP:g} times {how} it would be an ordinary ECG: is the header's gain (ADC "
        f"units per mV) or unit {UNIT_SLIP:g} times off?"
    )


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
