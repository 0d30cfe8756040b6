"""Shared loss pieces: K-sample estimators (ELBO, IWAE, DReG) for mixture models."""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F

from .latent import mixture_log_prob

OBJECTIVES = ("elbo", "iwae", "dreg")

__all__ = [
    "DReG",
    "OBJECTIVES",
    "across_processes",
    "contrast",
    "log_mean_exp",
    "nt_xent",
    "reweight_gradient",
    "source_average",
    "stratified_bound",
]


def source_average(values, observed):
    """Mean of ``(M, K, B)`` values over the K samples and the observed sources, ``(B,)``."""
    src = observed.transpose(0, 1).unsqueeze(1).to(values.dtype)  # (M, 1, B)
    return (values * src).sum((0, 1)) / (src.sum((0, 1)) * values.shape[1])


def log_mean_exp(x, dim=0):
    """``log (1/K) sum_k exp x_k`` along ``dim``."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


def reweight_gradient(z, weights):
    """An alias of ``z`` whose backward multiplies the incoming gradient by ``weights``.

    ``weights`` is read when the backward pass runs, so it may be filled in after the
    forward pass has used the alias (DReG needs the normalised importance weights,
    which depend on the log-weights computed from it). Pass a one-element list that
    the caller fills with a tensor broadcastable to ``z``. Other uses of ``z`` itself
    keep their plain gradient.
    """
    if not z.requires_grad:
        return z
    alias = z.clone()
    alias.register_hook(lambda grad: grad * weights[0])
    return alias


class DReG:
    """Doubly reparameterised gradients (Tucker et al., 2019) of a stratified
    importance-weighted bound whose proposal may be a mixture, for any ``beta``.

    For source ``r`` with ``K`` reparameterised draws ``z_k ~ q_r`` and log weights
    ``log w_k = f(z_k) - beta log q(z_k)``, where ``q = (1/|O|) sum_j q_j`` is the
    mixture of the observed experts, the gradient of ``log (1/K) sum_k w_k`` with
    respect to the encoders is

        sum_k w~_k [df/dz_k dz_k/dphi - beta sum_j rho_j(z_k) d log q_j(z_k)/dphi_j],

    with normalised weights ``w~`` and responsibilities ``rho_j = q_j / sum_i q_i``.
    The sampling expert's score term (``j = r``) has the same expectation as the
    path term ``d(w~_k rho_r(z_k))/dz_k dz_k/dphi_r`` (the reparameterisation
    identity); the other experts' score terms (``j != r``: ``z_k`` was not drawn
    from ``q_j``) are kept as they are. The estimate is therefore

        sum_k w~_k [1 - beta rho_r (1 - w~_k)] d log w_k/dz_k dz_k/dphi
              - beta w~_k d rho_r/dz_k dz_k/dphi
              - beta w~_k sum_{j != r} rho_j d log q_j(z_k)/dphi_j.

    With one observed expert (``rho_r = 1``) the encoder path weights are
    ``(1 - beta) w~ + beta w~^2`` (``w~^2`` at ``beta = 1``, Tucker et al. Eq. 7);
    decoder gradients are ``sum_k w~_k d log w_k/dtheta`` as in IWAE. Its expectation
    is the gradient of the ``"iwae"`` bound. (MMVAE's ``m_dreg_looser`` stops every
    expert inside the mixture density and uses ``w~^2``: biased for two or more
    observed views, and for ``beta != 1``.)

    A module creates one ``DReG(beta)`` per forward pass, routes each latent draw
    through :meth:`mixture` or :meth:`single` (which return the draws to use
    downstream and their log densities with stopped parameters), and passes it to
    :func:`stratified_bound`.
    """

    def __init__(self, beta):
        self.beta = float(beta)
        self.paths = []  # (holder, responsibility of the sampling expert)
        self.score = 0.0  # per-draw terms whose gradient is the score correction

    def _reweighted(self, z, rho):
        holder = []
        self.paths.append((holder, rho))
        return reweight_gradient(z, holder)

    def single(self, z, family, loc, param):
        """Draws ``z`` ``(M, K, B, D)`` of each source's own expert ``(loc, param)``
        ``(M, B, D)``: the reweighted draws and ``log q_r(z)`` ``(M, K, B)``."""
        z = self._reweighted(z, 1.0)
        return z, family.log_prob(z, loc.detach().unsqueeze(1), param.detach().unsqueeze(1))

    def mixture(self, z, family, loc, param, mask):
        """Draws ``z`` ``(M, K, B, D)`` of each source's expert, scored under the
        mixture of the observed experts ``mask`` ``(B, M)``: the reweighted draws and
        ``log q(z | X)`` ``(M, K, B)``."""
        loc_d, param_d = loc.detach(), param.detach()
        own = family.log_prob(z, loc_d.unsqueeze(1), param_d.unsqueeze(1))
        n_obs = mask.sum(-1).to(z.dtype)
        log_rho = own - mixture_log_prob(z, family, loc_d, param_d, mask) - torch.log(n_obs)
        rho = log_rho.clamp(max=0.0).exp()  # path derivative d rho_r / dz (no reweighting)
        z_fixed, rho_fixed = z.detach(), rho.detach()
        other_experts = mixture_log_prob(z_fixed, family, loc, param, mask) - rho_fixed * (
            family.log_prob(z_fixed, loc.unsqueeze(1), param.unsqueeze(1))
        )  # its parameter gradient: sum_{j != r} rho_j d log q_j / dphi_j
        self.score = self.score + rho + other_experts
        z = self._reweighted(z, rho_fixed)
        return z, mixture_log_prob(z, family, loc_d, param_d, mask)


def stratified_bound(log_w, observed, objective, dreg=None):
    """Per-sample bound from stratified log-weights, averaged over the observed sources.

    Parameters
    ----------
    log_w : Tensor of shape (M, K, B)
        Log importance weights of K samples drawn from each source expert ``r``.
    observed : bool Tensor of shape (B, M)
        Which sources are observed (unobserved sources are ignored, with no gradient).
    objective : {"elbo", "iwae", "dreg"}
        ``"elbo"``: ``mean_k log w``; ``"iwae"``: ``log mean_k w`` (the looser,
        stratified bound ``(1/|O|) sum_r log (1/K) sum_k w_rk``); ``"dreg"``: the same
        value, with the doubly reparameterised gradient (see :class:`DReG`, through
        which ``log_w``'s draws and proposal densities must have been computed).
    dreg : DReG, optional
        Required for ``"dreg"``.

    Returns
    -------
    target : Tensor of shape (B,)
        What to maximise: the bound's value, with the objective's gradient.
    value : Tensor of shape (B,)
        The bound's value.
    """
    src = observed.transpose(0, 1).to(log_w.dtype)  # (M, B)
    n_obs = src.sum(0)
    if objective == "elbo":
        per_source = log_w.mean(1)
        value = (per_source * src).sum(0) / n_obs
        return value, value
    per_source = log_mean_exp(log_w, dim=1)  # (M, B)
    value = (torch.where(src > 0, per_source, 0.0)).sum(0) / n_obs
    if objective == "iwae":
        return value, value
    if objective == "dreg":
        if dreg is None:
            raise ValueError("objective='dreg' needs the DReG object the log weights used.")
        w_tilde = torch.softmax(log_w.detach(), dim=1)  # normalised over K within each source
        for holder, rho in dreg.paths:
            holder.append((1.0 - dreg.beta * rho * (1.0 - w_tilde)).unsqueeze(-1))
        per_draw = w_tilde * (log_w - dreg.beta * dreg.score)
        surrogate = torch.where(src.unsqueeze(1) > 0, per_draw, 0.0).sum((0, 1)) / n_obs
        return value.detach() + (surrogate - surrogate.detach()), value
    raise ValueError(f"objective must be one of {OBJECTIVES}; got {objective!r}.")


# Contrastive terms take their negatives from the whole batch. When a batch is split
# across processes (data-parallel training), the training engine installs a gather of
# the rows of all processes for the forward pass (across_processes). A plain module
# global, not a ContextVar: torch.compile traces a global read without a graph break.
_gather = None


@contextlib.contextmanager
def across_processes(gather):
    """Within the block, :func:`whole_batch` calls ``gather(rows, valid)``, which must
    return the rows of every process's share of the batch (concatenated in process
    order, gradients flowing back to each process), their ``valid`` flags, and where
    this process's rows start. (One training forward per process at a time.)"""
    global _gather
    previous, _gather = _gather, gather
    try:
        yield
    finally:
        _gather = previous


def whole_batch(rows, valid):
    """``(rows, valid, start)`` of the whole batch: this process's ``rows`` and
    ``start = 0`` unless a gather is installed (:func:`across_processes`)."""
    if _gather is None:
        return rows, valid, 0
    return _gather(rows, valid)


def contrast(anchor, positive, valid, temperature=1.0):
    """Contrastive (InfoNCE) estimate of mutual information, per anchor (IDMVAE Eq. 1).

    ``log phi(a_i, b_i) / (phi(a_i, b_i) + sum_{j != i} phi(a_i, b_j))`` with the
    affinity ``phi(a, b) = exp(cos(a, b) / temperature)`` and the other valid samples
    of the batch as negatives (of the whole batch when it is split across processes:
    :func:`across_processes`).

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
    b, valid_all, start = whole_batch(F.normalize(positive, dim=-1), valid)
    logits = a @ b.transpose(0, 1) / temperature  # (B, B) or (B, B * processes)
    # a large finite fill keeps rows without any valid column free of NaN gradients
    logits = logits.masked_fill(~valid_all.unsqueeze(0), -1e9)
    out = logits.diagonal(start) - torch.logsumexp(logits, dim=1)  # positives: column start + i
    return torch.where(valid, out, 0.0)


def nt_xent(a, b, valid, temperature=1.0):
    """Normalised-temperature cross entropy (SimCLR's NT-Xent), per sample.

    The ``2B`` representations ``[a; b]`` are pooled; each one's positive is its
    counterpart in the other half and its ``2B - 2`` negatives are every other valid
    representation, the same view's included (``2B - 1`` candidates; ``B`` is the
    whole batch when it is split across processes: :func:`across_processes`). Sample ``i``
    gets the mean of its two anchors' log ratios,

        1/2 [log phi(a_i, b_i) / sum_{c != a_i} phi(a_i, c)
             + log phi(b_i, a_i) / sum_{c != b_i} phi(b_i, c)],

    with ``phi(u, v) = exp(cos(u, v) / temperature)``. This is the contrastive loss
    of the IDMVAE authors' code (``ContrastiveLoss``, self-similarity removed).

    Parameters
    ----------
    a, b : Tensor of shape (B, D)
    valid : bool Tensor of shape (B,)
    temperature : float

    Returns
    -------
    Tensor of shape (B,)
        Per-sample log ratio (<= 0); 0 for invalid rows.
    """
    n, d = a.shape
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    pairs, valid_all, start = whole_batch(torch.cat([a, b], 1), valid)
    total = pairs.shape[0]  # rows of the whole batch
    candidates = torch.cat([pairs[:, :d], pairs[:, d:]])  # (2N, D): [a; b]
    logits = torch.cat([a, b]) @ candidates.transpose(0, 1) / temperature  # (2B, 2N)
    own = start + torch.arange(n, device=a.device)  # this process's rows in the batch
    itself = torch.cat([own, total + own])
    partner = torch.cat([total + own, own])
    rows = torch.arange(2 * n, device=a.device)
    excluded = torch.zeros_like(logits, dtype=torch.bool)
    excluded[rows, itself] = True
    ok = torch.cat([valid_all, valid_all])
    logits = logits.masked_fill(excluded | ~ok.unsqueeze(0), -1e9)
    out = logits[rows, partner] - torch.logsumexp(logits, 1)
    return torch.where(valid, 0.5 * (out[:n] + out[n:]), 0.0)
