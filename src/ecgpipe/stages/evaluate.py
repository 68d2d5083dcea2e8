"""Stage ``evaluate``: the best checkpoint on the test split, against a label-prior baseline.

Labels records as ``train`` decided: at the thresholds it tuned on validation (multilabel), or by
its argmax rule (single-label). Writes ``metrics/eval.json`` (every figure; the headline ones,
the DVC metrics, in ``metrics/test.json``), ``reports/eval.md``,
DVC plot data under ``plots/``, PNG figures under ``reports/figures/`` and every test patient's
figures (``test.per_patient`` in eval.json, a section of eval.md, ``reports/per_patient.csv``),
every test record's probabilities and call (``reports/predictions.csv``),
and logs all of it into the training run in MLflow.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ecgpipe import models, tracking
from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.headline import test as test_headline
from ecgpipe.core.paths import Paths, broken, read_json
from ecgpipe.evaluation import metrics, multiclass, multilabel, patients, plots, predictions
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.serving.model import RhythmModel
from ecgpipe.training import classical
from ecgpipe.training.classifier import load_checkpoint, predict
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths, *, register: bool = True) -> dict:
    """Score the test split; ``register``: and add the model to the registry (sweeps do not)."""
    run_file = paths.models / "run.json"
    if not model_file(cfg, paths).is_file() or not run_file.is_file():
        raise PipelineError(f"{paths.models}: no trained model; run `dvc repro train` first")
    run_id = read_json(run_file, ("run_id",))["run_id"]
    tracking.check_run(cfg.mlflow, paths.root, run_id, run_file)
    dm, y, p = test_scores(cfg, paths)
    classes, e = dm.cache.classes, cfg.evaluate
    dataset, task = dm.cache.meta["dataset"], dm.cache.meta["task"]
    y_train = dm.cache.labels[dm.rows["train"]]
    # intervals resample patients: one patient's records (or a record's beats) are not independent
    boot = {
        "n_bootstrap": e.n_bootstrap,
        "seed": e.seed,
        "groups": dm.cache.patients[dm.rows["test"]],
    }
    figures = paths.eval_reports / "figures"
    title = f"{cfg.model.name} on {dataset} ({task}), test split"
    if dm.multilabel:
        thresholds = read_json(paths.models / "thresholds.json", tuple(classes))
        thr = np.array([thresholds[c] for c in classes], dtype=float)
        test = multilabel.score(y, p, thr, classes, **boot)
        prior = multilabel.label_prior(y_train, len(y))
        baseline = multilabel.score(y, prior, thr, classes, **boot)
        plots.write_plots(y, p, thr, classes, paths.plots, figures)
        report = multilabel.markdown(test, baseline, classes, title)
    else:
        decision = read_json(paths.models / "decision.json", ("factors",))
        factors = decision_factors(paths, classes)
        beats = dm.cache.unit == "beat"
        kw = boot | {"dataset": dataset, "clinical": beats}
        test = multiclass.score(y, p, factors, classes, **kw)
        prior = multiclass.label_prior(y_train, len(y), len(classes))
        baseline = multiclass.score(y, prior, None, classes, **kw)
        pred = metrics.predict_classes(p, factors)
        plots.write_plots_multiclass(y, pred, p, classes, paths.plots, figures)
        rule = "argmax of the probabilities" + (
            "" if decision["rule"] == "argmax" else ", re-weighted back to the training prior"
        )
        report = multiclass.markdown(
            test,
            baseline,
            classes,
            title,
            rule,
            unit="beats" if beats else "records",
            warning=LEAKY if cfg.split.strategy == "random" else None,
        )
    test["n_padded"] = dm.n_padded("test")
    hits = p >= thr if dm.multilabel else np.eye(len(classes), dtype=bool)[pred]
    truth = metrics.indicator(y, len(classes)).astype(bool)
    rows = dm.rows["test"]
    test["per_patient"] = patients.per_patient(
        dm.cache.patients[rows],
        dm.cache.index["record_id"].to_numpy()[rows],
        truth,
        hits,
        classes,
        single_label=not dm.multilabel,
    )
    unit = "beats" if dm.cache.unit == "beat" else "records"
    report += "\n" + patients.markdown(test["per_patient"], classes, unit)
    if dm.cache.unit == "record":
        explain_examples(cfg, paths, run_id, dm, y, p, hits, figures / "explanations")
    # the training run, so that `dvc exp show` links every experiment to its MLflow run
    result = {"mlflow_run_id": run_id, "test": test, "baseline": baseline}
    if cfg.split.strategy == "random":
        result = {"leaky_split": True, **result}
    atomic.write_json(paths.metrics / "eval.json", result)
    atomic.write_json(paths.headline("test"), test_headline(result, dm.multilabel))
    atomic.write_text(paths.eval_reports / "eval.md", report)
    atomic.write_text(
        paths.eval_reports / "per_patient.csv", patients.table(test["per_patient"], classes)
    )
    atomic.write_text(
        paths.eval_reports / "predictions.csv",
        predictions.table(
            rows,
            dm.cache.index["record_id"].to_numpy()[rows],
            dm.cache.patients[rows],
            truth,
            hits,
            p,
            classes,
        ),
    )

    shown = [k for k in ("cinc2017_f1", "macro_f1", "accuracy", "macro_auroc") if k in test]
    if dm.multilabel:
        shown = ["macro_auroc", "micro_auroc", "macro_auprc"]
    headline = {k: v for k, v in baseline.items() if k in HEADLINE}
    values = tracking.metric_values({"test": test, "baseline": headline})
    tracking.log_evaluation(
        cfg.mlflow,
        paths.root,
        run_id,
        {metrics.metric_name(k): v for k, v in values.items()},
        [
            ("evaluation", paths.metrics / "eval.json"),
            ("evaluation", paths.eval_reports / "eval.md"),
            ("evaluation", paths.eval_reports / "per_patient.csv"),
            ("evaluation", paths.eval_reports / "predictions.csv"),
            ("evaluation/figures", figures),
            ("evaluation/plots", paths.plots),
        ],
        columns=[metrics.metric_name(f"test/{shown[0]}{end}") for end in ("", "_lo", "_hi")],
    )
    if register:
        register_model(cfg, paths, run_id, f"ecgpipe-{dataset}-{task}")
    if cfg.split.strategy == "random":
        log.warning("evaluate: %s", LEAKY)
    log.info(
        "evaluate (%d test %s%s): %s; label-prior baseline %s",
        test["n_records"],
        "beats" if dm.cache.unit == "beat" else "records",
        f", {test['n_padded']} shorter than a window, padded" if test["n_padded"] else "",
        ", ".join(
            f"{k} {_f(test[k])} [{_f(test[f'{k}_ci'][0])}, {_f(test[f'{k}_ci'][1])}]" for k in shown
        ),
        ", ".join(f"{k} {_f(baseline[k])}" for k in shown),
    )
    return result


def explain_examples(
    cfg: Config,
    paths: Paths,
    run_id: str,
    dm: ECGDataModule,
    y: np.ndarray,
    p: np.ndarray,
    hits: np.ndarray,
    out: Path,
) -> list[Path]:
    """Per class, the most and the least confident true positive of the test split, drawn with
    the served model's attribution (``<class>-most.png``, ``<class>-least.png``)."""
    from ecgpipe.serving import explain

    model, _ = tracking.load_record_model(f"runs:/{run_id}/model", cfg.mlflow, paths.root)
    truth = metrics.indicator(y, len(dm.cache.classes)).astype(bool)
    rows = dm.rows["test"]
    written = []
    for k, name in enumerate(dm.cache.classes):
        tp = np.flatnonzero(truth[:, k] & hits[:, k])
        if not len(tp):
            continue
        order = tp[np.argsort(p[tp, k])]
        for tag, i in (("most", order[-1]), ("least", order[0])):
            if tag == "least" and len(tp) == 1:
                break
            record = str(dm.cache.index["record_id"].iloc[rows[i]])
            title = f"record {record}: true {name}, {tag} confident (p {p[i, k]:.2f})"
            fig, _, _ = explain.figure(model, np.asarray(dm.cache.signal(rows[i])), title=title)
            plots.save_png(fig, out / f"{metrics.metric_name(name)}-{tag}.png")
            written.append(out / f"{metrics.metric_name(name)}-{tag}.png")
    return written


def register_model(cfg: Config, paths: Paths, run_id: str, name: str) -> tracking.Registered:
    """The training run's model as a new version of ``name``, tagged with its validation and
    test metrics, data hash and commit; champion only if it wins on validation."""
    run = tracking.run_record(cfg.mlflow, paths.root, run_id)
    monitor = run.data.tags.get("monitor", cfg.monitor)
    value = run.data.metrics[f"best/{monitor}"]
    tags = {k: run.data.tags.get(k, "") for k in ("git_commit", "data_hash", "dataset", "task")}
    tags |= {  # the headline figures, not every class's
        k: repr(v)
        for k, v in run.data.metrics.items()
        if (k.startswith("test/") and k.count("/") == 1) or k.startswith("best/")
    }
    tags["mlflow_run_id"] = run_id
    reg = tracking.register(
        cfg.mlflow, paths.root, run_id, name, (monitor, value, monitor != "val/loss"), tags
    )
    log.info(
        "evaluate: registered %s version %s%s (%s)",
        reg.name,
        reg.version,
        "; it is the champion" if reg.champion else "; the champion stays",
        reg.reason,
    )
    return reg


def model_file(cfg: Config, paths: Paths) -> Path:
    """What ``train`` saved: the best checkpoint, or a classical model's estimator."""
    if cfg.model.name in models.CLASSICAL:
        return paths.models / classical.ESTIMATOR_FILE
    return paths.models / "best.ckpt"


def test_scores(cfg: Config, paths: Paths) -> tuple[ECGDataModule, np.ndarray, np.ndarray]:
    """The trained model on the test split: the data module, targets and record probabilities."""
    dm = ECGDataModule(
        paths.processed,
        paths.split,
        models.INPUTS[cfg.model.name],
        cfg.train,
        Normalizer.load(paths.models / "normalization.json"),  # as trained, not refitted
    )
    if cfg.model.name in models.CLASSICAL:
        assert dm.cache.features is not None  # the data module checked
        rows = dm.rows["test"]
        estimator = classical.load(model_file(cfg, paths))
        features = np.asarray(dm.cache.features[rows])
        return (
            dm,
            dm.cache.labels[rows],
            models.classical.probabilities(estimator, features, dm.n_classes),
        )
    module = load_checkpoint(model_file(cfg, paths))
    y, p = predict(module, dm.test_dataloader(), cfg.train.accelerator)
    if r := cfg.train.rhythm.weight:  # as the served model averages them
        estimator = classical.load(paths.models / classical.RHYTHM_FILE)
        rhythm = RhythmModel(estimator, r, float(dm.cache.meta["fs"]), dm.n_classes)
        p = rhythm.blend(p, [np.asarray(dm.cache.signal(i)) for i in dm.rows["test"]])
    return dm, y, p


def decision_factors(paths: Paths, classes: list[str]) -> np.ndarray:
    """Single-label data: the class factors of the argmax rule ``train`` chose."""
    file = paths.models / "decision.json"
    factors = read_json(file, ("factors",))["factors"]
    if not isinstance(factors, dict) or (missing := [c for c in classes if c not in factors]):
        raise broken(file, f"factors lacks {missing if isinstance(factors, dict) else classes}")
    return np.array([factors[c] for c in classes], dtype=float)


LEAKY = (
    "LEAKY SPLIT (split.strategy=random): beats of the same patients are in training and test, "
    "so these figures overstate how the model does on a new patient; see the patient-disjoint "
    "protocol (experiment=mitdb_interpatient) for an honest estimate."
)

HEADLINE = ("macro_auroc", "accuracy", "macro_f1", "cinc2017_f1")
"""What of the label-prior baseline goes to MLflow as metrics (all of it is in eval.json)."""


def _f(value: float | None) -> str:
    """A metric for the log; ``n/a`` where it is undefined (a class without both outcomes)."""
    return "n/a" if value is None else f"{value:.4f}"
