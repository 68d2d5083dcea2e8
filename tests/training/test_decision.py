"""The labelling rule written to the model folder is the one the served model's contract gets:
tuned thresholds (multilabel) or the argmax with its class factors (single-label)."""

import json
from pathlib import Path

import numpy as np
import pytest

from ecgpipe.core.paths import ModelDir
from ecgpipe.evaluation import metrics
from ecgpipe.training import decision
from ecgpipe.training.classifier import predict

from .test_classifier import classifier
from .test_datamodule import LENGTHS, dm, make_cache


@pytest.mark.parametrize("factors", [None, (0.5, 1.0, 2.0)])
def test_single_label_writes_the_argmax_and_its_factors(tmp_path: Path, factors):
    rule = decision.write_factors(tmp_path, ["a", "b", "c"], factors)
    written = json.loads(ModelDir(tmp_path).factors.read_text())
    assert written["rule"] == ("argmax" if factors is None else "prior_corrected")
    assert list(written["factors"].values()) == list(rule["factors"])
    assert rule["factors"] == (factors or (1.0, 1.0, 1.0))


def test_multilabel_thresholds_are_tuned_on_validation(tmp_path: Path):
    data = dm(make_cache(tmp_path, LENGTHS), batch_size=4)
    module = classifier(n_leads=2).eval()
    rule = decision.save(module, data, tmp_path, "cpu")
    y, p = predict(module, data.val_dataloader())
    tuned = [None if np.isnan(t) else float(t) for t in metrics.tune_thresholds(y, p)]
    assert rule == {"thresholds": tuple(tuned)}
    written = json.loads(ModelDir(tmp_path).thresholds.read_text())
    assert written == dict(zip("abc", tuned, strict=True))
