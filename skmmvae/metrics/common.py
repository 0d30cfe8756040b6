"""What the metrics share: checking the estimator, the views and the labels, and
latents through the estimators' public conditional API."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..base import MultimodalVAE
from ..views import MultiView, check_views

__all__ = [
    "BLOCKS",
    "base_seed",
    "check_fitted_estimator",
    "check_mode",
    "evaluation_views",
    "latent_sizes",
    "per_view_labels",
    "plain",
    "representation",
    "sub_seeds",
    "valid_labels",
]

BLOCKS = ("shared", "private", "all", "per_view")


def check_fitted_estimator(estimator):
    if not isinstance(estimator, MultimodalVAE):
        raise TypeError(
            f"estimator must be a skmmvae estimator (a MultimodalVAE); got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def evaluation_views(estimator, X):
    """``X`` as a :class:`MultiView` split like the estimator's training input, and
    its mask of observed views ``(n_samples, n_views)``."""
    arrays, mask = check_views(X, estimator.views)
    if len(arrays) != estimator.n_views_:
        raise ValueError(
            f"X has {len(arrays)} views, but {type(estimator).__name__} was fitted on "
            f"{estimator.n_views_}."
        )
    return MultiView(arrays, mask=mask), mask


def valid_labels(y):
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


def plain(labels):
    """Labels of an object array (e.g. with None for unlabelled) as a typed array."""
    return np.array(labels.tolist()) if labels.dtype == object else labels


def per_view_labels(y, n_samples, n_views, name, allow_1d=True):
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
    return y, valid_labels(y)


def check_mode(latent_mode):
    if latent_mode not in ("mean", "sample"):
        raise ValueError(f"latent_mode must be 'mean' or 'sample'; got {latent_mode!r}.")
    return latent_mode


def sub_seeds(seed, n):
    return check_random_state(seed).randint(np.iinfo(np.int32).max, size=n)


def base_seed(estimator, random_state):
    """One integer seed from ``random_state`` (None: the estimator's)."""
    rs = estimator.random_state if random_state is None else random_state
    return int(check_random_state(rs).randint(np.iinfo(np.int32).max))


def representation(estimator, X, block, latent_mode, seed, view=None):
    """``transform`` block ``block`` of ``X`` as a plain array; with ``view``, the
    latents inferred from that view alone, and of the private and per-view blocks
    only that view's columns."""
    cond = None if view is None else [view]
    Z = estimator.transform(
        X, latents=block, latent_mode=latent_mode, cond_views=cond, random_state=int(seed)
    )
    Z = np.asarray(Z)
    if view is None or block == "shared":
        return Z
    d_z, d_w = latent_sizes(estimator)
    if block == "per_view":
        return Z[:, view * d_z : (view + 1) * d_z]
    if block == "private":
        return Z[:, view * d_w : (view + 1) * d_w]
    # "all": z, then every view's w
    return np.hstack([Z[:, :d_z], Z[:, d_z + view * d_w : d_z + (view + 1) * d_w]])


def latent_sizes(estimator):
    """Sizes of the shared latent and of each view's private latent (0 without)."""
    if hasattr(estimator, "n_shared"):
        return int(estimator.n_shared), int(getattr(estimator, "n_private", 0))
    return int(estimator.n_latent), 0
