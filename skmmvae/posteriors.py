"""The typed module contract: what a module's ``encode`` returns.

:class:`Encoding` holds the aggregated shared posterior (one small class per
aggregation: :class:`Product`, :class:`Mixture`, :class:`SubsetMixture`,
:class:`ViewMean`), the per-view experts and, for methods with private latents, the
private posteriors. Every posterior offers ``mean``, ``variance``, ``rsample`` and,
where it is tractable, ``log_prob``; the base module's inference (``transform``,
``impute``, likelihoods) reads only these, whatever the method.

Shapes: ``D`` latent dimensions, ``B`` samples, ``M`` views, ``S`` subsets. ``family``
is :class:`~skmmvae.latent.Normal` (``param`` = log-variance) or
:class:`~skmmvae.latent.Laplace` (``param`` = log-scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .latent import Normal, mixture_log_prob, mixture_moments

__all__ = ["Diagonal", "Product", "Mixture", "SubsetMixture", "ViewMean", "Encoding"]


class Diagonal:
    """Independent coordinates, each ``family(loc, param)``; ``loc`` of any shape
    ``(..., D)`` (e.g. ``(M, B, D)`` for the experts of all views)."""

    def __init__(self, family, loc, param):
        self.family, self.loc, self.param = family, loc, param

    @property
    def mean(self):
        return self.family.moments(self.loc, self.param)[0]

    @property
    def variance(self):
        return self.family.moments(self.loc, self.param)[1]

    @property
    def scale(self):
        return self.family.scale(self.loc, self.param)

    def rsample(self, n=None):
        """One reparameterised draw (``n=None``, the shape of ``loc``) or ``n`` of them
        (``(n, *loc.shape)``)."""
        return self.family.rsample(self.loc, self.param, n)

    def log_prob(self, z):
        """Log-density summed over the last axis; ``z`` may have leading axes."""
        return self.family.log_prob(z, self.loc, self.param)


class Product(Diagonal):
    """The product of the observed experts (and the prior expert, where the method
    includes it), itself a diagonal Gaussian: MVAE, PrivateSharedVAE, DMVAE's shared
    code, MoPoE's product of all observed views."""


class _UniformMixture:
    """Uniform mixture over the valid components of each sample: ``components`` is a
    :class:`Diagonal` of shape ``(C, B, D)``, ``valid`` a bool mask ``(B, C)``."""

    def __init__(self, components, valid):
        self.components, self.valid = components, valid

    @property
    def _moments(self):
        c = self.components
        return mixture_moments(c.family, c.loc, c.param, self.valid)

    @property
    def mean(self):
        return self._moments[0]

    @property
    def variance(self):
        return self._moments[1]

    def rsample(self, n=None):
        """A component picked uniformly among the valid ones per draw, then a
        reparameterised draw from it: ``(B, D)``, or ``(n, B, D)``."""
        c, w = self.components, self.valid.float()
        rows = torch.arange(w.shape[0], device=w.device)
        if n is None:
            idx = torch.multinomial(w, 1).squeeze(-1)  # (B,)
        else:
            idx = torch.multinomial(w, n, replacement=True).transpose(0, 1)  # (n, B)
        return c.family.rsample(c.loc[idx, rows], c.param[idx, rows])

    def log_prob(self, z):
        """``log (1/|V|) sum_{j in V} q_j(z)`` over the valid components ``V``."""
        c = self.components
        return mixture_log_prob(z, c.family, c.loc, c.param, self.valid)


class Mixture(_UniformMixture):
    """The uniform mixture of the observed views' experts (MMVAE, MMVAE+, IDMVAE;
    thesis Eq. 5.9): ``components`` are the experts ``(M, B, D)``, ``valid`` the
    mask of observed views ``(B, M)``."""


class SubsetMixture(_UniformMixture):
    """MoPoE's uniform mixture of the products of the sample's observed subsets of
    views (thesis Eq. 5.14): ``components`` are the subset products ``(S, B, D)``,
    ``valid`` ``(B, S)`` says which subsets a sample observes completely."""


class ViewMean:
    """MMVM's shared summary: the average over the observed views of their own
    latents (each view has its own ``z_m``; no joint posterior, so no density)."""

    def __init__(self, experts, observed):
        self.experts, self.observed = experts, observed  # Diagonal (M, B, D), (B, M)

    def _average(self, per_view):
        """Average over the observed views (axis -3 of ``(..., M, B, D)``)."""
        w = self.observed.transpose(0, 1).unsqueeze(-1).to(per_view.dtype)  # (M, B, 1)
        return (w * per_view).sum(-3) / w.sum(0)

    @property
    def mean(self):
        return self._average(self.experts.loc)

    @property
    def variance(self):
        return torch.zeros_like(self.experts.loc[0])

    def rsample(self, n=None):
        """The average of one draw per observed view: ``(B, D)``, or ``(n, B, D)``."""
        return self._average(Normal.rsample(self.experts.loc, self.experts.param, n))

    def log_prob(self, z):
        raise ValueError(
            "MMVM has no joint density: its prior depends on the data (a mixture of the "
            "views' posteriors) and every view has its own latent, so log-likelihoods "
            "cannot be estimated."
        )


@dataclass
class Encoding:
    """What a module's ``encode(views, mask)`` returns.

    Attributes
    ----------
    shared : Product, Mixture, SubsetMixture or ViewMean
        The aggregated shared posterior given the views in ``mask``.
    experts : Diagonal
        Every view's own shared posterior, ``(M, B, D)`` (rows of missing views carry
        no information about the sample).
    private : Diagonal or None
        Every view's private posterior ``q(w_m | x_m)``, ``(M, B, D_w)``; None for
        methods without private latents.
    """

    shared: object
    experts: Diagonal
    private: Diagonal | None = None
