"""skmmvae.plotting under the Agg backend: what each figure contains (panels, labels,
legends, grid geometry), not its pixels."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from skmmvae import (  # noqa: E402
    IDMVAE,
    MMVAEPlus,
    MultiView,
    make_shared_private,
    metrics,
    plotting,  # noqa: E402
)

FAST = dict(max_epochs=2, hidden_layer_sizes=(16,), random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tables():
    X, y, _ = make_shared_private(n_samples=120, n_views=3, n_features=5, random_state=0)
    est = IDMVAE(n_shared=3, n_private=2, early_stopping=True, **FAST).fit(X)
    return est, X, y


@pytest.fixture(scope="module")
def images():
    """Two views of 1 x 8 x 8 images: a bright square whose corner is the label."""
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, 48)
    views = []
    for _ in range(2):
        imgs = rng.rand(48, 1, 8, 8).astype(np.float32) * 0.2
        for i, label in enumerate(y):
            r, c = divmod(label, 2)
            imgs[i, 0, r * 4 : r * 4 + 4, c * 4 : c * 4 + 4] = 0.9
        views.append(imgs)
    X = MultiView(views)
    est = MMVAEPlus(n_shared=2, n_private=2, max_epochs=1, random_state=0).fit(X)
    return est, X, y


def test_latent_map_of_shared_and_private_latents(tables):
    est, X, y = tables
    ax, points = plotting.plot_latent_map(est, X, y)
    assert len(points.get_offsets()) == len(y)
    assert ax.get_xlabel() == "first principal component"
    assert "shared latent z" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [str(c) for c in np.unique(y)]
    ax, _ = plotting.plot_latent_map(est, X, y, method="tsne")
    assert ax.get_xlabel() == "first t-SNE dimension" and "(t-SNE)" in ax.get_title()
    ax, points = plotting.plot_latent_map(est, X, y, latents="private", view=2)
    assert "private latent w_2 (both dimensions)" in ax.get_title()  # 2-D: drawn as it is
    W = est.transform(X, latents="private")[:, 4:6]
    np.testing.assert_allclose(points.get_offsets(), W, rtol=1e-6)
    # numbers with many values: a colour bar instead of a legend
    fig, ax = plt.subplots()
    plotting.plot_latent_map(est, X, np.linspace(0, 1, len(y)), ax=ax)
    assert len(fig.axes) == 2 and ax.get_legend() is None
    # samples without view 2 have no w_2: left out of its map; pandas output works
    partial = MultiView(
        [X.views[0], X.views[1], np.where(np.arange(120)[:, None] < 20, np.nan, X.views[2])]
    )
    est.set_output(transform="pandas")
    try:
        _, points = plotting.plot_latent_map(est, partial, y, latents="private", view=2)
    finally:
        est.set_output(transform="default")
    assert len(points.get_offsets()) == 100
    with pytest.raises(ValueError, match="labels has 3 entries"):
        plotting.plot_latent_map(est, X, y[:3])
    with pytest.raises(ValueError, match="view must be a view index"):
        plotting.plot_latent_map(est, X, y, latents="private", view=3)


def test_training_curves_draw_every_loss_part(tables):
    est, _, _ = tables
    ax = plotting.plot_training_curves(est)
    labels = {line.get_label(): line for line in ax.get_lines()}
    for part in ("loss", "rec", "kl", "cross_mi", "gen_aug"):
        assert f"train_{part}" in labels and f"valid_{part}" in labels
        assert labels[f"valid_{part}"].get_linestyle() == "--"
        np.testing.assert_allclose(
            labels[f"train_{part}"].get_ydata(), est.history_[:, f"train_{part}"]
        )
    assert ax.get_xlabel() == "epoch" and "training curves" in ax.get_title()
    ax = plotting.plot_training_curves(est, parts=["kl"])
    assert sorted(line.get_label() for line in ax.get_lines()) == ["train_kl", "valid_kl"]
    with pytest.raises(ValueError, match=r"No loss part\(s\) \['tc'\]"):
        plotting.plot_training_curves(est, parts=["tc"])


def test_coherence_matrix_heatmap(tables):
    result = {"shared_matrix": np.array([[0.9, 0.4, np.nan], [0.5, 0.8, 0.3], [0.2, 0.1, 1.0]])}
    ax, image = plotting.plot_coherence_matrix(result, view_names=["rna", "mirna", "meth"])
    assert [t.get_text() for t in ax.texts] == [
        "0.90",
        "0.40",
        "0.50",
        "0.80",
        "0.30",
        "0.20",
        "0.10",
        "1.00",
    ]  # NaN cells stay empty
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rna", "mirna", "meth"]
    assert ax.get_ylabel() == "source view (conditioned on)"
    assert image.get_array().shape == (3, 3) and len(ax.figure.axes) == 2  # with colour bar
    with pytest.raises(ValueError, match="must be square"):
        plotting.plot_coherence_matrix(np.ones((2, 3)))
    with pytest.raises(ValueError, match="no 'private_matrix'"):
        plotting.plot_coherence_matrix(result, label="private")


def test_imputation_against_the_truth(tables):
    est, X, _ = tables
    truth = X.views[1]
    hidden = MultiView(
        [X.views[0], np.where(np.arange(120)[:, None] < 30, np.nan, truth), X.views[2]]
    )
    ax, r2 = plotting.plot_imputation(est, hidden, truth, view=1)
    imputed = est.impute(hidden).views[1][:30]
    assert r2 == pytest.approx(r2_score(truth[:30], imputed, multioutput="variance_weighted"))
    assert len(ax.collections) == truth.shape[1]  # one scatter per feature
    assert "30 missing samples" in ax.get_title()
    assert any("R^2" in t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ValueError, match="observed in every sample"):
        plotting.plot_imputation(est, X, truth, view=1)


def test_cross_generation_grid(images):
    est, X, _ = images
    ax, image = plotting.plot_cross_generation(est, X, source=0, target=1, n=5)
    grid = image.get_array()
    assert grid.shape == (6 * 10, 6 * 10, 3)  # (n + 1) tiles of 8 + 2 pixels a side
    # the first row holds the column samples' real images of the target view
    np.testing.assert_allclose(grid[1:9, 11:19, 0], X.views[1][0, 0], rtol=1e-6)
    np.testing.assert_allclose(grid[11:19, 1:9, 1], X.views[0][0, 0], rtol=1e-6)
    # the tile of row i, column j: view 1 generated from z of sample i (its view 0)
    # and w of sample j (its view 1)
    for i, j in ((0, 3), (2, 1)):
        want = est.generate(X[[i]], cond_views=[0], gen_views=1, private=X[[j]])[0, 0]
        top, left = 10 * (i + 1) + 1, 10 * (j + 1) + 1
        np.testing.assert_allclose(grid[top : top + 8, left : left + 8, 0], want, atol=1e-6)
    assert "cross-generation into view 1" in ax.get_title()
    assert ax.get_ylabel() == "shared latent z from the row's image (view 0)"
    tables_est = IDMVAE(n_shared=2, n_private=2, **FAST).fit(make_shared_private(40)[0])
    with pytest.raises(ValueError, match="not an image view"):
        plotting.plot_cross_generation(tables_est, make_shared_private(40)[0])


def test_sample_grids(images):
    est, X, _ = images
    ax, image = plotting.plot_samples(est, 4)
    assert image.get_array().shape == (4 * 10, 2 * 10, 3)
    assert "unconditional samples" in ax.get_title() and ax.get_ylabel() == "sample"
    ax, image = plotting.plot_samples(est, 3, X=X, cond_views=[0])
    assert image.get_array().shape == (3 * 10, 3 * 10, 3)  # real view 0, then both views
    np.testing.assert_allclose(image.get_array()[1:9, 1:9, 2], X.views[0][0, 0], rtol=1e-6)
    assert "generated from view(s) [0]" in ax.get_title()


def test_image_grid_places_tiles_row_major():
    tiles = np.zeros((6, 1, 2, 3), dtype=np.float32)
    tiles[4] = 0.5  # row 1, column 1 of a 2 x 3 grid
    grid = plotting.image_grid(tiles, 2, 3, pad=2)
    assert grid.shape == (2 * 4, 3 * 5, 3)
    np.testing.assert_array_equal(grid[5:7, 6:9], 0.5)
    assert grid[1:3, 1:4].max() == 0.0 and grid[0].min() == 1.0  # border stays white
    with pytest.raises(ValueError, match="shape"):
        plotting.image_grid(np.zeros((2, 4, 2, 2)), 1, 2)


def test_coherence_result_of_the_metrics_module_plots(images):
    """plot_coherence_matrix takes conditional_coherence's result as it is."""
    est, X, y = images
    clfs = metrics.train_view_classifiers(X, y, kind="logistic", random_state=0)
    result = metrics.conditional_coherence(est, X, y, None, clfs, random_state=0)
    ax, image = plotting.plot_coherence_matrix(result)
    np.testing.assert_allclose(image.get_array(), result["shared_matrix"])
