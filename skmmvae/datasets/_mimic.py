"""MIMIC-CXR-JPG frontal / lateral pairs from a local copy of the data set."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.utils import Bunch

from ..views import MultiView
from ._utils import _check_int, _check_path, _require_pil

__all__ = ["load_mimic_cxr"]

CHEXPERT_LABELS = (
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
)
FRONTAL_POSITIONS = ("PA", "AP")
LATERAL_POSITIONS = ("LATERAL", "LL")
_SPLITS = ("train", "validate", "test")


def _find_table(root, stem, required=True):
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path
    if required:
        raise FileNotFoundError(f"load_mimic_cxr: {stem}.csv[.gz] not found in {root!r}.")
    return None


def _read_csv(path, required_columns):
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"load_mimic_cxr: cannot parse {path!r}: {exc}") from exc
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"load_mimic_cxr: {path!r} lacks the column(s) {missing} (columns: "
            f"{list(frame.columns)})."
        )
    return frame


def _decode(read, jobs, n_jobs, chunk=1024):
    """The images of ``jobs`` (``(row, view, path)``), decoded ``chunk`` at a time."""
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        for start in range(0, len(jobs), chunk):
            yield from pool.map(read, [path for _, _, path in jobs[start : start + chunk]])


def _cached_views(folder, key, shape, jobs, read, n_jobs):
    """The two views as memory-mapped uint8 files in ``folder``: reused when
    ``cache.json`` there records the same ``key``, else written image by image."""
    os.makedirs(folder, exist_ok=True)
    index = os.path.join(folder, "cache.json")
    paths = [os.path.join(folder, f"{name}.npy") for name in ("frontal", "lateral")]
    if os.path.isfile(index) and all(os.path.isfile(p) for p in paths):
        with open(index) as fh:
            if json.load(fh) == key:
                return [np.load(p, mmap_mode="r") for p in paths]
        os.remove(index)  # another selection: rebuild
    files = [np.lib.format.open_memmap(p, mode="w+", dtype=np.uint8, shape=shape) for p in paths]
    for (i, v, _), img in zip(jobs, _decode(read, jobs, n_jobs)):
        files[v][i, 0] = img
    for f in files:
        f.flush()
    del files
    with open(index, "w") as fh:  # written last: a half-built cache is never reused
        json.dump(key, fh)
    return [np.load(p, mmap_mode="r") for p in paths]


def _image_path(root, subject, study, dicom):
    subject = str(int(subject))
    return os.path.join(root, "files", f"p{subject[:2]}", f"p{subject}", f"s{int(study)}", dicom)


def load_mimic_cxr(
    root,
    image_size=64,
    labels=None,
    max_studies=None,
    split=None,
    *,
    on_missing_file="raise",
    n_jobs=None,
    cache=None,
):
    """Load MIMIC-CXR-JPG frontal / lateral image pairs per study (local files only).

    Expected layout (that of the PhysioNet MIMIC-CXR-JPG 2.0.0 release)::

        root/
            mimic-cxr-2.0.0-metadata.csv[.gz]   dicom_id, subject_id, study_id,
                                                ViewPosition, ...
            mimic-cxr-2.0.0-chexpert.csv[.gz]   subject_id, study_id, 14 labels
            mimic-cxr-2.0.0-split.csv[.gz]      dicom_id, study_id, subject_id,
                                                split (only needed with ``split=``)
            files/p10/p10000032/s50414267/<dicom_id>.jpg

    Images whose ``ViewPosition`` is ``PA`` or ``AP`` are frontal, ``LATERAL`` or
    ``LL`` lateral; other positions are ignored. Each study gives one sample: its
    first frontal and first lateral image (in metadata order). A study without a
    lateral image has its lateral view missing (an all-NaN image), and likewise for
    a missing frontal image; studies with neither are dropped. Studies are sorted
    by ``study_id``. Images are read as grayscale, resized (not cropped) to
    ``image_size`` x ``image_size`` with pillow's antialiased bilinear filter, and
    scaled to [0, 1].

    Parameters
    ----------
    root : str or os.PathLike
        The MIMIC-CXR-JPG directory.
    image_size : int, default=64
        Side of the square output images.
    labels : sequence of str or None, default=None
        CheXpert label columns to return; None returns every label column of the
        CheXpert table (the 14 standard ones).
    max_studies : int or None, default=None
        Keep only the first ``max_studies`` studies (by ``study_id``): the full data
        set (~227 000 studies) takes several GB even at 64 x 64.
    split : {"train", "validate", "test"}, list of them, or None, default=None
        Keep only the images of these official splits (reads the split table).
    on_missing_file : {"raise", "skip"}, default="raise"
        What to do when an image listed in the metadata is not on disk: raise
        FileNotFoundError, or treat that view as missing.
    n_jobs : int or None, default=None
        Threads used to decode the images (None: 1).
    cache : str or os.PathLike or None, default=None
        A directory for resized images. The first call decodes and resizes every
        image once into two uint8 ``.npy`` files there (written chunk by chunk, so the
        data set never has to fit in memory) and returns them memory-mapped; later
        calls with the same selection (studies, dicom ids, ``image_size``) read only the
        files, not a single JPEG. The views are then uint8 pixels 0-255 (which the
        estimators model as ``x / 255``, reading each batch from disk), with missing
        views marked by ``X.mask`` instead of NaN rows.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        X : MultiView
            Two float32 views ``(n, 1, image_size, image_size)`` in [0, 1]: frontal,
            lateral (all-NaN where missing); with ``cache``, two memory-mapped uint8
            views of pixels 0-255 and a mask of the observed views.
        labels : ndarray of float, shape (n, n_labels)
            CheXpert labels: 1 positive, 0 negative, -1 uncertain, NaN blank (not
            mentioned, or the study is absent from the CheXpert table).
        label_names : list of str
            The CheXpert label of each column of ``labels``.
        study_ids, subject_ids : ndarray of int, shape (n,)
            The MIMIC-CXR study and patient of each sample.
        dicom_ids : ndarray of object, shape (n, 2)
            The frontal and lateral dicom ids (None where missing).
        view_names : list of str
            ``["frontal", "lateral"]``.
        frame : pandas.DataFrame
            One row per study: ids, view positions and labels.

    Raises
    ------
    FileNotFoundError
        If ``root``, a required table or an image file is missing.
    ValueError
        For a missing column, unknown label names or split, bad parameters, or no
        usable study.

    Examples
    --------
    >>> from skmmvae.datasets import load_mimic_cxr
    >>> data = load_mimic_cxr("~/data/mimic-cxr-jpg", image_size=64,
    ...                       max_studies=1000)  # doctest: +SKIP
    >>> data.X.views[0].shape  # doctest: +SKIP
    (1000, 1, 64, 64)
    """
    import pandas as pd

    root = _check_path(os.path.expanduser(os.fspath(root)), "load_mimic_cxr", kind="dir")
    image_size = _check_int(image_size, "image_size", minimum=1)
    max_studies = _check_int(max_studies, "max_studies", minimum=1, allow_none=True)
    n_jobs = _check_int(n_jobs, "n_jobs", minimum=1, allow_none=True) or 1
    if on_missing_file not in ("raise", "skip"):
        raise ValueError(f"on_missing_file must be 'raise' or 'skip'; got {on_missing_file!r}.")
    if split is not None:
        splits = [split] if isinstance(split, str) else list(split)
        unknown = [s for s in splits if s not in _SPLITS]
        if unknown or not splits:
            raise ValueError(f"split must be one of {_SPLITS} or a list of them; got {split!r}.")
    Image = _require_pil("load_mimic_cxr")

    meta = _read_csv(
        _find_table(root, "mimic-cxr-2.0.0-metadata"),
        ["dicom_id", "subject_id", "study_id", "ViewPosition"],
    )
    chex_path = _find_table(root, "mimic-cxr-2.0.0-chexpert")
    chexpert = _read_csv(chex_path, ["subject_id", "study_id"])
    available = [c for c in chexpert.columns if c not in ("subject_id", "study_id")]
    if labels is None:
        label_names = available
    else:
        label_names = [labels] if isinstance(labels, str) else [str(c) for c in labels]
        unknown = [c for c in label_names if c not in available]
        if unknown:
            raise ValueError(
                f"load_mimic_cxr: unknown label(s) {unknown}; {chex_path!r} has {available}."
            )

    if split is not None:
        table = _read_csv(_find_table(root, "mimic-cxr-2.0.0-split"), ["dicom_id", "split"])
        keep = set(table.loc[table["split"].isin(splits), "dicom_id"].astype(str))
        meta = meta[meta["dicom_id"].astype(str).isin(keep)]

    position = meta["ViewPosition"].astype(str).str.upper()
    meta = meta.assign(
        dicom_id=meta["dicom_id"].astype(str),
        _kind=np.where(
            position.isin(FRONTAL_POSITIONS),
            "frontal",
            np.where(position.isin(LATERAL_POSITIONS), "lateral", ""),
        ),
    )
    meta = meta[meta["_kind"] != ""]
    if meta.empty:
        raise ValueError(
            f"load_mimic_cxr: no frontal ({'/'.join(FRONTAL_POSITIONS)}) or lateral "
            f"({'/'.join(LATERAL_POSITIONS)}) image in the metadata"
            + (f" for split={split!r}." if split is not None else ".")
        )
    first = meta.groupby(["study_id", "_kind"], sort=False).first()
    pairs = first["dicom_id"].unstack("_kind")
    positions = first["ViewPosition"].unstack("_kind")
    subjects = first["subject_id"].groupby(level="study_id").first()
    for kind in ("frontal", "lateral"):
        if kind not in pairs.columns:
            pairs[kind] = None
            positions[kind] = None
    pairs = pairs.sort_index()
    if max_studies is not None:
        pairs = pairs.iloc[:max_studies]
    study_ids = pairs.index.to_numpy(dtype=np.int64)
    subject_ids = subjects.reindex(pairs.index).to_numpy(dtype=np.int64)
    dicoms = pairs[["frontal", "lateral"]].to_numpy(dtype=object)
    dicoms[pd.isna(dicoms)] = None

    jobs = []
    for i, (subject, study) in enumerate(zip(subject_ids, study_ids)):
        for v in range(2):
            if dicoms[i, v] is not None:
                path = _image_path(root, subject, study, dicoms[i, v] + ".jpg")
                jobs.append((i, v, path))
    if on_missing_file == "raise":
        for _, _, path in jobs:
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"load_mimic_cxr: image {path!r} (listed in the metadata) not found; "
                    "pass on_missing_file='skip' to treat absent images as missing views."
                )
    resample = getattr(Image, "Resampling", Image).BILINEAR

    def read(path):
        """One image as uint8 pixels ``(S, S)``."""
        try:
            with Image.open(path) as img:
                img.draft("L", (image_size, image_size))
                img = img.convert("L").resize((image_size, image_size), resample)
                return np.asarray(img, dtype=np.uint8)
        except OSError as exc:
            raise ValueError(f"load_mimic_cxr: cannot read image {path!r}: {exc}") from exc

    jobs = [job for job in jobs if os.path.isfile(job[2])]  # absent files: views missing
    present = np.zeros(dicoms.shape, dtype=bool)
    for i, v, _ in jobs:
        present[i, v] = True
    dicoms[~present] = None
    keep = present.any(axis=1)
    if not keep.any():
        raise ValueError(
            f"load_mimic_cxr: no image of the selected studies is on disk in {root!r}."
        )
    row = np.cumsum(keep) - 1  # the kept studies' rows
    jobs = [(int(row[i]), v, path) for i, v, path in jobs]
    present, study_ids, subject_ids, dicoms = (
        present[keep],
        study_ids[keep],
        subject_ids[keep],
        dicoms[keep],
    )
    shape = (len(study_ids), 1, image_size, image_size)
    if cache is None:
        views = [np.full(shape, np.nan, np.float32) for _ in range(2)]
        for (i, v, _), img in zip(jobs, _decode(read, jobs, n_jobs)):
            views[v][i, 0] = img.astype(np.float32) / np.float32(255)
        X = MultiView(views)
    else:
        key = {
            "image_size": image_size,
            "study_ids": study_ids.tolist(),
            "dicom_ids": dicoms.tolist(),
        }
        X = MultiView(
            _cached_views(os.fspath(cache), key, shape, jobs, read, n_jobs), mask=present
        )

    chexpert = chexpert.drop_duplicates("study_id").set_index("study_id")
    label_frame = chexpert.reindex(study_ids)[label_names].apply(pd.to_numeric, errors="coerce")
    label_values = label_frame.to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "study_id": study_ids,
            "subject_id": subject_ids,
            "frontal_dicom_id": dicoms[:, 0],
            "lateral_dicom_id": dicoms[:, 1],
            "frontal_position": np.where(
                pd.isna(dicoms[:, 0]),
                None,
                positions.reindex(study_ids)["frontal"].to_numpy(dtype=object),
            ),
        }
    )
    frame[label_names] = label_values
    return Bunch(
        X=X,
        labels=label_values,
        label_names=list(label_names),
        study_ids=study_ids,
        subject_ids=subject_ids,
        dicom_ids=dicoms,
        view_names=["frontal", "lateral"],
        frame=frame,
    )
