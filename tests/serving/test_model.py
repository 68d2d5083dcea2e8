"""The served model scores records of any length exactly as evaluation does, and refuses what it
cannot score with a message that says why."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ecgpipe.config.compose import compose_config
from ecgpipe.config.schema import TrainConfig
from ecgpipe.models import INPUTS, build
from ecgpipe.processing import dsp
from ecgpipe.processing.cache import Cache
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.serving.assembly import record_model, window_model
from ecgpipe.serving.model import InputError, RecordModel, WindowModel
from ecgpipe.training.classifier import predict
from ecgpipe.training.datamodule import ECGDataModule
from tests.conftest import PROJECT, conf

from ..training.test_classifier import classifier
from ..training.test_datamodule import FS, LENGTHS, SPEC, make_cache


def trained_pair(root: Path, model: str, aggregate: str, multilabel: bool):
    """A data module over a cache of records of many lengths, an (untrained) classifier on it,
    and the served model ``train`` would log for them."""
    make_cache(root, LENGTHS, multilabel=multilabel)
    t = TrainConfig(
        **conf("train", eval_window_s=2.5, eval_stride_s=1.25, aggregate=aggregate, batch_size=8)
    )
    dm = ECGDataModule(root / "processed", root / "split", INPUTS[model], t)
    torch.manual_seed(0)
    module = classifier(
        model,
        n_leads=2,
        multilabel=multilabel,
        class_counts=[10, 10, 10],
        n_train=20,
        loss="bce" if multilabel else "ce",
        aggregate=aggregate,
        fs=FS,
    )
    cfg = compose_config(PROJECT / "conf", [f"model={model}", f"train.aggregate={aggregate}"])
    decision = {"thresholds": (0.5, 0.4, 0.6)} if multilabel else {"factors": (1.0, 2.0, 0.5)}
    return dm, module, record_model(cfg, dm, window_model(cfg, dm, module.net), decision, "run")


@pytest.mark.parametrize(
    ("model", "aggregate", "multilabel"),
    [("cnn1d", "max", True), ("spectro2d", "mean", False), ("hybrid", "max", True)],
)
def test_records_of_any_length_score_as_in_evaluation(tmp_path, model, aggregate, multilabel):
    dm, module, served = trained_pair(tmp_path, model, aggregate, multilabel)
    _, expected = predict(module, dm.val_dataloader())
    records = [dm.cache.signal(r) for r in dm.rows["val"]]  # 180 to 6,100 samples
    assert len({len(r[0]) for r in records}) > 5
    np.testing.assert_allclose(served.score(records), expected, atol=1e-5)


def test_a_record_shorter_than_a_window_is_padded_down_to_the_shortest_seen(tmp_path):
    dm, _, served = trained_pair(tmp_path, "cnn1d", "max", True)
    assert served.contract.window == 250 and served.contract.min_samples == 180
    x = np.asarray(dm.cache.signal(0))
    assert served.score([x[:, :180]]).shape == (1, 3)
    with pytest.raises(InputError, match=r"record 0: 1.79 s long; .* at least 1.80 s"):
        served.score([x[:, :179]])


def test_bad_records_are_refused_with_the_reason(tmp_path):
    _, _, served = trained_pair(tmp_path, "cnn1d", "max", True)
    good = np.zeros((2, 500), np.float32)
    with pytest.raises(
        InputError,
        match=r"record 1: the model was trained on I, II; it has 3 leads: the first layer cannot",
    ):
        served.score([good, np.zeros((3, 500))])
    with pytest.raises(InputError, match=r"record 0: expected \(leads, samples\) for I, II"):
        served.score([good[0]])
    nan = good.copy()
    nan[1, 7] = np.nan
    with pytest.raises(InputError, match=r"record 0: 1 NaN or infinite samples \(leads II\)"):
        served.score([nan])
    assert served.score([good.astype(np.float64)]).dtype == np.float32  # cast, not refused


def test_labels_follow_the_thresholds_or_the_weighted_argmax(tmp_path):
    _, _, multilabel = trained_pair(tmp_path / "a", "cnn1d", "max", True)
    p = np.array([[0.5, 0.39, 0.7], [0.1, 0.4, 0.59]])
    assert multilabel.decide(p) == [["a", "c"], ["b"]]
    _, _, single = trained_pair(tmp_path / "b", "cnn1d", "max", False)
    assert single.decide(np.array([[0.5, 0.3, 0.2], [0.3, 0.1, 0.5]])) == [["b"], ["a"]]


def test_served_model_computes_the_cached_spectrogram(tmp_path):
    cache = Cache.open(make_cache(tmp_path, LENGTHS) / "processed")
    x = np.stack([np.asarray(cache.signal(r)[:, :250]) for r in range(3)])
    _, _, expected = dsp.spectrogram(x, FS, **SPEC)
    norm = Normalizer.identity(2, expected.shape[2])
    served = WindowModel(
        build("spectro2d", 2, 3, FS, **conf("model", "spectro2d")["options"]),
        "spectro2d",
        norm,
        True,
        FS,
        SPEC,
    )
    got = served.spectrogram(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_forward_takes_a_batch_of_records_as_a_tensor(tmp_path):
    dm, _, served = trained_pair(tmp_path, "cnn1d", "max", True)
    assert isinstance(served, RecordModel)
    x = torch.from_numpy(np.stack([np.asarray(dm.cache.signal(r)) for r in range(3)]))
    out = served(x)
    assert out.shape == (3, 3)
    np.testing.assert_allclose(out.numpy(), served.score(list(x.numpy())))


def test_rhythm_trees_are_served_the_features_they_were_fitted_on():
    """A model logged before features were added keeps being given its own, by name."""
    from ecgpipe.processing import rhythm_features
    from ecgpipe.serving.model import RhythmModel

    x = np.random.default_rng(0).normal(0, 0.1, (1, 2000)).astype(np.float32)
    now = RhythmModel(None, 0.3, 100.0, 2)
    old = RhythmModel(None, 0.3, 100.0, 2)
    old.names = rhythm_features.NAMES[:20]
    np.testing.assert_array_equal(old.features([x]), now.features([x])[:, :20])
