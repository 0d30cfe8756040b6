"""Linear probes of labels from latents (latent_classification, cross_classification)."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from skmmvae import (
    MMVAE,
    MMVM,
    MVAE,
    MMVAEPlus,
    MultiView,
)
from skmmvae.metrics import (
    cross_classification,
    latent_classification,
)

from ..conftest import FAST, build
from .conftest import METHODS, NO_PRIVATE, PRIVATE, in_unit


@pytest.mark.parametrize("cls", METHODS)
def test_latent_classification_every_method(cls, fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    est = fitted(cls)
    r = latent_classification(est, Xtr, ytr, Xte, yte)
    assert r["accuracy_per_view"].shape == r["auroc_per_view"].shape == (3,)
    assert in_unit(r["accuracy_per_view"]) and in_unit(r["auroc_per_view"])
    assert r["accuracy"] == pytest.approx(r["accuracy_per_view"].mean())
    assert (r["n_train"], r["n_test"]) == (3 * len(ytr), 3 * len(yte))
    joint = latent_classification(
        est, Xtr, ytr, Xte, yte, per_view=False, latent_mode="sample", random_state=0
    )
    assert in_unit([joint["accuracy"], joint["auroc"]]) and "accuracy_per_view" not in joint
    # private labels, one column per view, from [z, w_m] (z alone without private latents)
    r = latent_classification(est, Xtr, yptr, Xte, ypte, latents="all")
    assert in_unit(r["accuracy_per_view"]) and in_unit(r["auroc_per_view"])


@pytest.mark.parametrize("cls", [MMVAEPlus, MMVM])
@pytest.mark.parametrize("latents", ["private", "per_view"])
def test_latent_classification_blocks(cls, latents, fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    est = fitted(cls)
    if latents == "private" and not cls.has_private_latents:
        with pytest.raises(ValueError, match="no private latents"):
            latent_classification(est, Xtr, ytr, Xte, yte, latents=latents)
        return
    for per_view in (True, False):
        r = latent_classification(est, Xtr, ytr, Xte, yte, latents=latents, per_view=per_view)
        assert in_unit([r["accuracy"], r["auroc"]])


@pytest.mark.parametrize("cls", NO_PRIVATE)
def test_private_latents_required(cls, fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    with pytest.raises(ValueError, match="no private latents"):
        latent_classification(fitted(cls), Xtr, ytr, Xte, yte, latents="private")
    with pytest.raises(ValueError, match="private latents"):
        cross_classification(fitted(cls), Xtr, ytr, yptr, Xte, yte, ypte)


def test_latent_classification_learns_signal_and_chance_on_shuffled_labels(trained_mvae):
    est, X, y = trained_mvae
    Xtr, Xte, ytr, yte = X[:300], X[300:], y[:300], y[300:]
    real = latent_classification(est, Xtr, ytr, Xte, yte)
    assert real["accuracy"] > 0.6 and real["auroc"] > 0.8  # chance: 0.25 and 0.5
    rng = np.random.RandomState(0)
    fake = latent_classification(est, Xtr, rng.permutation(ytr), Xte, rng.permutation(yte))
    assert fake["accuracy"] < 0.45 and abs(fake["auroc"] - 0.5) < 0.15


def test_latent_classification_drops_unlabelled_samples(fitted, data):
    Xtr, ytr, _, Xte, yte, _ = data
    est = fitted(MVAE)
    y_int = ytr.copy()
    y_int[:20] = -1
    y_float = ytr.astype(float)
    y_float[:20] = np.nan
    y_obj = ytr.astype(object)
    y_obj[:20] = None
    results = [latent_classification(est, Xtr, yy, Xte, yte) for yy in (y_int, y_float, y_obj)]
    for r in results:
        assert r["n_train"] == 3 * (len(ytr) - 20)
    assert results[0]["accuracy"] == pytest.approx(results[1]["accuracy"])
    with pytest.raises(ValueError, match="No labelled training sample"):
        latent_classification(est, Xtr, np.full(len(ytr), -1), Xte, yte)
    with pytest.raises(ValueError, match="single class"):
        latent_classification(est, Xtr, np.zeros(len(ytr), int), Xte, yte)


def test_latent_classification_missing_views(missing_tables):
    X, y = missing_tables
    est = build(MMVAE, 2, **FAST).fit(X)
    r = latent_classification(est, X[:60], y[:60], X[60:], y[60:])
    observed = ~np.isnan(X.views[0][:60, 0])
    assert r["n_train"] < 3 * 60 and in_unit(r["accuracy_per_view"])
    assert r["n_train"] >= observed.sum()


def test_auroc_binary_multiclass_and_absent_class(fitted, data):
    Xtr, ytr, _, Xte, yte, _ = data
    est = fitted(MMVAEPlus)
    binary = latent_classification(est, Xtr, ytr % 2, Xte, yte % 2)
    assert in_unit(binary["auroc_per_view"])
    yte_missing = np.where(yte == 3, -1, yte)  # class 3 absent from the test labels
    r = latent_classification(est, Xtr, ytr, Xte, yte_missing)
    assert np.isnan(r["auroc"]) and in_unit(r["accuracy"])
    knn = latent_classification(est, Xtr, ytr, Xte, yte, classifier=KNeighborsClassifier(3))
    assert in_unit(knn["auroc_per_view"])
    svm = latent_classification(est, Xtr, ytr % 2, Xte, yte % 2, classifier=LinearSVC())
    assert in_unit(svm["auroc_per_view"])  # decision_function for two classes
    svm = latent_classification(est, Xtr, ytr, Xte, yte, classifier=LinearSVC())
    assert np.isnan(svm["auroc"]) and in_unit(svm["accuracy"])  # no probabilities


def test_latent_classification_input_errors(fitted, data):
    Xtr, ytr, yptr, Xte, yte, ypte = data
    est = fitted(MVAE)
    with pytest.raises(ValueError, match="rows"):
        latent_classification(est, Xtr, ytr[:-1], Xte, yte)
    with pytest.raises(ValueError, match="shape"):
        latent_classification(est, Xtr, yptr[:, :2], Xte, yte)
    with pytest.raises(ValueError, match="1-D"):
        latent_classification(est, Xtr, yptr, Xte, ypte, per_view=False)
    with pytest.raises(ValueError, match="latents"):
        latent_classification(est, Xtr, ytr, Xte, yte, latents="z")
    with pytest.raises(ValueError, match="latent_mode"):
        latent_classification(est, Xtr, ytr, Xte, yte, latent_mode="mode")
    with pytest.raises(ValueError, match="views"):
        latent_classification(est, MultiView(Xtr.views[:2]), ytr, Xte, yte)


@pytest.mark.parametrize("cls", PRIVATE)
def test_cross_classification(cls, fitted, data):
    r = cross_classification(fitted(cls), *data)
    assert set(r) == {"shared_from_private", "private_from_shared"}
    for part in r.values():
        assert in_unit(part["accuracy_per_view"]) and part["accuracy_per_view"].shape == (3,)
    Xtr, ytr, yptr, Xte, yte, ypte = data
    with pytest.raises(ValueError, match="y_private_train"):
        cross_classification(fitted(cls), Xtr, ytr, ytr, Xte, yte, ypte)
