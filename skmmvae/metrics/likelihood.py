"""Importance-sampled log-likelihoods (the estimator's
:meth:`~skmmvae.inference.InferenceMixin.log_likelihood`, as a metric)."""

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
    """Importance-sampled log-likelihood of each sample, in nats.

    Joint (``cond_views=None``): ``log p(x_T)`` of the target views,
    estimated as ``log (1/K) sum_k p(x_T, z_k, w_k) / q(z_k, w_k | x_T)`` with ``K``
    draws from the method's aggregated posterior given the target views: the
    product of experts (MVAE, PrivateSharedVAE), the mixture of the observed
    experts (MMVAE, MMVAE+, IDMVAE) or the mixture of the subset products (MoPoE),
    each with its exact density; private latents ``w_m`` come from their
    posteriors ``q(w_m | x_m)``. The ``K`` draws of a batch of ``B`` samples are
    laid out ``(K, B)`` and averaged over the first axis (log-mean-exp). The
    estimate is a stochastic lower bound that tightens as ``K`` grows (the IWAE
    bound); with ``K=1`` it is an unbiased estimate of the ELBO of the proposal.

    Conditional (``cond_views`` given): ``log p(x_T | x_C)`` estimated as
    ``log (1/K) sum_k p(x_T | z_k, w_k)`` with ``z_k`` from the aggregated posterior
    given the conditioning views and the targets' private latents from their
    priors (they are not observed); this is the likelihood of the targets under
    the model's amortised conditional ``q(z | x_C) p(w_T)`` (MMVAE's cross
    likelihood), which needs no prior density.

    Views missing in a sample are left out of its ``T`` and ``C``. Standardised
    gaussian views are scored on the data's original scale (as
    :meth:`~skmmvae.base.MultimodalVAE.score_samples`), and view weights are not
    applied.

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    X : multi-view input
    K : int, default=1000
        Importance samples per sample.
    target_views : int or list of int, default=None
        The scored views; None: all.
    cond_views : int or list of int, default=None
        None: the joint (or marginal) likelihood of the targets; else the views
        conditioned on (disjoint from the targets).
    batch_size : int, default=None
        Samples per batch (each batch decodes ``K * batch_size`` latents); None:
        ``max(1, 4096 // K)``.
    random_state : int, RandomState instance or None, default=None
        None uses the estimator's ``random_state``.

    Returns
    -------
    ll : ndarray of shape (n_samples,)
        NaN for a sample that observes no target view (or no conditioning view).

    Raises
    ------
    ValueError
        Joint likelihoods of DMVAE (no prior on ``c``) and of IDMVAE with
        ``diffusion_prior=True`` (no tractable prior density), any likelihood of
        MMVM (data-dependent prior, no joint density), overlapping or unknown views,
        or a bad ``K``.
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
