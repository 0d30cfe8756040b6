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
        """Fit the mixture to the latents ``Z`` of shape ``(n, dim)``.

        Raises
        ------
        ValueError
            Fewer than 2 rows; NaN or infinite latents (training diverged); or a
            mixture that cannot be fitted (latents of extreme scale or collapsed
            onto a few points). The message says which and what to try.
        """
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or len(Z) < 2:
            raise ValueError(
                "prior_sampler='gmm' fits a Gaussian mixture to the training latents and "
                f"needs at least 2 of them; got n_samples={len(Z)}. Train on more rows."
            )
        finite = np.isfinite(Z).all(axis=1)
        if not finite.all():
            rows = np.flatnonzero(~finite)
            raise ValueError(
                f"prior_sampler='gmm': {len(rows)} of the {len(Z)} training latents are NaN "
                f"or infinite (rows {rows[:10].tolist()}), so no mixture can be fitted: "
                "training diverged (or the inputs are too large). Lower lr, add "
                "GradientNormClipping to callbacks, or rescale the data."
            )
        k = int(max(1, min(self.n_components, len(Z) // 5)))
        try:
            with np.errstate(all="ignore"):
                mixture = GaussianMixture(
                    n_components=k,
                    covariance_type="full",
                    reg_covar=1e-4,
                    max_iter=500,
                    random_state=self.random_state,
                ).fit(Z)
                cholesky = np.linalg.cholesky(mixture.covariances_)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
            reason = str(err).splitlines()[0][:200]
            raise ValueError(
                f"prior_sampler='gmm': fitting the ex-post Gaussian mixture ({k} components, "
                f"full covariances) to the {len(Z)} training latents failed ({reason}). The "
                f"latents are badly conditioned (largest |z| = {np.abs(Z).max():.3g}; they "
                "may be of extreme scale or collapsed onto a few points), which usually "
                "means training diverged or did not learn. Lower lr, train longer, lower "
                "n_prior_components, or use more training rows."
            ) from err
        self.mixture_ = mixture
        self.cholesky_ = cholesky
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
