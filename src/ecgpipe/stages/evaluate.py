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
from ecgpipe.core.paths import Paths, read_json
from ecgpipe.data import manifest
from ecgpipe.evaluation import (
    conformal,
    judge,
    metrics,
    model_card,
    multiclass,
    patients,
    plots,
    predictions,
    subgroups,
)
from ecgpipe.evaluation.formats import f3, with_ci
from ecgpipe.evaluation.headline import test as test_headline
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.serving.model import RhythmModel
from ecgpipe.training import classical
from ecgpipe.training.classifier import load_checkpoint, predict
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths, *, register: bool = True) -> dict:
    """Score the test split; ``register``: and add the model to the registry (sweeps do not)."""
    if not model_file(cfg, paths).is_file() or not paths.model.run.is_file():
        raise PipelineError(f"{paths.models}: no trained model; run `dvc repro train` first")
    run_id = paths.model.run_id()
    tracking.check_run(cfg.mlflow, paths.root, run_id, paths.model.run)
    dm, y, p = test_scores(cfg, paths)
    classes, e, rows = dm.cache.classes, cfg.evaluate, dm.rows["test"]
    dataset, task = dm.cache.meta["dataset"], dm.cache.meta["task"]
    scores = judge.Scores(
        y=y,
        p=p,
        classes=classes,
        decision=paths.model.decision(classes, dm.multilabel),
        rows=rows,
        patients=dm.cache.patients[rows],  # intervals resample patients, all records of each
        record_ids=dm.cache.index["record_id"].to_numpy()[rows],
        multilabel=dm.multilabel,
        unit="beats" if dm.cache.unit == "beat" else "records",
        dataset=dataset,
    )
    described = manifest.read(paths.validated / "manifest.csv")
    try:
        attrs = subgroups.attributes(described, scores.record_ids, e.subgroups)
    except ValueError as err:
        raise PipelineError(str(err)) from None
    rule = (
        ""
        if dm.multilabel
        else "argmax of the probabilities"
        + ("" if paths.model.rule() == "argmax" else ", re-weighted back to the training prior")
    )
    figures = paths.eval_reports / "figures"
    title = f"{cfg.model.name} on {dataset} ({task}), test split"
    judged = judge.judge(
        scores,
        dm.cache.labels[dm.rows["train"]],
        title=title,
        rule=rule,
        warning=LEAKY if cfg.split.strategy == "random" else None,
        attrs=attrs,
        calibration=conformal.Conformal.from_dict(read_json(paths.model.conformal, ("kind",))),
        n_bootstrap=e.n_bootstrap,
        seed=e.seed,
        plots_dir=paths.plots,
        figures_dir=figures,
    )
    test, baseline, report = judged.test, judged.baseline, judged.report
    test["n_padded"] = dm.n_padded("test")
    result = {"mlflow_run_id": run_id, "test": test, "baseline": baseline}
    if e.adapt:  # beat data only (the configuration checked)
        kw = {"dataset": dataset, "clinical": True, "n_bootstrap": e.n_bootstrap,
              "seed": e.seed, "groups": scores.patients}  # fmt: skip
        result["adapted"] = multiclass.score(
            y, adapted_scores(cfg, paths, run_id, dm), scores.decision, classes, **kw
        )
        report += "\n" + multiclass.markdown(
            result["adapted"], baseline, classes, f"{title}, adapted to each test record", rule,
            unit="beats", scope=ADAPTED,
        )  # fmt: skip
    if dm.cache.unit == "record":
        explain_examples(cfg, paths, run_id, dm, y, p, scores.hits, figures / "explanations")
    if cfg.split.strategy == "random":
        result = {"leaky_split": True, **result}
    shown = headline_keys(test, dm.multilabel)
    name = f"ecgpipe-{dataset}-{task}"
    card = model_card.render(
        card_of(cfg, paths, dm, described, test, shown, run_id, judged.subgroups, name)
    )
    write(paths, result, report, card, scores, dm.multilabel)
    headline = {k: v for k, v in baseline.items() if k in HEADLINE}
    pooled = {k: v for k, v in test.items() if k != "subgroups"}  # those: eval.json only
    adapted = {"adapted": result["adapted"]} if e.adapt else {}
    values = tracking.metric_values({"test": pooled, "baseline": headline} | adapted)
    tracking.log_evaluation(
        cfg.mlflow,
        paths.root,
        run_id,
        {metrics.metric_name(k): v for k, v in values.items()},
        [
            ("evaluation", paths.metrics / "eval.json"),
            *(("evaluation", paths.eval_reports / f) for f in REPORTS),
            ("", paths.eval_reports / "model_card.md"),  # beside the model
            ("evaluation/figures", figures),
            ("evaluation/plots", paths.plots),
        ],
        columns=[metrics.metric_name(f"test/{shown[0]}{end}") for end in ("", "_lo", "_hi")],
    )
    if register:
        register_model(cfg, paths, run_id, name, card)
    if cfg.split.strategy == "random":
        log.warning("evaluate: %s", LEAKY)
    log.info(
        "evaluate (%d test %s%s): %s; label-prior baseline %s",
        test["n_records"],
        scores.unit,
        f", {test['n_padded']} shorter than a window, padded" if test["n_padded"] else "",
        ", ".join(f"{k} {with_ci(test[k], test[f'{k}_ci'])}" for k in shown),
        ", ".join(f"{k} {f3(baseline[k])}" for k in shown),
    )
    return result


REPORTS = ("eval.md", "per_patient.csv", "predictions.csv")


def write(
    paths: Paths, result: dict, report: str, card: str, s: judge.Scores, multilabel: bool
) -> None:
    """``metrics/eval.json`` and the headline, the report, the model card, every test patient
    and every test record's scores."""
    test = result["test"]
    atomic.write_json(paths.metrics / "eval.json", result)
    atomic.write_json(paths.headline("test"), test_headline(result, multilabel))
    atomic.write_text(paths.eval_reports / "eval.md", report)
    atomic.write_text(paths.eval_reports / "model_card.md", card)
    atomic.write_text(
        paths.eval_reports / "per_patient.csv", patients.table(test["per_patient"], s.classes)
    )
    truth = metrics.indicator(s.y, len(s.classes)).astype(bool)
    atomic.write_text(
        paths.eval_reports / "predictions.csv",
        predictions.table(s.rows, s.record_ids, s.patients, truth, s.hits, s.p, s.classes),
    )


def headline_keys(test: dict, multilabel: bool) -> list[str]:
    """The figures the log line and the runs table show, the first the headline."""
    if multilabel:
        return ["macro_auroc", "micro_auroc", "macro_auprc"]
    return [k for k in ("cinc2017_f1", "macro_f1", "accuracy", "macro_auroc") if k in test]


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


def register_model(
    cfg: Config, paths: Paths, run_id: str, name: str, card: str | None
) -> tracking.Registered:
    """The training run's model as a new version of ``name``, tagged with its validation and
    test metrics, data hash and commit, described by its model ``card``; champion only if it
    wins on validation."""
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
        cfg.mlflow, paths.root, run_id, name, (monitor, value, monitor != "val/loss"), tags, card
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
        return paths.model.estimator
    return paths.model.checkpoint


def test_scores(cfg: Config, paths: Paths) -> tuple[ECGDataModule, np.ndarray, np.ndarray]:
    """The trained model on the test split: the data module, targets and record probabilities."""
    dm = ECGDataModule(
        paths.processed,
        paths.split,
        models.INPUTS[cfg.model.name],
        cfg.train,
        Normalizer.load(paths.model.normalization),  # as trained, not refitted
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
    y, p = predict(module, dm.test_dataloader(), cfg.trainer.accelerator)
    if r := cfg.train.rhythm.weight:  # as the served model averages them
        estimator = classical.load(paths.model.rhythm)
        rhythm = RhythmModel(estimator, r, float(dm.cache.meta["fs"]), dm.n_classes)
        p = rhythm.blend(p, [np.asarray(dm.cache.signal(i)) for i in dm.rows["test"]])
    return dm, y, p


def card_of(
    cfg: Config,
    paths: Paths,
    dm: ECGDataModule,
    described,
    test: dict,
    shown: list[str],
    run_id: str,
    by_group: str,
    name: str,
) -> model_card.Card:
    """What the model card says, from the run's configuration, split and evaluation."""
    meta, ids = dm.cache.meta, dm.cache.index["record_id"].to_numpy()
    splits = {
        part: {
            "records": len(rows),
            "patients": len(set(dm.cache.patients[rows])),
        }
        for part, rows in dm.rows.items()
    }
    dates = None
    if "date" in described:
        known = described.set_index("record_id")["date"].reindex(ids[dm.rows["train"]])
        known = sorted(d for d in known.dropna() if d)
        dates = (known[0], known[-1]) if known else None
    commit = tracking.run_record(cfg.mlflow, paths.root, run_id).data.tags.get("git_commit", "")
    return model_card.Card(
        name=name,
        model=cfg.model.name,
        dataset=meta["dataset"],
        task=meta["task"],
        unit="beats" if dm.cache.unit == "beat" else "records",
        classes=dm.cache.classes,
        leads=meta["leads"],
        fs=float(meta["fs"]),
        data_root=str(cfg.data.root) if hasattr(cfg.data, "root") else "",
        splits=splits,
        dates=dates,
        preprocess=cfg.preprocess.model_dump(mode="json"),
        test=test,
        headline=shown,
        run_id=run_id,
        commit=commit or "HEAD",
        external={k: str(getattr(v.data, "root", "")) for k, v in cfg.evaluate.external.items()},
        subgroups=by_group,
    )


def adapted_scores(cfg: Config, paths: Paths, run_id: str, dm: ECGDataModule) -> np.ndarray:
    """The served model on the test beats, each record adapted to its own beats
    (:mod:`ecgpipe.serving.adapt`, the code of ``ecgpipe predict --adapt``)."""
    from ecgpipe.serving import adapt

    model, _ = tracking.load_record_model(f"runs:/{run_id}/model", cfg.mlflow, paths.root)
    return adapt.cached(model, dm.cache, dm.rows["test"])


LEAKY = (
    "LEAKY SPLIT (split.strategy=random): beats of the same patients are in training and test, "
    "so these figures overstate how the model does on a new patient; see the patient-disjoint "
    "protocol (experiment=mitdb_interpatient) for an honest estimate."
)

ADAPTED = (
    "Transductive, reported apart from the figures above: each test record was read whole, the "
    "beats the model called N gave the patient's own references (NN intervals, template beat), "
    "and every beat was scored again against them (evaluate.adapt; ecgpipe predict --adapt). "
    "Test split"
)

HEADLINE = ("macro_auroc", "accuracy", "macro_f1", "cinc2017_f1")
"""What of the label-prior baseline goes to MLflow as metrics (all of it is in eval.json)."""
