"""MoPoE-VAE: mixture of products of experts (Sutter, Daunhawer & Vogt, 2021).

The joint posterior is a uniform mixture, over the non-empty subsets A of the
observed views, of the products of experts of each subset (thesis Eq. 5.14):

    q(z | X) = (1 / |P(X)|) sum_{A in P(X)} PoE_A(z),   PoE_A ∝ prod_{m in A} q_m(z | x_m).

The objective (thesis Eq. 5.15) averages the subset ELBOs:

    L = (1 / |P(X)|) sum_A [ E_{PoE_A} log p(X | z) - beta KL(PoE_A || p(z)) ].

The KL average is exact (closed-form Gaussian KLs of all subsets). The
reconstruction uses one z per sample from a subset drawn uniformly among that
sample's observed subsets, stratified over the batch, and decodes every observed view.
"""

from __future__ import annotations

import itertools

import torch

from ..base import MultimodalVAE
from ..latent import Normal, kl_normal_standard, masked_poe
from ..module import MultimodalModule
from ..parameters import at_fit, document, integer, options, store_params
from ..posteriors import Diagonal, Encoding, Product, SubsetMixture

__all__ = ["MoPoE"]

PRIOR_EXPERT = ("none", "full", "all")


class MoPoEModule(MultimodalModule):
    def __init__(self, specs, n_latent, view_weights, beta, prior_expert, subsets):
        super().__init__(specs, n_latent, view_weights)
        self.encoders = self.build_encoders(n_latent)
        self.beta = beta
        self.prior_expert = prior_expert
        self.register_buffer("subsets", torch.as_tensor(subsets, dtype=torch.bool))  # (S, M)

    def _prior_flags(self, subsets, mask):
        """Whether each (subset, sample) product includes the prior expert, ``(S, B)``."""
        if self.prior_expert == "all":
            return torch.ones(
                subsets.shape[0], mask.shape[0], dtype=torch.bool, device=mask.device
            )
        if self.prior_expert == "full":  # only the product of all of a sample's views
            return (subsets[:, None, :] == mask[None]).all(-1)
        return torch.zeros(subsets.shape[0], mask.shape[0], dtype=torch.bool, device=mask.device)

    def encode(self, views, mask):
        """The shared summary is the product of all of a sample's observed views (the
        most informed subset of the mixture; what ``transform`` and ``impute`` use);
        the posterior of Eq. 5.14 is :meth:`proposal`."""
        loc, logvar = self.encode_experts(self.encoders, views, Normal, mask)
        prior = self.prior_expert != "none"
        mu, lv = masked_poe(loc, logvar, mask, prior)  # PoE of all observed views
        return Encoding(shared=Product(Normal, mu, lv), experts=Diagonal(Normal, loc, logvar))

    def _subset_products(self, loc, logvar, mask):
        """PoE of every subset, ``(S, B, D)``, and which subsets each sample has."""
        sub = self.subsets[:, None, :].expand(-1, mask.shape[0], -1)  # (S, B, M)
        valid = (~sub | mask[None]).all(-1)  # A ⊆ observed views, (S, B)
        mu, lv = masked_poe(loc, logvar, sub, self._prior_flags(self.subsets, mask))
        return mu, lv, valid

    def proposal(self, enc, views, mask):
        """The posterior of Eq. 5.14: the uniform mixture of the products of the
        sample's observed subsets."""
        mu, lv, valid = self._subset_products(enc.experts.loc, enc.experts.param, mask)
        if not valid.any(0).all():
            raise ValueError(
                "Some samples observe no complete subset of `subsets` among the views "
                "conditioned on; MoPoE has no posterior for them."
            )
        return SubsetMixture(Diagonal(Normal, mu, lv), valid.transpose(0, 1))

    @staticmethod
    def stratified_choice(valid):
        """One observed subset per sample, one-hot ``(S, B)``, stratified over the batch.

        Sample i (in a random order p_i) takes the quantile u_i = (p_i + U) / B of the
        uniform distribution over its own observed subsets: with complete data every
        subset is used by B / S samples (up to rounding).
        """
        n_valid = valid.sum(0)
        b = valid.shape[1]
        u = (torch.randperm(b, device=valid.device) + torch.rand((), device=valid.device)) / b
        pick = (u * n_valid).long().clamp_max(n_valid - 1)
        rank = torch.cumsum(valid.long(), dim=0) - 1
        return valid & (rank == pick)

    def forward(self, views, mask):
        loc, logvar = self.encode_experts(self.encoders, views, Normal, mask)
        mu, lv, valid = self._subset_products(loc, logvar, mask)
        n_valid = valid.sum(0)
        kl = torch.where(valid, kl_normal_standard(mu, lv), 0.0).sum(0) / n_valid  # exact average
        if mu.shape[0] == 1:
            z_mu, z_lv = mu[0], lv[0]
        else:
            chosen = self.stratified_choice(valid).unsqueeze(-1).to(mu.dtype)  # (S, B, 1)
            z_mu, z_lv = (chosen * mu).sum(0), (chosen * lv).sum(0)
        z = Normal.rsample(z_mu, z_lv)
        rec = self.reconstruction(views, mask, z)
        loss = -(rec - self.beta * kl)
        return {"loss": loss, "rec": -rec, "kl": kl}

    def elbo(self, views, mask):
        """Eq. 5.15 with beta = 1, the reconstruction averaged over all valid subsets."""
        loc, logvar = self.encode_experts(self.encoders, views, Normal, mask)
        mu, lv, valid = self._subset_products(loc, logvar, mask)
        z = Normal.rsample(mu, lv)  # one draw per subset, (S, B, D)
        rec = self.reconstruction(views, mask, z, weighted=False)  # (S, B)
        terms = torch.where(valid, rec - kl_normal_standard(mu, lv), 0.0)
        return terms.sum(0) / valid.sum(0)


class MoPoE(MultimodalVAE):
    """Mixture-of-products-of-experts VAE (Sutter, Daunhawer & Vogt, 2021).

    Parameters
    ----------
    n_latent : int, default=16
        Size of the shared latent ``z``.
    beta : float, default=1.0
        Weight of the KL term (the paper used 2.5 on PolyMNIST).
    prior_expert : {"none", "full", "all"}, default="none"
        Include the prior N(0, I) as an expert in no product (the paper), only in the
        product of all of a sample's observed views (the authors' code), or in all.
    subsets : list of tuple of int, default=None
        The subsets A of views in the mixture; None uses every non-empty subset
        (2^M - 1). Restrict it for many views. A sample's mixture uses the listed
        subsets that contain only observed views; each sample needs at least one.
    %(common)s

    %(fitted)s

    Notes
    -----
    ``transform`` returns the product of experts of all observed views.

    References
    ----------
    T. M. Sutter, I. Daunhawer and J. E. Vogt. Generalized multimodal ELBO. ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import MoPoE, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> MoPoE(n_latent=2, max_epochs=2, random_state=0).fit(X).transform(X).shape
    (64, 2)
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_latent": integer(1),
        "prior_expert": options(*PRIOR_EXPERT),
        "subsets": at_fit("None or a list of tuples of view indices"),
    }

    def __init__(
        self,
        n_latent=16,
        *,
        beta=1.0,
        prior_expert="none",
        subsets=None,
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

    def _subset_matrix(self, n_views):
        if self.subsets is None:
            combos = [
                c for k in range(1, n_views + 1) for c in itertools.combinations(range(n_views), k)
            ]
        else:
            combos = [tuple(sorted(set(int(i) for i in s))) for s in self.subsets]
            for c in combos:
                if not c or c[0] < 0 or c[-1] >= n_views:
                    raise ValueError(
                        f"subsets must be non-empty tuples of view indices in [0, {n_views}); "
                        f"got {self.subsets!r}."
                    )
        matrix = [[m in c for m in range(n_views)] for c in dict.fromkeys(combos)]
        return matrix

    def _build_module(self, specs):
        return MoPoEModule(
            specs,
            self.n_latent,
            self._view_weights(len(specs)),
            beta=float(self.beta),
            prior_expert=self.prior_expert,
            subsets=self._subset_matrix(len(specs)),
        )

    def _validate_input(self, X, reset):
        arrays, mask, layout = super()._validate_input(X, reset)
        if self.subsets is not None:
            subsets = torch.as_tensor(self._subset_matrix(len(arrays))).numpy()
            covered = (~subsets[:, None, :] | mask[None]).all(-1).any(0)
            if not covered.all():
                rows = (~covered).nonzero()[0][:10].tolist()
                raise ValueError(
                    f"Row(s) {rows} observe no complete subset of `subsets`; every sample "
                    "needs one."
                )
        return arrays, mask, layout


document(MoPoE)
