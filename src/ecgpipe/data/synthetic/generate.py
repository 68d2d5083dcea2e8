"""Orchestration: cohort -> defect plan -> records (in parallel) -> PTB-XL tables, atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.core import atomic
from ecgpipe.data.synthetic import defects as dfx
from ecgpipe.data.synthetic.cohort import Cohort, draw_cohort
from ecgpipe.data.synthetic.record import RecordSpec, synthesize
from ecgpipe.data.synthetic.scp import STATEMENTS, statements_csv
from ecgpipe.data.synthetic.wfdb_writer import header_lines, quantise, record_path, write_record

DATABASE_COLUMNS = (
    "ecg_id",
    "patient_id",
    "age",
    "sex",
    "recording_date",
    "report",
    "scp_codes",
    "strat_fold",
    "filename_lr",
    "filename_hr",
)
_CHUNKS_PER_WORKER = 4


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote and how fast."""

    n_records: int
    n_patients: int
    n_defective: int  # rows listed in defects.json
    seconds: float
    records_per_second: float
    workers: int


@dataclass(frozen=True)
class _Job:
    spec: RecordSpec
    path: str  # relative, without extension
    defect: dfx.Defect | None


def _write_records(root: Path, jobs: list[_Job]) -> None:
    """Synthesise, quantise, break (where planned) and write each job's record under ``root``."""
    for job in jobs:
        digital = dfx.corrupt_signal(quantise(synthesize(job.spec)), job.defect)
        lines = header_lines(job.path.rsplit("/", 1)[1], digital, job.spec.fs)
        base = root / job.path
        write_record(base, dfx.corrupt_header(lines, job.defect), digital)
        dfx.corrupt_files(base, job.defect)


def _run(root: Path, jobs: list[_Job], workers: int) -> None:
    if workers == 1:
        _write_records(root, jobs)
        return
    size = max(1, -(-len(jobs) // (workers * _CHUNKS_PER_WORKER)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(_write_records, repeat(root), chunks):
            pass


def _database_csv(cohort: Cohort, defects: dict[int, dfx.Defect]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DATABASE_COLUMNS)
    for r in cohort.records:
        d = defects.get(r.index)
        codes = dfx.row_scp_codes(r.scp_codes, d)
        report = ", ".join(STATEMENTS[c].description for c in codes if c in STATEMENTS)
        writer.writerow(
            (
                dfx.row_ecg_id(r.index, d),
                r.patient_id,
                r.age,
                r.sex,
                r.recording_date,
                report,
                repr(codes),
                r.strat_fold,
                record_path(r.ecg_id, 100),
                record_path(r.ecg_id, 500),
            )
        )
    return buf.getvalue()


def generate(cfg: SyntheticDataConfig, out_dir: Path) -> GenerationSummary:
    """Write a synthetic PTB-XL-layout dataset to ``out_dir`` (replaced atomically).

    Files are byte-identical for the same ``cfg`` whatever ``cfg.workers`` is.
    """
    start = time.perf_counter()
    workers = min(cfg.workers or os.cpu_count() or 1, cfg.n_records)
    cohort = draw_cohort(cfg)
    fs = cfg.sampling_rate
    n_samples = round(cfg.duration_s * fs)
    defects = dfx.plan(cfg.seed, cfg.n_records, cfg.defect_rate, fs, n_samples)
    jobs = [_Job(r.spec, record_path(r.ecg_id, fs), defects.get(r.index)) for r in cohort.records]
    rows = dfx.entries(defects, fs)
    with atomic.directory(out_dir) as tmp:
        for folder in sorted({job.path.rsplit("/", 1)[0] for job in jobs}):
            (tmp / folder).mkdir(parents=True)
        _run(tmp, jobs, workers)
        (tmp / "ptbxl_database.csv").write_text(_database_csv(cohort, defects), encoding="utf-8")
        (tmp / "scp_statements.csv").write_text(statements_csv(), encoding="utf-8")
        report = {"seed": cfg.seed, "n_records": cfg.n_records, "defects": rows}
        (tmp / "defects.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    seconds = time.perf_counter() - start
    return GenerationSummary(
        n_records=cfg.n_records,
        n_patients=cohort.n_patients,
        n_defective=len({row["filename"] for row in rows}),
        seconds=seconds,
        records_per_second=cfg.n_records / seconds,
        workers=workers,
    )
