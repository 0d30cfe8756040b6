"""The data contract: MultiView, check_views, every accepted input, every bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.utils import _safe_indexing

from skmmvae import MVAE, MultiView, check_views

from .conftest import FAST


def test_multiview_basics(rng):
    a, b = rng.randn(10, 3), rng.rand(10, 1, 16, 16)
    X = MultiView([a, b])
    assert len(X) == 10 and X.shape == (10, 3 + 256) and X.n_views == 2
    sub = X[[1, 3]]
    assert isinstance(sub, MultiView) and len(sub) == 2
    np.testing.assert_array_equal(sub.views[1], b[[1, 3]])
    assert len(X[2]) == 1 and len(X[-1]) == 1 and len(X[2:5]) == 3
    np.testing.assert_array_equal(X[np.arange(10) > 6].views[0], a[7:])
    with pytest.raises(IndexError):
        X[10]
    with pytest.raises(IndexError):
        X[:, 0]
    assert "n_views=2" in repr(X)


def test_multiview_survives_sklearn_indexing(rng):
    X = MultiView([rng.randn(20, 3), rng.randn(20, 2)], mask=np.ones((20, 2), bool))
    sub = _safe_indexing(X, np.array([0, 5, 7]))
    assert isinstance(sub, MultiView) and len(sub) == 3 and sub.mask.shape == (3, 2)
    tr, te = train_test_split(X, test_size=0.25, random_state=0)
    assert len(tr) == 15 and len(te) == 5
    scores = cross_val_score(MVAE(n_latent=2, **FAST), X, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))


def test_gridsearch_without_y(tables):
    X, _ = tables
    gs = GridSearchCV(MVAE(n_latent=2, **FAST), {"beta": [0.5, 1.0]}, cv=2).fit(X)
    assert gs.best_params_["beta"] in (0.5, 1.0)
    assert gs.transform(X).shape == (96, 2)


def test_multiview_rejects_bad_construction(rng):
    with pytest.raises(ValueError, match="same number of rows"):
        MultiView([rng.randn(5, 2), rng.randn(6, 2)])
    with pytest.raises(TypeError, match="list or tuple"):
        MultiView(rng.randn(5, 2))
    with pytest.raises(ValueError, match="mask must have shape"):
        MultiView([rng.randn(5, 2)], mask=np.ones((5, 2), bool))
    with pytest.raises(ValueError, match="at least one view"):
        MultiView([])


def test_missing_rows_are_all_nan(rng):
    a, b = rng.randn(6, 3), rng.randn(6, 2)
    a[1] = np.nan
    b[4] = np.nan
    a_before = a.copy()
    views, mask = check_views(MultiView([a, b]))
    assert mask.tolist() == [[True, True], [False, True]] + [[True, True]] * 2 + [
        [True, False],
        [True, True],
    ]
    np.testing.assert_array_equal(a, a_before)  # nothing modified in place
    np.testing.assert_array_equal(views[0], a)  # NaN rows kept, values untouched


def test_explicit_mask_and_tokens(rng):
    tokens = rng.randint(0, 5, size=(6, 4))
    mask = np.ones((6, 2), bool)
    mask[2, 1] = False
    _, m = check_views(MultiView([rng.randn(6, 2), tokens], mask=mask))
    assert not m[2, 1] and m.sum() == 11


@pytest.mark.parametrize(
    "views, match",
    [
        (lambda r: [r.randn(5, 2), r.randn(4, 2)], "same number of rows"),
        (lambda r: [r.randn(0, 2)], "0 sample"),
        (lambda r: [np.array([["a", "b"]] * 3)], "string|convert"),
        (lambda r: [np.where(np.eye(3, 2) > 0, np.inf, 0.0)], "infinity"),
        (lambda r: [np.where(np.eye(3, 2) > 0, np.nan, 0.0)], "NaN in part"),
        (lambda r: [np.full((3, 2), np.nan), np.full((3, 2), np.nan)], "no observed view"),
        (lambda r: [r.randn(3, 2, 2)], r"\(n, C, H, W\)"),
        (lambda r: [r.randn(3, 2, 2, 2, 2)], "dimensions"),
    ],
)
def test_bad_inputs_raise_clear_errors(rng, views, match):
    with pytest.raises(ValueError, match=match):
        check_views(views(rng))


def test_sparse_and_unsupported_inputs(rng):
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="Sparse"):
        check_views(sp.csr_matrix(rng.randn(4, 3)))
    with pytest.raises(TypeError, match="Unsupported"):
        check_views("not data")


def test_dataframe_with_view_prefixes(rng):
    df = pd.DataFrame(rng.randn(8, 5), columns=["rna__a", "rna__b", "mir__x", "mir__y", "mir__z"])
    views, mask = check_views(df)
    assert [v.shape for v in views] == [(8, 2), (8, 3)] and mask.all()


def test_array_with_views_param(rng):
    A = rng.randn(8, 5)
    views, _ = check_views(A, views=[2, 3])
    np.testing.assert_array_equal(views[1], A[:, 2:])
    views, _ = check_views(A, views=[[4, 0], [1]])
    np.testing.assert_array_equal(views[0], A[:, [4, 0]])
    with pytest.raises(ValueError, match="add up"):
        check_views(A, views=[2, 2])
    with pytest.raises(ValueError, match="share columns"):
        check_views(A, views=[[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="outside"):
        check_views(A, views=[[0, 9]])


def test_lists_and_dicts(rng):
    a, b = rng.randn(4, 2), rng.randn(4, 3)
    assert len(check_views([a, b])[0]) == 2
    assert len(check_views((a, b))[0]) == 2
    assert len(check_views({"x": a, "y": b})[0]) == 2
