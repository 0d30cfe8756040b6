"""Model selection: what ``score`` is, label-free scorers, GridSearchCV over lambda."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skmmvae import IDMVAE, MMVAE, MultiView, make_shared_private
from skmmvae.metrics import cross_view_agreement, leave_one_view_out_score

SMALL = dict(max_epochs=3, batch_size=32, hidden_layer_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_shared_private(n_samples=240, n_views=3, n_features=6, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    return IDMVAE(n_shared=3, n_private=2, **{**SMALL, "max_epochs": 20}).fit(data[0])


def _alone(est, X, m):
    """The shared latent from view m alone, through the public API (other views NaN)."""
    mask = np.zeros((len(X), X.n_views), bool)
    mask[:, m] = True
    return est.transform(MultiView(X.views, mask=mask), latents="shared")


def test_cross_view_agreement_is_the_mean_rank_of_the_true_partner(fitted, data):
    X = data[0]
    Z = [_alone(fitted, X, m) for m in range(3)]
    Z = [z / np.linalg.norm(z, axis=1, keepdims=True) for z in Z]
    n, values = len(X), []
    for s in range(3):
        for t in range(3):
            if s == t:
                continue
            for i in range(n):
                sims = Z[t] @ Z[s][i]
                others = np.delete(sims, i)
                values.append(
                    (np.sum(others < sims[i]) + 0.5 * np.sum(others == sims[i])) / (n - 1)
                )
    assert cross_view_agreement(fitted, X) == pytest.approx(np.mean(values), rel=1e-6)


def test_cross_view_agreement_is_chance_without_shared_information(fitted):
    """Independent views carry no shared information: about 0.5 on held-out rows."""
    rng = np.random.RandomState(1)
    X = MultiView([rng.randn(400, 6) for _ in range(3)])
    est = MMVAE(n_latent=3, **SMALL).fit(X)
    test = MultiView([rng.randn(400, 6) for _ in range(3)])
    assert abs(cross_view_agreement(est, test) - 0.5) < 0.05


def test_cross_view_agreement_rewards_the_contrastive_term(data):
    """What lambda1 is for: IDMVAE's views agree on z far more than without CrossMI
    (0.85 against 0.6 seen), where the ELBO would prefer lambda1 = 0."""
    X = data[0]
    common = dict(n_shared=3, n_private=2, **{**SMALL, "max_epochs": 20})
    with_mi = IDMVAE(lambda1=10.0, **common).fit(X)
    without = IDMVAE(lambda1=0.0, **common).fit(X)
    assert cross_view_agreement(with_mi, X) > cross_view_agreement(without, X) + 0.1


def test_leave_one_view_out_score_matches_imputing_each_view(fitted, data):
    X = data[0]
    errors = []
    for t in range(3):
        mask = np.ones((len(X), 3), bool)
        mask[:, t] = False
        pred = np.asarray(fitted.impute(MultiView(X.views, mask=mask)).views[t])
        true = np.asarray(X.views[t])
        errors.append(np.mean(((pred - true) ** 2).mean(0) / true.var(0)))
    assert leave_one_view_out_score(fitted, X) == pytest.approx(-np.mean(errors), rel=1e-6)
    assert -1.0 < leave_one_view_out_score(fitted, X) < 0.0


def test_scorers_reject_what_they_cannot_score(fitted, data):
    with pytest.raises(TypeError, match="skmmvae estimator"):
        cross_view_agreement(LogisticRegression(), data[0])
    one_view = MMVAE(n_latent=2, **SMALL).fit(MultiView([data[0].views[0]]))
    with pytest.raises(ValueError, match="two views"):
        leave_one_view_out_score(one_view, MultiView([data[0].views[0]]))


def test_gridsearch_over_lambda_with_a_label_free_scorer(data):
    X = data[0]
    est = IDMVAE(n_shared=3, n_private=2, **SMALL)
    for scoring in (cross_view_agreement, leave_one_view_out_score):
        gs = GridSearchCV(est, {"lambda1": [0.0, 10.0]}, cv=2, scoring=scoring).fit(X)
        assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
        assert gs.best_params_["lambda1"] in (0.0, 10.0)


def test_gridsearch_over_lambda_scored_by_a_downstream_classifier(data):
    """The pattern the docs show: latents into a classifier, lambda chosen by AUROC."""
    X, y = data
    binary = (y == y.max()).astype(int)
    pipe = make_pipeline(IDMVAE(n_shared=3, n_private=2, **SMALL), LogisticRegression())
    gs = GridSearchCV(pipe, {"idmvae__lambda1": [0.0, 10.0]}, cv=2, scoring="roc_auc")
    gs.fit(X, binary)
    assert gs.best_score_ > 0.6  # the shared class is in the latents
    assert cross_view_agreement(gs.best_estimator_, X) > 0.5  # pipelines are accepted
