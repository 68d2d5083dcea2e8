"""The headline figures the stages declare as DVC metrics: a few numbers per stage, every kind of
data."""

from __future__ import annotations

from ecgpipe.evaluation import headline


def scored(**figures: float) -> dict:
    out = {"n_records": 40, "per_class": {"A": {"f1": 0.5}}, "per_patient": [{"patient": "1"}]}
    for key, value in figures.items():
        out |= {key: value, f"{key}_ci": [value - 0.125, value + 0.125]}
    return out


def leaves(d: dict) -> int:
    return sum(leaves(v) if isinstance(v, dict) else 1 for v in d.values())


def test_multilabel_headline_is_macro_auroc_with_its_interval() -> None:
    result = {
        "mlflow_run_id": "abc",  # in metrics/eval.json, never among the metrics
        "test": scored(macro_auroc=0.875, micro_auroc=0.9375, macro_auprc=0.75),
        "baseline": scored(macro_auroc=0.5),
    }
    out = headline.test(result, multilabel=True)
    assert out == {
        "test": {"macro_auroc": 0.875, "macro_auroc_lo": 0.75, "macro_auroc_hi": 1.0},
        "baseline": {"macro_auroc": 0.5},
    }


def test_single_label_headline_takes_the_challenge_score_and_accuracy() -> None:
    figures = {"cinc2017_f1": 0.75, "macro_f1": 0.625, "accuracy": 0.875, "macro_auroc": 0.9}
    result = {
        "leaky_split": True,
        "mlflow_run_id": "abc",
        "test": scored(**figures),
        "baseline": scored(cinc2017_f1=0.2, macro_f1=0.2, accuracy=0.6, macro_auroc=0.5),
    }
    out = headline.test(result, multilabel=False)
    assert out["leaky_split"] is True
    assert set(out["test"]) == {"cinc2017_f1", "cinc2017_f1_lo", "cinc2017_f1_hi", "accuracy"}
    assert out["baseline"] == {"cinc2017_f1": 0.2, "accuracy": 0.6}
    beats = {k: v for k, v in figures.items() if k != "cinc2017_f1"}  # MIT-BIH: macro F1
    result |= {"test": scored(**beats), "baseline": scored(**beats)}
    assert headline.metric(result["test"], multilabel=False) == "macro_f1"
    assert headline.external("site", result["test"], multilabel=False) == {
        "external": {"site": {"macro_f1": 0.625, "macro_f1_lo": 0.5, "macro_f1_hi": 0.75,
                              "accuracy": 0.875}}
    }  # fmt: skip


def test_data_headlines_are_the_counts() -> None:
    integrity = {"n_records": 10, "n_kept": 9, "n_excluded": 1, "checks": {"nan": 1}}
    split = {
        "strategy": "folds",
        **{s: {"n_records": n, "n_patients": n, "positives": {}} for s, n in zip(
            ("train", "val", "test"), (8, 1, 1), strict=True)},
        "patient_overlap": 0,
    }  # fmt: skip
    assert headline.integrity(integrity) == {"kept": 9, "excluded": 1}  # read: their sum
    assert headline.split(split) == {"train": 8, "val": 1, "test": 1, "patient_overlap": 0}
    assert leaves(headline.integrity(integrity)) + leaves(headline.split(split)) == 6


def test_the_figures_shown_start_with_the_headline() -> None:
    single = scored(macro_f1=0.6, accuracy=0.7, macro_auroc=0.8)
    assert headline.shown(single, False) == ["macro_f1", "accuracy", "macro_auroc"]
    assert headline.shown(single, False)[0] == headline.metric(single, False)
    multi = scored(macro_auroc=0.8, micro_auroc=0.85, macro_auprc=0.5)
    assert headline.shown(multi, True) == ["macro_auroc", "micro_auroc", "macro_auprc"]
