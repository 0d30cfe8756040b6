"""MVAE: its objective against the paper's subset ELBOs in closed form (thesis Eq. 5.4)."""

import math

import numpy as np
import pytest
import torch

from skmmvae import MVAE
from skmmvae.modalities import resolve_modalities

from ..conftest import random_views


def _linear_module(est, views):
    """``est``'s module with linear encoders and decoders (no hidden layer)."""
    mask = np.ones((len(views[0]), len(views)), bool)
    specs = resolve_modalities(est.modalities, views, mask, ())
    torch.manual_seed(0)
    module = est._build_module(specs).double()
    return module, [torch.as_tensor(s.to_model(v)).double() for s, v in zip(specs, views)]


def _subset_elbo(module, xs, mus, variances, subset):
    """``ELBO_S`` of Eq. 5.4 with linear Gaussian decoders, in closed form: the product
    of the prior and the experts in ``S``, ``E_q log N(x_m; W z + b, s^2)`` for the
    views in ``S``, minus ``KL(q || N(0, I))``."""
    precision = 1.0 + sum(1.0 / variances[m] for m in subset)
    mean = sum(mus[m] / variances[m] for m in subset) / precision
    var = 1.0 / precision
    elbo = -0.5 * (mean**2 + var - 1.0 - np.log(var)).sum(-1)
    for m in subset:
        lin = module.decoders[m][-1]
        W, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
        s2 = np.exp(2 * module.likelihoods[m].log_scale.detach().numpy())
        resid = xs[m].numpy() - (mean @ W.T + b)
        spread = var @ (W**2).T  # diag(W diag(var) W^T) per sample
        elbo += (
            -0.5 * math.log(2 * math.pi) - 0.5 * np.log(s2) - (resid**2 + spread) / (2 * s2)
        ).sum(-1)
    return elbo


@pytest.mark.parametrize("elbo_terms", ["joint", "joint+unimodal"])
def test_loss_is_the_sum_of_subset_elbos(elbo_terms):
    """The training loss, averaged over many draws, is minus the joint ELBO (plus the
    unimodal ELBOs with ``"joint+unimodal"``) computed from the encoders' outputs."""
    views = random_views(4, widths=(3, 2))
    est = MVAE(n_latent=2, elbo_terms=elbo_terms, kl_warmup_epochs=0)
    module, xs = _linear_module(est, views)
    with torch.no_grad():
        mus, variances = [], []
        for m in range(2):
            loc, logvar = module.encoders[m](xs[m]).chunk(2, -1)
            mus.append(loc.numpy())
            variances.append(np.exp(logvar.clamp(-12, 8).numpy()))
        want = _subset_elbo(module, xs, mus, variances, [0, 1])
        if elbo_terms == "joint+unimodal":
            want = want + _subset_elbo(module, xs, mus, variances, [0])
            want = want + _subset_elbo(module, xs, mus, variances, [1])
        copies = 50_000
        tiled = [x.repeat(copies, 1) for x in xs]
        mask = torch.ones(4 * copies, 2, dtype=torch.bool)
        torch.manual_seed(1)
        loss = module(tiled, mask)["loss"].reshape(copies, 4).mean(0).numpy()
    np.testing.assert_allclose(-loss, want, rtol=2e-3, atol=2e-3)
