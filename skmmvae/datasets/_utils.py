"""Helpers shared by the data set generators and loaders (not public)."""

from __future__ import annotations

import numbers
import os

import numpy as np


def _hide_views(views, missing_rate, rng):
    """Set a share ``missing_rate`` of the (sample, view) entries of ``views`` missing
    (all-NaN rows, in place), never all views of a sample."""
    if missing_rate <= 0:
        return
    n_samples, n_views = len(views[0]), len(views)
    missing = rng.rand(n_samples, n_views) < missing_rate
    full = missing.all(axis=1)
    missing[full, rng.randint(n_views, size=full.sum())] = False
    for m, x in enumerate(views):
        x[missing[:, m]] = np.nan


def _require_pil(what):
    """Import and return ``PIL.Image``, or raise a helpful ImportError."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - exercised with a patched import
        raise ImportError(
            f"{what} needs pillow to read images. Install it with `pip install pillow` "
            "(or `pip install skmmvae[images]`)."
        ) from exc
    return Image


def _check_int(value, name, minimum=1, allow_none=False):
    """Validate an integer parameter and return it as a Python int."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def _check_fraction(value, name, low=0.0, high=1.0, high_inclusive=False):
    """Validate a float in ``[low, high)`` (or ``[low, high]``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number; got {value!r}.")
    value = float(value)
    ok = low <= value <= high if high_inclusive else low <= value < high
    if not ok:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}; got {value}.")
    return value


def _check_path(path, name="path", kind="any"):
    """Return ``path`` as a str after checking that it exists (file, dir or any)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike; got {type(path).__name__}.")
    path = os.fspath(path)
    if kind == "dir" and not os.path.isdir(path):
        raise FileNotFoundError(f"{name}: directory not found: {path!r}.")
    if kind == "file" and not os.path.isfile(path):
        raise FileNotFoundError(f"{name}: file not found: {path!r}.")
    if kind == "any" and not os.path.exists(path):
        raise FileNotFoundError(f"{name}: no such file or directory: {path!r}.")
    return path


def _interp_matrix(n_in, n_out):
    """Bilinear interpolation weights ``(n_out, n_in)`` with half-pixel centres.

    Matches ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False)`` without anti-aliasing: output pixel ``i`` samples the
    input at ``(i + 0.5) * n_in / n_out - 0.5``, clamped to the image.
    """
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    weights = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(weights, (rows, i0), 1.0 - frac)
    np.add.at(weights, (rows, i1), frac)
    return weights


def _resize_bilinear(images, size):
    """Resize a stack ``(n, H, W)`` of grayscale images to ``(n, *size)`` (float32)."""
    images = np.asarray(images, dtype=np.float32)
    rows = _interp_matrix(images.shape[1], size[0]).astype(np.float32)
    cols = _interp_matrix(images.shape[2], size[1]).astype(np.float32)
    return np.matmul(np.matmul(rows, images), cols.T)


def _survival_to_label(time, event, horizon=365.0):
    """Binary mortality label at ``horizon`` from (time, event); -1 = unknown.

    * ``1``: the event happened at or before ``horizon``;
    * ``0``: the sample is known to be alive after ``horizon`` (event later, or
      censored at or after ``horizon``);
    * ``-1``: censored before ``horizon`` (status unknown) or time / event missing.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    y = np.full(time.shape, -1, dtype=np.int64)
    known = np.isfinite(time) & np.isfinite(event)
    died = known & (event == 1) & (time <= horizon)
    survived = known & (time > horizon) | known & (event == 0) & (time >= horizon)
    y[survived] = 0
    y[died] = 1
    return y
