"""Hostile calls on the public API: each test pins one reliability fix."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skmmvae import (
    DMVAE,
    IDMVAE,
    MMVAE,
    MMVM,
    MVAE,
    Modality,
    MultiView,
    PrivateSharedVAE,
    check_views,
    make_shared_private,
)
from skmmvae.modalities import resolve_modalities
from skmmvae.sampling import ExPostGMM

TINY = dict(max_epochs=1, hidden_layer_sizes=(8,), random_state=0)


def tiny(cls, dim=2, **params):
    params = {**TINY, **params}
    if cls.has_private_latents:
        return cls(n_shared=dim, n_private=dim, **params)
    return cls(n_latent=dim, **params)


def two_views(n=24, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return [rng.randn(n, 3).astype(dtype), rng.randn(n, 2).astype(dtype)]


class BatchCounter(Callback):
    """Counts the training batches of each epoch."""

    def initialize(self):
        self.per_epoch = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.per_epoch.append(0)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.per_epoch[-1] += 1


# ---- 1. float16 input: statistics in float64 -------------------------------------------
def test_float16_view_is_standardised_with_float64_statistics():
    rng = np.random.RandomState(0)
    a = (rng.randn(40, 3) * 200 + 300).astype(np.float16)  # squares overflow float16
    b = rng.randn(40, 2)
    est = tiny(MVAE).fit(MultiView([a, b]))
    exact = a.astype(np.float64)
    spec = est.modalities_[0]
    np.testing.assert_allclose(spec.mean, exact.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(spec.std, exact.std(axis=0), rtol=1e-9)
    assert np.isfinite(est.score_samples(MultiView([a, b]))).all()
    a_missing = a.copy()
    a_missing[:5] = np.nan
    filled = est.impute(MultiView([a_missing, b])).views[0]
    assert np.isfinite(filled.astype(np.float64)).all()


# ---- 2. values beyond the float32 range ------------------------------------------------
def test_values_beyond_float32_range_raise_naming_the_view():
    a, b = two_views()
    big = b.copy()
    big[3, 1] = 1e39  # finite in float64, infinite in float32
    with pytest.raises(ValueError, match="View 1 .*float32"):
        tiny(MVAE).fit(MultiView([a, big]))
    est = tiny(MVAE).fit(MultiView([a, b]))
    for method in (est.transform, est.impute, est.score_samples, est.reconstruct):
        with pytest.raises(ValueError, match="View 1 .*float32"):
            method(MultiView([a, big]))
    with pytest.raises(ValueError, match="View 0 .*float32"):
        check_views([-big, a])


# ---- 3. float32 in, float32 out --------------------------------------------------------
@pytest.mark.parametrize("container", ["multiview", "array", "dataframe"])
def test_impute_and_reconstruct_keep_float32_and_observed_bits(container):
    a, b = two_views(dtype=np.float32)
    est = tiny(MVAE).fit(MultiView([a, b]))
    b_missing = b.copy()
    b_missing[:6] = np.nan
    if container == "multiview":
        X = MultiView([a, b_missing])

        def views_of(out):
            return out.views

    elif container == "array":
        X = np.hstack([a, b_missing])
        est.set_params(views=[3, 2])

        def views_of(out):
            return [out[:, :3], out[:, 3:]]

    else:
        cols = ["a__0", "a__1", "a__2", "b__0", "b__1"]
        X = pd.DataFrame(np.hstack([a, b_missing]), columns=cols).astype(np.float32)

        def views_of(out):
            assert list(out.dtypes) == [np.dtype(np.float32)] * 5
            return [out.iloc[:, :3].to_numpy(), out.iloc[:, 3:].to_numpy()]

    imputed = views_of(est.impute(X))
    assert [v.dtype for v in imputed] == [np.float32, np.float32]
    assert np.array_equal(imputed[0], a)  # bit-identical observed values
    assert np.array_equal(imputed[1][6:], b[6:])
    assert np.isfinite(imputed[1][:6]).all()
    recon = views_of(est.reconstruct(X))
    assert [v.dtype for v in recon] == [np.float32, np.float32]
    assert np.isfinite(recon[0]).all() and np.isfinite(recon[1]).all()


# ---- 4. divergence in the last optimiser step ------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_divergence_in_the_last_step_is_caught(optimizer):
    X = MultiView(two_views(n=8))  # one batch: the only step is the last one
    est = tiny(MVAE, lr=1e30, optimizer=optimizer)
    with pytest.raises(FloatingPointError, match="diverged in epoch 1"):
        est.fit(X)


class PoisonBias(Callback):
    """Makes one decoder bias NaN after every training step."""

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            with torch.no_grad():
                net.module_.decoders[1][-1].bias.fill_(float("nan"))


def test_non_finite_parameters_after_an_epoch_are_named():
    X = MultiView(two_views(n=8))  # one batch per epoch
    with pytest.raises(FloatingPointError, match=r"epoch 1.*decoders\.1\.\d+\.bias"):
        tiny(MVAE, callbacks=[PoisonBias()]).fit(X)


# ---- 5. warm start applies set_params --------------------------------------------------
def test_partial_fit_applies_new_lr_and_keeps_adam_state():
    X = MultiView(two_views(n=32))  # batches of 8 rows: 4 steps per epoch
    est = tiny(MVAE, max_epochs=2).fit(X)
    est.set_params(lr=0.05, weight_decay=0.01)
    est.partial_fit(X)
    opt = est.net_.optimizer_
    assert opt.param_groups[0]["lr"] == 0.05
    assert opt.param_groups[0]["weight_decay"] == 0.01
    first = next(iter(est.net_.module_.parameters()))
    assert first is opt.param_groups[0]["params"][0]  # the optimizer trains the module
    assert int(opt.state[first]["step"]) == 3 * 4  # moments carried over 3 epochs


def test_warm_fit_applies_new_beta_to_the_loss():
    X = MultiView(two_views(n=32))
    est = tiny(MVAE, beta=1.0, kl_warmup_epochs=0, warm_start=True).fit(X)
    est.set_params(beta=5.0)
    est.fit(X)
    assert est.net_.module_.beta == 5.0
    row = est.history_[-1]
    # loss = rec + beta * kl, each the mean over the epoch's samples
    assert row["train_loss"] == pytest.approx(row["train_rec"] + 5.0 * row["train_kl"], rel=1e-4)


def test_warm_fit_applies_dmvae_settings_and_auxiliary_lr():
    X = MultiView(two_views(n=32))
    est = tiny(DMVAE, warm_start=True).fit(X)
    est.set_params(beta=[3.0, 4.0], discriminator_lr=0.02, batch_size=4)
    est.fit(X)
    np.testing.assert_array_equal(est.net_.module_.beta.numpy(), [3.0, 4.0])
    assert est.net_.optimizer_aux_.param_groups[0]["lr"] == 0.02
    assert est.net_.batch_size == 4


def test_warm_fit_keeps_training_state_buffers():
    X = MultiView(two_views(n=32))  # 4 steps per epoch
    est = tiny(MMVM, max_epochs=2, alpha=0.5, alpha_warmup_steps=100, warm_start=True).fit(X)
    est.set_params(beta=2.0, max_epochs=1)
    est.fit(X)
    assert est.net_.module_.beta == 2.0
    assert int(est.net_.module_.steps) == 3 * 4  # the step counter continues


@pytest.mark.parametrize(
    "cls, params, name",
    [
        (MVAE, {"n_latent": 4}, "n_latent"),
        (PrivateSharedVAE, {"n_private": 3}, "n_private"),
        (MVAE, {"hidden_layer_sizes": (16,)}, "hidden_layer_sizes"),
    ],
)
def test_warm_start_rejects_shape_changes(cls, params, name):
    X = MultiView(two_views(n=16))
    est = tiny(cls).fit(X)
    est.set_params(lr=0.01, **params)
    with pytest.raises(ValueError, match=f"{name}.*warm_start=False"):
        est.partial_fit(X)
    est.set_params(warm_start=True)
    with pytest.raises(ValueError, match=f"{name}.*warm_start=False"):
        est.fit(X)


# ---- 6. parameter validation -----------------------------------------------------------
@pytest.mark.parametrize(
    "cls, params, name",
    [
        (MVAE, {"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        (MVAE, {"hidden_layer_sizes": (8, -2)}, "hidden_layer_sizes"),
        (MVAE, {"tol": -1.0}, "tol"),
        (MVAE, {"kl_warmup_epochs": -1}, "kl_warmup_epochs"),
        (DMVAE, {"kl_warmup_epochs": -2.0}, "kl_warmup_epochs"),
        (DMVAE, {"discriminator_lr": 0}, "discriminator_lr"),
        (MVAE, {"beta": np.inf}, "beta"),
        (MMVAE, {"beta": float("inf")}, "beta"),
        (MMVM, {"beta": np.inf}, "beta"),
        (MVAE, {"lr": np.inf}, "lr"),
        (MVAE, {"weight_decay": np.nan}, "weight_decay"),
        (IDMVAE, {"temperature": np.inf}, "temperature"),
    ],
)
def test_invalid_parameters_are_named(cls, params, name):
    X = MultiView(two_views(n=16))
    with pytest.raises(ValueError, match=rf"^{name} must be .*; got .*\.$"):
        tiny(cls, **params).fit(X)


# ---- 7. DataFrame columns without the view prefix --------------------------------------
def test_dataframe_with_a_column_lacking_the_prefix_raises():
    a, b = two_views()
    df = pd.DataFrame(np.hstack([a, b]), columns=["a__0", "a__1", "a__2", "b__0", "stray"])
    with pytest.raises(ValueError, match="'stray'"):
        check_views(df)
    with pytest.raises(ValueError, match="'stray'"):
        tiny(MVAE).fit(df)


# ---- 8. bad dtypes name the view -------------------------------------------------------
def test_bad_dtypes_name_the_view():
    a, b = two_views()
    strings = np.full((len(a), 2), "x")
    with pytest.raises(ValueError, match="View 1"):
        tiny(MVAE).fit(MultiView([a, strings]))
    objects = np.array([[object(), object()]] * len(a), dtype=object)
    with pytest.raises(TypeError, match="View 1"):
        tiny(MVAE).fit(MultiView([a, objects]))
    df = pd.DataFrame({"a__0": a[:, 0], "a__1": a[:, 1], "b__0": ["s"] * len(a)})
    with pytest.raises(ValueError, match="View 1"):
        tiny(MVAE).fit(df)


def test_complex_view_message_is_short():
    rng = np.random.RandomState(0)
    z = rng.randn(100, 50) + 1j * rng.randn(100, 50)
    with pytest.raises(ValueError, match="View 1") as err:
        tiny(MVAE).fit(MultiView([rng.randn(100, 3), z]))
    assert len(str(err.value)) < 300
    a = rng.randn(100, 2)
    df = pd.DataFrame({"a__0": a[:, 0], "a__1": a[:, 1], "b__0": z[:, 0], "b__1": z[:, 1]})
    with pytest.raises(ValueError, match="View 1") as err:
        tiny(MVAE).fit(df)
    assert len(str(err.value)) < 300


# ---- 9. the ex-post mixture sampler ----------------------------------------------------
@pytest.mark.parametrize("cls", [DMVAE, MMVM])
def test_gmm_sampler_with_one_row_fails_before_training(cls):
    est = tiny(cls)
    with pytest.raises(ValueError, match="prior_sampler='gmm'.*2 training samples"):
        est.fit(MultiView(two_views(n=1)))
    assert not hasattr(est, "net_")  # nothing was trained


def test_gmm_sampler_failures_are_explained():
    rng = np.random.RandomState(0)
    Z = rng.randn(20, 2)
    Z[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite.*training diverged"):
        ExPostGMM(10, 0).fit(Z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="ex-post Gaussian mixture.*failed"):
            ExPostGMM(10, 0).fit(rng.randn(20, 2) * 1e200)  # covariances overflow


# ---- 10. id-like integer views ---------------------------------------------------------
def test_id_like_integer_view_asks_for_an_explicit_modality():
    rng = np.random.RandomState(0)
    ids = rng.randint(0, 10**9, size=(16, 2))
    views = [rng.randn(16, 3), ids]
    mask = np.ones((16, 2), bool)
    with pytest.raises(ValueError, match=r"View 1 .*Modality\('gaussian'\)"):
        resolve_modalities("auto", views, mask, (8,))
    with pytest.raises(ValueError, match="View 1"):
        tiny(MVAE).fit(MultiView(views))
    explicit = resolve_modalities(["auto", Modality("gaussian")], views, mask, (8,))
    assert explicit[1].likelihood == "gaussian"
    tokens = resolve_modalities("auto", [rng.randint(0, 1024, size=(16, 4))], mask[:, :1], (8,))
    assert tokens[0].likelihood == "categorical"  # small vocabularies are still tokens


# ---- 11. MultiView in an array-only step -----------------------------------------------
def test_multiview_as_an_array_gives_a_clear_type_error():
    X = MultiView(two_views())
    with pytest.raises(TypeError, match=r"MultiView holds 2 views.*X\.views\[m\]"):
        np.asarray(X)
    with pytest.raises(TypeError, match="MultiView holds 2 views"):
        StandardScaler().fit(X)


# ---- 12. a view missing everywhere -----------------------------------------------------
def test_view_missing_in_every_training_row_warns():
    a, b = two_views()
    with pytest.warns(UserWarning, match="View 1 is missing in every training row"):
        tiny(MVAE).fit(MultiView([a, np.full_like(b, np.nan)]))


# ---- 13. small data gets enough optimiser steps ----------------------------------------
def test_small_data_uses_smaller_batches_and_large_data_does_not():
    counter = BatchCounter()
    X = MultiView(two_views(n=40))
    est = tiny(MVAE, max_epochs=2, callbacks=[counter]).fit(X)  # default batch_size=128
    assert counter.per_epoch == [5, 5]  # batches of max(8, 40 // 8) = 8 rows
    counter = BatchCounter()
    est = tiny(MVAE, batch_size=4, callbacks=[counter]).fit(X)
    assert counter.per_epoch == [10]  # a smaller batch_size is kept
    counter = BatchCounter()
    est = tiny(MVAE, batch_size=512, callbacks=[counter]).fit(MultiView(two_views(n=1100)))
    assert counter.per_epoch == [3]  # 1024 rows or more: batch_size as given
    assert est.net_.batch_size == 512


def test_seeded_calls_are_thread_safe():
    """Seeded sampling calls give the same answer from several threads at once (torch's
    generator is global: without the lock the threads take each other's draws)."""
    from concurrent.futures import ThreadPoolExecutor

    X, _, _ = make_shared_private(n_samples=400, n_views=3, n_features=20, random_state=0)
    est = IDMVAE(
        n_shared=4, n_private=4, max_epochs=1, hidden_layer_sizes=(64,), random_state=0
    ).fit(X)
    mask = np.ones((400, 3), bool)
    mask[::2, 1] = False
    holes = MultiView(X.views, mask=mask)

    def calls(_):
        return (
            est.score_samples(X),
            est.transform(X, latent_mode="sample"),
            np.asarray(est.impute(holes).views[1]),
        )

    expected = calls(None)
    with ThreadPoolExecutor(4) as pool:
        for got in pool.map(calls, range(16)):
            for a, b in zip(got, expected):
                np.testing.assert_array_equal(a, b)
