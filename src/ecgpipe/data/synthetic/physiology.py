"""Cardiac physiology: a beat as a sum of 3D dipole waves, beat timing, and lead projection.

The heart's electrical activity is one dipole per beat, in the spirit of the 3D ECGSYN model
(McSharry et al. 2003, Sameni et al. 2007): each wave (P, Q, R, S, T, ...) is an asymmetric
Gaussian in time with its own 3D vector. The frame is the patient's: x to the left, y to the
feet, z anterior. Findings (SCP codes) reshape the normal beat; the patient's anatomy rotates it.
Everything here is a pure NumPy function of its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

ATRIAL, VENTRICULAR, REPOLARISATION = 0, 1, 2
SINUS, ECTOPIC, BLOCKED_P = 0, 1, 2


def unit(*v: float) -> np.ndarray:
    """The unit vector along ``v``."""
    a = np.asarray(v, dtype=float)
    return a / np.linalg.norm(a)


def _precordial(angle_deg: float, gain: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return gain * np.array([np.cos(a), 0.0, np.sin(a)])


# Lead vectors of the independent leads I, II, V1..V6 (V1 right-anterior ... V6 left-lateral;
# the precordial gains model the electrodes' proximity to the heart).
LEAD_VECTORS = np.stack(
    [
        unit(1.0, 0.0, 0.0),
        unit(0.5, np.sqrt(3.0) / 2.0, 0.0),
        _precordial(120.0, 1.2),
        _precordial(94.0, 1.85),
        _precordial(72.0, 1.55),
        _precordial(50.0, 1.7),
        _precordial(27.0, 1.5),
        _precordial(5.0, 1.15),
    ]
)

# Infarct territories (direction the infarcted wall faces).
MI_WALLS: dict[str, np.ndarray] = {
    "IMI": unit(-0.25, 1.0, -0.1),
    "ILMI": unit(0.65, 0.8, -0.1),
    "ASMI": unit(-0.25, 0.0, 1.0),
    "AMI": unit(0.35, 0.05, 1.0),
    "LMI": unit(1.0, -0.4, 0.1),
}
# Walls whose subendocardium is ischaemic (ST depression, T flattening in the leads facing them).
_LATERAL = unit(0.75, 0.45, 0.45)
_ANTEROLATERAL = unit(0.5, 0.05, 0.85)
# code: (ST depression at full severity, at shape 0 and 1), (T factor at shape 0 and 1), wall
_STTC: dict[str, tuple[tuple[float, float], tuple[float, float], np.ndarray]] = {
    "NDT": ((0.02, 0.04), (0.3, -0.7), _LATERAL),
    "NST_": ((0.05, 0.10), (0.5, 0.0), _LATERAL),
    "ISC_": ((0.08, 0.18), (0.0, -0.8), _LATERAL),
    "ISCAL": ((0.08, 0.18), (0.0, -0.8), _ANTEROLATERAL),
}
_RIGHT_ANTERIOR = unit(-0.55, -0.1, 0.85)


@dataclass(frozen=True)
class Morphology:
    """A record's normal-beat shape: the patient's anatomy plus small record-to-record changes."""

    rotation: tuple[float, float, float]  # rad about x, y, z (z turns the frontal-plane axis)
    p_gain: float
    qrs_gain: float
    t_gain: float
    qrs_scale: float  # time scale of ventricular depolarisation (1 = about 85 ms)
    pr: float  # s, P onset to QRS onset
    t_peak: float  # s, R peak to T peak at RR = 1 s


@dataclass(frozen=True)
class Finding:
    """An SCP code as it shows in the beat: ``severity`` ~0.5 (subtle) .. 1.5 (blatant),
    ``shape`` in [0, 1] picks a variant (e.g. acute .. old infarct)."""

    code: str
    severity: float
    shape: float


@dataclass(frozen=True)
class Waves:
    """A beat template: K asymmetric Gaussian waves, times in s relative to the R peak."""

    center: np.ndarray  # (K,)
    sigma_left: np.ndarray  # (K,)
    sigma_right: np.ndarray  # (K,)
    vector: np.ndarray  # (K, 3) mV
    phase: np.ndarray  # (K,) ATRIAL, VENTRICULAR or REPOLARISATION

    def __len__(self) -> int:
        return len(self.center)


@dataclass
class _Wave:
    center: float
    sigma_left: float
    sigma_right: float
    vector: np.ndarray
    phase: int


def rotation_matrix(angles: tuple[float, float, float]) -> np.ndarray:
    """Rotation about x, then y, then z by ``angles`` (rad)."""
    ax, ay, az = angles
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    return rz @ ry @ rx


def _stack(waves: dict[str, _Wave], rotation: np.ndarray) -> Waves:
    ws = list(waves.values())
    return Waves(
        center=np.array([w.center for w in ws]),
        sigma_left=np.array([w.sigma_left for w in ws]),
        sigma_right=np.array([w.sigma_right for w in ws]),
        vector=np.stack([w.vector for w in ws]) @ rotation.T,
        phase=np.array([w.phase for w in ws]),
    )


def _apply_mi(w: dict[str, _Wave], f: Finding, q: float) -> None:
    wall = MI_WALLS[f.code]
    s, u = f.severity, f.shape
    r = w["R"]
    r.vector = r.vector - min(0.35 * s, 0.7) * max(float(r.vector @ wall), 0.0) * wall
    if f.code == "ASMI":
        w["Q"].vector = w["Q"].vector * max(1.0 - 0.8 * s, 0.0)
    # Necrosis: the initial QRS forces point away from the dead wall (pathological Q waves).
    q_amp = (0.2 + 0.25 * u) * s
    w[f"Q_{f.code}"] = _Wave(-0.016 * q, 0.011 * q, 0.014 * q, -q_amp * wall, VENTRICULAR)
    st = s * (0.03 + 0.15 * (1.0 - u) ** 2)  # acute (shape 0) .. old (shape 1) infarct
    w[f"ST_{f.code}"] = _Wave(0.09, 0.02, 0.10, st * wall, REPOLARISATION)
    w["T"].vector = w["T"].vector + s * (0.15 - 0.6 * u) * wall


def _apply_sttc(w: dict[str, _Wave], f: Finding) -> None:
    (st0, st1), (t0, t1), wall = _STTC[f.code]
    s, u = f.severity, f.shape
    st = s * (st0 + (st1 - st0) * u)
    t_factor = 1.0 - min(s, 1.2) * (1.0 - (t0 + (t1 - t0) * u))
    w[f"ST_{f.code}"] = _Wave(0.09, 0.02, 0.11, -st * wall, REPOLARISATION)
    t = w["T"]
    t.vector = t.vector + (t_factor - 1.0) * float(t.vector @ wall) * wall


def _apply_crbbb(w: dict[str, _Wave], f: Finding, q: float) -> None:
    s, u = f.severity, f.shape
    complete = f.code == "CRBBB"
    r = float(np.linalg.norm(w["R"].vector))
    if complete:
        amp = r * (0.42 + 0.2 * u) * (0.9 + 0.1 * min(s, 1.0))
    else:
        amp = r * (0.1 + 0.1 * u) * min(s, 1.2)
    c = (0.058 if complete else 0.045) * q
    w["Rp"] = _Wave(c, 0.016 * q, 0.018 * q, amp * _RIGHT_ANTERIOR, VENTRICULAR)
    if complete:
        w["S"].sigma_right *= 1.8
        w["T"].vector = w["T"].vector - 0.3 * s * _RIGHT_ANTERIOR


def _apply_clbbb(w: dict[str, _Wave], f: Finding) -> None:
    s, u = f.severity, f.shape
    r = w["R"]
    d = unit(0.75, 0.2, -0.65)
    amp = float(np.linalg.norm(r.vector)) * (1.0 + 0.2 * u)
    r.vector = amp * d
    r.center -= 0.35 * r.sigma_left
    r.sigma_right *= 1.3
    c2 = r.center + 3.0 * r.sigma_left  # the notch: late, more inferior LV forces
    late = 0.8 * amp * unit(0.5, 0.55, -0.65)
    w["R2"] = _Wave(c2, r.sigma_left, 1.6 * r.sigma_left, late, VENTRICULAR)
    w["Q"].vector = -0.5 * w["Q"].vector
    w["S"].vector = 0.15 * w["S"].vector
    w["ST_CLBBB"] = _Wave(0.1, 0.025, 0.1, -(0.08 + 0.08 * s) * d, REPOLARISATION)
    w["T"].vector = 0.3 * w["T"].vector - (0.3 + 0.25 * s) * d


def _apply_lvh(w: dict[str, _Wave], f: Finding) -> None:
    s, u = f.severity, f.shape
    gain = 1.0 + s * (0.55 + 0.35 * u)
    w["R"].vector = gain * w["R"].vector
    w["S"].vector = gain * w["S"].vector
    d = w["R"].vector / np.linalg.norm(w["R"].vector)
    w["ST_LVH"] = _Wave(0.09, 0.02, 0.10, -s * (0.02 + 0.08 * u) * d, REPOLARISATION)
    t = w["T"]
    t.vector = t.vector - s * (0.3 + 1.0 * u) * max(float(t.vector @ d), 0.0) * d


def _apply_lae(w: dict[str, _Wave], f: Finding) -> None:
    p = w["P_la"]
    p.vector = (1.3 + 0.5 * f.severity) * p.vector
    p.center += 0.012
    p.sigma_left *= 1.3
    p.sigma_right *= 1.3


# Time scale factors of the whole QRS for conduction findings.
_QRS_WIDENING = {"CRBBB": 1.28, "CLBBB": 1.45, "IRBBB": 1.1, "LVH": 1.08}
# Findings reshape the beat in this order (voltage first, ST-T last), whatever order they come in.
_ORDER = ("LVH", "LAO/LAE", *MI_WALLS, "CRBBB", "IRBBB", "CLBBB", *_STTC)


def sinus_waves(m: Morphology, findings: tuple[Finding, ...] = ()) -> Waves:
    """The conducted sinus beat of a record with these findings."""
    q = m.qrs_scale
    pr = m.pr
    for f in findings:
        q = min(q * _QRS_WIDENING.get(f.code, 1.0), 1.4)
        if f.code == "1AVB":
            pr = max(pr + 0.04 + 0.03 * f.severity + 0.05 * f.shape, 0.21)
    ga, gv, gt = m.p_gain, m.qrs_gain, m.t_gain
    w: dict[str, _Wave] = {
        "Q": _Wave(
            -0.021 * q, 0.008 * q, 0.008 * q, 0.25 * gv * unit(-0.83, 0.15, 0.54), VENTRICULAR
        ),
        "R": _Wave(0.0, 0.0095 * q, 0.0095 * q, 1.44 * gv * unit(0.65, 0.72, 0.25), VENTRICULAR),
        "S": _Wave(
            0.023 * q, 0.0095 * q, 0.010 * q, 0.89 * gv * unit(0.31, -0.28, -0.91), VENTRICULAR
        ),
        "T": _Wave(m.t_peak, 0.065, 0.042, 0.42 * gt * unit(0.54, 0.59, 0.6), REPOLARISATION),
    }
    qrs_onset = -0.021 * q - 2.0 * 0.008 * q
    p_center = qrs_onset - pr + 0.036
    w["P_ra"] = _Wave(p_center, 0.018, 0.018, 0.09 * ga * unit(0.25, 0.85, 0.45), ATRIAL)
    w["P_la"] = _Wave(p_center + 0.028, 0.02, 0.02, 0.08 * ga * unit(0.75, 0.45, -0.45), ATRIAL)
    for f in sorted((f for f in findings if f.code in _ORDER), key=lambda f: _ORDER.index(f.code)):
        if f.code in MI_WALLS:
            _apply_mi(w, f, q)
        elif f.code in _STTC:
            _apply_sttc(w, f)
        elif f.code in ("CRBBB", "IRBBB"):
            _apply_crbbb(w, f, q)
        elif f.code == "CLBBB":
            _apply_clbbb(w, f)
        elif f.code == "LVH":
            _apply_lvh(w, f)
        elif f.code == "LAO/LAE":
            _apply_lae(w, f)
    return _stack(w, rotation_matrix(m.rotation))


def ectopic_waves(m: Morphology, focus: np.ndarray) -> Waves:
    """A premature ventricular beat from a focus (unit vector): wide, no P, discordant T."""
    side = np.cross(focus, unit(0.0, 0.0, 1.0) if abs(focus[2]) < 0.9 else unit(1.0, 0.0, 0.0))
    second = unit(*(focus + 0.8 * side / np.linalg.norm(side)))
    g = m.qrs_gain
    w = {
        "V1": _Wave(-0.025, 0.028, 0.03, 1.6 * g * focus, VENTRICULAR),
        "V2": _Wave(0.04, 0.03, 0.032, 0.7 * g * second, VENTRICULAR),
        "T": _Wave(0.3, 0.075, 0.05, -0.6 * g * focus, REPOLARISATION),
    }
    return _stack(w, rotation_matrix(m.rotation))


def blocked_p_waves(sinus: Waves) -> Waves:
    """Only the P waves of ``sinus``: the sinus P hidden in an ectopic beat, not conducted."""
    return replace(sinus, vector=sinus.vector * (sinus.phase == ATRIAL)[:, None])


@dataclass(frozen=True)
class Rhythm:
    """Sinus rhythm with heart-rate variability and optional premature ventricular beats."""

    rr: float  # s, mean sinus RR
    rsa: float  # relative RR modulation by respiration
    resp_hz: float
    resp_phase: float
    jitter: float  # relative RR standard deviation (random, beat to beat)
    n_ectopic: int
    coupling: float  # ectopic coupling interval / RR


def beat_train(
    rng: np.random.Generator, rhythm: Rhythm, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """R-peak times (s; the first beats precede 0 so the record starts mid-cycle) and kinds."""
    n = int(np.ceil((duration + 2.0) / (rhythm.rr * (1.0 - rhythm.rsa - 3.0 * rhythm.jitter)))) + 2
    t_nominal = np.arange(n) * rhythm.rr
    mod = rhythm.rsa * np.sin(2.0 * np.pi * rhythm.resp_hz * t_nominal + rhythm.resp_phase)
    rr = rhythm.rr * (1.0 + mod + rhythm.jitter * rng.standard_normal(n))
    times = np.cumsum(rr) - 1.0 - rng.uniform(0.0, rhythm.rr)
    times = times[times < duration + 0.8]
    kinds = np.full(len(times), SINUS)
    candidates = np.flatnonzero((times > 0.6) & (times < duration - 1.0))
    candidates = candidates[::2]  # never two ectopic beats in a row
    k = min(rhythm.n_ectopic, len(candidates))
    if k:
        chosen = np.sort(rng.choice(candidates, size=k, replace=False))
        ectopic_t = times[chosen - 1] + rhythm.coupling * (times[chosen] - times[chosen - 1])
        # The sinus P still fires on time but is not conducted; the next sinus beat keeps its
        # time, so the pause is compensatory.
        kinds[chosen] = BLOCKED_P
        times = np.concatenate([times, ectopic_t])
        kinds = np.concatenate([kinds, np.full(k, ECTOPIC)])
        order = np.argsort(times, kind="stable")
        times, kinds = times[order], kinds[order]
    return times, kinds


def render_dipole(
    templates: tuple[Waves, ...],
    times: np.ndarray,
    kinds: np.ndarray,
    fs: float,
    n: int,
    resp: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> np.ndarray:
    """The (3, n) dipole of a beat train; ``kinds`` index ``templates``.

    Repolarisation scales with the preceding RR as QT does (Fridericia), the PR interval a little;
    ``resp`` = (Hz, phase, relative gain, axis swing rad) modulates each beat with respiration.
    Each wave is widened by a Gaussian anti-alias kernel of 0.45 / fs (area kept).
    """
    k = max(len(w) for w in templates)
    table = np.zeros((len(templates), k, 9))  # center, sigma l/r, vector, phase per wave
    table[:, :, 1:3] = 1.0
    table[:, :, 6] = VENTRICULAR
    for i, w in enumerate(templates):
        m = len(w)
        table[i, :m, 0], table[i, :m, 1], table[i, :m, 2] = w.center, w.sigma_left, w.sigma_right
        table[i, :m, 3:6], table[i, :m, 6] = w.vector, w.phase
    beats = table[kinds]
    center, sl, sr, vec = beats[..., 0], beats[..., 1], beats[..., 2], beats[..., 3:6]
    phase = beats[..., 6].astype(np.int64)

    gaps = np.diff(times)
    rr_prev = np.clip(np.concatenate([gaps[:1] if len(gaps) else [1.0], gaps]), 0.3, 2.0)
    scale = np.stack([rr_prev**0.1, np.ones_like(rr_prev), rr_prev ** (1.0 / 3.0)], axis=1)
    s = np.take_along_axis(scale, phase, axis=1)
    center = center * s
    stretch = np.where(phase == REPOLARISATION, s, 1.0)
    sl, sr = sl * stretch, sr * stretch
    aa = 0.45 / fs
    sl2, sr2 = np.sqrt(sl**2 + aa**2), np.sqrt(sr**2 + aa**2)
    amp = (sl + sr) / (sl2 + sr2)

    hz, ph, gain, swing = resp
    wave = np.sin(2.0 * np.pi * hz * times + ph)
    ang = swing * wave
    c, sn = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x, y = vec[..., 0], vec[..., 1]
    vec = np.stack([c * x - sn * y, sn * x + c * y, vec[..., 2]], axis=-1)
    vec = vec * (amp * (1.0 + gain * wave)[:, None])[..., None]

    lo = float(np.min(center - 5.0 * sl2))
    hi = float(np.max(center + 5.0 * sr2))
    offs = np.arange(int(np.floor(lo * fs)), int(np.ceil(hi * fs)) + 1)
    idx = np.floor(times * fs).astype(np.int64)[:, None] + offs  # (B, W)
    d = (idx / fs - times[:, None])[:, :, None] - center[:, None, :]  # (B, W, K)
    z = d / np.where(d < 0.0, sl2[:, None, :], sr2[:, None, :])
    contrib = np.exp(-0.5 * z * z) @ vec  # (B, W, 3)
    ok = (idx >= 0) & (idx < n)
    flat = idx[ok]
    return np.stack([np.bincount(flat, weights=contrib[..., j][ok], minlength=n) for j in range(3)])


def project(dipole: np.ndarray) -> np.ndarray:
    """Independent leads I, II, V1..V6 (8, n) of a (3, n) dipole."""
    v = LEAD_VECTORS
    return v[:, :1] * dipole[0] + v[:, 1:2] * dipole[1] + v[:, 2:] * dipole[2]


def twelve_leads(independent: np.ndarray) -> np.ndarray:
    """The 12 standard leads (``LEADS`` order) from I, II, V1..V6, by Einthoven and Goldberger."""
    i, ii = independent[0], independent[1]
    limb = np.stack([i, ii, ii - i, -(i + ii) / 2.0, i - ii / 2.0, ii - i / 2.0])
    return np.concatenate([limb, independent[2:]])
