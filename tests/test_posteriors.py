"""The posterior classes of the module contract against independent computations:
scipy densities, numeric integration and Monte Carlo moments."""

import numpy as np
import pytest
import torch
from scipy import stats

from skmmvae.latent import Laplace, Normal
from skmmvae.posteriors import Diagonal, Mixture, SubsetMixture, ViewMean

# three 1-D components for two samples; sample 0 observes components 0 and 2, sample 1
# only component 1; the unobserved ones sit far away
LOC = torch.tensor([[[-2.0], [40.0]], [[50.0], [1.0]], [[3.0], [60.0]]], dtype=torch.float64)
LOGVAR = torch.log(torch.tensor([[[0.5], [1.0]], [[1.0], [2.0]], [[1.5], [1.0]]]).double())
VALID = torch.tensor([[True, False, True], [False, True, False]])


def _normal_density(x, i, comps):
    """Independent: the uniform average of scipy normal densities of sample ``i``."""
    sd = np.exp(0.5 * LOGVAR.numpy()[:, i, 0])
    return np.mean([stats.norm(LOC.numpy()[c, i, 0], sd[c]).pdf(x) for c in comps], axis=0)


@pytest.mark.parametrize("cls", [Mixture, SubsetMixture])
def test_uniform_mixtures_have_the_density_of_their_valid_components(cls):
    q = cls(Diagonal(Normal, LOC, LOGVAR), VALID)
    grid = np.linspace(-15, 20, 20001)
    z = torch.as_tensor(np.stack([grid, grid], 1)[..., None])  # (G, B, 1)
    dens = q.log_prob(z).exp().numpy()  # (G, B)
    np.testing.assert_allclose(dens[:, 0], _normal_density(grid, 0, [0, 2]), rtol=1e-9)
    np.testing.assert_allclose(dens[:, 1], _normal_density(grid, 1, [1]), rtol=1e-9)
    # it integrates to 1, and its moments are the numeric ones
    for i in range(2):
        mass = np.trapezoid(dens[:, i], grid)
        mean = np.trapezoid(grid * dens[:, i], grid)
        var = np.trapezoid((grid - mean) ** 2 * dens[:, i], grid)
        assert mass == pytest.approx(1.0, abs=1e-6)
        assert float(q.mean[i, 0]) == pytest.approx(mean, abs=1e-5)
        assert float(q.variance[i, 0]) == pytest.approx(var, abs=1e-4)


def test_mixture_draws_come_from_the_valid_components_only():
    torch.manual_seed(0)
    q = Mixture(Diagonal(Normal, LOC, LOGVAR), VALID)
    z = q.rsample(100_000)  # (n, B, 1)
    assert z.shape == (100_000, 2, 1) and z.abs().max() < 25  # never the far components
    np.testing.assert_allclose(z.mean(0).numpy()[:, 0], q.mean.numpy()[:, 0], atol=0.03)
    np.testing.assert_allclose(z.var(0).numpy()[:, 0], q.variance.numpy()[:, 0], rtol=0.02)
    assert q.rsample().shape == (2, 1)


def test_laplace_diagonal_matches_scipy():
    loc = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    log_b = torch.log(torch.tensor([[2.0, 0.5]], dtype=torch.float64))
    q = Diagonal(Laplace, loc, log_b)
    z = torch.tensor([[[1.0, 0.0]], [[-3.0, -1.2]]], dtype=torch.float64)  # (2, 1, 2)
    want = stats.laplace(loc.numpy(), [[2.0, 0.5]]).logpdf(z.numpy()).sum(-1)
    np.testing.assert_allclose(q.log_prob(z).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(q.variance.numpy(), [[8.0, 0.5]])  # 2 b^2
    np.testing.assert_allclose(q.scale.numpy(), [[2.0, 0.5]])


def test_view_mean_averages_the_observed_views():
    torch.manual_seed(0)
    loc = torch.tensor([[[1.0, 2.0]], [[3.0, -2.0]], [[100.0, 100.0]]])  # (M=3, B=1, D=2)
    logvar = torch.log(torch.tensor([[[1.0, 4.0]], [[1.0, 1.0]], [[1.0, 1.0]]]))
    q = ViewMean(Diagonal(Normal, loc, logvar), torch.tensor([[True, True, False]]))
    np.testing.assert_allclose(q.mean.numpy(), [[2.0, 0.0]])
    z = q.rsample(200_000)  # the average of one draw per observed view
    np.testing.assert_allclose(z.mean(0).numpy(), [[2.0, 0.0]], atol=0.01)
    np.testing.assert_allclose(z.var(0).numpy(), [[0.5, 1.25]], rtol=0.02)  # sum var / 4
    with pytest.raises(ValueError, match="MMVM has no joint density"):
        q.log_prob(z)
