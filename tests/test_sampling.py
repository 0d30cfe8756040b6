"""The ex-post Gaussian-mixture sampler of the shared latent."""

import numpy as np

from skmmvae import MMVM, MVAE, make_shared_private
from skmmvae.sampling import ExPostGMM

from .conftest import FAST


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
