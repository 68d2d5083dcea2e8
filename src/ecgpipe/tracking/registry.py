"""The model registry: every evaluated run a version; the alias ``champion`` on the best on
validation (never on test)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ecgpipe.config.schema import Config, MlflowConfig
from ecgpipe.tracking.store import run_record, store

log = logging.getLogger("ecgpipe")

CHAMPION = "champion"


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    champion: bool
    """Whether the alias ``champion`` points at this version now."""
    reason: str


def register(
    cfg: MlflowConfig,
    root: Path,
    run_id: str,
    name: str,
    validation: tuple[str, float, bool],
    tags: Mapping[str, str],
    description: str | None = None,
) -> Registered:
    """The run's model as a version of registered model ``name`` (one version per run: an
    evaluation run again updates its tags), tagged with ``tags`` and the validation metric;
    the alias ``champion`` moves to it only if that validation metric beats the champion's.

    ``validation``: (metric name, value, whether higher is better). Never a test metric.
    ``description``: the version's (Markdown, the model card), shown on its page in the UI.
    """
    metric, value, higher = validation
    with store(cfg, root) as uri:
        client = MlflowClient(uri)
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(
                name, description="ecgpipe models; the alias champion is the best on validation"
            )
        all_tags = {**tags, "validation_metric": metric, "validation_value": repr(value)}
        found = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        if found:
            version = found[0].version
            for key, text in all_tags.items():
                client.set_model_version_tag(name, version, key, str(text))
        else:
            (model_id,) = [m.model_id for m in client.get_run(run_id).outputs.model_outputs]
            version = client.create_model_version(
                name, f"models:/{model_id}", run_id, tags=all_tags, model_id=model_id
            ).version
        if description is not None:
            client.update_model_version(name, version, description=description)
        try:
            current = client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            current = None
        if current is None:
            move, reason = True, "the first version"
        elif current.version == version:
            move, reason = True, "already the champion"
        elif current.tags.get("validation_metric") != metric:
            move = False
            reason = (
                f"version {current.version} is judged on "
                f"{current.tags.get('validation_metric')}, not {metric}: not comparable"
            )
        else:
            best = float(current.tags["validation_value"])
            move = value > best if higher else value < best
            reason = f"{metric} {value:.4f}, champion (version {current.version}) {best:.4f}"
        if move:
            client.set_registered_model_alias(name, CHAMPION, version)
    return Registered(name, str(version), move, reason)


def register_run(cfg: Config, root: Path, run_id: str, name: str, card: str | None) -> Registered:
    """The training run's model as a new version of ``name``, tagged with its validation and
    test metrics, data hash and commit, described by its model ``card``; champion only if it
    wins on validation."""
    run = run_record(cfg.mlflow, root, run_id)
    monitor = run.data.tags.get("monitor", cfg.monitor)
    value = run.data.metrics[f"best/{monitor}"]
    tags = {k: run.data.tags.get(k, "") for k in ("git_commit", "data_hash", "dataset", "task")}
    tags |= {  # the headline figures, not every class's
        k: repr(v)
        for k, v in run.data.metrics.items()
        if (k.startswith("test/") and k.count("/") == 1) or k.startswith("best/")
    }
    tags["mlflow_run_id"] = run_id
    reg = register(
        cfg.mlflow, root, run_id, name, (monitor, value, monitor != "val/loss"), tags, card
    )
    log.info(
        "evaluate: registered %s version %s%s (%s)",
        reg.name,
        reg.version,
        "; it is the champion" if reg.champion else "; the champion stays",
        reg.reason,
    )
    return reg
