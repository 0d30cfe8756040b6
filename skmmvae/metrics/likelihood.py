"""Importance-sampled log-likelihoods (the estimator's
:meth:`~skmmvae.generation.GenerationMixin.log_likelihood`, as a metric)."""

from __future__ import annotations

from .common import check_fitted_estimator

__all__ = ["log_likelihood"]


def log_likelihood(
    estimator,
    X,
    K=1000,
    *,
    target_views=None,
    cond_views=None,
    batch_size=None,
    random_state=None,
):
    """Importance-sampled log-likelihood of each sample, in nats: the function form of
    the estimators' :meth:`~skmmvae.generation.GenerationMixin.log_likelihood`, which
    defines the estimates (joint ``log p(x_T)`` with ``cond_views=None``, else the
    conditional ``log p(x_T | x_C)``) and which methods support them
    (``tractable_likelihood``).

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    X, K, target_views, cond_views, batch_size, random_state
        As in the method.

    Returns
    -------
    ll : ndarray of shape (n_samples,)
        NaN for a sample that observes no target view (or no conditioning view).
    """
    check_fitted_estimator(estimator)
    return estimator.log_likelihood(
        X,
        K,
        target_views=target_views,
        cond_views=cond_views,
        batch_size=batch_size,
        random_state=random_state,
    )
