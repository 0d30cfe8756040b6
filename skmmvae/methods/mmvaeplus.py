"""MMVAE+: mixture of experts with shared and modality-specific latents
(Palumbo, Daunhawer & Vogt, 2023).

Each view m has a shared posterior q_m(z | x_m) and a private posterior
q_m(w_m | x_m) (separate towers). The shared posterior is the mixture of the
observed experts, as in MMVAE. Cross-reconstructions draw the target view's
private latent from a learnable auxiliary prior r_d(w) = N(0, diag sigma_d^2), so
that the shared latent must carry what the views have in common. For K samples
(z_m, w_m) from each observed source m, the log weight (thesis Eq. 6.21) is

    log w = lambda_m log p(x_m | z_m, w_m) + sum_{d != m} lambda_d log p(x_d | z_m, w~_d)
            + beta [log p(z_m) + log p(w_m) - log q(z_m | X) - log q_m(w_m | x_m)],

with w~_d ~ r_d(w) and q(z | X) the mixture of the observed experts. The objective
is the stratified bound over the observed sources (``"elbo"``, ``"iwae"`` or its
doubly reparameterised gradient ``"dreg"``, as for MMVAE).
"""

from __future__ import annotations

import torch
from torch import nn

from ..base import MultimodalVAE
from ..latent import get_family, mixture_log_prob
from ..module import MultimodalModule
from ..objectives import OBJECTIVES, source_average, stratified_bound
from ..parameters import document, integer, options, real, store_params
from ..posteriors import Diagonal, Encoding, Mixture
from .mmvae import _dreg_for

__all__ = ["MMVAEPlus"]


class MMVAEPlusModule(MultimodalModule):
    def __init__(
        self, specs, n_shared, n_private, view_weights, beta, objective, K, family, private_scale
    ):
        super().__init__(
            specs, n_shared, view_weights, decoder_dim=n_shared + n_private, family=family
        )
        self.n_private = n_private
        self.shared_encoders = self.build_encoders(n_shared, role="shared")
        self.private_encoders = self.build_encoders(n_private, role="private")
        # r_d(w): zero mean, learnable per-dimension scale (second family parameter, init 1)
        self.aux_prior = nn.Parameter(torch.zeros(self.n_views, n_private))
        self.beta = beta
        self.objective = objective
        self.K = K
        self.private_scale = private_scale

    def encode(self, views, mask):
        fam = self.family
        loc, param = self.encode_experts(self.shared_encoders, views, fam, mask)
        w_loc, w_param = self.encode_experts(self.private_encoders, views, fam, mask)
        experts = Diagonal(fam, loc, param)
        return Encoding(
            shared=Mixture(experts, mask), experts=experts, private=Diagonal(fam, w_loc, w_param)
        )

    def missing_private(self, m, n):
        """Cross-generation draws w ~ N(0, private_scale^2) (0: the prior mean)."""
        if self.private_scale == 0:
            return super().missing_private(m, n)
        return self.private_scale * self._standard_sample(n, self.n_private)

    def log_weights(self, views, mask, beta, weighted, dreg=None, enc=None):
        """Log importance weights ``(M, K, B)`` of the sources' samples, and parts.

        Returns the log weights and a dict with the reconstruction, the shared and
        private sampled KL parts, and the samples (for methods that build on MMVAE+).
        """
        fam = self.family
        enc = self.encode(views, mask) if enc is None else enc
        loc, param = enc.experts.loc, enc.experts.param
        w_loc, w_param = enc.private.loc, enc.private.param
        z = fam.rsample(loc, param, self.K).transpose(0, 1)  # (M, K, B, Dz)
        w = fam.rsample(w_loc, w_param, self.K).transpose(0, 1)  # (M, K, B, Dw)
        if dreg is None:
            log_qz = mixture_log_prob(z, fam, loc, param, mask)
            log_qw = fam.log_prob(w, w_loc.unsqueeze(1), w_param.unsqueeze(1))
        else:  # DReG: reweighted draws, stopped parameters inside the densities
            z, log_qz = dreg.mixture(z, fam, loc, param, mask)
            w, log_qw = dreg.single(w, fam, w_loc, w_param)
        eye = torch.eye(self.n_views, dtype=torch.bool, device=z.device)
        inputs = []
        for d in range(self.n_views):
            aux = torch.zeros_like(w[d])
            w_tilde = fam.rsample(aux, self.aux_prior[d].expand_as(aux), self.n_views)  # r_d
            w_d = torch.where(eye[:, d, None, None, None], w[d].unsqueeze(0), w_tilde)
            inputs.append(torch.cat([z, w_d], dim=-1))  # (M, K, B, Dz + Dw)
        rec = self.reconstruction(views, mask, inputs, weighted)  # (M, K, B)
        zero_z, zero_w = torch.zeros_like(z), torch.zeros_like(w)
        log_pz = fam.log_prob(z, zero_z, zero_z)
        log_pw = fam.log_prob(w, zero_w, zero_w)
        parts = {
            "rec": rec,
            "log_prior": log_pz + log_pw,
            "log_q": log_qz + log_qw,
            "z": z,
            "w": w,
        }
        return rec + beta * (log_pz + log_pw - log_qz - log_qw), parts

    def mmvae_plus_terms(self, views, mask, enc=None):
        """The MMVAE+ loss per sample and its logged parts."""
        dreg, kind = _dreg_for(self)
        log_w, parts = self.log_weights(views, mask, self.beta, True, dreg, enc)
        bound, value = stratified_bound(log_w, mask, kind, dreg)
        loss = -(bound if self.training else value)
        logged = {
            "rec": -source_average(parts["rec"], mask).detach(),
            "kl": source_average(parts["log_q"] - parts["log_prior"], mask).detach(),
        }
        return loss, logged

    def forward(self, views, mask):
        loss, logged = self.mmvae_plus_terms(views, mask)
        return {"loss": loss, **logged}

    def elbo(self, views, mask):
        log_w, _ = self.log_weights(views, mask, 1.0, False)
        kind = "elbo" if self.objective == "elbo" else "iwae"
        return stratified_bound(log_w, mask, kind)[1]


class MMVAEPlus(MultimodalVAE):
    """MMVAE+: mixture-of-experts VAE with shared and private latents
    (Palumbo, Daunhawer & Vogt, 2023).

    Parameters
    ----------
    n_shared : int, default=16
        Size of the shared latent ``z``.
    n_private : int, default=16
        Size of each view's private latent ``w_m``.
    beta : float, default=1.0
        Weight of the whole log ratio ``log p(z) + log p(w) - log q(z|X) - log q(w|x)``
        (the paper used 2.5 on PolyMNIST).
    objective : {"elbo", "iwae", "dreg"}, default="elbo"
        As in :class:`MMVAE`; ``"dreg"`` is the doubly reparameterised gradient of
        the ``"iwae"`` bound, unbiased for the mixture density of ``z`` and any
        ``beta`` (:class:`skmmvae.objectives.DReG`).
    K : int, default=1
        Samples per observed source.
    posterior : {"normal", "laplace"}, default="normal"
        Family of posteriors, priors and auxiliary priors.
    private_scale : float, default=1.0
        Test-time cross-generation (``impute``) draws the private latent of a missing
        view from the prior scaled by ``private_scale`` (N(0, private_scale^2) for
        normal posteriors); 0 uses the prior mean.
    %(common)s

    %(fitted)s

    Notes
    -----
    ``transform`` returns ``[z, w_0, ..., w_{M-1}]`` (``latents="all"``): the mean of
    the observed shared experts and each view's private mean (0 for a missing view).
    ``sample`` draws one ``z`` and an independent ``w_m`` per view from the prior.

    References
    ----------
    E. Palumbo, I. Daunhawer and J. E. Vogt. MMVAE+: Enhancing the generative quality
    of multimodal VAEs without compromises. ICLR 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import MMVAEPlus, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> est = MMVAEPlus(n_shared=2, n_private=3, max_epochs=2, random_state=0).fit(X)
    >>> est.transform(X).shape
    (64, 8)
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_shared": integer(1),
        "n_private": integer(1),
        "objective": options(*OBJECTIVES),
        "K": integer(1),
        "posterior": options("normal", "laplace"),
        "private_scale": real(0),
    }

    has_private_latents = True

    def __init__(
        self,
        n_shared=16,
        n_private=16,
        *,
        beta=1.0,
        objective="elbo",
        K=1,
        posterior="normal",
        private_scale=1.0,
        prior_sampler="prior",
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

    def _module_kwargs(self, specs):
        return dict(
            specs=specs,
            n_shared=self.n_shared,
            n_private=self.n_private,
            view_weights=self._view_weights(len(specs)),
            beta=float(self.beta),
            objective=self.objective,
            K=int(self.K),
            family=get_family(self.posterior),
            private_scale=float(self.private_scale),
        )

    def _build_module(self, specs):
        return MMVAEPlusModule(**self._module_kwargs(specs))


document(MMVAEPlus)
