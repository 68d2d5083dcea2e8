"""The signal looks like an ECG: lead algebra, intervals and the findings, measured from signals."""

from __future__ import annotations

import numpy as np
import pytest

from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.data.synthetic import LEADS, Cohort, PlannedRecord, draw_cohort, synthesize
from ecgpipe.data.synthetic.physiology import (
    BLOCKED_P,
    ECTOPIC,
    Finding,
    Morphology,
    Rhythm,
    beat_train,
    ectopic_waves,
    project,
    render_dipole,
    sinus_waves,
    twelve_leads,
    unit,
)
from tests.conftest import conf

FS = 1000  # measurements on clean beats rendered at 1 kHz
L = {name: i for i, name in enumerate(LEADS)}
INDEPENDENT = [L[n] for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
RHYTHM_CODES = {"SR", "SBRAD", "STACH", "PVC"}
TYPICAL = Morphology((0.0, 0.0, 0.0), 1.0, 1.0, 1.0, 1.0, 0.16, 0.27)


def clean_beat(m: Morphology, findings: tuple[Finding, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """One noise-free sinus beat (R peak at t = 0) as times (s) and (12, n) leads (mV)."""
    n = 2 * FS
    dipole = render_dipole((sinus_waves(m, findings),), np.array([1.0]), np.array([0]), FS, n)
    return np.arange(n) / FS - 1.0, twelve_leads(project(dipole))


def qrs_bounds(t: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """QRS onset and offset: where the spatial velocity of the independent leads leaves and
    re-enters 20 ms of quiet (below 10 % of its QRS peak) around the QRS."""
    v = np.linalg.norm(np.gradient(x[INDEPENDENT], axis=1), axis=0) * FS
    peak = int(np.argmax(np.where(np.abs(t) < 0.1, v, 0.0)))
    gap = int(0.02 * FS)
    quiet = np.convolve(v < 0.1 * v[peak], np.ones(gap), "same") >= gap
    before = np.flatnonzero(quiet[:peak])[-1] + gap // 2
    after = np.flatnonzero(quiet[peak:])[0] + peak - gap // 2
    return float(t[before]), float(t[after])


def pr_interval(t: np.ndarray, x: np.ndarray, onset: float) -> float:
    """P onset (spatial magnitude above 10 % of the P peak) to QRS onset."""
    m = np.linalg.norm(x[INDEPENDENT], axis=0)
    window = (t > onset - 0.45) & (t < onset - 0.03)
    first = np.flatnonzero(window & (m > 0.1 * m[window].max()))[0]
    return onset - float(t[first])


def st_deviation(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """ST level at J + 60 ms against the PR baseline (10 ms before QRS onset), per lead."""
    onset, offset = qrs_bounds(t, x)
    return x[:, np.searchsorted(t, offset + 0.06)] - x[:, np.searchsorted(t, onset - 0.01)]


def measure(records: list[PlannedRecord]) -> dict[str, np.ndarray]:
    qrs, pr, st, sokolow = [], [], [], []
    for r in records:
        t, x = clean_beat(r.spec.morphology, r.spec.findings)
        onset, offset = qrs_bounds(t, x)
        qrs.append(offset - onset)
        pr.append(pr_interval(t, x, onset))
        st.append(st_deviation(t, x))
        sokolow.append(-x[L["V1"]].min() + x[L["V5"]].max())
    return {"qrs": np.array(qrs), "pr": np.array(pr), "st": np.array(st), "sok": np.array(sokolow)}


def having(cohort: Cohort, code: str) -> list[PlannedRecord]:
    return [r for r in cohort.records if code in r.scp_codes]


def normal_only(cohort: Cohort) -> list[PlannedRecord]:
    return [r for r in cohort.records if set(r.scp_codes) - RHYTHM_CODES == {"NORM"}]


@pytest.fixture(scope="module")
def normal(cohort: Cohort) -> dict[str, np.ndarray]:
    return measure(normal_only(cohort)[:400])


def test_limb_leads_obey_einthoven_and_goldberger(cohort: Cohort) -> None:
    x = synthesize(cohort.records[0].spec)
    i, ii, iii, avr, avl, avf = x[:6]
    assert x.shape == (12, 1000)
    np.testing.assert_allclose(iii, ii - i, atol=1e-12)
    np.testing.assert_allclose(avr, -(i + ii) / 2, atol=1e-12)
    np.testing.assert_allclose(avl, i - ii / 2, atol=1e-12)
    np.testing.assert_allclose(avf, ii - i / 2, atol=1e-12)


def test_synthesize_is_pure(cohort: Cohort) -> None:
    spec = cohort.records[5].spec
    np.testing.assert_array_equal(synthesize(spec), synthesize(spec))
    assert not np.array_equal(synthesize(spec), synthesize(spec, clean=True))


def test_normal_beat_has_textbook_morphology() -> None:
    t, x = clean_beat(TYPICAL)
    qrs = np.abs(t) < 0.06
    r = x[:, qrs].max(axis=1)
    s = -x[:, qrs].min(axis=1)
    assert r[L["V1"]] < 0.5 * s[L["V1"]]  # V1 rS
    assert r[L["V6"]] > 3.0 * s[L["V6"]]  # V6 qR ...
    v6 = x[L["V6"]]
    assert v6[(t > -0.05) & (t < -0.01)].min() < -0.02  # ... with a septal q
    ratio = r[L["V1"] :] / (r[L["V1"] :] + s[L["V1"] :])
    assert np.all(np.diff(ratio[:5]) > 0)  # R-wave progression V1..V5
    assert 0.7 < r[L["II"]] < 2.0 and s[L["AVR"]] > 0.7  # upright II, negative aVR
    t_wave = x[:, np.searchsorted(t, 0.27)]
    assert t_wave[L["II"]] > 0.1 and t_wave[L["V5"]] > 0.1 and t_wave[L["AVR"]] < -0.1
    p_wave = x[:, np.searchsorted(t, -0.13)]
    assert p_wave[L["II"]] > 0.05 and p_wave[L["AVR"]] < 0


def test_normal_intervals(normal: dict[str, np.ndarray]) -> None:
    assert normal["qrs"].max() < 0.110
    assert 0.07 < np.median(normal["qrs"]) < 0.10
    assert 0.12 < np.median(normal["pr"]) < 0.20


@pytest.mark.parametrize("code", ["CRBBB", "CLBBB"])
def test_bundle_branch_block_widens_qrs(cohort: Cohort, code: str) -> None:
    assert measure(having(cohort, code))["qrs"].min() >= 0.120


def test_first_degree_av_block_prolongs_pr(cohort: Cohort, normal: dict[str, np.ndarray]) -> None:
    assert measure(having(cohort, "1AVB"))["pr"].min() > 0.200
    assert np.median(normal["pr"]) < 0.18


def test_inferior_mi_elevates_st_inferiorly_with_reciprocal_avl(cohort: Cohort) -> None:
    st = st_deviation(*clean_beat(TYPICAL, (Finding("IMI", 1.0, 0.0),)))  # acute
    assert min(st[L["II"]], st[L["III"]], st[L["AVF"]]) > 0.1
    assert st[L["AVL"]] < -0.05

    st = measure([r for r in having(cohort, "IMI") if len(r.spec.findings) == 1])["st"]
    median = np.median(st, axis=0)
    assert min(median[L["II"]], median[L["III"]], median[L["AVF"]]) > 0.03
    assert median[L["AVL"]] < -0.01
    assert np.mean(st[:, L["AVF"]] > 0) > 0.9 and np.mean(st[:, L["AVL"]] < 0) > 0.65


def test_old_inferior_mi_has_q_waves_and_inverted_t() -> None:
    t, x = clean_beat(TYPICAL, (Finding("IMI", 1.0, 1.0),))
    onset, _ = qrs_bounds(t, x)
    initial = (t > onset) & (t < onset + 0.04)
    for lead in ("III", "AVF"):
        assert x[L[lead], initial].min() < -0.2  # pathological Q
        assert x[L[lead], np.searchsorted(t, 0.27)] < -0.05  # inverted T


def test_anterior_mi_elevates_st_in_v1_to_v4() -> None:
    st = st_deviation(*clean_beat(TYPICAL, (Finding("ASMI", 1.0, 0.0),)))
    assert np.all(st[L["V1"] : L["V4"] + 1] > 0.1)


@pytest.mark.parametrize("code", ["ISC_", "NST_"])
def test_sttc_depresses_st_in_lateral_leads(
    cohort: Cohort, normal: dict[str, np.ndarray], code: str
) -> None:
    records = [r for r in having(cohort, code) if len(r.spec.findings) == 1]
    st = np.median(measure(records)["st"], axis=0)
    for lead in ("V5", "V6"):
        assert st[L[lead]] < -0.03
        assert np.median(normal["st"][:, L[lead]]) > 0.0


def test_non_diagnostic_t_abnormality_flattens_lateral_t(cohort: Cohort) -> None:
    def lateral_t(records: list[PlannedRecord]) -> float:
        peaks = [clean_beat(r.spec.morphology, r.spec.findings) for r in records]
        return float(np.median([x[L["V5"], np.searchsorted(t, 0.27)] for t, x in peaks]))

    ndt = [r for r in having(cohort, "NDT") if len(r.spec.findings) == 1]
    assert lateral_t(ndt) < 0.4 * lateral_t(normal_only(cohort)[:200])


def test_ischemia_flattens_or_inverts_lateral_t() -> None:
    t, x = clean_beat(TYPICAL, (Finding("ISC_", 1.0, 1.0),))
    assert x[L["V5"], np.searchsorted(t, 0.27)] < 0.0


def test_lvh_has_high_voltage(cohort: Cohort, normal: dict[str, np.ndarray]) -> None:
    lvh = measure([r for r in having(cohort, "LVH") if set(r.scp_codes) - RHYTHM_CODES == {"LVH"}])
    assert np.median(lvh["sok"]) > 3.5  # Sokolow-Lyon S(V1) + R(V5)
    assert np.median(normal["sok"]) < 3.0
    assert np.mean(lvh["sok"] > 3.5) > 2.0 * np.mean(normal["sok"] > 3.5)


def test_left_atrial_enlargement_widens_p_with_deep_terminal_v1() -> None:
    def p_wave(findings: tuple[Finding, ...]) -> tuple[float, float]:
        t, x = clean_beat(TYPICAL, findings)
        onset, _ = qrs_bounds(t, x)
        window = (t > onset - 0.4) & (t < onset - 0.01)
        m = np.linalg.norm(x[INDEPENDENT], axis=0)
        above = t[window & (m > 0.1 * m[window].max())]
        return above[-1] - above[0], x[L["V1"], window].min()

    duration, v1 = p_wave(())
    assert duration < 0.11 and v1 > -0.1
    duration, v1 = p_wave((Finding("LAO/LAE", 1.0, 0.5),))
    assert duration > 0.12 and v1 < -0.1


def test_difficulty_shrinks_effects() -> None:
    st = []
    for difficulty in (0.0, 1.0):
        c = draw_cohort(
            SyntheticDataConfig(**conf("data", "synthetic", n_records=600, difficulty=difficulty))
        )
        st.append(np.median(measure(having(c, "IMI"))["st"][:, L["AVF"]]))
    assert st[0] > 1.5 * st[1] > 0.0


def test_heart_rate_varies_beat_to_beat() -> None:
    rhythm = Rhythm(0.8, 0.04, 0.25, 0.0, 0.01, 0, 0.6)
    times, kinds = beat_train(np.random.default_rng(0), rhythm, 10.0)
    rr = np.diff(times)
    assert np.all(kinds == 0)
    assert rr.std() > 0.01
    assert abs(rr.mean() - 0.8) < 0.05


def test_record_rr_variability_from_signal(cohort: Cohort) -> None:
    spec = cohort.records[0].spec
    x = synthesize(spec, clean=True)
    v = np.linalg.norm(np.diff(x[INDEPENDENT], axis=1), axis=0)
    peaks = np.flatnonzero((v > 0.5 * v.max()) & (v >= np.roll(v, 1)) & (v >= np.roll(v, -1)))
    beats = peaks[np.diff(peaks, prepend=-100) > 20]  # one per QRS (>= 200 ms apart)
    rr = np.diff(beats) / spec.fs
    assert len(rr) >= 6
    assert rr.std() > 0


def test_pvc_is_premature_with_compensatory_pause() -> None:
    rhythm = Rhythm(1.0, 0.0, 0.25, 0.0, 0.0, 2, 0.6)
    times, kinds = beat_train(np.random.default_rng(1), rhythm, 10.0)
    conducted = times[kinds != BLOCKED_P]
    k = kinds[kinds != BLOCKED_P]
    assert np.sum(k == ECTOPIC) == 2
    for j in np.flatnonzero(k == ECTOPIC):
        assert conducted[j] - conducted[j - 1] == pytest.approx(0.6, abs=1e-9)  # premature
        assert conducted[j + 1] - conducted[j - 1] == pytest.approx(2.0, abs=1e-9)  # pause


def test_pvc_is_wide_without_p_and_with_discordant_t() -> None:
    focus = unit(0.3, 0.4, -0.8)
    waves = ectopic_waves(TYPICAL, focus)
    n = 2 * FS
    x = twelve_leads(project(render_dipole((waves,), np.array([1.0]), np.array([0]), FS, n)))
    t = np.arange(n) / FS - 1.0
    onset, offset = qrs_bounds(t, x)
    assert offset - onset > 0.12
    assert np.abs(x[:, t < onset - 0.02]).max() < 0.02  # no P wave
    lead = int(np.argmax(np.abs(x[:, np.abs(t) < 0.05]).max(axis=1)))
    qrs = x[lead, np.argmax(np.abs(x[lead, np.abs(t) < 0.05])) + np.searchsorted(t, -0.05)]
    assert np.sign(x[lead, np.searchsorted(t, 0.3)]) == -np.sign(qrs)
