"""MLflow, touched from here alone: the store, runs, the runs-table view, the logged model, the
registry, and a team's tracking server (:mod:`~ecgpipe.tracking.server`).

The rest of ecgpipe imports this package and calls its functions (``tracking.new_run``,
``tracking.register``, ...); each lives in the submodule of its concern.
"""

from ecgpipe.tracking.model_io import SERVING_REQUIREMENTS, load_record_model, log_record_model
from ecgpipe.tracking.registry import CHAMPION, Registered, register, register_run
from ecgpipe.tracking.runs import (
    EXTERNAL_CONTEXT,
    OWNER_HOST,
    OWNER_PID,
    SPLIT_CONTEXTS,
    child_runs,
    data_hash,
    discard_run,
    dvc_experiment_tags,
    end_orphaned_runs,
    end_run,
    flatten,
    git_commit,
    log_evaluation,
    log_starting_point,
    log_training,
    log_training_result,
    metric_values,
    new_run,
    run_name,
    training_run,
)
from ecgpipe.tracking.store import (
    EXPERIMENT_KIND,
    MODEL_TRAINING,
    check_run,
    experiment_id,
    run_record,
    run_text,
    store,
    store_root,
    tracking_uri,
)
from ecgpipe.tracking.view import RUNS_VIEW, show_in_runs_table

__all__ = [
    "CHAMPION",
    "EXPERIMENT_KIND",
    "EXTERNAL_CONTEXT",
    "MODEL_TRAINING",
    "OWNER_HOST",
    "OWNER_PID",
    "RUNS_VIEW",
    "SERVING_REQUIREMENTS",
    "SPLIT_CONTEXTS",
    "Registered",
    "check_run",
    "child_runs",
    "data_hash",
    "discard_run",
    "dvc_experiment_tags",
    "end_orphaned_runs",
    "end_run",
    "experiment_id",
    "flatten",
    "git_commit",
    "load_record_model",
    "log_evaluation",
    "log_record_model",
    "log_starting_point",
    "log_training",
    "log_training_result",
    "metric_values",
    "new_run",
    "register",
    "register_run",
    "run_name",
    "run_record",
    "run_text",
    "show_in_runs_table",
    "store",
    "store_root",
    "tracking_uri",
    "training_run",
]
