"""The cohort: patients, their diagnoses as SCP codes, their records, and the folds.

Everything here is drawn from one stream, ``np.random.default_rng([seed, COHORT_STREAM])``,
without synthesising a signal, so the labels of a large cohort are cheap to inspect.
Diagnoses, anatomy and baseline heart rate belong to the patient; every record of a patient
shares them (with small record-to-record changes), so a record-wise split would leak.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.data.synthetic.noise import NoiseLevels
from ecgpipe.data.synthetic.physiology import Finding, Morphology, Rhythm
from ecgpipe.data.synthetic.record import RecordSpec
from ecgpipe.data.synthetic.scp import superclasses

_K = TypeVar("_K")

COHORT_STREAM = 0xC0407
N_FOLDS = 10

# Superclass combinations and their share of records, after PTB-XL: NORM 44 %, MI 24.5 %,
# STTC 23.5 %, CD 22.5 %, HYP 12.5 %; NORM is exclusive but for a few conduction findings.
LABEL_SETS: dict[tuple[str, ...], float] = {
    ("NORM",): 0.425,
    ("NORM", "CD"): 0.015,
    ("MI",): 0.125,
    ("STTC",): 0.100,
    ("CD",): 0.095,
    ("HYP",): 0.030,
    ("MI", "CD"): 0.050,
    ("MI", "STTC"): 0.030,
    ("STTC", "HYP"): 0.040,
    ("STTC", "CD"): 0.025,
    ("CD", "HYP"): 0.015,
    ("MI", "HYP"): 0.010,
    ("MI", "STTC", "HYP"): 0.015,
    ("STTC", "CD", "HYP"): 0.010,
    ("MI", "STTC", "CD"): 0.010,
    ("MI", "STTC", "CD", "HYP"): 0.005,
}

# The SCP codes that stand for a superclass, with their shares within it.
SUBCODES: dict[str, dict[str, float]] = {
    "MI": {"IMI": 0.40, "ASMI": 0.32, "ILMI": 0.10, "AMI": 0.10, "LMI": 0.08},
    "STTC": {"NDT": 0.30, "NST_": 0.18, "ISC_": 0.32, "ISCAL": 0.20},
    "CD": {"IRBBB": 0.27, "CRBBB": 0.30, "CLBBB": 0.18, "1AVB": 0.25},
}
_NORMAL_CD = {"IRBBB": 0.6, "1AVB": 0.4}  # conduction findings seen beside NORM
_ST_DEPRESSION = ("ISC_", "ISCAL")  # findings that also carry the form statement STD_
_LIKELIHOODS = {100.0: 0.6, 80.0: 0.25, 50.0: 0.15}  # of a diagnostic statement
_PVC_PATIENTS = 0.08
_PVC_RECORDS = 0.7  # of a PVC patient's records
_FIRST_DAY = dt.datetime(1984, 1, 1, 8, 0, 0)


@dataclass(frozen=True)
class PlannedRecord:
    """One row of ``ptbxl_database.csv`` and the spec of its signal."""

    index: int  # 0-based position; ecg_id = index + 1
    patient_id: int
    age: int
    sex: int  # 0 male, 1 female (as in PTB-XL)
    recording_date: str
    scp_codes: dict[str, float]
    strat_fold: int
    spec: RecordSpec

    @property
    def ecg_id(self) -> int:
        return self.index + 1

    @property
    def superclasses(self) -> frozenset[str]:
        return superclasses(self.scp_codes)


@dataclass(frozen=True)
class Cohort:
    records: tuple[PlannedRecord, ...]
    n_patients: int


@dataclass(frozen=True)
class _Patient:
    patient_id: int
    sex: int
    age: float
    first_day: float
    label_set: tuple[str, ...]
    findings: tuple[Finding, ...]
    morphology: Morphology
    heart_rate: float
    pvc: bool
    focus: tuple[float, float, float]


def _pick(rng: np.random.Generator, shares: Mapping[_K, float]) -> _K:
    """A key drawn with probability proportional to its share."""
    u = rng.random() * sum(shares.values())
    for key, share in shares.items():
        u -= share
        if u < 0.0:
            return key
    return key


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(float(x), lo), hi)


def _normal(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    return _clip(mean + sd * rng.standard_normal(), lo, hi)


def _codes(rng: np.random.Generator, label_set: tuple[str, ...]) -> list[str]:
    codes: list[str] = []
    for sc in label_set:
        if sc == "NORM":
            codes.append("NORM")
        elif sc == "CD" and "NORM" in label_set:
            codes.append(_pick(rng, _NORMAL_CD))
        elif sc == "CD":
            code = _pick(rng, SUBCODES["CD"])
            codes.append(code)
            if code != "1AVB" and rng.random() < 0.12:
                codes.append("1AVB")
        elif sc == "HYP":
            u = rng.random()
            codes += ["LVH"] if u < 0.65 else ["LVH", "LAO/LAE"] if u < 0.85 else ["LAO/LAE"]
        else:
            codes.append(_pick(rng, SUBCODES[sc]))
    return codes


def _lognormal(rng: np.random.Generator, sigma: float, lo: float, hi: float) -> float:
    return _clip(np.exp(sigma * rng.standard_normal()), lo, hi)


def _draw_patient(rng: np.random.Generator, patient_id: int, difficulty: float) -> _Patient:
    label_set = _pick(rng, LABEL_SETS)
    effect = 1.5 - difficulty  # 1.5 blatant .. 0.5 subtle
    findings = tuple(
        Finding(code, effect * rng.uniform(0.45, 1.3), rng.random())
        for code in _codes(rng, label_set)
    )
    sex = int(rng.random() < 0.48)
    age = _normal(rng, *((52.0, 17.0) if label_set == ("NORM",) else (65.0, 12.0)), 18.0, 88.0)
    rot_sd = np.deg2rad(10.0 + 20.0 * difficulty)
    gain_sd = 0.12 + 0.16 * difficulty
    morphology = Morphology(
        rotation=(
            _normal(rng, 0.0, 0.6 * rot_sd, -1.0, 1.0),
            _normal(rng, 0.0, 0.6 * rot_sd, -1.0, 1.0),
            _normal(rng, -0.006 * (age - 50.0), rot_sd, -1.0, 1.0),
        ),
        p_gain=_lognormal(rng, 0.2, 0.5, 2.0),
        qrs_gain=_lognormal(rng, gain_sd, 0.6, 1.7)
        * (0.88 if sex else 1.0)
        * (1.0 - 0.003 * (age - 50.0)),
        t_gain=_lognormal(rng, gain_sd + 0.05, 0.5, 2.0),
        qrs_scale=_normal(rng, 0.96 if sex else 1.0, 0.04 + 0.04 * difficulty, 0.9, 1.12),
        pr=_normal(rng, 0.155 + 0.0005 * (age - 50.0), 0.015, 0.12, 0.19),
        t_peak=_normal(rng, 0.27, 0.015, 0.23, 0.31),
    )
    focus = rng.standard_normal(3)
    focus /= np.linalg.norm(focus)
    return _Patient(
        patient_id=patient_id,
        sex=sex,
        age=age,
        first_day=float(rng.uniform(0.0, 16 * 365.0)),
        label_set=label_set,
        findings=findings,
        morphology=morphology,
        heart_rate=_clip((72.0 + 3.0 * sex) * _lognormal(rng, 0.12, 0.6, 1.6), 45.0, 115.0),
        pvc=bool(rng.random() < _PVC_PATIENTS),
        focus=(float(focus[0]), float(focus[1]), float(focus[2])),
    )


def _draw_record(
    rng: np.random.Generator, p: _Patient, index: int, day: float, cfg: SyntheticDataConfig
) -> tuple[dt.datetime, PlannedRecord]:
    """A record of patient ``p`` taken ``day`` days after the first day; returns its time."""
    m = p.morphology
    jitter = rng.normal(0.0, 0.04, 3).tolist()
    morphology = Morphology(
        rotation=(m.rotation[0] + jitter[0], m.rotation[1] + jitter[1], m.rotation[2] + jitter[2]),
        p_gain=m.p_gain * _lognormal(rng, 0.05, 0.8, 1.25),
        qrs_gain=m.qrs_gain * _lognormal(rng, 0.05, 0.8, 1.25),
        t_gain=m.t_gain * _lognormal(rng, 0.05, 0.8, 1.25),
        qrs_scale=m.qrs_scale * _normal(rng, 1.0, 0.02, 0.96, 1.04),
        pr=m.pr + _normal(rng, 0.0, 0.005, -0.01, 0.01),
        t_peak=m.t_peak + _normal(rng, 0.0, 0.005, -0.01, 0.01),
    )
    heart_rate = _clip(p.heart_rate * _lognormal(rng, 0.06, 0.8, 1.25), 42.0, 125.0)
    pvc = p.pvc and rng.random() < _PVC_RECORDS
    rhythm = Rhythm(
        rr=60.0 / heart_rate,
        rsa=float(rng.uniform(0.01, 0.06)),
        resp_hz=float(rng.uniform(0.15, 0.35)),
        resp_phase=float(rng.uniform(0.0, 2.0 * np.pi)),
        jitter=float(rng.uniform(0.005, 0.025)),
        n_ectopic=int(min(1 + rng.poisson(0.7), 4)) if pvc else 0,
        coupling=float(rng.uniform(0.5, 0.7)),
    )
    scale = 0.6 + 0.8 * cfg.difficulty
    noise = NoiseLevels(
        wander_mv=scale * float(rng.uniform(0.05, 0.15)),
        emg_mv=scale * 0.007 * _lognormal(rng, 0.5, 0.3, 4.0),
        emg_bursts=float(rng.uniform(1.0, 5.0)) if rng.random() < 0.2 else 0.0,
        mains_mv=scale * float(rng.uniform(0.005, 0.03)),
        mains_hz=float(cfg.mains_hz),
    )
    codes: dict[str, float] = {}
    for f in p.findings:
        if f.code == "NORM":
            codes[f.code] = 100.0 if rng.random() < 0.85 else 80.0
        else:
            codes[f.code] = _pick(rng, _LIKELIHOODS)
    if any(f.code in _ST_DEPRESSION for f in p.findings):
        codes["STD_"] = 0.0
    if rhythm.n_ectopic:
        codes["PVC"] = 0.0
    codes["SBRAD" if heart_rate < 60.0 else "STACH" if heart_rate > 100.0 else "SR"] = 0.0
    when = _FIRST_DAY + dt.timedelta(days=int(day), seconds=int(rng.uniform(0.0, 10 * 3600.0)))
    spec = RecordSpec(
        index=index,
        seed=cfg.seed,
        fs=cfg.sampling_rate,
        n_samples=round(cfg.duration_s * cfg.sampling_rate),
        morphology=morphology,
        findings=tuple(f for f in p.findings if f.code != "NORM"),
        rhythm=rhythm,
        ectopic_focus=p.focus,
        noise=noise,
    )
    record = PlannedRecord(
        index=index,
        patient_id=p.patient_id,
        age=int(p.age + (day - p.first_day) / 365.25),
        sex=p.sex,
        recording_date=when.strftime("%Y-%m-%d %H:%M:%S"),
        scp_codes=codes,
        strat_fold=0,
        spec=spec,
    )
    return when, record


def assign_folds(
    rng: np.random.Generator, patient_sets: dict[int, tuple[str, ...]], sizes: dict[int, int]
) -> dict[int, int]:
    """Fold 1..10 per patient, stratified by label set: within each set, patients (largest first,
    ties in random order) go to the fold holding the fewest of that set's records so far."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for pid in sorted(patient_sets):
        groups[tuple(sorted(patient_sets[pid]))].append(pid)
    total = np.zeros(N_FOLDS)
    folds: dict[int, int] = {}
    for key in sorted(groups):
        pids = [groups[key][i] for i in rng.permutation(len(groups[key]))]
        pids.sort(key=lambda pid: -sizes[pid])
        in_group = np.zeros(N_FOLDS)
        for pid in pids:
            fold = int(np.lexsort((np.arange(N_FOLDS), total, in_group))[0])
            folds[pid] = fold + 1
            in_group[fold] += sizes[pid]
            total[fold] += sizes[pid]
    return folds


def draw_cohort(cfg: SyntheticDataConfig) -> Cohort:
    """Patients, their records (ecg_id in recording order, as in PTB-XL) and folds."""
    rng = np.random.default_rng([cfg.seed, COHORT_STREAM])
    counts = rng.geometric(1.0 / cfg.records_per_patient, size=cfg.n_records)
    cum = np.cumsum(counts)
    n_patients = int(np.searchsorted(cum, cfg.n_records)) + 1
    counts = counts[:n_patients]
    counts[-1] -= int(cum[n_patients - 1]) - cfg.n_records
    ids = rng.choice(np.arange(1, 25 * n_patients + 1), size=n_patients, replace=False)
    patients = [_draw_patient(rng, int(pid), cfg.difficulty) for pid in ids]

    drawn: list[tuple[dt.datetime, PlannedRecord]] = []
    for p, k in zip(patients, counts, strict=True):
        days = p.first_day + np.concatenate([[0.0], np.cumsum(rng.uniform(1.0, 700.0, k - 1))])
        for day in days:
            drawn.append(_draw_record(rng, p, len(drawn), float(day), cfg))
    drawn.sort(key=lambda d: (d[0], d[1].index))  # ecg_id follows the recording time

    folds = assign_folds(
        rng,
        {p.patient_id: p.label_set for p in patients},
        {p.patient_id: int(k) for p, k in zip(patients, counts, strict=True)},
    )
    records = tuple(
        replace(r, index=i, spec=replace(r.spec, index=i), strat_fold=folds[r.patient_id])
        for i, (_, r) in enumerate(drawn)
    )
    return Cohort(records=records, n_patients=n_patients)
