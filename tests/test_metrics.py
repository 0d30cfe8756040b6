"""Evaluation metrics: latent probes, coherence, log-likelihoods, evaluation classifiers."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from skmmvae import (
    DMVAE,
    IDMVAE,
    MMVAE,
    MMVM,
    MVAE,
    MMVAEPlus,
    MoPoE,
    MultiView,
    PrivateSharedVAE,
    make_shared_private,
    methods,
)
from skmmvae.latent import Normal
from skmmvae.metrics import (
    ImageClassifier,
    conditional_coherence,
    cross_classification,
    latent_classification,
    leave_one_out_coherence,
    log_likelihood,
    train_view_classifiers,
    unconditional_coherence,
)
from skmmvae.posteriors import Diagonal

from .conftest import FAST, build

METHODS = methods.estimators()
PRIVATE = methods.estimators(private_latents=True)
NO_PRIVATE = methods.estimators(private_latents=False)
WITH_LIKELIHOOD = methods.estimators(likelihood="joint")
N_TRAIN = 120


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks and mixtures run fastest single-threaded (no fight for the cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    X, y, yp = make_shared_private(n_samples=200, n_views=3, n_features=6, random_state=0)
    return X[:N_TRAIN], y[:N_TRAIN], yp[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:], yp[N_TRAIN:]


@pytest.fixture(scope="module")
def fitted(data):
    cache = {}

    def get(cls):
        if cls not in cache:
            cache[cls] = build(cls, 2, **FAST).fit(data[0])
        return cache[cls]

    return get


@pytest.fixture(scope="module")
def view_clfs(data):
    X, y, yp = data[:3]
    return {"shared": train_view_classifiers(X, y), "private": train_view_classifiers(X, yp)}


@pytest.fixture(scope="module")
def trained_mvae():
    """An MVAE trained long enough for its latents and generations to carry labels."""
    X, y, yp = make_shared_private(n_samples=400, n_views=2, n_features=8, random_state=1)
    est = MVAE(n_latent=4, max_epochs=25, batch_size=32, hidden_layer_sizes=(32,), random_state=0)
    return est.fit(X[:300]), X, y


def in_unit(x):
    x = np.asarray(x, dtype=float)
    return bool(np.all((x >= 0) & (x <= 1)))


# ---- latent classification -----------------------------------------------------------
@pytest.mark.parametrize("cls", METHODS)
def test_latent_classification_every_method(cls, fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    est = fitted(cls)
    r = latent_classification(est, Xtr, ytr, Xte, yte)
    assert r["accuracy_per_view"].shape == r["auroc_per_view"].shape == (3,)
    assert in_unit(r["accuracy_per_view"]) and in_unit(r["auroc_per_view"])
    assert r["accuracy"] == pytest.approx(r["accuracy_per_view"].mean())
    assert (r["n_train"], r["n_test"]) == (3 * len(ytr), 3 * len(yte))
    joint = latent_classification(
        est, Xtr, ytr, Xte, yte, per_view=False, latent_mode="sample", random_state=0
    )
    assert in_unit([joint["accuracy"], joint["auroc"]]) and "accuracy_per_view" not in joint
    # private labels, one column per view, from [z, w_m] (z alone without private latents)
    r = latent_classification(est, Xtr, yptr, Xte, ypte, latents="all")
    assert in_unit(r["accuracy_per_view"]) and in_unit(r["auroc_per_view"])


@pytest.mark.parametrize("cls", [MMVAEPlus, MMVM])
@pytest.mark.parametrize("latents", ["private", "per_view"])
def test_latent_classification_blocks(cls, latents, fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    est = fitted(cls)
    if latents == "private" and not cls.has_private_latents:
        with pytest.raises(ValueError, match="no private latents"):
            latent_classification(est, Xtr, ytr, Xte, yte, latents=latents)
        return
    for per_view in (True, False):
        r = latent_classification(est, Xtr, ytr, Xte, yte, latents=latents, per_view=per_view)
        assert in_unit([r["accuracy"], r["auroc"]])


@pytest.mark.parametrize("cls", NO_PRIVATE)
def test_private_latents_required(cls, fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    with pytest.raises(ValueError, match="no private latents"):
        latent_classification(fitted(cls), Xtr, ytr, Xte, yte, latents="private")
    with pytest.raises(ValueError, match="private latents"):
        cross_classification(fitted(cls), Xtr, ytr, yptr, Xte, yte, ypte)


def test_latent_classification_learns_signal_and_chance_on_shuffled_labels(trained_mvae):
    est, X, y = trained_mvae
    Xtr, Xte, ytr, yte = X[:300], X[300:], y[:300], y[300:]
    real = latent_classification(est, Xtr, ytr, Xte, yte)
    assert real["accuracy"] > 0.6 and real["auroc"] > 0.8  # chance: 0.25 and 0.5
    rng = np.random.RandomState(0)
    fake = latent_classification(est, Xtr, rng.permutation(ytr), Xte, rng.permutation(yte))
    assert fake["accuracy"] < 0.45 and abs(fake["auroc"] - 0.5) < 0.15


def test_latent_classification_drops_unlabelled_samples(fitted, data):
    Xtr, ytr, _, Xte, yte, _ = data
    est = fitted(MVAE)
    y_int = ytr.copy()
    y_int[:20] = -1
    y_float = ytr.astype(float)
    y_float[:20] = np.nan
    y_obj = ytr.astype(object)
    y_obj[:20] = None
    results = [latent_classification(est, Xtr, yy, Xte, yte) for yy in (y_int, y_float, y_obj)]
    for r in results:
        assert r["n_train"] == 3 * (len(ytr) - 20)
    assert results[0]["accuracy"] == pytest.approx(results[1]["accuracy"])
    with pytest.raises(ValueError, match="No labelled training sample"):
        latent_classification(est, Xtr, np.full(len(ytr), -1), Xte, yte)
    with pytest.raises(ValueError, match="single class"):
        latent_classification(est, Xtr, np.zeros(len(ytr), int), Xte, yte)


def test_latent_classification_missing_views(missing_tables):
    X, y = missing_tables
    est = build(MMVAE, 2, **FAST).fit(X)
    r = latent_classification(est, X[:60], y[:60], X[60:], y[60:])
    observed = ~np.isnan(X.views[0][:60, 0])
    assert r["n_train"] < 3 * 60 and in_unit(r["accuracy_per_view"])
    assert r["n_train"] >= observed.sum()


def test_auroc_binary_multiclass_and_absent_class(fitted, data):
    Xtr, ytr, _, Xte, yte, _ = data
    est = fitted(MMVAEPlus)
    binary = latent_classification(est, Xtr, ytr % 2, Xte, yte % 2)
    assert in_unit(binary["auroc_per_view"])
    yte_missing = np.where(yte == 3, -1, yte)  # class 3 absent from the test labels
    r = latent_classification(est, Xtr, ytr, Xte, yte_missing)
    assert np.isnan(r["auroc"]) and in_unit(r["accuracy"])
    knn = latent_classification(est, Xtr, ytr, Xte, yte, classifier=KNeighborsClassifier(3))
    assert in_unit(knn["auroc_per_view"])
    svm = latent_classification(est, Xtr, ytr % 2, Xte, yte % 2, classifier=LinearSVC())
    assert in_unit(svm["auroc_per_view"])  # decision_function for two classes
    svm = latent_classification(est, Xtr, ytr, Xte, yte, classifier=LinearSVC())
    assert np.isnan(svm["auroc"]) and in_unit(svm["accuracy"])  # no probabilities


def test_latent_classification_input_errors(fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    est = fitted(MVAE)
    with pytest.raises(ValueError, match="rows"):
        latent_classification(est, Xtr, ytr[:-1], Xte, yte)
    with pytest.raises(ValueError, match="shape"):
        latent_classification(est, Xtr, yptr[:, :2], Xte, yte)
    with pytest.raises(ValueError, match="1-D"):
        latent_classification(est, Xtr, yptr, Xte, ypte, per_view=False)
    with pytest.raises(ValueError, match="latents"):
        latent_classification(est, Xtr, ytr, Xte, yte, latents="z")
    with pytest.raises(ValueError, match="latent_mode"):
        latent_classification(est, Xtr, ytr, Xte, yte, latent_mode="mode")
    with pytest.raises(ValueError, match="views"):
        latent_classification(est, MultiView(Xtr.views[:2]), ytr, Xte, yte)


@pytest.mark.parametrize("cls", PRIVATE)
def test_cross_classification(cls, fitted, data):
    r = cross_classification(fitted(cls), *data)
    assert set(r) == {"shared_from_private", "private_from_shared"}
    for part in r.values():
        assert in_unit(part["accuracy_per_view"]) and part["accuracy_per_view"].shape == (3,)
    Xtr, ytr, yptr, Xte, yte, ypte = data
    with pytest.raises(ValueError, match="y_private_train"):
        cross_classification(fitted(cls), Xtr, ytr, ytr, Xte, yte, ypte)


# ---- coherence -----------------------------------------------------------------------
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


# ---- decode --------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [MVAE, MMVAEPlus, PrivateSharedVAE, MMVM])
def test_decode_reproduces_reconstruct(cls, fitted, data):
    X = data[3]
    est = fitted(cls)
    recon = est.reconstruct(X).views
    if cls is MMVM:
        Z = est.transform(X, latents="per_view").reshape(len(X), 3, -1)
        latents = [Z[:, m] for m in range(3)]
    else:
        z = est.transform(X, latents="shared")
        if cls.has_private_latents:
            W = est.transform(X, latents="private").reshape(len(X), 3, -1)
            latents = [np.hstack([z, W[:, m]]) for m in range(3)]
        else:
            latents = z
    decoded = est.decode(latents)
    for m in range(3):
        np.testing.assert_allclose(decoded[m], recon[m], rtol=1e-5, atol=1e-5)
        one = latents[m] if isinstance(latents, list) else latents
        np.testing.assert_allclose(est.decode(one, view=m), recon[m], rtol=1e-5, atol=1e-5)
    noisy = est.decode(latents, noise=True, random_state=0)
    assert all(np.isfinite(v).all() for v in noisy)


def test_decode_errors(fitted):
    est = fitted(MMVAEPlus)
    with pytest.raises(ValueError, match="columns"):
        est.decode(np.zeros((4, 2)), view=0)
    with pytest.raises(ValueError, match="view"):
        est.decode(np.zeros((4, 4)), view=3)
    with pytest.raises(ValueError, match="same number of rows"):
        est.decode([np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((3, 4))])
    with pytest.raises(NotFittedError):
        MVAE().decode(np.zeros((2, 2)))


# ---- log-likelihood ------------------------------------------------------------------
@pytest.mark.parametrize("cls", METHODS)
def test_log_likelihood_every_method(cls, fitted, data):
    X = data[3][:12]
    est = fitted(cls)
    if cls is MMVM:
        with pytest.raises(ValueError, match="MMVM has no joint density"):
            log_likelihood(est, X, K=4)
        with pytest.raises(ValueError, match="MMVM has no joint density"):
            log_likelihood(est, X, K=4, target_views=0, cond_views=[1, 2])
        return
    cond = log_likelihood(est, X, K=8, target_views=0, cond_views=[1, 2])
    assert cond.shape == (12,) and np.isfinite(cond).all()
    if cls is DMVAE:
        with pytest.raises(ValueError, match="no prior on the shared code"):
            log_likelihood(est, X, K=4)
        return
    joint = log_likelihood(est, X, K=8, random_state=0)
    marginal = log_likelihood(est, X, K=8, target_views=[1])
    assert np.isfinite(joint).all() and np.isfinite(marginal).all()
    np.testing.assert_array_equal(joint, log_likelihood(est, X, K=8, random_state=0))
    # each view carries 6 standardised features: a joint density is far below a marginal
    assert joint.mean() < marginal.mean()


def test_log_likelihood_diffusion_prior_raises(data):
    est = IDMVAE(
        n_shared=2,
        n_private=2,
        diffusion_prior=True,
        diffusion_steps=10,
        diffusion_sampling_steps=5,
        **FAST,
    ).fit(data[0])
    with pytest.raises(ValueError, match="no tractable prior density"):
        log_likelihood(est, data[3][:4], K=2)
    cond = log_likelihood(est, data[3][:4], K=2, target_views=[0], cond_views=[2])
    assert np.isfinite(cond).all()  # the targets' private latents come from the DDPM prior


def test_log_likelihood_input_errors(fitted, data):
    est, X = fitted(MVAE), data[3][:4]
    for K in (0, 2.5, None):
        with pytest.raises(ValueError, match="K must"):
            log_likelihood(est, X, K=K)
    with pytest.raises(ValueError, match="must not share"):
        log_likelihood(est, X, K=2, target_views=[0, 1], cond_views=[1])
    with pytest.raises(ValueError, match="target_views"):
        log_likelihood(est, X, K=2, target_views=[3])
    with pytest.raises(ValueError, match="cond_views"):
        log_likelihood(est, X, K=2, target_views=[0], cond_views=[])
    with pytest.raises(ValueError, match="batch_size"):
        log_likelihood(est, X, K=2, batch_size=0)


@pytest.mark.parametrize("cls", [MoPoE, MMVAEPlus])
def test_log_likelihood_missing_views_are_nan(cls, missing_tables):
    X, _ = missing_tables
    est = build(cls, 2, **FAST).fit(X)
    observed = ~np.isnan(X.views[0][:, 0]), ~np.isnan(X.views[1][:, 0])
    joint = log_likelihood(est, X, K=4)
    assert np.isfinite(joint).all()
    cond = log_likelihood(est, X, K=4, target_views=0, cond_views=1)
    np.testing.assert_array_equal(np.isfinite(cond), observed[0] & observed[1])
    marginal = log_likelihood(est, X, K=4, target_views=0)
    np.testing.assert_array_equal(np.isfinite(marginal), observed[0])


@pytest.mark.parametrize("cls", [MMVAEPlus, MoPoE])
def test_log_weights_are_laid_out_K_by_batch(cls, fitted, data):
    """The vectorised (K, B) log weights equal a loop over draws and samples, and
    ``marginal_ll`` takes the log-mean-exp over the K axis."""
    est = fitted(cls)
    module = est.net_.module_
    arrays, mask, _ = est._validate_input(data[3][:5], reset=False)
    views = [torch.as_tensor(a) for a in est._to_network(arrays, mask)]
    mask = torch.as_tensor(mask)
    K, B = 7, 5
    with torch.no_grad():
        torch.manual_seed(0)
        draws = module.importance_draws(views, mask, mask, K)
        log_w = module.importance_log_weights(views, mask, mask, draws, joint=True)
        assert log_w.shape == (K, B)
        for k in range(K):
            for i in range(B):
                one = {
                    "z": draws["z"][k : k + 1, i : i + 1],
                    "w": [None if w is None else w[k : k + 1, i : i + 1] for w in draws["w"]],
                    "log_q": draws["log_q"][k : k + 1, i : i + 1],
                }
                single = module.importance_log_weights(
                    [v[i : i + 1] for v in views], mask[i : i + 1], mask[i : i + 1], one, True
                )
                assert single.shape == (1, 1)
                assert float(single[0, 0]) == pytest.approx(float(log_w[k, i]), rel=1e-5, abs=1e-4)
        torch.manual_seed(0)
        ll = module.marginal_ll(views, mask, mask, K, joint=True)
    log_w = log_w.double().numpy()
    loop = [np.log(np.mean(np.exp(log_w[:, i]))) for i in range(B)]
    np.testing.assert_allclose(ll.numpy(), loop, rtol=1e-10)


def test_importance_estimate_bounds_the_elbo():
    """MVAE, one standardised gaussian view on a large scale: K=1 matches the ELBO of
    score_samples on average (same scale, log_det included), larger K is higher on
    average (IWAE monotonicity) and stable."""
    X, _, _ = make_shared_private(n_samples=150, n_views=1, n_features=5, random_state=0)
    A = 10.0 * X.views[0]  # standardisation adds log_det = -5 log(10) per sample
    est = MVAE(n_latent=2, max_epochs=15, batch_size=32, hidden_layer_sizes=(16,), random_state=0)
    est.fit(A)
    elbo = np.mean([est.set_params(random_state=s).score(A) for s in range(3)])

    def ll(K):
        return np.mean([log_likelihood(est, A, K=K, random_state=s).mean() for s in range(3)])

    l1, l10, l100, l500 = ll(1), ll(10), ll(100), ll(500)
    assert l1 == pytest.approx(elbo, abs=0.05)
    assert l1 < l10 < l100
    assert l500 > elbo + 0.02 and l500 > l10
    spread = [log_likelihood(est, A, K=500, random_state=s).mean() for s in (10, 11)]
    assert abs(spread[0] - spread[1]) < 0.02


def _moment_matched_proposal(self, enc, views, mask):
    """A broad Gaussian proposal with the posterior's mean (any valid proposal works)."""
    return Diagonal(Normal, enc.shared.mean, torch.log(2.0 * enc.shared.variance))


@pytest.mark.parametrize("cls", [MMVAE, MoPoE, MMVAEPlus, "laplace"])
def test_mixture_proposal_densities_are_consistent(cls, fitted, data):
    """Importance sampling is unbiased for any proposal whose density is right: the
    mixture proposals agree with a plain Gaussian one."""
    if cls == "laplace":
        est = MMVAE(n_latent=2, posterior="laplace", **FAST).fit(data[0])
    else:
        est = fitted(cls)
    X = data[3][:16]
    native = log_likelihood(est, X, K=1000, random_state=1).mean()
    module = est.net_.module_
    module.proposal = _moment_matched_proposal.__get__(module)
    try:
        other = log_likelihood(est, X, K=1000, random_state=1).mean()
    finally:
        del module.proposal
    assert native == pytest.approx(other, abs=0.1)


# ---- evaluation classifiers ----------------------------------------------------------
def quadrant_images(n, rng):
    """3x16x16 noise images with a bright square in one of the four quadrants."""
    X = 0.1 * rng.rand(n, 3, 16, 16).astype(np.float32)
    quadrant = rng.randint(4, size=n)
    for i, q in enumerate(quadrant):
        r, c = 8 * (q // 2) + rng.randint(3), 8 * (q % 2) + rng.randint(3)
        X[i, :, r : r + 5, c : c + 5] = 1.0
    return X, quadrant


def test_image_classifier_learns_quadrants():
    rng = np.random.RandomState(0)
    X, q = quadrant_images(300, rng)
    Xt, qt = quadrant_images(200, rng)
    clf = ImageClassifier(max_epochs=3, random_state=0).fit(X, q)
    assert clf.score(Xt, qt) > 0.9
    proba = clf.predict_proba(Xt)
    assert proba.shape == (200, 4) and np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    again = ImageClassifier(max_epochs=3, random_state=0).fit(X, q)
    np.testing.assert_allclose(again.predict_proba(Xt), proba, atol=1e-6)
    with pytest.raises(ValueError, match="images"):
        clf.predict(X[:, 0])
    with pytest.raises(NotFittedError):
        ImageClassifier().predict(X)


def test_train_view_classifiers_images_and_tables():
    rng = np.random.RandomState(1)
    images, q = quadrant_images(240, rng)
    table = np.eye(4)[q] + 0.1 * rng.randn(240, 4)
    labels = np.column_stack([q, q % 2])  # one label column per view
    clfs = train_view_classifiers([images, table], labels, random_state=0, max_epochs=3)
    assert isinstance(clfs[0], ImageClassifier)
    assert clfs[0].score(images, q) > 0.9 and clfs[1].score(table, q % 2) > 0.9
    shared = train_view_classifiers([images, table], q, kind=["logistic", "mlp"])
    assert shared[0].predict(images[:5]).shape == (5,)  # images flattened for tables
    assert shared[1].score(table, q) > 0.9
    custom = train_view_classifiers([table, table], q, kind=KNeighborsClassifier(3))
    assert all(isinstance(c, KNeighborsClassifier) for c in custom)
    partial = np.where(np.arange(240) < 40, -1, q)  # unlabelled rows are left out
    assert train_view_classifiers([table], partial)[0].score(table, q) > 0.9
    with pytest.raises(ValueError, match="image"):
        train_view_classifiers([table], q, kind="cnn")
    with pytest.raises(ValueError, match="kind"):
        train_view_classifiers([table], q, kind="forest")
    with pytest.raises(ValueError, match="two classes"):
        train_view_classifiers([table], np.zeros(240))
    with pytest.raises(ValueError, match="shape"):
        train_view_classifiers([table, table], labels[:, :1].repeat(3, 1))


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
