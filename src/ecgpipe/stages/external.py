"""Stage ``external@NAME``: the trained model judged on a further dataset (external validation).

``evaluate.external.NAME`` names a data config and a label map onto the model's classes. The
set is read by its own reader into ``data/external/NAME`` (a generated set is written there),
then every record goes through ``ecgpipe predict``'s path: the served model from the training
run, the training run's quality checks and preprocessing. Records that cannot be scored, or
whose labels map onto none of the model's classes, are left out with their reason and counted.
The metrics are ``evaluate``'s, with bootstrap intervals over the set's patients and a
per-patient table; classes the set lacks are reported absent. Writes
``metrics/external/NAME.json`` (its headline figures, the DVC metrics, in
``metrics/external_NAME.json``), ``reports/external/NAME/`` (report, per-patient table, every
record's scores) and logs them, with the set as a dataset input, into the training run.
"""

from __future__ import annotations

import logging

from ecgpipe import tracking
from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Paths, read_json
from ecgpipe.data import readers
from ecgpipe.evaluation import external, headline, metrics, patients, subgroups
from ecgpipe.evaluation.formats import f3, with_ci
from ecgpipe.serving import labelled, predict

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths, name: str) -> dict:
    """Score the trained model on the external set ``name``; the JSON-ready result."""
    sets = cfg.evaluate.external
    if name not in sets:
        known = ", ".join(sets) or "none"
        raise PipelineError(f"evaluate.external has no set {name!r} (it has: {known})")
    chosen = sets[name]
    run_id = paths.model.run_id()
    inside = read_json(paths.metrics / "eval.json", ("test",))["test"]
    model, uri = tracking.load_record_model(str(paths.models), cfg.mlflow, paths.root)
    try:
        external.translation(list(model.contract.classes), chosen.label_map)
    except ValueError as err:
        raise PipelineError(f"evaluate.external.{name}: {err}") from None

    df, root = readers.prepare_external(chosen.data, paths, name)
    scored = labelled.score(model, df, root, chosen.label_map)
    s = scored.scores
    if not len(s.y):
        raise PipelineError(
            f"evaluate.external.{name}: no {s.unit[:-1]} of {root} could be scored with a "
            "label the model knows; see the reasons above"
            if scored.failures
            else f"evaluate.external.{name}: no {s.unit[:-1]} of {root} has a label the model knows"
        )
    try:
        attrs = subgroups.attributes(df, s.record_ids, cfg.evaluate.subgroups)
    except ValueError as err:
        raise PipelineError(f"external {name}: {err}") from None
    e = cfg.evaluate
    result, report = external.judge(
        name, s, attrs, inside, scored.mapped, scored.failures,
        source=str(root), n_bootstrap=e.n_bootstrap, seed=e.seed,
    )  # fmt: skip
    out = paths.external_reports(name)
    with atomic.directory(out) as tmp:
        (tmp / "report.md").write_text(report)
        (tmp / "per_patient.csv").write_text(patients.table(result["per_patient"], s.classes))
        table = predict.table([*scored.outcomes], model.contract, uri)
        table.to_csv(tmp / "predictions.csv", index=False)
    payload = {"mlflow_run_id": run_id, "model": uri, "data": str(root), "external": result}
    atomic.write_json(paths.external_metrics(name), payload)
    atomic.write_json(
        paths.headline(f"external_{name}"), headline.external(name, result, s.multilabel)
    )

    figures = {k: v for k, v in result.items() if k not in ("per_patient", "subgroups")}
    values = tracking.metric_values({"external": {name: figures}})
    tracking.log_evaluation(
        cfg.mlflow,
        paths.root,
        run_id,
        {metrics.metric_name(k): v for k, v in values.items()},
        [
            (f"evaluation/external/{name}", out),
            ("evaluation/external", paths.external_metrics(name)),
        ],
        dataset=(f"{name}-external", scored.dataset, str(root)),
    )
    key = headline.metric(result, s.multilabel)
    log.info(
        "external %s: %d %s of %d patients (%d left out); %s %s, test split %s%s",
        name,
        result["n_records"],
        s.unit,
        result["n_groups"],
        len(scored.failures) + result["n_left_out"]["unlabelled"],
        key,
        with_ci(result[key], result[f"{key}_ci"]),
        f3(inside.get(key)),
        f"; absent: {', '.join(result['absent_classes'])}" if result["absent_classes"] else "",
    )
    return payload
