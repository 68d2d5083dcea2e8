import pytest
import torch

from ecgpipe import models
from ecgpipe.config import ConfigError, parse_config

SIGNAL = torch.randn(3, 12, 250)
SPECTROGRAM = torch.randn(3, 12, 28, 12)


@pytest.mark.parametrize("name", models.NAMES)
def test_every_model_maps_its_input_to_logits(name):
    torch.manual_seed(0)
    net = models.build(name, 12, 5, 100.0, n_features=4).eval()
    inputs = {
        "signal": (SIGNAL,),
        "spectrogram": (SPECTROGRAM,),
        "both": (SIGNAL, SPECTROGRAM),
        "signal_features": (SIGNAL, torch.randn(3, 4)),
    }
    out = net(*inputs[models.INPUTS[name]])
    assert out.shape == (3, 5) and torch.isfinite(out).all()


@pytest.mark.parametrize("length", [250, 1000, 333])
def test_signal_models_take_any_length(length):
    net = models.build("resnet1d_wang", 3, 2, 100.0, width=16).eval()
    assert net(torch.randn(2, 3, length)).shape == (2, 2)


def test_options_reach_the_constructor_and_are_checked():
    net = models.build("cnn1d", 1, 4, 100.0, widths=[8, 16], kernel_size=3)
    assert net(torch.randn(2, 1, 100)).shape == (2, 4)
    assert "widths" in models.options_of("cnn1d")
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.build("vgg", 1, 2, 100.0)
    with pytest.raises(ConfigError, match=r"model: .*unknown option\(s\) \['depth'\] for cnn1d"):
        parse_config({"model": {"name": "cnn1d", "options": {"depth": 3}}})


def test_xresnet101_is_deeper_than_50():
    n50 = sum(p.numel() for p in models.build("xresnet1d50", 12, 5, 100.0).parameters())
    n101 = sum(p.numel() for p in models.build("xresnet1d101", 12, 5, 100.0).parameters())
    assert n101 > 1.5 * n50
