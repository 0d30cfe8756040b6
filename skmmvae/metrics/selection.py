"""Label-free criteria for model selection (``GridSearchCV(..., scoring=...)``)."""

from __future__ import annotations

import numpy as np

from ..base import MultimodalVAE
from ..views import MultiView
from .common import check_fitted_estimator, evaluation_views, latent_sizes, representation

__all__ = ["cross_view_agreement", "leave_one_view_out_score"]


def _selection_inputs(estimator, X, name):
    """A scorer's fitted multimodal VAE (the estimator itself, or the first step of a
    Pipeline, which then receives ``X`` unchanged) and its validated views and mask."""
    if not isinstance(estimator, MultimodalVAE) and hasattr(estimator, "steps"):
        estimator = estimator.steps[0][1]
    if not isinstance(estimator, MultimodalVAE):
        raise TypeError(
            f"{name} scores a fitted skmmvae estimator, or a Pipeline whose first step "
            f"is one; got {type(estimator).__name__}."
        )
    check_fitted_estimator(estimator)
    X, mask = evaluation_views(estimator, X)
    if mask.shape[1] < 2:
        raise ValueError(f"{name} needs at least two views.")
    return estimator, X, mask


def cross_view_agreement(estimator, X, y=None):
    """Label-free score of how well the views agree on the shared latent (higher is
    better; 0.5 is chance, 1 perfect).

    For every ordered pair of views ``(s, t)`` and every sample ``i`` that observes
    both, the shared posterior mean is inferred from view ``s`` alone (``z_s^i``) and
    from view ``t`` alone; the sample scores the share of the other such samples
    ``j`` whose ``z_t^j`` is less cosine-similar to ``z_s^i`` than its own ``z_t^i``
    (ties count half). The score is the mean over samples and pairs: a rank-based,
    scale-free measure of what IDMVAE's CrossMI term (``lambda1``) is for, which the
    ELBO (``score``) penalises. A collapsed shared latent scores 0.5.

    Use it as ``scoring=`` (its signature is ``(estimator, X, y)``), e.g.
    ``GridSearchCV(IDMVAE(), {"lambda1": [0, 10, 80]}, scoring=cross_view_agreement)``;
    on held-out rows, it rewards shared information that generalises.

    Parameters
    ----------
    estimator : fitted MultimodalVAE, or a Pipeline whose first step is one
    X : multi-view input with at least two views
    y : ignored

    Returns
    -------
    score : float
    """
    estimator, X, mask = _selection_inputs(estimator, X, "cross_view_agreement")
    n_views = mask.shape[1]
    alone = []
    for m in range(n_views):
        z = np.zeros((len(mask), latent_sizes(estimator)[0]))
        if mask[:, m].any():
            z[mask[:, m]] = representation(estimator, X[mask[:, m]], "shared", "mean", 0, m)
        alone.append(z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12))
    scores = []
    for s in range(n_views):
        for t in range(n_views):
            rows = np.flatnonzero(mask[:, s] & mask[:, t])
            if s == t or len(rows) < 2:
                continue
            zs, zt = alone[s][rows], alone[t][rows]
            for start in range(0, len(rows), 1024):
                sim = zs[start : start + 1024] @ zt.T  # (chunk, n)
                own = sim[np.arange(len(sim)), np.arange(start, start + len(sim))][:, None]
                lower = (sim < own).sum(1) + 0.5 * ((sim == own).sum(1) - 1)
                scores.append(lower / (len(rows) - 1))
    if not scores:
        raise ValueError("cross_view_agreement needs samples that observe two views.")
    return float(np.mean(np.concatenate(scores)))


def leave_one_view_out_score(estimator, X, y=None):
    """Label-free score of predicting each view from the others (higher is better; 0
    is perfect, -1 is as good as predicting each feature's mean).

    Every view ``t`` of the samples that observe it and at least one other view is
    hidden and imputed from the rest (``impute``: the method's own aggregation of the
    observed views, and its rule for a missing view's private latent); the score is
    minus the standardised mean squared error (each feature's MSE divided by its
    variance over these samples; constant features left out), averaged over features
    and views. Use it as ``scoring=`` in ``GridSearchCV``.

    Parameters
    ----------
    estimator : fitted MultimodalVAE, or a Pipeline whose first step is one
    X : multi-view input with at least two views
    y : ignored

    Returns
    -------
    score : float
    """
    estimator, X, mask = _selection_inputs(estimator, X, "leave_one_view_out_score")
    n_views = mask.shape[1]
    errors = []
    for t in range(n_views):
        others = np.ones(n_views, dtype=bool)
        others[t] = False
        rows = mask[:, t] & (mask & others).any(1)
        if rows.sum() < 2:
            continue
        kept = X[rows]
        hidden = mask[rows]
        hidden[:, t] = False
        n = len(kept)
        true = np.asarray(kept.views[t], dtype=np.float64).reshape(n, -1)
        filled = estimator.impute(MultiView(kept.views, mask=hidden)).views[t]
        pred = np.asarray(filled, dtype=np.float64).reshape(n, -1)
        var = true.var(0)
        keep = var > 0
        if keep.any():
            errors.append(np.mean(((pred - true) ** 2).mean(0)[keep] / var[keep]))
    if not errors:
        raise ValueError("leave_one_view_out_score needs samples that observe two views.")
    return -float(np.mean(errors))
