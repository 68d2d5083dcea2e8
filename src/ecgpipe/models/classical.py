"""Classical heartbeat classifiers on the beat features (scikit-learn), beside the networks.

:data:`ESTIMATORS` builds each by name from its options (``conf/model/<name>.yaml``):

- ``beat_linear``: standardised features into a multinomial logistic regression, or linear
  discriminants with a shrunk pooled covariance (de Chazal et al. 2004's model);
- ``beat_gbm``: histogram gradient-boosted trees, unscaled features, no early stopping of their
  own (theirs would hold out random beats of the training patients; ``train`` picks the number of
  rounds on the patient-disjoint validation split instead);
- ``beat_ensemble``: one of those (trees or logistic regression) per feature set of
  ``preprocess.beats.features``, fused by the product rule (:class:`ProductEnsemble`,
  Mondejar-Guerra et al. 2019).

Class weights reach them as sample weights (logistic, trees) or as class priors (LDA), as
``train.class_weight`` says. :func:`probabilities` maps an estimator's outputs onto every class,
those it never saw in training included (at 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ecgpipe.config.schema import MODEL_OPTIONS


def beat_linear(method: str, c: float, seed: int) -> Pipeline:
    if method == "lda":
        last = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    else:
        last = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return make_pipeline(StandardScaler(), last)


def beat_gbm(
    max_iter: int,
    learning_rate: float,
    max_leaf_nodes: int,
    min_samples_leaf: int,
    l2_regularization: float,
    seed: int,
) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        early_stopping=False,
        random_state=seed,
    )


class ProductEnsemble(ClassifierMixin, BaseEstimator):
    """One ``member`` per group of feature columns (``groups``: name -> column indices), each
    fitted on its own columns; the probabilities are their product, renormalised (the product
    rule: the members' log probabilities summed)."""

    def __init__(self, member: Any, groups: dict[str, list[int]]):
        self.member, self.groups = member, groups

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None):
        self.classes_ = np.unique(y)
        self.members_ = {}
        for name, columns in self.groups.items():
            est = clone(self.member)
            key = (
                f"{est.steps[-1][0]}__sample_weight"
                if isinstance(est, Pipeline)
                else "sample_weight"
            )
            self.members_[name] = est.fit(np.asarray(x)[:, columns], y, **{key: sample_weight})
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        log_p = sum(
            np.log(np.clip(m.predict_proba(np.asarray(x)[:, self.groups[n]]), 1e-12, 1.0))
            for n, m in self.members_.items()
        )
        p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)


def beat_ensemble(
    member: str,
    max_iter: int,
    learning_rate: float,
    max_leaf_nodes: int,
    min_samples_leaf: int,
    l2_regularization: float,
    c: float,
    seed: int,
    groups: dict[str, list[int]],
) -> ProductEnsemble:
    if member == "linear":
        one = beat_linear("logistic", c, seed)
    else:
        one = beat_gbm(
            max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, seed
        )
    return ProductEnsemble(one, groups)


ESTIMATORS: dict[str, Callable[..., Any]] = {
    "beat_linear": beat_linear,
    "beat_gbm": beat_gbm,
    "beat_ensemble": beat_ensemble,
}
GIVEN = {"seed", "groups"}
"""Arguments the run decides, never options."""


def build(name: str, seed: int, groups: dict[str, list[int]] | None = None, **options: Any) -> Any:
    """Estimator ``name`` with ``options`` (checked as ``conf/model/<name>.yaml`` gives them);
    ``beat_ensemble`` also takes its ``groups`` of feature columns."""
    if name not in ESTIMATORS:
        raise ValueError(f"unknown classical model {name!r}; expected one of {list(ESTIMATORS)}")
    checked = dict(MODEL_OPTIONS[name].model_validate(options))
    if name == "beat_ensemble":
        if not groups or len(groups) < 2:
            raise ValueError("beat_ensemble needs two or more groups of feature columns")
        checked["groups"] = groups
    return ESTIMATORS[name](seed=seed, **checked)


def fit(estimator: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> Any:
    """``estimator`` fitted to rows ``x`` of classes ``y``, class ``weights`` by class id."""
    last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if isinstance(last, LinearDiscriminantAnalysis):  # weights as priors: n_k w_k, normalised
        seen = np.unique(y)
        mass = np.bincount(y, minlength=len(weights))[seen] * weights[seen]
        last.set_params(priors=mass / mass.sum())
        return estimator.fit(x, y)
    key = f"{estimator.steps[-1][0]}__sample_weight" if isinstance(estimator, Pipeline) else None
    w = weights[y]
    return estimator.fit(x, y, **{key: w}) if key else estimator.fit(x, y, sample_weight=w)


def probabilities(estimator: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, n_classes) probabilities; 0 for a class the estimator did not see in training."""
    out = np.zeros((len(x), n_classes), np.float32)
    if len(x):
        out[:, estimator.classes_] = estimator.predict_proba(x)
    return out


def pool(p: np.ndarray, q: np.ndarray, weight: float) -> np.ndarray:
    """Two models' (N, C) class probabilities as one: their weighted geometric mean,
    ``p ** (1 - weight) * q ** weight``, renormalised (log-linear pooling): a class either
    model finds unlikely stays unlikely, where an arithmetic mean follows the more confident."""
    logs = (1 - weight) * np.log(np.clip(p, 1e-7, 1)) + weight * np.log(np.clip(q, 1e-7, 1))
    out = np.exp(logs - logs.max(axis=1, keepdims=True))
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def n_parameters(estimator: Any) -> int:
    """Fitted numbers: coefficients and intercepts, or the trees' nodes."""
    if isinstance(estimator, ProductEnsemble):
        return sum(n_parameters(m) for m in estimator.members_.values())
    last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if isinstance(last, HistGradientBoostingClassifier):
        return sum(len(p.nodes) for stage in last._predictors for p in stage)
    return int(last.coef_.size + np.size(last.intercept_))
