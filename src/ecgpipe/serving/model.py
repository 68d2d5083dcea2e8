"""A trained model as it scores new data: in torch, with nothing of the training code.

:class:`WindowModel` wraps the network with the training split's normalisation and, for
spectrogram models, an STFT in torch that reproduces :func:`ecgpipe.processing.dsp.spectrogram`
(periodic Hann window, no padding, ``|Z| / sum(window)``, log, the same frequency bins):
(B, leads, T) windows in mV -> probabilities. A beat model (input kind ``signal_features``) takes
a beat per row instead, flat as the cache holds it: (B, leads * T + K), the window lead after
lead, then its K features; so does a classical beat model (:class:`FeatureModel`), which reads
only the features.

:class:`RecordModel` scores whole records as ``evaluate`` does: windows of the evaluation length
at its stride over all of the record (:mod:`ecgpipe.processing.windows`), the window probabilities
aggregated (max or mean), and labels decided by the rule ``train`` chose (validation-tuned
thresholds, or the argmax with its class factors). Its :class:`Contract` says what input it
wants (sampling rate, leads, minimum length) and how the records were preprocessed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ecgpipe.config.schema import BEAT_INPUTS, PreprocessConfig
from ecgpipe.core import contract
from ecgpipe.evaluation import conformal
from ecgpipe.models import INPUTS, classical, member_logits
from ecgpipe.models.classical import pool
from ecgpipe.processing import dsp, rhythm_features
from ecgpipe.processing.normalization import WINDOW_STD_FLOOR, Normalizer
from ecgpipe.processing.windows import crop, window_starts


class WindowModel(nn.Module):
    """Windows in mV, (B, leads, T) (a beat model: flat beat rows) -> probabilities (B, C)."""

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
            keep, _ = dsp.spectrogram_bins(s["window"], fs, s["f_min"], s["f_max"])
            self.spec = (s["window"], dsp.spectrogram_hop(s["window"], s["overlap"]))
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

    @torch.inference_mode()
    def probabilities(self, x: np.ndarray, batch: int) -> np.ndarray:
        """(N, C) probabilities of windows (or beat rows) ``x``, ``batch`` at a time."""
        t = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        return torch.cat([self(t[i : i + batch]) for i in range(0, len(t), batch)]).numpy()


class FeatureModel:
    """A classical beat model (:mod:`ecgpipe.models.classical`): beat rows, flat as a beat
    network takes them, (B, leads * T + K) -> probabilities (B, C), from their K features."""

    kind = "features"

    def __init__(self, estimator, n_features: int, n_classes: int):
        self.estimator, self.n_features, self.n_classes = estimator, n_features, n_classes

    def probabilities(self, x: np.ndarray, batch: int = 0) -> np.ndarray:
        """(N, C) probabilities of beat rows ``x`` (all at once: ``batch`` is for networks)."""
        features = np.asarray(x, np.float32)[:, -self.n_features :]
        return classical.probabilities(self.estimator, features, self.n_classes)


class RhythmModel:
    """Gradient-boosted trees on a whole record's rhythm features (of its first lead, see
    :mod:`ecgpipe.processing.rhythm_features`): record probabilities, pooled with the
    network's at ``weight`` (``train.rhythm``)."""

    def __init__(self, estimator, weight: float, fs: float, n_classes: int):
        self.estimator, self.weight, self.fs, self.n_classes = estimator, weight, fs, n_classes
        self.names = rhythm_features.NAMES
        """The features it was fitted on, by name: a later version with more still serves it."""

    def features(self, records: Sequence[np.ndarray]) -> np.ndarray:
        """(N, features) of records (leads, T) in mV."""
        return rhythm_features.table(records, self.fs, self.names)

    def probabilities(self, records: Sequence[np.ndarray]) -> np.ndarray:
        return classical.probabilities(self.estimator, self.features(records), self.n_classes)

    def blend(self, probs: np.ndarray, records: Sequence[np.ndarray]) -> np.ndarray:
        """The network's record probabilities pooled with these (:func:`pool`)."""
        return pool(probs, self.probabilities(records), self.weight)


class InputError(ValueError):
    """A record the model cannot score: wrong shape, leads, length, or non-finite samples."""


@dataclass(frozen=True)
class Contract:
    """What a :class:`RecordModel` takes and how it labels; JSON-able (``asdict``)."""

    classes: tuple[str, ...]
    leads: tuple[str, ...]
    fs: float
    label_kind: str
    """``multilabel`` (labels at ``thresholds``) or ``multiclass`` (argmax of p * ``factors``)."""
    window: int
    """Samples per window; records are scored from windows every ``stride`` samples."""
    stride: int
    aggregate: str
    min_samples: int
    """Shortest record accepted: one window, or the shortest record the model was trained and
    validated on where that is shorter (such records are zero-padded to a window, as in
    ``evaluate``)."""
    thresholds: tuple[float | None, ...] | None = None
    """Multilabel: per class; ``None`` for a class without validation positives (never called)."""
    factors: tuple[float, ...] | None = None
    preprocess: dict = field(default_factory=dict)
    """The ``preprocess`` configuration the training data went through (band-pass, ``fs``)."""
    quality: dict = field(default_factory=dict)
    """The ``validate`` limits the training records met (flat, saturated, amplitude)."""
    source: dict = field(default_factory=dict)
    """Where the model comes from: dataset, task, model name, MLflow run."""
    annotator: str | None = None
    """A beat model: the annotation file whose beats it scores (``ecgpipe predict`` detects the
    beats of a record that has none)."""
    conformal: dict | None = None
    """Split-conformal quantiles calibrated on the validation split
    (:class:`ecgpipe.evaluation.conformal.Conformal`); None in models logged before them."""

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def reads(self) -> contract.Reads:
        """What the model reads, to check an input against (:func:`ecgpipe.core.contract.check`)."""
        return contract.Reads.of(self.leads, self.fs, self.classes)

    def sets(self, probs: np.ndarray) -> list[str] | None:
        """Each record's prediction set as text, or None for a model without calibration:
        single-label, the classes joined by ``;``; multilabel, each class's verdict joined by
        ``;`` (``MI=present``, ``MI=absent``, ``MI=either``; a class with an empty set left
        out)."""
        calibration = getattr(self, "conformal", None)  # None: logged before calibration
        if calibration is None:
            return None
        member = conformal.sets(conformal.Conformal.from_dict(calibration), probs)
        if member.ndim == 2:
            return [
                ";".join(k for k, m in zip(self.classes, row, strict=True) if m) for row in member
            ]
        verdict = {(False, True): "present", (True, False): "absent", (True, True): "either"}
        return [
            ";".join(
                f"{k}={verdict[tuple(v)]}" for k, v in zip(self.classes, row.tolist(), strict=True)
                if any(v)
            )
            for row in member
        ]  # fmt: skip

    def preprocessing(self) -> PreprocessConfig:
        """The preprocessing the model's training data went through."""
        raw = copy.deepcopy(self.preprocess)
        raw.get("beats", {}).setdefault("features", "rr")  # logged before there were feature sets
        return PreprocessConfig.model_validate(raw)


class RecordModel(nn.Module):
    """Whole records (leads, T) in mV at ``contract.fs`` -> per-class probabilities."""

    def __init__(
        self,
        windows: WindowModel | FeatureModel,
        contract: Contract,
        batch_windows: int = 64,
        rhythm: RhythmModel | None = None,
    ):
        super().__init__()
        self.windows, self.contract, self.batch_windows = windows, contract, batch_windows
        self.rhythm = rhythm
        self.eval()

    @property
    def per_beat(self) -> bool:
        """Whether it scores beat rows (a heartbeat model) rather than whole records."""
        return self.windows.kind in BEAT_INPUTS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, leads, T) records of one length -> (B, C) aggregated probabilities."""
        return torch.from_numpy(self.score(list(x.detach().cpu().numpy())))

    def check(self, x: np.ndarray, name: str = "record") -> np.ndarray:
        """``x`` as float32 (leads, T), or an :class:`InputError` saying what is wrong."""
        c = self.contract
        x = np.asarray(x)
        if x.ndim != 2:
            raise InputError(
                f"{name}: expected (leads, samples) for {', '.join(c.leads)}; got {x.shape}"
            )
        try:  # an array's leads have no names: they are taken in the model's order
            contract.check(c.reads, contract.Reads(x.shape[0]), f"{name}: the model", "it")
        except contract.ContractError as err:
            raise InputError(str(err)) from None
        if x.dtype.kind not in "fiu":  # not bool, complex, text or objects
            raise InputError(f"{name}: samples must be real numbers, not {x.dtype}")
        if x.shape[1] < c.min_samples:
            raise InputError(
                f"{name}: {x.shape[1] / c.fs:.2f} s long; the model needs at least "
                f"{c.min_samples / c.fs:.2f} s ({c.min_samples} samples at {c.fs:g} Hz)"
            )
        bad = ~np.isfinite(x)
        if bad.any():
            leads = sorted({c.leads[i] for i in np.flatnonzero(bad.any(axis=1))})
            raise InputError(
                f"{name}: {int(bad.sum())} NaN or infinite samples (leads {', '.join(leads)})"
            )
        return x.astype(np.float32, copy=False)

    def score(self, records: Sequence[np.ndarray]) -> np.ndarray:
        """(B, C) probabilities of records of any lengths (each checked by :meth:`check`); for
        a beat model, of beat rows (leads * window + features,) as the cache holds them."""
        c = self.contract
        if self.per_beat:
            width = len(c.leads) * c.window + self.windows.n_features
            rows = [self.check_row(r, width, f"beat {i}") for i, r in enumerate(records)]
            return self.score_windows(np.stack(rows) if rows else np.zeros((0, width)))
        cuts, counts, checked = [], [], []
        for i, record in enumerate(records):
            x = self.check(record, f"record {i}")
            starts = window_starts(x.shape[1], c.window, c.stride)
            cuts.extend(crop(x, s, c.window) for s in starts)
            counts.append(len(starts))
            checked.append(x)
        if not cuts:
            return np.zeros((0, len(c.classes)), np.float32)
        probs = self.score_windows(np.stack(cuts))
        edges = np.concatenate([[0], np.cumsum(counts)[:-1]])
        if c.aggregate == "max":
            probs = np.maximum.reduceat(probs, edges, axis=0)
        else:
            probs = np.add.reduceat(probs, edges, axis=0) / np.asarray(counts)[:, None]
        rhythm = getattr(self, "rhythm", None)  # models logged before it lack the attribute
        return probs if rhythm is None else rhythm.blend(probs, checked)

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        """(N, C) probabilities of windows (N, leads, window) cut from records (a beat model: its
        beat rows), in batches."""
        if not len(windows):
            return np.zeros((0, len(self.contract.classes)), np.float32)
        return self.windows.probabilities(windows, self.batch_windows)

    def check_row(self, row: np.ndarray, width: int, name: str) -> np.ndarray:
        row = np.asarray(row)
        if row.shape != (width,):
            raise InputError(
                f"{name}: expected a beat row of {width} values; got shape {row.shape}"
            )
        if row.dtype.kind not in "fiu":
            raise InputError(f"{name}: values must be real numbers, not {row.dtype}")
        if not np.isfinite(row).all():
            raise InputError(f"{name}: NaN or infinite values")
        return row.astype(np.float32, copy=False)

    def decide(self, probs: np.ndarray) -> list[list[str]]:
        """The labels of each record: classes at or above their threshold (multilabel), or the
        argmax of the class-weighted probabilities (single-label)."""
        c = self.contract
        if c.label_kind == "multilabel":
            assert c.thresholds is not None
            hits = probs >= np.asarray(c.thresholds, dtype=float)  # None: never called
            return [[k for k, h in zip(c.classes, row, strict=True) if h] for row in hits]
        factors = np.ones(len(c.classes)) if c.factors is None else np.asarray(c.factors)
        return [[c.classes[int(i)]] for i in np.argmax(probs * factors, axis=1)]
