"""The integrity report from plain values: counts per check, every excluded record with its
reasons, the kept records' lengths as their headers say, and beat data's beats per record."""

from __future__ import annotations

import json

import pandas as pd

from ecgpipe.data import integrity
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.data.validation import CHECKS, Failure, Header


def info(label_kind: str = "multilabel") -> DatasetInfo:
    return DatasetInfo("toy", "data", "task", label_kind, ("A", "B"), 100.0, ("I",), None, None)


def manifest(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(n)],
            "patient_id": [f"p{i // 2}" for i in range(n)],
            "path": [f"rec/r{i}" for i in range(n)],
            "labels": [json.dumps(["A"]), "", json.dumps(["B"]), json.dumps(["A"])][:n],
            "fs": [100.0] * n,
            "n_leads": [1] * n,
            "leads": ["I"] * n,
            "n_samples": [-1] * n,
        }
    )


def test_every_check_is_counted_and_every_excluded_record_listed_with_its_reasons():
    df = manifest()
    failures = [
        [],
        [],
        [Failure("nan", "lead I has NaN"), Failure("flat_lead", "lead I | flat")],
        [Failure("nan", "again")],
    ]
    headers = [Header(100.0, ("I",), 1000), Header(250.0, ("I", "II"), 5000), None, None]
    kept = integrity.as_read(df, headers)[[not f for f in failures]]
    assert kept["n_samples"].tolist() == [1000, 5000] and kept["leads"].tolist() == ["I", "I|II"]
    report = integrity.build_report(df, info(), failures, kept)
    j = report.as_json()
    assert list(j["checks"]) == list(CHECKS) and j["checks"]["nan"] == 2
    assert j["checks"]["flat_lead"] == 1
    assert (j["n_kept"], j["n_excluded"], j["excluded_fraction"]) == (2, 2, 0.5)
    assert j["n_unlabelled"] == 1  # r1: kept, without a label
    assert j["excluded"][0] == {
        "record_id": "r2",
        "patient_id": "p1",
        "path": "rec/r2",
        "checks": ["nan", "flat_lead"],
        "reason": "lead I has NaN; lead I | flat",
    }
    assert j["duration_s"] == {"min": 10.0, "median": 15.0, "max": 20.0}
    assert "beats" not in j
    text = report.as_markdown()
    assert "- excluded: 2 (50.0%)" in text and "| nan | 2 |" in text
    assert "kept records last 10 to 20 s (median 15 s)" in text
    assert "| r2 | rec/r2 | nan, flat_lead | lead I has NaN; lead I \\| flat |" in text


def test_beat_data_reports_each_kept_records_beats_and_their_totals():
    df = manifest(3)
    failures = [[], [], [Failure("annotations", "none")]]
    beats = [{"N": 5, "V": 1}, {"N": 2, "V": 0}, {"N": 9, "V": 9}]
    kept = df[[not f for f in failures]]
    report = integrity.build_report(df, info("beat"), failures, kept, beats)
    assert report.beats == {"r0": {"N": 5, "V": 1}, "r1": {"N": 2, "V": 0}}
    assert report.as_json()["beat_totals"] == {"N": 7, "V": 1}
    assert report.n_unlabelled == 0  # beats are labelled by their annotations
    assert "| all | 7 | 1 |" in report.as_markdown()


def test_nothing_kept_has_no_durations():
    assert integrity.durations(manifest().iloc[:0]) is None
