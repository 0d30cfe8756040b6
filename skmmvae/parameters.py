"""What every estimator's parameters share: validation helpers, the documentation of
the common parameters and fitted attributes, and the comparison of parameter values
that decides what a warm start must rebuild."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .modalities import Modality


def check_beta(beta, name="beta"):
    """Validate a KL weight (a finite number >= 0)."""
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0; got {beta!r}.")
    return float(beta)


def check_positive(value, name):
    """Validate a finite number > 0 (learning rates, temperatures)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < np.inf:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}.")
    return float(value)


def per_view_values(value, n_views, name):
    """A weight given once (broadcast) or once per view, as ``n_views`` floats >= 0."""
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n_views,))
    except (ValueError, TypeError):
        arr = None
    if arr is None or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"{name} must be a number >= 0 or {n_views} of them, one per view; got {value!r}."
        )
    return arr.tolist()


MISSING = object()  # a parameter missing from the recorded ones

# parameters read afresh by every call, or fixed by the first fit (device): no rebuild
NOT_IN_NET = frozenset(
    (
        "warm_start",
        "latents",
        "latent_mode",
        "prior_sampler",
        "n_prior_components",
        "random_state",
        "max_epochs",
        "validation_fraction",
        "device",
    )
)

SMALL_DATA_ROWS = 1024  # below this many training rows, the batch size rule applies


def same_param(a, b):
    """Whether two parameter values are the same setting (for warm-start changes)."""
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_param(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_param(a[k], b[k]) for k in a)
    if isinstance(a, Modality) and isinstance(b, Modality):
        return same_param(vars(a), vars(b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return bool(np.array_equal(a, b))
        except (TypeError, ValueError):
            return False
    try:
        same = a == b
    except Exception:  # noqa: BLE001 - objects without a usable ==: different
        return False
    return bool(same) if isinstance(same, (bool, np.bool_)) else False


def store_params(est, params):
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}

COMMON_DOC = """
    modalities : "auto", str, or list of Modality or str, default="auto"
        How each view is modelled (likelihood and networks); see
        :class:`~skmmvae.Modality`. A single string applies to every view.
    views : list of int or list of column lists, default=None
        How to split the columns of a 2-D array or DataFrame into views. None: a
        DataFrame with ``view__feature`` columns is split by prefix, any other 2-D
        array is a single view.
    view_weights : list of float, default=None
        Per-view likelihood weights ``lambda_m`` (default 1).
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden sizes (positive integers) of the MLP encoders (decoders use the
        reverse); ``()`` gives linear MLPs. Conv and text networks use the last size
        as the width of their dense layer.
    latents : {"all", "shared", "private", "per_view"}, default="all"
        Which blocks ``transform`` returns (overridable per call).
    latent_mode : {"mean", "sample"}, default="mean"
        Posterior means, or one reparameterised draw, in ``transform``.
    max_epochs : int, default=100
    batch_size : int, default=128
        Rows per optimiser step. With fewer than 1024 training rows ``n_train``
        (after any validation split) the effective batch size is
        ``min(batch_size, max(8, n_train // 8))``: an epoch has about 8 steps or more
        (batches of at least 8 rows), so that small data sets get enough optimiser
        steps (with the defaults, 40 rows train 500 steps instead of 100). From 1024
        training rows on, ``batch_size`` is used as given. ``net_.batch_size`` holds
        the size of the last training call.
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    weight_decay : float, default=0.0
    validation_fraction : float, default=0.1
        Held-out share of the training rows, used only when ``early_stopping``.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best weights.
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    callbacks : list of skorch callbacks, default=None
        E.g. ``EarlyStopping``, ``Checkpoint``, ``LRScheduler``,
        ``GradientNormClipping``, ``ProgressBar``.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        "auto" uses CUDA when available.
    warm_start : bool, default=False
        Continue training the fitted model in ``fit`` instead of starting afresh.
        Parameters changed with ``set_params`` since the last fit (``lr``, ``beta``,
        ``optimizer``, ``batch_size``, ...) apply to the continued training (and to
        ``partial_fit``); the optimizer keeps its state when its class is unchanged.
        Parameters that change the networks' shape (``n_latent``, ``hidden_layer_sizes``,
        ``modalities``, ...) raise a ValueError: fit with ``warm_start=False``.
    prior_sampler : {"prior", "gmm"}, default="prior" ("gmm" for DMVAE and MMVM)
        Where ``sample`` draws the shared latent: the model's prior, or a Gaussian
        mixture fitted to the training latents after training (``prior_sampler_``).
    n_prior_components : int, default=100
        Components of the ex-post mixture (at most one per 5 training samples).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and all sampling. Seeded work (a fit,
        a sampled ``transform``, ``score_samples``, ``impute``, ``sample``) holds a
        process-wide lock around torch's global generator, so results do not depend
        on other threads; calls from several threads run that work one at a time.
    verbose : int, default=0
        1 prints a table of the loss parts per epoch.
"""

FITTED_DOC = """
    Attributes
    ----------
    n_features_in_ : int
        Number of input features (all views flattened).
    feature_names_in_ : ndarray of str
        Input column names, when fitted on a DataFrame.
    n_views_ : int
    view_shapes_ : list of tuple
        Shape of one sample of each view.
    modalities_ : list of ViewSpec
        The resolved likelihood and network choices.
    net_ : MultimodalNet
        The trained skorch net; ``net_.module_`` is the torch module.
    history_ : skorch History
        Loss parts per epoch (``train_loss``, ``train_rec``, ``train_kl``, ...).
    prior_sampler_ : ExPostGMM
        The ex-post sampler of the shared latent (only with ``prior_sampler="gmm"``).
"""
