"""Data sets: synthetic generators, the embedded PolyMNIST mini, and local-file loaders.

Nothing here downloads anything. Generators build data from arrays bundled with
scikit-learn or passed by the user; loaders read files the user already has.
"""

from ._mimic import load_mimic_cxr
from ._mnist import load_mnist, read_idx
from ._multiomics import load_tcga, make_multiomics
from ._polymnist import make_polymnist
from ._polymnist_mini import make_polymnist_quadrant_mini
from ._synthetic import make_shared_private

__all__ = [
    "load_mimic_cxr",
    "load_mnist",
    "load_tcga",
    "make_multiomics",
    "make_polymnist",
    "make_polymnist_quadrant_mini",
    "make_shared_private",
    "read_idx",
]
