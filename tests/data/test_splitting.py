import numpy as np
import pytest

from ecgpipe.data import splitting
from ecgpipe.data.splitting import SplitError


def cohort(n_patients: int = 2000, seed: int = 0):
    """Patients with 1-4 records each, imbalanced multilabel classes shared by their records."""
    rng = np.random.default_rng(seed)
    per_patient = rng.integers(1, 5, n_patients)
    patients = np.repeat([f"p{i}" for i in range(n_patients)], per_patient)
    base = rng.random((n_patients, 4)) < [0.45, 0.25, 0.2, 0.1]
    y = np.repeat(base, per_patient, axis=0).astype(np.uint8)
    folds = np.repeat(rng.integers(1, 11, n_patients), per_patient)
    return patients, y, folds


RATIOS = {"train": 0.7, "val": 0.15, "test": 0.15}


def test_stratified_split_is_patient_disjoint_and_balanced():
    patients, y, _ = cohort()
    split = splitting.stratified(patients, y, 4, RATIOS, seed=3)
    assert splitting.patient_overlap(split, patients) == 0
    labelled = np.flatnonzero(y.any(axis=1))
    used = np.concatenate(list(split.parts().values()))
    assert sorted(used) == sorted(labelled)
    assert np.array_equal(split.unlabelled, np.flatnonzero(~y.any(axis=1)))
    overall = y[labelled].mean(axis=0)
    for name, part in split.parts().items():
        share = part.size / labelled.size
        assert share == pytest.approx(RATIOS[name], abs=0.02), name
        assert y[part].mean(axis=0) == pytest.approx(overall, abs=0.03), name


def test_stratified_split_is_deterministic_from_the_seed():
    patients, y, _ = cohort()
    a = splitting.stratified(patients, y, 4, RATIOS, seed=1)
    b = splitting.stratified(patients, y, 4, RATIOS, seed=1)
    c = splitting.stratified(patients, y, 4, RATIOS, seed=2)
    assert all(np.array_equal(a.parts()[k], b.parts()[k]) for k in splitting.SPLITS)
    assert not np.array_equal(a.test, c.test)


def test_single_label_data_is_stratified_too():
    rng = np.random.default_rng(0)
    patients = np.array([f"p{i}" for i in range(2000)])
    y = rng.choice([0, 1, 2, -1], size=2000, p=[0.6, 0.3, 0.08, 0.02])
    split = splitting.stratified(patients, y, 3, RATIOS, seed=0)
    assert split.unlabelled.size == (y == -1).sum()
    for part in split.parts().values():
        shares = np.bincount(y[part], minlength=3) / part.size
        assert shares == pytest.approx([0.612, 0.306, 0.082], abs=0.03)


def test_folds_follow_the_benchmark():
    patients, y, folds = cohort()
    split = splitting.by_folds(folds, y, {"train": list(range(1, 9)), "val": [9], "test": [10]})
    labelled = y.any(axis=1)
    assert set(folds[split.train]) <= set(range(1, 9))
    assert set(folds[split.val]) == {9} and set(folds[split.test]) == {10}
    assert split.train.size + split.val.size + split.test.size == labelled.sum()
    assert splitting.patient_overlap(split, patients) == 0


def test_folds_left_out_are_counted_and_reused_folds_rejected():
    _, y, folds = cohort()
    split = splitting.by_folds(folds, y, {"train": [1, 2], "val": [3], "test": [4]})
    assert split.unassigned.size == (np.isin(folds, range(5, 11)) & y.any(axis=1)).sum()
    with pytest.raises(SplitError, match="fold 3 is assigned to both val and test"):
        splitting.by_folds(folds, y, {"train": [1], "val": [3], "test": [3]})


def test_overlap_is_measured():
    patients = np.array(["a", "a", "b", "c"])
    split = splitting.Split(
        np.array([0, 2]), np.array([1]), np.array([3]), np.array([], int), np.array([], int)
    )
    assert splitting.patient_overlap(split, patients) == 1


def test_summary_counts_positives_per_split():
    patients, y, folds = cohort(200)
    split = splitting.by_folds(folds, y, {"train": list(range(1, 9)), "val": [9], "test": [10]})
    s = splitting.summary(split, patients, y, ["A", "B", "C", "D"])
    assert s["train"]["positives"]["A"] == int(y[split.train, 0].sum())
    assert s["test"]["n_patients"] == len(set(patients[split.test]))
    assert s["patient_overlap"] == 0


def beat_rows(records: list[str], per_record: int = 60, seed: int = 0):
    """Rows of beats: each record's rows, a patient per record except 201 and 202 (one)."""
    rng = np.random.default_rng(seed)
    rec = np.repeat(np.array(records), per_record)
    patients = np.array(["201+202" if r in ("201", "202") else r for r in rec])
    y = rng.integers(0, 3, len(rec))
    return rec, patients, y


LISTS = {"train": ["101", "106", "108", "109", "201"], "val": [], "test": ["100", "202"]}
DS_RATIOS = {"train": 0.8, "val": 0.2, "test": 0.0}


def test_named_records_go_where_listed_and_val_is_drawn_patient_disjoint_from_train():
    rec, patients, y = beat_rows(["100", "101", "106", "108", "109", "201", "202", "999"])
    split, absent = splitting.by_records(rec, patients, y, 3, LISTS, DS_RATIOS, seed=0)
    assert set(rec[split.test]) == {"100", "202"}
    assert set(rec[split.val]) and not set(rec[split.val]) & set(rec[split.train])
    assert set(rec[split.train]) | set(rec[split.val]) == {"101", "106", "108", "109", "201"}
    assert set(rec[split.unassigned]) == {"999"}  # in no list: counted, not used
    assert absent == {"train": [], "val": [], "test": []}
    # the published lists part 201 and 202 (one subject): the overlap is theirs, and visible
    assert splitting.overlapping_patients(split, patients) == ["201+202"]


def test_records_absent_from_the_data_are_reported_and_an_absent_split_is_an_error():
    rec, patients, y = beat_rows(["101", "106", "108", "109", "201"])
    with pytest.raises(SplitError, match=r"split.records.test=\[\] to draw"):
        splitting.by_records(rec, patients, y, 3, LISTS, DS_RATIOS, seed=0)
    lists = LISTS | {"train": [*LISTS["train"], "203"], "test": []}
    ratios = {"train": 0.6, "val": 0.2, "test": 0.2}
    split, absent = splitting.by_records(rec, patients, y, 3, lists, ratios, seed=0)
    assert absent["train"] == ["203"]
    parts = [set(patients[p]) for p in split.parts().values()]
    assert all(parts) and splitting.overlapping_patients(split, patients) == []


def test_the_random_split_mixes_patients_on_purpose():
    _, patients, y = beat_rows(["101", "106", "108"], per_record=200)
    split = splitting.random_rows(y, 3, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    assert sorted(np.concatenate(list(split.parts().values()))) == list(range(len(y)))
    assert splitting.overlapping_patients(split, patients) == ["101", "106", "108"]


def test_kfold_tests_every_labelled_record_once_with_patients_kept_whole():
    patients, y, _ = cohort(600)
    y[:5] = 0  # unlabelled: in no fold
    folds = splitting.kfold(patients, y, 4, k=5, seed=0)
    labelled = np.flatnonzero(y.any(axis=1))
    assert (folds[~y.any(axis=1)] == -1).all() and set(folds[labelled]) == set(range(5))
    tested = np.concatenate([splitting.kfold_split(folds, f, 5).test for f in range(5)])
    assert sorted(tested) == sorted(labelled)  # each labelled record tested exactly once
    overall = y[labelled].mean(axis=0)
    for f in range(5):
        split = splitting.kfold_split(folds, f, 5)
        assert splitting.patient_overlap(split, patients) == 0
        assert np.array_equal(split.val, np.flatnonzero(folds == (f + 1) % 5))  # the next fold
        assert split.train.size + split.val.size + split.test.size == labelled.size
        assert split.test.size / labelled.size == pytest.approx(0.2, abs=0.02)
        assert y[split.test].mean(axis=0) == pytest.approx(overall, abs=0.06)
    assert np.array_equal(folds, splitting.kfold(patients, y, 4, k=5, seed=0))
    assert not np.array_equal(folds, splitting.kfold(patients, y, 4, k=5, seed=1))


def test_kfold_needs_a_patient_per_fold():
    patients, y, _ = cohort(4)
    with pytest.raises(SplitError, match="labelled patients cannot make 5 folds"):
        splitting.kfold(patients, y, 4, k=5, seed=0)
