"""Every planned defect is listed in defects.json and really present in the files."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgpipe.data.synthetic import DEFECT_KINDS, LEADS, GenerationSummary
from ecgpipe.data.synthetic.defects import plan

Dataset = tuple[Path, GenerationSummary]
FRAME_BYTES = 12 * 2


@pytest.fixture(scope="module")
def report(dataset: Dataset) -> dict:
    return json.loads((dataset[0] / "defects.json").read_text())


def by_kind(report: dict, kind: str) -> list[dict]:
    return [d for d in report["defects"] if d["kind"] == kind]


def run_of(d: dict) -> tuple[int, int, int]:
    """Lead index, first sample and length of the run a signal defect's detail names."""
    m = re.match(r"lead (\w+) samples (\d+)-(\d+)", d["detail"])
    assert m, d["detail"]
    first, last = int(m.group(2)), int(m.group(3))
    return LEADS.index(m.group(1)), first, last - first + 1


def test_report_lists_every_kind_sorted(report: dict, dataset: Dataset) -> None:
    summary = dataset[1]
    assert (report["seed"], report["n_records"]) == (7, 120)
    rows = report["defects"]
    assert {d["kind"] for d in rows} == set(DEFECT_KINDS)
    assert rows == sorted(rows, key=lambda d: (d["ecg_id"], d["filename"]))
    assert all(set(d) == {"ecg_id", "filename", "kind", "detail"} for d in rows)
    # 12 broken records, plus the second row of the duplicated ecg_id
    assert len(rows) == summary.n_defective == 13
    assert len({d["filename"] for d in rows}) == len(rows)


def test_plan_is_deterministic_disjoint_and_cycles_kinds() -> None:
    a = plan(seed=1, n_records=500, rate=0.05, fs=100, n_samples=1000)
    assert a == plan(seed=1, n_records=500, rate=0.05, fs=100, n_samples=1000)
    assert a != plan(seed=2, n_records=500, rate=0.05, fs=100, n_samples=1000)
    assert len(a) == 25
    counts = Counter(d.kind for d in a.values())
    assert set(counts) == set(DEFECT_KINDS) and max(counts.values()) - min(counts.values()) <= 1
    partners = {d.partner for d in a.values() if d.kind == "duplicate_ecg_id"}
    assert not partners & set(a)
    assert plan(seed=1, n_records=500, rate=0.0, fs=100, n_samples=1000) == {}


def test_flat_lead(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "flat_lead"):
        lead = LEADS.index(d["detail"].split()[1])
        x = wfdb.rdrecord(str(root / d["filename"])).p_signal
        assert np.all(x[:, lead] == 0.0)
        assert np.delete(x, lead, axis=1).std(axis=0).min() > 0.02


def test_nan_run(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "nan_run"):
        lead, first, length = run_of(d)
        assert length >= 20  # 0.2 s at 100 Hz
        raw = wfdb.rdrecord(str(root / d["filename"]), physical=False).d_signal
        assert np.all(raw[first : first + length, lead] == -32768)
        x = wfdb.rdrecord(str(root / d["filename"])).p_signal
        assert np.isnan(x[:, lead]).sum() == length
        assert not np.isnan(np.delete(x, lead, axis=1)).any()


def test_saturated_run(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "saturated_run"):
        lead, first, length = run_of(d)
        assert length >= 30  # 0.3 s at 100 Hz
        raw = wfdb.rdrecord(str(root / d["filename"]), physical=False).d_signal
        run = raw[first : first + length, lead]
        assert np.all(run == run[0]) and abs(int(run[0])) == 32767


def test_truncated_dat(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "truncated_dat"):
        header = wfdb.rdheader(str(root / d["filename"]))
        size = (root / f"{d['filename']}.dat").stat().st_size
        expected = header.sig_len * header.n_sig * 2
        assert 0.5 * expected <= size <= 0.9 * expected
        assert f"cut to {size} of {expected} bytes" in d["detail"]


def test_missing_file(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "missing_file"):
        ext = "dat" if d["detail"].endswith(".dat deleted") else "hea"
        other = "hea" if ext == "dat" else "dat"
        assert not (root / f"{d['filename']}.{ext}").exists()
        assert (root / f"{d['filename']}.{other}").exists()


def test_header_signal_count(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "header_signal_count"):
        header = wfdb.rdheader(str(root / d["filename"]))
        assert header.n_sig == 11 and "V6" not in header.sig_name
        size = (root / f"{d['filename']}.dat").stat().st_size
        assert size == header.sig_len * FRAME_BYTES  # the data still holds 12 signals


def test_header_length(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    for d in by_kind(report, "header_length"):
        header = wfdb.rdheader(str(root / d["filename"]))
        held = (root / f"{d['filename']}.dat").stat().st_size // FRAME_BYTES
        assert held == 1000
        assert 0.1 <= abs(header.sig_len - held) / held <= 0.2


def test_unknown_scp_code(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    db = pd.read_csv(root / "ptbxl_database.csv")
    known = set(pd.read_csv(root / "scp_statements.csv", index_col=0).index)
    unknown = {
        f for f, codes in zip(db["filename_lr"], db["scp_codes"], strict=True)
        if set(ast.literal_eval(codes)) - known
    }  # fmt: skip
    assert unknown == {d["filename"] for d in by_kind(report, "unknown_scp_code")}


def test_duplicate_ecg_id(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    db = pd.read_csv(root / "ptbxl_database.csv")
    dup = db[db["ecg_id"].duplicated(keep=False)]
    rows = by_kind(report, "duplicate_ecg_id")
    assert sorted(dup["filename_lr"]) == sorted(d["filename"] for d in rows)
    assert len({d["ecg_id"] for d in rows}) == 1 == dup["ecg_id"].nunique()
    for d in rows:
        assert (root / f"{d['filename']}.hea").exists() and (root / f"{d['filename']}.dat").exists()


def test_only_listed_records_are_broken(report: dict, dataset: Dataset) -> None:
    root, _ = dataset
    listed = {d["filename"] for d in report["defects"]}
    db = pd.read_csv(root / "ptbxl_database.csv")
    healthy = db[~db["filename_lr"].isin(listed)]
    assert healthy["ecg_id"].is_unique
    assert len(healthy) == 120 - len(listed)
    for name in healthy["filename_lr"]:
        size = (root / f"{name}.dat").stat().st_size
        assert size == 1000 * FRAME_BYTES
