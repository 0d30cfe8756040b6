"""MMVM: the mixture-prior KL against its definition, alpha, and inference."""

import numpy as np
import torch
from torch.distributions import Normal as TorchNormal
from torch.distributions import kl_divergence

from skmmvae import MMVM, make_shared_private
from skmmvae.latent import Normal, kl_normal_standard, mixture_log_prob
from skmmvae.methods.mmvm import kl_normal_pairs

from ..conftest import FAST, build_module, random_views


def test_mmvm_jensen_kl_matches_definition_and_bounds_the_sampled_kl():
    torch.manual_seed(0)
    loc, logvar = torch.randn(3, 4, 2), torch.randn(3, 4, 2) * 0.5
    pairs = kl_normal_pairs(loc, logvar)
    for m in range(3):
        for j in range(3):
            q_m = TorchNormal(loc[m], torch.exp(0.5 * logvar[m]))
            q_j = TorchNormal(loc[j], torch.exp(0.5 * logvar[j]))
            torch.testing.assert_close(pairs[m, j], kl_divergence(q_m, q_j).sum(-1))
    module, _ = build_module(MMVM(n_latent=2), random_views(n=4))
    mask = torch.ones(4, 3, dtype=torch.bool)
    mask[1, 2] = False
    jensen = module.kl_to_mixture_prior(loc, logvar, None, mask, alpha=0.0)
    torch.testing.assert_close(jensen[0, 1], (pairs[0, 0, 1] + pairs[0, 1, 1]) / 2)
    module.kl = "sampled"
    z = Normal.rsample(loc, logvar, 20000)  # (S, M, B, D)
    mc = torch.stack([module.kl_to_mixture_prior(loc, logvar, zz, mask, 0.0) for zz in z[:2000]])
    assert torch.all(mc.mean(0)[mask.T] <= jensen[mask.T] + 0.05)  # Jensen is an upper bound
    log_mix = mixture_log_prob(z[:, 0], Normal, loc, logvar, mask)  # true KL(q_0 || mixture)
    true_kl = (Normal.log_prob(z[:, 0], loc[0], logvar[0]) - log_mix).mean(0)
    torch.testing.assert_close(mc.mean(0)[0], true_kl, atol=0.15, rtol=0)


def test_mmvm_with_alpha_one_is_independent_vaes():
    views = random_views(n=8)
    module, xs = build_module(MMVM(n_latent=2, alpha=1.0), views)
    mask = torch.ones(8, 3, dtype=torch.bool)
    mask[0, 1] = False
    torch.manual_seed(1)
    loss = module(xs, mask)["loss"]
    torch.manual_seed(1)
    loc, logvar = module.encode_experts(module.encoders, xs, Normal)
    z = Normal.rsample(loc, logvar)
    expect = torch.zeros(8)
    for m in range(3):
        elbo_m = module.log_likelihood(m, xs[m], z[m]) - kl_normal_standard(loc[m], logvar[m])
        expect = expect + torch.where(mask[:, m], elbo_m, 0.0)
    torch.testing.assert_close(loss, -expect)


def test_mmvm_alpha_warmup_schedule():
    module, xs = build_module(MMVM(n_latent=2, alpha=0.2, alpha_warmup_steps=4), random_views(n=6))
    module.train()
    seen = []
    for _ in range(6):
        seen.append(round(module.current_alpha, 6))
        module(xs, torch.ones(6, 3, dtype=torch.bool))
    assert seen == [1.0, 0.8, 0.6, 0.4, 0.2, 0.2]
    module.eval()
    assert module.current_alpha == 0.2


def test_mmvm_transform_and_impute_use_the_observed_views():
    X, _, _ = make_shared_private(
        n_samples=60, n_views=3, n_features=4, missing_rate=0.3, random_state=0
    )
    est = MMVM(n_latent=2, **FAST).fit(X)
    per_view = est.transform(X, latents="per_view").reshape(60, 3, 2)
    shared = est.transform(X, latents="shared")
    observed = ~np.isnan(np.stack([v[:, 0] for v in X.views], 1))
    expect = (per_view * observed[..., None]).sum(1) / observed.sum(1, keepdims=True)
    np.testing.assert_allclose(shared, expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(est.transform(X), shared)
    # impute decodes that average into each missing view; observed rows stay as given
    filled = est.impute(X)
    for t in range(3):
        miss = ~observed[:, t]
        assert miss.any()
        np.testing.assert_allclose(
            filled.views[t][miss], est.decode(expect[miss], view=t), rtol=1e-4, atol=1e-5
        )
        np.testing.assert_array_equal(filled.views[t][~miss], X.views[t][~miss])
