"""MMVAE: its bounds against a closed-form likelihood."""

import numpy as np
import torch

from skmmvae import MMVAE
from skmmvae.modalities import resolve_modalities


def test_mmvae_bounds_approach_the_closed_form_likelihood():
    """One view, linear decoder: p(x) = N(b, W W^T + diag(s^2)) in closed form. The
    ELBO lies below it, and the IWAE bound with many samples reaches it (a wrong prior,
    likelihood or proposal density in the log weights would show here)."""
    from scipy.stats import multivariate_normal

    rng = np.random.RandomState(0)
    views = [rng.randn(6, 3)]
    mask = np.ones((6, 1), bool)
    specs = resolve_modalities("gaussian", views, mask, ())  # no hidden layer: linear nets
    torch.manual_seed(0)
    module = MMVAE(n_latent=2, objective="iwae", K=20000)._build_module(specs)
    with torch.no_grad():  # q(z|x) = p(z): bounded weights p(x|z), a reliable IS estimate
        for p in module.encoders.parameters():
            p.zero_()
    x = torch.as_tensor(specs[0].to_model(views[0]))
    lin = module.decoders[0][1]
    W, b = lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy()
    s2 = np.exp(2 * module.likelihoods[0].log_scale.detach().double().numpy())
    cov = W @ W.T + np.diag(s2)
    exact = [multivariate_normal(b, cov).logpdf(row) for row in x.double().numpy()]
    m = torch.ones(6, 1, dtype=torch.bool)
    module.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        iwae = module.elbo([x], m).double().numpy()
        module.objective = "elbo"
        elbo = module.elbo([x], m).double().numpy()  # K=20000 draws averaged: the ELBO
    np.testing.assert_allclose(iwae, exact, atol=0.02)
    assert np.all(elbo < np.asarray(exact) - 0.01)
