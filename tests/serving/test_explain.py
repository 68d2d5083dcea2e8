"""Explanations mean something where the truth is known: on synthetic MI records the attribution
of MI sits on the QRS-ST part of the beats, whose R peaks the generator knows.

The measure is the concentration ratio: the share of the attribution's magnitude (summed over
leads) that falls within 50 ms before to 250 ms after each true R peak, divided by the share of
the record's time those stretches cover. 1 means spread evenly; a model that reads the Q waves,
R loss and ST shift of an infarct puts more there.
"""

import json
import shutil

import numpy as np
import pytest
from mlflow import MlflowClient

from ecgpipe import tracking
from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.data.synthetic.cohort import draw_cohort
from ecgpipe.data.synthetic.record import r_peaks
from ecgpipe.processing.cache import Cache
from ecgpipe.serving import explain

from ..conftest import PROJECT

QRS_ST = (0.05, 0.25)  # seconds before and after the R peak


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    shutil.copytree(PROJECT / "conf", root / "conf")
    overrides = ("data.n_records=600", "data.defect_rate=0", "train.max_epochs=4")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["--root", str(root), "compose", *overrides]) == 0
        for stage in ("prepare", "validate", "preprocess", "split", "train", "evaluate"):
            assert main(["--root", str(root), stage]) == 0, stage
    cfg = load_params(root / "params.yaml")
    model, _ = tracking.load_record_model("models/", cfg.mlflow, root)
    return root, cfg, model


def concentration(attribution: np.ndarray, peaks_s: np.ndarray, fs: float) -> float:
    mass = np.abs(attribution).sum(axis=0)
    inside = np.zeros(mass.size, bool)
    for peak in np.round(peaks_s * fs).astype(int):
        inside[max(peak - round(QRS_ST[0] * fs), 0) : peak + round(QRS_ST[1] * fs)] = True
    return float(mass[inside].sum() / mass.sum() / inside.mean())


def test_mi_attribution_concentrates_on_the_qrs_st_part_of_the_beats(trained):
    root, cfg, model = trained
    cache = Cache.open(root / "data/processed")
    mi = cache.classes.index("MI")
    specs = {r.ecg_id: r.spec for r in draw_cohort(cfg.data).records}
    rows = [r for r in np.load(root / "data/split/test.npy") if cache.labels[r][mi]]
    x = [np.asarray(cache.signal(r)) for r in rows]
    probs = model.score(x)
    detected = [i for i in range(len(rows)) if probs[i, mi] >= model.contract.thresholds[mi]]
    assert len(detected) >= 5, "the model should find most MI records"
    ratios = []
    for i in detected[:12]:
        record_id = int(cache.index["record_id"].iloc[rows[i]])
        (attribution,) = explain.attribute(model, x[i], [mi])
        ratios.append(concentration(attribution, r_peaks(specs[record_id]), model.contract.fs))
    assert np.median(ratios) > 1.4, ratios  # ~70% of the mass on ~40% of the time
    assert min(ratios) > 1.0


def test_integrated_gradients_add_up_to_the_change_in_probability(trained):
    """Completeness: the attributions sum to p(record) - p(flat baseline)."""
    root, _, model = trained
    x = np.asarray(Cache.open(root / "data/processed").signal(0))
    (attribution,) = explain.attribute(model, x, [0], n_steps=64)
    p = model.score([x, np.zeros_like(x)])[:, 0]
    assert attribution.sum() == pytest.approx(p[0] - p[1], abs=0.02)


def test_explain_writes_the_figure_and_evaluate_logs_them(trained, tmp_path):
    root, _, _ = trained
    record = root / "data/prepared/source/records100/00000/00003_lr"
    out = tmp_path / "e.png"
    assert main(["--root", str(root), "explain", str(record), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = sorted(p.name for p in (root / "reports/figures/explanations").iterdir())
    assert {"MI-most.png", "MI-least.png", "NORM-most.png"} <= set(figures)
    run_id = json.loads((root / "models/run.json").read_text())["run_id"]
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    logged = {a.path for a in client.list_artifacts(run_id, "evaluation/figures/explanations")}
    assert "evaluation/figures/explanations/MI-most.png" in logged


def test_a_record_that_cannot_be_read_is_one_line(trained, tmp_path, caplog):
    root, _, _ = trained
    assert main(["--root", str(root), "explain", str(tmp_path / "nothing")]) == 1
    assert "no WFDB record or folder here" in caplog.text


def test_examples_are_the_surest_and_least_sure_true_call_of_each_class(trained, tmp_path):
    root, _, model = trained
    cache = Cache.open(root / "data/processed")
    rows = np.load(root / "data/split/test.npy")[:5]
    truth = np.zeros((5, len(cache.classes)), bool)
    truth[[0, 1, 2], 0] = True  # three true calls of the first class
    truth[3, 1] = True  # one of the second; none of the rest
    p = np.linspace(0.1, 0.9, 5)[:, None] * np.ones(len(cache.classes))
    written = explain.examples(model, cache, rows, truth, p, truth, tmp_path)
    first, second = cache.classes[:2]
    names = [f"{first}-most.png", f"{first}-least.png", f"{second}-most.png"]
    assert [w.name for w in written] == names
    assert all(w.read_bytes()[:4] == b"\x89PNG" for w in written)
