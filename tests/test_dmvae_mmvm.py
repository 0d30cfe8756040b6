"""DMVAE and MMVM: estimates against direct computations, the discriminator, samplers."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch.distributions import Normal as TorchNormal
from torch.distributions import kl_divergence

from skmmvae import DMVAE, MMVM, MVAE, MultiView, make_shared_private
from skmmvae.latent import Normal, kl_normal_standard, mixture_log_prob
from skmmvae.methods.dmvae import TCDiscriminator, discriminator_loss, tc_estimate
from skmmvae.methods.mmvm import kl_normal_pairs
from skmmvae.sampling import ExPostGMM

from .conftest import FAST, build_module, random_views


def test_tc_estimate_and_discriminator_loss_match_direct_formulas():
    logits = torch.randn(6, 2)
    d = torch.softmax(logits, -1)[:, 0]  # D(joint)
    torch.testing.assert_close(tc_estimate(logits), torch.log(d / (1 - d)))
    perm_logits = torch.randn(6, 2)
    expect = -0.5 * (
        torch.log_softmax(logits, -1)[:, 0] + torch.log_softmax(perm_logits, -1)[:, 1]
    )
    torch.testing.assert_close(discriminator_loss(logits, perm_logits), expect)


def test_discriminator_separates_dependent_from_independent_pairs():
    torch.manual_seed(0)
    disc = TCDiscriminator(2, 2, 32)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(400):
        c = torch.randn(256, 2)
        s = c + 0.1 * torch.randn(256, 2)  # strongly dependent
        perm = torch.randperm(256)
        loss = discriminator_loss(disc(s, c), disc(s[perm], c)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    c = torch.randn(2000, 2)
    s = c + 0.1 * torch.randn(2000, 2)
    with torch.no_grad():
        joint = tc_estimate(disc(s, c)).mean()
        independent = tc_estimate(disc(torch.randn(2000, 2), c)).mean()
    assert joint > 1.0 and independent < 0.0  # TC of dependent pairs is large and positive


def test_dmvae_infonce_matches_eq5_on_products_of_experts():
    """Eq. 5 written out: with near-deterministic experts (log-variance at its floor),
    c_full and c_subset are the precision-weighted means of the observed views and of
    the kept observed views; the loss is minus the InfoNCE of the pair (cosine /
    temperature, the batch's other valid samples as negatives), averaged over the two
    directions."""
    tau = 0.5
    module, xs = build_module(DMVAE(n_shared=2, n_private=2, temperature=tau), random_views(10))
    with torch.no_grad():
        for enc in module.shared_encoders:  # log-variance head: constant -12
            last = [layer for layer in enc.modules() if isinstance(layer, torch.nn.Linear)][-1]
            last.weight[:2] *= 30.0  # means far from 0: the draws' noise turns them little
            last.bias[:2] *= 30.0
            last.weight[2:] = 0.0
            last.bias[2:] = -12.0
    mask = torch.ones(10, 3, dtype=torch.bool)
    mask[0, 1] = False
    mask[3, 0] = False
    keep = torch.tensor([True, False, True])
    with torch.no_grad():
        enc = module.encode(xs, mask)
        got = module.info_nce(enc, mask, keep).numpy()
    mu = enc.experts.loc.double().numpy()  # (M, B, D); equal precisions
    m_np, k_np = mask.numpy(), keep.numpy()
    c_full = np.stack([mu[m_np[i], i].mean(0) for i in range(10)])
    valid = (m_np & k_np).any(1)
    c_sub = np.stack([mu[m_np[i] & k_np, i].mean(0) if valid[i] else c_full[i] for i in range(10)])

    def unit(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    sim = unit(c_full) @ unit(c_sub).T / tau
    for i in range(10):
        if not valid[i]:
            assert got[i] == 0
            continue
        cols = np.flatnonzero(valid)
        one = sim[i, i] - np.log(np.exp(sim[i, cols]).sum())
        other = sim[i, i] - np.log(np.exp(sim[cols, i]).sum())
        assert got[i] == pytest.approx(-0.5 * (one + other), abs=5e-3)


def test_dmvae_shared_heads_learn_only_from_infonce():
    module, xs = build_module(DMVAE(n_shared=2, n_private=2, gamma=0.0), random_views(10))
    mask = torch.ones(10, 3, dtype=torch.bool)
    module.train()
    module(xs, mask)["loss"].mean().backward()
    for p in module.shared_encoders.parameters():  # c is detached, no InfoNCE: no gradient
        assert p.grad is None or torch.all(p.grad == 0)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.decoders.parameters())


def test_dmvae_discriminators_train_and_persist(tmp_path):
    X, _, _ = make_shared_private(n_samples=80, n_views=2, n_features=4, random_state=0)
    est = DMVAE(n_shared=2, n_private=2, discriminator_hidden=16, discriminator_steps=2, **FAST)
    est.fit(X)
    aux = est.net_.optimizer_aux_
    assert len(aux.state) > 0 and "train_discriminator" in est.history_[-1]
    main_ids = {id(p) for g in est.net_.optimizer_.param_groups for p in g["params"]}
    assert all(id(p) not in main_ids for p in est.net_.module_.discriminators.parameters())
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    assert len(again.net_.optimizer_aux_.state) == len(aux.state)
    again.partial_fit(X)
    assert len(again.history_) == 3
    est = DMVAE(n_shared=2, n_private=2, warm_start=True, discriminator_hidden=8, **FAST)
    assert len(est.fit(X).fit(X).history_) == 4


def test_dmvae_tc_term_takes_the_shared_class_out_of_the_private_codes():
    # ground truth: a shared class (4 values) and a private class per view (3 values);
    # beta is small so that without the TC term s_m keeps much of the shared class
    X, y, y_private = make_shared_private(
        n_samples=1000, n_views=2, n_features=12, n_shared=2, n_private=2, random_state=0
    )
    train, test = np.arange(600), np.arange(600, 1000)

    def probes(delta):
        est = DMVAE(
            n_shared=4,
            n_private=4,
            beta=0.05,
            gamma=10,
            delta=delta,
            discriminator_hidden=64,
            hidden_layer_sizes=(64,),
            max_epochs=25,
            batch_size=64,
            random_state=0,
        ).fit(X[train])
        W = est.transform(X, latents="private", latent_mode="sample").reshape(len(y), 2, -1)

        def acc(labels, m):
            clf = LogisticRegression(max_iter=1000).fit(W[train, m], labels[train])
            return clf.score(W[test, m], labels[test])

        shared = np.mean([acc(y, m) for m in range(2)])
        private = np.mean([acc(y_private[:, m], m) for m in range(2)])
        return shared, private

    shared_0, private_0 = probes(0.0)
    shared_tc, private_tc = probes(2.0)
    assert shared_0 > 0.6  # chance 0.25: without the term s_m carries the shared class
    assert shared_tc < shared_0 - 0.2  # the TC term removes most of it
    assert private_tc > 0.6  # chance 0.33: s_m still carries its private class
    assert private_0 - private_tc < 0.15


def test_dmvae_needs_the_expost_sampler():
    X = MultiView([np.random.RandomState(0).randn(30, 3)] * 2)
    with pytest.raises(ValueError, match="prior_sampler must be one of"):
        DMVAE(prior_sampler="prior", **FAST).fit(X)
    with pytest.raises(ValueError, match="delta"):
        DMVAE(delta=[1, 2, 3], **FAST).fit(X)


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


def test_expost_sampler_is_reproducible_and_capped():
    rng = np.random.RandomState(0)
    Z = np.vstack([rng.randn(200, 2) + 5, rng.randn(200, 2) - 5])
    gmm = ExPostGMM(n_components=500, random_state=0).fit(Z)
    assert gmm.mixture_.n_components == 80  # one per 5 rows
    a, b = gmm.sample(1000, 3), gmm.sample(1000, 3)
    np.testing.assert_array_equal(a, b)
    assert abs(np.mean(a[:, 0] > 0) - 0.5) < 0.06 and np.abs(a).max() < 12


def test_every_estimator_can_sample_from_an_expost_gmm():
    X, _, _ = make_shared_private(n_samples=60, n_views=2, n_features=4, random_state=0)
    est = MVAE(n_latent=2, prior_sampler="gmm", n_prior_components=4, **FAST).fit(X)
    assert est.prior_sampler_.mixture_.n_components == 4
    a = est.sample(5, random_state=0)
    np.testing.assert_array_equal(a[0], est.sample(5, random_state=0)[0])
    mmvm = MMVM(n_latent=2, **FAST).fit(X)
    assert mmvm.prior_sampler_.mixture_.means_.shape[1] == 4  # both views' latents jointly
    assert [v.shape for v in mmvm.sample(7, random_state=0)] == [(7, 4), (7, 4)]
    assert not hasattr(MVAE(n_latent=2, **FAST).fit(X), "prior_sampler_")


def test_dmvae_keeps_no_batch_data_after_fit():
    X, _, _ = make_shared_private(n_samples=40, n_views=2, n_features=4, random_state=0)
    est = DMVAE(n_shared=2, n_private=2, discriminator_hidden=8, discriminator_steps=3, **FAST)
    assert est.fit(X).net_.module_._pairs is None
