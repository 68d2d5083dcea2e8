"""The classical beat models: built from their conf options, weighted as train.class_weight
says, and scoring every class (those unseen in training at 0)."""

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from ecgpipe.models import classical
from tests.conftest import conf

RNG = np.random.default_rng(0)


def blobs(n_per_class: tuple[int, ...], k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs, class ``c`` centred at ``c`` along every feature."""
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    return RNG.normal(size=(len(y), k)) + y[:, None] * 1.5, y


@pytest.mark.parametrize(
    "name, options",
    [
        ("beat_linear", {}),
        ("beat_linear", {"method": "lda"}),
        ("beat_gbm", {"max_iter": 30}),
    ],
)
def test_each_classical_model_separates_blobs_and_scores_every_class(name, options):
    x, y = blobs((300, 200, 100))
    est = classical.build(name, 0, **(conf("model", name)["options"] | options))
    classical.fit(est, x, y, np.ones(4))  # a fourth class never seen in training
    p = classical.probabilities(est, x, 4)
    assert p.shape == (len(x), 4) and (p[:, 3] == 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    assert (p.argmax(axis=1) == y).mean() > 0.85
    assert classical.n_parameters(est) > 0


@pytest.mark.parametrize("method", ["logistic", "lda"])
def test_class_weights_move_the_decision_towards_a_rare_class(method):
    x, y = blobs((2000, 60), k=2)
    options = conf("model", "beat_linear")["options"] | {"method": method}
    plain = classical.fit(classical.build("beat_linear", 0, **options), x, y, np.ones(2))
    heavy = classical.fit(classical.build("beat_linear", 0, **options), x, y, np.array([1, 30.0]))
    called = [(classical.probabilities(m, x, 2).argmax(1) == 1).sum() for m in (plain, heavy)]
    assert called[1] > 1.5 * called[0]
    if method == "lda":
        lda = heavy.steps[-1][1]
        assert isinstance(lda, LinearDiscriminantAnalysis)
        np.testing.assert_allclose(lda.priors, [2000 / 3800, 1800 / 3800])


def test_options_are_checked():
    with pytest.raises(ValidationError, match="learning_rate"):
        classical.build(
            "beat_gbm", 0, **(conf("model", "beat_gbm")["options"] | {"learning_rate": 0})
        )
    with pytest.raises(ValueError, match="unknown classical model 'svm'"):
        classical.build("svm", 0)


def test_pooling_is_the_renormalised_weighted_geometric_mean():
    p = np.array([[0.98, 0.01, 0.01], [0.2, 0.5, 0.3]])
    q = np.array([[0.1, 0.8, 0.1], [0.2, 0.5, 0.3]])
    got = classical.pool(p, q, 0.4)
    want = p**0.6 * q**0.4
    np.testing.assert_allclose(got, want / want.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(classical.pool(p, q, 0.0), p, rtol=1e-5)
