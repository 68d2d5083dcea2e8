"""The LightningModule's record scores over records with different numbers of windows."""

import numpy as np
import pytest
import torch

from ecgpipe.training.classifier import ECGClassifier, epoch_metrics_multiclass, legacy_groups
from tests.conftest import conf


def classifier(model: str = "cnn1d", multilabel: bool = True, **changes) -> ECGClassifier:
    """A classifier as ``train`` builds one from conf/'s defaults, with ``changes`` (any field of
    the argument groups, by name)."""
    t = conf("train")
    options = conf("model", model)["options"] | (
        {"widths": [4], "kernel_size": 3} if model == "cnn1d" else {}
    )
    flat = {
        "model": model,
        "options": options,
        "n_leads": 1,
        "n_classes": 3,
        "fs": 100.0,
        "members": 1,
        "n_features": 0,
        "loss": "bce",
        "class_counts": (5, 5, 5),
        "n_train": 15,
        "classes": ("a", "b", "c"),
        "multilabel": multilabel,
        "dataset": "",
        "decision_factors": None,
        **{k: t[k] for k in ("class_weight", "focal_gamma", "lr", "weight_decay", "aggregate")},
    } | changes
    return ECGClassifier(**legacy_groups(flat))


def module(aggregate: str, multilabel: bool = True) -> ECGClassifier:
    return classifier(
        multilabel=multilabel, loss="bce" if multilabel else "ce", aggregate=aggregate
    ).eval()


@pytest.mark.parametrize("aggregate", ["max", "mean"])
def test_windows_are_aggregated_per_record(aggregate):
    torch.manual_seed(0)
    m = module(aggregate)
    batch = {
        "signal": torch.randn(6, 1, 50),
        "n_windows": torch.tensor([1, 3, 2]),
        "target": torch.zeros(3, 3),
    }
    with torch.no_grad():
        probs, logits = m.record_scores(batch)
        windows = torch.sigmoid(m({"signal": batch["signal"]})[0])
    parts = windows.split([1, 3, 2])
    reduce = (lambda w: w.amax(0)) if aggregate == "max" else (lambda w: w.mean(0))
    torch.testing.assert_close(probs, torch.stack([reduce(w) for w in parts]))
    assert logits.shape == (1, 3, 3)  # one member


def test_single_label_epoch_metrics():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.eye(3)[[0, 1, 1, 2, 2, 0]] * 0.8 + 0.1
    out = epoch_metrics_multiclass(y, p, ["N", "A", "O"], None, "cinc2017")
    assert out["val/accuracy"] == pytest.approx(4 / 6)
    assert out["val/f1/N"] == pytest.approx(0.5) and out["val/f1/A"] == pytest.approx(2 / 3)
    assert out["val/cinc2017_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert out["val/macro_f1"] == pytest.approx(out["val/cinc2017_f1"])


def test_an_ensemble_trains_each_member_and_averages_their_probabilities():
    torch.manual_seed(0)
    m = classifier(multilabel=False, loss="ce", members=3).eval()
    x = {"signal": torch.randn(4, 1, 50)}
    target = torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        logits = m(x)
        each = [member(x["signal"]) for member in m.net.members]
    assert logits.shape == (3, 4, 3) and not torch.equal(each[0], each[1])  # own initialisations
    expected = torch.stack([e.softmax(-1) for e in each]).mean(0)
    torch.testing.assert_close(m.probabilities(logits), expected)
    losses = [torch.nn.functional.cross_entropy(e, target) for e in each]
    torch.testing.assert_close(m.member_loss(logits, target), torch.stack(losses).mean())
