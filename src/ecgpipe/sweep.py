"""Hydra sweeps over ``conf/``: ``ecgpipe-sweep -m model=cnn1d,resnet1d_wang train.lr=1e-3,3e-3``.

Each job trains and evaluates one configuration on the data that ``dvc repro`` prepared (a sweep
never re-runs a data stage, and stops at once if that data is missing, stale or not what the
sweep asks for) and writes its model and metrics to its own Hydra job directory. In MLflow, the
jobs are child runs of one parent run per sweep, which records the sweep's overrides and, at the
end, the best child by the monitored validation metric (``train.monitor``: macro AUROC for
multilabel data by default): the value each job returns, and what
``hparams_search=optuna`` maximises. A job that fails is recorded FAILED with its error and
returns NaN, so the sweep goes on. Jobs register nothing in the model registry;
``+register_best=true`` registers the best child at the end (its ``champion`` alias moves only if
it beats the champion on validation, as after ``evaluate``).

This is a Hydra application, unlike the DVC stages, which read ``params.yaml`` (see ``cli``).
Run it from the project root.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from pydantic import ValidationError

from ecgpipe import tracking
from ecgpipe.config.parse import parse_config
from ecgpipe.config.schema import Config, ConfigError, MlflowConfig
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError, os_error_line
from ecgpipe.core.paths import Origin, Paths, read_json
from ecgpipe.core.quiet import quiet
from ecgpipe.evaluation import crossval, metrics
from ecgpipe.stages import data_state
from ecgpipe.tuning.config import TRIAL_KEY

if TYPE_CHECKING:
    from ecgpipe.tuning.trial import TrialLink

log = logging.getLogger("ecgpipe")
PARENT_FILE = "mlflow_parent.json"  # in the sweep directory: how jobs find their parent run
SWEEP_STATE = Origin(hint="start the sweep again (`ecgpipe-sweep -m ...`)")
"""The sweep's own state files: damaged, only a new sweep writes them again."""
_CALLBACKS: list[SweepTracking] = []  # instantiated by Hydra; closed by main() on a crash


FOLD = "split.fold"
"""Swept with ``split.strategy=kfold``: a cross-validation, pooled at the sweep's end."""

PRUNED_TAG = ("optuna.state", "PRUNED")
"""The tag of an Optuna trial's run that the pruner stopped (see ``ecgpipe.tuning.trial``)."""

REGISTER_BEST = "register_best"
"""``+register_best=true``: register the sweep's best child at its end (no job registers)."""


def _config(cfg: DictConfig) -> Config:
    """The composed configuration without Hydra's own node (or the sweep's own flag, or an
    Optuna job's trial), validated."""
    ours = OmegaConf.masked_copy(
        cfg, [k for k in cfg if k not in ("hydra", REGISTER_BEST, TRIAL_KEY)]
    )
    return parse_config(OmegaConf.to_container(ours, resolve=True), origin="sweep configuration")


class SweepTracking(Callback):
    """Opens the sweep's parent MLflow run before any job, and closes it with the best child.

    Configured under ``hydra.callbacks`` in ``conf/config.yaml``; runs in the launching process.
    """

    def __init__(self) -> None:
        self.parent: tuple[Config, Path, str, Path] | None = None
        _CALLBACKS.append(self)

    def on_multirun_start(self, config: DictConfig, **_: Any) -> None:
        # Hydra turns a callback's exception into a warning and goes on: stop the sweep instead.
        try:
            self._open(config)
        except PipelineError as err:
            log.error("ecgpipe-sweep: error: %s", err)
            sys.exit(1)
        except OSError as err:  # a user's (an unwritable sweep folder, ...): one line
            if (line := os_error_line(err)) is None:
                raise
            log.error("ecgpipe-sweep: error: %s", line)
            sys.exit(1)
        except Exception:
            log.exception("ecgpipe-sweep: error: cannot start the sweep's MLflow run")
            sys.exit(1)

    def _open(self, config: DictConfig) -> None:
        root = Path(config.hydra.runtime.cwd)
        cfg = _config(config)
        _check_sweep_keeps_data(config, cfg)
        data_state.check_current(root)
        data_state.check_matches(cfg, root)
        sweep_dir = root / config.hydra.sweep.dir
        overrides = list(config.hydra.overrides.task)
        tags = {
            "ecgpipe.sweep": "parent",
            "sweep.dir": str(sweep_dir),
            "sweep.overrides": " ".join(overrides) or "(none)",
            "sweep.sweeper": _target_name(config.hydra.sweeper),
            "sweep.launcher": _target_name(config.hydra.launcher),
            "git_commit": tracking.git_commit(root),
        }
        if "params" in config.hydra.sweeper and config.hydra.sweeper.params:
            tags["sweep.search_space"] = json.dumps(dict(config.hydra.sweeper.params))
        if config.hydra.sweeper.get("study_name"):  # an Optuna search: its sweeps share a study
            tags["sweep.study"] = str(config.hydra.sweeper.study_name)
        run_id = tracking.new_run(cfg.mlflow, root, name=f"sweep {sweep_dir.name}", tags=tags)
        self.parent = (cfg, root, run_id, sweep_dir)  # abandon() ends it if the sweep stops
        atomic.write_json(sweep_dir / PARENT_FILE, {"run_id": run_id})
        log.info("sweep: parent MLflow run %s (%s)", run_id, tags["sweep.overrides"])

    def on_multirun_end(self, config: DictConfig, **_: Any) -> None:
        if self.parent is None:
            return
        cfg, root, run_id, _ = self.parent
        self.parent = None
        objective = f"best/{cfg.monitor}"
        children = tracking.child_runs(cfg.mlflow, root, run_id)
        pruned = [r for r in children if r.data.tags.get(PRUNED_TAG[0]) == PRUNED_TAG[1]]
        done = [
            r
            for r in children
            if r.info.status == "FINISHED" and objective in r.data.metrics and r not in pruned
        ]
        failed = [r for r in children if r.info.status == "FAILED"]
        values = {"n_runs": len(children), "n_failed": len(failed)}
        if pruned:  # an Optuna search's trials stopped early: no best of theirs is comparable
            values["n_pruned"] = len(pruned)
        tags = {}
        if done:
            pick = min if cfg.monitor == "val/loss" else max
            best = pick(done, key=lambda r: r.data.metrics[objective])
            values[objective] = best.data.metrics[objective]
            tags = {"best_run_id": best.info.run_id, "best_run_name": best.info.run_name}
            log.info(
                "sweep: %d runs, %d failed; best %s %.4f: %s (run %s)",
                len(children),
                len(failed),
                objective,
                best.data.metrics[objective],
                best.info.run_name,
                best.info.run_id,
            )
            if config.get(REGISTER_BEST, False):
                name = f"ecgpipe-{best.data.tags.get('dataset')}-{best.data.tags.get('task')}"
                card = tracking.run_text(cfg.mlflow, root, best.info.run_id, "model_card.md")
                reg = tracking.register_run(cfg, root, best.info.run_id, name, card)
                tags["registered"] = f"{reg.name} version {reg.version}"
        if FOLD in _swept(config) and cfg.split.strategy == "kfold":
            sweep_dir = root / config.hydra.sweep.dir
            _pool_folds(cfg, root, sweep_dir, done, run_id)
        status = "FINISHED" if done or not children else "FAILED"
        tracking.end_run(cfg.mlflow, root, run_id, status, values=values, tags=tags)
        if not children:  # a resumed Optuna study that already held its n_trials
            log.info("sweep: no job ran")
        elif not done:
            log.error(
                "ecgpipe-sweep: error: no run finished: %d failed, %d pruned (see their logs)",
                len(failed),
                len(pruned),
            )
            sys.exit(1)

    def abandon(self) -> None:
        """End the parent run when the sweep ends without ``on_multirun_end``: KILLED if a job
        started, else (a sweep refused in its setup) deleted with the folder it wrote."""
        if self.parent is None:
            return
        cfg, root, run_id, sweep_dir = self.parent
        self.parent = None
        if tracking.child_runs(cfg.mlflow, root, run_id):
            tracking.end_run(cfg.mlflow, root, run_id, "KILLED")
            return
        tracking.discard_run(cfg.mlflow, root, run_id)
        if not sweep_dir.is_dir():  # never made (a file where a folder should be)
            return
        (sweep_dir / PARENT_FILE).unlink(missing_ok=True)
        for folder in (sweep_dir, *sweep_dir.parents):  # the folders left empty, up to the root
            if folder == root or not folder.is_relative_to(root) or any(folder.iterdir()):
                break
            folder.rmdir()


def _pool_folds(cfg: Config, root: Path, sweep_dir: Path, done: list, parent: str) -> None:
    """A cross-validation sweep's end: per configuration swept beside ``split.fold``, its k
    folds pooled under ``<sweep dir>/crossval/`` and into the parent run (artifacts
    ``crossval/``; metrics ``cv/...``, prefixed by the configuration when there are several)."""
    groups: dict[str, list[crossval.Fold]] = {}
    for r in done:
        fold = crossval.Fold(int(r.data.tags["split.fold"]), Path(r.data.tags["sweep.job_dir"]))
        groups.setdefault(r.data.tags["crossval.group"], []).append(
            dataclasses.replace(fold, run_id=r.info.run_id)
        )
    for group, folds in sorted(groups.items()):
        out = sweep_dir / "crossval" / (group.replace("/", "_") if len(groups) > 1 else "")
        try:
            result = crossval.pool(
                root, folds, cfg.split.k, cfg.evaluate.n_bootstrap, cfg.evaluate.seed, out
            )
        except PipelineError as err:
            log.error("sweep: cross-validation of %s not pooled: %s", group, err)
            continue
        key, pooled = result["headline"], result["cv"]
        prefix = f"cv/{group}/" if len(groups) > 1 else "cv/"
        figures = {f"{prefix}{key}": pooled[key]} | {
            f"{prefix}{key}_{end}": bound
            for end, bound in zip(("lo", "hi"), pooled[f"{key}_ci"], strict=True)
        }
        figures = {metrics.metric_name(k): v for k, v in figures.items() if v is not None}
        artifacts = "crossval" + (f"/{metrics.metric_name(group)}" if len(groups) > 1 else "")
        tracking.log_evaluation(cfg.mlflow, root, parent, figures, [(artifacts, out)])
        log.info(
            "sweep: %d-fold cross-validation of %s: %s %s [%s, %s] over %d records; %s",
            cfg.split.k,
            group,
            key,
            *(f"{v:.4f}" if v is not None else "n/a" for v in (pooled[key], *pooled[f"{key}_ci"])),
            pooled["n_records"],
            out / "eval.md",
        )


def _target_name(node: DictConfig) -> str:
    return str(node.get("_target_", "?")).rsplit(".", 1)[-1]


def _check_sweep_keeps_data(config: DictConfig, cfg: Config) -> None:
    """A sweep over a data section (a grid value or an Optuna dimension) is refused up front;
    but for ``split.fold`` of a k-fold split, whose every fold ``split`` wrote."""
    data = [
        k
        for k in _swept(config)
        if k.split("/")[0].split(".")[0] in data_state.SECTIONS.values()
        and not (k == FOLD and cfg.split.strategy == "kfold")
    ]
    if data == [FOLD]:
        raise data_state.StaleDataError(
            f"the sweep varies {FOLD}, the fold of a k-fold cross-validation, but "
            f"split.strategy is {cfg.split.strategy}: set split.strategy=kfold in conf/ (or "
            "on this command line) and run `dvc repro split`"
        )
    if data:
        raise data_state.StaleDataError(
            f"the sweep varies {', '.join(data)}, which the data stages depend on; a sweep trains "
            "on the data `dvc repro` prepared: set one value in conf/ and run `dvc repro split`"
        )


def _swept(config: DictConfig) -> list[str]:
    """The keys a sweep varies: sweep overrides (``a=1,2``) and the sweeper's own dimensions."""
    swept = [
        o.key_or_group
        for o in OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
        if o.is_sweep_override()
    ]
    return swept + list(config.hydra.sweeper.get("params") or {})


def job(cfg: DictConfig) -> float:
    """One configuration: train and evaluate into the job directory; returns the objective."""
    quiet()  # again: a launcher may run the job in a process of its own
    hc = HydraConfig.get()
    root = Path(hc.runtime.cwd)
    out = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    parent = None
    if multirun:
        parent_file = root / hc.sweep.dir / PARENT_FILE
        parent = read_json(parent_file, origin=SWEEP_STATE, types={"run_id": str})["run_id"]
    name = hc.job.override_dirname or "defaults"
    tags = {"ecgpipe.sweep": "child" if multirun else "single", "sweep.job": str(hc.job.num)}
    link = _trial(cfg)
    if link is not None:
        tags |= link.tags()
    try:
        config = _config(cfg)
    except ConfigError as err:  # refused: a FAILED child run says why, and the sweep goes on
        if not multirun:
            raise
        log.error("sweep job %s (%s) refused: %s", hc.job.num, name, err)
        try:
            store = MlflowConfig.model_validate(OmegaConf.to_container(cfg.mlflow, resolve=True))
        except ValidationError:
            return math.nan  # no store to record it in: the log line is all there is
        run_id = tracking.new_run(store, root, name=name, parent_run_id=parent, tags=tags)
        error = {"error": str(err)[:5000]} | _failed(link)
        tracking.end_run(store, root, run_id, "FAILED", tags=error)
        return math.nan
    kfold = config.split.strategy == "kfold"
    paths = Paths(root, out=out, fold=config.split.fold if kfold else None)
    if kfold:  # for pooling the folds at the sweep's end
        others = sorted(o for o in hc.overrides.task if not o.startswith(f"{FOLD}="))
        tags |= {
            "split.fold": str(config.split.fold),
            "crossval.group": ",".join(others) or "defaults",
            "sweep.job_dir": str(out),
        }
    run_id = tracking.new_run(config.mlflow, root, name=name, parent_run_id=parent, tags=tags)
    from ecgpipe.stages import evaluate, train

    try:
        if not multirun:
            data_state.check_current(root)
        data_state.check_matches(config, root)
        pruning = None
        if link is not None:  # reports each epoch's value to the trial, stops it if pruned
            pruner, max_epochs = hc.sweeper.get("pruner"), config.train.max_epochs
            pruning = link.pruning(pruner, config.monitor, max_epochs, run_id)
        _, best = train.run(config, paths, run_id=run_id, callbacks=[pruning] if pruning else [])
        if pruning is not None and pruning.pruned_at is not None:  # no test set for it
            tags = link.state_tags(best, pruning)
            tracking.end_run(config.mlflow, root, run_id, "KILLED", tags=tags)
            return best
        evaluate.run(config, paths, register=False)
    except Exception as err:  # a failed job is recorded, and the sweep goes on
        hint = ""
        if "database is locked" in str(err):  # the embedded SQLite store, over-shared
            hint = "; with many parallel jobs, share a tracking server instead (`ecgpipe server`)"
        line = os_error_line(err) if isinstance(err, OSError) else None
        log.error("sweep job %s (%s) failed: %s%s", hc.job.num, name, line or err, hint)
        error = {"error": line or f"{type(err).__name__}: {err}"[:5000]} | _failed(link)
        tracking.end_run(config.mlflow, root, run_id, "FAILED", tags=error)
        if not multirun:
            if line is not None:  # a user's OSError: the line above, no traceback
                sys.exit(1)
            raise
        return math.nan
    except BaseException:  # Ctrl-C (Lightning turns it into SystemExit): the run is KILLED
        with contextlib.suppress(Exception):
            tags = _failed(link) | ({"optuna.interrupted": "true"} if link else {})
            tracking.end_run(config.mlflow, root, run_id, "KILLED", tags=tags)
        raise
    if link is not None:
        tracking.end_run(config.mlflow, root, run_id, "FINISHED", tags=link.state_tags(best))
    return best


def _trial(cfg: DictConfig) -> TrialLink | None:
    """The Optuna trial an ``hparams_search=optuna`` job runs (``+optuna_trial=...``), or None."""
    if cfg.get(TRIAL_KEY) is None:
        return None
    from ecgpipe.tuning.trial import TrialLink

    return TrialLink.of(cfg)


def _failed(link: TrialLink | None) -> dict[str, str]:
    """The tag of an Optuna job that failed: the sweeper tells its trial FAIL."""
    return {} if link is None else link.state_tags(math.nan)


def main() -> None:
    """Console script ``ecgpipe-sweep``: the Hydra app on ``<project root>/conf``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    quiet()
    conf = Path.cwd() / "conf"
    if not (conf / "config.yaml").is_file():
        sys.exit(f"ecgpipe-sweep: error: {conf}/config.yaml not found; run from the project root")
    app = hydra.main(config_path=str(conf), config_name="config", version_base="1.3")(job)
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a training (Lightning's exits with status 1)
        log.error("ecgpipe-sweep: interrupted")
        sys.exit(130)
    finally:
        for callback in _CALLBACKS:
            callback.abandon()


if __name__ == "__main__":
    main()
