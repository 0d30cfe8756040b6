"""Shared loss pieces: K-sample estimators (ELBO, IWAE, DReG) for mixture models."""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

ESTIMATORS = ("elbo", "iwae", "dreg")

__all__ = [
    "ESTIMATORS",
    "check_estimator",
    "contrast",
    "log_mean_exp",
    "reweight_gradient",
    "source_average",
    "stratified_bound",
]


def check_estimator(estimator, K):
    """Validate a K-sample estimator choice; returns ``(estimator, int(K))``."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}.")
    if not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K must be a positive integer; got {K!r}.")
    return estimator, int(K)


def source_average(values, observed):
    """Mean of ``(M, K, B)`` values over the K samples and the observed sources, ``(B,)``."""
    src = observed.transpose(0, 1).unsqueeze(1).to(values.dtype)  # (M, 1, B)
    return (values * src).sum((0, 1)) / (src.sum((0, 1)) * values.shape[1])


def log_mean_exp(x, dim=0):
    """``log (1/K) sum_k exp x_k`` along ``dim``."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


def reweight_gradient(z, weights):
    """Identity on ``z`` whose backward multiplies the incoming gradient by ``weights``.

    ``weights`` is read when the backward pass runs, so it may be filled in after the
    forward pass has used ``z`` (DReG needs the normalised importance weights, which
    depend on the log-weights computed from ``z``). Pass a one-element list that the
    caller fills with a tensor broadcastable to ``z``.
    """
    if z.requires_grad:
        z.register_hook(lambda grad: grad * weights[0])
    return z


def stratified_bound(log_w, observed, estimator, dreg_holder=None):
    """Per-sample bound from stratified log-weights, averaged over the observed sources.

    Parameters
    ----------
    log_w : Tensor of shape (M, K, B)
        Log importance weights of K samples drawn from each source expert ``r``.
    observed : bool Tensor of shape (B, M)
        Which sources are observed (unobserved sources are ignored, with no gradient).
    estimator : {"elbo", "iwae", "dreg"}
        ``"elbo"``: ``mean_k log w``; ``"iwae"``: ``log mean_k w`` (the looser,
        stratified bound ``(1/|O|) sum_r log (1/K) sum_k w_rk``); ``"dreg"``: the same
        value, with a surrogate whose gradient is the doubly reparameterised estimator
        of Tucker et al. (2019). DReG requires that ``log_w`` was computed with
        detached posterior parameters inside ``log q`` and from ``z`` passed through
        :func:`reweight_gradient` with ``dreg_holder``.
    dreg_holder : list, optional
        The list given to :func:`reweight_gradient`; filled here with the squared-weight
        factor (normalised weights ``w~``), so that encoder path gradients become
        ``sum_k w~_k^2 d log w_k / dz_k`` while decoder gradients are ``sum_k w~_k d log w_k``.

    Returns
    -------
    objective : Tensor of shape (B,)
        What to maximise (a surrogate for DReG).
    value : Tensor of shape (B,)
        The bound's value (equal to ``objective`` except for DReG).
    """
    src = observed.transpose(0, 1).to(log_w.dtype)  # (M, B)
    n_obs = src.sum(0)
    if estimator == "elbo":
        per_source = log_w.mean(1)
        value = objective = (per_source * src).sum(0) / n_obs
        return objective, value
    per_source = log_mean_exp(log_w, dim=1)  # (M, B)
    value = (torch.where(src > 0, per_source, 0.0)).sum(0) / n_obs
    if estimator == "iwae":
        return value, value
    if estimator == "dreg":
        with torch.no_grad():
            w_tilde = torch.softmax(log_w, dim=1)  # normalised over K within each source
        if dreg_holder is not None:
            dreg_holder.append(w_tilde.unsqueeze(-1))
        surrogate = (torch.where(src.unsqueeze(1) > 0, w_tilde * log_w, 0.0)).sum(1)
        objective = surrogate.sum(0) / n_obs
        return objective, value
    raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}.")


def contrast(anchor, positive, valid, temperature=1.0):
    """Contrastive (InfoNCE) estimate of mutual information, per anchor (IDMVAE Eq. 1).

    ``log phi(a_i, b_i) / (phi(a_i, b_i) + sum_{j != i} phi(a_i, b_j))`` with the
    affinity ``phi(a, b) = exp(cos(a, b) / temperature)`` and the other valid samples
    of the batch as negatives.

    Parameters
    ----------
    anchor, positive : Tensor of shape (B, D)
        Row ``i`` of both comes from the same sample.
    valid : bool Tensor of shape (B,)
        Samples that have both representations; others are neither anchors nor
        negatives.
    temperature : float

    Returns
    -------
    Tensor of shape (B,)
        The per-anchor log ratio (<= 0); 0 for invalid rows.
    """
    a = F.normalize(anchor, dim=-1)
    b = F.normalize(positive, dim=-1)
    logits = a @ b.transpose(0, 1) / temperature  # (B, B)
    # a large finite fill keeps rows without any valid column free of NaN gradients
    logits = logits.masked_fill(~valid.unsqueeze(0), -1e9)
    out = logits.diagonal() - torch.logsumexp(logits, dim=1)
    return torch.where(valid, out, 0.0)
