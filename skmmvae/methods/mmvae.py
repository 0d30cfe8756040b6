"""MMVAE: multimodal VAE with a mixture-of-experts posterior (Shi et al., 2019).

The joint posterior is the uniform mixture of the observed views' experts
(thesis Eq. 5.9):

    q(z | X) = (1 / |O|) sum_{m in O} q_m(z | x_m).

Sampling is stratified: K samples from every observed expert, each decoded into
every observed view. The log importance weight of sample z ~ q_r is

    log w = sum_d lambda_d log p(x_d | z) + beta [log p(z) - log q(z | X)],

with the full mixture density in the denominator. The objective is the looser,
stratified bound (1 / |O|) sum_r log (1/K) sum_k w_rk (``"iwae"``), its
doubly reparameterised gradient estimator (``"dreg"``, Tucker et al. 2019, used for
the paper's results), or the per-sample average of log w (``"elbo"``).
"""

from __future__ import annotations

import torch

from ..base import MultimodalVAE
from ..latent import get_family, mixture_log_prob
from ..module import MultimodalModule
from ..objectives import OBJECTIVES, DReG, source_average, stratified_bound
from ..parameters import document, integer, options, store_params
from ..posteriors import Diagonal, Encoding, Mixture

__all__ = ["MMVAE"]


def _dreg_for(module):
    """The DReG helper and the bound of a training step: outside training (the
    validation loss) DReG's value is the IWAE bound, which needs no gradient."""
    if module.objective != "dreg":
        return None, module.objective
    return (DReG(module.beta), "dreg") if module.training else (None, "iwae")


class MMVAEModule(MultimodalModule):
    def __init__(self, specs, n_latent, view_weights, beta, objective, K, family):
        super().__init__(specs, n_latent, view_weights, family=family)
        self.encoders = self.build_encoders(n_latent)
        self.beta = beta
        self.objective = objective
        self.K = K

    def encode(self, views, mask):
        loc, param = self.encode_experts(self.encoders, views, self.family, mask)
        experts = Diagonal(self.family, loc, param)
        return Encoding(shared=Mixture(experts, mask), experts=experts)  # Eq. 5.9

    def log_weights(self, views, mask, beta, weighted, dreg=None):
        """Log importance weights of K samples from every expert, ``(M, K, B)``."""
        fam = self.family
        loc, param = self.encode_experts(self.encoders, views, fam, mask)
        z = fam.rsample(loc, param, self.K).transpose(0, 1)  # (M, K, B, D)
        if dreg is None:
            log_q = mixture_log_prob(z, fam, loc, param, mask)  # mixture density, Eq. 3.51
        else:  # DReG: reweighted draws, stopped parameters inside log q
            z, log_q = dreg.mixture(z, fam, loc, param, mask)
        log_prior = fam.log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
        rec = self.reconstruction(views, mask, z, weighted)  # every view from every z
        return rec + beta * (log_prior - log_q), rec, log_q - log_prior

    def forward(self, views, mask):
        dreg, kind = _dreg_for(self)
        log_w, rec, kl = self.log_weights(views, mask, self.beta, True, dreg)
        bound, value = stratified_bound(log_w, mask, kind, dreg)
        return {
            "loss": -(bound if self.training else value),
            "rec": -source_average(rec, mask).detach(),
            "kl": source_average(kl, mask).detach(),
        }

    def elbo(self, views, mask):
        log_w, _, _ = self.log_weights(views, mask, 1.0, False)
        kind = "elbo" if self.objective == "elbo" else "iwae"
        return stratified_bound(log_w, mask, kind)[1]


class MMVAE(MultimodalVAE):
    """Mixture-of-experts multimodal VAE (Shi, Siddharth, Paige & Torr, 2019).

    Parameters
    ----------
    n_latent : int, default=16
        Size of the shared latent ``z``.
    beta : float, default=1.0
        Weight of ``log p(z) - log q(z|X)`` in the log weights (1 in the paper).
    objective : {"elbo", "iwae", "dreg"}, default="elbo"
        ``"elbo"``: average of the log weights (cheap, K=1 suffices); ``"iwae"``:
        stratified importance-weighted bound with K samples per expert; ``"dreg"``:
        the same bound with the doubly reparameterised gradient of Tucker et al.
        (the paper used DReG with K=30), extended to the mixture density and to
        ``beta != 1`` so that its expectation is the ``"iwae"`` gradient (see
        :class:`skmmvae.objectives.DReG`; the authors' estimator is biased with two
        or more observed views). Lower variance for the encoders at large K.
    K : int, default=1
        Samples per observed expert.
    posterior : {"normal", "laplace"}, default="normal"
        Family of the experts and the prior. ``"laplace"`` uses MMVAE's softmax
        scale parameterisation and a Laplace(0, 1) prior.
    %(common)s

    %(fitted)s

    Notes
    -----
    ``transform`` returns the mean of the mixture of the observed views' experts.
    :meth:`score` reports the importance-weighted bound with K samples (the ELBO for
    ``objective="elbo"``).

    References
    ----------
    Y. Shi, N. Siddharth, B. Paige and P. Torr. Variational mixture-of-experts
    autoencoders for multi-modal deep generative models. NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import MMVAE, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> MMVAE(n_latent=2, max_epochs=2, random_state=0).fit(X).transform(X).shape
    (64, 2)
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_latent": integer(1),
        "objective": options(*OBJECTIVES),
        "K": integer(1),
        "posterior": options("normal", "laplace"),
    }

    def __init__(
        self,
        n_latent=16,
        *,
        beta=1.0,
        objective="elbo",
        K=1,
        posterior="normal",
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
        return MMVAEModule(
            specs,
            self.n_latent,
            self._view_weights(len(specs)),
            beta=float(self.beta),
            objective=self.objective,
            K=int(self.K),
            family=get_family(self.posterior),
        )


document(MMVAE)
