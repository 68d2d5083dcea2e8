"""The model zoo: 1D CNNs on the signal (one with RR-interval features), a 2D CNN on
spectrograms, a hybrid of both, a heartbeat CNN, and classical heartbeat classifiers.

:func:`build` makes a network by name (:data:`NETWORKS`); the classical models
(:data:`CLASSICAL`, scikit-learn) are built by :mod:`ecgpipe.models.classical`. :data:`INPUTS`
says what each model reads: ``signal`` (B, leads, T), ``spectrogram`` (B, leads, F, T'), ``both``
(called as ``model(signal, spec)``), ``signal_features`` (``model(signal, features)``, the cache's
per-row features, (B, K)), or ``features`` alone (a classical beat model).
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import torch
from torch import nn

from ecgpipe.config.schema import MODEL_NAMES, MODEL_OPTIONS, ModelInput
from ecgpipe.models import beat_cnn, classical, cnn1d_rr
from ecgpipe.models.beat_cnn import BeatCNN
from ecgpipe.models.cnn1d import CNN1d
from ecgpipe.models.cnn1d_rr import CNN1dRR
from ecgpipe.models.hybrid import Hybrid
from ecgpipe.models.inception1d import Inception1d
from ecgpipe.models.resnet1d import ResNet1dWang, XResNet1d
from ecgpipe.models.spectro2d import Spectro2d

Input = ModelInput

RENAMED = {"ecgpipe.models.rhythm": cnn1d_rr, "ecgpipe.models.beat": beat_cnn}
"""Modules renamed after models were logged (issue 34): their pickles name the classes under the
old module, which resolves to the new one (tests/serving/test_logged_models.py)."""
for _old, _module in RENAMED.items():
    sys.modules.setdefault(_old, _module)


class Ensemble(nn.Module):
    """Members of one architecture, each from its own initialisation: a deep ensemble.

    Returns the members' logits stacked, (members, B, classes); the caller trains each on its own
    loss and averages their probabilities (see :func:`member_logits`).
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(*inputs) for m in self.members])


def member_logits(net: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """(members, B, classes) logits of ``net``: one member unless it is an :class:`Ensemble`."""
    out = net(*inputs)
    return out if isinstance(net, Ensemble) else out[None]


_MODELS: dict[str, tuple[type[nn.Module], dict[str, Any]]] = {
    "cnn1d": (CNN1d, {}),
    "cnn1d_rr": (CNN1dRR, {}),
    "resnet1d_wang": (ResNet1dWang, {}),
    "xresnet1d50": (XResNet1d, {"layers": (3, 4, 6, 3)}),
    "xresnet1d101": (XResNet1d, {"layers": (3, 4, 23, 3)}),
    "inception1d": (Inception1d, {}),
    "spectro2d": (Spectro2d, {}),
    "hybrid": (Hybrid, {}),
    "beat_cnn": (BeatCNN, {}),
}
"""Each model's class and the constructor arguments its name fixes (the depth of an xresnet)."""
NAMES = MODEL_NAMES
NETWORKS = tuple(_MODELS)
CLASSICAL = tuple(classical.ESTIMATORS)
assert set(NETWORKS) | set(CLASSICAL) == set(NAMES), "every configurable model has a builder"
INPUTS: dict[str, Input] = {name: MODEL_OPTIONS[name].input for name in NAMES}


GIVEN = {"in_channels", "n_classes", "fs", "n_features"}
"""Constructor arguments the data decides, never options: leads, classes, sampling rate, and
the number of per-row features."""


def options_of(name: str) -> set[str]:
    """The constructor options model ``name`` accepts."""
    if name in classical.ESTIMATORS:
        return set(inspect.signature(classical.ESTIMATORS[name]).parameters) - classical.GIVEN
    cls, fixed = _MODELS[name]
    return set(inspect.signature(cls).parameters) - GIVEN - set(fixed)


ADDED_OPTIONS: dict[str, dict[str, Any]] = {"cnn1d": {"stem_stride": 1}}
"""Options added after models were logged with the network's options, and the value that builds
the network those models saved (so that they keep loading)."""


def build(
    name: str,
    in_channels: int,
    n_classes: int,
    fs: float,
    members: int = 1,
    n_features: int = 0,
    **options: Any,
) -> nn.Module:
    """Model ``name`` for ``in_channels`` leads at ``fs`` Hz (and ``n_features`` per-row
    features) and ``n_classes`` outputs (logits), with ``options`` (all of those
    :data:`ecgpipe.config.schema.MODEL_OPTIONS` lists for it, as ``conf/model/<name>.yaml``
    gives them);
    an :class:`Ensemble` of that many independently initialised copies for ``members > 1``."""
    if members > 1:
        return Ensemble(
            [
                build(name, in_channels, n_classes, fs, n_features=n_features, **options)
                for _ in range(members)
            ]
        )
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(NAMES)}")
    cls, fixed = _MODELS[name]
    checked = MODEL_OPTIONS[name].model_validate(ADDED_OPTIONS.get(name, {}) | options)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in checked}
    params = inspect.signature(cls).parameters
    if "fs" in params:
        kwargs["fs"] = fs
    if "n_features" in params:
        if n_features <= 0:
            raise ValueError(f"model {name} reads per-row features and the data has none")
        kwargs["n_features"] = n_features
    return cls(in_channels, n_classes, **(fixed | kwargs))
