"""The per-view evaluation classifiers."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier

from skmmvae.metrics import ImageClassifier, train_view_classifiers

from .conftest import quadrant_images


def test_image_classifier_learns_quadrants():
    rng = np.random.RandomState(0)
    X, q = quadrant_images(300, rng)
    Xt, qt = quadrant_images(200, rng)
    clf = ImageClassifier(max_epochs=3, random_state=0).fit(X, q)
    assert clf.score(Xt, qt) > 0.9
    proba = clf.predict_proba(Xt)
    assert proba.shape == (200, 4) and np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    again = ImageClassifier(max_epochs=3, random_state=0).fit(X, q)
    np.testing.assert_allclose(again.predict_proba(Xt), proba, atol=1e-6)
    with pytest.raises(ValueError, match="images"):
        clf.predict(X[:, 0])
    with pytest.raises(NotFittedError):
        ImageClassifier().predict(X)


def test_train_view_classifiers_images_and_tables():
    rng = np.random.RandomState(1)
    images, q = quadrant_images(240, rng)
    table = np.eye(4)[q] + 0.1 * rng.randn(240, 4)
    labels = np.column_stack([q, q % 2])  # one label column per view
    clfs = train_view_classifiers([images, table], labels, random_state=0, max_epochs=3)
    assert isinstance(clfs[0], ImageClassifier)
    assert clfs[0].score(images, q) > 0.9 and clfs[1].score(table, q % 2) > 0.9
    shared = train_view_classifiers([images, table], q, kind=["logistic", "mlp"])
    assert shared[0].predict(images[:5]).shape == (5,)  # images flattened for tables
    assert shared[1].score(table, q) > 0.9
    custom = train_view_classifiers([table, table], q, kind=KNeighborsClassifier(3))
    assert all(isinstance(c, KNeighborsClassifier) for c in custom)
    partial = np.where(np.arange(240) < 40, -1, q)  # unlabelled rows are left out
    assert train_view_classifiers([table], partial)[0].score(table, q) > 0.9
    with pytest.raises(ValueError, match="image"):
        train_view_classifiers([table], q, kind="cnn")
    with pytest.raises(ValueError, match="kind"):
        train_view_classifiers([table], q, kind="forest")
    with pytest.raises(ValueError, match="two classes"):
        train_view_classifiers([table], np.zeros(240))
    with pytest.raises(ValueError, match="shape"):
        train_view_classifiers([table, table], labels[:, :1].repeat(3, 1))
