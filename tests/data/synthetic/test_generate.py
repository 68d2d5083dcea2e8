"""The written dataset: PTB-XL's layout, clean healthy records, determinism, atomicity."""

from __future__ import annotations

import ast
import importlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.data.synthetic import LEADS, GenerationSummary, generate
from tests.conftest import conf

generate_module = importlib.import_module("ecgpipe.data.synthetic.generate")

Dataset = tuple[Path, GenerationSummary]


def healthy(root: Path) -> list[str]:
    broken = {d["filename"] for d in json.loads((root / "defects.json").read_text())["defects"]}
    db = pd.read_csv(root / "ptbxl_database.csv")
    return [f for f in db["filename_lr"] if f not in broken]


def read(path: Path) -> wfdb.Record:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return wfdb.rdrecord(str(path))


def longest_run(mask: np.ndarray) -> int:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return int(np.max(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1), initial=0))


def test_database_csv_has_ptbxl_layout(dataset: Dataset) -> None:
    root, summary = dataset
    db = pd.read_csv(root / "ptbxl_database.csv")
    assert db.columns[0] == "ecg_id"
    expected = ["patient_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr", "filename_hr"]
    assert set(expected) <= set(db.columns)
    assert len(db) == summary.n_records == 120
    assert db["patient_id"].nunique() == summary.n_patients
    assert set(db["sex"]) <= {0, 1} and db["age"].dtype == np.int64
    assert db["strat_fold"].between(1, 10).all()
    for i, row in enumerate(db.itertuples(), start=1):
        assert row.filename_lr == f"records100/{i // 1000 * 1000:05d}/{i:05d}_lr"
        assert row.filename_hr == f"records500/{i // 1000 * 1000:05d}/{i:05d}_hr"
        assert isinstance(ast.literal_eval(row.scp_codes), dict)
    assert db.loc[0, "filename_lr"] == "records100/00000/00001_lr"
    assert not (root / "records500").exists()
    raw = (root / "ptbxl_database.csv").read_text().splitlines()[1]
    assert re.search(r""","\{'[A-Z0-9_/]+': \d+\.0(, '[A-Z0-9_/]+': \d+\.0)*\}",""", raw)


def test_scp_statements_csv(dataset: Dataset) -> None:
    root, _ = dataset
    header = (root / "scp_statements.csv").read_text().splitlines()[0]
    assert header == (
        ",description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass,"
        "Statement Category,SCP-ECG Statement Description,AHA code,aECG REFID,CDISC Code,"
        "DICOM Code"
    )
    scp = pd.read_csv(root / "scp_statements.csv", index_col=0)
    assert scp.loc["NORM", "diagnostic"] == 1.0 and scp.loc["NORM", "diagnostic_class"] == "NORM"
    assert scp.loc["ASMI", "diagnostic_subclass"] == "AMI"
    assert scp.loc["NDT", "form"] == 1.0 and scp.loc["NDT", "diagnostic"] == 1.0
    assert np.isnan(scp.loc["STD_", "diagnostic"]) and scp.loc["STD_", "form"] == 1.0
    assert scp.loc["1AVB", "diagnostic_subclass"] == "_AVB"
    assert np.isnan(scp.loc["SR", "diagnostic"]) and scp.loc["SR", "rhythm"] == 1.0
    assert set(scp.loc[scp["diagnostic"] == 1.0, "diagnostic_class"]) == {
        "NORM", "MI", "STTC", "CD", "HYP"
    }  # fmt: skip


def test_headers_are_exactly_ptbxl_style(dataset: Dataset) -> None:
    root, _ = dataset
    name = healthy(root)[0]
    stem = name.rsplit("/", 1)[1]
    lines = (root / f"{name}.hea").read_text().splitlines()
    assert lines[0] == f"{stem} 12 100 1000"
    pattern = re.compile(rf"{stem}\.dat 16 1000\.0\(0\)/mV 16 0 (-?\d+) (\d+) 0 (\w+)")
    assert [pattern.fullmatch(line).group(3) for line in lines[1:]] == list(LEADS)
    h = wfdb.rdheader(str(root / name))
    assert (h.n_sig, h.fs, h.sig_len) == (12, 100, 1000)
    assert h.units == ["mV"] * 12 and h.fmt == ["16"] * 12
    assert h.adc_gain == [1000.0] * 12 and h.baseline == [0] * 12


def test_healthy_records_pass_integrity_checks(dataset: Dataset) -> None:
    root, _ = dataset
    for name in healthy(root):
        r = read(root / name)
        x = r.p_signal
        assert r.sig_name == list(LEADS) and r.fs == 100 and x.shape == (1000, 12)
        assert not np.isnan(x).any()
        assert x.std(axis=0).min() >= 0.02
        assert np.abs(x - np.median(x, axis=0)).max() < 10.0
        for j in range(12):
            for extreme in (x[:, j].max(), x[:, j].min()):
                assert longest_run(x[:, j] == extreme) < 10  # 0.1 s
        d = wfdb.rdrecord(str(root / name), physical=False).d_signal
        assert r.init_value == d[0].tolist()
        assert r.checksum == (d.sum(axis=0) % 65536).tolist()


def test_limb_lead_identities_survive_quantisation(dataset: Dataset) -> None:
    root, _ = dataset
    x = read(root / healthy(root)[3]).p_signal.T
    i, ii, iii, avr, avl, avf = x[:6]
    tol = 0.002
    assert np.abs(iii - (ii - i)).max() <= tol
    assert np.abs(avr + (i + ii) / 2).max() <= tol
    assert np.abs(avl - (i - ii / 2)).max() <= tol
    assert np.abs(avf - (ii - i / 2)).max() <= tol


def test_realistic_amplitudes_and_baseline(dataset: Dataset) -> None:
    root, _ = dataset
    p2p, wander = [], []
    for name in healthy(root)[:40]:
        x = read(root / name).p_signal
        p2p.append(np.percentile(x, 99.5, axis=0) - np.percentile(x, 0.5, axis=0))
        wander.append(np.ptp(np.convolve(x[:, 1], np.ones(50) / 50, "valid")))  # 0.5 s mean
    median = np.median(p2p, axis=0)
    assert 0.6 < median[1] < 2.5 and 1.0 < median[7] < 3.5  # II, V2
    assert 0.02 < np.median(wander) < 0.6


def test_same_config_gives_identical_files_whatever_the_workers(
    dataset: Dataset, dataset_serial: Dataset
) -> None:
    (a, sa), (b, sb) = dataset, dataset_serial
    assert (sa.workers, sb.workers) == (2, 1)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_summary(dataset: Dataset) -> None:
    root, summary = dataset
    defects = json.loads((root / "defects.json").read_text())["defects"]
    assert summary.n_defective == len({d["filename"] for d in defects})
    assert summary.seconds > 0 and summary.records_per_second == pytest.approx(
        120 / summary.seconds
    )


def test_500_hz_records_carry_mains(tmp_path: Path) -> None:
    cfg = SyntheticDataConfig(
        **conf(
            "data", "synthetic", n_records=12, sampling_rate=500, defect_rate=0.0, workers=1, seed=2
        )
    )
    generate(cfg, tmp_path / "hr")
    db = pd.read_csv(tmp_path / "hr" / "ptbxl_database.csv")
    assert not (tmp_path / "hr" / "records100").exists()
    assert (
        (tmp_path / "hr" / "records500/00000/00001_hr.hea")
        .read_text()
        .startswith("00001_hr 12 500 5000\n")
    )
    x = read(tmp_path / "hr" / db["filename_hr"][0]).p_signal
    spectrum = np.abs(np.fft.rfft(x[:, 6] - x[:, 6].mean()))
    freqs = np.fft.rfftfreq(len(x), 1 / 500)
    at_mains = spectrum[np.abs(freqs - 50) < 0.2].max()
    nearby = np.median(spectrum[(freqs > 40) & (freqs < 60)])
    assert at_mains > 20 * nearby


def test_generation_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "ds"
    cfg = SyntheticDataConfig(**conf("data", "synthetic", n_records=5, defect_rate=0.0, workers=1))
    generate(cfg, out)
    (out / "stale.txt").write_text("old")
    before = sorted(p.name for p in out.iterdir())

    def boom(root: Path, jobs: list) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(generate_module, "_write_records", boom)
    with pytest.raises(RuntimeError):
        generate(cfg, out)
    assert sorted(p.name for p in out.iterdir()) == before
    monkeypatch.undo()
    generate(cfg, out)
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
