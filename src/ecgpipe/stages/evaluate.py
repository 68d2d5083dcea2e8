"""Stage ``evaluate``: the best checkpoint on the test split, against a label-prior baseline.

Uses the thresholds tuned on validation by ``train``. Writes ``metrics/eval.json`` (DVC
metrics), ``reports/eval.md``, DVC plot data under ``plots/`` and PNG figures under
``reports/figures/``, and logs all of it into the training run in MLflow.
"""

from __future__ import annotations

import json
import logging

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ecgpipe import atomic, evaluation, metrics, models, tracking
from ecgpipe.config import Config
from ecgpipe.datamodule import ECGDataModule
from ecgpipe.errors import PipelineError
from ecgpipe.lit_module import ECGClassifier, predict
from ecgpipe.normalization import Normalizer
from ecgpipe.paths import Paths

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> dict:
    ckpt, run_file = paths.models / "best.ckpt", paths.models / "run.json"
    if not ckpt.is_file() or not run_file.is_file():
        raise PipelineError(f"{paths.models}: no trained model; run `dvc repro train` first")
    run_id = json.loads(run_file.read_text())["run_id"]
    with tracking.store(cfg.mlflow, paths.root) as uri:
        try:
            MlflowClient(uri).get_run(run_id)
        except MlflowException:
            raise PipelineError(
                f"{run_file}: MLflow run {run_id} is not in {uri} (was the store moved or reset "
                "after training?); retrain with `dvc repro -f train`"
            ) from None
    dm = ECGDataModule(
        paths.processed,
        paths.split,
        models.INPUTS[cfg.model.name],
        cfg.train,
        Normalizer.load(paths.models / "normalization.json"),  # as trained, not refitted
    )
    module = ECGClassifier.load_from_checkpoint(ckpt, weights_only=False)
    classes = dm.cache.classes
    thresholds = json.loads((paths.models / "thresholds.json").read_text())
    thr = np.array([thresholds[c] for c in classes])

    y, p = predict(module, dm.test_dataloader())
    y_train = metrics.indicator(dm.cache.labels[dm.rows["train"]], len(classes))
    e = cfg.evaluate
    test = evaluation.score(y, p, thr, classes, n_bootstrap=e.n_bootstrap, seed=e.seed)
    prior = evaluation.label_prior(y_train, len(y))
    baseline = evaluation.score(y, prior, thr, classes, n_bootstrap=e.n_bootstrap, seed=e.seed)
    # the training run, so that `dvc exp show` links every experiment to its MLflow run
    result = {"mlflow_run_id": run_id, "test": test, "baseline": baseline}

    atomic.write_json(paths.metrics / "eval.json", result)
    figures = paths.eval_reports / "figures"
    evaluation.write_plots(y, p, thr, classes, paths.plots, figures)
    title = f"{cfg.model.name} on {dm.cache.meta['dataset']} ({dm.cache.meta['task']}), test split"
    atomic.write_text(
        paths.eval_reports / "eval.md", evaluation.markdown(test, baseline, classes, title)
    )

    with tracking.store(cfg.mlflow, paths.root), mlflow.start_run(run_id=run_id):
        flat = tracking.flatten(
            {"test": test, "baseline": {"macro_auroc": baseline["macro_auroc"]}}
        )
        mlflow.log_metrics(
            {
                k.replace("/", "_"): v
                for k, v in flat.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and v is not None
            }
        )
        mlflow.log_artifact(str(paths.metrics / "eval.json"), "evaluation")
        mlflow.log_artifact(str(paths.eval_reports / "eval.md"), "evaluation")
        mlflow.log_artifacts(str(figures), "evaluation/figures")
        mlflow.log_artifacts(str(paths.plots), "evaluation/plots")
    log.info(
        "evaluate: test macro AUROC %s [%s, %s], micro %s, macro AUPRC %s; label-prior baseline %s",
        _f(test["macro_auroc"]),
        *map(_f, test["macro_auroc_ci"]),
        _f(test["micro_auroc"]),
        _f(test["macro_auprc"]),
        _f(baseline["macro_auroc"]),
    )
    return result


def _f(value: float | None) -> str:
    """A metric for the log; ``n/a`` where it is undefined (a class without both outcomes)."""
    return "n/a" if value is None else f"{value:.4f}"
