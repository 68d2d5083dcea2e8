"""Recording noise, generated per electrode and carried into the leads as a real ECG does.

Each of the nine electrodes (RA, LA, LL, C1..C6) gets its own baseline wander (respiration and
slow drift, < 0.5 Hz), muscle noise (broadband, in bursts), mains pickup and amplifier noise.
Limb leads are electrode differences and precordial leads are measured against Wilson's central
terminal, so the noise is correlated across leads the way it is in real recordings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_ELECTRODES = 9
_N_DRIFT = 3  # slow random sinusoids per electrode, besides the respiratory one
_SLOW_STEP_S = 0.05  # slow components (< 0.5 Hz) are evaluated on this grid and interpolated
_AMPLIFIER_MV = 0.0015


@dataclass(frozen=True)
class NoiseLevels:
    """A record's noise: per-electrode amplitudes in mV."""

    wander_mv: float  # baseline wander amplitude
    emg_mv: float  # muscle noise rms between bursts
    emg_bursts: float  # relative extra muscle noise at the peak of a burst
    mains_mv: float  # mains amplitude (kept only where the sampling rate can carry it)
    mains_hz: float


def electrode_noise(
    rng: np.random.Generator,
    levels: NoiseLevels,
    fs: float,
    n: int,
    resp_hz: float,
    resp_phase: float,
) -> np.ndarray:
    """(9, n) noise potentials in mV."""
    e = N_ELECTRODES
    # Slow components on a coarse grid: baseline wander (respiration, shared rhythm with an
    # electrode-specific amplitude and phase lag, plus drift; all below 0.5 Hz) and the
    # envelope of muscle-noise bursts.
    tc = np.arange(int(n / fs / _SLOW_STEP_S) + 2) * _SLOW_STEP_S
    freq = np.concatenate([np.full((e, 1), resp_hz), rng.uniform(0.02, 0.5, (e, _N_DRIFT))], 1)
    amp = levels.wander_mv * np.concatenate(
        [rng.uniform(0.3, 1.0, (e, 1)), rng.uniform(0.0, 0.6, (e, _N_DRIFT))], 1
    )
    phase = np.concatenate(
        [resp_phase + rng.uniform(-0.5, 0.5, (e, 1)), rng.uniform(0, 2 * np.pi, (e, _N_DRIFT))], 1
    )
    wander = (amp[..., None] * np.sin(2 * np.pi * freq[..., None] * tc + phase[..., None])).sum(1)
    burst = np.sin(
        2 * np.pi * rng.uniform(0.05, 0.4, (e, 1)) * tc + rng.uniform(0, 2 * np.pi, (e, 1))
    )
    envelope = 1.0 + levels.emg_bursts * burst.clip(0) ** 4
    pos = np.arange(n) / (fs * _SLOW_STEP_S)
    j = pos.astype(np.int64)
    frac = pos - j
    slow = np.concatenate([wander, envelope])
    slow = slow[:, j] * (1.0 - frac) + slow[:, j + 1] * frac
    noise = slow[:e]

    # Muscle noise: high-passed white noise (first difference), swelling in bursts.
    white = rng.standard_normal((e, n + 1))
    noise += (white[:, 1:] - white[:, :-1]) * (levels.emg_mv / np.sqrt(2.0)) * slow[e:]

    # Mains: common phase, electrode-specific coupling, a little third harmonic; only where
    # it lies well below Nyquist (a 100 Hz recorder's anti-alias filter has removed it).
    if levels.mains_mv > 0.0 and levels.mains_hz < 0.4 * fs:
        coupling = levels.mains_mv * rng.uniform(0.3, 1.0, (e, 1))
        w = 2 * np.pi * levels.mains_hz / fs * np.arange(n) + rng.uniform(0, 2 * np.pi)
        hum = np.sin(w)
        if 3.0 * levels.mains_hz < 0.4 * fs:
            hum = hum + 0.15 * np.sin(3.0 * w)
        noise += coupling * hum

    noise += _AMPLIFIER_MV * rng.standard_normal((e, n))
    return noise


def electrodes_to_leads(potentials: np.ndarray) -> np.ndarray:
    """Leads I, II, V1..V6 (8, n) from potentials at RA, LA, LL, C1..C6 (9, n): limb leads are
    differences, precordial leads are taken against Wilson's central terminal."""
    ra, la, ll = potentials[0], potentials[1], potentials[2]
    wct = (ra + la + ll) / 3.0
    return np.concatenate([np.stack([la - ra, ll - ra]), potentials[3:] - wct])


def lead_noise(
    rng: np.random.Generator,
    levels: NoiseLevels,
    fs: float,
    n: int,
    resp_hz: float,
    resp_phase: float,
) -> np.ndarray:
    """(8, n) noise in leads I, II, V1..V6 (mV)."""
    return electrodes_to_leads(electrode_noise(rng, levels, fs, n, resp_hz, resp_phase))
