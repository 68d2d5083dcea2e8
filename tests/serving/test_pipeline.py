"""``ecgpipe predict``'s pipeline: records read and filtered in worker processes, a chunk each,
then scored by the model, in turns; the outcomes in the records' order, each bad record named
where it stands, every score as if the record were scored alone."""

import numpy as np
import pytest
import wfdb

from ecgpipe import tracking
from ecgpipe.config.parse import load_params
from ecgpipe.core.errors import PipelineError
from ecgpipe.serving import predict

from .test_predict import write_record


@pytest.fixture(scope="module")
def served(cnn):
    root, _ = cnn
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mlflow_cfg = load_params(root / "params.yaml").mlflow
        model, _ = tracking.load_record_model("models/", mlflow_cfg, root)
    return root, model


def alone(model, path) -> np.ndarray | None:
    """The record's probabilities scored on its own, in this process; None where it cannot be."""
    try:
        return model.score([predict.read(model, path)])[0]
    except PipelineError:
        return None


@pytest.mark.parametrize("workers", [1, 2])
def test_pipelined_outcomes_keep_the_order_and_name_a_bad_record_in_the_middle(
    served, tmp_path, monkeypatch, workers
):
    root, model = served
    found, _ = predict.find_records([root / "data/prepared/source/records100"])
    expected = {p: probs for p in found[:16] if (probs := alone(model, p)) is not None}
    healthy = list(expected)[:10]
    source = wfdb.rdrecord(str(healthy[0]))
    short = write_record(
        tmp_path, "short", source.p_signal.T[:, :200], source.fs, list(source.sig_name)
    )
    gone = tmp_path / "gone"
    records = [*healthy[:4], short, *healthy[4:7], gone, *healthy[7:]]
    monkeypatch.setattr(predict, "CHUNK", 3)  # many chunks and rounds, bad ones mid-chunk

    outcomes = list(predict.score(model, records, workers=workers))

    assert [o.record for o in outcomes] == [str(p) for p in records]
    by_name = {o.record: o for o in outcomes}
    assert "2.00 s long; the model needs at least 2.50 s" in by_name[str(short)].error
    assert by_name[str(gone)].error and by_name[str(gone)].probs is None
    for path in healthy:
        o = by_name[str(path)]
        assert o.error is None and o.labels == tuple(model.decide(o.probs[None])[0])
        np.testing.assert_allclose(o.probs, expected[path], atol=1e-6)
    assert np.ptp(np.stack([expected[p] for p in healthy]), axis=0).max() > 0.01  # they differ
