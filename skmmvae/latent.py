"""Latent posteriors: families, reparameterisation, masked PoE, mixtures and KLs.

Shapes follow one convention throughout the library: per-view (expert) parameters
are stacked as ``(M, B, D)``; masks are ``(B, M)`` (True = observed); samples carry
leading sample axes ``(*S, B, D)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0
LOG_2PI = math.log(2.0 * math.pi)

__all__ = [
    "Normal",
    "Laplace",
    "get_family",
    "kl_normal_standard",
    "masked_poe",
    "mixture_log_prob",
    "mixture_moments",
]


class Normal:
    """Diagonal Gaussian ``N(loc, exp(logvar))``; the second parameter is the log-variance."""

    name = "normal"

    @staticmethod
    def from_raw(h):
        """Split an encoder output ``(..., 2D)`` into ``(loc, logvar)`` (clamped)."""
        loc, raw = h.chunk(2, dim=-1)
        return loc, raw.clamp(LOGVAR_MIN, LOGVAR_MAX)

    @staticmethod
    def rsample(loc, logvar, n=None):
        """Reparameterised sample; with ``n`` a leading axis of ``n`` samples is added."""
        shape = loc.shape if n is None else (n, *loc.shape)
        eps = torch.randn(shape, device=loc.device, dtype=loc.dtype)
        return loc + torch.exp(0.5 * logvar) * eps

    @staticmethod
    def log_prob(z, loc, logvar):
        """``log N(z; loc, exp(logvar))`` summed over the last axis."""
        return -0.5 * (LOG_2PI + logvar + (z - loc) ** 2 * torch.exp(-logvar)).sum(-1)

    @staticmethod
    def moments(loc, logvar):
        return loc, torch.exp(logvar)

    @staticmethod
    def scale(loc, logvar):
        return torch.exp(0.5 * logvar)


class Laplace:
    """Diagonal Laplace ``Laplace(loc, b)``; the second parameter is ``log b``.

    Encoders produce the scale as ``softmax(raw) * D + 1e-6`` (MMVAE's
    parameterisation: the scales of one posterior average to 1).
    """

    name = "laplace"

    @staticmethod
    def from_raw(h):
        loc, raw = h.chunk(2, dim=-1)
        scale = F.softmax(raw, dim=-1) * raw.shape[-1] + 1e-6
        return loc, torch.log(scale)

    @staticmethod
    def rsample(loc, log_b, n=None):
        shape = loc.shape if n is None else (n, *loc.shape)
        u = torch.rand(shape, device=loc.device, dtype=loc.dtype) - 0.5
        u = u.clamp(-0.5 + 1e-7, 0.5 - 1e-7)
        return loc - torch.exp(log_b) * torch.sign(u) * torch.log1p(-2.0 * u.abs())

    @staticmethod
    def log_prob(z, loc, log_b):
        return (-math.log(2.0) - log_b - (z - loc).abs() * torch.exp(-log_b)).sum(-1)

    @staticmethod
    def moments(loc, log_b):
        return loc, 2.0 * torch.exp(2.0 * log_b)

    @staticmethod
    def scale(loc, log_b):
        return torch.exp(log_b)


_FAMILIES = {"normal": Normal, "laplace": Laplace}


def get_family(name):
    """The posterior family called ``name`` (``"normal"`` or ``"laplace"``)."""
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ValueError(f"posterior must be one of {sorted(_FAMILIES)}; got {name!r}.") from None


def kl_normal_standard(loc, logvar):
    """``KL(N(loc, exp(logvar)) || N(0, I))`` in closed form, summed over the last axis."""
    return 0.5 * (loc**2 + torch.exp(logvar) - 1.0 - logvar).sum(-1)


def masked_poe(loc, logvar, mask, prior_expert=True):
    """Product of the observed Gaussian experts, optionally times the prior ``N(0, I)``.

    Precisions ``T_m = exp(-logvar_m)`` add up, ``T = sum_m mask_m T_m (+ 1)``, and the
    mean is the precision-weighted mean ``mu = sum_m mask_m T_m mu_m / T``. Log-variances
    are clamped to ``[LOGVAR_MIN, LOGVAR_MAX]`` by the encoders, so the precisions stay
    finite and no epsilon is needed (a single expert is returned unchanged). A product
    with no factor at all is the prior. Experts outside the mask get exactly zero
    gradient.

    Parameters
    ----------
    loc, logvar : Tensor of shape (M, B, D)
    mask : bool Tensor of shape (..., B, M)
        Which experts enter each product; leading axes give several products at once
        (e.g. one per subset).
    prior_expert : bool or bool Tensor broadcastable to (..., B)

    Returns
    -------
    loc, logvar : Tensor of shape (..., B, D)
    """
    weights = mask.transpose(-1, -2).unsqueeze(-1).to(loc.dtype)  # (..., M, B, 1)
    precision = torch.exp(-logvar) * weights  # (..., M, B, D)
    if prior_expert is True:
        prior = 1.0  # the prior's precision; it also makes empty products the prior
    else:
        prior = torch.as_tensor(prior_expert, device=loc.device) | ~mask.any(-1)
        prior = prior.to(loc.dtype).unsqueeze(-1)  # an empty product is the prior
    total = precision.sum(-3) + prior
    return (precision * loc).sum(-3) / total, -torch.log(total)


def mixture_log_prob(z, family, loc, param, mask):
    """``log (1/|O|) sum_{j in O} q_j(z)``: uniform mixture of the observed experts.

    Parameters
    ----------
    z : Tensor of shape (*S, B, D)
    family : Normal or Laplace
    loc, param : Tensor of shape (M, B, D)
        Expert parameters.
    mask : bool Tensor of shape (B, M)

    Returns
    -------
    Tensor of shape (*S, B)
    """
    log_q = family.log_prob(z.unsqueeze(-3), loc, param)  # (*S, M, B)
    observed = mask.transpose(0, 1)  # (M, B)
    log_q = torch.where(observed, log_q, float("-inf"))
    count = mask.sum(-1).to(z.dtype)
    return torch.logsumexp(log_q, dim=-2) - torch.log(count)


def mixture_moments(family, loc, param, mask):
    """Mean and variance of the uniform mixture of the observed experts, ``(B, D)`` each."""
    mean_j, var_j = family.moments(loc, param)  # (M, B, D)
    w = mask.transpose(0, 1).unsqueeze(-1).to(loc.dtype)
    w = w / w.sum(0, keepdim=True)
    mean = (w * mean_j).sum(0)
    second = (w * (var_j + mean_j**2)).sum(0)
    return mean, (second - mean**2).clamp_min(0.0)
