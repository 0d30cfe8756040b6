"""Multi-view data: the :class:`MultiView` container and :func:`check_views`.

Every estimator accepts the same inputs and turns them into a list of per-view
arrays plus a boolean mask of shape ``(n_samples, n_views)``:

* :class:`MultiView` (safe for ``GridSearchCV``, ``cross_val_score`` and
  ``train_test_split``: it supports sklearn's row indexing);
* a pandas ``DataFrame`` whose columns are named ``view__feature`` (what
  ``ColumnTransformer`` emits), or any DataFrame plus the estimator's ``views=``;
* a 2-D array plus the estimator's ``views=`` (sizes or column index lists); a
  plain 2-D array with ``views=None`` is a single view;
* a list, tuple or dict of arrays (direct calls only: sklearn's splitters would
  split the list instead of the rows).

A view of a sample is *missing* when its row is entirely NaN, or when an
explicit mask says so. Observed rows must be finite.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.utils import check_array

__all__ = ["MultiView", "check_views"]


class MultiView:
    """Several views (modalities) of the same samples.

    Parameters
    ----------
    views : sequence of array-like
        One array per view, all with the same number of rows. A view is a 2-D
        table ``(n, d)``, a 4-D image stack ``(n, C, H, W)`` or a 2-D integer
        token array ``(n, L)``. Memory-mapped arrays are kept as they are and
        gathered batch by batch during training.
    mask : array-like of bool, shape (n_samples, n_views), default=None
        ``mask[i, m]`` is False when view ``m`` of sample ``i`` is missing. Rows
        that are entirely NaN are missing whatever the mask says.

    Attributes
    ----------
    views : list of ndarray
    mask : ndarray of bool or None
    shape : tuple
        ``(n_samples, total number of flattened features)``, so sklearn can count
        rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae import MultiView
    >>> X = MultiView([np.zeros((4, 3)), np.ones((4, 2))])
    >>> X.shape, len(X[[0, 2]])
    ((4, 5), 2)
    """

    def __init__(self, views, mask=None):
        if isinstance(views, MultiView):
            mask = views.mask if mask is None else mask
            views = views.views
        if isinstance(views, np.ndarray) or not isinstance(views, (list, tuple)):
            raise TypeError(
                "MultiView expects a list or tuple of arrays, one per view; "
                f"got {type(views).__name__}."
            )
        if len(views) == 0:
            raise ValueError("MultiView needs at least one view.")
        arrays = [v if isinstance(v, np.ndarray) else np.asarray(v) for v in views]
        for m, v in enumerate(arrays):
            if v.ndim == 0:
                raise ValueError(f"View {m} is a scalar; each view needs one row per sample.")
        n = {len(v) for v in arrays}
        if len(n) != 1:
            sizes = ", ".join(f"view {m}: {len(v)}" for m, v in enumerate(arrays))
            raise ValueError(f"All views must have the same number of rows ({sizes}).")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (len(arrays[0]), len(arrays)):
                raise ValueError(
                    f"mask must have shape (n_samples, n_views) = "
                    f"{(len(arrays[0]), len(arrays))}; got {mask.shape}."
                )
            if mask.dtype != bool:
                if not np.isin(mask, (0, 1)).all():
                    raise ValueError("mask must be boolean (True = observed).")
                mask = mask.astype(bool)
        self.views = arrays
        self.mask = mask

    @property
    def n_views(self):
        return len(self.views)

    @property
    def shape(self):
        width = sum(int(np.prod(v.shape[1:], dtype=np.int64)) for v in self.views)
        return (len(self.views[0]), width)

    @property
    def ndim(self):
        return 2

    def __len__(self):
        return len(self.views[0])

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, *rest = key
            if any(k is not Ellipsis and k != slice(None) for k in rest):
                raise IndexError(
                    "MultiView supports row indexing only, e.g. X[idx] or X[idx, ...]."
                )
        else:
            rows = key
        if isinstance(rows, numbers.Integral):
            rows = slice(rows, rows + 1) if rows != -1 else slice(-1, None)
            if rows.start >= len(self) or rows.start < -len(self):
                raise IndexError(f"row index out of range for {len(self)} samples")
        elif not isinstance(rows, slice):
            rows = np.asarray(rows)
        views = [v[rows] for v in self.views]
        mask = None if self.mask is None else self.mask[rows]
        return MultiView(views, mask=mask)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"A MultiView holds {self.n_views} views (shapes "
            f"{[tuple(v.shape) for v in self.views]}) and cannot be used as one array, e.g. "
            "by StandardScaler or another array-only step. Use a view's array, X.views[m], "
            "or pass a DataFrame with `view__feature` columns (e.g. the output of a "
            "ColumnTransformer) to preprocess the views inside a Pipeline."
        )

    def __repr__(self):
        shapes = ", ".join(str(v.shape) for v in self.views)
        missing = "" if self.mask is None else f", {int((~self.mask).sum())} missing"
        return f"MultiView(n_views={self.n_views}, shapes=[{shapes}]{missing})"


def _is_dataframe(X):
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _column_groups(n_columns, views, columns=None):
    """Column index arrays of each view for a 2-D table (array or DataFrame)."""
    if views is None:
        has_prefix = [] if columns is None else ["__" in str(c) for c in columns]
        if any(has_prefix) and not all(has_prefix):
            plain = [c for c, p in zip(columns, has_prefix) if not p]
            shown = ", ".join(repr(c) for c in plain[:10]) + (", ..." if len(plain) > 10 else "")
            raise ValueError(
                f"{sum(has_prefix)} of the {len(columns)} DataFrame columns are named "
                f"`view__feature`, but {len(plain)} lack the `view__` prefix: {shown}. Name "
                "every column `view__feature` (the prefix is the view), or pass views= to say "
                "which columns form each view."
            )
        if columns is not None and all(has_prefix):
            prefixes = [str(c).split("__", 1)[0] for c in columns]
            order = list(dict.fromkeys(prefixes))
            return [np.flatnonzero([p == name for p in prefixes]) for name in order], order
        return [np.arange(n_columns)], None
    if isinstance(views, numbers.Integral) or len(views) == 0:
        raise ValueError("views must be a non-empty list of view sizes or of column lists.")
    if all(isinstance(v, numbers.Integral) for v in views):
        sizes = [int(v) for v in views]
        if min(sizes) < 1 or sum(sizes) != n_columns:
            raise ValueError(
                f"views={list(views)} must be positive sizes that add up to the number "
                f"of columns, {n_columns}."
            )
        edges = np.cumsum([0, *sizes])
        return [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])], None
    groups = []
    lookup = None if columns is None else {str(c): i for i, c in enumerate(columns)}
    for m, cols in enumerate(views):
        cols = np.atleast_1d(np.asarray(cols))
        if cols.size == 0:
            raise ValueError(f"views[{m}] selects no column.")
        if cols.dtype.kind in "iu":
            idx = cols.astype(np.int64)
        elif lookup is not None:
            unknown = [c for c in cols if str(c) not in lookup]
            if unknown:
                raise ValueError(f"views[{m}] names unknown columns {unknown[:5]}.")
            idx = np.array([lookup[str(c)] for c in cols], dtype=np.int64)
        else:
            raise ValueError(f"views[{m}] must hold column positions (integers) for array input.")
        if idx.min() < 0 or idx.max() >= n_columns:
            raise ValueError(f"views[{m}] has a column index outside [0, {n_columns}).")
        groups.append(idx)
    flat = np.concatenate(groups)
    if len(np.unique(flat)) != len(flat):
        raise ValueError("views must not share columns.")
    return groups, None


def split_input(X, views=None, to_table=None):
    """Split any accepted input into per-view arrays (values are validated later).

    Parameters
    ----------
    X : multi-view input
    views : list of int or list of column lists, default=None
        Column split of a 2-D array or DataFrame.
    to_table : callable, default=None
        Converts a 2-D array or DataFrame into a 2-D ndarray (an estimator passes
        sklearn's ``validate_data`` here); None uses ``np.asarray``.

    Returns
    -------
    arrays : list of ndarray
    mask : ndarray of bool or None
        The explicit mask of a :class:`MultiView`, else None.
    layout : dict
        What is needed to put per-view arrays back into the caller's container.
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "Sparse data was passed for X, but dense data is required. Use '.toarray()' to "
            "convert to a dense numpy array."
        )
    if isinstance(X, MultiView):
        if views is not None:
            raise ValueError("views= applies to 2-D arrays and DataFrames, not to MultiView.")
        return list(X.views), X.mask, {"kind": "multiview"}
    if isinstance(X, dict):
        if len(X) == 0:
            raise ValueError("Got an empty dict of views.")
        keys = list(X)
        return [np.asarray(X[k]) for k in keys], None, {"kind": "dict", "keys": keys}
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(hasattr(v, "shape") for v in X):
        return [np.asarray(v) for v in X], None, {"kind": type(X).__name__}
    is_frame = _is_dataframe(X)
    if not (is_frame or hasattr(X, "shape") or hasattr(X, "__array__") or isinstance(X, list)):
        raise TypeError(
            "Unsupported input type "
            f"{type(X).__name__}: pass a MultiView, a DataFrame, a 2-D array or a list of arrays."
        )
    columns = list(X.columns) if is_frame else None
    table = to_table(X) if to_table is not None else np.asarray(X)
    if table.ndim != 2:
        raise ValueError(
            f"Expected a 2-D table (or a MultiView of images); got {table.ndim}-D. "
            "Reshape a single feature with X.reshape(-1, 1); wrap image stacks as "
            "MultiView([images, ...])."
        )
    groups, names = _column_groups(table.shape[1], views, columns)
    layout = {"kind": "dataframe" if is_frame else "array", "groups": groups, "names": names}
    if len(groups) == 1 and len(groups[0]) == table.shape[1]:
        return [table], None, layout
    return [table[:, g] for g in groups], None, layout


def _check_one_view(v, m):
    if v.ndim == 3:
        raise ValueError(
            f"View {m} has 3 dimensions {v.shape}; images must be (n, C, H, W): "
            "add a channel axis, e.g. X[:, None]."
        )
    if v.ndim not in (2, 4):
        raise ValueError(
            f"View {m} has {v.ndim} dimensions; expected a 2-D table or token array "
            "or a 4-D image stack (n, C, H, W)."
        )
    if v.dtype == bool:
        v = v.astype(np.float32)
    if v.dtype.kind == "c":
        raise ValueError(
            f"View {m}: Complex data not supported (dtype {v.dtype}); the views must be real. "
            "Pass the real and imaginary parts (or the modulus) as real features instead."
        )
    if v.dtype.kind in "USaV":
        raise ValueError(
            f"View {m} holds strings or bytes (dtype {v.dtype}); the views must be numeric. "
            "Encode the values as numbers first (e.g. OneHotEncoder or OrdinalEncoder)."
        )
    try:
        checked = check_array(
            v,
            dtype="numeric",
            ensure_all_finite="allow-nan",
            allow_nd=True,
            copy=False,
            input_name=f"view {m}",
        )
    except (TypeError, ValueError) as err:
        text = str(err)
        if f"view {m} " in text.lower() and len(text) < 300:
            raise  # sklearn's own message names the view
        if v.dtype == object and "complex" in text:
            raise ValueError(
                f"View {m}: Complex data not supported (complex values in an object array); "
                "the views must be real."
            ) from None
        msg = text.splitlines()[0] if text else type(err).__name__
        msg = msg if len(msg) <= 150 else msg[:150] + "..."
        what = f"View {m} holds values that are not numbers" if v.dtype == object else f"View {m}"
        raise type(err)(f"{what}: {msg}") from None
    if isinstance(v, np.memmap) and checked.dtype == v.dtype and np.shares_memory(checked, v):
        return v  # keep memory-mapped views mapped (gathered per batch in training)
    return checked


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_float32_range(v, m):
    """The networks compute in float32: larger finite values would become infinite."""
    if v.dtype.kind != "f" or v.dtype.itemsize <= 4 or v.size == 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN (missing) views
        hi, lo = np.nanmax(v), np.nanmin(v)
    largest = max(abs(float(hi)), abs(float(lo)))
    if largest > _FLOAT32_MAX:
        raise ValueError(
            f"View {m} has values beyond the float32 range (largest |x| = {largest:.3g} > "
            f"{_FLOAT32_MAX:.3g}); the networks compute in float32. Rescale the view first "
            "(e.g. divide by a constant or take a log)."
        )


def check_views(X, views=None):
    """Validate multi-view input and find the missing views.

    Parameters
    ----------
    X : MultiView, DataFrame, 2-D array, or list / tuple / dict of arrays
        A :class:`MultiView`; a DataFrame with ``view__feature`` columns (or any
        DataFrame with ``views=``); a 2-D array with ``views=`` (a single view
        without); or a list, tuple or dict of per-view arrays.
    views : list of int or list of column lists, default=None
        How to split the columns of a 2-D array or DataFrame into views.

    Returns
    -------
    views : list of ndarray
        The validated per-view arrays. They are the caller's arrays (or read-only
        conversions of them); missing rows still hold their NaNs.
    mask : ndarray of bool, shape (n_samples, n_views)
        True where a view of a sample is observed.

    Raises
    ------
    ValueError
        Different row counts, no samples, non-numeric data, infinite values, a
        partially missing (NaN) row inside an observed view, or a sample with no
        observed view.
    """
    arrays, mask, _ = split_input(X, views)
    return _validate_arrays(arrays, mask)


CHUNK_ROWS = 4096  # rows per chunk when a (memory-mapped) view is scanned


def _nan_rows(v):
    """Per row of ``v``: whether any value is NaN, whether all are; read in chunks of
    rows, so a memory-mapped view is never copied whole."""
    n = len(v)
    any_nan, all_nan = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for start in range(0, n, CHUNK_ROWS):
        block = np.asarray(v[start : start + CHUNK_ROWS])
        isnan = np.isnan(block).reshape(len(block), -1)
        any_nan[start : start + len(isnan)] = isnan.any(axis=1)
        all_nan[start : start + len(isnan)] = isnan.all(axis=1)
    return any_nan, all_nan


def _validate_arrays(arrays, explicit_mask=None):
    arrays = [_check_one_view(v, m) for m, v in enumerate(arrays)]
    n = {len(v) for v in arrays}
    if len(n) != 1:
        sizes = ", ".join(f"view {m}: {len(v)}" for m, v in enumerate(arrays))
        raise ValueError(f"All views must have the same number of rows ({sizes}).")
    for m, v in enumerate(arrays):
        _check_float32_range(v, m)
    n_samples = len(arrays[0])
    mask = np.ones((n_samples, len(arrays)), dtype=bool)
    if explicit_mask is not None:
        mask &= np.asarray(explicit_mask, dtype=bool)
    for m, v in enumerate(arrays):
        if v.dtype.kind != "f":
            continue
        any_nan, all_nan = _nan_rows(v)
        if not any_nan.any():
            continue
        partial = any_nan & ~all_nan & mask[:, m]
        if partial.any():
            rows = np.flatnonzero(partial)
            raise ValueError(
                f"View {m} has NaN in part of observed row(s) {rows[:10].tolist()}: a view "
                "of a sample is either fully observed or entirely NaN (missing). Impute "
                "feature-level NaNs first, or mark the whole view missing. Input contains NaN."
            )
        mask[:, m] &= ~all_nan
    empty = ~mask.any(axis=1)
    if empty.any():
        rows = np.flatnonzero(empty)
        raise ValueError(
            f"Row(s) {rows[:10].tolist()} have no observed view; every sample needs at "
            "least one observed view."
        )
    return arrays, mask


def merge_like(layout, X, views, n_samples):
    """Put per-view arrays back into the caller's container type.

    Columns of a 2-D array or DataFrame that belong to no view are copied from ``X``.
    """
    kind = layout["kind"]
    if kind == "multiview":
        return MultiView(views, mask=np.ones((n_samples, len(views)), dtype=bool))
    if kind == "dict":
        return dict(zip(layout["keys"], views))
    if kind in ("list", "tuple"):
        return list(views) if kind == "list" else tuple(views)
    groups = layout["groups"]
    if kind == "dataframe":
        out = X.copy()
        for g, v in zip(groups, views):
            v = np.asarray(v).reshape(n_samples, -1)
            dtypes = {out.dtypes.iloc[j] for j in g}
            dtype = dtypes.pop() if len(dtypes) == 1 else None
            if isinstance(dtype, np.dtype) and dtype.kind == "f":  # float columns keep it
                out.iloc[:, g] = v.astype(dtype, copy=False)
                continue
            for k, j in enumerate(g):  # mixed or non-float columns: replace them
                dt, col = out.dtypes.iloc[j], v[:, k]
                if isinstance(dt, np.dtype) and dt.kind == "f":
                    col = col.astype(dt, copy=False)
                elif isinstance(dt, np.dtype) and dt.kind in "iub" and col.dtype.kind == "f":
                    with np.errstate(invalid="ignore"):  # e.g. observed integer columns
                        exact = col.astype(dt)
                    col = exact if np.array_equal(exact, col) else col
                out.isetitem(int(j), col)
        return out
    base = np.asarray(X)
    dtype = np.result_type(base.dtype, *[v.dtype for v in views])
    out = base.astype(dtype, copy=True)
    for g, v in zip(groups, views):
        out[:, g] = v
    return out
