"""One module per method: its torch objective and its estimator class."""

from .dmvae import DMVAE
from .idmvae import IDMVAE
from .mmvae import MMVAE
from .mmvaeplus import MMVAEPlus
from .mmvm import MMVM
from .mopoe import MoPoE
from .mvae import MVAE
from .private_shared import PrivateSharedVAE

__all__ = ["MVAE", "MMVAE", "MoPoE", "MMVAEPlus", "IDMVAE", "PrivateSharedVAE", "DMVAE", "MMVM"]
