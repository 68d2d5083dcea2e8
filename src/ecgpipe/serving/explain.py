"""Why the model said what it said: Integrated Gradients (captum) over a whole record.

The attribution of a class is taken through the same path the served model scores a record by
(its windows, normalisation or STFT, the aggregation over windows), from a flat 0 mV baseline
(the isoelectric line), so it says which samples of which leads moved that class's probability.
:func:`figure` draws them under the ECG in the clinical layout (the 12-lead sheet, or strips);
:func:`examples` does it for the surest and the least sure true call of each class on a split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from captum.attr import IntegratedGradients
from matplotlib.figure import Figure
from torch.nn import functional as F

from ecgpipe.evaluation import metrics, plots
from ecgpipe.evaluation.ecg_plot import plot_ecg
from ecgpipe.processing.cache import Cache
from ecgpipe.processing.windows import window_starts
from ecgpipe.serving.model import RecordModel


def record_probabilities(model: RecordModel, x: torch.Tensor) -> torch.Tensor:
    """(N, leads, T) records of one length -> (N, C) probabilities, differentiably: the windows
    and aggregation of :meth:`RecordModel.score`."""
    c = model.contract
    n, t = x.shape[0], x.shape[-1]
    starts = window_starts(t, c.window, c.stride)
    if t < c.window:
        x = F.pad(x, (0, c.window - t))
    windows = torch.stack([x[..., s : s + c.window] for s in starts], dim=1)  # (N, W, L, win)
    p = model.windows(windows.flatten(0, 1)).view(n, len(starts), -1)
    return p.amax(dim=1) if c.aggregate == "max" else p.mean(dim=1)


def attribute(
    model: RecordModel, x: np.ndarray, classes: Sequence[int], n_steps: int = 32
) -> np.ndarray:
    """(len(classes), leads, T) Integrated Gradients of each class's probability for record
    ``x`` (leads, T), from a 0 mV baseline."""
    if model.per_beat:
        raise ValueError("a heartbeat model has no whole record to explain")
    record = torch.from_numpy(np.array(model.check(x)))[None]  # a writable copy
    ig = IntegratedGradients(lambda batch: record_probabilities(model, batch))
    out = [
        ig.attribute(
            record, torch.zeros_like(record), target=int(k), n_steps=n_steps, internal_batch_size=8
        )[0]
        .detach()
        .numpy()
        for k in classes
    ]
    return np.stack(out) if out else np.zeros((0, *x.shape), np.float32)


def explained_classes(model: RecordModel, probs: np.ndarray) -> list[int]:
    """The classes to explain: the predicted ones, or the most probable where none is."""
    names = model.decide(probs[None])[0]
    return [model.contract.classes.index(n) for n in names] or [int(np.argmax(probs))]


def figure(
    model: RecordModel, x: np.ndarray, *, title: str = "", n_steps: int = 32
) -> tuple[Figure, np.ndarray, dict[str, np.ndarray]]:
    """The record in the clinical layout with each explained class's attribution beneath its
    traces, probabilities in the title; also the probabilities and the attributions."""
    c = model.contract
    probs = model.score([x])[0]
    classes = explained_classes(model, probs)
    maps = attribute(model, x, classes, n_steps)
    overlays = {c.classes[k]: m for k, m in zip(classes, maps, strict=True)}
    shown = ", ".join(f"{name} {p:.2f}" for name, p in zip(c.classes, probs, strict=True))
    heading = f"{title}\n{shown}" if title else shown
    return plot_ecg(x, c.fs, c.leads, title=heading, overlays=overlays), probs, overlays


def examples(
    model: RecordModel,
    cache: Cache,
    rows: np.ndarray,
    truth: np.ndarray,
    p: np.ndarray,
    hits: np.ndarray,
    out: Path,
) -> list[Path]:
    """Per class, the most and the least confident true positive among ``rows`` of a
    preprocessed ``cache`` (``truth``, ``p`` and ``hits`` a row each), drawn with the model's
    attribution (``<class>-most.png``, ``<class>-least.png`` in ``out``)."""
    written = []
    for k, name in enumerate(cache.classes):
        tp = np.flatnonzero(truth[:, k] & hits[:, k])
        if not len(tp):
            continue
        order = tp[np.argsort(p[tp, k])]
        for tag, i in (("most", order[-1]), ("least", order[0])):
            if tag == "least" and len(tp) == 1:
                break
            record = str(cache.index["record_id"].iloc[rows[i]])
            title = f"record {record}: true {name}, {tag} confident (p {p[i, k]:.2f})"
            fig, _, _ = figure(model, np.asarray(cache.signal(rows[i])), title=title)
            plots.save_png(fig, out / f"{metrics.metric_name(name)}-{tag}.png")
            written.append(out / f"{metrics.metric_name(name)}-{tag}.png")
    return written
