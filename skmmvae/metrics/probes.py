"""Linear probes of labels from latent representations (IDMVAE Table 1)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from .. import methods
from .common import (
    BLOCKS,
    base_seed,
    check_fitted_estimator,
    check_mode,
    evaluation_views,
    per_view_labels,
    plain,
    representation,
    sub_seeds,
)

__all__ = ["latent_classification", "cross_classification"]


def _auroc(clf, Z, y):
    """Binary AUROC, or one-vs-rest macro AUROC; NaN when undefined."""
    classes = getattr(clf, "classes_", None)
    if classes is None or len(classes) < 2 or len(y) == 0:
        return np.nan
    present = np.unique(y)
    if len(present) != len(classes) or not np.isin(present, classes).all():
        return np.nan  # a class missing from the test labels, or an unseen one
    if hasattr(clf, "predict_proba"):
        scores = clf.predict_proba(Z)
    elif hasattr(clf, "decision_function") and len(classes) == 2:
        scores = clf.decision_function(Z)
        scores = np.column_stack([-scores, scores])
    else:
        return np.nan
    if len(classes) == 2:
        return float(roc_auc_score(y == classes[1], scores[:, 1]))
    return float(roc_auc_score(y, scores, multi_class="ovr", average="macro", labels=classes))


def _probe(classifier, Z_train, y_train, Z_test, y_test, what):
    if len(Z_train) == 0:
        raise ValueError(f"No labelled training sample for {what}.")
    y_train, y_test = plain(y_train), plain(y_test)
    if len(np.unique(y_train)) < 2:
        raise ValueError(f"The training labels of {what} hold a single class.")
    clf = LogisticRegression(max_iter=1000) if classifier is None else clone(classifier)
    clf.fit(Z_train, y_train)
    if len(Z_test) == 0:
        return np.nan, np.nan
    return float(accuracy_score(y_test, clf.predict(Z_test))), _auroc(clf, Z_test, y_test)


def latent_classification(
    estimator,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    latents="shared",
    latent_mode="mean",
    per_view=True,
    classifier=None,
    random_state=None,
):
    """Linear probe of a label from latent representations.

    A classifier is fitted on the latents of the training samples and scored on
    those of the test samples.

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    X_train, X_test : multi-view input
    y_train, y_test : array-like of shape (n_samples,) or (n_samples, n_views)
        The label; a 2-D label gives each view its own column (a private label
        probed from each view's representation). ``-1`` or NaN: unlabelled, left out.
    latents : {"shared", "private", "all", "per_view"}, default="shared"
        The representation. With ``per_view=True`` (one probe per view ``m``):
        ``"shared"`` is ``z`` encoded from view ``m`` alone (its aggregated
        posterior with the other views masked), ``"private"`` is ``w_m``, ``"all"``
        is ``[z, w_m]`` (``w_m`` only for methods with private latents) and
        ``"per_view"`` is view ``m``'s own expert. With ``per_view=False`` (one
        probe): the ``transform`` block of the same name, from all observed views.
    latent_mode : {"mean", "sample"}, default="mean"
        Posterior means (IDMVAE's protocol) or one draw (MMVAE's, MMVAE+'s).
    per_view : bool, default=True
        One probe per view (the views' results and their mean), or one probe on
        the representation of all observed views. ``"private"`` and ``"per_view"``
        with ``per_view=False`` concatenate the views' blocks.
    classifier : sklearn classifier, default=None
        Cloned and fitted per probe. None: ``LogisticRegression(max_iter=1000)``
        (lbfgs).
    random_state : int, RandomState instance or None, default=None
        Seeds the posterior draws (``latent_mode="sample"``); None uses the
        estimator's ``random_state``.

    Returns
    -------
    result : dict
        ``accuracy`` and ``auroc`` (means over the views when ``per_view``),
        ``n_train`` and ``n_test`` (labelled samples used, summed over views) and,
        with ``per_view``, ``accuracy_per_view`` and ``auroc_per_view`` (arrays of
        length ``n_views``; NaN for a view without labelled test samples). AUROC is
        ``roc_auc_score`` of ``predict_proba[:, 1]`` for two classes and the
        one-vs-rest macro average for more; it is NaN when a class of the training
        labels is absent from the test labels (or vice versa), or when the
        classifier gives no probabilities.

    Raises
    ------
    ValueError
        ``latents="private"`` for a method without private latents, labels of the
        wrong shape, or a probe without two classes of training labels.
    """
    check_fitted_estimator(estimator)
    if latents not in BLOCKS:
        raise ValueError(f"latents must be one of {BLOCKS}; got {latents!r}.")
    if latents == "private" and not estimator.has_private_latents:
        names = ", ".join(c.__name__ for c in methods.estimators(private_latents=True))
        raise ValueError(
            f"{type(estimator).__name__} has no private latents; use latents='shared' or "
            f"'per_view', or a method with private latents ({names})."
        )
    check_mode(latent_mode)
    if not per_view and (np.ndim(y_train) != 1 or np.ndim(y_test) != 1):
        raise ValueError("per_view=False needs one label per sample (1-D y_train and y_test).")
    seed = base_seed(estimator, random_state)
    data = []
    for X, y, name in ((X_train, y_train, "y_train"), (X_test, y_test, "y_test")):
        X, mask = evaluation_views(estimator, X)
        labels, valid = per_view_labels(y, len(mask), mask.shape[1], name)
        data.append((X, mask, labels, valid))
    n_views = data[0][1].shape[1]
    if not per_view:
        reps = []
        for k, (X, _, labels, valid) in enumerate(data):
            keep = valid[:, 0]
            Z = representation(estimator, X[keep], latents, latent_mode, seed + k)
            reps.append((Z, labels[keep, 0]))
        acc, auc = _probe(classifier, *reps[0], *reps[1], "the probe")
        return {
            "accuracy": acc,
            "auroc": auc,
            "n_train": len(reps[0][1]),
            "n_test": len(reps[1][1]),
        }
    accs, aucs, counts = np.full(n_views, np.nan), np.full(n_views, np.nan), [0, 0]
    seeds = sub_seeds(seed, 2 * n_views)
    for m in range(n_views):
        reps = []
        for k, (X, mask, labels, valid) in enumerate(data):
            keep = mask[:, m] & valid[:, m]
            counts[k] += int(keep.sum())
            if not keep.any():
                reps.append((np.zeros((0, 1)), labels[keep, m]))
                continue
            Z = representation(estimator, X[keep], latents, latent_mode, seeds[2 * m + k], m)
            reps.append((Z, labels[keep, m]))
        accs[m], aucs[m] = _probe(classifier, *reps[0], *reps[1], f"view {m}")
    return {
        "accuracy": float(np.nanmean(accs)) if np.isfinite(accs).any() else np.nan,
        "auroc": float(np.nanmean(aucs)) if np.isfinite(aucs).any() else np.nan,
        "n_train": counts[0],
        "n_test": counts[1],
        "accuracy_per_view": accs,
        "auroc_per_view": aucs,
    }


def cross_classification(
    estimator,
    X_train,
    y_shared_train,
    y_private_train,
    X_test,
    y_shared_test,
    y_private_test,
    *,
    latent_mode="mean",
    classifier=None,
    random_state=None,
):
    """Probe each label from the latent that should *not* carry it.

    The shared label is probed from each view's private latent ``w_m``, and view
    ``m``'s private label from the shared latent ``z`` encoded from view ``m``
    alone. With well disentangled latents both are near chance.

    Parameters
    ----------
    estimator : fitted MultimodalVAE with private latents
    X_train, X_test : multi-view input
    y_shared_train, y_shared_test : array-like of shape (n_samples,)
    y_private_train, y_private_test : array-like of shape (n_samples, n_views)
        One private label per view. ``-1`` or NaN: unlabelled.
    latent_mode : {"mean", "sample"}, default="mean"
    classifier : sklearn classifier, default=None
        None: ``LogisticRegression(max_iter=1000)``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    result : dict
        ``"shared_from_private"`` and ``"private_from_shared"``, each a
        :func:`latent_classification` result (per view and averaged).

    Raises
    ------
    ValueError
        For a method without private latents (probe the private label from ``z``
        with ``latent_classification(latents="shared")`` instead).
    """
    check_fitted_estimator(estimator)
    if not estimator.has_private_latents:
        raise ValueError(
            f"cross_classification needs private latents, which {type(estimator).__name__} "
            "does not have; use latent_classification(latents='shared') with the private "
            "labels to probe z alone."
        )
    n_views = estimator.n_views_
    for y, name in ((y_private_train, "y_private_train"), (y_private_test, "y_private_test")):
        if np.ndim(y) != 2 or np.shape(y)[1] != n_views:
            raise ValueError(f"{name} must have shape (n_samples, {n_views}).")
    for y, name in ((y_shared_train, "y_shared_train"), (y_shared_test, "y_shared_test")):
        if np.ndim(y) != 1:
            raise ValueError(f"{name} must have shape (n_samples,).")
    common = dict(latent_mode=latent_mode, classifier=classifier, random_state=random_state)
    return {
        "shared_from_private": latent_classification(
            estimator, X_train, y_shared_train, X_test, y_shared_test, latents="private", **common
        ),
        "private_from_shared": latent_classification(
            estimator,
            X_train,
            y_private_train,
            X_test,
            y_private_test,
            latents="shared",
            **common,
        ),
    }
