"""DMVAE: estimates against direct computations, the discriminators, the shared heads."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from skmmvae import DMVAE, MultiView, make_shared_private
from skmmvae.methods.dmvae import TCDiscriminators, discriminator_loss, tc_estimate

from ..conftest import FAST, build_module, random_views


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
    one = TCDiscriminators(1, 2, 2, 32)

    def disc(s, c):
        return one(s[None], c[None])[0]

    opt = torch.optim.Adam(one.parameters(), lr=1e-3, betas=(0.5, 0.9))
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


def test_dmvae_keeps_no_batch_data_after_fit():
    X, _, _ = make_shared_private(n_samples=40, n_views=2, n_features=4, random_state=0)
    est = DMVAE(n_shared=2, n_private=2, discriminator_hidden=8, discriminator_steps=3, **FAST)
    assert est.fit(X).net_.module_._pairs is None


def _one_view_discriminator(disc, m, s, c):
    """View ``m``'s discriminator written out as plain layers from the stacked weights."""

    def layer(name, x):
        stacked = getattr(disc, name)
        return torch.nn.functional.linear(x, stacked.weight[m], stacked.bias[m])

    act = torch.nn.LeakyReLU(0.2)
    hs = act(layer("s2", act(layer("s1", s))))
    hc = act(layer("c2", act(layer("c1", c))))
    return layer("j2", act(layer("j1", torch.cat([hs, hc], -1))))


def test_batched_discriminators_equal_one_discriminator_per_view():
    """The stacked discriminators give every view's logits and the auxiliary loss of
    the per-view formulation: the mean over a view's observed rows of the loss of
    (s, c) against (s permuted over those rows, c), summed over views with delta > 0."""
    est = DMVAE(n_shared=3, n_private=2, delta=[1.0, 0.0, 2.0], discriminator_hidden=16)
    module, _ = build_module(est, random_views(12))
    torch.manual_seed(0)
    s, c = torch.randn(3, 12, 2), torch.randn(3, 12, 3)
    observed = torch.rand(3, 12) > 0.3
    with torch.no_grad():
        logits = module.discriminators(s, c)
        for m in range(3):
            torch.testing.assert_close(
                logits[m], _one_view_discriminator(module.discriminators, m, s[m], c[m])
            )
        module._pairs, module._pair_uses = (s, c, observed), 0
        torch.manual_seed(1)
        got = module.auxiliary_loss()
        torch.manual_seed(1)
        want = 0.0
        for m in range(3):  # the permutations drawn in the same order
            rows = observed[m].nonzero().squeeze(-1)
            if not module.delta[m] or len(rows) < 2:
                continue
            perm = rows[torch.randperm(len(rows))]
            disc = module.discriminators
            joint = _one_view_discriminator(disc, m, s[m, rows], c[m, rows])
            permuted = _one_view_discriminator(disc, m, s[m, perm], c[m, rows])
            want = want + discriminator_loss(joint, permuted).mean()
    torch.testing.assert_close(got, want)
