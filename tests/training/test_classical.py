"""Fitting a classical beat model as train fits a network: the loss's class weights, the same
validation metrics, and the number of boosting rounds chosen on validation."""

import numpy as np
import pytest
import torch

from ecgpipe.training import classical, losses
from tests.conftest import conf

CLASSES = ["N", "S", "V"]


def data(n: int, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.8, 0.1, 0.1])
    return rng.normal(size=(n, 5)) * noise + y[:, None], y


@pytest.mark.parametrize("rule", ["inverse", "sqrt_inverse", "none"])
def test_class_weights_are_the_networks_loss_weights(rule):
    counts = np.array([900, 60, 40])
    loss = losses.build("ce", False, torch.tensor(counts), int(counts.sum()), rule, 2.0)
    want = np.ones(3) if loss.weight is None else loss.weight.numpy()
    np.testing.assert_allclose(classical.class_weights(counts, rule), want, rtol=1e-6)


def test_boosting_keeps_the_rounds_best_on_validation():
    train, val = data(600, 0, 1.2), data(300, 1, 1.2)
    options = conf("model", "beat_gbm")["options"] | {"max_iter": 60, "learning_rate": 0.3}
    weights = classical.class_weights(np.bincount(train[1]), "inverse")
    fitted = classical.fit(
        "beat_gbm", options, 0, train, val, CLASSES, weights, None, "mitdb", "val/loss"
    )
    steps = [step for step, _ in fitted.curve]
    assert steps == list(range(10, 61, 10))
    losses_ = {step: values["val/loss"] for step, values in fitted.curve}
    best = min(losses_, key=losses_.get)
    assert fitted.best == losses_[best] and fitted.estimator.n_iter_ == best
    p = classical.classical.probabilities(fitted.estimator, val[0], 3)
    again = classical.validation_metrics(val[1], p, CLASSES, None, "mitdb", weights)
    assert again["val/loss"] == pytest.approx(fitted.best, rel=1e-5)  # the refit is those trees


def test_a_linear_model_is_one_point_with_the_networks_metrics():
    train, val = data(400, 2, 0.5), data(200, 3, 0.5)
    options = conf("model", "beat_linear")["options"]
    fitted = classical.fit(
        "beat_linear", options, 0, train, val, CLASSES, np.ones(3), None, "mitdb", "val/macro_f1"
    )
    (step, values), *rest = fitted.curve
    assert step == 1 and not rest and fitted.best == values["val/macro_f1"] > 0.9
    assert {"val/loss", "val/accuracy", "val/macro_auroc", "val/f1/S"} <= set(values)


def test_a_broken_estimator_file_says_how_to_rebuild_it(tmp_path):
    from ecgpipe.core.paths import BrokenOutputError, ModelDir

    path = ModelDir(tmp_path / "models").estimator
    with pytest.raises(BrokenOutputError, match="missing"):
        classical.load(path)
    path.parent.mkdir()
    path.write_bytes(b"not a pickle")
    with pytest.raises(BrokenOutputError, match="not an estimator ecgpipe can load"):
        classical.load(path)
