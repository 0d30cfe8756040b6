"""The public conditional API of every method: ``transform`` / ``encode`` with
``cond_views``, ``generate`` (any views from any subset), ``log_likelihood``."""

import numpy as np
import pytest
import torch

from skmmvae import IDMVAE, MMVM, MVAE, MMVAEPlus, MultiView, make_shared_private, methods

from .conftest import FAST

METHODS = methods.estimators()
PRIVATE = methods.estimators(private_latents=True)


def _without(X, views):
    """``X`` with ``views`` missing in every row (NaN), as a user masks by hand."""
    return MultiView([np.full_like(v, np.nan) if m in views else v for m, v in enumerate(X.views)])


@pytest.mark.parametrize("cls", METHODS)
def test_cond_views_equal_masking_the_other_views_by_hand(cls, fitted, data):
    est, X = fitted(cls), data[0]
    for m in range(3):
        by_hand = _without(X, [v for v in range(3) if v != m])
        for block in ("shared", "per_view") + (("private",) if cls.has_private_latents else ()):
            np.testing.assert_allclose(
                est.transform(X, latents=block, cond_views=[m]),
                est.transform(by_hand, latents=block),
                rtol=1e-5,
                atol=1e-6,
            )
        np.testing.assert_allclose(
            est.encode(X, cond_views=m)["shared_mean"],
            est.encode(by_hand)["shared_mean"],
            rtol=1e-5,
            atol=1e-6,
        )


@pytest.mark.parametrize("cls", METHODS)
def test_generate_ignores_the_views_not_conditioned_on(cls, fitted, data, rng):
    """Views outside ``cond_views`` may hold anything: the generation is the same."""
    est, X = fitted(cls), data[0]
    noisy = MultiView([X.views[0], rng.randn(len(X), 6) * 10, rng.randn(len(X), 6) * 10])
    for mode in ("mean", "sample"):
        kw = dict(cond_views=[0], gen_views=[1, 2], latent_mode=mode, random_state=3)
        a, b = est.generate(X, **kw), est.generate(noisy, **kw)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    # ... and the conditioned view matters
    other = est.generate(noisy, cond_views=[1], gen_views=[2], random_state=3)[0]
    assert not np.allclose(other, a[1])


def test_generate_from_a_view_recovers_what_the_views_share():
    """On data whose views share a latent factor, view 1 generated from view 0 is
    closer to the real view 1 than view 1 generated from the prior."""
    X, _, _ = make_shared_private(n_samples=400, n_views=2, n_features=8, random_state=1)
    est = MVAE(n_latent=4, max_epochs=40, batch_size=32, hidden_layer_sizes=(32,), random_state=0)
    est.fit(X)
    truth = X.views[1]
    cross = est.generate(X, cond_views=[0], gen_views=1)
    prior = est.generate(X, cond_views=[], gen_views=1, random_state=0)
    assert np.mean((cross - truth) ** 2) < 0.8 * np.mean((prior - truth) ** 2)


@pytest.mark.parametrize("cls", PRIVATE)
def test_private_latents_from_other_samples(cls, fitted, data):
    """``private=P`` decodes X's shared latent with P's private latents: equal to
    decoding the two representations side by side, and to ``"posterior"`` when P is X."""
    est, X = fitted(cls), data[0]
    perm = np.random.RandomState(0).permutation(len(X))
    P = X[perm]
    got = est.generate(X, cond_views=[0], gen_views=1, private=P)
    z = est.transform(X, latents="shared", cond_views=[0])
    w1 = est.transform(P, latents="private")[:, est.n_private : 2 * est.n_private]
    np.testing.assert_allclose(got, est.decode(np.hstack([z, w1]), view=1), rtol=1e-5, atol=1e-6)
    own = est.generate(X, cond_views=[0], gen_views=1, private="posterior")
    same = est.generate(X, cond_views=[0], gen_views=1, private=X)
    np.testing.assert_array_equal(own, same)
    assert not np.allclose(got, own)


@pytest.mark.parametrize("cls", [MMVM, IDMVAE, MMVAEPlus])
def test_unconditional_generation_has_the_views_shapes(cls, fitted, data):
    """``cond_views=[]`` draws the shared latent as ``sample`` does (the ex-post
    mixture of MMVM holds one latent per view), one per row of X."""
    est, X = fitted(cls), data[0]
    out = est.generate(X[:10], cond_views=[], random_state=0)
    assert [o.shape for o in out] == [(10, 6)] * 3
    assert all(np.isfinite(o).all() for o in out)
    again = est.generate(X[:10], cond_views=[], random_state=0)
    np.testing.assert_array_equal(out[2], again[2])


def test_generate_bad_inputs(fitted, data):
    est, X = fitted(MMVAEPlus), data[0]
    partial = MultiView(X.views, mask=np.repeat([[True, False, True]], len(X), axis=0))
    with pytest.raises(ValueError, match="observe none of cond_views"):
        est.generate(partial, cond_views=[1])
    with pytest.raises(ValueError, match="miss the generated views"):
        est.generate(partial, cond_views=[0], gen_views=1, private="posterior")
    with pytest.raises(ValueError, match="give one sample of private per sample"):
        est.generate(X, cond_views=[0], private=X[:5])
    with pytest.raises(ValueError, match="private must be"):
        est.generate(X, cond_views=[0], private="likelihood")
    with pytest.raises(ValueError, match="gen_views"):
        est.generate(X, gen_views=[3])
    with pytest.raises(ValueError, match="cond_views"):
        est.generate(X, cond_views=[0, -1])
    with pytest.raises(ValueError, match="latent_mode"):
        est.generate(X, latent_mode="median")
    with pytest.raises(ValueError, match="observe none of cond_views"):
        est.transform(partial, cond_views=1)
    assert isinstance(est.generate(X, cond_views=[0], gen_views=[2]), list)
    assert est.generate(X, cond_views=[0], gen_views=2).shape == (len(X), 6)


def test_private_blocks_names_and_missing_views():
    X, _, _ = make_shared_private(
        n_samples=60, n_views=3, n_features=5, missing_rate=0.3, random_state=0
    )
    est = IDMVAE(n_shared=2, n_private=3, **FAST).fit(X)
    names = est.get_feature_names_out().tolist()
    assert names[:2] == ["z0", "z1"] and names[2:5] == ["w0_0", "w0_1", "w0_2"]
    assert len(names) == 2 + 3 * 3
    W = est.transform(X, latents="private").reshape(60, 3, 3)
    observed = ~np.isnan(np.stack([v[:, 0] for v in X.views], 1))
    assert np.all(W[~observed] == 0) and np.all(np.any(W[observed] != 0, axis=-1))
    assert est.transform(X, latents="per_view").shape == (60, 6)
    params = est.encode(X)
    assert params["private_loc"].shape == (60, 3, 3) and (params["private_scale"] > 0).all()
    np.testing.assert_allclose(
        est.transform(X, latents="all")[:, 2:5],
        params["private_loc"][:, 0] * observed[:, [0]],
        rtol=1e-6,
    )


def test_impute_draws_private_latents_reproducibly():
    X, _, _ = make_shared_private(
        n_samples=40, n_views=2, n_features=4, missing_rate=0.4, random_state=0
    )
    est = MMVAEPlus(n_shared=2, n_private=2, **FAST).fit(X)
    a, b = est.impute(X), est.impute(X)
    np.testing.assert_array_equal(a.views[0], b.views[0])
    mean_est = MMVAEPlus(n_shared=2, n_private=2, private_scale=0.0, **FAST).fit(X)
    module = mean_est.net_.module_
    out = mean_est.impute(X).views[1]
    missing = np.isnan(X.views[1][:, 0])
    z = mean_est.transform(X, latents="shared")[missing]
    inp = torch.as_tensor(np.hstack([z, np.zeros((len(z), 2))]), dtype=torch.float32)
    with torch.no_grad():
        expect = mean_est.modalities_[1].from_model(module.decode(1, inp).numpy())
    np.testing.assert_allclose(out[missing], expect, rtol=1e-5, atol=1e-6)
