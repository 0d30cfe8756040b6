"""IDMVAE: CrossMI and GenAug against their formulas, gradients, presets, diffusion
priors, and what lambda1 is for (disentanglement)."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skmmvae import IDMVAE, MMVAEPlus, MultiView, make_shared_private
from skmmvae.latent import Normal

from ..conftest import FAST, build_module, random_views


def _cos(u, v):
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _infonce_direction(a, b, i, tau):
    """Eq. 1 for anchor a_i: its positive b_i against the other view's batch samples."""
    logits = [_cos(a[i], b[j]) / tau for j in range(len(a))]
    return logits[i] - float(np.log(np.sum(np.exp(logits))))


def _nt_xent_anchor(x, i, partner, tau):
    """SimCLR NT-Xent of anchor x_i over the pooled 2B set, self excluded."""
    logits = [_cos(x[i], x[j]) / tau for j in range(len(x)) if j != i]
    return _cos(x[i], x[partner]) / tau - float(np.log(np.sum(np.exp(logits))))


def _pair_contrast(a, b, i, tau, negatives):
    if negatives == "cross":
        return 0.5 * (_infonce_direction(a, b, i, tau) + _infonce_direction(b, a, i, tau))
    x, n = np.concatenate([a, b]), len(a)
    return 0.5 * (_nt_xent_anchor(x, i, i + n, tau) + _nt_xent_anchor(x, i + n, i, tau))


def _probe(Z, y, train, test):
    return LogisticRegression(max_iter=2000).fit(Z[train], y[train]).score(Z[test], y[test])


def _leakage(est, X, y, y_private, train, test):
    Z = est.transform(X, latents="shared")
    W = est.transform(X, latents="private").reshape(len(y), 3, -1)
    z_shared = _probe(Z, y, train, test)
    z_private = np.mean([_probe(Z, y_private[:, m], train, test) for m in range(3)])
    w_private = np.mean([_probe(W[:, m], y_private[:, m], train, test) for m in range(3)])
    w_shared = np.mean([_probe(W[:, m], y, train, test) for m in range(3)])
    return z_shared, z_private, w_private, w_shared


@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("normalization", ["authors", "paper"])
def test_cross_mi_matches_the_formulas(normalization, negatives):
    """Paper: -2/(M(M-1)) sum_{m<n} C_mn; authors' code: -1/(M-1) sum_{m != n} C_mn
    (M times the paper's), with Eq. 1 or NT-Xent as C, written out sample by sample."""
    M, B, tau = 3, 6, 0.5
    est = IDMVAE(n_shared=2, n_private=2, temperature=tau)
    est.set_params(normalization=normalization, negatives=negatives)
    module, _ = build_module(est, random_views(n=B))
    z = torch.randn(M, B, 2, generator=torch.Generator().manual_seed(0))
    got = module.cross_mi(z, torch.ones(B, M, dtype=torch.bool)).numpy()
    zn = z.double().numpy()
    for i in range(B):
        pairs = [
            _pair_contrast(zn[m], zn[n], i, tau, negatives)
            for m in range(M)
            for n in range(M)
            if m != n
        ]  # ordered pairs, each unordered pair twice
        if normalization == "authors":
            expect = -sum(pairs) / (M - 1)
        else:
            expect = -2.0 / (M * (M - 1)) * sum(pairs) / 2
        assert got[i] == pytest.approx(expect, rel=1e-5)


def test_cross_mi_averages_the_observed_pairs_of_each_sample():
    """With a missing view, a sample's CrossMI counts only its observed pairs, whose
    negatives are the samples that have both views."""
    B, tau = 6, 0.5
    module, _ = build_module(
        IDMVAE(n_shared=2, n_private=2, temperature=tau, normalization="paper"),
        random_views(n=B),
    )
    z = torch.randn(3, B, 2, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(B, 3, dtype=torch.bool)
    mask[0, 2] = False
    got = module.cross_mi(z, mask).numpy()
    zn = z.double().numpy()
    # sample 0 has only the pair (0, 1), over all six samples
    assert got[0] == pytest.approx(-_pair_contrast(zn[0], zn[1], 0, tau, "cross"), rel=1e-5)
    # sample 1: pairs with view 2 use the five samples that have it
    keep = [1, 2, 3, 4, 5]
    expect = (
        -(
            _pair_contrast(zn[0], zn[1], 1, tau, "cross")
            + _pair_contrast(zn[0][keep], zn[2][keep], 0, tau, "cross")
            + _pair_contrast(zn[1][keep], zn[2][keep], 0, tau, "cross")
        )
        / 3
    )
    assert got[1] == pytest.approx(expect, rel=1e-5)


@pytest.mark.parametrize("normalization", ["authors", "paper"])
def test_gen_aug_lsq_matches_the_formula(normalization):
    """App. A's least-squares GenAug written out: for view m and sample i with partner
    i-1, decode (z_m^i, w_m^{i-1}) and (z_m^{i-1}, w_m^i), re-encode the means, and
    compare them with the partner's posterior means; 1/2 (L_z + L_w) summed over views
    (authors) or divided by M (paper)."""
    M, B = 3, 5
    module, xs = build_module(
        IDMVAE(n_shared=2, n_private=2, genaug="lsq", normalization=normalization),
        random_views(n=B),
    )
    mask = torch.ones(B, M, dtype=torch.bool)
    gen = torch.Generator().manual_seed(0)
    z, w = torch.randn(M, B, 2, generator=gen), torch.randn(M, B, 2, generator=gen)
    with torch.no_grad():
        enc = module.encode(xs, mask)
        got = module.gen_aug(xs, mask, enc, z, w).numpy()
        expect = np.zeros(B)
        for i in range(B):
            p = (i - 1) % B
            for m in range(M):
                x_w = module.decoders[m](torch.cat([z[m, i], w[m, p]])[None])  # Gaussian mean
                x_z = module.decoders[m](torch.cat([z[m, p], w[m, i]])[None])
                w_again = module.private_encoders[m](x_w)[0, :2]  # the posterior mean
                z_again = module.shared_encoders[m](x_z)[0, :2]
                l_w = ((w_again - enc.private.loc[m, p]) ** 2).sum()
                l_z = ((z_again - enc.experts.loc[m, p]) ** 2).sum()
                expect[i] += 0.5 * float(l_w + l_z)
    if normalization == "paper":
        expect /= M
    np.testing.assert_allclose(got, expect, rtol=1e-5)


@pytest.mark.parametrize("genaug", ["contrast", "lsq"])
def test_genaug_gradients_reach_encoder_and_decoder(genaug):
    views = random_views(n=10)
    module, xs = build_module(IDMVAE(n_shared=2, n_private=2, genaug=genaug), views)
    mask = torch.ones(10, 3, dtype=torch.bool)
    enc = module.encode(xs, mask)
    z = Normal.rsample(enc.experts.loc, enc.experts.param)
    w = Normal.rsample(enc.private.loc, enc.private.param)
    loss = module.gen_aug(xs, mask, enc, z, w)
    assert loss.shape == (10,) and torch.isfinite(loss).all()
    loss.sum().backward()
    for group in (module.decoders, module.shared_encoders, module.private_encoders):
        for m in range(3):
            grads = [p.grad for p in group[m].parameters()]
            assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_diffusion_prior_sampling_and_imputation():
    X, _, _ = make_shared_private(
        n_samples=48, n_views=2, n_features=4, missing_rate=0.3, random_state=0
    )
    est = IDMVAE(
        n_shared=2,
        n_private=2,
        diffusion_prior=True,
        diffusion_steps=30,
        diffusion_sampling_steps=5,
        **FAST,
    ).fit(X)
    assert "train_diffusion" in est.history_[-1]
    s1, s2 = est.sample(6, random_state=3), est.sample(6, random_state=3)
    np.testing.assert_array_equal(s1[0], s2[0])
    assert np.isfinite(est.impute(X).views[0]).all() and np.isfinite(est.score(X))


def test_presets_and_bad_parameters():
    est = IDMVAE.from_preset("tcga", max_epochs=3)
    assert (est.n_shared, est.n_private, est.lambda1, est.lambda2) == (16, 32, 10.0, 0.001)
    assert est.max_epochs == 3
    assert IDMVAE.from_preset("polymnist-quadrant").beta == 2.5
    with pytest.raises(ValueError, match="Unknown preset"):
        IDMVAE.from_preset("mnist")
    X = MultiView([np.random.RandomState(0).randn(20, 3)] * 2)
    for params, match in [
        ({"genaug": "l1"}, "genaug"),
        ({"temperature": 0}, "temperature"),
        ({"lambda1": -1}, "lambda1"),
        ({"diffusion_steps": 0}, "diffusion_steps"),
        ({"diffusion_steps": 10, "diffusion_sampling_steps": 20}, "exceed"),
        ({"n_private": 0}, "n_private"),
    ]:
        with pytest.raises(ValueError, match=match):
            IDMVAE(**{**FAST, **params}).fit(X)
    with pytest.raises(ValueError, match="private_scale"):
        MMVAEPlus(private_scale=-1, **FAST).fit(X)


def test_gridsearch_over_beta_and_lambdas():
    X, _, _ = make_shared_private(n_samples=60, n_views=2, n_features=4, random_state=0)
    grid = {"beta": [1.0, 2.5], "lambda1": [0.0, 5.0], "lambda2": [0.0, 1.0]}
    est = IDMVAE(n_shared=2, n_private=2, max_epochs=1, batch_size=32, hidden_layer_sizes=(8,))
    gs = GridSearchCV(est, grid, cv=2).fit(X)
    assert len(gs.cv_results_["params"]) == 8 and np.isfinite(gs.best_score_)


def test_idmvae_disentangles_better_than_mmvaeplus():
    """Shared class in z, private class in w, little of either in the other."""
    X, y, y_private = make_shared_private(
        n_samples=1500, n_views=3, n_features=12, n_shared=2, n_private=2, random_state=0
    )
    train, test = np.arange(1000), np.arange(1000, 1500)
    params = dict(
        n_shared=4,
        n_private=4,
        max_epochs=20,
        batch_size=64,
        hidden_layer_sizes=(64,),
        random_state=0,
    )
    base = _leakage(
        IDMVAE(lambda1=0, lambda2=0, **params).fit(X[train]), X, y, y_private, train, test
    )
    idm = _leakage(
        IDMVAE(lambda1=10, lambda2=5, **params).fit(X[train]), X, y, y_private, train, test
    )
    assert idm[0] > 0.9 and idm[2] > 0.8  # z -> shared, w -> private
    assert idm[1] < 0.5  # z -> private near chance (1/3)
    leak_idm = (idm[1] - 1 / 3) + (idm[3] - 1 / 4)
    leak_base = (base[1] - 1 / 3) + (base[3] - 1 / 4)
    assert leak_idm < leak_base - 0.1, (idm, base)


def test_diffusion_prior_keeps_posterior_scales_bounded():
    """With the DDPM fitted to the posterior means, the Gaussian prior term must stay in
    the bound: without it nothing penalises the scales, the entropy widens the posteriors
    of the latents the decoder ignores without limit and the loss diverges."""
    X, _, _ = make_shared_private(n_samples=300, n_views=2, n_features=6, random_state=0)
    est = IDMVAE(
        n_shared=2,
        n_private=4,
        diffusion_prior=True,
        diffusion_steps=50,
        diffusion_sampling_steps=5,
        max_epochs=20,
        batch_size=32,
        hidden_layer_sizes=(32,),
        random_state=0,
    ).fit(X)
    enc = est.encode(X)
    assert max(enc["private_scale"].max(), enc["view_scale"].max()) < 2.0
    last = est.history_[-1]
    assert last["train_kl"] < 5.0 and np.isfinite(last["train_loss"])
