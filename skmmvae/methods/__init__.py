"""One module per method: its torch objective and its estimator class."""

from .mmvae import MMVAE
from .mopoe import MoPoE
from .mvae import MVAE

__all__ = ["MVAE", "MMVAE", "MoPoE"]
