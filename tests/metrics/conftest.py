"""Fixtures of the metrics tests (the small fitted models, ``data`` and ``fitted``, are
the session's, in tests/conftest.py): evaluation classifiers, a trained MVAE, one
thread, the method lists."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from skmmvae import (
    MVAE,
    make_shared_private,
    methods,
)
from skmmvae.metrics import (
    train_view_classifiers,
)

METHODS = methods.estimators()
PRIVATE = methods.estimators(private_latents=True)
NO_PRIVATE = methods.estimators(private_latents=False)
WITH_LIKELIHOOD = methods.estimators(likelihood="joint")


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    """Tiny networks and mixtures run fastest single-threaded (no fight for the cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def view_clfs(data):
    X, y, yp = data[:3]
    return {"shared": train_view_classifiers(X, y), "private": train_view_classifiers(X, yp)}


@pytest.fixture(scope="package")
def trained_mvae():
    """An MVAE trained long enough for its latents and generations to carry labels."""
    X, y, yp = make_shared_private(n_samples=400, n_views=2, n_features=8, random_state=1)
    est = MVAE(n_latent=4, max_epochs=25, batch_size=32, hidden_layer_sizes=(32,), random_state=0)
    return est.fit(X[:300]), X, y


def in_unit(x):
    x = np.asarray(x, dtype=float)
    return bool(np.all((x >= 0) & (x <= 1)))


def quadrant_images(n, rng):
    """3x16x16 noise images with a bright square in one of the four quadrants."""
    X = 0.1 * rng.rand(n, 3, 16, 16).astype(np.float32)
    quadrant = rng.randint(4, size=n)
    for i, q in enumerate(quadrant):
        r, c = 8 * (q // 2) + rng.randint(3), 8 * (q % 2) + rng.randint(3)
        X[i, :, r : r + 5, c : c + 5] = 1.0
    return X, quadrant
