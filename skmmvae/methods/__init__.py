"""The method registry: one module per method (its torch objective and its estimator
class), and the one list that the rest of the library reads.

``__all__`` names the registered estimators in the order the documentation presents
them; the package's exports, the command line, the common tests and error messages
are derived from it, and capability flags are read from the classes:

* ``has_private_latents``: the method has view-specific latents ``w_m`` (``transform``
  returns them, ``latents="private"`` works);
* ``tractable_likelihood``: ``"joint"`` when :meth:`log_likelihood` estimates
  ``log p(x)`` and ``log p(x_T | x_C)``, ``"conditional"`` when only the latter
  (no prior density of the shared latent), None when neither.

A new method is its file and its entry in ``_REGISTRY`` (or, outside the package, a
call of :func:`register`).
"""

from ..base import MultimodalVAE
from .dmvae import DMVAE
from .idmvae import IDMVAE
from .mmvae import MMVAE
from .mmvaeplus import MMVAEPlus
from .mmvm import MMVM
from .mopoe import MoPoE
from .mvae import MVAE
from .private_shared import PrivateSharedVAE

_REGISTRY = [MVAE, MMVAE, MoPoE, MMVAEPlus, IDMVAE, PrivateSharedVAE, DMVAE, MMVM]
_BUILTIN = tuple(_REGISTRY)  # what unregister() keeps

__all__ = [cls.__name__ for cls in _REGISTRY]  # noqa: PLE0605 - derived from the registry


def estimators(*, private_latents=None, likelihood=None):
    """The registered estimator classes, in registry order.

    Parameters
    ----------
    private_latents : bool, default=None
        Keep only the methods with (True) or without (False) private latents.
    likelihood : {"joint", "conditional"}, default=None
        Keep only the methods whose ``log_likelihood`` gives at least this.
    """
    out = list(_REGISTRY)
    if private_latents is not None:
        out = [cls for cls in out if cls.has_private_latents == private_latents]
    if likelihood is not None:
        if likelihood not in ("joint", "conditional"):
            raise ValueError(f"likelihood must be 'joint' or 'conditional'; got {likelihood!r}.")
        ok = ("joint",) if likelihood == "joint" else ("joint", "conditional")
        out = [cls for cls in out if cls.tractable_likelihood in ok]
    return out


def get(name):
    """The registered estimator class called ``name`` (case-insensitive)."""
    for cls in _REGISTRY:
        if cls.__name__.lower() == str(name).lower():
            return cls
    raise ValueError(f"Unknown method {name!r}; choose one of {', '.join(__all__)}.")


def register(cls):
    """Add an estimator class to the registry (usable as a class decorator).

    It must subclass :class:`~skmmvae.base.MultimodalVAE` and have a name no
    registered method has (case-insensitive). Returns ``cls``.
    """
    if not (isinstance(cls, type) and issubclass(cls, MultimodalVAE)):
        raise TypeError(f"register takes a MultimodalVAE subclass; got {cls!r}.")
    if any(c.__name__.lower() == cls.__name__.lower() for c in _REGISTRY):
        raise ValueError(f"A method called {cls.__name__!r} is registered already.")
    _REGISTRY.append(cls)
    __all__.append(cls.__name__)
    globals()[cls.__name__] = cls
    return cls


def unregister(cls):
    """Remove a class added with :func:`register` (the library's own stay)."""
    if cls not in _REGISTRY[len(_BUILTIN) :]:
        raise ValueError(f"{cls!r} was not added with register().")
    _REGISTRY.remove(cls)
    __all__.remove(cls.__name__)
    globals().pop(cls.__name__, None)
