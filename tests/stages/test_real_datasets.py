"""The whole DAG on real recordings: experiment=cinc2017 on the CinC sample, and the user's own
folder of WFDB records (single-label end to end; multilabel through the data stages)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgpipe.cli import main
from ecgpipe.data import cinc2017
from ecgpipe.processing.cache import Cache

from ..conftest import PROJECT, make_dvc_project, shared_data
from ..data.test_wfdb_folder import copy_record

STAGES = ("prepare", "validate", "preprocess", "split", "train", "evaluate")
QUICK = ("train.max_epochs=1", "trainer.limit_train_batches=3", "evaluate.n_bootstrap=20")


def sample(name: str, marker: str) -> Path:
    root = shared_data() / name
    if not (root / marker).exists():
        pytest.skip(f"real data not found at {root} (set ECGPIPE_SHARED_DATA)")
    return root


def project(tmp_path: Path, *overrides: str, stages=STAGES) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "conf", root / "conf")
    assert main(["--root", str(root), "compose", *overrides]) == 0
    for stage in stages:
        assert main(["--root", str(root), stage]) == 0, stage
    return root


@pytest.fixture(scope="module")
def cinc(tmp_path_factory) -> Path:
    """experiment=cinc2017 on the 2,000-record sample, trained for three batches only."""
    source = sample("cinc2017-sample", cinc2017.REFERENCE)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        return project(
            tmp_path_factory.mktemp("cinc"), "experiment=cinc2017", f"data.root={source}", *QUICK
        )


@pytest.mark.realdata
def test_cinc2017_sample_is_kept_whole_with_its_lengths(cinc: Path):
    report = json.loads((cinc / "reports/integrity.json").read_text())
    assert (report["n_records"], report["n_kept"], report["n_unlabelled"]) == (2000, 2000, 0)
    assert report["duration_s"] == {"min": 9.32, "median": 30.0, "max": 60.867}
    cache = Cache.open(cache_dir := cinc / "data/processed")
    assert cache.meta["fs"] == 100 and cache.meta["leads"] == ["ECG"]
    kept = pd.read_csv(cinc / "data/validated/manifest.csv")
    np.testing.assert_array_equal(cache.lengths, -(-kept.n_samples.to_numpy() // 3))  # 300 -> 100
    assert (cache_dir / "signals.npy").stat().st_size < 4 * 2 * cache.lengths.sum()  # no padding
    split = json.loads((cinc / "reports/split.json").read_text())
    assert [split[s]["n_records"] for s in ("train", "val", "test")] == [1600, 200, 200]
    assert split["test"]["positives"] == {"N": 119, "A": 20, "O": 55, "~": 6}  # stratified


@pytest.mark.realdata
def test_cinc2017_evaluation_has_the_challenge_score(cinc: Path):
    result = json.loads((cinc / "metrics/eval.json").read_text())
    test = result["test"]
    for key in ("accuracy", "macro_f1", "macro_auroc", "cinc2017_f1"):
        assert 0 <= test[key] <= 1 and len(test[f"{key}_ci"]) == 2
    assert set(test["per_class"]) == {"N", "A", "O", "~"}
    assert {"precision", "recall", "f1", "auroc", "f1_ci"} <= set(test["per_class"]["A"])
    assert result["baseline"]["accuracy"] == pytest.approx(119 / 200)  # always N
    assert test["n_padded"] == sum(
        Cache.open(cinc / "data/processed").lengths[np.load(cinc / "data/split/test.npy")] < 3000
    )
    rows = pd.read_csv(cinc / "plots/confusion/classes.csv", keep_default_na=False)
    assert len(rows) == 200 and set(rows.actual) == {"N", "A", "O", "~"}
    assert (cinc / "reports/figures/confusion.png").is_file()
    decision = json.loads((cinc / "models/decision.json").read_text())
    assert decision["rule"] in ("argmax", "prior_corrected")
    assert "cinc2017 challenge F1" in (cinc / "reports/eval.md").read_text()


def own_folder(tmp_path: Path, n: int = 90) -> Path:
    """``n`` real CinC records of classes N, A and O, in subfolders, with a labels.csv."""
    source = sample("cinc2017-sample", cinc2017.REFERENCE)
    reference = pd.read_csv(source / cinc2017.REFERENCE, header=None, names=["record", "label"])
    chosen = pd.concat(
        reference[reference.label == c].head(n // 3) for c in ("N", "A", "O")
    ).reset_index(drop=True)
    root = tmp_path / "recordings"
    rows = []
    for i, (record, label) in enumerate(zip(chosen.record, chosen.label, strict=True)):
        where = f"clinic{i % 3}/{record.lower()}"
        copy_record(source / record, root / where)
        rows.append({"record": where, "labels": label, "patient_id": f"p{i // 2}"})
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    return root


@pytest.mark.realdata
def test_own_folder_runs_the_whole_dag(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder = own_folder(tmp_path)
    root = project(
        tmp_path,
        "data=wfdb_folder",
        f"data.root={folder}",
        "split.strategy=stratified",
        "train.crop_s=10",
        "train.eval_window_s=10",
        "train.eval_stride_s=5",
        *QUICK,
    )
    report = json.loads((root / "reports/integrity.json").read_text())
    assert report["n_kept"] == 90
    info = json.loads((root / "data/validated/dataset.json").read_text())
    assert info["leads"] == ["ECG"] and info["classes"] == ["A", "N", "O"]  # from the records
    split = json.loads((root / "reports/split.json").read_text())
    assert split["patient_overlap"] == 0
    test = json.loads((root / "metrics/eval.json").read_text())["test"]
    assert set(test["per_class"]) == {"A", "N", "O"} and "cinc2017_f1" not in test


@pytest.mark.realdata
def test_own_multilabel_folder_at_500_hz_through_the_data_stages(tmp_path: Path):
    source = sample("ptbxl-sample", "records500")
    folder = tmp_path / "twelve"
    labels = []
    for i in range(1, 21):
        copy_record(source / "records500/00000" / f"{i:05d}_hr", folder / f"batch{i % 2}/{i}")
        labels.append({"record": f"batch{i % 2}/{i}", "labels": "NORM;MI" if i % 3 else "STTC"})
    pd.DataFrame(labels).to_csv(folder / "labels.csv", index=False)
    root = project(
        tmp_path,
        "data=wfdb_folder",
        f"data.root={folder}",
        "data.label_kind=multilabel",
        "data.sampling_rate=500",
        "data.leads=[I,II,V1]",
        "split.strategy=stratified",
        stages=("prepare", "validate", "preprocess", "split"),
    )
    cache = Cache.open(root / "data/processed")
    assert cache.meta["leads"] == ["I", "II", "V1"] and cache.labels.shape == (20, 3)
    assert list(cache.lengths) == [1000] * 20  # 10 s at 500 Hz, resampled to 100 Hz


@pytest.mark.realdata
def test_own_folder_problems_are_reported_not_dropped(tmp_path: Path):
    folder = own_folder(tmp_path, n=30)
    labels = pd.read_csv(folder / "labels.csv")
    absent, unlisted = labels.record[0], labels.record[1]
    for f in (folder / absent).parent.glob(Path(absent).name + ".*"):
        f.unlink()  # listed, but its files are gone
    labels = labels[labels.record != unlisted]  # its files stay, the labels file forgets it
    labels.loc[2, "labels"] = "AFL"  # a class the configuration does not list
    labels.to_csv(folder / "labels.csv", index=False)
    root = project(
        tmp_path,
        "data=wfdb_folder",
        f"data.root={folder}",
        "data.classes=[N,A,O]",
        "split.strategy=stratified",
        "validate.max_excluded_fraction=0.2",
        stages=("prepare", "validate"),
    )
    report = json.loads((root / "reports/integrity.json").read_text())
    why = {e["record_id"]: (e["checks"], e["reason"]) for e in report["excluded"]}
    assert why[absent][0] == ["missing_file"] and absent + ".hea is missing" in why[absent][1]
    assert why[unlisted] == (["labels"], "not listed in labels.csv")
    assert (
        why[labels.record[2]][0] == ["labels"]
        and "unknown class(es) AFL" in why[labels.record[2]][1]
    )
    assert (report["n_records"], report["n_excluded"]) == (30, 3)
    md = (root / "reports/integrity.md").read_text()
    assert all(record in md for record in why)


@pytest.mark.realdata
def test_the_data_tour_reads_a_single_lead_dataset(cinc: Path, tmp_path: Path, monkeypatch):
    from ..test_notebooks import execute, outputs

    nb = execute("01_data_tour.ipynb", cinc, tmp_path, monkeypatch)
    text = "\n".join(map(str, outputs(nb, "text/plain")))
    assert "cinc2017 (rhythm, multiclass): 2000 kept records of 2000 patients at 300 Hz" in text
    for cls in ("N", "A", "O", "~"):
        assert f"{cls}: record" in text
    assert len(outputs(nb, "image/png")) == 4 + 2  # a strip per class, balance and split


@pytest.mark.realdata
def test_predict_scores_the_raw_mat_files_as_evaluate_did(cinc: Path, tmp_path: Path):
    """Single lead at 300 Hz, 9-61 s (shorter than the 30 s window: padded as in evaluate)."""
    from ecgpipe.config.parse import load_params
    from ecgpipe.core.paths import Paths
    from ecgpipe.stages import evaluate

    paths = Paths(cinc)
    dm, _, expected = evaluate.test_scores(load_params(paths.params), paths)
    rows = dm.rows["test"][:40]
    ids = dm.cache.index["record_id"].iloc[rows].astype(str).tolist()
    source = sample("cinc2017-sample", cinc2017.REFERENCE)
    out = tmp_path / "p.csv"
    args = ["--root", str(cinc), "predict", *(str(source / i) for i in ids), "--out", str(out)]
    assert main(args) == 0
    got = pd.read_csv(out).set_index("record")
    probs = got.loc[[str(source / i) for i in ids], [f"p_{c}" for c in dm.cache.classes]]
    assert (dm.cache.lengths[rows] < dm.eval_windows.length).any()  # some shorter than a window
    np.testing.assert_allclose(probs.to_numpy(), expected[:40], atol=1e-5)


SNOMED = {  # PTB-XL's SCP statements as the 2020/2021 challenges coded them
    "NORM": "426783006", "SR": "426783006", "AFIB": "164889003", "STACH": "427084000",
    "SBRAD": "426177001", "SARRH": "427393009", "1AVB": "270492004", "IRBBB": "713426002",
    "CRBBB": "713427006", "CLBBB": "164909002", "LAFB": "445118002", "LVH": "164873001",
    "IMI": "164865005", "ASMI": "164865005", "NDT": "428750005",
}  # fmt: skip


def challenge_folder(tmp_path: Path, n: int = 80, folds: set[int] | None = None) -> Path:
    """Real PTB-XL records at 100 Hz (of ``folds``, default all) in the 2020/2021 challenge
    layout: no labels file, each header's comments carry ``#Age``, ``#Sex`` and ``#Dx`` (SNOMED
    CT codes of its statements), plus three headers that cannot be used."""
    import ast

    source = sample("ptbxl-sample", "ptbxl_database.csv")
    db = pd.read_csv(source / "ptbxl_database.csv")
    root = tmp_path / "challenge"
    written = 0
    for row in db.itertuples():
        codes = sorted({SNOMED[s] for s in ast.literal_eval(row.scp_codes) if s in SNOMED})
        if not codes or written == n or (folds is not None and row.strat_fold not in folds):
            continue
        where = f"g{written % 2 + 1}/HR{row.ecg_id:05d}"
        copy_record(source / row.filename_lr, root / where)
        sex = "Female" if row.sex == 1 else "Male"
        comments = [f"Age: {row.age:g}", f"Sex: {sex}", f"Dx: {','.join(codes)}"]
        if written < 3:  # no #Dx; a code no table knows; a malformed line
            comments[2] = ["", "Dx: 426783006,99999999", f"Dx {codes[0]}"][written]
        comments += ["Rx: Unknown", "Hx: Unknown", "Sx: Unknown"]
        header = root / f"{where}.hea"
        lines = [line for line in header.read_text().splitlines() if not line.startswith("#")]
        header.write_text("\n".join([*lines, *(f"#{c}" for c in comments if c)]) + "\n")
        written += 1
    return root


@pytest.mark.realdata
def test_a_folder_in_the_challenge_layout_runs_the_whole_dag_from_its_headers(
    tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder = challenge_folder(tmp_path)
    root = project(
        tmp_path,
        "data=wfdb_folder",
        f"data.root={folder}",
        "data.label_source=header",
        "data.label_kind=multilabel",
        "data.classes=[NSR,AF,CRBBB,IRBBB,IAVB,LAnFB]",
        "split.strategy=stratified",
        "validate.max_excluded_fraction=0.1",
        *QUICK,
    )
    manifest = pd.read_csv(root / "data/prepared/manifest.csv", dtype=str, keep_default_na=False)
    usable = manifest[manifest.label_error == ""]
    assert set(usable.sex) == {"M", "F"} and (usable.age.astype(float) > 0).all()
    report = json.loads((root / "reports/integrity.json").read_text())
    why = {e["record_id"]: e["reason"] for e in report["excluded"]}
    assert len(why) == 3 and report["n_kept"] == 77
    for reason in ("no '#Dx:' line", "unknown SNOMED CT code(s) 99999999", "malformed line"):
        assert sum(reason in r for r in why.values()) == 1, reason
    info = json.loads((root / "data/validated/dataset.json").read_text())
    assert info["classes"] == ["NSR", "AF", "RBBB", "IRBBB", "IAVB", "LAnFB"]
    test = json.loads((root / "metrics/eval.json").read_text())["test"]
    assert "macro_auroc" in test and test["per_patient"]


@pytest.mark.realdata
@pytest.mark.slow  # a whole DVC DAG and an external stage: about a minute
def test_a_model_trained_on_ptbxl_is_validated_on_another_folder_in_one_dvc_repro(
    tmp_path: Path,
):
    """Trained on PTB-XL folds 1-8 (the sample), judged on fold 10's records rewritten as a
    2020/2021-challenge folder labelled by SNOMED CT codes: superclasses mapped onto them."""
    ptbxl = sample("ptbxl-sample", "ptbxl_database.csv")
    folder = challenge_folder(tmp_path, folds={10})
    external = "evaluate.external.challenge"
    root = make_dvc_project(
        tmp_path / "project",
        "~debug",
        "data=ptbxl",
        f"data.root={ptbxl}",
        "split.train_folds=[1,2,3,4,5,6,7]",
        "split.val_folds=[8]",
        "split.test_folds=[9]",
        f"+data@{external}.data=wfdb_folder",
        f"{external}.data.root={folder}",
        f"{external}.data.label_source=header",
        f"{external}.data.label_kind=multilabel",
        f"+{external}.label_map={{NORM: [NSR], CD: [RBBB, LBBB, IRBBB, IAVB, LAnFB]}}",
        *QUICK,
    )
    assert "external@challenge" in (root / "dvc.lock").read_text()
    out = json.loads((root / "metrics/external/challenge.json").read_text())["external"]
    assert {"HYP", "MI", "STTC"} <= set(out["absent_classes"])  # the challenge scores none
    assert out["per_class"]["CD"]["auroc"] is not None
    # the challenge's NSR is sinus rhythm, which almost every PTB-XL record has: NORM cannot be
    # told apart here, and the report says so rather than scoring it
    assert out["per_class"]["NORM"]["auroc"] is None
    assert out["n_left_out"]["unlabelled"] >= 3  # the three unusable headers, and more
    report = (root / "reports/external/challenge/report.md").read_text()
    assert "no '#Dx:' line" in report and "| NSR |" in report
    assert "that every record has (AUROC undefined): NORM" in report
    # subgroups: PTB-XL's age band, sex, site and device; the challenge headers' age and sex
    test = json.loads((root / "metrics/eval.json").read_text())["test"]
    assert set(test["subgroups"]["attributes"]) == {"age", "sex", "site", "device"}
    assert set(out["subgroups"]["attributes"]) == {"age", "sex"}
    assert "## Subgroups" in report
    card = (root / "reports/model_card.md").read_text()
    assert "`challenge` (" in card and "dvc repro external@challenge" in card
