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
from dataclasses import replace

from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Paths
from ecgpipe.data import integrity, manifest
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.data.validation import Thresholds, run_checks
from ecgpipe.evaluation import headline
from ecgpipe.processing import beats

log = logging.getLogger("ecgpipe")


class ValidationFailed(PipelineError):
    """The dataset did not pass validation under the configured policy."""


def run(cfg: Config, paths: Paths) -> integrity.Report:
    vcfg = cfg.validate_
    info = DatasetInfo.read(paths.prepared / "dataset.json")
    df = manifest.read(paths.prepared / "manifest.csv")
    thresholds = Thresholds(vcfg.flat_std_mv, vcfg.saturation_min_s, vcfg.amplitude_limit_mv)
    checked = run_checks(df, info, info.resolve_root(paths.root), thresholds, vcfg.workers)
    failures = checked.failures
    kept = integrity.as_read(df, checked.headers)[[not f for f in failures]]
    counted = [None if s is None else beats.counts(s) for s in checked.symbols]
    report = integrity.build_report(df, info, failures, kept, counted)

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
        f"; beats of the kept records: {integrity.beat_totals(report.beats)}"
        if report.beats
        else "",
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
