"""Private-shared disentangled multimodal VAE (Lee & Pavlovic, 2021).

The "DMVAE" baseline of the IDMVAE tables (not Daunhawer et al.'s DMVAE). Each view
m has a shared posterior q_m(z | x_m) and a private posterior q_m(w_m | x_m). The
joint shared posterior is the product of the observed experts and the prior expert,
q(z | X) ∝ p(z) prod_m q_m(z | x_m). Every observed view is reconstructed from its
own private latent together with each shared posterior s in {every observed view's
own expert, the product}: one ELBO per shared source,

    ELBO_s = sum_m lambda_m E log p(x_m | w_m, z_s)
             - beta [KL(q_s(z) || p) + sum_m KL(q(w_m | x_m) || p)],

summed over the sources (the joint ELBO plus one cross ELBO per unimodal shared
posterior, as in MultiVae). Each shared KL counts once per source: summing the
pairings T(m, s) view by view would count it once per *target* view, M times, and
pull the shared latent towards the prior (then the private latents carry the shared
factor and cross-view prediction fails).

The authors' released code zeroes the PoE reconstruction terms; this implements
the paper's objective, with them.
"""

from __future__ import annotations

import torch

from ..base import MultimodalVAE
from ..latent import Normal, kl_normal_standard, masked_poe
from ..module import MultimodalModule
from ..parameters import BOOLEAN, document, integer, store_params
from ..posteriors import Diagonal, Encoding, Product

__all__ = ["PrivateSharedVAE"]


class PrivateSharedModule(MultimodalModule):
    def __init__(self, specs, n_shared, n_private, view_weights, beta, prior_expert):
        super().__init__(specs, n_shared, view_weights, decoder_dim=n_shared + n_private)
        self.n_private = n_private
        self.shared_encoders = self.build_encoders(n_shared, role="shared")
        self.private_encoders = self.build_encoders(n_private, role="private")
        self.beta = beta
        self.prior_expert = prior_expert

    def encode(self, views, mask):
        loc, logvar = self.encode_experts(self.shared_encoders, views, Normal, mask)
        w_loc, w_logvar = self.encode_experts(self.private_encoders, views, Normal, mask)
        mu, lv = masked_poe(loc, logvar, mask, self.prior_expert)
        return Encoding(
            shared=Product(Normal, mu, lv),
            experts=Diagonal(Normal, loc, logvar),
            private=Diagonal(Normal, w_loc, w_logvar),
        )

    def _terms(self, views, mask, enc, weighted, joint_only):
        """Reconstruction and KL of the pairings (own, cross, PoE), summed per sample."""
        shared = torch.cat(
            [
                Normal.rsample(enc.experts.loc, enc.experts.param),
                Normal.rsample(enc.shared.loc, enc.shared.param).unsqueeze(0),
            ]
        )  # (M + 1, B, Dz): each view's own shared sample, then the product's
        kl_shared = torch.cat(
            [
                kl_normal_standard(enc.experts.loc, enc.experts.param),
                kl_normal_standard(enc.shared.loc, enc.shared.param).unsqueeze(0),
            ]
        )  # (M + 1, B)
        w = Normal.rsample(enc.private.loc, enc.private.param)  # one w_m per view
        kl_w = kl_normal_standard(enc.private.loc, enc.private.param)
        source_ok = torch.cat([mask.transpose(0, 1), torch.ones_like(mask[:, :1]).T])
        if joint_only:
            source_ok = torch.zeros_like(source_ok)
            source_ok[-1] = True
        rec = torch.zeros(mask.shape[0], device=mask.device)
        kl = torch.where(source_ok, kl_shared, 0.0).sum(0)  # each source's KL once
        n_sources = source_ok.sum(0)
        for m, x in enumerate(views):
            inputs = torch.cat([shared, w[m].expand(shared.shape[0], -1, -1)], dim=-1)
            ll = self.log_likelihood(m, x, inputs)  # (M + 1, B)
            if weighted and self.weights[m] != 1.0:
                ll = ll * self.weights[m]
            rec = rec + torch.where(source_ok & mask[:, m], ll, 0.0).sum(0)
            kl = kl + torch.where(mask[:, m], n_sources * kl_w[m], 0.0)  # once per source
        return rec, kl

    def forward(self, views, mask):
        enc = self.encode(views, mask)
        rec, kl = self._terms(views, mask, enc, True, joint_only=False)
        return {"loss": -(rec - self.beta * kl), "rec": -rec.detach(), "kl": kl.detach()}

    def elbo(self, views, mask):
        """The joint ELBO: product-of-experts z, each view's own w."""
        enc = self.encode(views, mask)
        rec, kl = self._terms(views, mask, enc, False, joint_only=True)
        return rec - kl


class PrivateSharedVAE(MultimodalVAE):
    """Private-shared disentangled multimodal VAE (Lee & Pavlovic, 2021).

    The "DMVAE" baseline of the IDMVAE paper: a product-of-experts shared latent and
    a private latent per view, trained on own, cross and product reconstructions.

    Parameters
    ----------
    n_shared : int, default=16
        Size of the shared latent ``z``.
    n_private : int, default=16
        Size of each view's private latent ``w_m``.
    beta : float, default=1.0
        Weight of the KL terms.
    prior_expert : bool, default=True
        Include the prior N(0, I) in the product of experts (as the authors do).
    %(common)s

    %(fitted)s

    Notes
    -----
    The released code of the paper zeroes the reconstructions from the product of
    experts (its KL terms stay); this class implements the objective of the paper,
    with them. :meth:`score` reports the joint ELBO (product-of-experts ``z`` and each
    view's own ``w``).

    References
    ----------
    M. Lee and V. Pavlovic. Private-shared disentangled multimodal VAE for learning
    of latent representations. CVPR Workshops 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import PrivateSharedVAE, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> est = PrivateSharedVAE(n_shared=2, n_private=1, max_epochs=2, random_state=0)
    >>> est.fit(X).transform(X).shape
    (64, 4)
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_shared": integer(1),
        "n_private": integer(1),
        "prior_expert": BOOLEAN,
    }

    has_private_latents = True

    def __init__(
        self,
        n_shared=16,
        n_private=16,
        *,
        beta=1.0,
        prior_expert=True,
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

    def _build_module(self, specs):
        return PrivateSharedModule(
            specs,
            self.n_shared,
            self.n_private,
            self._view_weights(len(specs)),
            beta=float(self.beta),
            prior_expert=bool(self.prior_expert),
        )


document(PrivateSharedVAE)
