"""Models logged before the package was regrouped (issue 21) keep loading and scoring: their
pickles name classes by import path (tests/fixtures/legacy_model/README.md says how the fixture
was made, and what it holds)."""

from pathlib import Path

import mlflow
import numpy as np
import torch

from ecgpipe import tracking
from ecgpipe.config.parse import load_params
from ecgpipe.serving.pyfunc import RecordScorer
from ecgpipe.training.classifier import load_checkpoint

from ..conftest import PROJECT

FIXTURE = PROJECT / "tests" / "fixtures" / "legacy_model"


def records() -> list[np.ndarray]:
    """The fixture's seeded records (make_fixture.py.txt draws them the same way)."""
    rng = np.random.default_rng(21)
    return [
        (rng.normal(size=(12, n)) * 0.2 + np.sin(np.arange(n) / 7)).astype(np.float32)
        for n in (250, 400, 1000)
    ]


def test_a_pyfunc_logged_by_the_flat_layout_scores_as_it_did(tmp_path: Path) -> None:
    expected = np.load(FIXTURE / "expected.npz")
    cfg = load_params(PROJECT / "params.yaml").mlflow
    model, uri = tracking.load_record_model(str(FIXTURE / "model"), cfg, tmp_path)
    probs = model.score(records())
    np.testing.assert_allclose(probs, expected["probs"], atol=1e-6)
    assert [";".join(x) for x in model.decide(probs)] == list(expected["labels"])
    assert uri == str(FIXTURE / "model")
    loaded = mlflow.pyfunc.load_model(str(FIXTURE / "model"))  # MLflow's own loader, too
    assert isinstance(loaded.unwrap_python_model(), RecordScorer)
    table = loaded.predict(np.stack([r[:, :250] for r in records()]))
    np.testing.assert_allclose(
        table[[c for c in table.columns if c.startswith("p_")]].to_numpy()[0],
        expected["probs"][0],
        atol=1e-6,
    )


def test_a_checkpoint_of_the_flat_arguments_loads_into_the_grouped_classifier() -> None:
    expected = np.load(FIXTURE / "expected.npz")
    module = load_checkpoint(FIXTURE / "best.ckpt").eval()
    assert module.network.model == "cnn1d" and module.network.options["widths"] == [8, 16]
    assert module.labels.classes == ("CD", "HYP", "MI", "NORM", "STTC")
    assert module.labels.multilabel and module.objective.loss == "bce"
    assert module.objective.class_weight == "inverse"  # saved as pos_weight=True
    windows = torch.from_numpy(np.stack([r[:, :250] for r in records()]))
    with torch.no_grad():
        probs = module.probabilities(module({"signal": windows})).numpy()
    np.testing.assert_allclose(probs, expected["window_probs"], atol=1e-6)


def test_ecgpipe_predict_reads_a_legacy_contract_and_scores_a_wfdb_record(tmp_path: Path) -> None:
    """Its contract predates ``preprocess.beats.features``: it reads as the RR set it had."""
    import wfdb

    from ecgpipe.serving import predict

    cfg = load_params(PROJECT / "params.yaml").mlflow
    model, _ = tracking.load_record_model(str(FIXTURE / "model"), cfg, tmp_path)
    assert "features" not in model.contract.preprocess["beats"]
    assert model.contract.preprocessing().beats.features == "rr"
    x = records()[2]
    wfdb.wrsamp(
        "r", fs=model.contract.fs, units=["mV"] * 12, sig_name=list(model.contract.leads),
        p_signal=x.T.astype(np.float64), fmt=["16"] * 12, write_dir=str(tmp_path),
    )  # fmt: skip
    (outcome,) = predict.score(model, [tmp_path / "r"])
    assert outcome.error is None and outcome.probs is not None and outcome.probs.shape == (5,)
