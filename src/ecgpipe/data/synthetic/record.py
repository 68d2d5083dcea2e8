"""One record from its spec: the pure, in-memory core of the generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgpipe.data.synthetic.noise import NoiseLevels, lead_noise
from ecgpipe.data.synthetic.physiology import (
    Finding,
    Morphology,
    Rhythm,
    beat_train,
    blocked_p_waves,
    ectopic_waves,
    project,
    render_dipole,
    sinus_waves,
    twelve_leads,
)

RESP_GAIN = 0.05  # relative QRS amplitude swing with respiration
RESP_AXIS_SWING = 0.05  # rad, electrical axis swing with respiration


@dataclass(frozen=True)
class RecordSpec:
    """Everything that determines one record's signal; its noise and beat-to-beat randomness
    come from ``np.random.default_rng([seed, index])``."""

    index: int
    seed: int
    fs: int
    n_samples: int
    morphology: Morphology
    findings: tuple[Finding, ...]
    rhythm: Rhythm
    ectopic_focus: tuple[float, float, float]  # unit vector, used when rhythm.n_ectopic > 0
    noise: NoiseLevels


def r_peaks(spec: RecordSpec) -> np.ndarray:
    """The record's R-peak times in seconds, as :func:`synthesize` draws them (the first draw of
    the record's generator): the truth an explanation of the beats can be judged against."""
    times, _ = beat_train(np.random.default_rng([spec.seed, spec.index]), spec.rhythm,
                          spec.n_samples / spec.fs)  # fmt: skip
    return times[(times >= 0) & (times < spec.n_samples / spec.fs)]


def synthesize(spec: RecordSpec, *, clean: bool = False) -> np.ndarray:
    """The record's 12 leads (``physiology.LEADS`` order) as a (12, n_samples) array in mV.

    ``clean`` leaves out the recording noise (the beat timing is the same).
    """
    rng = np.random.default_rng([spec.seed, spec.index])
    r = spec.rhythm
    times, kinds = beat_train(rng, r, spec.n_samples / spec.fs)
    sinus = sinus_waves(spec.morphology, spec.findings)
    templates = (sinus,)
    if r.n_ectopic:
        focus = np.asarray(spec.ectopic_focus)
        templates = (sinus, ectopic_waves(spec.morphology, focus), blocked_p_waves(sinus))
    resp = (r.resp_hz, r.resp_phase, RESP_GAIN, RESP_AXIS_SWING)
    leads = project(render_dipole(templates, times, kinds, spec.fs, spec.n_samples, resp))
    if not clean:
        leads += lead_noise(rng, spec.noise, spec.fs, spec.n_samples, r.resp_hz, r.resp_phase)
    return twelve_leads(leads)
