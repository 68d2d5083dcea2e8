"""The SCP-ECG statements the generator uses, as PTB-XL's ``scp_statements.csv`` describes them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")

HEADER: tuple[str, ...] = (
    "",
    "description",
    "diagnostic",
    "form",
    "rhythm",
    "diagnostic_class",
    "diagnostic_subclass",
    "Statement Category",
    "SCP-ECG Statement Description",
    "AHA code",
    "aECG REFID",
    "CDISC Code",
    "DICOM Code",
)


@dataclass(frozen=True)
class Statement:
    """One row of ``scp_statements.csv`` (the code columns AHA/aECG/CDISC/DICOM stay empty)."""

    code: str
    description: str
    diagnostic: bool
    form: bool
    rhythm: bool
    diagnostic_class: str
    diagnostic_subclass: str
    category: str


_MI = "Myocardial Infarction"
_ST = "Basic roots for coding ST-T changes and abnormalities"
_CD = "Intraventricular and intra-atrial Conduction disturbances"
_RHY = "Statements related to impulse formation (abnormalities)"

STATEMENTS: dict[str, Statement] = {
    s.code: s
    for s in (
        Statement("NORM", "normal ECG", True, False, False, "NORM", "NORM", "Normal/abnormal"),
        Statement("IMI", "inferior myocardial infarction", True, False, False, "MI", "IMI", _MI),
        Statement(
            "ASMI", "anteroseptal myocardial infarction", True, False, False, "MI", "AMI", _MI
        ),
        Statement("AMI", "anterior myocardial infarction", True, False, False, "MI", "AMI", _MI),
        Statement(
            "ILMI", "inferolateral myocardial infarction", True, False, False, "MI", "IMI", _MI
        ),
        Statement("LMI", "lateral myocardial infarction", True, False, False, "MI", "LMI", _MI),
        Statement(
            "NDT",
            "non-diagnostic T abnormalities",
            True,
            True,
            False,
            "STTC",
            "STTC",
            "other ST-T descriptive statements",
        ),
        Statement("NST_", "non-specific ST changes", True, True, False, "STTC", "NST_", _ST),
        Statement("ISC_", "non-specific ischemic", True, False, False, "STTC", "ISC_", _ST),
        Statement(
            "ISCAL",
            "ischemic in anterolateral leads",
            True,
            False,
            False,
            "STTC",
            "ISCA",
            "ischemic ST-T changes",
        ),
        Statement("STD_", "non-specific ST depression", False, True, False, "", "", _ST),
        Statement(
            "LVH",
            "left ventricular hypertrophy",
            True,
            False,
            False,
            "HYP",
            "LVH",
            "Ventricular Hypertrophy",
        ),
        Statement(
            "LAO/LAE",
            "left atrial overload/enlargement",
            True,
            False,
            False,
            "HYP",
            "LAO/LAE",
            "Atrial statements",
        ),
        Statement(
            "CRBBB", "complete right bundle branch block", True, False, False, "CD", "CRBBB", _CD
        ),
        Statement(
            "CLBBB", "complete left bundle branch block", True, False, False, "CD", "CLBBB", _CD
        ),
        Statement(
            "1AVB",
            "first degree AV block",
            True,
            False,
            False,
            "CD",
            "_AVB",
            "Sinus node dysfunction, atrial and AV-conduction defects",
        ),
        Statement(
            "IRBBB", "incomplete right bundle branch block", True, False, False, "CD", "IRBBB", _CD
        ),
        Statement(
            "PVC",
            "ventricular premature complex",
            False,
            True,
            False,
            "",
            "",
            "Statements related to ectopic rhythm abnormalities",
        ),
        Statement("SR", "sinus rhythm", False, False, True, "", "", _RHY),
        Statement("SBRAD", "sinus bradycardia", False, False, True, "", "", _RHY),
        Statement("STACH", "sinus tachycardia", False, False, True, "", "", _RHY),
    )
}


def superclasses(codes: Iterable[str]) -> frozenset[str]:
    """The diagnostic superclasses of a set of SCP codes (unknown codes are ignored)."""
    return frozenset(
        STATEMENTS[c].diagnostic_class
        for c in codes
        if c in STATEMENTS and STATEMENTS[c].diagnostic
    )


def statements_csv() -> str:
    """``scp_statements.csv`` for every statement the generator uses, in PTB-XL's layout."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for s in STATEMENTS.values():
        writer.writerow(
            (
                s.code,
                s.description,
                "1.0" if s.diagnostic else "",
                "1.0" if s.form else "",
                "1.0" if s.rhythm else "",
                s.diagnostic_class,
                s.diagnostic_subclass,
                s.category,
                s.description,
                "",
                "",
                "",
                "",
            )
        )
    return buf.getvalue()
