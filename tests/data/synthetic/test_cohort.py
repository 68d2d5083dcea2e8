"""Cohort draws: prevalence like PTB-XL, patients with several records, folds per patient."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.data.synthetic import Cohort, draw_cohort
from ecgpipe.data.synthetic.cohort import N_FOLDS
from ecgpipe.data.synthetic.scp import STATEMENTS, SUPERCLASSES
from tests.conftest import conf

TARGETS = {"NORM": 0.44, "MI": 0.25, "STTC": 0.24, "CD": 0.22, "HYP": 0.12}


def prevalence(records) -> dict[str, float]:
    return {sc: float(np.mean([sc in r.superclasses for r in records])) for sc in SUPERCLASSES}


def test_prevalence_close_to_ptbxl(cohort: Cohort) -> None:
    assert len(cohort.records) == 3000
    for sc, p in prevalence(cohort.records).items():
        assert p == pytest.approx(TARGETS[sc], abs=0.03), sc


def test_labels_are_multilabel_and_norm_nearly_exclusive(cohort: Cohort) -> None:
    sets = [r.superclasses for r in cohort.records]
    assert all(sets)
    norm = [s for s in sets if "NORM" in s]
    assert np.mean([len(s) > 1 for s in norm]) < 0.05
    assert np.mean([len(s) > 1 for s in sets if "NORM" not in s]) > 0.2


def test_scp_codes_are_known_and_rhythm_matches_rate(cohort: Cohort) -> None:
    for r in cohort.records:
        assert set(r.scp_codes) <= set(STATEMENTS)
        rhythm = [c for c in r.scp_codes if STATEMENTS[c].rhythm]
        assert len(rhythm) == 1
        hr = 60.0 / r.spec.rhythm.rr
        expected = "SBRAD" if hr < 60 else "STACH" if hr > 100 else "SR"
        assert rhythm == [expected]
        assert ("PVC" in r.scp_codes) == (r.spec.rhythm.n_ectopic > 0)
        for code, likelihood in r.scp_codes.items():
            assert likelihood > 0 if STATEMENTS[code].diagnostic else likelihood == 0.0
    assert 0.02 < np.mean(["PVC" in r.scp_codes for r in cohort.records]) < 0.1


def test_patients_have_several_records_sharing_their_heart(cohort: Cohort) -> None:
    by_patient = defaultdict(list)
    for r in cohort.records:
        by_patient[r.patient_id].append(r)
    assert len(by_patient) == cohort.n_patients
    assert len(cohort.records) / cohort.n_patients == pytest.approx(2.0, abs=0.2)
    assert max(len(rs) for rs in by_patient.values()) >= 5
    for rs in by_patient.values():
        first = rs[0]
        for r in rs[1:]:
            assert r.superclasses == first.superclasses
            assert [f.code for f in r.spec.findings] == [f.code for f in first.spec.findings]
            assert r.sex == first.sex and r.strat_fold == first.strat_fold
            rot = np.subtract(r.spec.morphology.rotation, first.spec.morphology.rotation)
            assert np.abs(rot).max() < 0.3


def test_ecg_ids_follow_recording_time(cohort: Cohort) -> None:
    dates = [r.recording_date for r in cohort.records]
    assert dates == sorted(dates)
    assert [r.ecg_id for r in cohort.records] == list(range(1, 3001))
    assert [r.spec.index for r in cohort.records] == list(range(3000))
    ages = np.array([r.age for r in cohort.records])
    assert ages.min() >= 18 and ages.max() <= 100
    assert {r.sex for r in cohort.records} == {0, 1}


def test_folds_are_per_patient_and_stratified(cohort: Cohort) -> None:
    folds = np.array([r.strat_fold for r in cohort.records])
    assert set(folds) == set(range(1, N_FOLDS + 1))
    counts = np.bincount(folds)[1:]
    assert counts.min() >= 0.9 * counts.max()
    overall = prevalence(cohort.records)
    for fold in range(1, N_FOLDS + 1):
        in_fold = [r for r in cohort.records if r.strat_fold == fold]
        for sc, p in prevalence(in_fold).items():
            assert p == pytest.approx(overall[sc], abs=0.03), (fold, sc)


def test_cohort_is_deterministic_and_seeded() -> None:
    cfg = SyntheticDataConfig(**conf("data", "synthetic", n_records=200, seed=3))
    a, b = draw_cohort(cfg), draw_cohort(cfg)
    assert a == b
    c = draw_cohort(cfg.model_copy(update={"seed": 4}))
    assert [r.scp_codes for r in a.records] != [r.scp_codes for r in c.records]


def test_records_per_patient_follows_config() -> None:
    c = draw_cohort(
        SyntheticDataConfig(**conf("data", "synthetic", n_records=1000, records_per_patient=1.0))
    )
    assert c.n_patients == 1000
    c = draw_cohort(
        SyntheticDataConfig(**conf("data", "synthetic", n_records=1000, records_per_patient=4.0))
    )
    assert 1000 / c.n_patients == pytest.approx(4.0, abs=0.6)
