"""decode: given latents into views, against reconstruct."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skmmvae import (
    MMVM,
    MVAE,
    MMVAEPlus,
    PrivateSharedVAE,
)


@pytest.mark.parametrize("cls", [MVAE, MMVAEPlus, PrivateSharedVAE, MMVM])
def test_decode_reproduces_reconstruct(cls, fitted, data):
    X = data[3]
    est = fitted(cls)
    recon = est.reconstruct(X).views
    if cls is MMVM:
        Z = est.transform(X, latents="per_view").reshape(len(X), 3, -1)
        latents = [Z[:, m] for m in range(3)]
    else:
        z = est.transform(X, latents="shared")
        if cls.has_private_latents:
            W = est.transform(X, latents="private").reshape(len(X), 3, -1)
            latents = [np.hstack([z, W[:, m]]) for m in range(3)]
        else:
            latents = z
    decoded = est.decode(latents)
    for m in range(3):
        np.testing.assert_allclose(decoded[m], recon[m], rtol=1e-5, atol=1e-5)
        one = latents[m] if isinstance(latents, list) else latents
        np.testing.assert_allclose(est.decode(one, view=m), recon[m], rtol=1e-5, atol=1e-5)
    noisy = est.decode(latents, noise=True, random_state=0)
    assert all(np.isfinite(v).all() for v in noisy)


def test_decode_errors(fitted):
    est = fitted(MMVAEPlus)
    with pytest.raises(ValueError, match="columns"):
        est.decode(np.zeros((4, 2)), view=0)
    with pytest.raises(ValueError, match="view"):
        est.decode(np.zeros((4, 4)), view=3)
    with pytest.raises(ValueError, match="same number of rows"):
        est.decode([np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((3, 4))])
    with pytest.raises(NotFittedError):
        MVAE().decode(np.zeros((2, 2)))
