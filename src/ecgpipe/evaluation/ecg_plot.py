"""ECGs as a clinician reads them, on ECG paper (minor grid 0.04 s x 0.1 mV, major 0.2 s x 0.5 mV;
equal aspect gives 25 mm/s at 10 mm/mV).

:func:`plot_12lead` draws the standard 3 x 4 layout over a lead II rhythm strip: columns of a
quarter of the record each (2.5 s of a 10 s ECG): I, II, III | aVR, aVL, aVF | V1, V2, V3 |
V4, V5, V6, each row offset on one time axis. :func:`plot_strips` draws any other record (one
lead, or leads that are not the standard twelve) as rhythm strips, a row per 10 s of each lead.
:func:`plot_ecg` picks the one that fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator

from ecgpipe.core.errors import PipelineError
from ecgpipe.core.leads import lead_key

LAYOUT = (("I", "AVR", "V1", "V4"), ("II", "AVL", "V2", "V5"), ("III", "AVF", "V3", "V6"))
ROW_MV = 3.0  # vertical distance between rows


def plot_12lead(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    *,
    title: str = "",
    rhythm: str = "II",
    overlays: Mapping[str, np.ndarray] | None = None,
) -> Figure:
    """``signal`` (leads, samples) in mV, lead names as in the record (any case); ``overlays``
    (see :func:`_overlay`) drawn beneath each trace."""
    index = {lead_key(name): i for i, name in enumerate(leads)}
    wanted = {lead for row in LAYOUT for lead in row} | {rhythm.upper()}
    if missing := sorted(w for w in wanted if lead_key(w) not in index):
        raise PipelineError(f"cannot draw the 12-lead layout: no lead(s) {missing} in {leads}")
    n = signal.shape[1]
    quarter = n // 4
    t = np.arange(n) / fs
    rows = [*LAYOUT, (rhythm.upper(),)]
    height = ROW_MV * len(rows)
    inch = 25.4  # mm
    fig = Figure(figsize=(n / fs * 25 / inch + 0.6, height * 10 / inch + 0.9))
    ax = fig.add_subplot()
    for r, row in enumerate(rows):
        base = height - ROW_MV * (r + 0.5)
        for c, lead in enumerate(row):
            part = slice(0, n) if len(row) == 1 else slice(c * quarter, (c + 1) * quarter)
            y = signal[index[lead_key(lead)], part]
            ax.plot(t[part], base + y - np.nanmedian(y), color="black", linewidth=0.7)
            _overlay(ax, t[part], base, overlays, index[lead_key(lead)], part)
            label = lead if lead[0] == "V" or lead in ("I", "II", "III") else "a" + lead[1:]
            ax.text(t[part][0] + 0.05, base + 0.9, label, fontsize=9, fontweight="bold")
            if c:  # the lead change marker
                ax.plot([t[part][0]] * 2, [base - 0.5, base + 0.5], color="black", linewidth=1)
    _finish(fig, ax, n / fs, height, title, overlays)
    return fig


def plot_strips(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    *,
    title: str = "",
    row_s: float = 10.0,
    overlays: Mapping[str, np.ndarray] | None = None,
) -> Figure:
    """``signal`` (leads, samples) in mV as rhythm strips: each lead in rows of ``row_s``."""
    n = signal.shape[1]
    per_row = max(1, round(row_s * fs))
    rows = [(j, start) for j in range(len(leads)) for start in range(0, n, per_row)]
    height = ROW_MV * len(rows)
    inch = 25.4  # mm
    fig = Figure(figsize=(row_s * 25 / inch + 0.6, height * 10 / inch + 0.9))
    ax = fig.add_subplot()
    for r, (j, start) in enumerate(rows):
        base = height - ROW_MV * (r + 0.5)
        y = signal[j, start : start + per_row]
        t = np.arange(len(y)) / fs
        ax.plot(t, base + y - np.nanmedian(y), color="black", linewidth=0.7)
        _overlay(ax, t, base, overlays, j, slice(start, start + per_row))
        ax.text(0.05, base + 0.9, f"{leads[j]}  {start / fs:g} s", fontsize=9, fontweight="bold")
    _finish(fig, ax, row_s, height, title, overlays)
    return fig


def plot_ecg(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    *,
    title: str = "",
    overlays: Mapping[str, np.ndarray] | None = None,
) -> Figure:
    """The 12-lead layout where the record has the twelve standard leads, strips otherwise."""
    names = {lead_key(name) for name in leads}
    if {lead_key(lead) for row in LAYOUT for lead in row} <= names:
        return plot_12lead(signal, fs, leads, title=title, overlays=overlays)
    return plot_strips(signal, fs, leads, title=title, overlays=overlays)


OVERLAY_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")


def _overlay(ax, t, base, overlays, lead: int, part: slice) -> None:
    """Each overlay (name -> (leads, samples), e.g. attributions) as a band under the trace:
    its magnitude, scaled by the overlay's largest over the whole record, up to 1 mV high."""
    for k, values in enumerate((overlays or {}).values()):
        a = np.abs(values)
        height = a[lead, part] / max(float(a.max()), 1e-12)
        bottom = base - ROW_MV / 2 + 0.1
        color = OVERLAY_COLORS[k % len(OVERLAY_COLORS)]
        ax.fill_between(t, bottom, bottom + height, color=color, alpha=0.45, linewidth=0)


def _finish(fig, ax, seconds: float, height: float, title: str, overlays) -> None:
    _paper(ax, seconds, height)
    for k, name in enumerate(overlays or {}):
        ax.fill_between([], [], color=OVERLAY_COLORS[k % len(OVERLAY_COLORS)], label=name)
    if overlays:
        ax.legend(loc="upper right", fontsize=8, title="attribution", title_fontsize=8)
    ax.set_title(title)
    fig.tight_layout()


def _paper(ax, seconds: float, height: float) -> None:
    ax.xaxis.set_major_locator(MultipleLocator(0.2))
    ax.xaxis.set_minor_locator(MultipleLocator(0.04))
    ax.yaxis.set_major_locator(MultipleLocator(0.5))
    ax.yaxis.set_minor_locator(MultipleLocator(0.1))
    ax.grid(which="major", color="#e58f8f", linewidth=0.8)
    ax.grid(which="minor", color="#f6c9c9", linewidth=0.4)
    ax.set_axisbelow(True)
    ax.tick_params(which="both", length=0, labelleft=False, labelbottom=False)
    ax.set_xlim(0, seconds)
    ax.set_ylim(0, height)
    ax.set_aspect(0.4)  # 25 mm/s and 10 mm/mV: a large square is 0.2 s x 0.5 mV
    ax.set_xlabel(f"{seconds:g} s; large squares 0.2 s x 0.5 mV")
