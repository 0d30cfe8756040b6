"""Synthetic multi-view tables with known shared and private factors."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..views import MultiView
from ._utils import _hide_views


def make_shared_private(
    n_samples=1000,
    n_views=3,
    n_features=20,
    n_shared_classes=4,
    n_private_classes=3,
    n_shared=4,
    n_private=2,
    noise=0.1,
    missing_rate=0.0,
    random_state=None,
):
    """Tabular views generated from a shared class and a private class per view.

    Each sample has a shared class ``y`` and, per view ``m``, a private class
    ``y_private[:, m]``. Each class is a Gaussian cluster in its latent space
    (shared: ``n_shared`` dims, private: ``n_private`` dims per view); view ``m`` is
    a random two-layer tanh map of ``[shared, private_m]`` plus Gaussian noise.

    Parameters
    ----------
    n_samples : int, default=1000
    n_views : int, default=3
    n_features : int or list of int, default=20
        Features per view.
    n_shared_classes, n_private_classes : int
        Numbers of classes of the shared and of each private factor.
    n_shared, n_private : int
        Dimensions of the shared and private latent factors.
    noise : float, default=0.1
        Standard deviation of the observation noise.
    missing_rate : float, default=0.0
        Share of (sample, view) entries set missing (all-NaN rows), never all views
        of a sample.
    random_state : int, RandomState instance or None

    Returns
    -------
    X : MultiView
    y : ndarray of shape (n_samples,)
        Shared class.
    y_private : ndarray of shape (n_samples, n_views)
        Private class of each view.
    """
    rng = check_random_state(random_state)
    widths = [n_features] * n_views if np.isscalar(n_features) else list(n_features)
    if len(widths) != n_views:
        raise ValueError("n_features must be an int or one width per view.")
    if not 0 <= missing_rate < 1:
        raise ValueError("missing_rate must be in [0, 1).")
    y = rng.randint(n_shared_classes, size=n_samples)
    centers = 2.0 * rng.randn(n_shared_classes, n_shared)
    shared = centers[y] + 0.3 * rng.randn(n_samples, n_shared)
    y_private = rng.randint(n_private_classes, size=(n_samples, n_views))
    views = []
    for m, width in enumerate(widths):
        p_centers = 2.0 * rng.randn(n_private_classes, n_private)
        private = p_centers[y_private[:, m]] + 0.3 * rng.randn(n_samples, n_private)
        latent = np.hstack([shared, private])
        w1 = rng.randn(latent.shape[1], 2 * width) / np.sqrt(latent.shape[1])
        w2 = rng.randn(2 * width, width) / np.sqrt(2 * width)
        x = np.tanh(latent @ w1) @ w2 + noise * rng.randn(n_samples, width)
        views.append(x)
    _hide_views(views, missing_rate, rng)
    return MultiView(views), y, y_private
