"""What train saved, read back: the model's file by kind, and its scores on the test split."""

from pathlib import Path

import numpy as np

from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import ModelDir, Paths
from ecgpipe.training import saved


def test_a_classical_model_is_its_estimator_a_network_its_best_checkpoint(tmp_path: Path):
    folder = ModelDir(tmp_path)
    assert saved.model_file("beat_gbm", folder) == tmp_path / "estimator.joblib"
    assert saved.model_file("cnn1d", folder) == tmp_path / "best.ckpt"


def test_the_saved_network_scores_every_test_record(cnn):
    root, _ = cnn
    dm, y, p = saved.test_scores(load_params(root / "params.yaml"), Paths(root))
    rows = dm.rows["test"]
    assert np.array_equal(y, dm.cache.labels[rows])
    assert p.shape == (len(rows), dm.n_classes) and ((p >= 0) & (p <= 1)).all()
