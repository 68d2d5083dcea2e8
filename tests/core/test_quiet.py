"""Each item of third-party noise is filtered, and only it; ``ECGPIPE_VERBOSE`` shows it."""

from __future__ import annotations

import logging
import warnings

import pytest
from lightning_fabric.utilities.warnings import PossibleUserWarning

from ecgpipe.core import quiet as q

SEEN = {
    "pytorch_lightning.utilities._pytree": (
        "`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) "
        "and treespec.is_leaf()` instead.",
        FutureWarning,
    ),
    "mlflow.data.dataset_source_registry": (
        "The specified dataset source can be interpreted in multiple ways: "
        "LocalArtifactDatasetSource, LocalArtifactDatasetSource. MLflow will assume that this "
        "is a LocalArtifactDatasetSource source.",
        UserWarning,
    ),
    "pytorch_lightning.callbacks.model_checkpoint": (
        "Checkpoint directory /tmp/q/checkpoints exists and is not empty.",
        UserWarning,
    ),
    "pytorch_lightning.loops.fit_loop": (
        "The number of training batches (5) is smaller than the logging interval "
        "Trainer(log_every_n_steps=10). Set a lower value for log_every_n_steps if you want to "
        "see logs for the training epoch.",
        PossibleUserWarning,
    ),
}
"""Each warning as a training printed it (ecgpipe 9cebd29, Lightning 2.6.6, MLflow 3.17.2)."""


@pytest.fixture
def tips():
    """The logger Lightning's tips come through, with the filter taken off after the test."""
    logger = logging.getLogger(q.TIPS[0])
    yield logger
    logger.removeFilter(q._not_a_tip)


def _shown(message: str, category: type[Warning], module: str) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q.quiet()
        warnings.warn_explicit(message, category, "x.py", 1, module=module)
    return bool(caught)


def test_every_filter_is_of_a_warning_seen():
    assert sorted(module for _, _, module in q.WARNINGS) == sorted(SEEN)


@pytest.mark.parametrize("module", sorted(SEEN))
def test_each_known_warning_is_filtered_and_no_other(module, tips):
    text, category = SEEN[module]
    assert not _shown(text, category, module)
    assert _shown("something else", category, module)  # the same module's other warnings
    assert _shown(text, category, "somebody.else")  # the same text from elsewhere
    assert _shown(text, DeprecationWarning, module)  # another category


def test_the_tips_go_and_the_other_lines_stay(tips, caplog):
    q.quiet()
    q.quiet()  # once is enough
    assert tips.filters.count(q._not_a_tip) == 1
    with caplog.at_level(logging.INFO, logger=q.TIPS[0]):
        tips.info("💡 Tip: For seamless cloud logging ... try installing [litlogger](...)")
        tips.info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False"]


def test_verbose_filters_nothing(tips, monkeypatch):
    monkeypatch.setenv(q.VERBOSE, "1")
    module = "pytorch_lightning.utilities._pytree"
    assert _shown(*SEEN[module], module)
    assert q._not_a_tip not in tips.filters
