"""Importance-sampled log-likelihoods against bounds, loops and other proposals."""

import numpy as np
import pytest
import torch

from skmmvae import (
    DMVAE,
    IDMVAE,
    MMVAE,
    MMVM,
    MVAE,
    MMVAEPlus,
    MoPoE,
    make_shared_private,
)
from skmmvae.latent import Normal
from skmmvae.metrics import (
    log_likelihood,
)
from skmmvae.posteriors import Diagonal

from ..conftest import FAST, build
from .conftest import METHODS


def _moment_matched_proposal(self, enc, views, mask):
    """A broad Gaussian proposal with the posterior's mean (any valid proposal works)."""
    return Diagonal(Normal, enc.shared.mean, torch.log(2.0 * enc.shared.variance))


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
