"""The third-party noise of a normal run, each item filtered where it comes from; every entry
point (``ecgpipe``, ``ecgpipe-sweep`` and its jobs) calls :func:`quiet`, and ``--verbose`` (or
``ECGPIPE_VERBOSE=1``, for the commands DVC and Hydra start) shows it all again.

Only the items of :data:`WARNINGS` and :data:`TIPS` go: any other warning still shows.
"""

from __future__ import annotations

import logging
import os
import re
import warnings

VERBOSE = "ECGPIPE_VERBOSE"
"""Set (to anything but ``0`` or empty) for ``--verbose`` where no flag can be passed."""

WARNINGS = (
    # torch deprecates ``LeafSpec``, which Lightning's pytree helper still builds on every fit
    # and predict
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning,
     "pytorch_lightning.utilities._pytree"),
    # MLflow registers its local artifact source twice (schemes "" and "file"), so every local
    # dataset source is "ambiguous" between a class and itself
    (r"The specified dataset source can be interpreted in multiple ways: "
     r"LocalArtifactDatasetSource, LocalArtifactDatasetSource\.", UserWarning,
     "mlflow.data.dataset_source_registry"),
    # ecgpipe's checkpoint folder is its own: it holds the training's run.json before the fit
    (r"Checkpoint directory .* exists and is not empty", UserWarning,
     "pytorch_lightning.callbacks.model_checkpoint"),
    # ecgpipe logs per epoch, never per step: Lightning's step interval does not apply
    (r"The number of training batches \(\d+\) is smaller than the logging interval",
     UserWarning, "pytorch_lightning.loops.fit_loop"),
)  # fmt: skip
"""(message, category, module) of each warning filtered: the message's start (a regex), its
category (or a parent of it) and the module that warns."""

TIPS = ("pytorch_lightning.utilities.rank_zero", "💡 Tip: ")
"""Lightning's advertisements (for its ``litlogger`` and ``litmodels`` cloud services): INFO
lines of this logger starting with this text; its other lines (devices, stopping) stay."""


def verbose_from_env() -> bool:
    return os.environ.get(VERBOSE, "") not in ("", "0")


def _not_a_tip(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(TIPS[1])


def quiet(verbose: bool = False) -> None:
    """Filter :data:`WARNINGS` and :data:`TIPS` for the rest of the process, unless
    ``verbose`` (or :data:`VERBOSE` is set). Calling it again adds nothing."""
    if verbose or verbose_from_env():
        return
    for message, category, module in WARNINGS:
        warnings.filterwarnings("ignore", message, category, re.escape(module) + r"\Z")
    tips = logging.getLogger(TIPS[0])
    if _not_a_tip not in tips.filters:
        tips.addFilter(_not_a_tip)
