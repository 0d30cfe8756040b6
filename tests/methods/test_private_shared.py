"""PrivateSharedVAE: its loss written out, and cross-view prediction."""

import numpy as np
import torch

from skmmvae import MultiView, PrivateSharedVAE, make_shared_private
from skmmvae.latent import kl_normal_standard, masked_poe

from ..conftest import build_module, random_views


def test_private_shared_loss_matches_its_definition():
    """sum_s [sum_m (log p(x_m | w_m, z_s) - KL(w_m)) - KL(z_s)], s in {own, other, PoE}:
    each shared source's KL once (not once per target view)."""
    views = random_views(n=4, widths=(3, 2))
    module, xs = build_module(PrivateSharedVAE(n_shared=2, n_private=1), views)
    mask = torch.ones(4, 2, dtype=torch.bool)
    with torch.no_grad():
        torch.manual_seed(2)
        loss = module(xs, mask)["loss"]
        enc = module.encode(xs, mask)
        torch.manual_seed(2)
        eps_own, eps_poe, eps_w = torch.randn(2, 4, 2), torch.randn(4, 2), torch.randn(2, 4, 1)
        z_own = enc.experts.loc + torch.exp(0.5 * enc.experts.param) * eps_own
        z_poe = enc.shared.loc + torch.exp(0.5 * enc.shared.param) * eps_poe
        w = enc.private.loc + torch.exp(0.5 * enc.private.param) * eps_w
        kl_own = kl_normal_standard(enc.experts.loc, enc.experts.param)
        kl_poe = kl_normal_standard(enc.shared.loc, enc.shared.param)
        kl_w = kl_normal_standard(enc.private.loc, enc.private.param)
        poe_mu, poe_lv = masked_poe(enc.experts.loc, enc.experts.param, mask, True)
        torch.testing.assert_close(poe_mu, enc.shared.loc)
        total = torch.zeros(4)  # one ELBO per shared source: own experts, then the PoE
        for z_s, kl_s in ((z_own[0], kl_own[0]), (z_own[1], kl_own[1]), (z_poe, kl_poe)):
            total = total - kl_s  # the source's shared KL once
            for m in range(2):
                ll = module.log_likelihood(m, xs[m], torch.cat([z_s, w[m]], -1))
                total = total + ll - kl_w[m]
    torch.testing.assert_close(loss, -total)


def test_private_shared_predicts_a_missing_view_from_another():
    """Cross-view prediction learns (standardised MSE well below 1, the mean's): with the
    shared KL counted once per target view the shared latent collapsed (0.96-0.99)."""
    X, _, _ = make_shared_private(
        n_samples=1200,
        n_views=3,
        n_features=[10, 12, 14],
        n_shared=4,
        n_private=2,
        random_state=0,
    )
    train = MultiView([v[:900] for v in X.views])
    test = [np.asarray(v[900:]) for v in X.views]
    est = PrivateSharedVAE(
        n_shared=8,
        n_private=2,
        hidden_layer_sizes=(32,),
        max_epochs=15,
        batch_size=64,
        random_state=0,
    ).fit(train)
    mask = np.zeros((300, 3), bool)
    mask[:, 0] = True
    filled = est.impute(MultiView(test, mask=mask))
    errors = [
        np.mean(((np.asarray(filled.views[t]) - test[t]) ** 2).mean(0) / test[t].var(0))
        for t in (1, 2)
    ]
    assert np.mean(errors) < 0.8, errors  # 0.58 seen; 0.97 before the fix
