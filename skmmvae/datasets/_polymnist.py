"""PolyMNIST-style image views from the user's MNIST and backgrounds, and the building
blocks the embedded mini data set (``_polymnist_mini``) shares.

Quadrant labels follow the IDMVAE PolyMNIST-Quadrant convention (counter-clockwise
from the top right, as in mathematics): ``0`` top-right, ``1`` top-left, ``2``
bottom-left, ``3`` bottom-right.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.utils import Bunch, check_random_state

from ..views import MultiView
from ._utils import _check_fraction, _check_int, _require_pil, _resize_bilinear

__all__ = ["make_polymnist"]

QUADRANT_NAMES = ("top-right", "top-left", "bottom-left", "bottom-right")
# Block row (0 = top) and block column (0 = left) of each quadrant label.
_QUADRANT_ROW = np.array([0, 0, 1, 1])
_QUADRANT_COL = np.array([1, 0, 0, 1])

_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_CHUNK = 4096


# ----------------------------------------------------------------------------------
# Shared building blocks
# ----------------------------------------------------------------------------------


def _place_in_quadrants(digits, quadrants):
    """Put ``(n, d, d)`` digits into the given quadrant of a zero ``(n, 2d, 2d)`` canvas."""
    n, d = digits.shape[0], digits.shape[1]
    blocks = np.zeros((n, 2, 2, d, d), dtype=digits.dtype)
    blocks[np.arange(n), _QUADRANT_ROW[quadrants], _QUADRANT_COL[quadrants]] = digits
    return blocks.transpose(0, 1, 3, 2, 4).reshape(n, 2 * d, 2 * d)


def _paste_at(digits, offsets, canvas_shape):
    """Paste ``(n, h, w)`` digits into zero canvases at per-sample ``(row, col)`` offsets."""
    n, h, w = digits.shape
    canvas = np.zeros((n, *canvas_shape), dtype=digits.dtype)
    rows = offsets[:, 0, None, None] + np.arange(h)[None, :, None]
    cols = offsets[:, 1, None, None] + np.arange(w)[None, None, :]
    canvas[np.arange(n)[:, None, None], rows, cols] = digits
    return canvas


def _random_crops(background, size, rng, n):
    """``n`` random ``size`` x ``size`` crops (a new ``(n, 3, size, size)`` array)."""
    _, height, width = background.shape
    top = rng.randint(0, height - size + 1, size=n)
    left = rng.randint(0, width - size + 1, size=n)
    windows = sliding_window_view(background, (size, size), axis=(1, 2))
    return windows.transpose(1, 2, 0, 3, 4)[top, left]


def _colour(crops, mask, intensity=None, rule="invert"):
    """Combine background crops ``(n, 3, S, S)`` with a digit mask ``(n, S, S)``, in place.

    ``rule="invert"`` inverts the colours inside the mask (PolyMNIST);
    ``"red"`` / ``"blue"`` write ``intensity`` into that channel and zero the others
    inside the mask (views 0 and 4 of PolyMNIST-Quadrant).
    """
    if rule == "invert":
        np.subtract(1.0, crops, out=crops, where=mask[:, None])
        return crops
    channel = {"red": 0, "blue": 2}[rule]
    for c in range(3):
        value = intensity if c == channel else 0.0
        np.copyto(crops[:, c], value, where=mask, casting="unsafe")
    return crops


# ----------------------------------------------------------------------------------
# Full-size PolyMNIST from user-supplied MNIST arrays and background photos
# ----------------------------------------------------------------------------------

_VARIANTS = ("original", "translated", "quadrant")
_DEFAULT_THRESHOLD = {"original": 128.0, "translated": 128.0, "quadrant": 16.0}


def _read_image_file(path):
    Image = _require_pil("make_polymnist (background files)")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Background image not found: {path!r}.")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except OSError as exc:
        raise ValueError(f"Cannot read background image {path!r}: {exc}") from exc


def _as_background(bg, i):
    """Return background ``i`` as a float32 ``(3, H, W)`` array in [0, 1]."""
    if isinstance(bg, (str, os.PathLike)):
        bg = _read_image_file(os.fspath(bg))
    arr = np.asarray(bg)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(
            f"backgrounds[{i}] must be an RGB image of shape (H, W, 3); got shape {arr.shape}."
        )
    if arr.dtype.kind not in "uif":
        raise ValueError(f"backgrounds[{i}] must be numeric; got dtype {arr.dtype}.")
    if arr.dtype.kind in "ui":
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"backgrounds[{i}] integer values must be in [0, 255].")
        arr = arr.astype(np.float32) / 255.0
    else:
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                f"backgrounds[{i}] float values must be finite and in [0, 1] "
                "(pass uint8 for 0-255 images)."
            )
        arr = arr.astype(np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _collect_backgrounds(backgrounds, n_views, size):
    if isinstance(backgrounds, (str, os.PathLike)):
        folder = os.fspath(backgrounds)
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"backgrounds={folder!r} is not a directory; pass a directory of images or a "
                "list of RGB arrays / image paths."
            )
        backgrounds = sorted(
            os.path.join(folder, f)
            for f in os.listdir(folder)
            if f.lower().endswith(_IMAGE_EXTENSIONS)
        )
    elif isinstance(backgrounds, np.ndarray) and backgrounds.ndim == 4:
        backgrounds = list(backgrounds)
    elif not isinstance(backgrounds, (list, tuple)):
        raise TypeError(
            "backgrounds must be a list of RGB arrays (H, W, 3) or image paths, a (k, H, W, 3) "
            f"array, or a directory; got {type(backgrounds).__name__}."
        )
    if len(backgrounds) < n_views:
        raise ValueError(
            f"Got {len(backgrounds)} background image(s) for n_views={n_views}; each view "
            "needs its own background."
        )
    out = []
    for i, bg in enumerate(backgrounds[:n_views]):
        arr = _as_background(bg, i)
        if arr.shape[1] < size or arr.shape[2] < size:
            raise ValueError(
                f"backgrounds[{i}] is {arr.shape[1]}x{arr.shape[2]}, smaller than the "
                f"{size}x{size} canvas."
            )
        out.append(arr)
    return out


def _check_mnist(images, labels):
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(
            f"images must be an array of shape (n, H, W) (e.g. MNIST's (n, 28, 28)); "
            f"got shape {images.shape}."
        )
    if images.shape[0] == 0:
        raise ValueError("images is empty.")
    if images.dtype.kind not in "uif" or images.dtype == bool:
        raise ValueError(f"images must be numeric (uint8 0-255); got dtype {images.dtype}.")
    lo, hi = float(images.min()), float(images.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
        raise ValueError(f"images must be on the 0-255 scale (like raw MNIST); got [{lo}, {hi}].")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"labels must have shape ({len(images)},) to match images; got {labels.shape}."
        )
    return images, labels


def _pair_by_class(labels, n_views, n_samples, shuffle, rng):
    """PolyMNIST pairing: per class and view, an independent permutation of the class.

    One *round* pairs every image once per view. More rounds (with new permutations)
    are added when ``n_samples`` exceeds the number of images.
    """
    n = len(labels)
    classes = np.unique(labels)
    members = [np.flatnonzero(labels == c) for c in classes]
    n_rounds = 1 if n_samples is None else -(-n_samples // n)
    tuples = []
    for _ in range(n_rounds):
        for idx in members:
            tuples.append(np.stack([rng.permutation(idx) for _ in range(n_views)], axis=1))
    index = np.concatenate(tuples)
    total = len(index)
    if shuffle:
        index = index[rng.permutation(total)]
        if n_samples is not None:
            index = index[:n_samples]
    elif n_samples is not None and n_samples < total:
        index = index[np.sort(rng.choice(total, n_samples, replace=False))]
    return index


def _render(variant, digits, rng, size, threshold, scale):
    """Digit canvases of one chunk: returns (canvas 0-255, mask, private label)."""
    n, h, w = digits.shape
    if variant == "original":
        canvas = digits.astype(np.float32)
        return canvas, canvas > threshold, None
    if variant == "translated":
        small = (max(1, int(round(scale * h))), max(1, int(round(scale * w))))
        resized = _resize_bilinear(digits, small).astype(np.float32)
        offsets = np.stack(
            [
                rng.randint(0, h - small[0] + 1, size=n),
                rng.randint(0, w - small[1] + 1, size=n),
            ],
            axis=1,
        )
        canvas = _paste_at(resized, offsets, (h, w))
        return canvas, canvas > threshold, offsets
    half = size // 2
    resized = _resize_bilinear(digits, (half, half)).astype(np.float32)
    quadrants = rng.randint(4, size=n)
    canvas = _place_in_quadrants(resized, quadrants)
    return canvas, canvas > threshold, quadrants


def make_polymnist(
    images,
    labels,
    backgrounds,
    variant="original",
    n_views=5,
    n_samples=None,
    *,
    threshold=None,
    translate_scale=0.75,
    shuffle=True,
    dtype=np.float32,
    return_masks=False,
    random_state=None,
):
    """Build PolyMNIST (original, translated or quadrant) from MNIST arrays you supply.

    Nothing is downloaded: pass MNIST (e.g. from :func:`load_mnist`) and one
    background photo per view. Call it once per split (MNIST train, MNIST test).

    **Pairing** (as in PolyMNIST): for each digit class and each view, an
    independent random permutation of that class's image indices; tuple ``i`` of a
    class takes the ``i``-th image of each view's permutation. So all views of a
    tuple show the same digit class through different images, and each view uses
    every image exactly once per round. The official generator was *unseeded*;
    here ``random_state`` makes the data set reproducible.

    **Variants**

    * ``"original"`` (MoPoE / MMVAE+): canvas = the MNIST image size (28 x 28); digit
      mask ``pixel > 128``; a random crop of the view's background; colours inverted
      inside the mask.
    * ``"translated"`` (MMVM): the digit is bilinearly downscaled by
      ``translate_scale`` (0.75: 28 -> 21) and pasted at a uniformly random offset
      inside the 28 x 28 canvas (rest black), then as ``"original"``. The offsets
      are returned.
    * ``"quadrant"`` (IDMVAE PolyMNIST-Quadrant): a 64 x 64 canvas; the digit is
      bilinearly resized to 32 x 32 and placed in a uniformly random quadrant (the
      private label); mask ``pixel > 16``; views 1-3 (and any view beyond 4) are
      inverted inside the mask, view 0 writes the digit intensity (/255) into the
      red channel with green = blue = 0, view 4 into the blue channel with red =
      green = 0. Quadrants: ``0`` top-right, ``1`` top-left, ``2`` bottom-left,
      ``3`` bottom-right.

    Crops are uniform over every position where the canvas fits in the background.

    Parameters
    ----------
    images : array-like of shape (n, H, W)
        Grayscale digits on the 0-255 scale (MNIST uint8, 28 x 28).
    labels : array-like of shape (n,)
        Digit labels.
    backgrounds : list of array-like or path, (k, H, W, 3) array, or directory
        One RGB background per view, ``k >= n_views`` (the first ``n_views`` are
        used): arrays of shape ``(H, W, 3)`` (uint8 0-255 or float in [0, 1]), or
        image file paths (read with pillow). A directory path uses its image files
        sorted by name, as the official generator did. Each must be at least as
        large as the canvas.
    variant : {"original", "translated", "quadrant"}, default="original"
    n_views : int, default=5
    n_samples : int or None, default=None
        Number of tuples. None gives one tuple per image (one full round). A larger
        number adds rounds with fresh permutations (like IDMVAE's repetitions);
        a smaller one keeps a random subset.
    threshold : float or None, default=None
        Mask threshold on the 0-255 scale; None uses the variant's (128, 128, 16).
    translate_scale : float, default=0.75
        Digit scale of the ``"translated"`` variant.
    shuffle : bool, default=True
        Shuffle the tuples; otherwise they stay grouped by class.
    dtype : {np.float32, np.float64, np.uint8}, default=np.float32
        Image dtype. Floats are in [0, 1]; uint8 images are ``round(255 * x)`` (like
        the official PNGs, 4x less memory: divide by 255 before training).
    return_masks : bool, default=False
        Also return the boolean digit masks ``(n, n_views, S, S)``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        X : MultiView
            ``n_views`` image stacks of shape ``(n, 3, S, S)``, ``S = 28`` (the image
            size) for "original" / "translated" and 64 for "quadrant".
        y : ndarray of shape (n,)
            Digit (shared label).
        index : ndarray of shape (n, n_views)
            Row of ``images`` used by each view.
        quadrants : ndarray of shape (n, n_views)
            Quadrant of each view (``"quadrant"`` only, else None).
        offsets : ndarray of shape (n, n_views, 2)
            ``(row, col)`` of the digit's top-left corner (``"translated"`` only,
            else None).
        masks : ndarray of bool, shape (n, n_views, S, S)
            Only with ``return_masks=True``.
        view_names, variant, DESCR
            The views' names, the variant, and a description.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmvae.datasets import make_polymnist
    >>> rng = np.random.RandomState(0)
    >>> images = rng.randint(0, 256, size=(20, 28, 28)).astype(np.uint8)
    >>> labels = np.arange(20) % 2
    >>> backgrounds = [rng.rand(80, 80, 3) for _ in range(5)]
    >>> data = make_polymnist(images, labels, backgrounds, variant="quadrant", random_state=0)
    >>> data.X.views[0].shape, data.quadrants.shape
    ((20, 3, 64, 64), (20, 5))
    """
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}; got {variant!r}.")
    n_views = _check_int(n_views, "n_views", minimum=1)
    n_samples = _check_int(n_samples, "n_samples", minimum=1, allow_none=True)
    images, labels = _check_mnist(images, labels)
    if variant == "translated":
        translate_scale = _check_fraction(
            translate_scale, "translate_scale", 0.0, 1.0, high_inclusive=True
        )
        if translate_scale == 0.0:
            raise ValueError("translate_scale must be in (0, 1].")
    if threshold is None:
        threshold = _DEFAULT_THRESHOLD[variant]
    threshold = _check_fraction(threshold, "threshold", 0.0, 255.0)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8)):
        raise ValueError(f"dtype must be float32, float64 or uint8; got {dtype}.")
    if variant == "quadrant":
        size = 64
    else:
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"images must be square; got {images.shape[1:]}.")
        size = images.shape[1]
    bgs = _collect_backgrounds(backgrounds, n_views, size)
    rng = check_random_state(random_state)

    index = _pair_by_class(labels, n_views, n_samples, shuffle, rng)
    n = len(index)
    views = [np.empty((n, 3, size, size), dtype=dtype) for _ in range(n_views)]
    masks = np.empty((n, n_views, size, size), dtype=bool) if return_masks else None
    private = None
    if variant == "quadrant":
        private = np.empty((n, n_views), dtype=np.int64)
    elif variant == "translated":
        private = np.empty((n, n_views, 2), dtype=np.int64)
    for m in range(n_views):
        if variant != "quadrant" or m in (1, 2, 3) or m > 4:
            rule = "invert"
        else:
            rule = "red" if m == 0 else "blue"
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            digits = images[index[start:stop, m]]
            canvas, mask, extra = _render(variant, digits, rng, size, threshold, translate_scale)
            crops = _random_crops(bgs[m], size, rng, stop - start)
            intensity = None if rule == "invert" else canvas / 255.0
            out = _colour(crops, mask, intensity, rule)
            if dtype == np.uint8:
                out = np.rint(np.clip(out, 0.0, 1.0) * 255.0)
            views[m][start:stop] = out
            if masks is not None:
                masks[start:stop, m] = mask
            if private is not None:
                private[start:stop, m] = extra
    data = Bunch(
        X=MultiView(views),
        y=labels[index[:, 0]],
        index=index,
        quadrants=private if variant == "quadrant" else None,
        offsets=private if variant == "translated" else None,
        view_names=[f"m{m}" for m in range(n_views)],
        variant=variant,
        DESCR=(
            f"PolyMNIST ({variant}): {n} tuples of {n_views} RGB {size}x{size} views; "
            "shared label = digit"
            + (", private label = quadrant per view." if variant == "quadrant" else ".")
        ),
    )
    if return_masks:
        data.masks = masks
    return data
