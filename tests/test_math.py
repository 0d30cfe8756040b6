"""Closed forms against numeric integration and direct computation."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from skmmvae.latent import (
    Laplace,
    Normal,
    kl_normal_standard,
    masked_poe,
    mixture_log_prob,
    mixture_moments,
)
from skmmvae.objectives import DReG, stratified_bound


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("prior_expert", [True, False])
def test_masked_poe_equals_numeric_product(prior_expert):
    """The normalised product of the observed 1-D densities on a grid."""
    g = torch.Generator().manual_seed(0)
    loc = torch.randn(3, 4, 1, generator=g)
    logvar = torch.randn(3, 4, 1, generator=g)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [0, 0, 0]], dtype=torch.bool)
    mu, lv = masked_poe(loc, logvar, mask, prior_expert)
    grid = np.linspace(-12, 12, 200001)
    for b in range(4):
        log_dens = np.zeros_like(grid)
        experts = [m for m in range(3) if mask[b, m]]
        for m in experts:
            log_dens += stats.norm.logpdf(grid, loc[m, b, 0], math.exp(0.5 * logvar[m, b, 0]))
        if prior_expert or not experts:  # an empty product is the prior
            log_dens += stats.norm.logpdf(grid)
        dens = np.exp(log_dens - log_dens.max())
        dens /= np.trapezoid(dens, grid)
        mean = np.trapezoid(grid * dens, grid)
        var = np.trapezoid((grid - mean) ** 2 * dens, grid)
        assert mu[b, 0].item() == pytest.approx(mean, abs=1e-6)
        assert math.exp(lv[b, 0].item()) == pytest.approx(var, rel=1e-5)


def test_masked_poe_single_expert_is_identity():
    loc, logvar = torch.randn(1, 5, 3), torch.randn(1, 5, 3)
    mu, lv = masked_poe(loc, logvar, torch.ones(5, 1, dtype=torch.bool), False)
    torch.testing.assert_close(mu, loc[0])
    torch.testing.assert_close(lv, logvar[0])


def test_masked_poe_leading_subset_axes():
    loc, logvar = torch.randn(3, 5, 2), torch.randn(3, 5, 2)
    subsets = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    mu, lv = masked_poe(loc, logvar, subsets[:, None, :].expand(3, 5, 3), True)
    for s in range(3):
        m1, l1 = masked_poe(loc, logvar, subsets[s].expand(5, 3), True)
        torch.testing.assert_close(mu[s], m1)
        torch.testing.assert_close(lv[s], l1)


@pytest.mark.parametrize("family", [Normal, Laplace])
def test_mixture_log_prob_matches_direct_sum(family):
    loc, raw = torch.randn(3, 4, 2), torch.randn(3, 4, 2)
    param = raw if family is Normal else raw.clamp(-1, 1)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=torch.bool)
    z = torch.randn(5, 4, 2)
    got = mixture_log_prob(z, family, loc, param, mask)
    for k in range(5):
        for b in range(4):
            obs = [m for m in range(3) if mask[b, m]]
            dens = sum(
                math.exp(family.log_prob(z[k, b], loc[m, b], param[m, b]).item()) for m in obs
            )
            assert got[k, b].item() == pytest.approx(math.log(dens / len(obs)), rel=1e-9)


def test_family_log_probs_match_scipy():
    z, loc, logvar = torch.randn(7, 3), torch.randn(7, 3), torch.randn(7, 3)
    ref = stats.norm.logpdf(z, loc, np.exp(0.5 * logvar.numpy())).sum(-1)
    np.testing.assert_allclose(Normal.log_prob(z, loc, logvar).numpy(), ref)
    ref = stats.laplace.logpdf(z, loc, np.exp(logvar.numpy())).sum(-1)
    np.testing.assert_allclose(Laplace.log_prob(z, loc, logvar).numpy(), ref)


@pytest.mark.parametrize("family", [Normal, Laplace])
def test_rsample_moments(family):
    torch.manual_seed(0)
    loc, param = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.7]])
    z = family.rsample(loc, param, 200000)
    mean, var = family.moments(loc, param)
    torch.testing.assert_close(z.mean(0), mean, atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(0), var, rtol=0.03, atol=0)


def test_mixture_moments():
    loc, logvar = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    mask = torch.tensor([[1, 0, 1], [1, 1, 1]], dtype=torch.bool)
    mean, var = mixture_moments(Normal, loc, logvar, mask)
    torch.testing.assert_close(mean[0], (loc[0, 0] + loc[2, 0]) / 2)
    second = (logvar[[0, 2], 0].exp() + loc[[0, 2], 0] ** 2).mean(0)
    torch.testing.assert_close(var[0], second - mean[0] ** 2)


def test_gaussian_kl_matches_monte_carlo():
    torch.manual_seed(0)
    loc, logvar = torch.tensor([[0.7, -0.3, 1.2]]), torch.tensor([[-0.5, 0.4, 0.1]])
    z = Normal.rsample(loc, logvar, 400000)
    zero = torch.zeros_like(loc)
    mc = (Normal.log_prob(z, loc, logvar) - Normal.log_prob(z, zero, zero)).mean()
    assert kl_normal_standard(loc, logvar).item() == pytest.approx(mc.item(), abs=0.01)


def test_stratified_bounds():
    log_w = torch.randn(2, 4, 3)
    observed = torch.tensor([[1, 1], [1, 0], [0, 1]], dtype=torch.bool)
    obj, value = stratified_bound(log_w, observed, "iwae")
    expect = [
        0.5 * sum(torch.logsumexp(log_w[r, :, 0], 0) - math.log(4) for r in range(2)),
        torch.logsumexp(log_w[0, :, 1], 0) - math.log(4),
        torch.logsumexp(log_w[1, :, 2], 0) - math.log(4),
    ]
    torch.testing.assert_close(value, torch.stack(expect))
    _, elbo = stratified_bound(log_w, observed, "elbo")
    torch.testing.assert_close(elbo[1], log_w[0, :, 1].mean())
    assert torch.all(elbo <= value + 1e-12)  # Jensen: ELBO <= IWAE
    with pytest.raises(ValueError, match="objective"):
        stratified_bound(log_w, observed, "bogus")


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_dreg_gradient_matches_definition(beta):
    """One source: decoder grad sum_k w~ dlw/dtheta, encoder grad
    sum_k ((1 - beta) w~ + beta w~^2) dlw/dz dz/dphi (Tucker et al. with beta on log q)."""
    torch.manual_seed(0)
    K, B = 5, 2
    phi_mu = torch.randn(B, 1, requires_grad=True)
    phi_lv = torch.randn(B, 1, requires_grad=True)
    theta = torch.randn(1, requires_grad=True)
    x = torch.randn(B, 1)
    eps = torch.randn(K, B, 1)

    def log_weights(z, log_q, x=x):
        log_lik = -0.5 * ((x - theta * z) ** 2).sum(-1)
        zero = torch.zeros_like(z)
        return log_lik + beta * (Normal.log_prob(z, zero, zero) - log_q)

    dreg = DReG(beta)
    z = (phi_mu + torch.exp(0.5 * phi_lv) * eps).unsqueeze(0)  # (1, K, B, 1): one source
    z, log_q = dreg.single(z, Normal, phi_mu.unsqueeze(0), phi_lv.unsqueeze(0))
    obj, _ = stratified_bound(
        log_weights(z, log_q), torch.ones(B, 1, dtype=torch.bool), "dreg", dreg
    )
    g_mu, g_lv, g_theta = torch.autograd.grad(obj.sum(), [phi_mu, phi_lv, theta])

    # the definition, sample by sample
    ref_mu, ref_lv, ref_theta = torch.zeros_like(phi_mu), torch.zeros_like(phi_lv), 0.0
    with torch.no_grad():
        z0 = phi_mu + torch.exp(0.5 * phi_lv) * eps
        w = torch.softmax(log_weights(z0, Normal.log_prob(z0, phi_mu, phi_lv)), dim=0)
    for k in range(K):
        for b in range(B):
            zk = (phi_mu[b] + torch.exp(0.5 * phi_lv[b]) * eps[k, b]).detach().requires_grad_()
            log_q = Normal.log_prob(zk, phi_mu[b].detach(), phi_lv[b].detach())
            dz, dth = torch.autograd.grad(log_weights(zk, log_q, x[b]), [zk, theta])
            c = (1 - beta) * w[k, b] + beta * w[k, b] ** 2
            ref_mu[b] += c * dz
            ref_lv[b] += c * dz * 0.5 * torch.exp(0.5 * phi_lv[b]) * eps[k, b]
            ref_theta = ref_theta + w[k, b] * dth
    torch.testing.assert_close(g_mu, ref_mu)
    torch.testing.assert_close(g_lv, ref_lv)
    torch.testing.assert_close(g_theta, ref_theta)
