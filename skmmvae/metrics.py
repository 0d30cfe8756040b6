"""Evaluation metrics for fitted multimodal VAEs.

Every function takes a fitted estimator of this library and works for every method;
where a method cannot provide what a metric needs it raises a ``ValueError`` that
says why (private latents on a model without them, a log-likelihood without a
tractable prior or joint density).

* :func:`latent_classification` and :func:`cross_classification`: linear probes on
  latent representations (accuracy and AUROC), per view and averaged.
* :func:`conditional_coherence`, :func:`leave_one_out_coherence` and
  :func:`unconditional_coherence`: generate views and check with per-view
  classifiers that the generations carry the right labels.
* :func:`log_likelihood`: importance-sampled joint or conditional log-likelihoods.
* :func:`cross_view_agreement` and :func:`leave_one_view_out_score`: label-free
  criteria for model selection (``GridSearchCV(..., scoring=...)``).
* :func:`train_view_classifiers` and :class:`ImageClassifier`: the per-view
  evaluation classifiers coherence needs (a small CNN for images, a linear or MLP
  pipeline for tables).

Labels follow one convention: ``-1`` or NaN marks an unlabelled sample, which is
left out. A 1-D label is shared by all views; a 2-D label ``(n_samples, n_views)``
gives each view its own label (e.g. a private factor).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .base import MultimodalVAE, _seeded
from .training import ViewData
from .views import MultiView, check_views

__all__ = [
    "latent_classification",
    "cross_classification",
    "conditional_coherence",
    "leave_one_out_coherence",
    "unconditional_coherence",
    "cross_view_agreement",
    "leave_one_view_out_score",
    "log_likelihood",
    "train_view_classifiers",
    "ImageClassifier",
]

_BLOCKS = ("shared", "private", "all", "per_view")


# ---- validation helpers --------------------------------------------------------------
def _check_fitted_estimator(estimator):
    if not isinstance(estimator, MultimodalVAE):
        raise TypeError(
            f"estimator must be a skmmvae estimator (a MultimodalVAE); got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def _inputs(estimator, X):
    arrays, mask, _ = estimator._validate_input(X, reset=False)
    return arrays, mask


def _valid_labels(y):
    """True where a label is present (not -1, not NaN, not None)."""
    if y.dtype.kind == "f":
        return np.isfinite(y) & (y != -1)
    if y.dtype.kind in "iub":
        return y != -1
    if y.dtype.kind in "USa":
        return np.ones(y.shape, dtype=bool)
    flat = [
        not (
            v is None or (isinstance(v, numbers.Number) and (v != v or v == -1))  # NaN or -1
        )
        for v in y.ravel()
    ]
    return np.array(flat, dtype=bool).reshape(y.shape)


def _plain(labels):
    """Labels of an object array (e.g. with None for unlabelled) as a typed array."""
    return np.array(labels.tolist()) if labels.dtype == object else labels


def _per_view_labels(y, n_samples, n_views, name, allow_1d=True):
    """Labels as an ``(n, M)`` array (a 1-D label repeated per view) and its validity."""
    y = np.asarray(y)
    if y.ndim == 1 and allow_1d:
        y = np.repeat(y[:, None], n_views, axis=1)
    elif y.ndim == 1 and n_views == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_views:
        expected = f"(n_samples,) or (n_samples, {n_views})" if allow_1d else f"(n, {n_views})"
        raise ValueError(f"{name} must have shape {expected}; got {np.shape(y)}.")
    if len(y) != n_samples:
        raise ValueError(f"{name} has {len(y)} rows, but X has {n_samples} samples.")
    return y, _valid_labels(y)


def _check_mode(latent_mode):
    if latent_mode not in ("mean", "sample"):
        raise ValueError(f"latent_mode must be 'mean' or 'sample'; got {latent_mode!r}.")
    return latent_mode == "sample"


def _sub_seeds(seed, n):
    return check_random_state(seed).randint(np.iinfo(np.int32).max, size=n)


def _rows(arrays, mask, rows):
    return [a[rows] for a in arrays], mask[rows]


def _only(mask, views):
    """A mask keeping only ``views`` (a bool vector or an index) of each row."""
    keep = np.zeros(mask.shape[1], dtype=bool)
    keep[views] = True
    return mask & keep


# ---- latents -------------------------------------------------------------------------
def _latent_block(estimator, arrays, mask, block, sample, seed):
    """``module.latents`` over batches: the ``transform`` block under ``mask``."""
    module = estimator.net_.module_
    return estimator._batched(
        arrays, mask, lambda v, mk: module.latents(v, mk, block, sample), seed=seed
    )


def _view_representation(estimator, arrays, mask, block, m, sample, seed):
    """Representation of view ``m`` encoded from view ``m`` alone (rows observing it)."""
    module = estimator.net_.module_
    mask_m = _only(mask, m)
    parts = []
    if block in ("shared", "all"):
        parts.append(_latent_block(estimator, arrays, mask_m, "shared", sample, seed))
    if block in ("private", "all") and module.has_private:
        dp = module.n_private
        w = _latent_block(estimator, arrays, mask_m, "private", sample, seed + 1)
        parts.append(w[:, m * dp : (m + 1) * dp])
    if block == "per_view":
        d = module.n_latent
        e = _latent_block(estimator, arrays, mask_m, "per_view", sample, seed)
        parts.append(e[:, m * d : (m + 1) * d])
    return np.hstack(parts)


def _posterior_latents(estimator, arrays, mask, sample, seed):
    """The aggregated shared latent given the views in ``mask`` (``"z"``, ``(n, Dz)``)
    and every view's private latent (``"w"``, ``(n, M, Dw)``), means or draws."""
    module = estimator.net_.module_

    def fn(views, mk):
        enc = module.encode(views, mk)
        if sample:
            z = module.shared_sample(enc, mk)
        else:
            z = module.shared_moments(enc, mk)[0]
        out = {"z": z}
        if module.has_private:
            loc, param = enc["private_loc"], enc["private_param"]
            w = module.family.rsample(loc, param) if sample else loc
            out["w"] = w.transpose(0, 1)
        return out

    return estimator._batched(arrays, mask, fn, seed=seed)


def _prior_inputs(estimator, n, seed):
    """Per-view decoder inputs of ``n`` unconditional draws, as ``sample`` makes them:
    the shared latent from the prior or the fitted ex-post sampler, private latents
    from their priors."""
    module = estimator.net_.module_
    module.eval()
    shared = estimator._ex_post_shared(n, seed)
    with torch.no_grad(), _seeded(seed, estimator.device_):
        inputs = module.generate(n, shared)
    return [x.cpu().numpy() for x in inputs]


def _private_prior(estimator, m, n, seed):
    module = estimator.net_.module_
    module.eval()
    with torch.no_grad(), _seeded(seed, estimator.device_):
        return module.private_prior_sample(m, n).cpu().numpy()


# ---- latent classification -----------------------------------------------------------
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
    y_train, y_test = _plain(y_train), _plain(y_test)
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
    _check_fitted_estimator(estimator)
    if latents not in _BLOCKS:
        raise ValueError(f"latents must be one of {_BLOCKS}; got {latents!r}.")
    if latents == "private":
        estimator._check_block("private")
    sample = _check_mode(latent_mode)
    if not per_view and (np.ndim(y_train) != 1 or np.ndim(y_test) != 1):
        raise ValueError("per_view=False needs one label per sample (1-D y_train and y_test).")
    seed = estimator._seed(random_state)
    data = []
    for X, y, name in ((X_train, y_train, "y_train"), (X_test, y_test, "y_test")):
        arrays, mask = _inputs(estimator, X)
        labels, valid = _per_view_labels(y, len(mask), mask.shape[1], name)
        data.append((arrays, mask, labels, valid))
    n_views = data[0][1].shape[1]
    if not per_view:
        reps = []
        for k, (arrays, mask, labels, valid) in enumerate(data):
            keep = valid[:, 0]
            Z = _latent_block(estimator, *_rows(arrays, mask, keep), latents, sample, seed + k)
            reps.append((Z, labels[keep, 0]))
        acc, auc = _probe(classifier, *reps[0], *reps[1], "the probe")
        return {
            "accuracy": acc,
            "auroc": auc,
            "n_train": len(reps[0][1]),
            "n_test": len(reps[1][1]),
        }
    accs, aucs, counts = np.full(n_views, np.nan), np.full(n_views, np.nan), [0, 0]
    seeds = _sub_seeds(seed, 2 * n_views)
    for m in range(n_views):
        reps = []
        for k, (arrays, mask, labels, valid) in enumerate(data):
            keep = mask[:, m] & valid[:, m]
            counts[k] += int(keep.sum())
            if not keep.any():
                reps.append((np.zeros((0, 1)), labels[keep, m]))
                continue
            arr, msk = _rows(arrays, mask, keep)
            Z = _view_representation(estimator, arr, msk, latents, m, sample, seeds[2 * m + k])
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
    _check_fitted_estimator(estimator)
    if not estimator._has_private:
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


# ---- coherence -----------------------------------------------------------------------
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


def _coherence_labels(estimator, mask, y_shared, y_private, classifiers):
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
        labels, valid = _per_view_labels(y, n, n_views, f"y_{key}", allow_1d=key == "shared")
        tasks[key] = (labels, valid, clfs[key])
    if not tasks:
        raise ValueError("Give y_shared or y_private (with their classifiers).")
    return tasks


def _hit_rate(clf, generated, labels, valid):
    if not valid.any():
        return np.nan
    pred = np.asarray(clf.predict(generated[valid]))
    return float(np.mean(pred == _plain(labels[valid])))


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
    _check_fitted_estimator(estimator)
    _check_from(z_from, "z_from")
    _check_from(w_from, "w_from")
    sample = _check_mode(latent_mode)
    arrays, mask = _inputs(estimator, X)
    tasks = _coherence_labels(estimator, mask, y_shared, y_private, classifiers)
    n_views = mask.shape[1]
    module = estimator.net_.module_
    private = module.has_private
    d_z = module.n_latent
    seeds = _sub_seeds(estimator._seed(random_state), 3 * n_views * n_views + 1)
    w_post = None
    if private and w_from == "posterior":
        w_post = _posterior_latents(estimator, arrays, mask, sample, seeds[-1])["w"]
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
            seed = seeds[3 * (s * n_views + t)]
            rows = any_label.copy()
            if z_from == "posterior":
                rows &= mask[:, s]
            if w_post is not None:
                rows &= mask[:, t]
            if not rows.any():
                continue
            n_rows = int(rows.sum())
            if z_from == "posterior":
                arr, msk = _rows(arrays, mask, rows)
                z = _posterior_latents(estimator, arr, _only(msk, s), sample, seed)["z"]
                w_prior = None
            else:
                prior = _prior_inputs(estimator, n_rows, seed)[t]
                z, w_prior = prior[:, :d_z], prior[:, d_z:]
            if not private:
                latent = z
            elif w_post is not None:
                latent = np.hstack([z, w_post[rows, t]])
            elif w_prior is not None:
                latent = np.hstack([z, w_prior])
            else:
                w_t = _private_prior(estimator, t, n_rows, seeds[3 * (s * n_views + t) + 1])
                latent = np.hstack([z, w_t])
            generated = estimator.decode(latent, view=t)
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
    _check_fitted_estimator(estimator)
    _check_from(w_from, "w_from")
    sample = _check_mode(latent_mode)
    arrays, mask = _inputs(estimator, X)
    n_views = mask.shape[1]
    if n_views < 2:
        raise ValueError("leave_one_out_coherence needs at least two views.")
    tasks = _coherence_labels(estimator, mask, y_shared, y_private, classifiers)
    module = estimator.net_.module_
    private = module.has_private
    seeds = _sub_seeds(estimator._seed(random_state), 2 * n_views + 1)
    w_post = None
    if private and w_from == "posterior":
        w_post = _posterior_latents(estimator, arrays, mask, sample, seeds[-1])["w"]
    per_view = {key: np.full(n_views, np.nan) for key in tasks}
    any_label = np.zeros(len(mask), dtype=bool)
    for _, valid, _ in tasks.values():
        any_label |= valid.any(1)
    for t in range(n_views):
        others = np.ones(n_views, dtype=bool)
        others[t] = False
        rows = any_label & (mask & others).any(1)
        if w_post is not None:
            rows &= mask[:, t]
        if not rows.any():
            continue
        arr, msk = _rows(arrays, mask, rows)
        z = _posterior_latents(estimator, arr, _only(msk, others), sample, seeds[2 * t])["z"]
        if not private:
            latent = z
        elif w_post is not None:
            latent = np.hstack([z, w_post[rows, t]])
        else:
            latent = np.hstack([z, _private_prior(estimator, t, len(z), seeds[2 * t + 1])])
        generated = estimator.decode(latent, view=t)
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
    _check_fitted_estimator(estimator)
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


# ---- label-free model selection ------------------------------------------------------
def _selection_inputs(estimator, X, name):
    """A scorer's fitted multimodal VAE (the estimator itself, or the first step of a
    Pipeline, which then receives ``X`` unchanged) and its validated views and mask."""
    if not isinstance(estimator, MultimodalVAE) and hasattr(estimator, "steps"):
        estimator = estimator.steps[0][1]
    if not isinstance(estimator, MultimodalVAE):
        raise TypeError(
            f"{name} scores a fitted skmmvae estimator, or a Pipeline whose first step "
            f"is one; got {type(estimator).__name__}."
        )
    _check_fitted_estimator(estimator)
    arrays, mask = _inputs(estimator, X)
    if mask.shape[1] < 2:
        raise ValueError(f"{name} needs at least two views.")
    return estimator, arrays, mask


def cross_view_agreement(estimator, X, y=None):
    """Label-free score of how well the views agree on the shared latent (higher is
    better; 0.5 is chance, 1 perfect).

    For every ordered pair of views ``(s, t)`` and every sample ``i`` that observes
    both, the shared posterior mean is inferred from view ``s`` alone (``z_s^i``) and
    from view ``t`` alone; the sample scores the share of the other such samples
    ``j`` whose ``z_t^j`` is less cosine-similar to ``z_s^i`` than its own ``z_t^i``
    (ties count half). The score is the mean over samples and pairs: a rank-based,
    scale-free measure of what IDMVAE's CrossMI term (``lambda1``) is for, which the
    ELBO (``score``) penalises. A collapsed shared latent scores 0.5.

    Use it as ``scoring=`` (its signature is ``(estimator, X, y)``), e.g.
    ``GridSearchCV(IDMVAE(), {"lambda1": [0, 10, 80]}, scoring=cross_view_agreement)``;
    on held-out rows, it rewards shared information that generalises.

    Parameters
    ----------
    estimator : fitted MultimodalVAE, or a Pipeline whose first step is one
    X : multi-view input with at least two views
    y : ignored

    Returns
    -------
    score : float
    """
    estimator, arrays, mask = _selection_inputs(estimator, X, "cross_view_agreement")
    n_views = mask.shape[1]
    alone = []
    for m in range(n_views):
        z = _latent_block(estimator, arrays, _only(mask, m), "shared", False, None)
        alone.append(z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12))
    scores = []
    for s in range(n_views):
        for t in range(n_views):
            rows = np.flatnonzero(mask[:, s] & mask[:, t])
            if s == t or len(rows) < 2:
                continue
            zs, zt = alone[s][rows], alone[t][rows]
            for start in range(0, len(rows), 1024):
                sim = zs[start : start + 1024] @ zt.T  # (chunk, n)
                own = sim[np.arange(len(sim)), np.arange(start, start + len(sim))][:, None]
                lower = (sim < own).sum(1) + 0.5 * ((sim == own).sum(1) - 1)
                scores.append(lower / (len(rows) - 1))
    if not scores:
        raise ValueError("cross_view_agreement needs samples that observe two views.")
    return float(np.mean(np.concatenate(scores)))


def leave_one_view_out_score(estimator, X, y=None):
    """Label-free score of predicting each view from the others (higher is better; 0
    is perfect, -1 is as good as predicting each feature's mean).

    Every view ``t`` of the samples that observe it and at least one other view is
    hidden and imputed from the rest (``impute``: the method's own aggregation of the
    observed views, and its rule for a missing view's private latent); the score is
    minus the standardised mean squared error (each feature's MSE divided by its
    variance over these samples; constant features left out), averaged over features
    and views. Use it as ``scoring=`` in ``GridSearchCV``.

    Parameters
    ----------
    estimator : fitted MultimodalVAE, or a Pipeline whose first step is one
    X : multi-view input with at least two views
    y : ignored

    Returns
    -------
    score : float
    """
    estimator, arrays, mask = _selection_inputs(estimator, X, "leave_one_view_out_score")
    n_views = mask.shape[1]
    errors = []
    for t in range(n_views):
        others = np.ones(n_views, dtype=bool)
        others[t] = False
        rows = mask[:, t] & (mask & others).any(1)
        if rows.sum() < 2:
            continue
        arr, msk = _rows(arrays, mask, rows)
        hidden = msk.copy()
        hidden[:, t] = False
        n = len(arr[t])
        true = np.asarray(arr[t], dtype=np.float64).reshape(n, -1)
        filled = estimator.impute(MultiView(arr, mask=hidden)).views[t]
        pred = np.asarray(filled, dtype=np.float64).reshape(n, -1)
        var = true.var(0)
        keep = var > 0
        if keep.any():
            errors.append(np.mean(((pred - true) ** 2).mean(0)[keep] / var[keep]))
    if not errors:
        raise ValueError("leave_one_view_out_score needs samples that observe two views.")
    return -float(np.mean(errors))


# ---- log-likelihood ------------------------------------------------------------------
def _view_set(views, n_views, name):
    if isinstance(views, numbers.Integral):
        views = [views]
    views = list(views)
    if not views:
        raise ValueError(f"{name} must name at least one view.")
    out = np.zeros(n_views, dtype=bool)
    for v in views:
        if not isinstance(v, numbers.Integral) or not 0 <= v < n_views:
            raise ValueError(f"{name} must hold view indices in [0, {n_views}); got {views!r}.")
        out[v] = True
    return out


def _draw_proposal(module, views, pmask, smask, K):
    """``K`` draws per sample from the importance proposal given the views in
    ``pmask``: ``z`` ``(K, B, Dz)``, the private latents of the views in ``pmask``
    from their posteriors and of the other scored views from their priors (list of
    ``(K, B, Dw)`` or None), and ``log q`` ``(K, B)`` of the posterior draws."""
    z, log_q, enc = module.importance_proposal(views, pmask, K)
    w = [None] * module.n_views
    if module.has_private:
        fam = module.family
        B = pmask.shape[0]
        for m in range(module.n_views):
            need_prior = bool((smask[:, m] & ~pmask[:, m]).any())
            if not (pmask[:, m].any() or need_prior):
                continue
            loc, param = enc["private_loc"][m], enc["private_param"][m]
            w_m = fam.rsample(loc, param, K)
            if need_prior:
                prior = module.private_prior_sample(m, K * B).reshape(K, B, -1)
                w_m = torch.where(pmask[:, m, None], w_m, prior)
            log_q = log_q + torch.where(pmask[:, m], fam.log_prob(w_m, loc, param), 0.0)
            w[m] = w_m
    return {"z": z, "w": w, "log_q": log_q}


def _score_draws(module, views, pmask, smask, draws, joint):
    """Log importance weights ``(K, B)`` of the draws.

    Joint: ``log p(x_T | z, w) + log p(z) + log p(w) - log q(z, w | x_T)``;
    conditional: ``log p(x_T | z, w_T)`` (the proposal is the conditional).
    """
    z = draws["z"]
    log_w = torch.zeros(z.shape[:-1], device=z.device)
    for m in range(module.n_views):
        if not smask[:, m].any():
            continue
        latent = z if draws["w"][m] is None else torch.cat([z, draws["w"][m]], -1)
        ll = module.log_likelihood(m, views[m], latent)
        log_w = log_w + torch.where(smask[:, m], ll, 0.0)
    if joint:
        log_w = log_w + module.log_prior(z) - draws["log_q"]
        for m, w_m in enumerate(draws["w"]):
            if w_m is not None:
                log_w = log_w + torch.where(pmask[:, m], module.private_log_prior(m, w_m), 0.0)
    return log_w


def _importance_batches(
    estimator, X, K, target_views, conditioning_views, batch_size, random_state
):
    """Validate, then return ``ok`` (samples with a target and a proposal view) and
    an iterator of ``(rows, log_w)``: the log importance weights ``(K, B)`` (float64,
    on the data's scale) of consecutive batches of rows."""
    _check_fitted_estimator(estimator)
    if not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K must be a positive integer; got {K!r}.")
    if batch_size is None:
        batch_size = max(1, 4096 // int(K))
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    arrays, mask = _inputs(estimator, X)
    n_views = mask.shape[1]
    target = (
        np.ones(n_views, dtype=bool)
        if target_views is None
        else _view_set(target_views, n_views, "target_views")
    )
    joint = conditioning_views is None
    if joint:
        cond = target
    else:
        cond = _view_set(conditioning_views, n_views, "conditioning_views")
        if (cond & target).any():
            raise ValueError("target_views and conditioning_views must not share a view.")
    pmask, smask = mask & cond, mask & target
    ok = pmask.any(1) & smask.any(1)
    pmask = np.where(ok[:, None], pmask, mask)  # rows left out still need a proposal
    smask = smask & ok[:, None]
    module = estimator.net_.module_
    device = estimator.device_
    data = ViewData(estimator._to_network(arrays, mask), mask, device)
    pm, sm = torch.as_tensor(pmask, device=device), torch.as_tensor(smask, device=device)
    log_det = smask @ np.array([s.log_det for s in estimator.modalities_])
    seed = estimator._seed(random_state)

    def batches():
        module.eval()
        with torch.no_grad(), _seeded(seed, device):
            for start in range(0, len(mask), batch_size):
                stop = min(start + batch_size, len(mask))
                idx = torch.arange(start, stop, device=device)
                views, p, s = data.take(idx).views, pm[idx], sm[idx]
                draws = _draw_proposal(module, views, p, s, int(K))
                log_w = _score_draws(module, views, p, s, draws, joint)  # (K, B)
                rows = np.arange(start, stop)
                yield rows, log_w.double().cpu().numpy() + log_det[rows]

    return ok, batches()


def _importance_log_weights(
    estimator, X, K, target_views=None, conditioning_views=None, batch_size=None, random_state=None
):
    """All log importance weights, ``(K, n_samples)`` (for tests and diagnostics)."""
    ok, batches = _importance_batches(
        estimator, X, K, target_views, conditioning_views, batch_size, random_state
    )
    return np.concatenate([log_w for _, log_w in batches], axis=1), ok


def _log_mean_exp(a, axis=0):
    """``log mean exp`` of ``a`` along ``axis`` (the K draws of importance weights)."""
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


def log_likelihood(
    estimator,
    X,
    K=1000,
    *,
    target_views=None,
    conditioning_views=None,
    batch_size=None,
    random_state=None,
):
    """Importance-sampled log-likelihood of each sample, in nats.

    Joint (``conditioning_views=None``): ``log p(x_T)`` of the target views,
    estimated as ``log (1/K) sum_k p(x_T, z_k, w_k) / q(z_k, w_k | x_T)`` with ``K``
    draws from the method's aggregated posterior given the target views: the
    product of experts (MVAE, PrivateSharedVAE), the mixture of the observed
    experts (MMVAE, MMVAE+, IDMVAE) or the mixture of the subset products (MoPoE),
    each with its exact density; private latents ``w_m`` come from their
    posteriors ``q(w_m | x_m)``. The ``K`` draws of a batch of ``B`` samples are
    laid out ``(K, B)`` and averaged over the first axis (log-mean-exp). The
    estimate is a stochastic lower bound that tightens as ``K`` grows (the IWAE
    bound); with ``K=1`` it is an unbiased estimate of the ELBO of the proposal.

    Conditional (``conditioning_views`` given): ``log p(x_T | x_C)`` estimated as
    ``log (1/K) sum_k p(x_T | z_k, w_k)`` with ``z_k`` from the aggregated posterior
    given the conditioning views and the targets' private latents from their
    priors (they are not observed); this is the likelihood of the targets under
    the model's amortised conditional ``q(z | x_C) p(w_T)`` (MMVAE's cross
    likelihood), which needs no prior density.

    Views missing in a sample are left out of its ``T`` and ``C``. Standardised
    gaussian views are scored on the data's original scale (as
    :meth:`~skmmvae.base.MultimodalVAE.score_samples`), and view weights are not
    applied.

    Parameters
    ----------
    estimator : fitted MultimodalVAE
    X : multi-view input
    K : int, default=1000
        Importance samples per sample.
    target_views : int or list of int, default=None
        The scored views; None: all.
    conditioning_views : int or list of int, default=None
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
        MMVM (data-dependent prior, no joint density), overlapping or unknown views,
        or a bad ``K``.
    """
    ok, batches = _importance_batches(
        estimator, X, K, target_views, conditioning_views, batch_size, random_state
    )
    out = np.full(len(ok), np.nan)
    for rows, log_w in batches:
        out[rows] = _log_mean_exp(log_w, axis=0)
    out[~ok] = np.nan
    return out


# ---- evaluation classifiers ----------------------------------------------------------
class _SmallCNN(nn.Module):
    def __init__(self, in_channels, n_classes, channels, hidden):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, stride=2, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),  # keeps a coarse layout (e.g. which quadrant)
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * c2, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x):
        return self.head(self.features(x))


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """A small convolutional classifier of images ``(n, C, H, W)``, sklearn style.

    Two stride-2 convolutions (batch norm, ReLU), adaptive average pooling to 4 x 4
    (so the position of a pattern stays visible), and an MLP head; trained with Adam
    and cross-entropy. Inputs are standardised with the training mean and standard
    deviation of each channel.

    Parameters
    ----------
    channels : tuple of two int, default=(32, 64)
    hidden : int, default=128
    max_epochs : int, default=10
    batch_size : int, default=64
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    device : str, default="cpu"
        Torch device ("cuda" to train on a GPU).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    classes_ : ndarray
    model_ : torch.nn.Module
    """

    def __init__(
        self,
        channels=(32, 64),
        hidden=128,
        max_epochs=10,
        batch_size=64,
        lr=1e-3,
        weight_decay=0.0,
        device="cpu",
        random_state=None,
    ):
        self.channels = channels
        self.hidden = hidden
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state

    @staticmethod
    def _check_images(X):
        X = np.asarray(X)
        if X.ndim != 4:
            raise ValueError(f"ImageClassifier expects images (n, C, H, W); got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("Images must be finite.")
        return X

    def _tensor(self, X):
        X = (np.asarray(X, dtype=np.float32) - self.mean_) / self.std_
        return torch.as_tensor(X)

    def fit(self, X, y):
        """Train on images ``X`` and labels ``y``."""
        X = self._check_images(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError("y must have shape (n_samples,) matching X.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("ImageClassifier needs at least two classes.")
        for name in ("max_epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        self.mean_ = X.mean(axis=(0, 2, 3), keepdims=True).astype(np.float32)[0]
        self.std_ = (X.std(axis=(0, 2, 3), keepdims=True) + 1e-6).astype(np.float32)[0]
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.RandomState(seed)
        device = torch.device(self.device)
        data = self._tensor(X).to(device)
        target = torch.as_tensor(codes, dtype=torch.long, device=device)
        with _seeded(seed, device):
            model = _SmallCNN(X.shape[1], len(self.classes_), self.channels, self.hidden)
            model.to(device).train()
            opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            loss_fn = nn.CrossEntropyLoss()
            for _ in range(self.max_epochs):
                order = torch.as_tensor(rng.permutation(len(X)), device=device)
                for start in range(0, len(X), self.batch_size):
                    idx = order[start : start + self.batch_size]
                    if len(idx) < 2:  # batch norm needs two samples
                        continue
                    opt.zero_grad()
                    loss = loss_fn(model(data[idx]), target[idx])
                    loss.backward()
                    opt.step()
        self.model_ = model.eval()
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def predict_proba(self, X):
        """Class probabilities, ``(n_samples, n_classes)``."""
        check_is_fitted(self, "model_")
        X = self._check_images(X)
        device = next(self.model_.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, len(X), 512):
                batch = self._tensor(X[start : start + 512]).to(device)
                out.append(torch.softmax(self.model_(batch), -1).cpu().numpy())
        if not out:
            return np.zeros((0, len(self.classes_)))
        return np.concatenate(out).astype(np.float64)

    def predict(self, X):
        """Most probable class of each image."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _flatten(X):
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def _make_classifier(kind, ndim, random_state, max_epochs, device):
    if not isinstance(kind, str):
        if not hasattr(kind, "fit"):
            raise TypeError(f"kind must be a string or a sklearn classifier; got {kind!r}.")
        return clone(kind)
    if kind == "auto":
        kind = "cnn" if ndim == 4 else "logistic"
    if kind == "cnn":
        if ndim != 4:
            raise ValueError("kind='cnn' needs image views (n, C, H, W).")
        return ImageClassifier(max_epochs=max_epochs, device=device, random_state=random_state)
    if kind == "logistic":
        return make_pipeline(
            FunctionTransformer(_flatten), StandardScaler(), LogisticRegression(max_iter=1000)
        )
    if kind == "mlp":
        return make_pipeline(
            FunctionTransformer(_flatten),
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(128,), max_iter=500, random_state=random_state),
        )
    raise ValueError(
        f"kind must be 'auto', 'cnn', 'logistic', 'mlp' or a classifier; got {kind!r}."
    )


def train_view_classifiers(X, y, *, kind="auto", random_state=None, max_epochs=10, device="cpu"):
    """Fit one evaluation classifier per view on real data.

    Parameters
    ----------
    X : multi-view input
        Missing views of a sample are left out of that view's training data.
    y : array-like of shape (n_samples,) or (n_samples, n_views)
        A 1-D label (e.g. the shared class) is predicted from every view; a 2-D
        label gives view ``m`` its own column (e.g. a private class). ``-1`` or NaN:
        unlabelled, left out.
    kind : {"auto", "cnn", "logistic", "mlp"}, classifier, or list of them
        ``"cnn"``: :class:`ImageClassifier` (image views only); ``"logistic"``:
        standardisation and ``LogisticRegression(max_iter=1000)``; ``"mlp"``:
        standardisation and ``MLPClassifier((128,))``; ``"auto"``: cnn for images
        ``(n, C, H, W)``, logistic for tables. A sklearn classifier is cloned. A
        list gives one choice per view. Images given to a table classifier are
        flattened.
    random_state : int, RandomState instance or None, default=None
    max_epochs : int, default=10
        Training epochs of the CNN.
    device : str, default="cpu"
        Torch device of the CNN.

    Returns
    -------
    classifiers : list
        One fitted classifier per view (``fit`` / ``predict`` / ``predict_proba`` /
        ``score``), ready for the coherence metrics.
    """
    arrays, mask = check_views(X)
    n_views = len(arrays)
    labels, valid = _per_view_labels(y, len(mask), n_views, "y")
    kinds = list(kind) if isinstance(kind, (list, tuple)) else [kind] * n_views
    if len(kinds) != n_views:
        raise ValueError(f"kind must be one choice or one per view ({n_views}).")
    seeds = _sub_seeds(random_state, n_views)
    out = []
    for m, (a, k) in enumerate(zip(arrays, kinds)):
        rows = mask[:, m] & valid[:, m]
        target = _plain(labels[rows, m])
        if len(np.unique(target)) < 2:
            raise ValueError(f"View {m}: the classifier needs labelled samples of two classes.")
        clf = _make_classifier(k, a.ndim, int(seeds[m]), max_epochs, device)
        out.append(clf.fit(a[rows], target))
    return out
