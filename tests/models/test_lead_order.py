"""A network reading its input's leads in the order its weights were trained on: the same
scores, for every network of the zoo, whatever its first layers."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from ecgpipe import models
from ecgpipe.models import lead_order
from tests.conftest import conf

OPTIONS = {name: conf("model", name)["options"] for name in models.NAMES}
TRAINED = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
DATA = ("V1", "V2", "V3", "V4", "V5", "V6", "aVR", "aVL", "aVF", "I", "II", "III")


def inputs(name: str, leads: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    """The same leads' signals (and spectrograms) in ``leads``' order, and 4 per-row features."""
    torch.manual_seed(1)
    signal, spectrogram = torch.randn(3, 12, 250), torch.randn(3, 12, 28, 12)
    index = [TRAINED.index(lead) for lead in leads]
    signal, spectrogram = signal[:, index], spectrogram[:, index]
    return {
        "signal": (signal,),
        "spectrogram": (spectrogram,),
        "both": (signal, spectrogram),
        "signal_features": (signal, torch.arange(12.0).reshape(3, 4)),
    }[models.INPUTS[name]]


@pytest.mark.parametrize("name", models.NETWORKS)
def test_a_network_reads_another_lead_order_as_it_was_trained(name):
    torch.manual_seed(0)
    trained = models.build(name, 12, 5, 100.0, n_features=4, **OPTIONS[name]).eval()
    order = tuple(DATA.index(lead) for lead in TRAINED)
    tuned = lead_order.reorder(copy.deepcopy(trained), order)
    with torch.no_grad():
        want, got = trained(*inputs(name, TRAINED)), tuned(*inputs(name, DATA))
        unmapped = copy.deepcopy(trained)(*inputs(name, DATA))
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert not torch.equal(unmapped, want)  # the order matters to it
    assert lead_order.weights_leads(tuned, DATA) == TRAINED
    restored = pickle.loads(pickle.dumps(tuned))  # as a logged model is
    with torch.no_grad():
        torch.testing.assert_close(restored(*inputs(name, DATA)), want, rtol=0, atol=0)


def test_the_identity_and_none_leave_the_network_as_it_is():
    net = models.build("cnn1d", 3, 2, 100.0, **OPTIONS["cnn1d"])
    lead_order.reorder(net, (2, 0, 1))
    assert lead_order.input_order(net) == (2, 0, 1)
    lead_order.reorder(net, (0, 1, 2))
    assert lead_order.input_order(net) is None and not net._forward_pre_hooks
    assert lead_order.weights_leads(net, ("I", "II", "V1")) == ("I", "II", "V1")
