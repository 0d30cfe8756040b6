"""skmmvae: scikit-learn compatible multimodal variational autoencoders."""

from .datasets import make_shared_private
from .methods import DMVAE, IDMVAE, MMVAE, MMVM, MVAE, MMVAEPlus, MoPoE, PrivateSharedVAE
from .modalities import Modality
from .views import MultiView, check_views

__version__ = "0.1.0"

__all__ = [
    "MVAE",
    "MMVAE",
    "MoPoE",
    "MMVAEPlus",
    "IDMVAE",
    "PrivateSharedVAE",
    "DMVAE",
    "MMVM",
    "Modality",
    "MultiView",
    "check_views",
    "make_shared_private",
    "__version__",
]
