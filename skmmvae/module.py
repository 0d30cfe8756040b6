"""The torch module every method builds on, and the contract between a method and the
rest of the library.

:class:`MultimodalModule` holds the decoders and likelihoods of all views and the
helpers every objective uses (weighted reconstruction, decoding, prior samples,
importance-sampled likelihoods). A method's module adds its encoders and implements
three methods:

* ``encode(views, mask)`` -> :class:`~skmmvae.posteriors.Encoding` (the aggregated
  shared posterior as a :class:`~skmmvae.posteriors.Product`,
  :class:`~skmmvae.posteriors.Mixture`, :class:`~skmmvae.posteriors.SubsetMixture` or
  :class:`~skmmvae.posteriors.ViewMean`; the per-view experts; the private posteriors);
* ``forward(views, mask)`` -> dict of per-sample loss parts ``(B,)``, ``"loss"``
  minimised (every part is logged as ``train_<part>``);
* ``elbo(views, mask)`` -> the per-sample bound that
  :meth:`~skmmvae.base.MultimodalVAE.score` reports.

Everything else is a declared hook with a default, overridden only where a method
differs: the priors (``prior_sample``, ``private_prior_sample``, ``log_prior``,
``private_log_prior``), a missing view's private latent (``missing_private``), the
importance proposal (``proposal``), what the ex-post sampler is fitted to and how
unconditional draws are laid out (``sampler_latents``, ``generate``), the decoder
inputs of ``impute`` (``decoder_inputs``), training progress (``set_progress``), and
auxiliary networks with their own optimizer (``auxiliary_parameters``,
``make_auxiliary_optimizer``, ``auxiliary_loss``, ``auxiliary_steps``,
``auxiliary_name``; e.g. DMVAE's discriminators).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .latent import Normal
from .networks import build_decoder, build_encoder, init_log_variance

__all__ = ["MultimodalModule"]


class MultimodalModule(nn.Module):
    """Decoders, likelihoods and shared helpers of a multimodal VAE.

    Parameters
    ----------
    specs : list of ViewSpec
        The resolved views.
    n_latent : int
        Size of the shared latent ``z``.
    view_weights : sequence of float
        Per-view likelihood weights ``lambda_m``.
    decoder_dim : int, default=None
        Input size of the decoders (``n_latent`` plus any private latent).
    family : Normal or Laplace
        Posterior family of ``z``.
    kl_warmup_epochs : float, default=0
        Linear warm-up of the KL weight from 0 to 1 over this many epochs
        (per batch), during training only.
    """

    n_private = 0  # size of each view's private latent w_m (0: no private latents)
    # Posterior scale at initialisation of the built-in image encoders (arch="resnet",
    # Normal posteriors). With unit scales the first draws are as noisy as the prior,
    # and within the few hundred steps of a CPU run MMVAE+'s and IDMVAE's private
    # latents collapsed (w -> quadrant at chance on the mini PolyMNIST-Quadrant;
    # 0.78 with 0.1, benchmarks/results/mini_settings.md).
    IMAGE_INIT_SCALE = 0.1

    def __init__(
        self,
        specs,
        n_latent,
        view_weights,
        decoder_dim=None,
        family=Normal,
        kl_warmup_epochs=0,
    ):
        super().__init__()
        self.specs = specs
        self.n_views = len(specs)
        self.n_latent = n_latent
        self.family = family
        self.kl_warmup_epochs = kl_warmup_epochs
        self.progress = 0.0
        dim = decoder_dim or n_latent
        self.decoders = nn.ModuleList(build_decoder(s, dim) for s in specs)
        self.likelihoods = nn.ModuleList(s.make_likelihood() for s in specs)
        self.weights = [float(w) for w in view_weights]  # lambda_m

    # ---- helpers shared by every objective ------------------------------------------
    def build_encoders(self, out_dim, role="full"):
        """One encoder per view producing the raw parameters of a ``out_dim`` posterior;
        ``role`` is ``"full"``, ``"shared"`` or ``"private"`` (see
        :func:`~skmmvae.networks.build_encoder`)."""
        encoders = nn.ModuleList(build_encoder(s, 2 * out_dim, role) for s in self.specs)
        if self.family is Normal:
            log_var = 2.0 * math.log(self.IMAGE_INIT_SCALE)
            for spec, encoder in zip(self.specs, encoders):
                if spec.arch == "resnet" and spec.encoder is None:
                    init_log_variance(encoder, out_dim, log_var)
        return encoders

    def encode_experts(self, encoders, views, family, mask=None):
        """Per-view posterior parameters stacked as ``(M, B, D)``.

        Outside autograd (inference) and with ``mask``, the encoder of a view that no
        row of the batch observes is not run (a per-view evaluation encodes one view
        at a time): its slots hold a copy of an observed expert's parameters, finite
        and valid for the family, which every caller masks out. (In training every
        encoder runs, so every parameter takes part in the graph.)"""
        run = [True] * len(views)
        if mask is not None and not torch.is_grad_enabled() and mask.any():
            run = mask.any(0).tolist()
        params = {
            m: family.from_raw(self.network(enc, x))
            for m, (enc, x, r) in enumerate(zip(encoders, views, run))
            if r
        }
        filler = next(iter(params.values()))
        params = [params.get(m, filler) for m in range(len(views))]
        return torch.stack([p[0] for p in params]), torch.stack([p[1] for p in params])

    def set_progress(self, epochs):
        """Training progress in (fractional) epochs; drives the KL warm-up."""
        self.progress = epochs

    @property
    def kl_weight(self):
        if not self.training or not self.kl_warmup_epochs:
            return 1.0
        return min(1.0, (self.progress + 1e-9) / self.kl_warmup_epochs)

    def decoder_output(self, m, latent):
        """Decoder ``m`` applied to ``latent`` of shape ``(*S, B, d)``."""
        lead = latent.shape[:-1]
        out = self.network(self.decoders[m], latent.reshape(-1, latent.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    # ---- precision of the networks --------------------------------------------------
    network_dtype = None  # torch.bfloat16: the layers of encoders and decoders autocast

    def network(self, net, x):
        """``net(x)`` with the layers in ``network_dtype`` (autocast) and the output in
        float32, so that every probabilistic computation around it stays float32."""
        if self.network_dtype is None:
            return net(x)
        with torch.autocast(x.device.type, dtype=self.network_dtype):
            out = net(x)
        return out.float()

    def log_likelihood(self, m, x, latent):
        """``log p(x_m | latent)`` of shape ``(*S, B)``."""
        return self.likelihoods[m].log_prob(self.decoder_output(m, latent), x)

    def reconstruction(self, views, mask, latent, weighted=True):
        """``sum_m mask_m lambda_m log p(x_m | latent_m)`` of shape ``(*S, B)``.

        ``latent`` is one tensor for all views or a list with one per view; views
        outside ``mask`` (which may have leading axes) contribute nothing and send no
        gradient anywhere.
        """
        total = 0.0
        for m, x in enumerate(views):
            lat = latent[m] if isinstance(latent, (list, tuple)) else latent
            ll = self.log_likelihood(m, x, lat)
            if weighted and self.weights[m] != 1.0:
                ll = ll * self.weights[m]
            total = total + torch.where(mask[..., m], ll, 0.0)
        return total

    @property
    def has_private(self):
        return self.n_private > 0

    def _standard_sample(self, n, dim):
        zeros = torch.zeros(n, dim, device=next(self.parameters()).device)
        return self.family.rsample(zeros, zeros)

    def prior_sample(self, n):
        """``n`` draws of ``z`` from the prior, shape ``(n, n_latent)``."""
        return self._standard_sample(n, self.n_latent)

    def private_prior_sample(self, m, n):
        """``n`` draws of ``w_m`` from its prior, shape ``(n, n_private)``."""
        return self._standard_sample(n, self.n_private)

    def missing_private(self, m, n):
        """``w_m`` for samples whose view ``m`` is missing (impute, reconstruct): the
        prior mean; methods may draw from their prior instead."""
        return torch.zeros(n, self.n_private, device=next(self.parameters()).device)

    # ---- the interface base.MultimodalVAE drives ------------------------------------
    def encode(self, views, mask):
        """The posteriors given the views in ``mask``: an
        :class:`~skmmvae.posteriors.Encoding` (aggregated shared posterior, per-view
        experts, private posteriors or None)."""
        raise NotImplementedError  # abstract: every method defines its aggregation

    def forward(self, views, mask):
        """Training objective: dict of per-sample parts ``(B,)``; ``"loss"`` is minimised."""
        raise NotImplementedError  # abstract

    def elbo(self, views, mask):
        """Per-sample evidence lower bound with beta = 1 and unit view weights."""
        raise NotImplementedError  # abstract

    def latents(self, views, mask, block, sample):
        """The ``transform`` output block for a batch, ``(B, n_out)``.

        Missing views get the prior mean (0) in their per-view and private blocks.
        """
        enc = self.encode(views, mask)
        observed = mask.transpose(0, 1).unsqueeze(-1)  # (M, B, 1)

        def per_view(q):
            w = q.rsample() if sample else q.loc
            w = torch.where(observed, w, 0.0)
            return w.transpose(0, 1).reshape(w.shape[1], -1)

        parts = []
        if block in ("all", "shared"):
            parts.append(enc.shared.rsample() if sample else enc.shared.mean)
        if block == "per_view":
            parts.append(per_view(enc.experts))
        if block in ("all", "private") and self.has_private:
            parts.append(per_view(enc.private))
        if not parts:
            raise ValueError(f"{type(self).__name__} has no {block!r} latents.")
        return torch.cat(parts, dim=-1)

    def posterior(self, views, mask):
        """All posterior parameters as named ``(B, ...)`` tensors (see ``encode``)."""
        enc = self.encode(views, mask)
        out = {
            "shared_mean": enc.shared.mean,
            "shared_std": enc.shared.variance.sqrt(),
            "view_loc": enc.experts.loc.transpose(0, 1),
            "view_scale": enc.experts.scale.transpose(0, 1),
        }
        if self.has_private:
            out["private_loc"] = enc.private.loc.transpose(0, 1)
            out["private_scale"] = enc.private.scale.transpose(0, 1)
        return out

    def decoder_inputs(self, views, mask):
        """Per-view decoder inputs from the posterior means (for impute/reconstruct).

        The shared part aggregates the observed views; a view's private part is its
        own posterior mean when observed, else :meth:`missing_private`.
        """
        enc = self.encode(views, mask)
        z = enc.shared.mean
        if not self.has_private:
            return [z] * self.n_views
        inputs = []
        for m in range(self.n_views):
            missing = self.missing_private(m, z.shape[0])
            w = torch.where(mask[:, m, None], enc.private.loc[m], missing)
            inputs.append(torch.cat([z, w], dim=-1))
        return inputs

    def predict_views(self, views, mask):
        """Point predictions of every view from the posterior means, list of ``(B, ...)``."""
        inputs = self.decoder_inputs(views, mask)
        return [self.decode(m, inputs[m]) for m in range(self.n_views)]

    def sampler_latents(self, views, mask):
        """What an ex-post sampler (``prior_sampler="gmm"``) is fitted to: the means of
        the aggregated shared posterior, ``(B, d)``."""
        return self.encode(views, mask).shared.mean

    def generate(self, n, shared=None):
        """Per-view decoder inputs for ``n`` unconditional samples: one ``z`` shared by
        all views (from the prior, or ``shared`` drawn by an ex-post sampler) and an
        independent prior ``w_m`` per view."""
        z = self.prior_sample(n) if shared is None else shared
        if not self.has_private:
            return [z] * self.n_views
        return [torch.cat([z, self.private_prior_sample(m, n)], -1) for m in range(self.n_views)]

    def decode(self, m, latent, noise=False):
        out = self.decoder_output(m, latent)
        lik = self.likelihoods[m]
        return lik.sample(out) if noise else lik.point(out)

    # ---- auxiliary networks (MultimodalNet trains them; none by default) --------------
    auxiliary_name = "aux"  # history key of the auxiliary loss (train_<name>)
    auxiliary_steps = 1  # auxiliary optimizer steps after every main step

    def auxiliary_parameters(self):
        """Parameters trained only by the auxiliary optimizer (excluded from the main
        one); none by default."""
        return []

    def make_auxiliary_optimizer(self, params):
        """The optimizer of :meth:`auxiliary_parameters` (called when there are any)."""
        raise NotImplementedError(f"{type(self).__name__} declares auxiliary parameters")

    def auxiliary_loss(self):
        """The loss the auxiliary optimizer minimises after every main step, from inputs
        that ``forward`` saved (detached)."""
        raise NotImplementedError(f"{type(self).__name__} declares auxiliary parameters")

    # ---- importance sampling (GenerationMixin.log_likelihood) -------------------------
    def proposal(self, enc, views, mask):
        """The importance proposal of ``z`` given the views in ``mask``: by default the
        aggregated shared posterior ``enc.shared`` (MoPoE uses its subset mixture)."""
        return enc.shared

    def log_prior(self, z):
        """``log p(z)`` of the shared prior, shape ``z.shape[:-1]``."""
        zero = torch.zeros_like(z)
        return self.family.log_prob(z, zero, zero)

    def private_log_prior(self, m, w):
        """``log p(w_m)`` of view ``m``'s private prior, shape ``w.shape[:-1]``."""
        zero = torch.zeros_like(w)
        return self.family.log_prob(w, zero, zero)

    def importance_draws(self, views, pmask, smask, K):
        """``K`` draws per sample from the importance proposal given the views in
        ``pmask``: ``z`` ``(K, B, Dz)``, the private latents of the views in ``pmask``
        from their posteriors and of the other scored views (``smask``) from their
        priors (list of ``(K, B, Dw)`` or None per view), and ``log q`` ``(K, B)`` of
        the posterior draws."""
        enc = self.encode(views, pmask)
        q = self.proposal(enc, views, pmask)
        z = q.rsample(K)
        log_q = q.log_prob(z)
        w = [None] * self.n_views
        if self.has_private:
            fam = self.family
            B = pmask.shape[0]
            for m in range(self.n_views):
                need_prior = bool((smask[:, m] & ~pmask[:, m]).any())
                if not (pmask[:, m].any() or need_prior):
                    continue
                loc, param = enc.private.loc[m], enc.private.param[m]
                w_m = fam.rsample(loc, param, K)
                if need_prior:
                    prior = self.private_prior_sample(m, K * B).reshape(K, B, -1)
                    w_m = torch.where(pmask[:, m, None], w_m, prior)
                log_q = log_q + torch.where(pmask[:, m], fam.log_prob(w_m, loc, param), 0.0)
                w[m] = w_m
        return {"z": z, "w": w, "log_q": log_q}

    def importance_log_weights(self, views, pmask, smask, draws, joint):
        """Log importance weights ``(K, B)`` of :meth:`importance_draws`.

        Joint: ``log p(x_S | z, w) + log p(z) + log p(w) - log q(z, w | x_P)`` (the
        proposal's views ``P`` are the scored views ``S``); conditional:
        ``log p(x_S | z, w_S)`` (the proposal, given other views, is the conditional).
        """
        z = draws["z"]
        log_w = torch.zeros(z.shape[:-1], device=z.device)
        for m in range(self.n_views):
            if not smask[:, m].any():
                continue
            latent = z if draws["w"][m] is None else torch.cat([z, draws["w"][m]], -1)
            ll = self.log_likelihood(m, views[m], latent)
            log_w = log_w + torch.where(smask[:, m], ll, 0.0)
        if joint:
            log_w = log_w + self.log_prior(z) - draws["log_q"]
            for m, w_m in enumerate(draws["w"]):
                if w_m is not None:
                    log_w = log_w + torch.where(pmask[:, m], self.private_log_prior(m, w_m), 0.0)
        return log_w

    def marginal_ll(self, views, pmask, smask, K, joint=True):
        """Importance-sampled ``log p(x_S)`` (joint) or ``log p(x_S | x_P)``
        (conditional) per sample, ``(B,)``: log-mean-exp over ``K`` draws of
        :meth:`importance_log_weights`."""
        draws = self.importance_draws(views, pmask, smask, K)
        log_w = self.importance_log_weights(views, pmask, smask, draws, joint)
        return torch.logsumexp(log_w.double(), 0) - math.log(K)
