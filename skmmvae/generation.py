"""Generation from a fitted model: conditional generation (any views from any
subset of the others), unconditional samples, decoding given latents, and
importance-sampled likelihoods.

:class:`GenerationMixin` is part of every estimator's public surface
(:class:`~skmmvae.base.MultimodalVAE` inherits it, with
:class:`~skmmvae.inference.InferenceMixin`).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from .inference import check_view_set
from .training import ViewData, seeded

__all__ = ["GenerationMixin"]

_MAX_SEED = np.iinfo(np.int32).max


class GenerationMixin:
    """Conditional and unconditional generation, decoding and likelihoods."""

    # ---- conditional generation ------------------------------------------------------
    def generate(
        self,
        X,
        cond_views=None,
        gen_views=None,
        *,
        private="prior",
        latent_mode="mean",
        noise=False,
        random_state=None,
    ):
        """Generate views conditioned on a subset of the views (cross-generation).

        For each sample of ``X`` the shared latent ``z`` is inferred from the views in
        ``cond_views`` that the sample observes (the method's aggregation: product,
        mixture, subset mixture or per-view average), or, with ``cond_views=[]``,
        drawn unconditionally (the prior, or the fitted ex-post sampler with
        ``prior_sampler="gmm"``, as :meth:`sample` does). Each generated view ``t``
        decodes ``[z, w_t]``, where the private latent ``w_t`` (methods with private
        latents) comes from ``private``.

        Parameters
        ----------
        X : multi-view input
            The samples to condition on.
        cond_views : int or list of int, default=None
            The views ``z`` is inferred from; every sample must observe one of them.
            None: all the views each sample observes; ``[]``: none (``z`` from the
            prior, one draw per sample).
        gen_views : int or list of int, default=None
            The views to generate; None: all.
        private : {"prior", "posterior"} or multi-view input, default="prior"
            ``w_t`` of each generated view ``t``: a draw from its prior ``p(w_t)`` (the
            papers' cross-generation protocol; the diffusion prior of IDMVAE with
            ``diffusion_prior=True``); ``"posterior"``: view ``t``'s own posterior in
            ``X`` (every sample must observe it); a multi-view input with as many
            samples as ``X``: view ``t``'s posterior of those samples (their style
            with ``X``'s content: a cross-generation grid). Ignored by methods
            without private latents.
        latent_mode : {"mean", "sample"}, default="mean"
            Posterior means, or one posterior draw per sample (the papers' protocol
            for coherence).
        noise : bool, default=False
            False decodes likelihood means (most likely tokens); True draws from the
            likelihoods.
        random_state : int, RandomState instance or None, default=None
            Seeds every draw; None uses the estimator's ``random_state``.

        Returns
        -------
        views : list of ndarray, or ndarray when ``gen_views`` is an int
            ``n_samples`` rows of each generated view, on the data's scale, in the
            order of ``gen_views``.

        Examples
        --------
        >>> import numpy as np
        >>> from skmmvae import MMVAEPlus, MultiView
        >>> rng = np.random.RandomState(0)
        >>> X = MultiView([rng.randn(64, 5), rng.randn(64, 3), rng.randn(64, 2)])
        >>> est = MMVAEPlus(n_shared=2, n_private=2, max_epochs=2, random_state=0).fit(X)
        >>> est.generate(X, cond_views=[0, 1], gen_views=2).shape
        (64, 2)
        """
        check_is_fitted(self)
        sample = self._check_mode(latent_mode)
        arrays, mask, _ = self._validate_input(X, reset=False)
        n, n_views = mask.shape
        targets = np.flatnonzero(
            np.ones(n_views, bool)
            if gen_views is None
            else check_view_set(gen_views, n_views, "gen_views")
        )
        module = self.net_.module_
        seeds = check_random_state(self._seed(random_state)).randint(_MAX_SEED, size=4)
        d_z, prior_w = module.n_latent, None
        cond = (
            None if cond_views is None else check_view_set(cond_views, n_views, "cond_views", True)
        )
        if cond is not None and not cond.any():
            # unconditional: the decoder inputs sample() decodes (the shared latent from
            # the prior or the ex-post sampler, which for MMVM holds one z per view)
            inputs = self._prior_inputs(n, seeds[0])
            z = {t: inputs[t][:, :d_z] for t in targets}
            prior_w = {t: inputs[t][:, d_z:] for t in targets}
        else:
            cmask = self._conditioned(mask, cond_views)
            z_all = self._batched(
                arrays,
                cmask,
                lambda v, m: module.latents(v, m, "shared", sample),
                seed=seeds[0] if sample else None,
            )
            z = {t: z_all for t in targets}
        if module.has_private and isinstance(private, str) and private == "prior" and prior_w:
            w = prior_w
        else:
            w = self._generation_private(private, arrays, mask, targets, sample, seeds[1:3])
        out = [
            self.decode(
                z[t] if w is None else np.hstack([z[t], w[t]]),
                view=int(t),
                noise=noise,
                random_state=int(seeds[3]),
            )
            for t in targets
        ]
        return out[0] if isinstance(gen_views, numbers.Integral) else out

    def _prior_inputs(self, n, seed):
        """Per-view decoder inputs of ``n`` unconditional draws (as :meth:`sample`)."""
        module = self.net_.module_
        module.eval()
        shared = self._ex_post_shared(n, seed)
        with torch.no_grad(), seeded(seed, self.device_):
            return [x.cpu().numpy() for x in module.generate(n, shared)]

    def _generation_private(self, private, arrays, mask, targets, sample, seeds):
        """``{t: w_t}`` of the generated views for :meth:`generate` (None without
        private latents)."""
        module = self.net_.module_
        if not module.has_private:
            return None
        n, dp = len(mask), module.n_private
        if isinstance(private, str) and private == "prior":
            module.eval()
            with torch.no_grad(), seeded(seeds[0], self.device_):
                return {t: module.private_prior_sample(t, n).cpu().numpy() for t in targets}
        if isinstance(private, str) and private == "posterior":
            source, smask, what = arrays, mask, "X"
        elif isinstance(private, str):
            raise ValueError(
                f"private must be 'prior', 'posterior' or a multi-view input; got {private!r}."
            )
        else:
            source, smask, _ = self._validate_input(private, reset=False)
            what = "private"
            if len(smask) != n:
                raise ValueError(
                    f"private has {len(smask)} samples, but X has {n}; give one sample of "
                    "private per sample of X."
                )
        lacking = [int(t) for t in targets if not smask[:, t].all()]
        if lacking:
            raise ValueError(
                f"The private latents come from the posterior of {what}, but some of its "
                f"samples miss the generated views {lacking}."
            )
        W = self._batched(
            source,
            smask,
            lambda v, m: module.latents(v, m, "private", sample),
            seed=seeds[1] if sample else None,
        )
        return {t: W[:, t * dp : (t + 1) * dp] for t in targets}

    def sample(self, n_samples=1, *, random_state=None, noise=False):
        """Unconditional generation: the shared latent from the prior (or from the
        ex-post mixture when ``prior_sampler="gmm"``), private latents from their priors.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            None uses the estimator's ``random_state``.
        noise : bool, default=False
            False decodes likelihood means (most likely tokens); True draws from the
            likelihoods.

        Returns
        -------
        views : list of ndarray
            One array of ``n_samples`` rows per view, on the data's scale.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        module = self.net_.module_
        module.eval()
        seed = self._seed(random_state)
        shared = self._ex_post_shared(n_samples, seed)
        outs = [[] for _ in range(self.n_views_)]
        chunk = max(self.batch_size, 512)
        with torch.no_grad(), seeded(seed, self.device_):
            for start in range(0, n_samples, chunk):
                n = min(chunk, n_samples - start)
                part = None if shared is None else shared[start : start + n]
                inputs = module.generate(n, part)
                for m in range(self.n_views_):
                    outs[m].append(module.decode(m, inputs[m], noise=noise).cpu().numpy())
        return [spec.from_model(np.concatenate(o)) for spec, o in zip(self.modalities_, outs)]

    def _ex_post_shared(self, n, seed):
        """``n`` shared latents from the fitted ex-post sampler (a tensor on the model's
        device), or None when the model draws them from its own prior."""
        if not hasattr(self, "prior_sampler_"):
            return None
        return torch.as_tensor(
            self.prior_sampler_.sample(n, seed), dtype=torch.float32, device=self.device_
        )

    def decode(self, Z, view=None, *, noise=False, random_state=None):
        """Decode given latents into views, on the data's scale.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_latent + n_private), or list of them
            Decoder inputs: the shared latent (``n_latent`` or ``n_shared`` columns,
            the layout of ``transform(X, latents="shared")``), followed, for methods
            with private latents, by the private latent ``w_m`` of the decoded view
            (``n_private`` columns). For MMVM it is the view's own latent ``z_m``.
            With ``view=None`` it is one array that every view decodes, or a list with
            one array per view.
        view : int, default=None
            The view to decode; None decodes every view.
        noise : bool, default=False
            False decodes likelihood means (most likely tokens); True draws from the
            likelihoods.
        random_state : int, RandomState instance or None, default=None
            Seeds the likelihood draws when ``noise=True``; None uses the estimator's
            ``random_state``.

        Returns
        -------
        X : ndarray, or list of ndarray when ``view`` is None
            ``n_samples`` rows of each decoded view.
        """
        check_is_fitted(self)
        module = self.net_.module_
        dim = module.n_latent + module.n_private
        if view is None:
            targets = list(range(self.n_views_))
            per_view = (
                isinstance(Z, (list, tuple))
                and len(Z) == self.n_views_
                and all(np.ndim(z) == 2 for z in Z)
            )
            latents = list(Z) if per_view else [Z] * self.n_views_
        else:
            if not isinstance(view, numbers.Integral) or not 0 <= view < self.n_views_:
                raise ValueError(f"view must be an integer in [0, {self.n_views_}); got {view!r}.")
            targets, latents = [int(view)], [Z]
        checked = []
        for Zm in latents:
            Zm = check_array(Zm, dtype=np.float32, input_name="Z")
            if Zm.shape[1] != dim:
                raise ValueError(
                    f"Z has {Zm.shape[1]} columns, but the decoders of "
                    f"{type(self).__name__} take {dim} (shared latent, then one view's "
                    "private latent)."
                )
            if checked and len(Zm) != len(checked[0]):
                raise ValueError("The arrays of Z must have the same number of rows.")
            checked.append(Zm)
        module.eval()
        chunk = max(self.batch_size, 512)
        outs = []
        with torch.no_grad(), seeded(self._seed(random_state), self.device_):
            for m, Zm in zip(targets, checked):
                t = torch.as_tensor(Zm, device=self.device_)
                parts = [
                    module.decode(m, t[start : start + chunk], noise=noise).cpu().numpy()
                    for start in range(0, len(t), chunk)
                ]
                outs.append(self.modalities_[m].from_model(np.concatenate(parts)))
        return outs if view is None else outs[0]

    def log_likelihood(
        self, X, K=1000, *, target_views=None, cond_views=None, batch_size=None, random_state=None
    ):
        """Importance-sampled log-likelihood of each sample, in nats.

        Joint (``cond_views=None``): ``log p(x_T)`` of the target views, estimated as
        ``log (1/K) sum_k p(x_T, z_k, w_k) / q(z_k, w_k | x_T)`` with ``K`` draws from
        the method's aggregated posterior given the target views: the product of
        experts (MVAE, PrivateSharedVAE), the mixture of the observed experts (MMVAE,
        MMVAE+, IDMVAE) or the mixture of the subset products (MoPoE), each with its
        exact density; private latents ``w_m`` come from their posteriors
        ``q(w_m | x_m)``. The estimate is a stochastic lower bound that tightens as
        ``K`` grows (the IWAE bound); with ``K=1`` it is an unbiased estimate of the
        ELBO of the proposal.

        Conditional (``cond_views`` given): ``log p(x_T | x_C)`` estimated as
        ``log (1/K) sum_k p(x_T | z_k, w_k)`` with ``z_k`` from the aggregated
        posterior given the conditioning views and the targets' private latents from
        their priors (they are not observed); this is the likelihood of the targets
        under the model's amortised conditional ``q(z | x_C) p(w_T)`` (MMVAE's cross
        likelihood), which needs no prior density.

        Views missing in a sample are left out of its ``T`` and ``C``. Standardised
        gaussian views are scored on the data's original scale (as
        :meth:`score_samples`); view weights are not applied. The math is
        :meth:`skmmvae.module.MultimodalModule.marginal_ll`.

        Parameters
        ----------
        X : multi-view input
        K : int, default=1000
            Importance samples per sample.
        target_views : int or list of int, default=None
            The scored views; None: all.
        cond_views : int or list of int, default=None
            None: the joint (or marginal) likelihood of the targets; else the views
            conditioned on (disjoint from the targets).
        batch_size : int, default=None
            Samples per batch (each batch decodes ``K * batch_size`` latents); None:
            ``max(1, 4096 // K)``.
        random_state : int, RandomState instance or None, default=None
            None uses the estimator's ``random_state``.

        Returns
        -------
        ll : ndarray of shape (n_samples,)
            NaN for a sample that observes no target view (or no conditioning view).

        Raises
        ------
        ValueError
            Joint likelihoods of DMVAE (no prior on ``c``) and of IDMVAE with
            ``diffusion_prior=True`` (no tractable prior density), any likelihood of
            MMVM (data-dependent prior, no joint density), overlapping or unknown
            views, or a bad ``K``.
        """
        check_is_fitted(self)
        if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
            raise ValueError(f"K must be a positive integer; got {K!r}.")
        if batch_size is None:
            batch_size = max(1, 4096 // int(K))
        if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
        arrays, mask, _ = self._validate_input(X, reset=False)
        n_views = mask.shape[1]
        target = (
            np.ones(n_views, dtype=bool)
            if target_views is None
            else check_view_set(target_views, n_views, "target_views")
        )
        joint = cond_views is None
        cond = target if joint else check_view_set(cond_views, n_views, "cond_views")
        if not joint and (cond & target).any():
            raise ValueError("target_views and cond_views must not share a view.")
        pmask, smask = mask & cond, mask & target
        ok = pmask.any(1) & smask.any(1)
        pmask = np.where(ok[:, None], pmask, mask)  # rows left out still need a proposal
        smask = smask & ok[:, None]
        module, device = self.net_.module_, self.device_
        data = ViewData(self._to_network(arrays, mask), mask, device)
        pm, sm = torch.as_tensor(pmask, device=device), torch.as_tensor(smask, device=device)
        log_det = smask @ np.array([s.log_det for s in self.modalities_])
        out = np.full(len(mask), np.nan)
        module.eval()
        with torch.no_grad(), seeded(self._seed(random_state), device):
            for start in range(0, len(mask), batch_size):
                idx = torch.arange(start, min(start + batch_size, len(mask)), device=device)
                ll = module.marginal_ll(data.take(idx).views, pm[idx], sm[idx], int(K), joint)
                out[start : start + len(idx)] = ll.cpu().numpy()
        out += log_det
        out[~ok] = np.nan
        return out
