"""The heartbeat classifier: waveform and RR features in, one logit per class out."""

import pytest
import torch

from ecgpipe import models
from tests.conftest import conf

OPTIONS = {name: conf("model", name)["options"] for name in models.NAMES}


def test_beat_cnn_reads_the_window_and_its_rr_features():
    net = models.build("beat_cnn", 1, 5, 180.0, n_features=5, **OPTIONS["beat_cnn"]).eval()
    x, features = torch.randn(4, 1, 126), torch.ones(4, 5)
    assert net(x, features).shape == (4, 5)
    premature = features.clone()
    premature[:, [0, 3, 4]] = 0.6  # the same waveforms, arriving early
    assert not torch.allclose(net(x, features), net(x, premature))
    assert models.INPUTS["beat_cnn"] == "signal_features"


def test_without_its_rr_branch_it_ignores_the_features():
    net = models.build(
        "beat_cnn", 1, 5, 180.0, n_features=5, **(OPTIONS["beat_cnn"] | {"rr_width": 0})
    ).eval()
    x = torch.randn(3, 1, 126)
    assert torch.equal(net(x, torch.ones(3, 5)), net(x, torch.zeros(3, 5)))


def test_it_needs_data_with_features():
    with pytest.raises(ValueError, match="reads per-row features and the data has none"):
        models.build("beat_cnn", 1, 5, 180.0, **OPTIONS["beat_cnn"])
