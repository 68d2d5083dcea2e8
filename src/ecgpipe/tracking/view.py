"""The experiment's saved runs-table view in the MLflow UI: the key metrics as columns."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mlflow import MlflowClient

RUNS_VIEW = "ecgpipe"
"""The experiment's saved runs-table view (``Views`` in the UI; ``?viewStateShareKey=ecgpipe``):
the key validation and test metrics as columns, best first."""
_VIEW_TAG = f"mlflow.sharedViewState.{RUNS_VIEW}"
_UI_COLUMNS = tuple(f"attributes.`{c}`" for c in ("Dataset", "Source", "Models"))


def show_in_runs_table(experiment: str, metrics: Sequence[str], ascending: bool = False) -> None:
    """Add ``metrics`` to the columns of the experiment's saved view :data:`RUNS_VIEW` (created
    sorted by the first of them), in the envelope MLflow's UI saves views in: an experiment tag
    ``mlflow.sharedViewState.<id>`` holding name, times and the view state as JSON."""
    import time

    client = MlflowClient()
    now = int(time.time() * 1000)
    found = client.get_experiment(experiment).tags.get(_VIEW_TAG)
    view = json.loads(found) if found else {"name": "ecgpipe: key metrics", "createdAt": now}
    state = json.loads(view.get("state", "{}"))
    columns = [f"metrics.`{m}`" for m in metrics]
    if "orderByKey" not in state and columns:
        state |= {"orderByKey": columns[0], "orderByAsc": ascending}
    before = state.get("selectedColumns", list(_UI_COLUMNS))
    state["selectedColumns"] = list(dict.fromkeys([*before, *columns]))
    shown = [c for c in state["selectedColumns"] if c.startswith("metrics.")]  # first, and whole
    state["columnOrder"] = shown + [c for c in state["selectedColumns"] if c not in shown]
    state["columnWidths"] = {c: 8 * len(c) - 40 for c in shown}  # the name untruncated
    if found and state == json.loads(view["state"]):
        return
    view |= {"updatedAt": now, "state": json.dumps(state)}
    client.set_experiment_tag(experiment, _VIEW_TAG, json.dumps(view))
