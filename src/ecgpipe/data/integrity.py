"""The integrity report ``validate`` writes (``reports/integrity.json`` and ``.md``): every
record checked (:mod:`ecgpipe.data.validation`), what each check excluded and why, how long the
kept records are, and for beat data each kept record's beats per AAMI class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgpipe.data.manifest import DatasetInfo, decode_labels
from ecgpipe.data.validation import CHECKS, Failure, Header


@dataclass(frozen=True)
class Report:
    dataset: str
    n_records: int
    excluded: list[dict]
    checks: dict[str, int]
    n_unlabelled: int
    """Kept records with no label for the task (not a defect; split leaves them out)."""
    duration_s: dict[str, float] | None
    """Shortest, median and longest kept record."""
    beats: dict[str, dict[str, int]] | None = None
    """Beat data: per kept record, its beats per AAMI class and its non-beat annotations."""

    @property
    def n_excluded(self) -> int:
        return len(self.excluded)

    def as_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "n_records": self.n_records,
            "n_kept": self.n_records - self.n_excluded,
            "n_excluded": self.n_excluded,
            "excluded_fraction": round(self.n_excluded / max(self.n_records, 1), 6),
            "n_unlabelled": self.n_unlabelled,
            "duration_s": self.duration_s,
            "checks": self.checks,
            "excluded": self.excluded,
            **({"beats": self.beats, "beat_totals": beat_totals(self.beats)} if self.beats else {}),
        }

    def as_markdown(self) -> str:
        j = self.as_json()
        lines = [
            f"# Integrity report: {self.dataset}",
            "",
            f"- records: {j['n_records']}",
            f"- kept: {j['n_kept']}",
            f"- excluded: {j['n_excluded']} ({100 * j['excluded_fraction']:.1f}%)",
            f"- kept but without a label for the task (left out by split): {j['n_unlabelled']}",
            *(
                [f"- kept records last {d['min']:g} to {d['max']:g} s (median {d['median']:g} s)"]
                if (d := self.duration_s)
                else []
            ),
            "",
            "| check | failures |",
            "| --- | ---: |",
            *(f"| {name} | {count} |" for name, count in self.checks.items()),
            "",
        ]
        if self.beats:
            names = list(beat_totals(self.beats))
            lines += [
                "## Beats per kept record (AAMI EC57 classes; non-beat annotations skipped)",
                "",
                "| record | " + " | ".join(names) + " |",
                "| --- |" + " ---: |" * len(names),
                *(
                    f"| {record} | " + " | ".join(str(c[n]) for n in names) + " |"
                    for record, c in [*self.beats.items(), ("all", beat_totals(self.beats))]
                ),
                "",
            ]
        if self.excluded:
            lines += [
                "## Excluded records",
                "",
                "| id | path | checks | reason |",
                "| --- | --- | --- | --- |",
            ]
            for e in self.excluded:
                reason = e["reason"].replace("|", "\\|")
                lines.append(
                    f"| {e['record_id']} | {e['path']} | {', '.join(e['checks'])} | {reason} |"
                )
            lines.append("")
        return "\n".join(lines)


def as_read(df: pd.DataFrame, headers: list[Header | None]) -> pd.DataFrame:
    """The manifest with each readable record's rate, leads and length as its header says."""
    facts = {
        "fs": lambda h: h.fs,
        "n_leads": lambda h: len(h.leads),
        "leads": lambda h: "|".join(h.leads),
        "n_samples": lambda h: h.n_samples,
    }
    out = df.copy()
    for column, fact in facts.items():
        out[column] = [
            v if h is None else fact(h) for h, v in zip(headers, df[column], strict=True)
        ]
    return out


def durations(kept: pd.DataFrame) -> dict[str, float] | None:
    """Shortest, median and longest kept record, in seconds."""
    if kept.empty:
        return None
    seconds = kept["n_samples"].to_numpy(float) / kept["fs"].to_numpy(float)
    lo, mid, hi = np.percentile(seconds, [0, 50, 100])
    return {"min": round(float(lo), 3), "median": round(float(mid), 3), "max": round(float(hi), 3)}


def beat_totals(per_record: dict[str, dict[str, int]]) -> dict[str, int]:
    """Every record's beats per class, added up."""
    totals: dict[str, int] = {}
    for counts in per_record.values():
        for name, n in counts.items():
            totals[name] = totals.get(name, 0) + n
    return totals


def build_report(
    df: pd.DataFrame,
    info: DatasetInfo,
    failures: list[list[Failure]],
    kept: pd.DataFrame,
    beats: list[dict[str, int] | None] | None = None,
) -> Report:
    """The report of manifest ``df`` whose records failed ``failures`` (a list per row), of
    which ``kept`` passed; ``beats``: per row, its beats per AAMI class
    (:func:`ecgpipe.processing.beats.counts`), None where it has no annotations."""
    counts = dict.fromkeys(CHECKS, 0)
    excluded = []
    for row, fails in zip(df.itertuples(index=False), failures, strict=True):
        if not fails:
            continue
        names = list(dict.fromkeys(f.check for f in fails))
        for name in names:
            counts[name] += 1
        excluded.append(
            {
                "record_id": row.record_id,
                "patient_id": row.patient_id,
                "path": row.path,
                "checks": names,
                "reason": "; ".join(f.reason for f in fails),
            }
        )
    unlabelled = sum(
        not fails and not decode_labels(labels)
        for labels, fails in zip(df["labels"], failures, strict=True)
    )
    per_record = None
    if info.label_kind == "beat" and beats is not None:
        per_record = {
            row.record_id: b
            for row, b, fails in zip(df.itertuples(index=False), beats, failures, strict=True)
            if b is not None and not fails
        }
    return Report(
        info.name,
        len(df),
        excluded,
        counts,
        unlabelled if info.label_kind != "beat" else 0,
        durations(kept),
        per_record,
    )
