"""skmmvae.datasets loaders and the multi-omics generator, on bundled data or tiny files
written here (PolyMNIST: tests/test_polymnist.py)."""

import gzip
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from skmmvae import check_views
from skmmvae.datasets import (
    load_mimic_cxr,
    load_mnist,
    load_tcga,
    make_multiomics,
    read_idx,
)

# ---------------------------------------------------------------------------------
# read_idx / load_mnist
# ---------------------------------------------------------------------------------

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}


def write_idx(path, array, compress=False):
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(payload)


def test_read_idx_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(6, 28, 28)).astype(np.uint8)
    write_idx(tmp_path / "raw", images)
    write_idx(tmp_path / "packed.gz", images, compress=True)
    write_idx(tmp_path / "nogzsuffix", images, compress=True)  # detected by content
    for name in ("raw", "packed.gz", "nogzsuffix"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, images)
    for dtype in (np.int16, np.int32, np.float32):
        values = rng.randn(3, 4).astype(dtype) * 100
        write_idx(tmp_path / "typed", values)
        out = read_idx(tmp_path / "typed")
        assert out.dtype == dtype and out.dtype.isnative
        np.testing.assert_array_equal(out, values)


def test_read_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent")
    (tmp_path / "text").write_bytes(b"hello world, not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "text")
    (tmp_path / "code").write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(ValueError, match="type code"):
        read_idx(tmp_path / "code")
    write_idx(tmp_path / "full", np.arange(10, dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "full").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "badgz").write_bytes(b"\x1f\x8b" + b"garbage")
    with pytest.raises(ValueError, match="gzip"):
        read_idx(tmp_path / "badgz")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ValueError):
        read_idx(tmp_path / "empty")


def test_load_mnist_dir_and_npz(tmp_path):
    rng = np.random.RandomState(1)
    arrays = {
        "x_train": rng.randint(0, 256, size=(8, 28, 28)).astype(np.uint8),
        "y_train": rng.randint(0, 10, size=8).astype(np.uint8),
        "x_test": rng.randint(0, 256, size=(3, 28, 28)).astype(np.uint8),
        "y_test": rng.randint(0, 10, size=3).astype(np.uint8),
    }
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", arrays["x_train"], compress=True)
    write_idx(folder / "train-labels-idx1-ubyte", arrays["y_train"])
    write_idx(folder / "t10k-images.idx3-ubyte", arrays["x_test"])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", arrays["y_test"], compress=True)
    np.savez(tmp_path / "mnist.npz", **arrays)
    for source in (folder, tmp_path / "mnist.npz"):
        data = load_mnist(source)
        for key, value in arrays.items():
            np.testing.assert_array_equal(data[key], value)
    # errors
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path / "nowhere")
    os.remove(folder / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="t10k-labels"):
        load_mnist(folder)
    np.savez(tmp_path / "partial.npz", x_train=arrays["x_train"])
    with pytest.raises(ValueError, match="y_train"):
        load_mnist(tmp_path / "partial.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError):
        load_mnist(tmp_path / "junk.npz")
    np.savez(tmp_path / "mismatch.npz", **{**arrays, "y_test": arrays["y_train"]})
    with pytest.raises(ValueError, match="y_test"):
        load_mnist(tmp_path / "mismatch.npz")


# ---------------------------------------------------------------------------------
# make_multiomics
# ---------------------------------------------------------------------------------


def test_make_multiomics_structure():
    data = make_multiomics(n_samples=300, n_views=3, n_features=20, random_state=0)
    X = data.X
    assert X.n_views == 3 and [v.shape for v in X.views] == [(300, 20)] * 3
    views, mask = check_views(X)
    assert mask.any(axis=1).all()  # never all views missing
    assert 0.1 < (~mask).mean() < 0.3
    for v, observed in zip(X.views, mask.T):
        assert np.isnan(v[~observed]).all() and np.isfinite(v[observed]).all()
    assert set(np.unique(data.y)) == {-1, 0, 1}
    assert data.event.dtype.kind == "i" and set(np.unique(data.event)) <= {0, 1}
    assert np.all(data.time >= 1)
    assert 0.1 < (data.event == 0).mean() < 0.3
    unlabelled = data.y == -1
    assert 0.02 < unlabelled.mean() < 0.25
    np.testing.assert_array_equal(unlabelled, (data.event == 0) & (data.time < 365))
    np.testing.assert_array_equal(data.y == 1, (data.event == 1) & (data.time <= 365))
    assert data.view_names == ["mRNA", "methylation", "miRNA"]
    assert data.risk.shape == (300,) and data.latent_shared.shape == (300, 4)
    # principal-component-like columns: decreasing variance, uncorrelated (before missing)
    full = make_multiomics(n_samples=300, n_features=10, missing_rate=0, random_state=0)
    variances = full.X.views[0].var(axis=0)
    assert np.all(np.diff(variances) <= 1e-9)
    corr = np.corrcoef(full.X.views[0].T)
    assert np.abs(corr - np.eye(10)).max() < 1e-6


def test_make_multiomics_options_and_determinism():
    a = make_multiomics(n_samples=50, n_features=[5, 6], n_views=2, random_state=1)
    b = make_multiomics(n_samples=50, n_features=[5, 6], n_views=2, random_state=1)
    c = make_multiomics(n_samples=50, n_features=[5, 6], n_views=2, random_state=2)
    assert [v.shape[1] for v in a.X.views] == [5, 6]
    np.testing.assert_array_equal(a.X.views[1], b.X.views[1])
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.time, c.time)
    none = make_multiomics(
        n_samples=60, n_features=5, missing_rate=0, censored_rate=0, random_state=0
    )
    assert np.all(none.event == 1) and not np.isnan(none.X.views[0]).any()
    assert set(np.unique(none.y)) <= {0, 1}


def test_make_multiomics_label_is_predictable():
    data = make_multiomics(n_samples=400, n_features=20, random_state=0)
    labelled = data.y >= 0
    X = np.hstack([np.nan_to_num(v) for v in data.X.views])[labelled]
    y = data.y[labelled]
    clf = LogisticRegression(C=0.1, max_iter=1000)
    auc = cross_val_score(clf, X, y, cv=5, scoring="roc_auc").mean()
    accuracy = cross_val_score(clf, X, y, cv=5).mean()
    majority = max(y.mean(), 1 - y.mean())
    assert auc > 0.72
    assert accuracy > majority + 0.05


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_samples": 10, "n_features": 20},
        {"missing_rate": 1.0},
        {"censored_rate": -0.1},
        {"n_views": 2, "n_features": [5, 5, 5]},
        {"n_views": 0},
        {"noise": -1},
        {"median_survival": 0},
    ],
)
def test_make_multiomics_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        make_multiomics(**{"n_samples": 40, "n_features": 5, **kwargs})


# ---------------------------------------------------------------------------------
# load_tcga
# ---------------------------------------------------------------------------------


@pytest.fixture
def tcga_dir(tmp_path):
    rng = np.random.RandomState(0)
    ids = [f"TCGA-{i:02d}" for i in range(8)]
    mrna = pd.DataFrame(rng.randn(8, 4), index=ids, columns=[f"pc{j}" for j in range(4)])
    mirna_ids = ids[3:] + ["TCGA-99"]  # 0-2 miss miRNA, 99 has only miRNA
    mirna = pd.DataFrame(rng.randn(6, 3), index=mirna_ids, columns=["a", "b", "c"])
    mirna.loc["TCGA-04"] = np.nan  # an empty row is a missing view too
    mrna.rename_axis("sample").to_csv(tmp_path / "mRNA.csv")
    mirna.rename_axis("sample").to_csv(tmp_path / "miRNA.csv")
    labels = pd.DataFrame(
        {
            "OS.time": [100, 500, 200, 400, 50, 800, np.nan, 365, 10],
            "OS": [1, 1, 0, 0, 1, 0, np.nan, 0, 1],
        },
        index=ids + ["TCGA-77"],  # 77 has no view and is dropped; 99 has no label
    )
    labels.rename_axis("sample").to_csv(tmp_path / "labels.csv")
    return tmp_path


def test_load_tcga(tcga_dir):
    data = load_tcga(tcga_dir)
    assert data.view_names == ["mRNA", "miRNA"]
    assert list(data.sample_ids) == [f"TCGA-{i:02d}" for i in range(8)] + ["TCGA-99"]
    assert [v.shape for v in data.X.views] == [(9, 4), (9, 3)]
    _, mask = check_views(data.X)
    np.testing.assert_array_equal(mask[:, 1], [0, 0, 0, 1, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(mask[:, 0], [1] * 8 + [0])
    # 100d died, 500d died (after a year), 200d censored, 400d censored, 50d died,
    # 800d censored, unknown, censored at 365d, no label
    np.testing.assert_array_equal(data.y, [1, 0, -1, 0, 1, 0, -1, 0, -1])
    assert np.isnan(data.time[-1]) and data.feature_names[1] == ["a", "b", "c"]
    only = load_tcga(tcga_dir, views=["miRNA"])
    assert only.X.n_views == 1 and len(only.X) == 5


def test_load_tcga_label_column(tcga_dir):
    pd.DataFrame(
        {"Label": [1, 0, None, 1, -1, 0, 0, 1]}, index=[f"TCGA-{i:02d}" for i in range(8)]
    ).to_csv(tcga_dir / "labels.csv")
    data = load_tcga(tcga_dir)
    np.testing.assert_array_equal(data.y, [1, 0, -1, 1, -1, 0, 0, 1, -1])
    assert np.isnan(data.time).all()


def test_load_tcga_errors(tcga_dir, tmp_path_factory):
    with pytest.raises(FileNotFoundError):
        load_tcga(tcga_dir / "nope")
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        load_tcga(tmp_path_factory.mktemp("empty"))
    with pytest.raises(FileNotFoundError, match="CNV"):
        load_tcga(tcga_dir, views=["CNV"])
    with pytest.raises(ValueError, match="time column"):
        load_tcga(tcga_dir, labels_file="miRNA.csv", views=["mRNA"])
    with pytest.raises(ValueError, match="not in"):
        load_tcga(tcga_dir, time_col="days")
    bad = pd.read_csv(tcga_dir / "mRNA.csv", index_col=0)
    bad["pc1"] = bad["pc1"].astype(str) + "x"
    bad.to_csv(tcga_dir / "text.csv")
    with pytest.raises(ValueError, match="non-numeric"):
        load_tcga(tcga_dir, views=["text"])
    part = pd.read_csv(tcga_dir / "mRNA.csv", index_col=0)
    part.iloc[2, 1] = np.nan
    part.to_csv(tcga_dir / "part.csv")
    with pytest.raises(ValueError, match="impute"):
        load_tcga(tcga_dir, views=["part"])
    dup = pd.read_csv(tcga_dir / "mRNA.csv")
    pd.concat([dup, dup.iloc[:1]]).to_csv(tcga_dir / "dup.csv", index=False)
    with pytest.raises(ValueError, match="repeats"):
        load_tcga(tcga_dir, views=["dup"])
    labels = pd.read_csv(tcga_dir / "labels.csv", index_col=0)
    labels["OS"] = labels["OS"] * 2
    labels.to_csv(tcga_dir / "labels.csv")
    with pytest.raises(ValueError, match="0/1"):
        load_tcga(tcga_dir, views=["mRNA"])
    with pytest.raises(ValueError, match="views"):
        load_tcga(tcga_dir, views="mRNA")


# ---------------------------------------------------------------------------------
# load_mimic_cxr
# ---------------------------------------------------------------------------------

LABELS = [
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Lung Opacity",
    "No Finding",
    "Pleural Effusion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
]


def write_jpeg(root, subject, study, dicom, value, size=(24, 20)):
    from PIL import Image

    folder = root / "files" / f"p{str(subject)[:2]}" / f"p{subject}" / f"s{study}"
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, color=value).save(folder / f"{dicom}.jpg", quality=95)


@pytest.fixture
def mimic_root(tmp_path):
    rows = [  # dicom, subject, study, position, grey value
        ("d1", 10000032, 50000001, "PA", 200),
        ("d2", 10000032, 50000001, "LATERAL", 50),
        ("d3", 10000032, 50000001, "PA", 10),  # second frontal: ignored
        ("d4", 11000001, 50000002, "AP", 120),  # no lateral
        ("d5", 12000002, 50000003, "LL", 90),  # no frontal
        ("d6", 12000002, 50000003, "LAO", 30),  # other position: ignored
        ("d7", 13000003, 50000004, "LAO", 30),  # study with no usable view: dropped
    ]
    for dicom, subject, study, _, value in rows:
        write_jpeg(tmp_path, subject, study, dicom, value)
    pd.DataFrame(
        [r[:4] for r in rows], columns=["dicom_id", "subject_id", "study_id", "ViewPosition"]
    ).to_csv(tmp_path / "mimic-cxr-2.0.0-metadata.csv", index=False)
    chex = pd.DataFrame(np.nan, index=range(2), columns=LABELS)
    chex.insert(0, "study_id", [50000001, 50000002])
    chex.insert(0, "subject_id", [10000032, 11000001])
    chex.loc[0, "No Finding"] = 1.0
    chex.loc[1, "Edema"] = -1.0
    chex.loc[1, "Pneumonia"] = 0.0
    chex.to_csv(tmp_path / "mimic-cxr-2.0.0-chexpert.csv", index=False)
    pd.DataFrame(
        {
            "dicom_id": [r[0] for r in rows],
            "study_id": [r[2] for r in rows],
            "subject_id": [r[1] for r in rows],
            "split": ["train", "train", "train", "test", "train", "train", "validate"],
        }
    ).to_csv(tmp_path / "mimic-cxr-2.0.0-split.csv", index=False)
    return tmp_path


def test_load_mimic_cxr(mimic_root):
    data = load_mimic_cxr(mimic_root, image_size=8)
    assert data.view_names == ["frontal", "lateral"] and data.label_names == LABELS
    np.testing.assert_array_equal(data.study_ids, [50000001, 50000002, 50000003])
    np.testing.assert_array_equal(data.subject_ids, [10000032, 11000001, 12000002])
    frontal, lateral = data.X.views
    assert frontal.shape == (3, 1, 8, 8) and frontal.dtype == np.float32
    _, mask = check_views(data.X)
    np.testing.assert_array_equal(mask, [[1, 1], [1, 0], [0, 1]])
    np.testing.assert_allclose(frontal[0], 200 / 255, atol=0.02)  # first PA, not d3
    np.testing.assert_allclose(lateral[0], 50 / 255, atol=0.02)
    np.testing.assert_allclose(frontal[1], 120 / 255, atol=0.02)
    np.testing.assert_allclose(lateral[2], 90 / 255, atol=0.02)
    assert np.isnan(lateral[1]).all() and np.isnan(frontal[2]).all()
    assert data.labels.shape == (3, 14)
    assert data.labels[0, LABELS.index("No Finding")] == 1
    assert data.labels[1, LABELS.index("Edema")] == -1
    assert data.labels[1, LABELS.index("Pneumonia")] == 0
    assert np.isnan(data.labels[0, 0]) and np.isnan(data.labels[2]).all()
    assert list(data.dicom_ids[1]) == ["d4", None]
    assert data.frame.shape[0] == 3 and "No Finding" in data.frame


def test_load_mimic_cxr_options(mimic_root):
    data = load_mimic_cxr(mimic_root, image_size=4, labels=["Edema", "No Finding"])
    assert data.labels.shape == (3, 2) and data.labels[1, 0] == -1
    assert len(load_mimic_cxr(mimic_root, image_size=4, max_studies=1).X) == 1
    test = load_mimic_cxr(mimic_root, image_size=4, split="test")
    np.testing.assert_array_equal(test.study_ids, [50000002])
    both = load_mimic_cxr(mimic_root, image_size=4, split=["train", "test"], n_jobs=2)
    assert len(both.X) == 3
    # a missing image file: raise, or skip (the view becomes missing)
    os.remove(mimic_root / "files" / "p10" / "p10000032" / "s50000001" / "d2.jpg")
    with pytest.raises(FileNotFoundError, match="d2.jpg"):
        load_mimic_cxr(mimic_root, image_size=4)
    skipped = load_mimic_cxr(mimic_root, image_size=4, on_missing_file="skip")
    assert np.isnan(skipped.X.views[1][0]).all() and skipped.dicom_ids[0, 1] is None


def test_load_mimic_cxr_errors(mimic_root, tmp_path_factory):
    with pytest.raises(FileNotFoundError):
        load_mimic_cxr(mimic_root / "absent")
    with pytest.raises(FileNotFoundError, match="metadata"):
        load_mimic_cxr(tmp_path_factory.mktemp("empty"))
    with pytest.raises(ValueError, match="unknown label"):
        load_mimic_cxr(mimic_root, labels=["Flu"])
    with pytest.raises(ValueError, match="split"):
        load_mimic_cxr(mimic_root, split="dev")
    with pytest.raises(ValueError, match="image_size"):
        load_mimic_cxr(mimic_root, image_size=0)
    with pytest.raises(ValueError, match="on_missing_file"):
        load_mimic_cxr(mimic_root, on_missing_file="ignore")
    meta = pd.read_csv(mimic_root / "mimic-cxr-2.0.0-metadata.csv")
    meta.drop(columns="ViewPosition").to_csv(
        mimic_root / "mimic-cxr-2.0.0-metadata.csv", index=False
    )
    with pytest.raises(ValueError, match="ViewPosition"):
        load_mimic_cxr(mimic_root)
    meta.to_csv(mimic_root / "mimic-cxr-2.0.0-metadata.csv", index=False)
    os.remove(mimic_root / "mimic-cxr-2.0.0-split.csv")
    with pytest.raises(FileNotFoundError, match="split"):
        load_mimic_cxr(mimic_root, split="train")
    os.remove(mimic_root / "mimic-cxr-2.0.0-chexpert.csv")
    with pytest.raises(FileNotFoundError, match="chexpert"):
        load_mimic_cxr(mimic_root)


def test_load_mimic_cxr_cache_resizes_once_into_uint8_memory_maps(
    mimic_root, tmp_path, monkeypatch
):
    plain = load_mimic_cxr(mimic_root, image_size=8)
    cached = load_mimic_cxr(mimic_root, image_size=8, cache=tmp_path / "cache")
    _, mask = check_views(plain.X)
    np.testing.assert_array_equal(cached.X.mask, mask)
    for a, b, m in zip(plain.X.views, cached.X.views, mask.T):
        assert isinstance(b, np.memmap) and b.dtype == np.uint8
        np.testing.assert_array_equal(a[m], b[m].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(cached.study_ids, plain.study_ids)
    # the second call reads the cache only: no image is decoded
    import PIL.Image

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(PIL.Image, "open", no_decoding)
    again = load_mimic_cxr(mimic_root, image_size=8, cache=tmp_path / "cache")
    np.testing.assert_array_equal(again.X.views[0], cached.X.views[0])
    with pytest.raises(AssertionError, match="decoded"):  # another size: rebuilt
        load_mimic_cxr(mimic_root, image_size=4, cache=tmp_path / "cache")
