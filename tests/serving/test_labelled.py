"""A labelled set scored by the served model: every record with a label it knows scored as
``ecgpipe predict`` scores it, the rest left out with the reason."""

import numpy as np

from ecgpipe import tracking
from ecgpipe.config.parse import load_params
from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.serving import labelled, predict


def test_each_record_is_scored_as_predict_scores_it_or_left_out_with_its_reason(cnn):
    root, uri = cnn
    model, _ = tracking.load_record_model(uri, load_params(root / "params.yaml").mlflow, root)
    df = manifest.read(root / "data/prepared/manifest.csv").head(40)
    source = DatasetInfo.read(root / "data/prepared/dataset.json").resolve_root(root)
    df["record"] = [str(source / p) for p in df["path"]]
    scored = labelled.score(model, df, source, {"NORM": ["NORM"], "MI": ["MI"]})
    s = scored.scores
    direct = {o.record: o for o in predict.score(model, [source / p for p in df["path"]])}
    kept = df[df["record_id"].isin(s.record_ids)]
    np.testing.assert_allclose(s.p, np.stack([direct[r].probs for r in kept["record"]]), atol=1e-6)
    assert s.multilabel and s.unit == "records" and s.classes == list(model.contract.classes)
    assert not s.truth[:, [s.classes.index(c) for c in ("CD", "HYP", "STTC")]].any()
    failed = {r for r, _ in scored.failures}
    assert failed and all(direct[r].error for r in failed)  # the generator's defective records
    left = df[~df["record_id"].isin(s.record_ids)]
    reasons = np.asarray(scored.mapped.reasons)[~df["record_id"].isin(s.record_ids).to_numpy()]
    assert all(why or r in failed for r, why in zip(left["record"], reasons, strict=True))
    assert len(scored.dataset) == len(s.y) == len(kept)
