import numpy as np
import pytest
import torch

from skmmvae import MultiView, make_shared_private

FAST = dict(max_epochs=2, batch_size=32, hidden_layer_sizes=(16,), random_state=0)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tables():
    """Three small tabular views with known shared structure."""
    X, y, _ = make_shared_private(n_samples=96, n_views=3, n_features=6, random_state=0)
    return X, y


@pytest.fixture
def missing_tables():
    X, y, _ = make_shared_private(
        n_samples=96, n_views=3, n_features=6, missing_rate=0.3, random_state=1
    )
    return X, y


@pytest.fixture
def rng():
    return np.random.RandomState(0)


def as_multiview(arrays):
    return MultiView([np.asarray(a) for a in arrays])


def build(cls, dim=2, **params):
    """An estimator of ``cls`` with latent size ``dim`` (shared and private alike)."""
    if cls._has_private:
        return cls(n_shared=dim, n_private=dim, **params)
    return cls(n_latent=dim, **params)
