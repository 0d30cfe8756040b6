"""Using a fitted model: representations (optionally conditioned on a subset of the
views), imputation, reconstruction and scores.

:class:`InferenceMixin` is part of every estimator's public surface
(:class:`~skmmvae.base.MultimodalVAE` inherits it, with
:class:`~skmmvae.generation.GenerationMixin`). The conditional methods take the views
to condition on and the views to generate, in the spirit of MultiVae's
``encode(inputs, cond_mod)`` / ``predict(inputs, cond_mod, gen_mod)``:

* :meth:`~InferenceMixin.transform` and :meth:`~InferenceMixin.encode` with
  ``cond_views``: latents inferred from a chosen subset of the views;
* :meth:`~skmmvae.generation.GenerationMixin.generate`: any views from any subset of
  the others (or from nothing: the prior), with the generated views' private latents
  from their prior, their own posterior, or the posterior of other samples;
* :meth:`~skmmvae.generation.GenerationMixin.log_likelihood`: importance-sampled
  joint or conditional log-likelihoods (the math is
  :meth:`~skmmvae.module.MultimodalModule.marginal_ll`).
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import torch

# sklearn's private reader of set_output's configuration (estimator, then global);
# pyproject.toml pins scikit-learn below the next minor release for it
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from .training import ViewData, seeded
from .views import merge_like

__all__ = ["InferenceMixin", "LATENT_BLOCKS", "check_view_set"]

LATENT_BLOCKS = ("all", "shared", "private", "per_view")


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
    """Representations, imputation and scores of a fitted estimator."""

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
        """float32 latents for float32 (and 8-bit pixel) views, float64 otherwise."""
        narrow = all(a.dtype in (np.float32, np.uint8) for a in arrays)
        return np.float32 if narrow else np.float64

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

    def score_samples(self, X):
        """Per-sample value of the method's objective (beta = 1, unit view weights),
        in nats.

        An evidence lower bound for ``MVAE``, ``MoPoE``, ``MMVAE`` (ELBO, or the
        importance-weighted bound with ``K`` samples for ``objective="iwae"`` /
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
        if input_features is not None:
            given = np.asarray(input_features, dtype=object)
            known = getattr(self, "feature_names_in_", None)
            if known is not None and not np.array_equal(given, known):
                raise ValueError("input_features is not equal to feature_names_in_.")
            if known is None and len(given) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length equal to the number of features "
                    f"({self.n_features_in_}); got {len(given)}."
                )
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
