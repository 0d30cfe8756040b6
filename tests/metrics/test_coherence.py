"""Coherence of generations: conditional, leave-one-out and unconditional."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier

from skmmvae import (
    DMVAE,
    MVAE,
    MMVAEPlus,
    MultiView,
)
from skmmvae.metrics import (
    conditional_coherence,
    latent_classification,
    leave_one_out_coherence,
    log_likelihood,
    train_view_classifiers,
    unconditional_coherence,
)

from ..conftest import FAST, build
from .conftest import METHODS, in_unit, quadrant_images


@pytest.mark.parametrize("cls", METHODS)
def test_conditional_coherence_every_method(cls, fitted, data, view_clfs):
    X, y, yp = data[3:]
    est = fitted(cls)
    r = conditional_coherence(est, X, y, yp, view_clfs, random_state=0)
    for key in ("shared", "private"):
        matrix = r[f"{key}_matrix"]
        assert matrix.shape == (3, 3) and in_unit(matrix)
        assert r[f"{key}_self"] == pytest.approx(np.diag(matrix).mean())
        off = matrix[~np.eye(3, dtype=bool)]
        assert r[f"{key}_cross"] == pytest.approx(off.mean())
    prior = conditional_coherence(
        est, X, y, None, view_clfs["shared"], z_from="prior", w_from="prior", latent_mode="mean"
    )
    assert set(prior) == {"shared_self", "shared_cross", "shared_matrix"}
    assert (prior["shared_matrix"] == prior["shared_matrix"][0]).all()  # source-free
    again = conditional_coherence(est, X, y, yp, view_clfs, random_state=0)
    np.testing.assert_array_equal(again["shared_matrix"], r["shared_matrix"])


def test_coherence_above_chance_when_trained(trained_mvae):
    est, X, y = trained_mvae
    clfs = train_view_classifiers(X[:300], y[:300], random_state=0)
    r = conditional_coherence(est, X[300:], y[300:], None, clfs, latent_mode="mean")
    assert r["shared_self"] > 0.6 and r["shared_cross"] > 0.45  # chance: 0.25
    rng = np.random.RandomState(0)
    shuffled = conditional_coherence(est, X[300:], rng.permutation(y[300:]), None, clfs)
    assert shuffled["shared_cross"] < 0.4
    # with two views, "all other views" is the other view: the cross panel
    loo = leave_one_out_coherence(est, X[300:], y[300:], None, clfs, latent_mode="mean")
    np.testing.assert_allclose(
        loo["shared_per_view"], [r["shared_matrix"][1, 0], r["shared_matrix"][0, 1]]
    )
    unc = unconditional_coherence(est, clfs, 300, random_state=0)
    assert 0.25 < unc["coherence"] <= 1  # independent views would agree 1/4 of the time


def test_coherence_uses_the_ex_post_sampler_for_prior_z(fitted, data, view_clfs):
    est = fitted(DMVAE)
    calls = []
    sampler = est.prior_sampler_

    class Spy:
        def sample(self, n, seed=None):
            calls.append(n)
            return sampler.sample(n, seed)

    est.prior_sampler_ = Spy()
    try:
        conditional_coherence(est, data[3], data[4], None, view_clfs, z_from="prior")
    finally:
        est.prior_sampler_ = sampler
    assert len(calls) == 3  # one draw per target view


@pytest.mark.parametrize("cls", METHODS)
def test_leave_one_out_and_unconditional_every_method(cls, fitted, data, view_clfs):
    X, y, yp = data[3:]
    est = fitted(cls)
    for w_from in ("posterior", "prior"):
        r = leave_one_out_coherence(est, X, y, yp, view_clfs, w_from=w_from)
        assert in_unit(r["shared_per_view"]) and in_unit(r["private_per_view"])
        assert r["shared"] == pytest.approx(r["shared_per_view"].mean())
    u = unconditional_coherence(est, view_clfs, n_samples=50, random_state=0)
    assert in_unit(u["coherence"]) and u["n_samples"] == 50
    assert u == unconditional_coherence(est, view_clfs["shared"], n_samples=50, random_state=0)


def test_coherence_with_missing_views(missing_tables):
    X, y = missing_tables
    est = build(MMVAEPlus, 2, **FAST).fit(X)
    clfs = train_view_classifiers(X, y)
    r = conditional_coherence(est, X, y, None, clfs)
    assert in_unit(r["shared_matrix"])
    r = leave_one_out_coherence(est, X, y, None, clfs, w_from="prior")
    assert in_unit(r["shared_per_view"])


def test_coherence_input_errors(fitted, data, view_clfs):
    X, y, yp = data[3:]
    est = fitted(MMVAEPlus)
    with pytest.raises(ValueError, match="one per view"):
        conditional_coherence(est, X, y, None, view_clfs["shared"][:2])
    with pytest.raises(ValueError, match="no private classifiers"):
        conditional_coherence(est, X, y, yp, view_clfs["shared"])
    with pytest.raises(ValueError, match="Give y_shared or y_private"):
        conditional_coherence(est, X, None, None, view_clfs)
    with pytest.raises(ValueError, match="keys"):
        conditional_coherence(est, X, y, None, {"shard": view_clfs["shared"]})
    with pytest.raises(TypeError, match="classifiers"):
        conditional_coherence(est, X, y, None, view_clfs["shared"][0])
    with pytest.raises(ValueError, match="y_private"):
        conditional_coherence(est, X, y, yp[:, 0], view_clfs)
    with pytest.raises(ValueError, match="rows"):
        conditional_coherence(est, X, y[:-1], None, view_clfs)
    with pytest.raises(ValueError, match="z_from"):
        conditional_coherence(est, X, y, None, view_clfs, z_from="joint")
    with pytest.raises(ValueError, match="w_from"):
        leave_one_out_coherence(est, X, y, None, view_clfs, w_from="other")
    single = build(MVAE, 2, **FAST).fit(X.views[0])
    with pytest.raises(ValueError, match="two views"):
        leave_one_out_coherence(single, X.views[0], y, None, view_clfs["shared"][:1])
    with pytest.raises(ValueError, match="two views"):
        unconditional_coherence(single, view_clfs["shared"][:1])
    with pytest.raises(ValueError, match="shared label"):
        unconditional_coherence(est, {"private": view_clfs["private"]})


@pytest.mark.parametrize(
    "func",
    [
        lambda est, X, y: latent_classification(est, X, y, X, y),
        lambda est, X, y: conditional_coherence(est, X, y, None, [None] * 3),
        lambda est, X, y: leave_one_out_coherence(est, X, y, None, [None] * 3),
        lambda est, X, y: unconditional_coherence(est, [None] * 3),
        lambda est, X, y: log_likelihood(est, X, K=2),
    ],
)
def test_unfitted_or_foreign_estimator(func, data):
    X, y = data[0], data[1]
    with pytest.raises(NotFittedError):
        func(MVAE(), X, y)
    with pytest.raises(TypeError, match="MultimodalVAE"):
        func(KNeighborsClassifier(), X, y)


def test_coherence_on_image_views():
    """End to end with convolutional views and CNN evaluation classifiers."""
    rng = np.random.RandomState(2)
    images, q = quadrant_images(96, rng)
    X = MultiView([images, images[:, ::-1].copy()])
    est = MMVAEPlus(n_shared=2, n_private=2, **{**FAST, "max_epochs": 1}).fit(X)
    clfs = train_view_classifiers(X, q, random_state=0, max_epochs=2)
    r = conditional_coherence(est, X, q, None, clfs)
    assert r["shared_matrix"].shape == (2, 2) and in_unit(r["shared_matrix"])
    assert in_unit(unconditional_coherence(est, clfs, 20)["coherence"])
    assert np.isfinite(log_likelihood(est, X[:4], K=3)).all()


def test_cross_coherence_draws_the_private_latent_from_the_prior_by_default(
    fitted, data, view_clfs
):
    """The papers' protocol: the target's w from the prior, not its own posterior (which
    hands the target's private label, and any leaked shared factor, to the generation)."""
    X, y, yp = data[3:]
    est = fitted(MMVAEPlus)
    default = conditional_coherence(est, X, y, yp, view_clfs, random_state=0)
    prior = conditional_coherence(est, X, y, yp, view_clfs, w_from="prior", random_state=0)
    posterior = conditional_coherence(est, X, y, yp, view_clfs, w_from="posterior", random_state=0)
    np.testing.assert_array_equal(default["private_matrix"], prior["private_matrix"])
    assert not np.array_equal(default["private_matrix"], posterior["private_matrix"])
    loo = leave_one_out_coherence(est, X, y, yp, view_clfs, random_state=0)
    loo_prior = leave_one_out_coherence(est, X, y, yp, view_clfs, w_from="prior", random_state=0)
    np.testing.assert_array_equal(loo["private_per_view"], loo_prior["private_per_view"])
