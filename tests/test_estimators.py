"""The sklearn surface of every method: fit, transform, impute, sample, score, I/O."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from skorch.callbacks import EarlyStopping, GradientNormClipping, LRScheduler

from skmmvae import (
    MMVAE,
    MVAE,
    Modality,
    MoPoE,
    MultiView,
    check_views,
    make_shared_private,
    methods,
)

from .conftest import FAST, build, build_module

METHODS = methods.estimators()
AGGREGATION = [MVAE, MMVAE, MoPoE]


@pytest.mark.parametrize("cls", METHODS)
def test_shared_latent_predicts_shared_class(cls):
    """A real learning check: the shared class is linearly readable from z."""
    X, y, _ = make_shared_private(n_samples=600, n_views=3, n_features=10, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    est = build(cls, 4, max_epochs=15, batch_size=64, hidden_layer_sizes=(64,), random_state=0)
    est.fit(Xtr)
    Ztr, Zte = est.transform(Xtr, latents="shared"), est.transform(Xte, latents="shared")
    clf = LogisticRegression(max_iter=1000).fit(Ztr, ytr)
    assert clf.score(Zte, yte) > 0.6  # chance is 0.25


@pytest.mark.parametrize("cls", METHODS)
def test_trains_and_infers_with_missing_views(cls, missing_tables):
    X, _ = missing_tables
    assert (~check_views(X)[1]).any()
    est = build(cls, 2, **FAST).fit(X)
    Z = est.transform(X)
    assert Z.shape == (96, len(est.get_feature_names_out())) and np.isfinite(Z).all()
    assert np.isfinite(est.score(X))
    assert np.isfinite(est.history_[-1, "train_loss"])


@pytest.mark.parametrize("cls", METHODS)
def test_impute_fills_missing_and_keeps_observed_bit_identical(cls, missing_tables):
    X, _ = missing_tables
    before = [v.copy() for v in X.views]
    est = build(cls, 2, **FAST).fit(X)
    out = est.impute(X)
    assert isinstance(out, MultiView) and out.mask.all()
    for v_in, v_out, v_before in zip(X.views, out.views, before):
        np.testing.assert_array_equal(v_in, v_before)  # caller's data untouched
        observed = ~np.isnan(v_in).all(axis=1)
        assert np.array_equal(v_out[observed], v_in[observed])
        assert np.isfinite(v_out).all()
    rec = est.reconstruct(X)
    assert [v.shape for v in rec.views] == [v.shape for v in X.views]


def test_impute_returns_same_container_type(missing_tables):
    X, _ = missing_tables
    est = MVAE(n_latent=2, **FAST).fit(X)
    as_list = est.impute(list(X.views))
    assert isinstance(as_list, list) and not np.isnan(as_list[1]).any()
    as_dict = est.impute({"a": X.views[0], "b": X.views[1], "c": X.views[2]})
    assert list(as_dict) == ["a", "b", "c"]
    cols = [f"v{m}__f{j}" for m in range(3) for j in range(6)]
    df = pd.DataFrame(np.hstack(X.views), columns=cols, index=np.arange(96) + 100)
    est_df = MVAE(n_latent=2, **FAST).fit(df)
    out = est_df.impute(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == cols
    assert (out.index == df.index).all() and not out.isna().any().any()
    obs = df.notna().to_numpy()
    assert np.array_equal(out.to_numpy()[obs], df.to_numpy()[obs])
    arr = np.hstack(X.views)
    est_arr = MVAE(n_latent=2, views=[6, 6, 6], **FAST).fit(arr)
    filled = est_arr.impute(arr)
    assert isinstance(filled, np.ndarray) and not np.isnan(filled).any()
    assert np.array_equal(filled[~np.isnan(arr)], arr[~np.isnan(arr)])


@pytest.mark.parametrize("cls", METHODS)
def test_pickle_round_trip_gives_identical_transform(cls, tables):
    X, _ = tables
    est = build(cls, 2, **FAST).fit(X)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.transform(X), again.transform(X))
    np.testing.assert_array_equal(est.impute(X).views[0], again.impute(X).views[0])


@pytest.mark.parametrize("cls", METHODS)
def test_random_state_makes_fits_reproducible(cls, tables):
    X, _ = tables
    state = torch.random.get_rng_state()
    a = build(cls, 2, **FAST).fit(X).transform(X)
    b = build(cls, 2, **FAST).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG left alone
    c = build(cls, 2, **{**FAST, "random_state": 1}).fit(X).transform(X)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("cls", AGGREGATION)
def test_transform_blocks_names_and_modes(cls, tables):
    X, _ = tables
    est = cls(n_latent=3, **FAST).fit(X)
    assert est.get_feature_names_out().tolist() == ["z0", "z1", "z2"]
    per_view = est.transform(X, latents="per_view")
    assert per_view.shape == (96, 9)
    est.set_params(latents="per_view")
    assert est.get_feature_names_out()[3] == "z1_0"
    with pytest.raises(ValueError, match="no private latents"):
        est.transform(X, latents="private")
    with pytest.raises(ValueError, match="latents must be"):
        est.transform(X, latents="everything")
    mean = est.transform(X, latents="shared")
    s1 = est.transform(X, latents="shared", latent_mode="sample")
    s2 = est.transform(X, latents="shared", latent_mode="sample")
    np.testing.assert_array_equal(s1, s2)  # seeded by random_state
    assert not np.allclose(mean, s1)
    params = est.encode(X)
    np.testing.assert_allclose(params["shared_mean"], mean, rtol=1e-6)
    assert params["view_loc"].shape == (96, 3, 3) and (params["shared_std"] > 0).all()


def test_missing_view_per_view_block_is_prior_mean(missing_tables):
    X, _ = missing_tables
    est = MVAE(n_latent=2, **FAST).fit(X)
    Z = est.transform(X, latents="per_view").reshape(96, 3, 2)
    _, mask = check_views(X)
    assert np.all(Z[~mask] == 0) and np.any(Z[mask] != 0)


@pytest.mark.parametrize("cls", METHODS)
def test_encoders_of_unobserved_views_do_not_run_at_inference(cls, tables):
    """Encoding from view 0 alone (views 1 and 2 missing in every row) never calls the
    other views' encoders at inference (a per-view evaluation pays for one view), and
    the latents equal those of the training path, which runs every encoder: the
    stand-in parameters of the skipped views never reach the result."""
    X, _ = tables
    est = cls(**FAST).fit(X)
    module = est.net_.module_
    calls = []
    hooks = [
        enc.register_forward_hook(lambda *_, m=m: calls.append(m))
        for name, child in module.named_children()
        if name.endswith("encoders")
        for m, enc in enumerate(child)
    ]
    v = X.views
    est.transform([v[0], np.full_like(v[1], np.nan), np.full_like(v[2], np.nan)])
    for h in hooks:
        h.remove()
    assert calls and set(calls) == {0}

    fresh, views = build_module(est, v)
    fresh.eval()
    mask = torch.zeros(len(v[0]), 3, dtype=torch.bool)
    mask[:, 0] = True
    for block in ("shared", "per_view") + (("private",) if fresh.has_private else ()):
        with torch.no_grad():
            skipped = fresh.latents(views, mask, block, False)
        with torch.enable_grad():
            full = fresh.latents(views, mask, block, False).detach()
        torch.testing.assert_close(skipped, full)


def test_set_output_pandas_and_pipeline(tables):
    X, y = tables
    est = MoPoE(n_latent=2, **FAST).set_output(transform="pandas")
    Z = est.fit_transform(X)
    assert isinstance(Z, pd.DataFrame) and list(Z.columns) == ["z0", "z1"]
    pipe = make_pipeline(MVAE(n_latent=2, **FAST), LogisticRegression()).fit(X, y)
    assert pipe.predict(X).shape == (96,)


@pytest.mark.parametrize("cls", METHODS)
def test_sample_shapes_and_reproducibility(cls, tables):
    X, _ = tables
    est = build(cls, 2, **FAST).fit(X)
    a = est.sample(5, random_state=0)
    b = est.sample(5, random_state=0)
    assert [v.shape for v in a] == [(5, 6)] * 3
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], est.sample(5, random_state=1)[0])
    noisy = est.sample(5, random_state=0, noise=True)
    assert not np.array_equal(noisy[0], a[0])
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)


def test_score_prefers_the_fitted_data(tables):
    X, _ = tables
    est = MVAE(n_latent=2, max_epochs=20, batch_size=32, random_state=0).fit(X)
    shuffled = MultiView([np.random.RandomState(m).permutation(v) for m, v in enumerate(X.views)])
    assert est.score(X) > est.score(shuffled)
    assert est.score_samples(X).shape == (96,)


def test_history_records_loss_parts(tables):
    X, _ = tables
    est = MVAE(n_latent=2, **FAST).fit(X)
    row = est.history_[-1]
    assert {"train_loss", "train_rec", "train_kl"} <= set(row)
    assert len(est.history_) == 2


def test_early_stopping_and_validation(tables):
    X, _ = tables
    est = MMVAE(
        n_latent=2,
        max_epochs=200,
        early_stopping=True,
        n_iter_no_change=2,
        tol=1e3,
        batch_size=32,
        hidden_layer_sizes=(16,),
        random_state=0,
    ).fit(X)
    assert len(est.history_) < 200 and "valid_loss" in est.history_[-1]
    with pytest.raises(ValueError, match="validation_fraction"):
        MMVAE(validation_fraction=1.5).fit(X)


def test_skorch_callbacks_work(tables):
    X, _ = tables
    cbs = [
        GradientNormClipping(gradient_clip_value=1.0),
        LRScheduler(policy="StepLR", step_size=1),
        EarlyStopping(monitor="train_loss", patience=50),
    ]
    est = MVAE(n_latent=2, callbacks=cbs, **FAST).fit(X)
    assert len(est.history_) == 2
    assert clone(est).callbacks is not cbs


def test_partial_fit_and_warm_start(tables):
    X, _ = tables
    est = MVAE(n_latent=2, **FAST)
    est.partial_fit(X).partial_fit(X)
    assert len(est.history_) == 2
    est = MVAE(n_latent=2, warm_start=True, **FAST).fit(X).fit(X)
    assert len(est.history_) == 4
    with pytest.raises(ValueError, match="views"):
        est.partial_fit(X.views[:2])


def test_nan_loss_stops_with_clear_error(tables):
    X, _ = tables

    class Broken(torch.nn.Module):
        def __init__(self, latent_dim, out_shape):
            super().__init__()
            self.lin = torch.nn.Linear(latent_dim, out_shape[0])

        def forward(self, z):
            return self.lin(z) * float("nan")

    mods = [Modality(decoder=Broken), "auto", "auto"]
    with pytest.raises(FloatingPointError, match=r"epoch 1.*'rec'"):
        MVAE(n_latent=2, modalities=mods, **FAST).fit(X)


def test_transform_time_errors(tables, rng):
    X, _ = tables
    est = MVAE(n_latent=2, **FAST).fit(X)
    with pytest.raises(ValueError, match="2 views, but MVAE was fitted on 3"):
        est.transform(X.views[:2])
    with pytest.raises(ValueError, match="View 1 has sample shape"):
        est.transform([X.views[0], rng.randn(96, 5), X.views[2]])
    with pytest.raises(ValueError, match="no observed view"):
        est.transform([np.full((2, 6), np.nan)] * 3)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MVAE().transform(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_latent": 0}, "n_latent"),
        ({"beta": -1.0}, "beta"),
        ({"lr": 0}, "lr"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"optimizer": "nadam"}, "optimizer"),
        ({"view_weights": [1, 2]}, "view_weights"),
        ({"modalities": ["gaussian"]}, "modalities has 1 entries"),
        ({"modalities": "zeta"}, "likelihood must be"),
        ({"latent_mode": "median"}, "latent_mode"),
    ],
)
def test_bad_parameters_raise(tables, params, match):
    X, _ = tables
    with pytest.raises(ValueError, match=match):
        MVAE(**{**FAST, **params}).fit(X)


def test_method_specific_bad_parameters(tables):
    X, _ = tables
    with pytest.raises(ValueError, match="objective"):
        MMVAE(objective="vi", **FAST).fit(X)
    with pytest.raises(ValueError, match="K must"):
        MMVAE(K=0, **FAST).fit(X)
    with pytest.raises(ValueError, match="posterior"):
        MMVAE(posterior="cauchy", **FAST).fit(X)
    with pytest.raises(ValueError, match="prior_expert"):
        MoPoE(prior_expert="some", **FAST).fit(X)
    with pytest.raises(ValueError, match="subsets"):
        MoPoE(subsets=[(0, 5)], **FAST).fit(X)
    with pytest.raises(ValueError, match="elbo_terms"):
        MVAE(elbo_terms="all", **FAST).fit(X)


def test_mopoe_custom_subsets_need_coverage(rng):
    X = MultiView([rng.randn(10, 2), rng.randn(10, 2)])
    est = MoPoE(n_latent=2, subsets=[(0, 1)], **FAST).fit(X)
    assert est.transform(X).shape == (10, 2)
    Xm = MultiView([X.views[0], np.where(np.arange(10)[:, None] < 2, np.nan, X.views[1])])
    with pytest.raises(ValueError, match="no complete subset"):
        est.transform(Xm)


def test_progress_bar_and_checkpoint(tables, tmp_path):
    from skorch.callbacks import Checkpoint, ProgressBar

    X, _ = tables
    cp = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path), load_best=False)
    est = MoPoE(n_latent=2, callbacks=[ProgressBar(), cp], **FAST).fit(X)
    assert (tmp_path / "params.pt").exists()
    state = torch.load(tmp_path / "params.pt")
    assert set(state) == set(est.net_.module_.state_dict())


def test_verbose_prints_loss_parts(tables, capsys):
    X, _ = tables
    MVAE(n_latent=2, verbose=1, **FAST).fit(X)
    out = capsys.readouterr().out
    assert "train_kl" in out and "train_rec" in out and "train_loss" in out


def test_kl_warmup_ramps_linearly(tables):
    X, _ = tables
    est = MVAE(n_latent=2, kl_warmup_epochs=4, **FAST).fit(X)
    module = est.net_.module_
    module.train()
    module.set_progress(1.0)
    assert module.kl_weight == pytest.approx(0.25)
    module.set_progress(10.0)
    assert module.kl_weight == 1.0
    module.eval()
    module.set_progress(0.0)
    assert module.kl_weight == 1.0  # no warm-up outside training
    assert module.progress == 0.0
    assert est.net_._progress == pytest.approx(2.0)  # two epochs trained


def test_pandas_output_names_the_columns_of_an_overridden_block(tables):
    """Under set_output(transform="pandas") (estimator-level or global), a
    ``transform(X, latents=...)`` that overrides the estimator's blocks returns those
    blocks under their own names, with the values of the default output."""
    import sklearn

    X, _ = tables
    est = MVAE(n_latent=2, **FAST).fit(X)
    plain = est.transform(X, latents="per_view")
    frame = est.set_output(transform="pandas").transform(X, latents="per_view")
    assert list(frame.columns) == [f"z{m}_{k}" for m in range(3) for k in range(2)]
    np.testing.assert_array_equal(frame.to_numpy(), plain)
    assert list(est.transform(X).columns) == ["z0", "z1"]  # the estimator's own block
    fresh = MVAE(n_latent=2, **FAST).fit(X)  # no estimator-level output setting
    with sklearn.config_context(transform_output="pandas"):
        shared = fresh.transform(X, latents="shared", cond_views=[1])
    assert list(shared.columns) == ["z0", "z1"]


def test_float_token_view_with_missing_rows(rng):
    tokens = rng.randint(0, 5, size=(30, 4)).astype(float)
    tokens[:3] = np.nan
    X = MultiView([tokens, rng.randn(30, 3)])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = MVAE(n_latent=2, modalities=["categorical", "auto"], **FAST).fit(X)
        out = est.impute(X)
    assert np.isfinite(out.views[0]).all() and np.array_equal(out.views[0][3:], tokens[3:])
