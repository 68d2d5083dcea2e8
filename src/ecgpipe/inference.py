"""A self-contained model for serving: preprocessed signal windows in mV -> probabilities.

Wraps the trained network with the training split's normalisation and, for spectrogram models,
an STFT in torch that reproduces :func:`ecgpipe.signal.spectrogram` (periodic Hann window, no
padding, ``|Z| / sum(window)``, log, the same frequency bins). This is what MLflow logs, so
``mlflow.pytorch.load_model(uri)(x)`` works on a (B, leads, T) float32 tensor. A beat model
(input kind ``signal_features``) takes a beat per row instead, flat as the cache holds it:
(B, leads * T + K), the window lead after lead, then its K RR features.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ecgpipe import signal as sig
from ecgpipe.models import INPUTS, member_logits
from ecgpipe.normalization import WINDOW_STD_FLOOR, Normalizer


class InferenceModel(nn.Module):
    def __init__(
        self,
        net: nn.Module,
        model_name: str,
        normalizer: Normalizer,
        multilabel: bool,
        fs: float,
        spectrogram: dict | None,
        n_features: int = 0,
    ):
        super().__init__()
        self.net, self.kind, self.multilabel = net, INPUTS[model_name], multilabel
        self.n_features, self.n_leads = n_features, len(normalizer.signal_mean)
        self.per_window = normalizer.per_window
        self.register_buffer("mean", torch.as_tensor(normalizer.signal_mean)[:, None])
        self.register_buffer("std", torch.as_tensor(normalizer.signal_std)[:, None])
        self.spec = None
        if self.kind in ("spectrogram", "both"):
            assert spectrogram is not None and normalizer.spectrogram_mean is not None
            s = spectrogram
            keep, _ = sig.spectrogram_bins(s["window"], fs, s["f_min"], s["f_max"])
            self.spec = (s["window"], sig.spectrogram_hop(s["window"], s["overlap"]))
            self.register_buffer("window", torch.hann_window(s["window"], periodic=True))
            self.register_buffer("bins", torch.as_tensor(np.flatnonzero(keep)))
            self.register_buffer(
                "spec_mean", torch.as_tensor(normalizer.spectrogram_mean)[..., None]
            )
            self.register_buffer("spec_std", torch.as_tensor(normalizer.spectrogram_std)[..., None])
        self.eval()

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """(B, leads, T) in mV -> (B, leads, F, T') log-magnitude, as the cache holds it."""
        assert self.spec is not None
        window, hop = self.spec
        frames = x.unfold(-1, window, hop) * self.window  # (B, L, T', window)
        mag = torch.fft.rfft(frames, dim=-1).abs() / self.window.sum()
        return torch.log(mag[..., self.bins] + 1e-6).transpose(-1, -2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = []
        features = None
        if self.kind == "signal_features":
            x, features = x[:, : -self.n_features], x[:, -self.n_features :]
            x = x.reshape(len(x), self.n_leads, -1)
        if self.kind in ("signal", "both", "signal_features"):
            if self.per_window:
                std = x.std(dim=-1, correction=0, keepdim=True).clamp(min=WINDOW_STD_FLOOR)
                inputs.append((x - x.mean(dim=-1, keepdim=True)) / std)
            else:
                inputs.append((x - self.mean) / self.std)
        if self.kind in ("spectrogram", "both"):
            inputs.append((self.spectrogram(x) - self.spec_mean) / self.spec_std)
        if features is not None:
            inputs.append(features)
        logits = member_logits(self.net, *inputs)  # (members, B, classes)
        probs = torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=-1)
        return probs.mean(dim=0)
