import pytest
import torch
from pydantic import ValidationError

from ecgpipe import models
from ecgpipe.config.schema import MODEL_OPTIONS
from tests.conftest import conf

SIGNAL = torch.randn(3, 12, 250)
SPECTROGRAM = torch.randn(3, 12, 28, 12)

OPTIONS = {name: conf("model", name)["options"] for name in models.NAMES}


@pytest.mark.parametrize("name", models.NETWORKS)
def test_every_model_maps_its_input_to_logits(name):
    torch.manual_seed(0)
    net = models.build(name, 12, 5, 100.0, n_features=4, **OPTIONS[name]).eval()
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
    net = models.build(
        "resnet1d_wang", 3, 2, 100.0, **(OPTIONS["resnet1d_wang"] | {"width": 16})
    ).eval()
    assert net(torch.randn(2, 3, length)).shape == (2, 2)


def test_options_reach_the_constructor_and_are_checked():
    net = models.build("cnn1d", 1, 4, 100.0, **(OPTIONS["cnn1d"] | {"widths": [8, 16]}))
    assert net(torch.randn(2, 1, 100)).shape == (2, 4)
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.build("vgg", 1, 2, 100.0)
    with pytest.raises(ValidationError, match="kernel_size"):
        models.build("cnn1d", 1, 4, 100.0, **(OPTIONS["cnn1d"] | {"kernel_size": 0}))


@pytest.mark.parametrize("name", models.NAMES)
def test_the_checked_options_are_the_constructors_and_conf_gives_each(name):
    assert set(MODEL_OPTIONS[name].model_fields) == models.options_of(name)
    assert set(OPTIONS[name]) == models.options_of(name)


def test_xresnet101_is_deeper_than_50():
    n50 = sum(
        p.numel()
        for p in models.build("xresnet1d50", 12, 5, 100.0, **OPTIONS["xresnet1d50"]).parameters()
    )
    n101 = sum(
        p.numel()
        for p in models.build("xresnet1d101", 12, 5, 100.0, **OPTIONS["xresnet1d101"]).parameters()
    )
    assert n101 > 1.5 * n50


DEEP = ("xresnet1d50", "xresnet1d101")
"""The deepest networks overfit a batch in 15-25 s each on 2 cores: checked in the slow suite."""


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in DEEP else n for n in models.NETWORKS]
)
def test_each_model_overfits_one_batch(name):
    """A network that can learn at all fits 8 fixed examples: the loss falls below 0.05 in 80
    steps (measured at lr 1e-2: 0.001 for cnn1d, cnn1d_rr and resnet1d_wang), and its first
    layer learned too (a frozen backbone under a trained head would not)."""
    torch.manual_seed(0)
    net = models.build(name, 2, 3, 100.0, n_features=4, **OPTIONS[name])
    inputs = {
        "signal": (torch.randn(8, 2, 250),),
        "spectrogram": (torch.randn(8, 2, 28, 12),),
        "both": (torch.randn(8, 2, 250), torch.randn(8, 2, 28, 12)),
        "signal_features": (torch.randn(8, 2, 126), torch.randn(8, 4)),
    }[models.INPUTS[name]]
    target = (torch.rand(8, 3) > 0.5).float()
    loss = torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = next(w for w in net.parameters() if w.dim() > 1)  # the first layer's weights
    initial = first.detach().clone()

    def evaluated() -> float:
        net.eval()
        with torch.no_grad():
            return float(loss(net(*inputs), target))

    net.train()
    for _ in range(80):
        opt.zero_grad()
        loss(net(*inputs), target).backward()
        opt.step()
    assert evaluated() < 0.05
    assert (first.detach() - initial).norm() > 0.01 * initial.norm()


def test_a_strided_stem_gives_a_higher_rate_the_same_later_layers():
    """cnn1d at 300 Hz with stem_stride 3: after the stem, the time axis is the 100 Hz one's."""
    options = OPTIONS["cnn1d"] | {"widths": [8, 16]}
    at_100 = models.build("cnn1d", 1, 4, 100.0, **options)
    at_300 = models.build("cnn1d", 1, 4, 300.0, **(options | {"stem_stride": 3}))
    x = torch.randn(2, 1, 3000)
    assert at_300.features(torch.randn(2, 1, 9000)).shape == at_100.features(x).shape
    stem = at_300.features[0][0]
    assert stem.stride == (3,) and stem.kernel_size == (3 * options["kernel_size"] | 1,)


def test_models_logged_before_an_option_existed_still_build():
    old = {k: v for k, v in OPTIONS["cnn1d"].items() if k != "stem_stride"}
    assert models.build("cnn1d", 1, 4, 100.0, **old).features[0][0].stride == (1,)
