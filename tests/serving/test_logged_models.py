"""Models logged by `train` at the commits named in tests/fixtures/logged_models/README.md (a
network on whole records, a classical beat model, a network pooled with rhythm trees, the
networks with R-R features on records and on beats) keep loading and scoring as they did there:
their pickles name the package's classes by import path, so moving code must leave those paths
loadable."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest

from ecgpipe import tracking
from ecgpipe.config.parse import load_params
from ecgpipe.serving.model import Contract

from ..conftest import PROJECT

FIXTURE = PROJECT / "tests" / "fixtures" / "logged_models"


def inputs(contract: Contract) -> list[np.ndarray]:
    """Seeded inputs the model takes: beat rows for a beat model, else three records of a window,
    one and a half and four windows."""
    rng = np.random.default_rng(34)
    leads = len(contract.leads)
    if contract.annotator is not None:  # beat rows: the window lead after lead, then features
        width = len(contract.leads) * contract.window + _n_features(contract)
        return list((rng.normal(size=(6, width)) * 0.3).astype(np.float32))
    lengths = (contract.window, contract.window * 3 // 2, contract.window * 4)
    out = []
    for k, n in enumerate(lengths):
        t = np.arange(n) / contract.fs
        # beats: regular, irregular, regular and fast (the rhythm trees need R peaks to read)
        rr = [np.full(80, 0.8), rng.uniform(0.35, 1.1, 80), np.full(80, 0.5)][k]
        at = 0.3 + np.cumsum(rr)
        x = np.exp(-0.5 * ((t[:, None] - at[None, :]) / 0.012) ** 2).sum(axis=1)
        out.append((x + rng.normal(size=(leads, n)) * 0.05).astype(np.float32))
    return out


def _n_features(contract: Contract) -> int:
    from ecgpipe.processing import beat_features

    spec = contract.preprocessing().beats.features
    return len(beat_features.names(spec, contract.window))


@pytest.mark.parametrize("name", ["cnn1d", "beat_gbm", "rhythm", "cnn1d_rr", "beat_cnn"])
def test_a_model_logged_at_the_fixtures_commit_scores_as_it_did(name: str, tmp_path: Path):
    expected = np.load(FIXTURE / f"{name}.npz")
    cfg = load_params(PROJECT / "params.yaml").mlflow
    model, _ = tracking.load_record_model(str(FIXTURE / name), cfg, tmp_path)
    probs = model.score(inputs(model.contract))
    np.testing.assert_allclose(probs, expected["probs"], atol=1e-6)
    assert [";".join(c) for c in model.decide(probs)] == list(expected["labels"])
    assert model.contract.sets(probs) == list(expected["sets"])
    assert (name == "rhythm") == (model.rhythm is not None)
    assert model.per_beat == name.startswith("beat")
    loaded = mlflow.pyfunc.load_model(str(FIXTURE / name))  # MLflow's own loader, too
    table = loaded.predict(np.stack(inputs(model.contract)[:1]) if not model.per_beat
                           else np.stack(inputs(model.contract)))  # fmt: skip
    np.testing.assert_allclose(
        table.filter(like="p_").to_numpy()[0], expected["probs"][0], atol=1e-6
    )
