"""Stage ``validate``: check every prepared record, report, and pass on the kept ones.

Writes ``reports/integrity.json`` (its headline counts, the DVC metrics, in
``metrics/integrity.json``), ``reports/integrity.md`` and
``data/validated/`` (the kept records' manifest and ``dataset.json``). Under policy ``exclude`` a
failing record is excluded and reported; under ``fail`` any failure stops the stage. Either way the
stage fails when the excluded share exceeds ``validate.max_excluded_fraction``, after writing the
reports so that the user can read why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Paths
from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo, decode_labels
from ecgpipe.data.validation import CHECKS, Failure, Header, Thresholds, run_checks
from ecgpipe.evaluation import headline
from ecgpipe.processing import beats

log = logging.getLogger("ecgpipe")


class ValidationFailed(PipelineError):
    """The dataset did not pass validation under the configured policy."""


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


def beat_counts(symbols: dict[str, int]) -> dict[str, int]:
    """Annotation symbol counts -> beats per AAMI class, and the non-beat annotations."""
    out = dict.fromkeys((*beats.AAMI_CLASSES, "non_beat"), 0)
    for symbol, n in symbols.items():
        out[beats.AAMI.get(symbol, "non_beat")] += n
    return out


def beat_totals(per_record: dict[str, dict[str, int]]) -> dict[str, int]:
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
    symbols: list[dict[str, int] | None] | None = None,
) -> Report:
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
    if info.label_kind == "beat" and symbols is not None:
        per_record = {
            row.record_id: beat_counts(s)
            for row, s, fails in zip(df.itertuples(index=False), symbols, failures, strict=True)
            if s is not None and not fails
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


def run(cfg: Config, paths: Paths) -> Report:
    vcfg = cfg.validate_
    info = DatasetInfo.read(paths.prepared / "dataset.json")
    df = manifest.read(paths.prepared / "manifest.csv")
    thresholds = Thresholds(vcfg.flat_std_mv, vcfg.saturation_min_s, vcfg.amplitude_limit_mv)
    checked = run_checks(df, info, info.resolve_root(paths.root), thresholds, vcfg.workers)
    failures = checked.failures
    kept = as_read(df, checked.headers)[[not f for f in failures]]
    report = build_report(df, info, failures, kept, checked.symbols)

    atomic.write_json(paths.reports / "integrity.json", report.as_json())
    atomic.write_json(paths.headline("integrity"), headline.integrity(report.as_json()))
    atomic.write_text(paths.reports / "integrity.md", report.as_markdown())
    if kept.empty:
        reasons = {k: v for k, v in report.checks.items() if v}
        raise ValidationFailed(
            f"none of the {report.n_records} records passes the integrity checks {reasons}, "
            f"so there is nothing to train on; see {paths.reports / 'integrity.md'}"
        )
    with atomic.directory(paths.validated) as out:
        manifest.write(kept, out / "manifest.csv")
        replace(info, leads=checked.leads).write(out / "dataset.json")

    failing = {k: v for k, v in report.checks.items() if v}
    log.info(
        "validate: %d records, %d kept, %d excluded %s%s",
        report.n_records,
        report.n_records - report.n_excluded,
        report.n_excluded,
        failing or "",
        f"; beats of the kept records: {beat_totals(report.beats)}" if report.beats else "",
    )
    share = report.n_excluded / max(report.n_records, 1)
    where = paths.reports.relative_to(paths.root) / "integrity.md"
    if vcfg.policy == "fail" and report.n_excluded:
        raise ValidationFailed(
            f"{report.n_excluded} of {report.n_records} records fail integrity checks "
            f"{failing} and validate.policy is 'fail'; see {where}"
        )
    if share > vcfg.max_excluded_fraction:
        raise ValidationFailed(
            f"{report.n_excluded} of {report.n_records} records ({100 * share:.1f}%) fail "
            f"integrity checks {failing}, more than validate.max_excluded_fraction="
            f"{vcfg.max_excluded_fraction:g}; see {where}"
        )
    return report
