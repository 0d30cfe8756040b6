import numpy as np
import pytest
import torch

from skmmvae import MultiView, make_shared_private

FAST = dict(max_epochs=2, batch_size=32, hidden_layer_sizes=(16,), random_state=0)


def random_views(n, widths=(4, 3, 2), seed=0):
    """Gaussian tables, one per view, ``n`` rows each."""
    rng = np.random.RandomState(seed)
    return [rng.randn(n, w) for w in widths]


def build_module(est, views, mask=None):
    """The torch module ``est`` would train on ``views`` (observed where ``mask``,
    default everywhere; hidden (8,), seeded), and the views as model tensors."""
    from skmmvae.modalities import resolve_modalities

    mask = np.ones((len(views[0]), len(views)), bool) if mask is None else mask
    specs = resolve_modalities(est.modalities, views, mask, (8,))
    torch.manual_seed(0)
    module = est._build_module(specs)
    return module, [torch.as_tensor(s.to_model(v)) for s, v in zip(specs, views)]


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
    if cls.has_private_latents:
        return cls(n_shared=dim, n_private=dim, **params)
    return cls(n_latent=dim, **params)


N_TRAIN = 120  # rows of ``data`` that train; the rest test


@pytest.fixture(scope="session")
def data():
    """Three views with a shared and a private class: train X, y, y_private, then test."""
    X, y, yp = make_shared_private(n_samples=200, n_views=3, n_features=6, random_state=0)
    return X[:N_TRAIN], y[:N_TRAIN], yp[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:], yp[N_TRAIN:]


@pytest.fixture(scope="session")
def fitted(data):
    """``fitted(cls)``: a small model of ``cls`` fitted once per session on ``data``."""
    cache = {}

    def get(cls):
        if cls not in cache:
            cache[cls] = build(cls, 2, **FAST).fit(data[0])
        return cache[cls]

    return get
