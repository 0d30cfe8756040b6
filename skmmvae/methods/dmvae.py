"""DMVAE: self-supervised disentanglement of shared and modality-specific factors
(Daunhawer, Sutter, Marcinkevics & Vogt, GCPR 2020).

A shared code c (the masked product of the views' shared experts) and a private
code s_m per view. The objective (paper Eq. 4, as a loss) is

    L = - sum_m lambda_m E log p(x_m | s_m, c_bar) + a_t sum_m beta_m KL(q(s_m | x_m) || p)
        + gamma InfoNCE(c_full, c_subset) + sum_m delta_m TC(s_m, c),

* the modality-specific VAEs take c as a context vector (Eq. 1);
* InfoNCE (Eq. 5) contrasts the product over all observed views with the product
  over a random subset of the same sample (a lower bound on I(x; c));
* TC(s_m, c) = KL(q(s_m, c) || q(s_m) q(c)) is estimated with the density-ratio trick
  (FactorVAE): a discriminator per view tells joint pairs (s_m, c) from pairs with
  s_m permuted over the batch, trained with its own optimizer.

The paper's training tricks are parameters: a random disjoint split of the observed
views per sample, each view reconstructed with the product mean of its own half
(simulated missing views); c detached before the decoders and discriminators, so the
shared heads learn from InfoNCE alone. There is no KL on c, so unconditional
generation samples c from a Gaussian mixture fitted to training codes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import MultimodalVAE
from ..latent import Normal, kl_normal_standard, masked_poe
from ..module import MultimodalModule
from ..objectives import contrast
from ..parameters import (
    BOOLEAN,
    PER_VIEW_WEIGHTS,
    document,
    integer,
    options,
    per_view_values,
    real,
    store_params,
)
from ..posteriors import Diagonal, Encoding, Product

__all__ = ["DMVAE"]


class StackedLinear(nn.Module):
    """``M`` independent linear layers applied at once: input ``(M, B, i)``, output
    ``(M, B, o)``, one batched matrix product (each layer initialised as ``nn.Linear``)."""

    def __init__(self, n, in_features, out_features):
        super().__init__()
        layers = [nn.Linear(in_features, out_features) for _ in range(n)]
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))

    def forward(self, x):
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


class TCDiscriminators(nn.Module):
    """One discriminator of (s, c) pairs per view (branches of two layers for ``s`` and
    ``c``, then a joint MLP with 2 logits), all evaluated in one pass: each layer's
    weights for the ``M`` views are stacked (:class:`StackedLinear`), so the
    discriminators of every view cost one batched matrix product per layer instead of
    ``M`` small ones. ``forward(s, c)``: ``(M, B, Ds)``, ``(M, B, Dc)`` -> logits
    ``(M, B, 2)``."""

    def __init__(self, n_views, s_dim, c_dim, hidden):
        super().__init__()
        self.s1, self.s2 = (
            StackedLinear(n_views, s_dim, hidden),
            StackedLinear(n_views, hidden, hidden),
        )
        self.c1, self.c2 = (
            StackedLinear(n_views, c_dim, hidden),
            StackedLinear(n_views, hidden, hidden),
        )
        self.j1, self.j2 = (
            StackedLinear(n_views, 2 * hidden, hidden),
            StackedLinear(n_views, hidden, 2),
        )

    def forward(self, s, c):
        def act(x):
            return F.leaky_relu(x, 0.2)

        hs = act(self.s2(act(self.s1(s))))
        hc = act(self.c2(act(self.c1(c))))
        return self.j2(act(self.j1(torch.cat([hs, hc], dim=-1))))


def tc_estimate(logits):
    """Density-ratio estimate of TC per sample: log D(joint) - log D(product) = l0 - l1
    (``logits`` of shape ``(..., 2)``)."""
    return logits[..., 0] - logits[..., 1]


def discriminator_loss(logits_joint, logits_perm):
    """Cross-entropy of class 0 for joint pairs and class 1 for permuted pairs, per pair."""
    zeros = torch.zeros(len(logits_joint), dtype=torch.long, device=logits_joint.device)
    return 0.5 * (
        F.cross_entropy(logits_joint, zeros, reduction="none")
        + F.cross_entropy(logits_perm, zeros + 1, reduction="none")
    )


class DMVAEModule(MultimodalModule):
    def __init__(
        self,
        specs,
        n_shared,
        n_private,
        view_weights,
        beta,
        gamma,
        delta,
        temperature,
        random_split,
        detach_shared,
        prior_expert,
        kl_warmup_epochs,
        discriminator_hidden,
        discriminator_lr,
        discriminator_steps,
        tc_input,
    ):
        super().__init__(
            specs,
            n_shared,
            view_weights,
            decoder_dim=n_shared + n_private,
            kl_warmup_epochs=kl_warmup_epochs,
        )
        self.n_private = n_private
        self.shared_encoders = self.build_encoders(n_shared, role="shared")
        self.private_encoders = self.build_encoders(n_private, role="private")
        self.discriminators = TCDiscriminators(
            len(specs), n_private, n_shared, discriminator_hidden
        )
        self.register_buffer("beta", torch.as_tensor(beta, dtype=torch.float32))  # per view
        self.register_buffer("delta", torch.as_tensor(delta, dtype=torch.float32))  # per view
        self.gamma = gamma
        self.temperature = temperature
        self.random_split = random_split
        self.detach_shared = detach_shared
        self.prior_expert = prior_expert
        self.discriminator_lr = discriminator_lr
        self.auxiliary_steps = discriminator_steps
        self.tc_input = tc_input
        self._pairs, self._pair_uses = None, 0

    auxiliary_name = "discriminator"

    def log_prior(self, z):
        raise ValueError(
            "DMVAE has no prior on the shared code c (no KL term; sample() uses the ex-post "
            "mixture prior_sampler_), so its joint log-likelihood is not defined."
        )

    def auxiliary_parameters(self):
        return self.discriminators.parameters()

    def make_auxiliary_optimizer(self, params):
        return torch.optim.Adam(params, lr=self.discriminator_lr, betas=(0.5, 0.9))

    def encode(self, views, mask):
        loc, logvar = self.encode_experts(self.shared_encoders, views, Normal, mask)
        s_loc, s_logvar = self.encode_experts(self.private_encoders, views, Normal, mask)
        mu, lv = masked_poe(loc, logvar, mask, self.prior_expert)
        return Encoding(
            shared=Product(Normal, mu, lv),
            experts=Diagonal(Normal, loc, logvar),
            private=Diagonal(Normal, s_loc, s_logvar),
        )

    def _halves(self, mask):
        """Random disjoint split A / B of every sample's observed views, ``(B, M)`` each."""
        in_a = (torch.rand(mask.shape, device=mask.device) < 0.5) & mask
        return in_a, mask & ~in_a

    def info_nce(self, enc, mask, keep=None):
        """InfoNCE loss between the product of all observed views and the product of a
        subset of them, per sample (Eq. 5): the views in ``keep`` (bool, ``(M,)``),
        by default a random subset with at least one view, one per batch."""
        if keep is None:
            keep = torch.rand(self.n_views, device=mask.device) < 0.5
            keep[torch.randint(self.n_views, (1,), device=mask.device)] = True
        subset = mask & keep
        valid = subset.any(-1)
        loc, logvar = enc.experts.loc, enc.experts.param
        c_full = Normal.rsample(enc.shared.loc, enc.shared.param)
        c_sub = Normal.rsample(*masked_poe(loc, logvar, subset, self.prior_expert))
        both = contrast(c_full, c_sub, valid, self.temperature)
        both = both + contrast(c_sub, c_full, valid, self.temperature)
        return -0.5 * both

    def _context(self, enc, mask, split):
        """The shared code each view is decoded with: the product mean of its half."""
        loc, logvar = enc.experts.loc, enc.experts.param
        if not split:
            c_bar = enc.shared.loc.expand(self.n_views, -1, -1)
            return c_bar, (c_bar, enc.shared.param.expand(self.n_views, -1, -1))
        a, b = self._halves(mask)
        mu_a, lv_a = masked_poe(loc, logvar, a, self.prior_expert)
        mu_b, lv_b = masked_poe(loc, logvar, b, self.prior_expert)
        in_a = a.transpose(0, 1).unsqueeze(-1)  # (M, B, 1)
        c_bar = torch.where(in_a, mu_a, mu_b)  # (M, B, D)
        lv_bar = torch.where(in_a, lv_a, lv_b)
        return c_bar, (c_bar, lv_bar)

    def forward(self, views, mask):
        enc = self.encode(views, mask)
        c_bar, (c_mu, c_lv) = self._context(enc, mask, self.random_split and self.training)
        if self.detach_shared:
            c_bar, c_mu, c_lv = c_bar.detach(), c_mu.detach(), c_lv.detach()
        s = Normal.rsample(enc.private.loc, enc.private.param)  # (M, B, Ds)
        inputs = list(torch.cat([c_bar, s], dim=-1))
        rec = self.reconstruction(views, mask, inputs)
        observed = mask.transpose(0, 1)
        kl_s = kl_normal_standard(enc.private.loc, enc.private.param)  # (M, B)
        kl = (torch.where(observed, kl_s, 0.0) * self.beta.unsqueeze(-1)).sum(0)
        loss = -rec + self.kl_weight * kl
        out = {"rec": -rec.detach(), "kl": kl.detach()}
        if self.gamma:
            nce = self.info_nce(enc, mask)
            loss = loss + self.gamma * nce
            out["infonce"] = nce.detach()
        if self.delta.any():
            if self.tc_input == "mean":  # the posterior means of both codes
                c, s_tc = c_mu, enc.private.loc
            else:  # draws of the contexts and the private codes (the paper)
                c, s_tc = Normal.rsample(c_mu, c_lv), s
            logits = self.discriminators(s_tc, c)  # (M, B, 2): every view's at once
            tc = (self.delta[:, None] * torch.where(observed, tc_estimate(logits), 0.0)).sum(0)
            loss = loss + tc
            out["tc"] = tc.detach()
            self._pairs = (s_tc.detach(), c.detach(), observed) if self.training else None
            self._pair_uses = 0
        return {"loss": loss, **out}

    def auxiliary_loss(self):
        """Discriminator loss on the pairs of the last training forward (detached),
        each view's private codes permuted over its observed rows afresh; the mean
        over a view's observed rows, summed over the views with ``delta_m > 0``."""
        if self._pairs is None:
            return torch.zeros((), device=self.beta.device, requires_grad=True)
        s, c, observed = self._pairs
        n_views, n = observed.shape
        perm = torch.arange(n, device=s.device).repeat(n_views, 1)  # (M, B)
        active = torch.zeros(n_views, dtype=torch.bool, device=s.device)
        for m in range(n_views):
            rows = observed[m].nonzero().squeeze(-1)
            if self.delta[m] and len(rows) >= 2:
                perm[m, rows] = rows[torch.randperm(len(rows), device=s.device)]
                active[m] = True
        self._pair_uses += 1
        if self._pair_uses >= self.auxiliary_steps:
            self._pairs = None  # used up: nothing of the batch stays in the fitted model
        if not active.any():  # no view with two observed rows in this batch
            return torch.zeros((), device=s.device, requires_grad=True)
        s_perm = torch.gather(s, 1, perm.unsqueeze(-1).expand_as(s))
        logits = self.discriminators(torch.cat([s, s_perm], 1), torch.cat([c, c], 1))
        per_pair = discriminator_loss(logits[:, :n].reshape(-1, 2), logits[:, n:].reshape(-1, 2))
        weight = (observed & active[:, None]).to(per_pair.dtype)  # (M, B)
        per_view = (per_pair.reshape(n_views, n) * weight).sum(1) / weight.sum(1).clamp_min(1)
        return per_view.sum()

    def elbo(self, views, mask):
        """The modality-specific ELBOs with the full product mean as context (Eq. 1)."""
        enc = self.encode(views, mask)
        s = Normal.rsample(enc.private.loc, enc.private.param)
        c = enc.shared.loc.expand(self.n_views, -1, -1)
        rec = self.reconstruction(views, mask, list(torch.cat([c, s], -1)), weighted=False)
        kl_s = kl_normal_standard(enc.private.loc, enc.private.param)
        return rec - torch.where(mask.transpose(0, 1), kl_s, 0.0).sum(0)


class DMVAE(MultimodalVAE):
    """Disentangling multimodal VAE (Daunhawer, Sutter, Marcinkevics & Vogt, 2020).

    Parameters
    ----------
    n_shared : int, default=16
        Size of the shared code ``c``.
    n_private : int, default=16
        Size of each view's private code ``s_m``.
    beta : float or list of float, default=1.0
        Weight of each view's private KL (the paper: 10-100).
    gamma : float, default=1.0
        Weight of the InfoNCE term that trains the shared code (the paper: 100-1000).
    delta : float or list of float, default=1.0
        Weight of each view's total-correlation term TC(s_m, c) (0 disables it).
    temperature : float, default=1.0
        Temperature of the cosine affinity in InfoNCE.
    random_split : bool, default=True
        Split every sample's observed views at random into two disjoint halves and
        decode each view with the product of its own half (simulated missing views).
    detach_shared : bool, default=True
        Detach ``c`` before the decoders and the discriminators, so the shared heads
        learn from InfoNCE alone (the paper's setting).
    prior_expert : bool, default=False
        Include N(0, I) in the products of experts (off in the paper).
    kl_warmup_epochs : float, default=0
        Linear warm-up of the private KLs.
    discriminator_hidden : int, default=256
        Width of the TC discriminators (the paper: 1000).
    discriminator_lr : float, default=1e-3
        Learning rate of the discriminators' Adam (betas 0.5, 0.9; the paper: 1e-4).
    discriminator_steps : int, default=5
        Discriminator updates per training step (on the step's detached pairs, freshly
        permuted each time; the paper: 1, with batches of 1024 for 300 epochs).
    tc_input : {"mean", "sample"}, default="mean"
        What the discriminators see: the posterior means of ``s_m`` and of the context
        ``c`` (default), or reparameterised draws of both (``"sample"``, the paper).
        With draws, the encoder can lower the estimate by inflating the posterior
        noise of ``s_m``, which erases the private class along with the shared one
        (see Notes); on means it has to remove the shared information itself.
    prior_sampler : {"gmm"}, default="gmm"
        ``c`` has no prior: ``sample`` draws it from a Gaussian mixture fitted to the
        training codes (``n_prior_components``, the paper: 100) and ``s_m`` from N(0, I).
    %(common)s

    %(fitted)s

    Notes
    -----
    ``transform`` returns ``[c, s_0, ..., s_{M-1}]``: the product mean of the observed
    views and each view's private mean (0 for a missing view). ``history_`` records
    ``train_infonce``, ``train_tc`` and ``train_discriminator``. The discriminators
    and their optimizer are part of the fitted state (pickling, ``partial_fit`` and
    ``warm_start`` continue them). InfoNCE contrasts the two products of each sample
    with the other samples' products (cosine affinity), averaged over both directions.

    The defaults of the discriminators differ from the paper's (which trained 300
    epochs at batch 1024). On ``make_shared_private`` (600 samples, 2 views, 25
    epochs, ``beta=0.05``, 3 seeds) the paper's setting (draws, one step at 1e-4)
    barely trains the discriminators, and the adversarial gradient then adds
    shared-class structure to ``s_m`` instead of removing it; draws with a trained
    discriminator (5 steps at 1e-3) take the shared class from sampled ``s_m`` to
    chance, but the private class too (0.89 -> 0.46 at ``delta=2``). On means with
    5 steps at 1e-3, ``delta=2`` takes the shared class in sampled ``s_m`` from
    0.58-0.82 to 0.42-0.48 (chance 0.25) while the private class stays at
    0.71-0.85 (0.83-0.96 without the term). See ``benchmarks/results/``.

    References
    ----------
    I. Daunhawer, T. M. Sutter, R. Marcinkevics and J. E. Vogt. Self-supervised
    disentanglement of modality-specific and shared factors improves multimodal
    generative models. GCPR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import DMVAE, MultiView
    >>> rng = np.random.RandomState(0)
    >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3)])
    >>> DMVAE(n_shared=2, n_private=2, max_epochs=2, random_state=0).fit_transform(X).shape
    (64, 6)
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_shared": integer(1),
        "n_private": integer(1),
        "beta": PER_VIEW_WEIGHTS,
        "gamma": real(0),
        "delta": PER_VIEW_WEIGHTS,
        "temperature": real(0, closed="neither"),
        "random_split": BOOLEAN,
        "detach_shared": BOOLEAN,
        "prior_expert": BOOLEAN,
        "kl_warmup_epochs": real(0),
        "discriminator_hidden": integer(1),
        "discriminator_lr": real(0, closed="neither"),
        "discriminator_steps": integer(1),
        "tc_input": options("mean", "sample"),
        "prior_sampler": options("gmm"),
    }

    has_private_latents = True
    tractable_likelihood = "conditional"  # no prior density of the shared code c
    _prior_samplers = ("gmm",)

    def __init__(
        self,
        n_shared=16,
        n_private=16,
        *,
        beta=1.0,
        gamma=1.0,
        delta=1.0,
        temperature=1.0,
        random_split=True,
        detach_shared=True,
        prior_expert=False,
        kl_warmup_epochs=0,
        discriminator_hidden=256,
        discriminator_lr=1e-3,
        discriminator_steps=5,
        tc_input="mean",
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
        n_views = len(specs)
        return DMVAEModule(
            specs,
            self.n_shared,
            self.n_private,
            self._view_weights(n_views),
            beta=per_view_values(self.beta, n_views, "beta"),
            gamma=float(self.gamma),
            delta=per_view_values(self.delta, n_views, "delta"),
            temperature=float(self.temperature),
            random_split=bool(self.random_split),
            detach_shared=bool(self.detach_shared),
            prior_expert=bool(self.prior_expert),
            kl_warmup_epochs=self.kl_warmup_epochs,
            discriminator_hidden=int(self.discriminator_hidden),
            discriminator_lr=float(self.discriminator_lr),
            discriminator_steps=int(self.discriminator_steps),
            tc_input=self.tc_input,
        )


document(DMVAE)
