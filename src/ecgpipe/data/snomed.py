"""Labels in WFDB headers, as the PhysioNet/CinC Challenges 2020 and 2021 distribute CPSC 2018,
Georgia, PTB-XL, INCART, Chapman-Shaoxing and Ningbo: header comments ``#Age: 54``,
``#Sex: Female``, ``#Dx: 426783006,164889003`` (SNOMED CT codes).

:func:`table` is the codes the challenges list (``resources/snomed_ct.csv``): the 30 scored
codes with the class each counts as (the challenge scores four pairs as one diagnosis each:
733534002|164909002 LBBB, 713427006|59118001 RBBB, 284470004|63593006 PAC, 427172004|17338001
PVC), and the unscored ones. :func:`class_of` resolves a name in ``data.classes`` (a code or
an abbreviation) to its class; :func:`parse` reads one header's comments, saying what is wrong
with a header that has no ``#Dx``, a code the table does not know, or a malformed line.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ecgpipe.data import plausibility

TABLE = Path(__file__).with_name("resources") / "snomed_ct.csv"
KEYS = ("Age", "Sex", "Dx")
"""The comments read; others (``#Rx``, ``#Hx``, ``#Sx``, free text) are left alone."""


@dataclass(frozen=True)
class Code:
    code: str
    abbreviation: str
    name: str
    scored: bool
    cls: str
    """The class a scored code counts as; empty for an unscored one."""


@cache
def table() -> dict[str, Code]:
    """Every code the challenges list, by code."""
    with TABLE.open(newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {
            r["code"]: Code(r["code"], r["abbreviation"], r["name"], r["scored"] == "1", r["class"])
            for r in rows
        }


def scored_classes() -> tuple[str, ...]:
    """The challenge's scored classes, in the table's order."""
    return tuple(dict.fromkeys(c.cls for c in table().values() if c.scored))


def class_of(name: str) -> str | None:
    """The scored class ``name`` (a code, an abbreviation or a class) stands for; ``None`` if
    it names none."""
    codes = table()
    if name in codes and codes[name].scored:
        return codes[name].cls
    for c in codes.values():
        if c.scored and name in (c.abbreviation, c.cls):
            return c.cls
    return None


@dataclass(frozen=True)
class Header:
    classes: tuple[str, ...]
    """The scored classes of its codes."""
    unscored: tuple[str, ...]
    """Its codes the challenge does not score."""
    age: float | None
    sex: str
    """``M``, ``F`` or empty."""
    error: str
    """Why the header's labels cannot be used; empty when they can."""


def parse(comments: list[str]) -> Header:
    """One header's comment lines (without ``#``)."""
    values: dict[str, str] = {}
    for line in comments:
        key = re.match(r"\s*(\w+)", line)
        if key is None or key.group(1) not in KEYS:
            continue
        name, sep, value = line.partition(":")
        if not sep or name.strip() not in KEYS:
            return _bad(f"malformed line '#{line.strip()}' (expected '#{key.group(1)}: ...')")
        if name.strip() in values:
            return _bad(f"'#{name.strip()}' appears twice")
        values[name.strip()] = value.strip()
    if "Dx" not in values:
        return _bad("no '#Dx:' line with the record's SNOMED CT codes")
    codes = [c.strip() for c in values["Dx"].split(",")]
    if not values["Dx"] or not all(codes):
        return _bad(f"'#Dx: {values['Dx']}' lists no code, or an empty one")
    if bad := [c for c in codes if not c.isdigit()]:
        return _bad(f"'#Dx:' {', '.join(bad)} is not a SNOMED CT code")
    if unknown := [c for c in codes if c not in table()]:
        return _bad(
            f"unknown SNOMED CT code(s) {', '.join(unknown)} (not among the 2020/2021 "
            f"challenge codes in {TABLE.name})"
        )
    age_text, sex_text = values.get("Age", ""), values.get("Sex", "")
    age, age_problem = plausibility.age(age_text, f"'#Age: {age_text}'")
    sex, sex_problem = plausibility.sex(sex_text, f"'#Sex: {sex_text}'")
    if age_problem or sex_problem:
        return _bad(age_problem or sex_problem)
    known = table()
    classes = tuple(dict.fromkeys(known[c].cls for c in codes if known[c].scored))
    unscored = tuple(c for c in codes if not known[c].scored)
    return Header(classes, unscored, age, sex, "")


def _bad(why: str) -> Header:
    return Header((), (), None, "", why)
