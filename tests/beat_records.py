"""Synthetic heartbeat records in MIT-BIH's layout (``RECORDS``, 360 Hz, MLII and V1, reference
``.atr`` annotations), so the beat models run end to end where the real DS1 is not at hand.

Each record has its own rate and QRS amplitude. Beats are sums of Gaussian waves: a normal beat
(``N``) has a P wave, a narrow QRS and an upright T wave; a supraventricular premature beat
(``A``, AAMI S) comes early with a different P wave; a ventricular one (``V``) comes early and
is wide and tall, with an inverted T wave and no P, followed by a compensatory pause. A rhythm
annotation (``+``) opens every record, as in MIT-BIH, so that non-beat symbols are exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

FS = 360


def _wave(t: np.ndarray, at: float, amp: float, width: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t - at) / width) ** 2)


def write_beat_records(folder: Path, n_records: int, seconds: float = 60.0, seed: int = 0) -> Path:
    """``n_records`` records named ``r00``, ``r01``... in ``folder``, listed in ``RECORDS``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n_records):
        name = f"r{i:02d}"
        rr, gain = rng.uniform(0.65, 1.1), rng.uniform(0.7, 1.6)
        t = np.arange(int(seconds * FS)) / FS
        x = np.zeros((2, len(t)))
        peaks, symbols = [], []
        at = 0.5
        while at < seconds - 1.0:
            kind = rng.choice(["N", "A", "V"], p=[0.8, 0.1, 0.1])
            if symbols and symbols[-1] != "N":
                kind = "N"
            if kind != "N":  # premature: pull this beat earlier than the rhythm would
                at -= (0.3 if kind == "A" else 0.35) * rr
            near = np.abs(t - at) < 0.6
            tt = t[near]
            for lead, sign in ((0, 1.0), (1, -0.6)):
                if kind == "V":  # a tall R, a deep wide S: about 0.14 s of QRS
                    beat = (
                        _wave(tt, at, 1.6 * gain, 0.018)
                        - _wave(tt, at + 0.055, 0.9 * gain, 0.025)
                        - _wave(tt, at + 0.3, 0.5 * gain, 0.06)
                    )
                else:
                    p_amp = -0.12 if kind == "A" else 0.15
                    beat = (
                        _wave(tt, at - 0.16, p_amp * gain, 0.022)
                        + _wave(tt, at, gain, 0.011)
                        + _wave(tt, at + 0.26, 0.3 * gain, 0.05)
                    )
                x[lead, near] += sign * beat
            peaks.append(round(at * FS))
            symbols.append(kind)
            at += rr * (1.3 if kind == "V" else 1.0) + rng.normal(0, 0.02)
        x += rng.normal(0, 0.02, x.shape)
        wfdb.wrsamp(
            name,
            fs=FS,
            units=["mV", "mV"],
            sig_name=["MLII", "V1"],
            p_signal=x.T,
            fmt=["212", "212"],
            adc_gain=[200.0, 200.0],
            baseline=[1024, 1024],
            write_dir=str(folder),
        )
        wfdb.wrann(
            name,
            "atr",
            np.array([0, *peaks]),
            np.array(["+", *symbols]),
            aux_note=["(N", *[""] * len(peaks)],
            write_dir=str(folder),
        )
        names.append(name)
    (folder / "RECORDS").write_text("\n".join(names) + "\n")
    return folder
