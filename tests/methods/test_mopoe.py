"""MoPoE: its objective against the thesis' equations (5.14, 5.15)."""

import numpy as np
import torch

from skmmvae import MVAE, MoPoE

from ..conftest import build_module


def test_mopoe_restricted_to_full_subset_is_mvae_joint_elbo():
    rng = np.random.RandomState(0)
    views = [rng.randn(12, 4), rng.randn(12, 3), rng.randn(12, 2)]
    mopoe, xs = build_module(MoPoE(n_latent=3, subsets=[(0, 1, 2)], prior_expert="all"), views)
    mvae, _ = build_module(
        MVAE(n_latent=3, elbo_terms="joint", prior_expert=True, kl_warmup_epochs=0), views
    )
    mvae.load_state_dict(mopoe.state_dict(), strict=False)
    mask = torch.ones(12, 3, dtype=torch.bool)
    torch.manual_seed(3)
    a = mopoe(xs, mask)
    torch.manual_seed(3)
    b = mvae(xs, mask)
    for part in ("loss", "rec", "kl"):
        torch.testing.assert_close(a[part], b[part])


def test_mopoe_kl_is_exact_subset_average():
    rng = np.random.RandomState(0)
    views = [rng.randn(8, 4), rng.randn(8, 3)]
    module, xs = build_module(MoPoE(n_latent=2), views)
    mask = torch.tensor([[1, 1]] * 6 + [[1, 0], [0, 1]], dtype=torch.bool)
    kl = module(xs, mask)["kl"]
    loc, logvar = module.encode_experts(module.encoders, xs, module.family)
    from skmmvae.latent import kl_normal_standard, masked_poe

    for b in range(8):
        subsets = [
            s for s in ([1, 0], [0, 1], [1, 1]) if all(mask[b, m] or not s[m] for m in (0, 1))
        ]
        kls = []
        for s in subsets:
            sm = torch.tensor(s, dtype=torch.bool).expand(8, 2)
            mu, lv = masked_poe(loc, logvar, sm, False)
            kls.append(kl_normal_standard(mu, lv)[b])
        torch.testing.assert_close(kl[b], torch.stack(kls).mean())


def test_mopoe_stratified_subsets_are_balanced():
    """With complete data every subset is drawn exactly B/S times per batch."""
    from skmmvae.methods.mopoe import MoPoEModule

    valid = torch.ones(3, 21, dtype=torch.bool)
    for seed in range(5):
        torch.manual_seed(seed)
        chosen = MoPoEModule.stratified_choice(valid)
        assert chosen.sum(0).tolist() == [1] * 21
        assert chosen.sum(1).tolist() == [7, 7, 7]
    valid[2, :10] = False  # samples 0..9 have only two subsets, never the third
    chosen = MoPoEModule.stratified_choice(valid)
    assert not chosen[2, :10].any() and chosen.sum(0).tolist() == [1] * 21
