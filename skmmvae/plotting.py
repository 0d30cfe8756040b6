"""Plots of fitted models: latent maps, generation grids, training curves, coherence
matrices and imputation against the truth.

Every function draws into ``ax`` (a new figure when None), labels its axes, sets a
title, and returns the matplotlib objects it made. matplotlib is imported when a
function is called (``pip install matplotlib`` or ``skmmvae[plot]``); nothing here is
imported by ``import skmmvae``.

>>> import skmmvae
>>> from skmmvae import plotting
>>> X, y, _ = skmmvae.make_shared_private(n_samples=200, random_state=0)
>>> est = skmmvae.IDMVAE(n_shared=4, n_private=2, max_epochs=5, random_state=0).fit(X)
>>> ax = plotting.plot_training_curves(est)
>>> ax, points = plotting.plot_latent_map(est, X, y)
"""

from __future__ import annotations

import numpy as np

from .views import MultiView, check_views

__all__ = [
    "image_grid",
    "plot_coherence_matrix",
    "plot_cross_generation",
    "plot_imputation",
    "plot_latent_map",
    "plot_samples",
    "plot_training_curves",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skmmvae.plotting needs matplotlib: pip install matplotlib (or skmmvae[plot])."
        ) from exc
    return plt


def _axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _image_view(est, m):
    shape = est.view_shapes_[m]
    if len(shape) != 3:
        raise ValueError(
            f"View {m} is not an image view (sample shape {shape}); generation grids need "
            "(channels, height, width) views. For tables use plot_imputation."
        )
    return shape


def _multiview(X):
    """``X`` as a validated MultiView and its ``(n, M)`` mask of observed views."""
    views, mask = check_views(X)
    return (X if isinstance(X, MultiView) else MultiView(views, mask)), mask


def _check_view(est, m, name):
    if not isinstance(m, (int, np.integer)) or not 0 <= m < est.n_views_:
        raise ValueError(f"{name} must be a view index in [0, {est.n_views_}); got {m!r}.")
    return int(m)


def image_grid(images, n_rows, n_cols, pad=2):
    """Tile images ``(n_rows * n_cols, C, H, W)`` (row-major; C = 1 or 3) into one
    ``(n_rows * (H + pad), n_cols * (W + pad), 3)`` RGB array on a white background;
    values are clipped to [0, 1]."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (n, 1 or 3, H, W); got {images.shape}.")
    n, c, h, w = images.shape
    canvas = np.ones((n_rows * (h + pad), n_cols * (w + pad), 3), dtype=np.float32)
    for i in range(min(n, n_rows * n_cols)):
        r, k = divmod(i, n_cols)
        tile = np.clip(images[i], 0, 1).transpose(1, 2, 0)
        top, left = r * (h + pad) + pad // 2, k * (w + pad) + pad // 2
        canvas[top : top + h, left : left + w] = tile  # one channel broadcasts to RGB
    return canvas


def _show_grid(ax, grid, title, xlabel, ylabel):
    image = ax.imshow(grid, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def _pixels(est, m, images):
    """Images of view ``m`` on the [0, 1] scale (8-bit views come back as 0-255)."""
    images = np.asarray(images, dtype=np.float32)
    if est.modalities_[m].pixel_scale is not None:
        images = images / est.modalities_[m].pixel_scale
    return images


def plot_latent_map(
    est,
    X,
    labels,
    *,
    latents="shared",
    view=0,
    method="pca",
    ax=None,
    title=None,
    random_state=0,
):
    """A 2-D map of the latents of ``X``, coloured by ``labels``, with a legend.

    Parameters
    ----------
    est : fitted estimator
    X : multi-view input
    labels : array-like of shape (n_samples,)
        Class labels (a legend entry each) or numbers (a colour bar).
    latents : {"shared", "private"}, default="shared"
        The shared latent z, or the private latent w of ``view``.
    view : int, default=0
        The view whose private latent is mapped (``latents="private"``).
    method : {"pca", "tsne"}, default="pca"
        The 2-D embedding (scikit-learn's PCA or TSNE); latents with 2 dimensions
        are drawn as they are.
    ax : matplotlib Axes, default=None
    title : str, default=None
    random_state : int, default=0
        Seeds the embedding.

    Returns
    -------
    ax : matplotlib Axes
    points : matplotlib PathCollection
    """
    labels = np.asarray(labels)
    X, observed = _multiview(X)
    if len(labels) != len(X):
        raise ValueError(f"labels has {len(labels)} entries for {len(X)} samples.")
    if latents == "shared":
        Z, what = np.asarray(est.transform(X, latents="shared")), "shared latent z"
    elif latents == "private":
        if not est.has_private_latents:
            raise ValueError(f"{type(est).__name__} has no private latents.")
        view = _check_view(est, view, "view")
        W = np.asarray(est.transform(X, latents="private"))  # blocks w_0, w_1, ...
        Z, what = W.reshape(len(W), est.n_views_, -1)[:, view], f"private latent w_{view}"
        keep = observed[:, view]  # samples without the view have no w_view
        Z, labels = Z[keep], labels[keep]
    else:
        raise ValueError(f"latents must be 'shared' or 'private'; got {latents!r}.")
    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne'; got {method!r}.")
    if Z.shape[1] == 2:
        P, axis, how = Z, "latent dimension", "both dimensions"
    elif method == "pca":
        from sklearn.decomposition import PCA

        P = PCA(2, random_state=random_state).fit_transform(Z)
        axis, how = "principal component", "PCA"
    else:
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(Z) - 1) / 3))
        P = TSNE(2, perplexity=perplexity, random_state=random_state).fit_transform(Z)
        axis, how = "t-SNE dimension", "t-SNE"
    ax = _axes(ax, (5.5, 4.5))
    categorical = labels.dtype.kind in "OUSb" or len(np.unique(labels)) <= 20
    if categorical:
        classes, codes = np.unique(labels, return_inverse=True)
        points = ax.scatter(
            P[:, 0],
            P[:, 1],
            c=codes,
            cmap="tab10" if len(classes) <= 10 else "tab20",
            s=8,
            vmin=0,
            vmax=max(len(classes) - 1, 1),
        )
        handles, _ = points.legend_elements(num=None)  # one per code, in class order
        ax.legend(
            handles,
            [str(c) for c in classes],
            fontsize=7,
            title="label",
            title_fontsize=7,
            loc="best",
        )
    else:
        points = ax.scatter(P[:, 0], P[:, 1], c=labels, cmap="viridis", s=8)
        ax.figure.colorbar(points, ax=ax, label="label")
    ax.set_xlabel(f"first {axis}", fontsize=8)
    ax.set_ylabel(f"second {axis}", fontsize=8)
    ax.set_title(title or f"{type(est).__name__}: {what} ({how})", fontsize=9)
    return ax, points


def plot_cross_generation(est, X, *, source=0, target=1, n=8, ax=None, random_state=0):
    """Cross-generation grid: view ``target`` generated from the shared latent of one
    sample (rows, inferred from its view ``source``) and the private latent of another
    (columns, from its view ``target``). The first row shows the column samples'
    real images, the first column the row samples' real images. Without private
    latents every column of a row is the same latent (w drawn from the prior).

    Parameters
    ----------
    est : fitted estimator
    X : multi-view input with at least ``n`` samples (the first ``n`` are used)
    source, target : int
        Image views (``source`` gives z, ``target`` is generated and gives w).
    n : int, default=8
    ax : matplotlib Axes, default=None
    random_state : int, default=0

    Returns
    -------
    ax : matplotlib Axes
    image : matplotlib AxesImage
    """
    source, target = _check_view(est, source, "source"), _check_view(est, target, "target")
    _image_view(est, source), _image_view(est, target)
    Xs = _multiview(X)[0][:n]
    if len(Xs) < n:
        raise ValueError(f"X has {len(Xs)} samples; the grid needs n={n}.")
    rows, cols = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    private = Xs[cols] if est.has_private_latents else "prior"
    gen = est.generate(
        Xs[rows],
        cond_views=[source],
        gen_views=target,
        private=private,
        random_state=random_state,
    )
    gen = _pixels(est, target, gen)
    real_target = _pixels(est, target, Xs.views[target])
    real_source = _pixels(est, source, Xs.views[source])
    if real_source.shape[1:] != gen.shape[1:]:  # other size or channels: blank column
        real_source = np.ones((n, *gen.shape[1:]), dtype=np.float32)
    blank = np.ones((1, *gen.shape[1:]), dtype=np.float32)
    body = [np.concatenate([real_source[i : i + 1], gen[i * n : (i + 1) * n]]) for i in range(n)]
    tiles = np.concatenate([blank, real_target, *body])
    ax = _axes(ax, (6, 6))
    image = _show_grid(
        ax,
        image_grid(tiles, n + 1, n + 1),
        f"{type(est).__name__}: cross-generation into view {target}\n(first row: real "
        f"images of view {target}; first column: real images of view {source})",
        f"private latent w from the column's image (view {target})"
        if est.has_private_latents
        else "columns: the same shared latent (no private latents)",
        f"shared latent z from the row's image (view {source})",
    )
    return ax, image


def plot_samples(est, n=8, *, X=None, cond_views=None, ax=None, random_state=0):
    """A grid of generated image views: one sample per row, one view per column.

    Unconditional (``X`` None): ``est.sample`` (one shared latent per row). Conditional:
    the first ``n`` samples of ``X`` seen through ``cond_views`` generate every view,
    with the real images of the conditioning view(s) in the first column(s).

    Returns
    -------
    ax : matplotlib Axes
    image : matplotlib AxesImage
    """
    views = list(range(est.n_views_))
    shapes = {_image_view(est, m)[1:] for m in views}
    if len(shapes) > 1:
        raise ValueError(f"The views' images have different sizes {sorted(shapes)}.")
    if X is None:
        generated = est.sample(n, random_state=random_state)
        columns = [_pixels(est, m, generated[m]) for m in views]
        title = f"{type(est).__name__}: unconditional samples"
        xlabel = (
            "view (one shared z per row,\nindependent private w)"
            if est.has_private_latents
            else "view (one shared z per row)"
        )
    else:
        Xs = _multiview(X)[0][:n]
        cond = (
            views
            if cond_views is None
            else [_check_view(est, m, "cond_views") for m in np.atleast_1d(cond_views)]
        )
        generated = est.generate(Xs, cond_views=cond, gen_views=views, random_state=random_state)
        real = [_pixels(est, m, Xs.views[m]) for m in cond]
        columns = real + [_pixels(est, m, generated[m]) for m in views]
        title = f"{type(est).__name__}: views generated from view(s) {cond}"
        xlabel = f"real view(s) {cond},\nthen generated views {views}"
    n = len(columns[0])
    to_rgb = [c if c.shape[1] == 3 else np.repeat(c, 3, axis=1) for c in columns]
    tiles = np.stack([col[i] for i in range(n) for col in to_rgb])
    ax = _axes(ax, (max(len(columns) * 1.1 + 1, 3.5), n * 0.9 + 0.8))
    image = _show_grid(ax, image_grid(tiles, n, len(columns)), title, xlabel, "sample")
    return ax, image


def plot_training_curves(est, *, parts=None, ax=None, log_scale=False):
    """Every loss part of ``history_`` per epoch: training solid, validation dashed.

    Parameters
    ----------
    est : fitted estimator
    parts : list of str, default=None
        Part names without the prefix (``"loss"``, ``"rec"``, ``"kl"``, ...); None: all.
    ax : matplotlib Axes, default=None
    log_scale : bool, default=False
        Logarithmic y axis (parts must be positive).

    Returns
    -------
    ax : matplotlib Axes (its lines are labelled ``train_<part>`` / ``valid_<part>``)
    """
    history = est.history_
    keys = [k for k in history[-1] if k.startswith(("train_", "valid_"))]
    keys = [k for k in keys if not k.endswith(("_best", "_batch_count"))]
    if parts is not None:
        wanted = {f"{p}_{part}" for p in ("train", "valid") for part in parts}
        unknown = sorted(set(parts) - {k.split("_", 1)[1] for k in keys})
        if unknown:
            raise ValueError(f"No loss part(s) {unknown} in history_; it has {sorted(keys)}.")
        keys = [k for k in keys if k in wanted]
    ax = _axes(ax, (6, 4))
    epochs = np.arange(1, len(history) + 1)
    colours = {}
    for key in sorted(keys, key=lambda k: (k.split("_", 1)[1], k)):
        prefix, part = key.split("_", 1)
        values = np.array([row.get(key, np.nan) for row in history], dtype=float)
        colour = colours.setdefault(part, f"C{len(colours) % 10}")
        ax.plot(epochs, values, "-" if prefix == "train" else "--", color=colour, label=key)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch", fontsize=8)
    ax.set_ylabel("per-sample loss part (nats)", fontsize=8)
    ax.set_title(f"{type(est).__name__}: training curves", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_coherence_matrix(result, *, label="shared", view_names=None, ax=None, title=None):
    """Heatmap of a coherence matrix: the accuracy with which views generated for each
    target view (columns) from each source view (rows) carry the label.

    Parameters
    ----------
    result : dict or array-like of shape (n_views, n_views)
        :func:`skmmvae.metrics.conditional_coherence`'s result (its
        ``{label}_matrix``) or the matrix itself.
    label : str, default="shared"
    view_names : list of str, default=None
    ax : matplotlib Axes, default=None
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    image : matplotlib AxesImage
    """
    if isinstance(result, dict):
        key = f"{label}_matrix"
        if key not in result:
            raise ValueError(f"result has no {key!r}; it has {sorted(result)}.")
        matrix = np.asarray(result[key], dtype=float)
    else:
        matrix = np.asarray(result, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"The coherence matrix must be square; got shape {matrix.shape}.")
    n = len(matrix)
    names = list(view_names) if view_names is not None else [f"view {m}" for m in range(n)]
    if len(names) != n:
        raise ValueError(f"view_names has {len(names)} names for {n} views.")
    ax = _axes(ax, (1.1 * n + 2, 1.0 * n + 1.5))
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    for s in range(n):
        for t in range(n):
            if np.isfinite(matrix[s, t]):
                dark = matrix[s, t] < 0.6
                ax.text(
                    t,
                    s,
                    f"{matrix[s, t]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
    ax.set_xticks(range(n), names, fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("target view (generated)", fontsize=8)
    ax.set_ylabel("source view (conditioned on)", fontsize=8)
    ax.set_title(title or f"coherence of the {label} label", fontsize=9)
    ax.figure.colorbar(image, ax=ax, label="accuracy")
    return ax, image


def plot_imputation(est, X, truth, view, *, features=None, ax=None):
    """Imputed against true values of a table view, for the samples whose ``view`` is
    missing in ``X``, with the identity line and the R^2 in the legend.

    Parameters
    ----------
    est : fitted estimator
    X : multi-view input in which ``view`` is missing for some samples
    truth : array-like of shape (n_samples, n_features)
        The true values of ``view`` (rows of the observed samples are ignored).
    view : int
    features : list of int, default=None
        Columns to draw (all by default), one colour each when there are at most 10.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    r2 : float
        The coefficient of determination of the drawn features, variance-weighted
        (1 - residual sum of squares / the features' total sums of squares).
    """
    view = _check_view(est, view, "view")
    if len(est.view_shapes_[view]) != 1:
        raise ValueError(f"View {view} is not a table view; plot_imputation draws tables.")
    Xv, observed = _multiview(X)
    truth = np.asarray(truth, dtype=float)
    missing = ~observed[:, view]
    if not missing.any():
        raise ValueError(f"View {view} is observed in every sample of X: nothing to impute.")
    if truth.shape != Xv.views[view].shape:
        raise ValueError(f"truth has shape {truth.shape}; view {view} has {Xv.views[view].shape}.")
    imputed = np.asarray(est.impute(Xv).views[view])
    columns = list(range(truth.shape[1])) if features is None else list(features)
    t, p = truth[missing][:, columns], imputed[missing][:, columns]
    r2 = 1 - ((p - t) ** 2).sum() / ((t - t.mean(0)) ** 2).sum()
    ax = _axes(ax, (4.5, 4.5))
    for k, col in enumerate(columns):
        ax.scatter(
            t[:, k],
            p[:, k],
            s=6,
            alpha=0.6,
            color=f"C{k % 10}",
            label=f"feature {col}" if len(columns) <= 10 else None,
        )
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label=f"identity (R^2 = {r2:.2f})")
    ax.set_xlabel(f"true value (view {view})", fontsize=8)
    ax.set_ylabel(f"imputed value (view {view})", fontsize=8)
    ax.set_title(
        f"{type(est).__name__}: imputation of view {view} ({int(missing.sum())} missing samples)",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return ax, float(r2)
