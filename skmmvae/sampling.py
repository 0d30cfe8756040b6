"""Ex-post prior samplers: a density fitted to training latents after training.

Models without a usable prior on their shared latent (DMVAE has no KL on ``c``;
MMVM's prior depends on the data) generate by sampling a Gaussian mixture fitted to
the posterior means of the training data (Ghosh et al., 2020), as both papers
suggest. Every estimator accepts ``prior_sampler="gmm"``; the fitted sampler is the
estimator's ``prior_sampler_`` attribute.
"""

from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state

__all__ = ["ExPostGMM"]


class ExPostGMM:
    """Gaussian mixture (full covariances) over training latents.

    Parameters
    ----------
    n_components : int
        Upper bound on the number of components; the mixture uses at most one
        component per 5 training rows (and at least one).
    random_state : int, RandomState instance or None
    """

    def __init__(self, n_components=100, random_state=None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        k = int(max(1, min(self.n_components, len(Z) // 5)))
        self.mixture_ = GaussianMixture(
            n_components=k,
            covariance_type="full",
            reg_covar=1e-4,
            max_iter=500,
            random_state=self.random_state,
        ).fit(Z)
        self.cholesky_ = np.linalg.cholesky(self.mixture_.covariances_)
        return self

    def sample(self, n_samples, random_state=None):
        """``n_samples`` latents, shape ``(n_samples, dim)``, reproducible by ``random_state``."""
        rng = check_random_state(random_state)
        weights = self.mixture_.weights_
        comp = rng.choice(len(weights), size=n_samples, p=weights / weights.sum())
        eps = rng.standard_normal((n_samples, self.mixture_.means_.shape[1]))
        return self.mixture_.means_[comp] + np.einsum("nij,nj->ni", self.cholesky_[comp], eps)

    def __repr__(self):
        k = self.mixture_.n_components if hasattr(self, "mixture_") else self.n_components
        return f"ExPostGMM(n_components={k})"
