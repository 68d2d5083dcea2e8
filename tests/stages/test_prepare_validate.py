"""prepare + validate end to end on a tiny synthetic dataset, checked against its ground truth."""

import json
from pathlib import Path

import pytest

from ecgpipe.cli import main
from ecgpipe.data import manifest

TINY = ("data.n_records=160", "data.defect_rate=0.1", "data.workers=2")

# How each injected defect must show up in the integrity report.
EXPECTED_CHECK = {
    "flat_lead": "flat_lead",
    "nan_run": "nan",
    "saturated_run": "saturated",
    "truncated_dat": "header_data_mismatch",
    "missing_file": "missing_file",
    "header_signal_count": "header_data_mismatch",
    "header_length": "header_data_mismatch",
    "unknown_scp_code": "labels",
    "duplicate_ecg_id": "duplicate_id",
}


def run(project: Path, *args: str) -> int:
    return main(["--root", str(project), *args])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A 160-record synthetic dataset with 10% defects, prepared and validated."""
    from .. import conftest

    project = tmp_path_factory.mktemp("tiny")
    conftest.shutil.copytree(conftest.PROJECT / "conf", project / "conf")
    assert run(project, "compose", *TINY, "validate.max_excluded_fraction=0.2") == 0
    assert run(project, "prepare") == 0
    assert run(project, "validate") == 0
    return project


def test_manifest_describes_every_generated_row(tiny: Path):
    df = manifest.read(tiny / "data/prepared/manifest.csv")
    info = json.loads((tiny / "data/prepared/dataset.json").read_text())
    assert len(df) == 160
    assert info["root"] == "data/prepared/source"
    assert info["name"] == "synthetic"
    assert info["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    assert (df.fs == 100).all() and (df.n_samples == 1000).all()
    assert set(df.fold) <= set(range(1, 11))


def test_validate_finds_every_injected_defect_and_nothing_else(tiny: Path):
    truth = json.loads((tiny / "data/prepared/source/defects.json").read_text())["defects"]
    report = json.loads((tiny / "reports/integrity.json").read_text())
    assert {d["kind"] for d in truth} == set(EXPECTED_CHECK), "every defect kind injected"
    excluded = {(e["record_id"], e["path"]): e for e in report["excluded"]}
    broken = {(str(d["ecg_id"]), d["filename"]): d["kind"] for d in truth}
    for key, kind in broken.items():
        assert key in excluded, f"{kind} in {key} not found"
        assert EXPECTED_CHECK[kind] in excluded[key]["checks"], (kind, excluded[key])
    assert set(excluded) == set(broken), "a healthy record was flagged"
    assert report["n_records"] == 160
    assert report["n_excluded"] == len(broken)
    assert report["n_kept"] == 160 - len(broken)
    assert sum(report["checks"].values()) >= len(broken)


def test_kept_manifest_is_the_healthy_rows(tiny: Path):
    kept = manifest.read(tiny / "data/validated/manifest.csv")
    report = json.loads((tiny / "reports/integrity.json").read_text())
    assert len(kept) == report["n_kept"]
    excluded = {e["path"] for e in report["excluded"]}
    assert not excluded & set(kept.path)
    md = (tiny / "reports/integrity.md").read_text()
    assert f"- excluded: {report['n_excluded']}" in md
    assert all(e["path"] in md for e in report["excluded"])


def test_too_many_exclusions_fail_after_writing_the_report(tiny: Path, caplog):
    assert run(tiny, "compose", *TINY, "validate.max_excluded_fraction=0.05") == 0
    assert run(tiny, "validate") == 1
    assert "more than validate.max_excluded_fraction=0.05" in caplog.text
    assert "reports/integrity.md" in caplog.text
    assert (tiny / "reports/integrity.json").is_file()


def test_a_dataset_with_no_record_left_stops_at_validate(tiny: Path, caplog):
    everything_flat = ("validate.flat_std_mv=100", "validate.max_excluded_fraction=1.0")
    assert run(tiny, "compose", *TINY, *everything_flat) == 0
    assert run(tiny, "validate") == 1
    assert "none of the 160 records passes the integrity checks {" in caplog.text
    assert "'flat_lead': 152" in caplog.text
    assert "nothing to train on" in caplog.text


def test_policy_fail_stops_on_any_failure(tiny: Path, caplog):
    assert run(tiny, "compose", *TINY, "validate.policy=fail") == 0
    assert run(tiny, "validate") == 1
    assert "validate.policy is 'fail'" in caplog.text


def test_real_sample_at_500_hz_reports_missing_files(ptbxl_sample: Path, project: Path, caplog):
    assert (
        run(project, "compose", "data=ptbxl", f"data.root={ptbxl_sample}", "data.sampling_rate=500")
        == 0
    )
    assert run(project, "prepare") == 0
    assert run(project, "validate") == 1  # 96% excluded > 10%: a clear failure, not a traceback
    report = json.loads((project / "reports/integrity.json").read_text())
    assert {c: n for c, n in report["checks"].items() if n} == {"missing_file": 480}
    assert report["n_kept"] == 20
    assert "more than validate.max_excluded_fraction" in caplog.text
    kept = manifest.read(project / "data/validated/manifest.csv")
    assert len(kept) == 20 and all(p.startswith("records500/") for p in kept.path)


def test_real_sample_at_100_hz(ptbxl_sample: Path, project: Path):
    assert run(project, "compose", "data=ptbxl", f"data.root={ptbxl_sample}") == 0
    assert run(project, "prepare") == 0
    assert run(project, "validate") == 0
    report = json.loads((project / "reports/integrity.json").read_text())
    assert report["n_records"] == 500
    assert report["n_excluded"] == 0
    # Records 17, 18, 20, ... carry no superdiagnostic statement: kept, counted, left to split.
    assert report["n_unlabelled"] == 12
