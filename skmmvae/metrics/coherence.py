"""Coherence of generated views, scored by per-view classifiers (IDMVAE Table 2)."""

from __future__ import annotations

import numpy as np

from .common import (
    base_seed,
    check_fitted_estimator,
    check_mode,
    evaluation_views,
    per_view_labels,
    plain,
    sub_seeds,
)

__all__ = ["conditional_coherence", "leave_one_out_coherence", "unconditional_coherence"]


def _split_classifiers(classifiers, n_views):
    """``{"shared": list or None, "private": list or None}`` from the user's argument."""
    if isinstance(classifiers, dict):
        unknown = set(classifiers) - {"shared", "private"}
        if unknown:
            raise ValueError(
                f"classifiers may have the keys 'shared' and 'private'; got {sorted(unknown)}."
            )
        out = {"shared": classifiers.get("shared"), "private": classifiers.get("private")}
    elif isinstance(classifiers, (list, tuple)):
        out = {"shared": classifiers, "private": None}
    else:
        raise TypeError(
            "classifiers must be a list of fitted classifiers (one per view, for the "
            "shared label) or a dict {'shared': [...], 'private': [...]}."
        )
    for key, clfs in out.items():
        if clfs is None:
            continue
        if len(clfs) != n_views:
            raise ValueError(f"{key} classifiers: need one per view ({n_views}); got {len(clfs)}.")
        for clf in clfs:
            if not hasattr(clf, "predict"):
                raise TypeError(f"{key} classifiers must have a predict method.")
    return out


def _coherence_labels(mask, y_shared, y_private, classifiers):
    """``{"shared": (labels, valid, classifiers), "private": ...}`` for the labels given."""
    n, n_views = mask.shape
    clfs = _split_classifiers(classifiers, n_views)
    tasks = {}
    for key, y in (("shared", y_shared), ("private", y_private)):
        if y is None:
            continue
        if clfs[key] is None:
            raise ValueError(f"y_{key} is given but there are no {key} classifiers.")
        if key == "shared" and np.ndim(y) != 1:
            raise ValueError("y_shared must have shape (n_samples,).")
        labels, valid = per_view_labels(y, n, n_views, f"y_{key}", allow_1d=key == "shared")
        tasks[key] = (labels, valid, clfs[key])
    if not tasks:
        raise ValueError("Give y_shared or y_private (with their classifiers).")
    return tasks


def _hit_rate(clf, generated, labels, valid):
    if not valid.any():
        return np.nan
    pred = np.asarray(clf.predict(generated[valid]))
    return float(np.mean(pred == plain(labels[valid])))


def _panels(matrix):
    """Mean of the diagonal (self) and mean over targets of the mean over the other
    sources (cross)."""
    n = len(matrix)
    diag = np.diag(matrix)
    self_ = float(np.nanmean(diag)) if np.isfinite(diag).any() else np.nan
    if n < 2:
        return self_, np.nan
    off = matrix.copy()
    np.fill_diagonal(off, np.nan)
    with np.errstate(all="ignore"):
        per_target = np.array(
            [np.nanmean(off[:, t]) if np.isfinite(off[:, t]).any() else np.nan for t in range(n)]
        )
    cross = float(np.nanmean(per_target)) if np.isfinite(per_target).any() else np.nan
    return self_, cross


def _check_from(value, name):
    if value not in ("posterior", "prior"):
        raise ValueError(f"{name} must be 'posterior' or 'prior'; got {value!r}.")


def conditional_coherence(
    estimator,
    X,
    y_shared,
    y_private,
    classifiers,
    *,
    z_from="posterior",
    w_from="prior",
    latent_mode="sample",
    random_state=None,
):
    """Conditional generation between views, scored by per-view classifiers.

    For every source view ``s`` and target view ``t``: the shared latent ``z`` is
    inferred from view ``s`` alone (``z_from="posterior"``: the aggregated posterior
    with the other views masked) or drawn unconditionally (``"prior"``: the prior,
    or the fitted ex-post sampler ``prior_sampler_`` as :meth:`sample` uses, e.g.
    for DMVAE); the private latent ``w_t`` is the posterior of view ``t`` itself
    (``w_from="posterior"``) or a draw from its prior (``"prior"``, the fixed prior
    ``p(w)`` as in MMVAE+'s protocol, a diffusion prior for IDMVAE with
    ``diffusion_prior=True``). ``[z, w_t]`` is decoded (likelihood mean) into view
    ``t`` and the generation is classified by the classifiers of view ``t``, which
    were trained on real data of view ``t``.

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    X : multi-view input
        The evaluation samples; a sample takes part in ``(s, t)`` when it observes
        view ``s`` (for ``z_from="posterior"``) and view ``t`` (for
        ``w_from="posterior"`` on a method with private latents).
    y_shared : array-like of shape (n_samples,) or None
        The shared label. ``-1`` or NaN: unlabelled.
    y_private : array-like of shape (n_samples, n_views) or None
        Each view's private label.
    classifiers : list of classifiers, or dict
        Fitted per-view classifiers (see :func:`train_view_classifiers`): a list
        (one per view) predicts the shared label; a dict ``{"shared": [...],
        "private": [...]}`` gives both kinds.
    z_from : {"posterior", "prior"}, default="posterior"
        With ``"prior"`` the source does not matter: every row of the matrices
        repeats the same per-target accuracies (one draw per target).
    w_from : {"prior", "posterior"}, default="prior"
        The prior is the papers' protocol for cross-generation (MMVAE+, IDMVAE
        Table 2): with the target's own posterior ``w_t``, whatever of the shared
        factor leaks into ``w`` is handed to the generation, inflating cross
        coherence exactly for the models whose private latents are not clean.
        Ignored for methods without private latents.
    latent_mode : {"mean", "sample"}, default="sample"
        Posterior means, or one posterior draw per sample (the papers' protocol).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; None uses the estimator's ``random_state``.

    Returns
    -------
    result : dict
        For each label given (``shared`` / ``private``): ``{label}_self`` (mean
        over views of ``s == t``), ``{label}_cross`` (mean over targets of the mean
        over sources ``s != t``; NaN with a single view) and ``{label}_matrix``
        (``(n_views, n_views)`` accuracies, source in rows, target in columns;
        NaN where no labelled sample qualifies).
    """
    check_fitted_estimator(estimator)
    _check_from(z_from, "z_from")
    _check_from(w_from, "w_from")
    check_mode(latent_mode)
    X, mask = evaluation_views(estimator, X)
    tasks = _coherence_labels(mask, y_shared, y_private, classifiers)
    n_views = mask.shape[1]
    w_posterior = estimator.has_private_latents and w_from == "posterior"
    seeds = sub_seeds(base_seed(estimator, random_state), n_views * n_views)
    matrices = {key: np.full((n_views, n_views), np.nan) for key in tasks}
    any_label = np.zeros(len(mask), dtype=bool)
    for _, valid, _ in tasks.values():
        any_label |= valid.any(1)
    for s in range(n_views):
        for t in range(n_views):
            if z_from == "prior" and s > 0:
                for key in tasks:
                    matrices[key][s, t] = matrices[key][0, t]
                continue
            rows = any_label.copy()
            if z_from == "posterior":
                rows &= mask[:, s]
            if w_posterior:
                rows &= mask[:, t]
            if not rows.any():
                continue
            generated = estimator.generate(
                X[rows],
                cond_views=[s] if z_from == "posterior" else [],
                gen_views=t,
                private=w_from,
                latent_mode=latent_mode,
                random_state=int(seeds[s * n_views + t]),
            )
            for key, (labels, valid, clfs) in tasks.items():
                matrices[key][s, t] = _hit_rate(
                    clfs[t], generated, labels[rows, t], valid[rows, t]
                )
    result = {}
    for key, matrix in matrices.items():
        result[f"{key}_self"], result[f"{key}_cross"] = _panels(matrix)
        result[f"{key}_matrix"] = matrix
    return result


def leave_one_out_coherence(
    estimator,
    X,
    y_shared,
    y_private,
    classifiers,
    *,
    w_from="prior",
    latent_mode="sample",
    random_state=None,
):
    """Generate each view from all the other views, scored by per-view classifiers.

    For every target view ``t``, the shared latent is inferred by the method's own
    aggregation (product, mixture, mixture of products, ...) of the sample's other
    observed views (view ``t`` masked), combined with ``w_t`` (posterior of view
    ``t`` or its prior, for methods with private latents), decoded into view ``t``
    and classified by view ``t``'s classifiers.

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    X : multi-view input
        A sample takes part for target ``t`` when it observes another view (and
        view ``t`` itself for ``w_from="posterior"`` on a method with private
        latents).
    y_shared, y_private, classifiers
        As in :func:`conditional_coherence`.
    w_from : {"prior", "posterior"}, default="prior"
        As in :func:`conditional_coherence` (the prior: the papers' protocol).
        Ignored for methods without private latents.
    latent_mode : {"mean", "sample"}, default="sample"
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    result : dict
        For each label given: ``{label}`` (mean over target views) and
        ``{label}_per_view`` (array of length ``n_views``).

    Raises
    ------
    ValueError
        With a single view (nothing to condition on).
    """
    check_fitted_estimator(estimator)
    _check_from(w_from, "w_from")
    check_mode(latent_mode)
    X, mask = evaluation_views(estimator, X)
    n_views = mask.shape[1]
    if n_views < 2:
        raise ValueError("leave_one_out_coherence needs at least two views.")
    tasks = _coherence_labels(mask, y_shared, y_private, classifiers)
    w_posterior = estimator.has_private_latents and w_from == "posterior"
    seeds = sub_seeds(base_seed(estimator, random_state), n_views)
    per_view = {key: np.full(n_views, np.nan) for key in tasks}
    any_label = np.zeros(len(mask), dtype=bool)
    for _, valid, _ in tasks.values():
        any_label |= valid.any(1)
    for t in range(n_views):
        others = [m for m in range(n_views) if m != t]
        rows = any_label & mask[:, others].any(1)
        if w_posterior:
            rows &= mask[:, t]
        if not rows.any():
            continue
        generated = estimator.generate(
            X[rows],
            cond_views=others,
            gen_views=t,
            private=w_from,
            latent_mode=latent_mode,
            random_state=int(seeds[t]),
        )
        for key, (labels, valid, clfs) in tasks.items():
            per_view[key][t] = _hit_rate(clfs[t], generated, labels[rows, t], valid[rows, t])
    result = {}
    for key, values in per_view.items():
        result[key] = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
        result[f"{key}_per_view"] = values
    return result


def unconditional_coherence(estimator, classifiers, n_samples=1000, *, random_state=None):
    """Share of unconditional samples whose views all show the same shared label.

    ``estimator.sample`` draws one shared latent (from the prior or the fitted
    ex-post sampler) and an independent private latent per view, and decodes every
    view; a set counts when the classifiers of all views predict the same label.

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    classifiers : list of classifiers, or dict with key ``"shared"``
        Fitted per-view classifiers of the shared label.
    n_samples : int, default=1000
    random_state : int, RandomState instance or None, default=None
        Seeds ``sample``; None uses the estimator's ``random_state``.

    Returns
    -------
    result : dict
        ``coherence`` (fraction in [0, 1]) and ``n_samples``.

    Raises
    ------
    ValueError
        With a single view, or without shared classifiers.
    """
    check_fitted_estimator(estimator)
    n_views = estimator.n_views_
    if n_views < 2:
        raise ValueError("unconditional_coherence needs at least two views.")
    clfs = _split_classifiers(classifiers, n_views)["shared"]
    if clfs is None:
        raise ValueError("unconditional_coherence needs the classifiers of the shared label.")
    views = estimator.sample(n_samples, random_state=random_state)
    preds = [np.asarray(clf.predict(v)) for clf, v in zip(clfs, views)]
    agree = np.ones(n_samples, dtype=bool)
    for p in preds[1:]:
        agree &= p == preds[0]
    return {"coherence": float(agree.mean()), "n_samples": int(n_samples)}
