"""The parameter table: what every estimator's parameters must be, how they are
documented, and how a warm start compares them.

Each estimator class carries ``_parameter_constraints``, a dict from each of its
parameters to a :class:`Constraint` (the common ones in ``COMMON_CONSTRAINTS``, merged
per method with its own). :func:`validate_params` checks them all on every ``fit`` and
``partial_fit``, with one message shape: ``"<name> must be <what>; got <value>."``.
Rules that tie parameters to each other or to the data (``K`` with ``objective``, the
number of views) stay with the method. :func:`document` renders a class docstring
from its own parameter entries and the common parameters' snippets (``PARAMETER_DOCS``).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .modalities import Modality


class Constraint:
    """What one parameter must be: ``test(value) -> bool`` and its description, the
    ``<what>`` of the error message."""

    def __init__(self, description, test):
        self.description = description
        self.test = test

    def __call__(self, value):
        try:
            return bool(self.test(value))
        except (TypeError, ValueError, RuntimeError):  # e.g. torch.device("nonsense")
            return False

    def __repr__(self):
        return f"Constraint({self.description!r})"


def _real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def integer(low=1):
    """An integer (not a bool) ``>= low``."""
    words = "a positive integer" if low == 1 else f"an integer >= {low}"
    return Constraint(
        words, lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
    )


def real(low=0.0, high=None, closed="left"):
    """A finite real number in an interval from ``low`` to ``high`` (None: no bound);
    ``closed`` in {"left", "right", "both", "neither"} says which ends belong to it."""
    lo_in, hi_in = closed in ("left", "both"), closed in ("right", "both")
    if high is None:
        words = f"a finite number {'>=' if lo_in else '>'} {low:g}"
    else:
        words = f"a number in {'[' if lo_in else '('}{low:g}, {high:g}{']' if hi_in else ')'}"

    def test(v):
        if not _real(v):
            return False
        above = v >= low if lo_in else v > low
        below = high is None or (v <= high if hi_in else v < high)
        return above and below

    return Constraint(words, test)


def options(*values):
    """One of ``values`` (strings compared exactly)."""
    return Constraint(
        f"one of {values}", lambda v: isinstance(v, (str, bool, type(None))) and v in values
    )


BOOLEAN = Constraint("True or False", lambda v: isinstance(v, (bool, np.bool_)))
NONE = Constraint("None", lambda v: v is None)


def either(*constraints):
    """Any of ``constraints``."""
    words = " or ".join(c.description for c in constraints)
    return Constraint(words, lambda v: any(c(v) for c in constraints))


def at_fit(description):
    """A parameter checked against the data when ``fit`` sees it (views, modalities):
    any value passes the table."""
    return Constraint(description, lambda v: True)


def _per_view_numbers(value):
    arr = np.asarray(value, dtype=float)
    return arr.ndim == 1 and len(arr) > 0 and np.all(np.isfinite(arr)) and np.all(arr >= 0)


PER_VIEW_WEIGHTS = Constraint(
    "a finite number >= 0 or a sequence of them, one per view",
    lambda v: _real(v) and v >= 0 or (np.ndim(v) == 1 and _per_view_numbers(v)),
)


def _hidden_sizes(v):
    return isinstance(v, (tuple, list)) and all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in v
    )


def _device(v):
    return v == "auto" or isinstance(torch.device(v), torch.device)


def _random_state(v):
    if v is None or isinstance(v, np.random.RandomState):
        return True
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v < 2**32


# precision -> dtype of the networks' layers (None: float32, no autocast)
PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16-mixed": torch.float16}

COMMON_CONSTRAINTS = {
    "modalities": at_fit("'auto', a likelihood name, a Modality, or one per view"),
    "views": at_fit("None, view sizes or column lists"),
    "view_weights": either(
        NONE,
        Constraint(
            "a sequence of finite numbers >= 0, one per view",
            lambda v: np.ndim(v) == 1 and _per_view_numbers(v),
        ),
    ),
    "hidden_layer_sizes": Constraint("a tuple of positive integers", _hidden_sizes),
    "latents": options("all", "shared", "private", "per_view"),
    "latent_mode": options("mean", "sample"),
    "max_epochs": integer(1),
    "batch_size": integer(1),
    "lr": real(0, closed="neither"),
    "optimizer": either(
        options("adam", "adamw", "sgd"),
        Constraint("a torch optimizer class", lambda v: callable(v) and not isinstance(v, str)),
    ),
    "weight_decay": real(0),
    "validation_fraction": real(0, 1, closed="neither"),
    "early_stopping": BOOLEAN,
    "n_iter_no_change": integer(1),
    "tol": real(0),
    "callbacks": either(
        NONE, Constraint("a list of skorch callbacks", lambda v: isinstance(v, (list, tuple)))
    ),
    "device": Constraint("'auto' or a torch device ('cpu', 'cuda', 'cuda:1', ...)", _device),
    "precision": options(*PRECISIONS),
    "compile": either(
        BOOLEAN, Constraint("a dict of torch.compile arguments", lambda v: isinstance(v, dict))
    ),
    "accelerate": either(
        BOOLEAN,
        Constraint("a dict of accelerate.Accelerator arguments", lambda v: isinstance(v, dict)),
    ),
    "warm_start": BOOLEAN,
    "random_state": Constraint(
        "None, an integer in [0, 2**32) or a numpy RandomState", _random_state
    ),
    "verbose": either(BOOLEAN, integer(0)),
    "prior_sampler": options("prior", "gmm"),
    "n_prior_components": integer(1),
    "beta": real(0),
}


def validate_params(est):
    """Check every parameter of ``est`` against its class's ``_parameter_constraints``."""
    table = type(est)._parameter_constraints
    params = est.get_params(deep=False)
    missing = sorted(set(params) - set(table))
    if missing:
        raise TypeError(f"{type(est).__name__}._parameter_constraints lacks {missing}.")
    for name, value in params.items():
        constraint = table[name]
        if not constraint(value):
            raise ValueError(f"{name} must be {constraint.description}; got {value!r}.")


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
        "precision",
        "compile",
        "accelerate",
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
        Passes over the training data (``fit``; ``partial_fit`` makes one).
    batch_size : int, default=128
        Rows per optimiser step. With fewer than 1024 training rows ``n_train``
        (after any validation split) the effective batch size is
        ``min(batch_size, max(8, n_train // 8))``: an epoch has about 8 steps or more
        (batches of at least 8 rows), so that small data sets get enough optimiser
        steps (with the defaults, 40 rows train 500 steps instead of 100). From 1024
        training rows on, ``batch_size`` is used as given. ``net_.batch_size`` holds
        the size of the last training call.
    lr : float, default=1e-3
        Learning rate of the optimizer (> 0).
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    weight_decay : float, default=0.0
        Weight decay of the optimizer (>= 0).
    validation_fraction : float, default=0.1
        Held-out share of the training rows, used only when ``early_stopping``.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best weights.
    n_iter_no_change : int, default=10
        Patience of ``early_stopping``, in epochs.
    tol : float, default=1e-4
        Smallest improvement of the validation loss that counts, for
        ``early_stopping``.
    callbacks : list of skorch callbacks, default=None
        E.g. ``EarlyStopping``, ``Checkpoint``, ``LRScheduler``,
        ``GradientNormClipping``, ``ProgressBar``.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        "auto" uses CUDA when available.
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Arithmetic of the encoders' and decoders' layers: float32; bfloat16 autocast,
        meant for GPUs and CPUs with AMX (on a CPU without AMX it measured 0.73-0.82x
        the float32 speed: benchmarks/results/image_throughput_bf16.md); or float16
        autocast with a gradient scaler (the loss scaled before backward, the
        gradients unscaled before clipping callbacks and the step, steps with
        overflowing gradients skipped), meant for GPUs. The probabilistic math
        (posteriors, products and mixtures of experts, KLs, log-sum-exps,
        likelihoods) stays float32 whatever the precision.
    compile : bool or dict, default=False
        Run the training forward passes through ``torch.compile`` (a dict: its
        arguments, e.g. ``{"mode": "max-autotune"}``; True: the defaults). The first
        epoch pays the compilation; ``transform`` and the other methods run eagerly.
        On a CPU, torch's default backend needs a C++ compiler.
    accelerate : bool or dict, default=False
        Train data-parallel through Hugging Face ``accelerate`` (skorch's
        ``AccelerateMixin``): run the script with ``accelerate launch`` (or
        ``torchrun``) and every process trains its share of each batch; gradients
        are averaged across processes. ``batch_size`` is the global batch (rounded up
        to a multiple of the number of processes); the history holds means over all
        rows. A dict (``{}``: the defaults) gives ``accelerate.Accelerator`` arguments,
        e.g. ``{"cpu": True}`` or ``{"kwargs_handlers": [...]}`` (replacing the default
        ``DistributedDataParallelKwargs(find_unused_parameters=True)``); the settings
        the library owns are refused (``mixed_precision``: use ``precision``;
        ``gradient_accumulation_steps``, ``dataloader_config``, ``device_placement``,
        ``rng_types``). Requires ``pip install skmmvae[distributed]``.
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


def _entries(text):
    """The numpydoc parameter entries of ``text`` (4-space indented ``name : type``
    lines and what follows them), as ``{name: entry}`` in order."""
    entries, name = {}, None
    for line in text.strip("\n").split("\n"):
        head = line[4:] if line.startswith("    ") and not line.startswith("     ") else None
        if head is not None and " : " in head or (head and head.isidentifier()):
            name = head.split(" : ")[0].strip()
            entries[name] = [line]
        elif name is not None:
            entries[name].append(line)
    return {k: "\n".join(v).rstrip() for k, v in entries.items()}


PARAMETER_DOCS = _entries(COMMON_DOC)


def document(cls):
    """Render ``cls.__doc__``: ``%(common)s`` becomes the entries of the common
    parameters that ``cls.__init__`` takes and its own text does not document
    (in ``PARAMETER_DOCS`` order), ``%(fitted)s`` the fitted attributes. Returns
    ``cls`` (usable as a class decorator)."""
    import inspect

    own = cls.__doc__
    signature = inspect.signature(cls.__init__).parameters
    documented = set(_entries(own.split("Parameters\n    ----------\n", 1)[-1]))
    common = [
        entry
        for name, entry in PARAMETER_DOCS.items()
        if name in signature and name not in documented
    ]
    cls.__doc__ = own % {
        "common": "\n".join(common).strip(),
        "fitted": FITTED_DOC.strip(),
    }
    return cls
