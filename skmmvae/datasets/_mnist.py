"""Readers for MNIST files you already have: the IDX format and Keras-style .npz."""

from __future__ import annotations

import gzip
import os

import numpy as np
from sklearn.utils import Bunch

from ._utils import _check_path

__all__ = ["load_mnist", "read_idx"]

# IDX type codes -> big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MNIST_FILES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _read_bytes(path):
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path!r} looks gzip-compressed but cannot be read: {exc}") from exc
    with open(path, "rb") as f:
        return f.read()


def read_idx(path):
    """Read an array stored in the IDX format (the format of the MNIST files).

    The file may be raw or gzip-compressed (detected from its first bytes, not its
    name). The header is two zero bytes, a type code (``0x08`` uint8, ``0x09``
    int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the
    number of dimensions, then each dimension as a big-endian 32-bit integer.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    array : ndarray
        The array in native byte order, e.g. uint8 ``(60000, 28, 28)`` for the MNIST
        training images and uint8 ``(60000,)`` for their labels.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not an IDX file (bad magic number or type code) or is
        truncated.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from skmmvae.datasets import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = _check_path(path, "read_idx", kind="file")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{path!r} is not an IDX file: it must start with two zero bytes (magic number "
            f"0x0000TTDD); got {raw[:4].hex() or 'an empty file'}."
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"{path!r} is not an IDX file: unknown type code 0x{code:02x} (expected one of "
            f"{', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)})."
        )
    if ndim == 0:
        raise ValueError(f"{path!r}: the IDX header declares 0 dimensions.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path!r} is truncated: the IDX header is incomplete.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path!r} has {len(raw) - header} data bytes, but its IDX header {shape} "
            f"({dtype.name}) needs {expected}: the file is truncated or corrupt."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(folder, key):
    names = os.listdir(folder)
    for stem in _MNIST_FILES[key]:
        for name in (stem, stem + ".gz"):
            if name in names:
                return os.path.join(folder, name)
    return None


def load_mnist(path):
    """Load MNIST from local files (no download).

    Parameters
    ----------
    path : str or os.PathLike
        Either a directory holding the four standard IDX files
        (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``; each may end in
        ``.gz``, and ``train-images.idx3-ubyte``-style names are accepted), or an
        ``.npz`` file with the arrays ``x_train``, ``y_train``, ``x_test``,
        ``y_test`` (the Keras ``mnist.npz`` layout).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        x_train : ndarray of uint8, shape (60000, 28, 28)
        y_train : ndarray of shape (60000,)
        x_test : ndarray of uint8, shape (10000, 28, 28)
        y_test : ndarray of shape (10000,)

    Raises
    ------
    FileNotFoundError
        If the path or one of the four IDX files is missing.
    ValueError
        If a file is not valid, an .npz key is missing, or images and labels do not
        match.

    Examples
    --------
    >>> from skmmvae.datasets import load_mnist, make_polymnist
    >>> mnist = load_mnist("~/data/mnist")  # doctest: +SKIP
    >>> train = make_polymnist(mnist.x_train, mnist.y_train, "backgrounds/")  # doctest: +SKIP
    """
    path = _check_path(os.path.expanduser(os.fspath(path)), "load_mnist", kind="any")
    if os.path.isdir(path):
        arrays = {}
        for key in _MNIST_FILES:
            found = _find_idx(path, key)
            if found is None:
                raise FileNotFoundError(
                    f"load_mnist: no {_MNIST_FILES[key][0]}[.gz] in {path!r}; expected the four "
                    "MNIST IDX files (train-images, train-labels, t10k-images, t10k-labels)."
                )
            arrays[key] = read_idx(found)
    else:
        try:
            archive = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"load_mnist: {path!r} is neither a directory of IDX files nor a readable "
                f".npz file ({exc})."
            ) from exc
        if not hasattr(archive, "files"):
            raise ValueError(f"load_mnist: {path!r} is a .npy array, not an .npz archive.")
        with archive:
            missing = [k for k in _MNIST_FILES if k not in archive.files]
            if missing:
                raise ValueError(
                    f"load_mnist: {path!r} lacks the key(s) {missing}; expected x_train, "
                    f"y_train, x_test, y_test (found {archive.files})."
                )
            arrays = {k: archive[k] for k in _MNIST_FILES}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"load_mnist: x_{split} must be (n, H, W) and y_{split} (n,); got {x.shape} "
                f"and {y.shape}."
            )
    return Bunch(**arrays)
