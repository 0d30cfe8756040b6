"""MMVAE+: the log weight of thesis Eq. 6.21 written out."""

import math

import numpy as np
import pytest
import torch

from skmmvae import MMVAEPlus

from ..conftest import build_module, random_views


def _normal_logpdf(z, mu, logvar):
    return float(np.sum(-0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))))


def test_mmvaeplus_log_weight_matches_its_definition():
    """log w = sum_d log p(x_d | z_m, w~_d)
    + beta [log p(z) + log p(w) - log q(z|X) - log q(w|x_m)]."""
    views = random_views(n=5, widths=(3, 2))
    beta = 2.5
    module, xs = build_module(MMVAEPlus(n_shared=2, n_private=3, beta=beta), views)
    mask = torch.ones(5, 2, dtype=torch.bool)
    with torch.no_grad():
        torch.manual_seed(1)
        log_w, _ = module.log_weights(xs, mask, beta, True)
        torch.manual_seed(1)  # replay the draws in the order the module makes them
        eps_z = torch.randn(1, 2, 5, 2)
        eps_w = torch.randn(1, 2, 5, 3)
        eps_aux = [torch.randn(2, 1, 5, 3) for _ in range(2)]
        enc = module.encode(xs, mask)
    zl, zv = enc.experts.loc.numpy(), enc.experts.param.numpy()
    wl, wv = enc.private.loc.numpy(), enc.private.param.numpy()
    aux = module.aux_prior.detach().numpy()
    for m in range(2):
        for b in range(5):
            z = zl[m, b] + np.exp(0.5 * zv[m, b]) * eps_z[0, m, b].numpy()
            w = wl[m, b] + np.exp(0.5 * wv[m, b]) * eps_w[0, m, b].numpy()
            rec = 0.0
            for d in range(2):
                w_d = w if d == m else np.exp(0.5 * aux[d]) * eps_aux[d][m, 0, b].numpy()
                inp = torch.as_tensor(np.concatenate([z, w_d]), dtype=torch.float32)[None]
                with torch.no_grad():
                    rec += module.log_likelihood(d, xs[d][b : b + 1], inp).item()
            mix = np.log(
                np.mean([np.exp(_normal_logpdf(z, zl[j, b], zv[j, b])) for j in range(2)])
            )
            ratio = (
                _normal_logpdf(z, 0, 0)
                + _normal_logpdf(w, 0, 0)
                - mix
                - _normal_logpdf(w, wl[m, b], wv[m, b])
            )
            assert log_w[m, 0, b].item() == pytest.approx(rec + beta * ratio, rel=1e-4, abs=1e-4)
