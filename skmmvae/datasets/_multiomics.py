"""Multi-omics tables with survival labels: a TCGA-shaped simulator and a file loader.

Label convention (both functions): ``y = 1`` if the patient died within the horizon
(365 days by default), ``0`` if known to be alive after it, and ``-1`` if unlabelled
(censored before the horizon, or no survival data).
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from ..views import MultiView
from ._utils import (
    _check_fraction,
    _check_int,
    _check_path,
    _hide_views,
    _survival_to_label,
)

__all__ = ["load_tcga", "make_multiomics"]

_OMICS_NAMES = ("mRNA", "methylation", "miRNA", "CNV", "RPPA")


def _view_names(n_views):
    return [_OMICS_NAMES[m] if m < len(_OMICS_NAMES) else f"view{m}" for m in range(n_views)]


def _pca_scores(raw, n_components):
    """Principal component scores (decreasing variance) of the rows of ``raw``."""
    centred = raw - raw.mean(axis=0)
    # Small matrices: one BLAS thread avoids heavy slowdowns on busy machines.
    with threadpool_limits(limits=1, user_api="blas"):
        eigval, eigvec = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(eigval)[::-1][:n_components]
    scores = centred @ eigvec[:, order]
    # Fix the arbitrary sign of each component: its largest entry is positive.
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(n_components)])
    return scores * np.where(signs == 0, 1.0, signs)


def make_multiomics(
    n_samples=500,
    n_views=3,
    n_features=100,
    missing_rate=0.2,
    censored_rate=0.2,
    *,
    n_shared=4,
    n_private=4,
    noise=1.0,
    risk_strength=1.5,
    median_survival=730.0,
    horizon=365.0,
    random_state=None,
):
    """A TCGA-shaped multi-omics simulator with survival and 1-year-mortality labels.

    Each sample has shared latent factors ``z`` (``n_shared`` of them, standard
    normal); the first one, standardised, is the *risk factor*. Each view ``m`` has
    its own private factors ``p_m`` (``n_private``). View ``m`` is built like the
    processed TCGA data (kernel PCA of each omics table):

    1. a "raw omics" table of ``2 * n_features`` columns: a random linear map plus a
       random one-layer tanh map of ``[z, p_m]``, plus Gaussian noise of standard
       deviation ``noise``;
    2. its ``n_features`` leading principal-component scores (uncorrelated columns
       of decreasing variance), scaled so that the first has unit variance.

    Survival times (days) are exponential with hazard
    ``log(2) / median_survival * exp(risk_strength * risk)``. Each sample is
    censored (lost to follow-up) with probability ``censored_rate``, independently
    of everything else, at a time drawn uniformly between 0 and its event time; its
    observed time is then that censoring time and ``event = 0``. Times are rounded
    up to whole days. The binary label is mortality at ``horizon`` days:

    * ``y = 1``: died at or before the horizon;
    * ``y = 0``: known to be alive after the horizon;
    * ``y = -1``: unlabelled (censored before the horizon).

    Finally a share ``missing_rate`` of the (sample, view) entries is set missing
    (all-NaN rows), never all views of a sample.

    Parameters
    ----------
    n_samples : int, default=500
    n_views : int, default=3
    n_features : int or list of int, default=100
        Features per view (at most ``n_samples``, like kernel PCA components).
    missing_rate : float, default=0.2
        Share of missing (sample, view) entries, in [0, 1).
    censored_rate : float, default=0.2
        Share of censored samples, in [0, 1).
    n_shared : int, default=4
        Shared latent factors (the first drives the risk).
    n_private : int, default=4
        Private latent factors per view.
    noise : float, default=1.0
        Noise standard deviation of the raw tables.
    risk_strength : float, default=1.5
        Log hazard ratio per standard deviation of the risk factor.
    median_survival : float, default=730.0
        Median survival time (days) at risk factor 0.
    horizon : float, default=365.0
        Label horizon in days.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        X : MultiView
            ``n_views`` float64 tables ``(n_samples, n_features)``; missing views are
            all-NaN rows.
        y : ndarray of int, shape (n_samples,)
            1-year mortality: 1, 0, or -1 for unlabelled.
        time : ndarray of shape (n_samples,)
            Observed time in days (event or censoring), at least 1.
        event : ndarray of int, shape (n_samples,)
            1 if death was observed, 0 if censored.
        risk : ndarray of shape (n_samples,)
            The true risk factor.
        latent_shared : ndarray of shape (n_samples, n_shared)
            The shared latent factors that generated every view.
        latent_private : list of ndarray of shape (n_samples, n_private)
            Each view's private latent factors.
        view_names : list of str
            ``["mRNA", "methylation", "miRNA", "CNV", "RPPA", "view5", ...]``.
        DESCR : str
            A description of the simulation.

    Examples
    --------
    >>> from skmmvae.datasets import make_multiomics
    >>> data = make_multiomics(n_samples=200, n_features=20, random_state=0)
    >>> data.X.n_views, data.X.views[0].shape
    (3, (200, 20))
    >>> sorted(set(data.y.tolist()))
    [-1, 0, 1]
    """
    n_samples = _check_int(n_samples, "n_samples", minimum=2)
    n_views = _check_int(n_views, "n_views", minimum=1)
    if np.isscalar(n_features):
        widths = [_check_int(n_features, "n_features")] * n_views
    else:
        widths = [_check_int(w, "n_features") for w in n_features]
        if len(widths) != n_views:
            raise ValueError(
                f"n_features must be an int or one width per view ({n_views}); "
                f"got {len(widths)} widths."
            )
    if max(widths) > n_samples:
        raise ValueError(
            f"n_features={max(widths)} exceeds n_samples={n_samples}: principal-component "
            "features cannot outnumber the samples."
        )
    missing_rate = _check_fraction(missing_rate, "missing_rate")
    censored_rate = _check_fraction(censored_rate, "censored_rate")
    n_shared = _check_int(n_shared, "n_shared")
    n_private = _check_int(n_private, "n_private", minimum=0)
    noise = _check_fraction(noise, "noise", 0.0, np.inf)
    risk_strength = _check_fraction(risk_strength, "risk_strength", 0.0, np.inf)
    median_survival = _check_fraction(median_survival, "median_survival", 0.0, np.inf)
    horizon = _check_fraction(horizon, "horizon", 0.0, np.inf)
    if median_survival == 0 or horizon == 0:
        raise ValueError("median_survival and horizon must be positive.")
    rng = check_random_state(random_state)

    shared = rng.randn(n_samples, n_shared)
    risk = (shared[:, 0] - shared[:, 0].mean()) / shared[:, 0].std()
    views, privates = [], []
    for width in widths:
        private = rng.randn(n_samples, n_private)
        latent = np.hstack([shared, private])
        k, n_raw = latent.shape[1], 2 * width
        linear = rng.randn(k, n_raw) / np.sqrt(k)
        w1 = 2.0 * rng.randn(k, n_raw) / np.sqrt(k)
        w2 = rng.randn(n_raw, n_raw) / np.sqrt(n_raw)
        raw = latent @ linear + np.tanh(latent @ w1) @ w2 + noise * rng.randn(n_samples, n_raw)
        scores = _pca_scores(raw, width)
        views.append(scores / scores[:, 0].std())
        privates.append(private)

    hazard = np.log(2.0) / median_survival * np.exp(risk_strength * risk)
    event_time = rng.exponential(size=n_samples) / hazard
    censored = rng.rand(n_samples) < censored_rate
    follow_up = rng.uniform(size=n_samples) * event_time
    event = (~censored).astype(np.int64)
    time = np.maximum(np.ceil(np.where(censored, follow_up, event_time)), 1.0)
    y = _survival_to_label(time, event, horizon)

    _hide_views(views, missing_rate, rng)
    return Bunch(
        X=MultiView(views),
        y=y,
        time=time,
        event=event,
        risk=risk,
        latent_shared=shared,
        latent_private=privates,
        view_names=_view_names(n_views),
        DESCR=(
            f"Simulated multi-omics: {n_samples} samples, {n_views} views of "
            f"{widths} principal-component features, {missing_rate:.0%} missing views, "
            f"{censored_rate:.0%} censored; y = mortality at {horizon:g} days "
            "(1 died, 0 alive, -1 unlabelled)."
        ),
    )


# ----------------------------------------------------------------------------------
# Loader for processed TCGA files
# ----------------------------------------------------------------------------------

_TIME_NAMES = ("time", "survival_time", "os.time", "os_time", "days", "days_to_event")
_EVENT_NAMES = ("event", "status", "os", "os_event", "vital_status", "dead")
_LABEL_NAMES = ("label", "y")


def _read_table(path, name):
    import pandas as pd

    try:
        frame = pd.read_csv(path, index_col=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"load_tcga: cannot parse {name} file {path!r}: {exc}") from exc
    frame.index = frame.index.astype(str)
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()].unique().tolist()
        raise ValueError(f"load_tcga: {name} file {path!r} repeats sample ids {dup[:5]}.")
    return frame


def _pick_column(frame, given, candidates, what, path):
    lookup = {str(c).lower(): c for c in frame.columns}
    if given is not None:
        if given not in frame.columns:
            raise ValueError(
                f"load_tcga: {what} column {given!r} not in {path!r} (columns: "
                f"{list(frame.columns)})."
            )
        return given
    for name in candidates:
        if name in lookup:
            return lookup[name]
    return None


def load_tcga(
    path,
    views=None,
    *,
    labels_file="labels.csv",
    label_col=None,
    time_col=None,
    event_col=None,
    horizon=365.0,
):
    """Load processed multi-omics data (TCGA-style) from local CSV files.

    Expected layout: a directory with

    * one CSV per view, ``<view>.csv`` (e.g. ``mRNA.csv``, ``methylation.csv``,
      ``miRNA.csv``): first column the sample id, then numeric feature columns (the
      100 kernel-PCA components of the processed TCGA data; any number works). A
      sample absent from a view's file, or whose row is entirely empty, has that
      view missing (an all-NaN row);
    * ``labels.csv``: first column the sample id, then either a ready ``label``
      column (1 died within the horizon, 0 alive after it, -1 or empty =
      unlabelled), or a survival time in days (``time``, ``survival_time``,
      ``OS.time``, ``days``, ...) and an event indicator 0/1 (``event``,
      ``status``, ``OS``, ...). Column names are matched case-insensitively; pass
      ``label_col`` / ``time_col`` / ``event_col`` to choose.

    The samples are the union (outer join) of the ids of all view files, sorted.
    Samples with no survival data are unlabelled (``y = -1``); ids found only in
    ``labels.csv`` are dropped (they have no view).

    Parameters
    ----------
    path : str or os.PathLike
        The directory.
    views : list of str, default=None
        View names (file stems) to load, in this order. None loads every
        ``*.csv`` except the labels file, sorted by name.
    labels_file : str, default="labels.csv"
        Name of the label file inside ``path``.
    label_col, time_col, event_col : str, default=None
        Column names in the label file; None finds them by name.
    horizon : float, default=365.0
        Horizon (days) of the mortality label derived from time and event.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        X : MultiView
            One float64 table per view; missing views are all-NaN rows.
        y : ndarray of int, shape (n_samples,)
            Mortality at the horizon: 1, 0, or -1 for unlabelled (censored before the
            horizon: ``event == 0`` and ``time < horizon``; or no data).
        sample_ids : ndarray of str
            The sample ids, sorted (the union over the view files).
        view_names : list of str
            The views read, in order.
        feature_names : list of list of str
            The feature columns of each view.
        time, event : ndarray of float, shape (n_samples,)
            Survival time and event indicator (NaN where unknown, or when the label
            file only has a ``label`` column).

    Raises
    ------
    FileNotFoundError
        If the directory, a requested view file or the label file is missing.
    ValueError
        For an unparsable file, duplicate or partially empty rows, non-numeric
        features, or a label file without usable columns.

    Examples
    --------
    >>> from skmmvae.datasets import load_tcga
    >>> data = load_tcga("~/data/tcga_brca")  # doctest: +SKIP
    >>> data.view_names, data.X.views[0].shape  # doctest: +SKIP
    (['mRNA', 'methylation', 'miRNA'], (1084, 100))
    """
    import pandas as pd

    folder = _check_path(os.path.expanduser(os.fspath(path)), "load_tcga", kind="dir")
    labels_path = os.path.join(folder, labels_file)
    if not os.path.isfile(labels_path):
        raise FileNotFoundError(
            f"load_tcga: label file {labels_file!r} not found in {folder!r}; it must hold the "
            "sample id, then a 'label' column or survival 'time' (days) and 'event' (0/1)."
        )
    if views is None:
        views = sorted(
            f[: -len(".csv")]
            for f in os.listdir(folder)
            if f.endswith(".csv") and f != labels_file
        )
        if not views:
            raise FileNotFoundError(f"load_tcga: no view file (<view>.csv) in {folder!r}.")
    elif isinstance(views, str) or len(views) == 0:
        raise ValueError("views must be a non-empty list of view names (file stems).")
    views = [str(v) for v in views]

    frames = []
    for name in views:
        file = os.path.join(folder, f"{name}.csv")
        if not os.path.isfile(file):
            raise FileNotFoundError(f"load_tcga: view file {file!r} not found.")
        frame = _read_table(file, f"view {name!r}")
        if frame.shape[1] == 0:
            raise ValueError(f"load_tcga: view file {file!r} has no feature column.")
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise ValueError(
                f"load_tcga: view file {file!r} has non-numeric feature column(s) {bad[:5]}; "
                "the first column must be the sample id and all others numbers."
            )
        values = frame.to_numpy(dtype=np.float64)
        isnan = np.isnan(values)
        partial = isnan.any(axis=1) & ~isnan.all(axis=1)
        if partial.any():
            rows = frame.index[partial].tolist()
            raise ValueError(
                f"load_tcga: view file {file!r} has empty cells in part of the row(s) of "
                f"{rows[:5]}; impute them first (an entirely empty row means a missing view)."
            )
        frames.append(frame)

    sample_ids = sorted(set().union(*(f.index for f in frames)))
    if not sample_ids:
        raise ValueError(f"load_tcga: the view files in {folder!r} hold no sample.")
    arrays = [f.reindex(sample_ids).to_numpy(dtype=np.float64) for f in frames]
    observed = np.stack([~np.isnan(a).all(axis=1) for a in arrays], axis=1)
    keep = observed.any(axis=1)
    sample_ids = np.asarray(sample_ids, dtype=object)[keep].astype(str)
    arrays = [a[keep] for a in arrays]

    labels = _read_table(labels_path, "label").reindex(sample_ids)
    n = len(sample_ids)
    label = _pick_column(labels, label_col, _LABEL_NAMES, "label", labels_path)
    tcol = _pick_column(labels, time_col, _TIME_NAMES, "time", labels_path)
    ecol = _pick_column(labels, event_col, _EVENT_NAMES, "event", labels_path)

    def numeric(col):
        values = pd.to_numeric(labels[col], errors="coerce")
        if values.isna().sum() > labels[col].isna().sum():
            raise ValueError(f"load_tcga: column {col!r} of {labels_path!r} must be numeric.")
        return values.to_numpy(dtype=np.float64)

    time = numeric(tcol) if tcol is not None else np.full(n, np.nan)
    event = numeric(ecol) if ecol is not None else np.full(n, np.nan)
    if ecol is not None and not np.isin(event[~np.isnan(event)], (0, 1)).all():
        raise ValueError(f"load_tcga: event column {ecol!r} must hold 0/1 (1 = death observed).")
    if label is not None:
        raw = numeric(label)
        raw = np.where(np.isnan(raw), -1, raw)
        if not np.isin(raw, (-1, 0, 1)).all():
            raise ValueError(f"load_tcga: label column {label!r} must hold 1, 0, -1 or blanks.")
        y = raw.astype(np.int64)
    elif tcol is not None and ecol is not None:
        y = _survival_to_label(time, event, _check_fraction(horizon, "horizon", 0, np.inf))
    else:
        raise ValueError(
            f"load_tcga: {labels_path!r} needs a 'label' column, or a time column (one of "
            f"{_TIME_NAMES}) and an event column (one of {_EVENT_NAMES}); found "
            f"{list(labels.columns)}."
        )
    return Bunch(
        X=MultiView(arrays),
        y=y,
        sample_ids=sample_ids,
        view_names=views,
        feature_names=[[str(c) for c in f.columns] for f in frames],
        time=time,
        event=event,
    )
