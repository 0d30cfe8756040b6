"""Using a fitted model: representations, conditional generation, imputation,
unconditional samples and likelihoods.

:class:`InferenceMixin` is the public inference surface of every estimator
(:class:`~skmmvae.base.MultimodalVAE` inherits it). Its conditional methods take the
views to condition on and the views to generate, in the spirit of MultiVae's
``encode(inputs, cond_mod)`` / ``predict(inputs, cond_mod, gen_mod)``:

* :meth:`~InferenceMixin.transform` and :meth:`~InferenceMixin.encode` with
  ``cond_views``: latents inferred from a chosen subset of the views;
* :meth:`~InferenceMixin.generate`: any views from any subset of the others (or from
  nothing: the prior), with the generated views' private latents from their prior,
  their own posterior, or the posterior of other samples;
* :meth:`~InferenceMixin.log_likelihood`: importance-sampled joint or conditional
  log-likelihoods (the math is :meth:`~skmmvae.module.MultimodalModule.marginal_ll`).
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .training import ViewData, seeded
from .views import merge_like

__all__ = ["InferenceMixin", "LATENT_BLOCKS", "check_view_set"]

LATENT_BLOCKS = ("all", "shared", "private", "per_view")
_MAX_SEED = np.iinfo(np.int32).max


def check_view_set(views, n_views, name, allow_empty=False):
    """A boolean vector of the views named by ``views`` (an index or a list of them)."""
    if isinstance(views, numbers.Integral) and not isinstance(views, bool):
        views = [views]
    try:
        views = list(views)
    except TypeError:
        views = [views]
    if not views and not allow_empty:
        raise ValueError(f"{name} must name at least one view.")
    out = np.zeros(n_views, dtype=bool)
    for v in views:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v < n_views:
            raise ValueError(f"{name} must hold view indices in [0, {n_views}); got {views!r}.")
        out[v] = True
    return out


def _output_container(est, Z, names, X):
    """``Z`` as ``set_output`` asks (estimator or global configuration), its columns
    named after the returned blocks (so ``transform(X, latents=...)`` may override
    the estimator's ``latents`` under any output); the index of a DataFrame ``X``
    is kept. ``transform`` is not wrapped by sklearn (it is defined outside the
    ``TransformerMixin`` subclass), so this is the only conversion."""
    dense = _get_output_config("transform", est)["dense"]
    if dense == "pandas":
        import pandas as pd

        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(Z, columns=list(names), index=index)
    if dense == "polars":
        import polars as pl

        return pl.DataFrame(Z, schema=list(names), orient="row")
    return Z


class InferenceMixin:
    """Inference, conditional generation and scoring of a fitted estimator."""

    # ---- batching and conditioning ---------------------------------------------------
    def _batched(self, arrays, mask, fn, seed=None):
        """Run ``fn(views, mask)`` on inference batches; concatenate its outputs."""
        module = self.net_.module_
        data = ViewData(self._to_network(arrays, mask), mask, self.device_)
        chunk = max(self.batch_size, 512)
        outputs = []
        module.eval()
        context = seeded(seed, self.device_) if seed is not None else contextlib.nullcontext()
        with torch.no_grad(), context:
            for start in range(0, len(data), chunk):
                idx = torch.arange(start, min(start + chunk, len(data)), device=data.device)
                batch = data.take(idx)
                outputs.append(fn(batch.views, batch.mask))
        if isinstance(outputs[0], dict):
            return {k: torch.cat([o[k] for o in outputs]).cpu().numpy() for k in outputs[0]}
        if isinstance(outputs[0], list):
            return [torch.cat([o[m] for o in outputs]).cpu().numpy() for m in range(len(arrays))]
        return torch.cat(outputs).cpu().numpy()

    @staticmethod
    def _out_dtype(arrays):
        return np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64

    def _conditioned(self, mask, cond_views):
        """``mask`` restricted to ``cond_views`` (None: unchanged); every sample must
        observe one of them."""
        if cond_views is None:
            return mask
        keep = check_view_set(cond_views, mask.shape[1], "cond_views")
        out = mask & keep
        lacking = int((~out.any(1)).sum())
        if lacking:
            raise ValueError(
                f"{lacking} of the {len(mask)} samples observe none of cond_views "
                f"{np.flatnonzero(keep).tolist()}; pass only samples that observe one of them."
            )
        return out

    def _check_mode(self, latent_mode):
        if latent_mode not in ("mean", "sample"):
            raise ValueError(f"latent_mode must be 'mean' or 'sample'; got {latent_mode!r}.")
        return latent_mode == "sample"

    # ---- representations -------------------------------------------------------------
    def transform(self, X, latents=None, latent_mode=None, *, cond_views=None, random_state=None):
        """Latent representation of each sample.

        Parameters
        ----------
        X : multi-view input
        latents : {"all", "shared", "private", "per_view"}, default=None
            Blocks to return; None uses the estimator's ``latents``.
        latent_mode : {"mean", "sample"}, default=None
            None uses the estimator's ``latent_mode``.
        cond_views : int or list of int, default=None
            Infer the latents from these views only (the others are treated as
            missing); every sample must observe one of them. None: all the views a
            sample observes. E.g. ``cond_views=[m]`` gives ``z`` inferred from view
            ``m`` alone.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of ``latent_mode="sample"``; None uses the estimator's
            ``random_state``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), or a DataFrame
            A DataFrame under ``set_output``, its columns named as
            :meth:`get_feature_names_out` names them for the returned blocks. Shared
            latents aggregate the (conditioning) views each sample observes;
            per-view and private blocks of a view that is missing (or not
            conditioned on) are 0, the prior mean.
        """
        check_is_fitted(self)
        block = self.latents if latents is None else latents
        self._check_block(block)
        sample = self._check_mode(self.latent_mode if latent_mode is None else latent_mode)
        arrays, mask, _ = self._validate_input(X, reset=False)
        mask = self._conditioned(mask, cond_views)
        module = self.net_.module_
        Z = self._batched(
            arrays,
            mask,
            lambda v, m: module.latents(v, m, block, sample),
            seed=self._seed(random_state) if sample else None,
        )
        Z = Z.astype(self._out_dtype(arrays), copy=False)
        return _output_container(self, Z, self._latent_names(block), X)

    def encode(self, X, cond_views=None):
        """All posterior parameters.

        Parameters
        ----------
        X : multi-view input
        cond_views : int or list of int, default=None
            Condition on these views only (see :meth:`transform`).

        Returns
        -------
        params : dict of ndarray
            ``shared_mean`` and ``shared_std`` ``(n, n_latent)`` of the aggregated shared
            posterior; ``view_loc`` and ``view_scale`` ``(n, M, n_latent)`` of each view's
            expert (rows of views that are missing or not conditioned on carry no
            information about the sample: the encoder's output for the zero-filled
            input, or a stand-in when no row of the batch observes the view; ignore
            them); models with private latents add ``private_loc`` and
            ``private_scale`` ``(n, M, n_private)``.
        """
        check_is_fitted(self)
        arrays, mask, _ = self._validate_input(X, reset=False)
        mask = self._conditioned(mask, cond_views)
        return self._batched(arrays, mask, self.net_.module_.posterior)

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

    def _predict_views(self, X):
        check_is_fitted(self)
        arrays, mask, layout = self._validate_input(X, reset=False)
        preds = self._batched(arrays, mask, self.net_.module_.predict_views, seed=self._seed())
        preds = [spec.from_model(p) for spec, p in zip(self.modalities_, preds)]
        return arrays, mask, layout, preds

    def impute(self, X):
        """Fill the missing views from the observed ones.

        The shared latent is the posterior mean given each sample's observed views
        (the method's aggregation: product, mixture, subset mixture or per-view
        average), decoded (likelihood mean) into its missing views. What a missing
        view's private latent is depends on the method:

        * ``MMVAEPlus``, ``IDMVAE``: a draw from its prior, ``N(0, private_scale^2)``
          (the diffusion prior with ``diffusion_prior=True``), as in the papers'
          cross-generation, seeded by ``random_state``;
        * ``PrivateSharedVAE``, ``DMVAE``: the prior mean, 0;
        * ``MVAE``, ``MMVAE``, ``MoPoE``, ``MMVM``: none (no private latents; MMVM
          decodes the average of the observed views' latents).

        Observed values are returned bit-identical.

        Parameters
        ----------
        X : multi-view input with missing views (all-NaN rows or a mask)

        Returns
        -------
        X_imputed : same container type as ``X``
            Float views keep their dtype (float32 in, float32 out).
        """
        arrays, mask, layout, preds = self._predict_views(X)
        out = []
        for m, (a, p) in enumerate(zip(arrays, preds)):
            filled = np.array(a, copy=True)
            miss = ~mask[:, m]
            if miss.any():
                if filled.dtype.kind != "f":  # float views keep their dtype
                    filled = filled.astype(np.result_type(filled.dtype, p.dtype), copy=False)
                filled[miss] = p[miss]
            out.append(filled)
        return merge_like(layout, X, out, len(mask))

    def reconstruct(self, X):
        """Decode every view of every sample from its posterior means.

        Returns
        -------
        X_hat : same container type as ``X``
            Float views keep their dtype (float32 in, float32 out).
        """
        arrays, mask, layout, preds = self._predict_views(X)
        preds = [
            p.astype(a.dtype, copy=False) if a.dtype.kind == "f" else p
            for a, p in zip(arrays, preds)
        ]
        return merge_like(layout, X, preds, len(mask))

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

    def score_samples(self, X):
        """Per-sample value of the method's objective (beta = 1, unit view weights),
        in nats.

        An evidence lower bound for ``MVAE``, ``MoPoE``, ``MMVAE`` (ELBO, or the
        importance-weighted bound with ``K`` samples for ``estimator="iwae"`` /
        ``"dreg"``) and ``PrivateSharedVAE`` (joint ELBO). For ``MMVAEPlus`` and
        ``IDMVAE`` it is the MMVAE+ objective, whose cross-reconstructions use the
        learned auxiliary prior: a bound only while that equals ``p(w)``. For
        ``DMVAE`` (conditional ELBOs given the shared code inferred from ``X``) and
        ``MMVM`` (data-dependent mixture prior) it is not a bound. Compare models of
        one class with it; across classes use
        :func:`skmmvae.metrics.log_likelihood`. Standardised gaussian views are scored
        on the data's original scale.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        arrays, mask, _ = self._validate_input(X, reset=False)
        elbo = self._batched(arrays, mask, self.net_.module_.elbo, seed=self._seed())
        log_det = np.array([s.log_det for s in self.modalities_])
        return elbo.astype(np.float64) + mask @ log_det

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (higher is better), so ``GridSearchCV`` needs no
        ``y``. It rewards reconstruction and closeness to the prior, not what
        regularisers such as IDMVAE's ``lambda1`` are for: select those with a
        downstream pipeline or :func:`skmmvae.metrics.cross_view_agreement`."""
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features=None):
        """Names of the ``transform`` columns: ``z{k}``, ``z{m}_{k}`` (per view), ``w{m}_{k}``."""
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(self._latent_names(self.latents), dtype=object)

    def _latent_names(self, block):
        module = self.net_.module_
        names = []
        if block in ("all", "shared"):
            names += [f"z{k}" for k in range(module.n_latent)]
        if block == "per_view":
            names += [f"z{m}_{k}" for m in range(self.n_views_) for k in range(module.n_latent)]
        if block in ("all", "private") and module.has_private:
            names += [f"w{m}_{k}" for m in range(self.n_views_) for k in range(module.n_private)]
        return names
