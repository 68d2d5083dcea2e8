"""``ecgpipe predict`` on WFDB files: the model's own preprocessing from the raw record, every
healthy record scored, each broken one named with its reason."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from scipy.signal import resample_poly

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.stages import evaluate


def predict(root: Path, *args: str) -> int:
    return main(["--root", str(root), "predict", *args])


@pytest.fixture(scope="module")
def scored(cnn, tmp_path_factory):
    """The whole synthetic source folder scored with the project's model (``models/``)."""
    root, _ = cnn
    out = tmp_path_factory.mktemp("out") / "p.csv"
    rc = predict(root, str(root / "data/prepared/source"), "--out", str(out))
    df = pd.read_csv(out)
    return rc, df.assign(error=df["error"].fillna(""), labels=df["labels"].fillna(""))


def test_every_healthy_record_is_scored_and_each_broken_one_named(cnn, scored):
    root, uri = cnn
    rc, df = scored
    defects = json.loads((root / "data/prepared/source/defects.json").read_text())["defects"]
    broken = {d["filename"] for d in defects}
    assert broken and rc == 1  # some failed: the exit code says so
    name = df["record"].str.split("source/").str[1]
    failed = df[df["error"].astype(bool)]
    assert set(name[failed.index]) == broken
    assert len(df) == 120 and df.loc[~df.index.isin(failed.index), "p_MI"].notna().all()
    assert failed["p_MI"].isna().all()
    assert (df["model"] == uri).all()


def test_each_scored_record_gets_its_prediction_set(scored):
    _, df = scored
    failed = df["error"].astype(bool)
    sets = df["set"].fillna("")
    assert (sets[failed] == "").all()
    verdicts = [v.split("=") for s in sets[~failed] for v in s.split(";")]
    assert verdicts and {k for k, _ in verdicts} <= {"CD", "HYP", "MI", "NORM", "STTC"}
    assert {v for _, v in verdicts} <= {"present", "absent", "either"}


def test_scores_from_raw_files_equal_what_evaluate_computed(cnn, scored):
    root, _ = cnn
    paths = Paths(root)
    dm, _, expected = evaluate.test_scores(load_params(paths.params), paths)
    _, df = scored
    by_id = df.set_index(df["record"].str.split("source/").str[1])
    test = dm.cache.index.iloc[dm.rows["test"]]
    manifest = pd.read_csv(root / "data/validated/manifest.csv", dtype=str).set_index("record_id")
    files = manifest.loc[test["record_id"].astype(str), "path"].str.removeprefix("source/")
    got = by_id.loc[files, [f"p_{c}" for c in dm.cache.classes]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.ptp(expected, axis=0).max() > 0.01  # parity at 1e-5 of scores that differ


def test_json_by_extension_and_a_run_uri_give_the_same_numbers(cnn, scored, tmp_path):
    root, uri = cnn
    _, df = scored
    record = str(root / "data/prepared/source/records100/00000/00001_lr")
    out = tmp_path / "one.json"
    assert predict(root, record, "--model", uri, "--out", str(out)) == 0
    (row,) = json.loads(out.read_text())
    first = df[df["record"].str.endswith("00001_lr")].iloc[0]
    assert row["labels"] == first["labels"] and row["p_NORM"] == pytest.approx(first["p_NORM"])


def write_record(folder: Path, name: str, x: np.ndarray, fs: float, leads: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(leads)
    wfdb.wrsamp(
        name, fs=fs, units=["mV"] * n, sig_name=leads, p_signal=x.T, fmt=["16"] * n,
        write_dir=str(folder),
    )  # fmt: skip
    return folder / name


def test_another_sampling_rate_is_resampled_and_wrong_records_get_one_line_each(
    cnn, scored, tmp_path, caplog
):
    root, _ = cnn
    source = root / "data/prepared/source/records100/00000/00001_lr"
    record = wfdb.rdrecord(str(source))
    x, leads = record.p_signal.T, list(record.sig_name)
    folder = tmp_path / "mine"
    write_record(folder, "at500", resample_poly(x, 5, 1, axis=1), 500.0, leads)
    write_record(folder / "ward", "no_v6", x[:11], 100.0, leads[:11])
    write_record(folder, "short", x[:, :200], 100.0, leads)
    (folder / "notes.txt").write_text("not a record")
    out = tmp_path / "p.csv"
    assert predict(root, str(folder), str(folder / "notes.txt"), "--out", str(out)) == 1
    df = pd.read_csv(out, keep_default_na=False).set_index("record")
    errors = df["error"].to_dict()
    assert errors[str(folder / "at500")] == ""
    _, original = scored
    expected = original[original["record"].str.endswith("00001_lr")].iloc[0]
    assert float(df.loc[str(folder / "at500"), "p_MI"]) == pytest.approx(expected["p_MI"], abs=1e-3)
    assert "missing ['V6']" in errors[str(folder / "ward/no_v6")]
    assert "2.00 s long; the model needs at least 2.50 s" in errors[str(folder / "short")]
    assert "no WFDB record or folder here" in errors[str(folder / "notes.txt")]
    assert "3 records could not be scored" in caplog.text


def test_a_record_with_its_leads_in_another_order_and_one_more_scores_the_same(cnn, tmp_path):
    """Leads are read by name in the model's order (:func:`ecgpipe.core.contract.check`)."""
    root, _ = cnn
    record = wfdb.rdrecord(str(root / "data/prepared/source/records100/00000/00001_lr"))
    x, leads = record.p_signal.T, list(record.sig_name)
    folder = tmp_path / "mine"
    write_record(folder, "same", x, 100.0, leads)
    turned = [*reversed(range(len(leads)))]
    extra = np.vstack([x[turned], x[:1]])
    write_record(folder, "turned", extra, 100.0, [*(leads[i] for i in turned), "X"])
    out = tmp_path / "p.csv"
    assert predict(root, str(folder), "--out", str(out)) == 0
    df = pd.read_csv(out).set_index("record").filter(like="p_")
    np.testing.assert_array_equal(df.loc[str(folder / "turned")], df.loc[str(folder / "same")])


def test_adapting_a_model_of_whole_records_is_refused_with_why(cnn, caplog):
    root, _ = cnn
    assert predict(root, str(root / "data/prepared/source"), "--adapt") == 1
    assert "predict --adapt: adapting to a record's own beats is for beat models" in caplog.text


def test_a_missing_model_says_what_to_run(project, tmp_path, caplog):
    assert predict(project, str(tmp_path)) == 1
    assert "no trained model here" in caplog.text and "dvc repro train" in caplog.text
    bare = tmp_path / "bare"
    bare.mkdir()
    assert predict(bare, str(bare)) == 1
    assert "is not an ecgpipe project (no params.yaml or conf/)" in caplog.text


def test_a_real_record_in_uv_or_v_scores_as_in_mv_and_a_bad_lead_name_gets_one_line(
    cnn, ptbxl_sample, tmp_path
):
    root, _ = cnn
    source = wfdb.rdrecord(str(ptbxl_sample / "records100/00000/00001_lr"), physical=False)
    folder = tmp_path / "units"
    folder.mkdir()
    for unit, per_mv in (("mV", 1.0), ("uV", 1e3), ("V", 1e-3)):  # the same samples, gain x1000
        wfdb.wrsamp(
            unit, fs=source.fs, units=[unit] * 12, sig_name=source.sig_name,
            d_signal=source.d_signal, fmt=source.fmt, baseline=source.baseline,
            adc_gain=[g / per_mv for g in source.adc_gain], write_dir=str(folder),
        )  # fmt: skip
    for name, lead in (("not_utf8", b"V\xff6"), ("pleth", b"Pleth")):  # the mV record, V6 renamed
        header = (folder / "mV.hea").read_bytes().replace(b"mV.dat", f"{name}.dat".encode())
        (folder / f"{name}.hea").write_bytes(header.replace(b" V6\n", b" " + lead + b"\n"))
        (folder / f"{name}.dat").write_bytes((folder / "mV.dat").read_bytes())
    out = tmp_path / "p.csv"
    assert predict(root, str(folder), "--out", str(out)) == 1
    df = pd.read_csv(out, keep_default_na=False).set_index("record")
    scores = df[[c for c in df if c.startswith("p_")]]
    for unit in ("mV", "uV", "V"):
        assert df.loc[str(folder / unit), "error"] == ""
    for unit in ("uV", "V"):
        np.testing.assert_allclose(
            scores.loc[str(folder / unit)].astype(float),
            scores.loc[str(folder / "mV")].astype(float),
            rtol=0,
            atol=1e-4,
        )
    errors = df["error"].to_dict()
    assert "signal 12's lead name 'V\\xff6' is not UTF-8" in errors[str(folder / "not_utf8")]
    assert "'Pleth' is no ECG lead ecgpipe knows" in errors[str(folder / "pleth")]
    assert all("\n" not in e for e in errors.values())


def test_a_full_disk_under_out_is_one_line_with_the_path_and_leaves_no_folder(
    cnn, tmp_path, monkeypatch, caplog
):
    """Issue 35: `predict --out data/sub/scores.csv` on a full disk."""
    import errno

    from ecgpipe.core import atomic

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    root, _ = cnn
    record = next((root / "data/prepared/source").rglob("*.hea")).with_suffix("")
    out = tmp_path / "data" / "sub" / "scores.csv"
    monkeypatch.setattr(atomic.os, "fsync", full)
    assert predict(root, str(record), "--out", str(out)) == 1
    assert f"no space left on device while writing {out}; free some space" in caplog.text
    assert "Traceback" not in caplog.text
    assert list(tmp_path.iterdir()) == []
