"""The served model is put together from a training's data module without the training code:
its contract says what the data and config say, its conformal quantiles come from its own
validation scores, and its input example is two validation records cut to one window."""

from pathlib import Path

import numpy as np

from ecgpipe.config.compose import compose_config
from ecgpipe.evaluation import conformal
from ecgpipe.serving import assembly
from tests.conftest import PROJECT

from ..training.test_classifier import classifier
from ..training.test_datamodule import LENGTHS, dm, make_cache


def test_the_served_model_is_calibrated_on_validation(tmp_path: Path):
    data = dm(make_cache(tmp_path, LENGTHS), batch_size=4, eval_window_s=2.5, eval_stride_s=1.25)
    cfg = compose_config(PROJECT / "conf", ["evaluate.alpha=0.2"])
    windows = assembly.window_model(cfg, data, classifier(n_leads=2).net)
    served = assembly.record_model(cfg, data, windows, {"thresholds": (0.5,) * 3}, "run")
    c = served.contract
    assert (c.classes, c.leads, c.window, c.stride) == (("a", "b", "c"), ("I", "II"), 250, 125)
    assert c.source["mlflow_run_id"] == "run" and c.min_samples == 180  # the shortest record
    rows = data.rows["val"]
    scores = served.score([np.asarray(data.cache.signal(r)) for r in rows])
    found = conformal.calibrate(data.cache.labels[rows], scores, 0.2, True)
    assert c.conformal == found.to_dict()
    example = assembly.example_input(data, served)
    assert example.shape == (2, 2, 250) and example.dtype == np.float32
