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

import numpy as np

from ecgpipe import models, tracking
from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Paths, read_json
from ecgpipe.data import manifest
from ecgpipe.evaluation import (
    conformal,
    headline,
    judge,
    metrics,
    model_card,
    patients,
    predictions,
    subgroups,
)
from ecgpipe.evaluation.formats import f3, with_ci
from ecgpipe.serving.model import RhythmModel
from ecgpipe.training import classical, saved
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")
REPORTS = ("eval.md", "per_patient.csv", "predictions.csv")


def run(cfg: Config, paths: Paths, *, register: bool = True) -> dict:
    """Score the test split; ``register``: and add the model to the registry (sweeps do not)."""
    if not saved.model_file(cfg.model.name, paths.model).is_file() or not paths.model.run.is_file():
        raise PipelineError(f"{paths.models}: no trained model; run `dvc repro train` first")
    run_id, e, leaky = paths.model.run_id(), cfg.evaluate, cfg.split.strategy == "random"
    tracking.check_run(cfg.mlflow, paths.root, run_id, paths.model.run)
    dm, y, p = test_scores(cfg, paths)
    decision = paths.model.decision(dm.cache.classes, dm.multilabel)
    scores = judge.Scores.of(dm.cache, dm.rows["test"], y, p, decision)
    described = manifest.read(paths.validated / "manifest.csv")
    try:
        attrs = subgroups.attributes(described, scores.record_ids, e.subgroups)
    except ValueError as err:
        raise PipelineError(str(err)) from None
    rule = "" if dm.multilabel else judge.rule(paths.model.rule())
    figures, task = paths.eval_reports / "figures", dm.cache.meta["task"]
    title = f"{cfg.model.name} on {scores.dataset} ({task}), test split"
    judged = judge.judge(
        scores, dm.cache.labels[dm.rows["train"]], title=title, rule=rule,
        warning=judge.LEAKY if leaky else None, attrs=attrs, n_bootstrap=e.n_bootstrap,
        calibration=conformal.Conformal.from_dict(read_json(paths.model.conformal, ("kind",))),
        seed=e.seed, plots_dir=paths.plots, figures_dir=figures,
    )  # fmt: skip
    test, baseline, report = judged.test, judged.baseline, judged.report
    test["n_padded"] = dm.n_padded("test")
    result = {"mlflow_run_id": run_id, "test": test, "baseline": baseline}
    if e.adapt or dm.cache.unit == "record":
        from ecgpipe.serving import adapt, explain

        model, _ = tracking.load_record_model(f"runs:/{run_id}/model", cfg.mlflow, paths.root)
        if e.adapt:  # beat data only (the configuration checked)
            result["adapted"], section = judge.adapted(
                scores, adapt.cached(model, dm.cache, scores.rows), baseline, title=title,
                rule=rule, n_bootstrap=e.n_bootstrap, seed=e.seed,
            )  # fmt: skip
            report += "\n" + section
        if dm.cache.unit == "record":
            out = figures / "explanations"
            explain.examples(model, dm.cache, scores.rows, scores.truth, p, scores.hits, out)
    result = {"leaky_split": True, **result} if leaky else result
    shown, name = headline.shown(test, dm.multilabel), f"ecgpipe-{scores.dataset}-{task}"
    commit = tracking.run_record(cfg.mlflow, paths.root, run_id).data.tags.get("git_commit", "")
    card = model_card.render(
        model_card.from_run(cfg, dm.cache, dm.rows, described, name=name, test=test,
                            headline=shown, run_id=run_id, commit=commit,
                            subgroups=judged.subgroups)
    )  # fmt: skip
    write(paths, result, report, card, scores)
    pooled = {k: v for k, v in test.items() if k != "subgroups"}  # those: eval.json only
    prior = {k: v for k, v in baseline.items() if k in headline.BASELINE}
    adapted = {"adapted": result["adapted"]} if e.adapt else {}
    values = tracking.metric_values({"test": pooled, "baseline": prior} | adapted)
    artifacts = [
        ("evaluation", paths.metrics / "eval.json"),
        *(("evaluation", paths.eval_reports / f) for f in REPORTS),
        ("", paths.eval_reports / "model_card.md"),  # beside the model
        ("evaluation/figures", figures),
        ("evaluation/plots", paths.plots),
    ]
    columns = [metrics.metric_name(f"test/{shown[0]}{end}") for end in ("", "_lo", "_hi")]
    named = {metrics.metric_name(k): v for k, v in values.items()}
    tracking.log_evaluation(cfg.mlflow, paths.root, run_id, named, artifacts, columns=columns)
    if register:
        tracking.register_run(cfg, paths.root, run_id, name, card)
    if leaky:
        log.warning("evaluate: %s", judge.LEAKY)
    log.info(
        "evaluate (%d test %s%s): %s; label-prior baseline %s",
        test["n_records"],
        scores.unit,
        f", {test['n_padded']} shorter than a window, padded" if test["n_padded"] else "",
        ", ".join(f"{k} {with_ci(test[k], test[f'{k}_ci'])}" for k in shown),
        ", ".join(f"{k} {f3(baseline[k])}" for k in shown),
    )
    return result


def write(paths: Paths, result: dict, report: str, card: str, s: judge.Scores) -> None:
    """``metrics/eval.json`` and the headline, the report, the model card, every test patient
    and every test record's scores."""
    atomic.write_json(paths.metrics / "eval.json", result)
    atomic.write_json(paths.headline("test"), headline.test(result, s.multilabel))
    atomic.write_text(paths.eval_reports / "eval.md", report)
    atomic.write_text(paths.eval_reports / "model_card.md", card)
    per_patient = patients.table(result["test"]["per_patient"], s.classes)
    atomic.write_text(paths.eval_reports / "per_patient.csv", per_patient)
    table = predictions.table(s.rows, s.record_ids, s.patients, s.truth, s.hits, s.p, s.classes)
    atomic.write_text(paths.eval_reports / "predictions.csv", table)


def test_scores(cfg: Config, paths: Paths) -> tuple[ECGDataModule, np.ndarray, np.ndarray]:
    """The trained model on the test split (:func:`ecgpipe.training.saved.test_scores`), pooled
    with ``train.rhythm``'s trees as the served model pools them."""
    dm, y, p = saved.test_scores(cfg, paths)
    if (r := cfg.train.rhythm.weight) and cfg.model.name not in models.CLASSICAL:
        estimator = classical.load(paths.model.rhythm)
        rhythm = RhythmModel(estimator, r, float(dm.cache.meta["fs"]), dm.n_classes)
        p = rhythm.blend(p, [np.asarray(dm.cache.signal(i)) for i in dm.rows["test"]])
    return dm, y, p
