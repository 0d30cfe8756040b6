"""MMVM VAE: multimodal VAE with a data-dependent mixture-of-experts prior
("Unity by diversity", Sutter, Meng, Fortin, Vogt & Ratsch, 2024).

M unimodal VAEs, each with its own latent z_m, encoder q_m(z_m | x_m) and decoder
p(x_m | z_m) that reconstructs only its own view. They are coupled through the prior:
the prior of every z_m is the mixture of the observed views' posteriors,

    h(z | X) = alpha N(0, I) + (1 - alpha) (1 / |O|) sum_{j in O} q_j(z | x_j),

so the objective (maximised) is

    L = sum_{m in O} [ lambda_m E_{q_m} log p(x_m | z_m) - beta KL(q_m(z_m | x_m) || h(z | X)) ].

The KL to a mixture has no closed form: ``kl="jensen"`` uses the convexity bound
KL(q_m || h) <= alpha KL(q_m || N(0, I)) + (1 - alpha) (1/|O|) sum_j KL(q_m || q_j)
(the authors' choice), ``kl="sampled"`` the single-sample estimate
log q_m(z_m) - log h(z_m). No stop-gradient on the prior: it trains every encoder.
"""

from __future__ import annotations

import math

import torch

from ..base import MultimodalVAE
from ..latent import Normal, kl_normal_standard, mixture_log_prob
from ..module import MultimodalModule
from ..parameters import document, integer, options, real, store_params
from ..posteriors import Diagonal, Encoding, ViewMean

__all__ = ["MMVM"]


def kl_normal_pairs(loc, logvar):
    """``KL(q_m || q_j)`` for all pairs of diagonal Gaussians, shape ``(M, M, B)``."""
    mu_m, lv_m = loc.unsqueeze(1), logvar.unsqueeze(1)  # (M, 1, B, D)
    mu_j, lv_j = loc.unsqueeze(0), logvar.unsqueeze(0)  # (1, M, B, D)
    return 0.5 * (lv_j - lv_m + (torch.exp(lv_m) + (mu_m - mu_j) ** 2) * torch.exp(-lv_j) - 1).sum(
        -1
    )


class MMVMModule(MultimodalModule):
    def __init__(self, specs, n_latent, view_weights, beta, kl, alpha, alpha_warmup_steps):
        super().__init__(specs, n_latent, view_weights)
        self.encoders = self.build_encoders(n_latent)
        self.beta = beta
        self.kl = kl
        self.alpha = alpha
        self.alpha_warmup_steps = alpha_warmup_steps
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    @property
    def current_alpha(self):
        """alpha annealed linearly from 1 to its final value over the warm-up steps."""
        if not self.training or not self.alpha_warmup_steps:
            return self.alpha
        frac = min(1.0, float(self.steps) / self.alpha_warmup_steps)
        return 1.0 - frac * (1.0 - self.alpha)

    def encode(self, views, mask):
        loc, logvar = self.encode_experts(self.encoders, views, Normal, mask)
        experts = Diagonal(Normal, loc, logvar)
        return Encoding(shared=ViewMean(experts, mask), experts=experts)

    def kl_to_mixture_prior(self, loc, logvar, z, mask, alpha):
        """KL(q_m || h(z | X)) per view, ``(M, B)`` (Jensen bound or sampled)."""
        observed = mask.transpose(0, 1)  # (M, B)
        n_obs = observed.sum(0).to(loc.dtype)
        if self.kl == "jensen":
            pairs = kl_normal_pairs(loc, logvar)  # (M, M, B)
            mix = torch.where(observed.unsqueeze(0), pairs, 0.0).sum(1) / n_obs
            if alpha == 0:  # the default: the prior is the mixture of the posteriors alone
                return mix
            return alpha * kl_normal_standard(loc, logvar) + (1 - alpha) * mix
        log_q = Normal.log_prob(z, loc, logvar)  # (M, B)
        log_mix = mixture_log_prob(z, Normal, loc, logvar, mask)
        zero = torch.zeros_like(z)
        log_std = Normal.log_prob(z, zero, zero)
        if alpha <= 0:
            log_h = log_mix
        elif alpha >= 1:
            log_h = log_std
        else:
            log_h = torch.logaddexp(math.log(alpha) + log_std, math.log(1 - alpha) + log_mix)
        return log_q - log_h

    def terms(self, views, mask, weighted, alpha):
        loc, logvar = self.encode_experts(self.encoders, views, Normal, mask)
        z = Normal.rsample(loc, logvar)  # (M, B, D): one z_m per view
        rec = self.reconstruction(views, mask, list(z), weighted)
        kl = self.kl_to_mixture_prior(loc, logvar, z, mask, alpha)
        kl = torch.where(mask.transpose(0, 1), kl, 0.0).sum(0)
        return rec, kl

    def forward(self, views, mask):
        rec, kl = self.terms(views, mask, True, self.current_alpha)
        if self.training:
            self.steps += 1
        return {"loss": -(rec - self.beta * kl), "rec": -rec.detach(), "kl": kl.detach()}

    def elbo(self, views, mask):
        rec, kl = self.terms(views, mask, False, self.alpha)
        return rec - kl

    def latents(self, views, mask, block, sample):
        if block == "all":
            block = "shared"
        return super().latents(views, mask, block, sample)

    def filled_means(self, views, mask):
        """Each view's posterior mean, ``(M, B, D)``; a missing view takes the average of
        the observed views' means."""
        enc = self.encode(views, mask)
        return torch.where(mask.transpose(0, 1).unsqueeze(-1), enc.experts.loc, enc.shared.mean)

    def sampler_latents(self, views, mask):
        """Per-view means side by side, ``(B, M * D)`` (see :meth:`filled_means`)."""
        z = self.filled_means(views, mask)
        return z.transpose(0, 1).reshape(z.shape[1], -1)

    def decoder_inputs(self, views, mask):
        """Every view decodes its :meth:`filled_means` row."""
        return list(self.filled_means(views, mask))

    def generate(self, n, shared=None):
        if shared is None:  # no ex-post sampler: the standard normal, one z for all views
            return [self.prior_sample(n)] * self.n_views
        return list(shared.reshape(n, self.n_views, self.n_latent).transpose(0, 1))


class MMVM(MultimodalVAE):
    """MMVM VAE: unimodal VAEs coupled by a data-dependent mixture prior
    (Sutter et al., 2024).

    Parameters
    ----------
    n_latent : int, default=16
        Size of every view's latent ``z_m``.
    beta : float, default=1.0
        Weight of the KL terms.
    kl : {"jensen", "sampled"}, default="jensen"
        ``"jensen"``: the closed-form convexity bound on KL(q_m || mixture) (the
        authors' code); ``"sampled"``: a single-sample estimate.
    alpha : float, default=0.0
        Weight of N(0, I) in the prior mixture after warm-up; 1 gives independent VAEs.
    alpha_warmup_steps : int, default=0
        Anneal the weight linearly from 1 to ``alpha`` over this many optimiser steps.
    prior_sampler : {"gmm", "prior"}, default="gmm"
        ``sample`` draws the per-view latents jointly from a Gaussian mixture fitted to
        the training means (the paper's suggestion), or one z ~ N(0, I) for all views.
    %(common)s

    %(fitted)s

    Notes
    -----
    ``transform``: ``latents="per_view"`` gives every view's own ``z_m`` (0 for a
    missing view); ``"shared"`` (and ``"all"``) the average of the observed views'
    means. ``impute`` decodes a missing view from the average of the observed views'
    posterior means. The paper's code conditions on one observed view instead (a
    sample of ``q_m``); averaging uses all observed views, which the mixture prior
    pulls together.

    References
    ----------
    T. M. Sutter, Y. Meng, A. Agostini, D. Chopard, N. Fortin, J. E. Vogt, B. Shahbaba
    and S. Mandt. Unity by diversity: improved representation learning in multimodal
    VAEs. NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import MMVM, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> est = MMVM(n_latent=2, max_epochs=2, random_state=0).fit(X)
    >>> est.transform(X, latents="per_view").shape
    (64, 4)
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_latent": integer(1),
        "kl": options("jensen", "sampled"),
        "alpha": real(0, 1, closed="both"),
        "alpha_warmup_steps": integer(0),
    }

    tractable_likelihood = None  # data-dependent prior: no joint density

    def __init__(
        self,
        n_latent=16,
        *,
        beta=1.0,
        kl="jensen",
        alpha=0.0,
        alpha_warmup_steps=0,
        prior_sampler="gmm",
        n_prior_components=100,
        modalities="auto",
        views=None,
        view_weights=None,
        hidden_layer_sizes=(256, 256),
        latents="all",
        latent_mode="mean",
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.1,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        device="auto",
        precision="32",
        compile=False,
        accelerate=False,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        store_params(self, locals())

    def _build_module(self, specs):
        return MMVMModule(
            specs,
            self.n_latent,
            self._view_weights(len(specs)),
            beta=float(self.beta),
            kl=self.kl,
            alpha=float(self.alpha),
            alpha_warmup_steps=int(self.alpha_warmup_steps),
        )


document(MMVM)
