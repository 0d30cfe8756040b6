"""IDMVAE: information-disentangled multimodal VAE (Zhang, Shen & Wang).

MMVAE+ plus two mutual-information regularisers and optional latent diffusion
priors (paper Eq. 2):

    L = L_MMVAE+ + lambda1 L_CrossMI + lambda2 L_GenAug (+ diffusion_weight L_diff).

* L_CrossMI (Sec. 2.2) maximises a contrastive estimate (Eq. 1) of the mutual
  information between the shared posterior means of every observed pair of views.
* L_GenAug (Sec. 2.3) is a cycle consistency on generated views: decode
  ``x+ = dec_m(z_m, w'_m)`` with ``w'_m`` the private latent of another sample (a roll
  of the batch), re-encode it and match ``q(w | x+)`` to ``w'_m``; likewise swap
  ``z``. The match is contrastive (``genaug="contrast"``) or squared distance of
  means (``"lsq"``, App. A).

What ``lambda1`` and ``lambda2`` mean (``normalization``). The paper writes

    L_CrossMI = -2 / (M (M - 1)) sum_{m<n} Contrast(z_m, z_n),
    L_GenAug  = 1 / (2M) sum_m (L_z_m + L_w_m),

means over pairs and views (``"paper"``). The authors' code, whose runs produced
the paper's numbers and tuned its lambdas (80 and 20 on PolyMNIST-Quadrant, 10 and
0.001 on TCGA), sums instead:

    L_CrossMI = -1 / (M - 1) sum_{m != n} Contrast(z_m, z_n),
    L_GenAug  = sum_m 1/2 (L_z_m + L_w_m),

both M times the paper's (``"authors"``, the default, so that ``lambda1=80`` means
the paper's 80). Contrast is Eq. 1 with the other view's batch samples as
negatives, symmetrised over the two directions (``negatives="cross"``), or the
NT-Xent loss of the authors' code, whose candidates also include the same view's
other samples (``"all"``, 2B - 1 candidates).

Diffusion priors (Eq. 3): latent DDPMs for ``z`` and each ``w_m`` are fitted to the
posterior means jointly with the model, their loss added with weight
``diffusion_weight`` (gradients reach the encoders); ``sample`` and
cross-generation draw from them. The Gaussian prior term stays in the MMVAE+
bound, as in the authors' code: dropping it (Eq. 3 read literally, with the
simplified DDPM loss on the means standing in for ``-log p(z)``) leaves nothing
that penalises the posterior scales, so the entropy term widens the posteriors of
the latents the decoder ignores without limit (the loss diverges to minus
infinity). The simplified loss scored on draws would not bound them either: it is
at most one per dimension however wide the draws, while the entropy grows with
their log scale. Our DDPM (:class:`~skmmvae.diffusion.LatentDDPM`) predicts the
noise (epsilon parameterisation) under a cosine schedule of 1000 steps, with a
100-step respaced ancestral sampler; the authors' latent DDPM predicts the clean
latent (x0 parameterisation) under a sigmoid schedule, also 1000 / 100 steps. Both
minimise the simplified (reweighted) DDPM loss, which is not itself a bound on
``-log p(z)``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..diffusion import LatentDDPM
from ..objectives import contrast, nt_xent
from ..parameters import BOOLEAN, document, integer, options, real, store_params
from .mmvaeplus import MMVAEPlus, MMVAEPlusModule

__all__ = ["IDMVAE"]

PRESETS = {
    "polymnist-quadrant": {
        "beta": 2.5,
        "lambda1": 80.0,
        "lambda2": 20.0,
        "negatives": "all",
        "temperature": 1.0,
        "lr": 5e-4,
        "batch_size": 128,
        "n_shared": 32,
        "n_private": 128,
        "modalities": "laplace",
    },
    "tcga": {"n_shared": 16, "n_private": 32, "lambda1": 10.0, "lambda2": 0.001},
}


class IDMVAEModule(MMVAEPlusModule):
    def __init__(
        self,
        *,
        lambda1,
        lambda2,
        temperature,
        negatives,
        normalization,
        genaug,
        diffusion_prior,
        diffusion_weight,
        diffusion_steps,
        diffusion_sampling_steps,
        **mmvae_plus,
    ):
        super().__init__(**mmvae_plus)
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.temperature = temperature
        self.negatives = negatives
        self.normalization = normalization
        self.genaug = genaug
        self.diffusion_prior = diffusion_prior
        self.diffusion_weight = diffusion_weight
        if diffusion_prior:

            def ddpm(dim):
                return LatentDDPM(
                    dim, n_steps=diffusion_steps, sampling_steps=diffusion_sampling_steps
                )

            self.prior_z = ddpm(self.n_latent)
            self.prior_w = nn.ModuleList(ddpm(self.n_private) for _ in range(self.n_views))

    # ---- Sec. 2.2: cross-view mutual information ----------------------------------------
    def _contrast(self, a, b, valid):
        """Contrast of paired representations per sample (<= 0): Eq. 1 symmetrised over
        the two directions (``negatives="cross"``) or NT-Xent (``"all"``)."""
        if self.negatives == "all":
            return nt_xent(a, b, valid, self.temperature)
        t = self.temperature
        return 0.5 * (contrast(a, b, valid, t) + contrast(b, a, valid, t))

    def cross_mi(self, z_means, mask):
        """L_CrossMI per sample, over the observed pairs of views.

        ``"paper"``: ``-2 / (M (M - 1)) sum_{m<n} Contrast(z_m, z_n)`` (Sec. 2.2), the
        mean over the sample's observed pairs. ``"authors"``: ``-1 / (M - 1)
        sum_{m != n} Contrast(z_m, z_n)``, M times the paper's with every view observed.
        """
        total = torch.zeros(mask.shape[0], device=mask.device)
        pairs = torch.zeros_like(total)
        for m in range(self.n_views):
            for n in range(m + 1, self.n_views):
                both = mask[:, m] & mask[:, n]
                total = total + self._contrast(z_means[m], z_means[n], both)
                pairs = pairs + both.to(total.dtype)
        if self.normalization == "authors":
            return -2.0 * total / max(self.n_views - 1, 1)
        return -total / pairs.clamp_min(1.0)

    # ---- Sec. 2.3: generative augmentation -----------------------------------------------
    def _match(self, estimate, target, valid):
        if self.genaug == "contrast":
            if self.negatives == "all":
                return -nt_xent(estimate, target, valid, self.temperature)
            return -contrast(estimate, target, valid, self.temperature)
        return torch.where(valid, ((estimate - target) ** 2).sum(-1), 0.0)

    def gen_aug(self, views, mask, enc, z, w):
        """L_GenAug per sample: ``1/2 (L_z_m + L_w_m)`` summed over the views whose
        sample and partner are observed (``"authors"``), or averaged over them
        (``"paper"``: ``1 / (2M) sum_m``)."""
        total = torch.zeros(mask.shape[0], device=mask.device)
        count = torch.zeros_like(total)
        for m in range(self.n_views):
            obs = mask[:, m]
            # partners come from the previous sample of the batch; pairs that involve a
            # missing view are excluded (`valid`), so their (zeroed) latents never count
            w_m = torch.where(obs[:, None], w[m], 0.0)
            z_m = torch.where(obs[:, None], z[m], 0.0)
            w_other, z_other = w_m.roll(1, 0), z_m.roll(1, 0)
            mu_w_other = enc.private.loc[m].roll(1, 0)
            mu_z_other = enc.experts.loc[m].roll(1, 0)
            valid = obs & obs.roll(1, 0)
            # x+ = view m from its z with the partner's w, and from the partner's z with
            # its w: both generated in one decoder call
            latent = torch.cat([torch.cat([z_m, w_other], -1), torch.cat([z_other, w_m], -1)])
            x_w, x_z = self.likelihoods[m].relaxed(self.decoder_output(m, latent)).chunk(2)
            w_again = self.family.from_raw(self.network(self.private_encoders[m], x_w))[0]
            z_again = self.family.from_raw(self.network(self.shared_encoders[m], x_z))[0]
            loss_w = self._match(w_again, mu_w_other, valid)
            loss_z = self._match(z_again, mu_z_other, valid)
            total = total + 0.5 * torch.where(valid, loss_w + loss_z, 0.0)
            count = count + valid.to(total.dtype)
        if self.normalization == "authors":
            return total
        return total / count.clamp_min(1.0)

    # ---- Eq. 3: diffusion priors -----------------------------------------------------------
    def diffusion_terms(self, enc, mask):
        """Per-sample DDPM losses of the observed views' posterior means, averaged."""
        total = torch.zeros(mask.shape[0], device=mask.device)
        for m in range(self.n_views):
            ll = self.prior_z.loss(enc.experts.loc[m]) + self.prior_w[m].loss(enc.private.loc[m])
            total = total + torch.where(mask[:, m], ll, 0.0)
        return total / mask.sum(-1)

    def prior_sample(self, n):
        if self.diffusion_prior:
            return self.prior_z.sample(n)
        return super().prior_sample(n)

    def private_prior_sample(self, m, n):
        if self.diffusion_prior:
            return self.prior_w[m].sample(n)
        return super().private_prior_sample(m, n)

    def log_prior(self, z):
        if self.diffusion_prior:
            raise ValueError(
                "IDMVAE with diffusion_prior=True has no tractable prior density (latent "
                "DDPMs), so its joint log-likelihood cannot be estimated."
            )
        return super().log_prior(z)

    def private_log_prior(self, m, w):
        if self.diffusion_prior:
            self.log_prior(w)  # raises
        return super().private_log_prior(m, w)

    def missing_private(self, m, n):
        if self.diffusion_prior:
            return self.prior_w[m].sample(n)
        return super().missing_private(m, n)

    def forward(self, views, mask):
        enc = self.encode(views, mask)
        loss, logged = self.mmvae_plus_terms(views, mask, enc)
        out = {}
        if self.lambda1:
            out["cross_mi"] = self.cross_mi(enc.experts.loc, mask)
            loss = loss + self.lambda1 * out["cross_mi"]
        if self.lambda2:
            z = self.family.rsample(enc.experts.loc, enc.experts.param)
            w = self.family.rsample(enc.private.loc, enc.private.param)
            out["gen_aug"] = self.gen_aug(views, mask, enc, z, w)
            loss = loss + self.lambda2 * out["gen_aug"]
        if self.diffusion_prior:
            out["diffusion"] = self.diffusion_terms(enc, mask)
            loss = loss + self.diffusion_weight * out["diffusion"]
        return {"loss": loss, **logged, **{k: v.detach() for k, v in out.items()}}


class IDMVAE(MMVAEPlus):
    """Information-disentangled multimodal VAE (Zhang, Shen & Wang).

    MMVAE+ with a cross-view contrastive mutual-information term (``lambda1``), a
    generative-augmentation cycle-consistency term (``lambda2``) and optional latent
    diffusion priors. With ``lambda1=0, lambda2=0, diffusion_prior=False`` it is
    exactly :class:`MMVAEPlus`.

    Parameters
    ----------
    n_shared : int, default=16
        Size of the shared latent ``z``.
    n_private : int, default=16
        Size of each view's private latent ``w_m``.
    lambda1 : float, default=10.0
        Weight of L_CrossMI (the paper: 80 on PolyMNIST-Quadrant, 10 on TCGA).
    lambda2 : float, default=1.0
        Weight of L_GenAug (the paper: 20 on PolyMNIST-Quadrant, 0.001 on TCGA).
    temperature : float, default=1.0
        Temperature of the contrastive affinity ``exp(cos / temperature)`` (1 in the
        authors' code).
    negatives : {"cross", "all"}, default="cross"
        Negatives of the contrastive terms: the other view's batch samples (Eq. 1,
        symmetrised over the two directions; B candidates per anchor), or every
        other sample of both views (NT-Xent, as in the authors' code; 2B - 1
        candidates).
    normalization : {"authors", "paper"}, default="authors"
        How L_CrossMI and L_GenAug are scaled (see the module docstring):
        ``"authors"`` sums over views (CrossMI: ``-1/(M-1) sum_{m != n}``, GenAug:
        ``sum_m``), as the code that tuned the paper's lambdas did; ``"paper"``
        averages (the paper's formulas; M times weaker for the same lambda).
    genaug : {"contrast", "lsq"}, default="contrast"
        Matching in L_GenAug: contrastive (the paper's main results) or squared
        distance of posterior means (App. A).
    diffusion_prior : bool, default=False
        Learn latent DDPM priors for ``z`` and every ``w_m`` jointly with the model, on
        the posterior means; ``sample``, cross-generation and ``impute`` draw from
        them. The Gaussian prior term stays in the bound (it keeps the posterior
        scales bounded), so ``score`` is the bound under the Gaussian prior.
    diffusion_weight : float, default=1.0
        Weight of the DDPM losses, added to the objective.
    diffusion_steps : int, default=1000
        Diffusion steps in training.
    diffusion_sampling_steps : int, default=100
        Steps of the sampler (``sample``, cross-generation).
    beta : float, default=1.0
        Weight of the KL log ratio of MMVAE+ (2.5 in the paper's PolyMNIST runs).
    objective : {"elbo", "iwae", "dreg"}, default="elbo"
    K : int, default=1
    posterior : {"normal", "laplace"}, default="normal"
    private_scale : float, default=1.0
        Cross-generation draws a missing view's ``w`` from N(0, private_scale^2)
        (from the diffusion prior when ``diffusion_prior``).
    %(common)s

    %(fitted)s

    Notes
    -----
    Paper settings are available as presets: ``IDMVAE.from_preset("polymnist-quadrant")``
    (beta 2.5, lambda1 80, lambda2 20, NT-Xent at temperature 1, lr 5e-4, batch 128,
    z 32, w 128, Laplace likelihoods; the authors also trained diffusion priors with
    weight 1: add ``diffusion_prior=True`` for the paper's rows with them) and
    ``IDMVAE.from_preset("tcga")`` (z 16, w 32, lambda1 10, lambda2 0.001). The
    lambdas are on the authors' scale (``normalization="authors"``). ``history_``
    records ``train_cross_mi``, ``train_gen_aug`` and ``train_diffusion`` next to
    ``train_rec`` and ``train_kl``.

    References
    ----------
    Zhang, Shen and Wang. Information-disentangled multimodal VAEs. ICLR 2026.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import IDMVAE, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> IDMVAE(n_shared=2, n_private=2, max_epochs=2, random_state=0).fit_transform(X).shape
    (64, 6)
    """

    _parameter_constraints = {
        **MMVAEPlus._parameter_constraints,
        "lambda1": real(0),
        "lambda2": real(0),
        "temperature": real(0, closed="neither"),
        "negatives": options("cross", "all"),
        "normalization": options("authors", "paper"),
        "genaug": options("contrast", "lsq"),
        "diffusion_prior": BOOLEAN,
        "diffusion_weight": real(0),
        "diffusion_steps": integer(1),
        "diffusion_sampling_steps": integer(1),
    }

    def __init__(
        self,
        n_shared=16,
        n_private=16,
        *,
        lambda1=10.0,
        lambda2=1.0,
        temperature=1.0,
        negatives="cross",
        normalization="authors",
        genaug="contrast",
        diffusion_prior=False,
        diffusion_weight=1.0,
        diffusion_steps=1000,
        diffusion_sampling_steps=100,
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

    PRESETS = PRESETS

    @classmethod
    def from_preset(cls, name, **params):
        """An IDMVAE with the paper's settings for ``name`` (see ``IDMVAE.PRESETS``),
        updated with ``params``."""
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; choose from {sorted(PRESETS)}.")
        return cls(**{**PRESETS[name], **params})

    def _build_module(self, specs):
        if self.diffusion_sampling_steps > self.diffusion_steps:
            raise ValueError("diffusion_sampling_steps must not exceed diffusion_steps.")
        return IDMVAEModule(
            lambda1=float(self.lambda1),
            lambda2=float(self.lambda2),
            temperature=float(self.temperature),
            negatives=self.negatives,
            normalization=self.normalization,
            genaug=self.genaug,
            diffusion_prior=bool(self.diffusion_prior),
            diffusion_weight=float(self.diffusion_weight),
            diffusion_steps=int(self.diffusion_steps),
            diffusion_sampling_steps=int(self.diffusion_sampling_steps),
            **self._module_kwargs(specs),
        )


document(IDMVAE)
