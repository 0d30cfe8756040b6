"""skmmvae: scikit-learn compatible multimodal variational autoencoders."""

from . import methods, metrics
from .datasets import (
    load_mimic_cxr,
    load_mnist,
    load_tcga,
    make_multiomics,
    make_polymnist,
    make_polymnist_quadrant_mini,
    make_shared_private,
    read_idx,
)
from .modalities import Modality
from .persistence import load, save
from .views import MultiView, check_views

__version__ = "0.1.0"

# the estimators: every method of the registry (skmmvae.methods.__all__)
globals().update({name: getattr(methods, name) for name in methods.__all__})

__all__ = [
    *methods.__all__,
    "Modality",
    "metrics",
    "MultiView",
    "check_views",
    "make_shared_private",
    "make_polymnist_quadrant_mini",
    "make_polymnist",
    "make_multiomics",
    "read_idx",
    "load_mnist",
    "load_tcga",
    "load_mimic_cxr",
    "save",
    "load",
    "__version__",
]
