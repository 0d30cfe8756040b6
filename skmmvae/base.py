"""Base classes: the torch module every method builds on, and the sklearn estimator.

:class:`MultimodalModule` holds the decoders and likelihoods of all views and the
helpers every objective uses (weighted reconstruction, decoding, prior samples).
A method's module adds its encoders and implements ``encode``, ``forward`` (the
training objective as a dict of per-sample parts, ``"loss"`` minimised) and
``elbo`` (the per-sample bound that :meth:`MultimodalVAE.score` reports).

:class:`MultimodalVAE` implements the whole sklearn surface once: ``fit``,
``partial_fit``, ``transform``, ``fit_transform``, ``encode``, ``impute``,
``reconstruct``, ``sample``, ``decode``, ``score``, ``score_samples``,
``get_feature_names_out`` and ``set_output``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import threading
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data
from torch import nn

from .latent import Normal
from .modalities import Modality, check_hidden_sizes, resolve_modalities
from .networks import build_decoder, build_encoder, init_log_variance
from .sampling import ExPostGMM
from .training import MultimodalNet, ViewData
from .views import _validate_arrays, merge_like, split_input

__all__ = ["MultimodalModule", "MultimodalVAE"]

LATENT_BLOCKS = ("all", "shared", "private", "per_view")


class MultimodalModule(nn.Module):
    """Decoders, likelihoods and shared helpers of a multimodal VAE.

    Parameters
    ----------
    specs : list of ViewSpec
        The resolved views.
    n_latent : int
        Size of the shared latent ``z``.
    view_weights : sequence of float
        Per-view likelihood weights ``lambda_m``.
    decoder_dim : int, default=None
        Input size of the decoders (``n_latent`` plus any private latent).
    family : Normal or Laplace
        Posterior family of ``z``.
    kl_warmup_epochs : float, default=0
        Linear warm-up of the KL weight from 0 to 1 over this many epochs
        (per batch), during training only.
    """

    n_private = 0  # size of each view's private latent w_m (0: no private latents)
    # Posterior scale at initialisation of the built-in image encoders (arch="resnet",
    # Normal posteriors). With unit scales the first draws are as noisy as the prior,
    # and within the few hundred steps of a CPU run MMVAE+'s and IDMVAE's private
    # latents collapsed (w -> quadrant at chance on the mini PolyMNIST-Quadrant;
    # 0.78 with 0.1, benchmarks/results/mini_settings.md).
    IMAGE_INIT_SCALE = 0.1

    def __init__(
        self,
        specs,
        n_latent,
        view_weights,
        decoder_dim=None,
        family=Normal,
        kl_warmup_epochs=0,
    ):
        super().__init__()
        self.specs = specs
        self.n_views = len(specs)
        self.n_latent = n_latent
        self.family = family
        self.kl_warmup_epochs = kl_warmup_epochs
        self.progress = 0.0
        dim = decoder_dim or n_latent
        self.decoders = nn.ModuleList(build_decoder(s, dim) for s in specs)
        self.likelihoods = nn.ModuleList(s.make_likelihood() for s in specs)
        self.weights = [float(w) for w in view_weights]  # lambda_m

    # ---- helpers shared by every objective ------------------------------------------
    def build_encoders(self, out_dim, role="full"):
        """One encoder per view producing the raw parameters of a ``out_dim`` posterior;
        ``role`` is ``"full"``, ``"shared"`` or ``"private"`` (see
        :func:`~skmmvae.networks.build_encoder`)."""
        encoders = nn.ModuleList(build_encoder(s, 2 * out_dim, role) for s in self.specs)
        if self.family is Normal:
            log_var = 2.0 * math.log(self.IMAGE_INIT_SCALE)
            for spec, encoder in zip(self.specs, encoders):
                if spec.arch == "resnet" and spec.encoder is None:
                    init_log_variance(encoder, out_dim, log_var)
        return encoders

    @staticmethod
    def encode_experts(encoders, views, family, mask=None):
        """Per-view posterior parameters stacked as ``(M, B, D)``.

        Outside autograd (inference) and with ``mask``, the encoder of a view that no
        row of the batch observes is not run (a per-view evaluation encodes one view
        at a time): its slots hold a copy of an observed expert's parameters, finite
        and valid for the family, which every caller masks out. (In training every
        encoder runs, so every parameter takes part in the graph.)"""
        run = [True] * len(views)
        if mask is not None and not torch.is_grad_enabled() and mask.any():
            run = mask.any(0).tolist()
        params = {
            m: family.from_raw(enc(x))
            for m, (enc, x, r) in enumerate(zip(encoders, views, run))
            if r
        }
        filler = next(iter(params.values()))
        params = [params.get(m, filler) for m in range(len(views))]
        return torch.stack([p[0] for p in params]), torch.stack([p[1] for p in params])

    def set_progress(self, epochs):
        """Training progress in (fractional) epochs; drives the KL warm-up."""
        self.progress = epochs

    @property
    def kl_weight(self):
        if not self.training or not self.kl_warmup_epochs:
            return 1.0
        return min(1.0, (self.progress + 1e-9) / self.kl_warmup_epochs)

    def decoder_output(self, m, latent):
        """Decoder ``m`` applied to ``latent`` of shape ``(*S, B, d)``."""
        lead = latent.shape[:-1]
        out = self.decoders[m](latent.reshape(-1, latent.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    def log_likelihood(self, m, x, latent):
        """``log p(x_m | latent)`` of shape ``(*S, B)``."""
        return self.likelihoods[m].log_prob(self.decoder_output(m, latent), x)

    def reconstruction(self, views, mask, latent, weighted=True):
        """``sum_m mask_m lambda_m log p(x_m | latent_m)`` of shape ``(*S, B)``.

        ``latent`` is one tensor for all views or a list with one per view; views
        outside ``mask`` (which may have leading axes) contribute nothing and send no
        gradient anywhere.
        """
        total = 0.0
        for m, x in enumerate(views):
            lat = latent[m] if isinstance(latent, (list, tuple)) else latent
            ll = self.log_likelihood(m, x, lat)
            if weighted and self.weights[m] != 1.0:
                ll = ll * self.weights[m]
            total = total + torch.where(mask[..., m], ll, 0.0)
        return total

    @property
    def has_private(self):
        return self.n_private > 0

    def _standard_sample(self, n, dim):
        zeros = torch.zeros(n, dim, device=next(self.parameters()).device)
        return self.family.rsample(zeros, zeros)

    def prior_sample(self, n):
        """``n`` draws of ``z`` from the prior, shape ``(n, n_latent)``."""
        return self._standard_sample(n, self.n_latent)

    def private_prior_sample(self, m, n):
        """``n`` draws of ``w_m`` from its prior, shape ``(n, n_private)``."""
        return self._standard_sample(n, self.n_private)

    def missing_private(self, m, n):
        """``w_m`` for samples whose view ``m`` is missing (impute, reconstruct): the
        prior mean; methods may draw from their prior instead."""
        return torch.zeros(n, self.n_private, device=next(self.parameters()).device)

    # ---- the interface base.MultimodalVAE drives ------------------------------------
    def encode(self, views, mask):
        """Posterior parameters: dict with ``loc``/``param`` (the aggregated shared
        posterior, ``(B, D)``) and ``expert_loc``/``expert_param`` (``(M, B, D)``)."""
        raise NotImplementedError  # abstract: every method defines its aggregation

    def forward(self, views, mask):
        """Training objective: dict of per-sample parts ``(B,)``; ``"loss"`` is minimised."""
        raise NotImplementedError  # abstract

    def elbo(self, views, mask):
        """Per-sample evidence lower bound with beta = 1 and unit view weights."""
        raise NotImplementedError  # abstract

    def shared_moments(self, enc, mask):
        """Mean and variance of the aggregated shared posterior."""
        return self.family.moments(enc["loc"], enc["param"])

    def shared_sample(self, enc, mask):
        """One reparameterised draw from the aggregated shared posterior."""
        return self.family.rsample(enc["loc"], enc["param"])

    def latents(self, views, mask, block, sample):
        """The ``transform`` output block for a batch, ``(B, n_out)``.

        Missing views get the prior mean (0) in their per-view and private blocks.
        """
        enc = self.encode(views, mask)
        observed = mask.transpose(0, 1).unsqueeze(-1)  # (M, B, 1)

        def per_view(loc, param):
            w = self.family.rsample(loc, param) if sample else loc
            w = torch.where(observed, w, 0.0)
            return w.transpose(0, 1).reshape(w.shape[1], -1)

        parts = []
        if block in ("all", "shared"):
            parts.append(
                self.shared_sample(enc, mask) if sample else self.shared_moments(enc, mask)[0]
            )
        if block == "per_view":
            parts.append(per_view(enc["expert_loc"], enc["expert_param"]))
        if block in ("all", "private") and self.has_private:
            parts.append(per_view(enc["private_loc"], enc["private_param"]))
        if not parts:
            raise ValueError(f"{type(self).__name__} has no {block!r} latents.")
        return torch.cat(parts, dim=-1)

    def posterior(self, views, mask):
        """All posterior parameters as named ``(B, ...)`` tensors (see ``encode``)."""
        enc = self.encode(views, mask)
        mean, var = self.shared_moments(enc, mask)
        out = {
            "shared_mean": mean,
            "shared_std": var.sqrt(),
            "view_loc": enc["expert_loc"].transpose(0, 1),
            "view_scale": self.family.scale(enc["expert_loc"], enc["expert_param"]).transpose(
                0, 1
            ),
        }
        if self.has_private:
            loc, param = enc["private_loc"], enc["private_param"]
            out["private_loc"] = loc.transpose(0, 1)
            out["private_scale"] = self.family.scale(loc, param).transpose(0, 1)
        return out

    def decoder_inputs(self, views, mask):
        """Per-view decoder inputs from the posterior means (for impute/reconstruct).

        The shared part aggregates the observed views; a view's private part is its
        own posterior mean when observed, else :meth:`missing_private`.
        """
        enc = self.encode(views, mask)
        z = self.shared_moments(enc, mask)[0]
        if not self.has_private:
            return [z] * self.n_views
        inputs = []
        for m in range(self.n_views):
            missing = self.missing_private(m, z.shape[0])
            w = torch.where(mask[:, m, None], enc["private_loc"][m], missing)
            inputs.append(torch.cat([z, w], dim=-1))
        return inputs

    def predict_views(self, views, mask):
        """Point predictions of every view from the posterior means, list of ``(B, ...)``."""
        inputs = self.decoder_inputs(views, mask)
        return [self.decode(m, inputs[m]) for m in range(self.n_views)]

    def sampler_latents(self, views, mask):
        """What an ex-post sampler (``prior_sampler="gmm"``) is fitted to: the means of
        the aggregated shared posterior, ``(B, d)``."""
        return self.shared_moments(self.encode(views, mask), mask)[0]

    def generate(self, n, shared=None):
        """Per-view decoder inputs for ``n`` unconditional samples: one ``z`` shared by
        all views (from the prior, or ``shared`` drawn by an ex-post sampler) and an
        independent prior ``w_m`` per view."""
        z = self.prior_sample(n) if shared is None else shared
        if not self.has_private:
            return [z] * self.n_views
        return [torch.cat([z, self.private_prior_sample(m, n)], -1) for m in range(self.n_views)]

    def decode(self, m, latent, noise=False):
        out = self.decoder_output(m, latent)
        lik = self.likelihoods[m]
        return lik.sample(out) if noise else lik.point(out)

    # ---- importance sampling (used by skmmvae.metrics.log_likelihood) ----------------
    def importance_proposal(self, views, mask, K):
        """``K`` draws of ``z`` from the aggregated shared posterior given the views in
        ``mask``, and its log-density.

        The default is the posterior ``encode`` returns in ``loc`` / ``param`` (a
        product of experts); mixture posteriors override it.

        Returns
        -------
        z : Tensor of shape (K, B, n_latent)
        log_q : Tensor of shape (K, B)
        enc : dict or None
            The ``encode`` output (its private parameters are used for ``w``); None
            for methods without private latents that do not need it.
        """
        enc = self.encode(views, mask)
        z = self.family.rsample(enc["loc"], enc["param"], K)
        return z, self.family.log_prob(z, enc["loc"], enc["param"]), enc

    def log_prior(self, z):
        """``log p(z)`` of the shared prior, shape ``z.shape[:-1]``."""
        zero = torch.zeros_like(z)
        return self.family.log_prob(z, zero, zero)

    def private_log_prior(self, m, w):
        """``log p(w_m)`` of view ``m``'s private prior, shape ``w.shape[:-1]``."""
        zero = torch.zeros_like(w)
        return self.family.log_prob(w, zero, zero)


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


def _has_complex(table):
    dtypes = table.dtypes if hasattr(table, "dtypes") else [getattr(table, "dtype", None)]
    return any(getattr(dt, "kind", None) == "c" for dt in dtypes)


_NONE = object()  # a parameter missing from the recorded ones

# parameters read afresh by every call, or fixed by the first fit (device): no rebuild
_NOT_IN_NET = frozenset(
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


def _same_param(a, b):
    """Whether two parameter values are the same setting (for warm-start changes)."""
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_param(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_param(a[k], b[k]) for k in a)
    if isinstance(a, Modality) and isinstance(b, Modality):
        return _same_param(vars(a), vars(b))
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


def _store(est, params):
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


# torch draws from one global generator per device: seeded blocks hold this lock, so a
# seeded call gives the same result whatever other threads do (they wait their turn)
_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch inside the block and restore the global RNG state afterwards.

    Blocks are serialised across threads (``_RNG_LOCK``): torch's generators are
    global, so two threads drawing at once would take each other's random numbers.
    """
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with _RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}

_COMMON_DOC = """
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

_FITTED_DOC = """
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


class MultimodalVAE(TransformerMixin, BaseEstimator):
    """Base estimator. Subclasses define ``__init__`` and ``_build_module``."""

    _has_private = False
    _prior_samplers = ("prior", "gmm")

    def _build_module(self, specs):
        raise NotImplementedError  # abstract: each method builds its own module

    # ---- parameters and validation ---------------------------------------------------
    def _check_params(self):
        """Validate the parameters shared by every method (messages name the parameter).

        Every real-valued parameter must be finite; the method's own parameters are
        validated again when its module is built (``_build_module``).
        """
        for name, value in self.get_params(deep=False).items():
            if (
                isinstance(value, numbers.Real)
                and not isinstance(value, numbers.Integral)
                and not np.isfinite(value)
            ):
                raise ValueError(f"{name} must be a finite number; got {value!r}.")
        dims = ("n_shared", "n_private") if self._has_private else ("n_latent",)
        for name in (*dims, "max_epochs", "batch_size", "n_iter_no_change"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        check_positive(self.lr, "lr")
        check_beta(self.weight_decay, "weight_decay")
        check_beta(self.tol, "tol")
        if hasattr(self, "kl_warmup_epochs"):
            check_beta(self.kl_warmup_epochs, "kl_warmup_epochs")
        check_hidden_sizes(self.hidden_layer_sizes)
        vf = self.validation_fraction
        if not (isinstance(vf, numbers.Real) and 0 < vf < 1):
            raise ValueError(f"validation_fraction must be in (0, 1); got {vf!r}.")
        if self.latent_mode not in ("mean", "sample"):
            raise ValueError(f"latent_mode must be 'mean' or 'sample'; got {self.latent_mode!r}.")
        self._check_block(self.latents)
        if self.prior_sampler not in self._prior_samplers:
            raise ValueError(
                f"prior_sampler must be one of {self._prior_samplers} for "
                f"{type(self).__name__}; got {self.prior_sampler!r}."
            )
        if (
            not isinstance(self.n_prior_components, numbers.Integral)
            or self.n_prior_components < 1
        ):
            raise ValueError(
                f"n_prior_components must be a positive integer; got {self.n_prior_components!r}."
            )
        if isinstance(self.optimizer, str) and self.optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(_OPTIMIZERS)} or a class; "
                f"got {self.optimizer!r}."
            )

    def _view_weights(self, n_views):
        if self.view_weights is None:
            return [1.0] * n_views
        if np.ndim(self.view_weights) == 0:
            raise ValueError(f"view_weights must be {n_views} numbers; got {self.view_weights!r}.")
        return per_view_values(self.view_weights, n_views, "view_weights")

    def _check_block(self, block):
        if block not in LATENT_BLOCKS:
            raise ValueError(f"latents must be one of {LATENT_BLOCKS}; got {block!r}.")
        if block == "private" and not self._has_private:
            raise ValueError(
                f"{type(self).__name__} has no private latents; use latents='shared' or "
                "'per_view', or a method with private spaces (MMVAEPlus, IDMVAE, DMVAE)."
            )

    def _validate_input(self, X, reset):
        def to_table(table):
            if _has_complex(table):  # _validate_arrays names the view, without the values
                return table.to_numpy(dtype=object) if hasattr(table, "iloc") else table
            # dtypes and values are checked per view (messages name the view)
            return validate_data(self, table, reset=reset, ensure_all_finite=False, dtype=None)

        arrays, explicit_mask, layout = split_input(X, self.views, to_table)
        if reset and layout["kind"] not in ("array", "dataframe"):
            self.n_features_in_ = sum(int(np.prod(a.shape[1:])) for a in arrays)
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        arrays, mask = _validate_arrays(arrays, explicit_mask)
        if reset:
            self.n_views_ = len(arrays)
            self.view_shapes_ = [tuple(a.shape[1:]) for a in arrays]
        else:
            if len(arrays) != self.n_views_:
                raise ValueError(
                    f"X has {len(arrays)} views, but {type(self).__name__} was fitted on "
                    f"{self.n_views_}."
                )
            for m, (a, shape) in enumerate(zip(arrays, self.view_shapes_)):
                if tuple(a.shape[1:]) != shape:
                    raise ValueError(
                        f"View {m} has sample shape {tuple(a.shape[1:])}, but "
                        f"{type(self).__name__} was fitted on {shape}."
                    )
                self.modalities_[m].check_compatible(a, mask[:, m])
        return arrays, mask, layout

    def _to_network(self, arrays, mask):
        out = []
        for m, (spec, a) in enumerate(zip(self.modalities_, arrays)):
            obs = mask[:, m]
            keep_mapped = isinstance(a, np.memmap) and obs.all() and spec.mean is None
            if keep_mapped and a.dtype == (np.int64 if spec.token_view else np.float32):
                out.append(a)
                continue
            if not obs.all():  # missing rows are never read; fill them before any cast
                a = np.where(obs.reshape(-1, *[1] * (a.ndim - 1)), a, 0)
            out.append(spec.to_model(a))
        return out

    # ---- seeding and devices ---------------------------------------------------------
    def _device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def _seed(self, random_state=None):
        rs = self.random_state if random_state is None else random_state
        return check_random_state(rs).randint(np.iinfo(np.int32).max)

    # ---- fitting ---------------------------------------------------------------------
    def _net_callbacks(self):
        callbacks = list(self.callbacks or [])
        if self.early_stopping:
            from skorch.callbacks import EarlyStopping

            callbacks.append(
                EarlyStopping(
                    monitor="valid_loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    load_best=True,
                    sink=print if self.verbose else (lambda *a, **k: None),
                )
            )
        return callbacks or None

    def _make_net(self, module):
        return MultimodalNet(
            module,
            optimizer=_OPTIMIZERS.get(self.optimizer, self.optimizer),
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            callbacks=self._net_callbacks(),
            device=self.device_,
            verbose=int(self.verbose),
        )

    def _effective_batch_size(self, n_train):
        """``batch_size``, lowered on small data (see ``batch_size`` in the docs)."""
        if n_train >= SMALL_DATA_ROWS:
            return int(self.batch_size)
        return int(min(self.batch_size, max(8, n_train // 8)))

    @contextlib.contextmanager
    def _params_as(self, params):
        """Temporarily give the estimator the parameter values ``params``."""
        saved = {name: getattr(self, name) for name in params}
        try:
            for name, value in params.items():
                setattr(self, name, value)
            yield
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    def _refresh_net(self):
        """Apply the parameters changed since the module was built (warm start and
        ``partial_fit``): rebuild the module from the current parameters, load the
        fitted weights into it, and rebuild the optimizers (see
        :meth:`MultimodalNet.replace_module`) and the callbacks."""
        current = self.get_params(deep=False)
        built = getattr(self, "_built_params_", None)
        if built is None:  # a model pickled before this was recorded: apply everything
            changed = list(current)
        else:
            changed = [
                k
                for k, v in current.items()
                if k not in _NOT_IN_NET and not _same_param(built.get(k, _NONE), v)
            ]
        if not changed:
            return
        if built is not None:
            for name in ("modalities", "views", "hidden_layer_sizes"):
                if name in changed:
                    raise ValueError(
                        f"{name} changed since the model was fitted ({built[name]!r} -> "
                        f"{current[name]!r}); it sets the views or the networks' shape, which "
                        "a warm start (warm_start=True or partial_fit) cannot change. Fit "
                        "with warm_start=False to train a new model."
                    )
        old = self.net_.module_
        module = self._build_module(self.modalities_)  # validates the method's parameters
        self._check_same_structure(old, module, built, changed, current)
        module.load_state_dict(self._carried_state(old, module, built))
        self.net_.replace_module(
            module,
            lr=self.lr,
            optimizer=_OPTIMIZERS.get(self.optimizer, self.optimizer),
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
        )
        if {"callbacks", "early_stopping", "n_iter_no_change", "tol", "verbose"} & set(changed):
            self.net_.callbacks = self._net_callbacks()
            self.net_.verbose = int(self.verbose)
            self.net_.initialize_callbacks()
        self._built_params_ = current

    def _check_same_structure(self, old, new, built, changed, current):
        """Raise, naming the changed parameters, if ``new`` has other tensor shapes."""

        def shapes(module):
            return {k: tuple(v.shape) for k, v in module.state_dict().items()}

        before, after = shapes(old), shapes(new)
        if before == after:
            return
        key = next(k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))
        what = ", ".join(
            f"{n} ({built[n]!r} -> {current[n]!r})" if built is not None else n for n in changed
        )
        raise ValueError(
            f"The parameters changed since the fit ({what}) change the network's shape "
            f"({key!r}: {before.get(key)} -> {after.get(key)}); a warm start "
            "(warm_start=True or partial_fit) continues the fitted network and cannot change "
            "it. Fit with warm_start=False to train a new model with these parameters."
        )

    def _carried_state(self, old, new, built):
        """The fitted state for the rebuilt module: all parameters, and the buffers
        that training changed (e.g. step counters). Buffers that only hold a setting
        (e.g. DMVAE's per-view beta) follow the current parameters."""
        state = old.state_dict()
        fresh = new.state_dict()
        buffers = {k for k, _ in new.named_buffers() if k in state}
        differing = [k for k in buffers if not torch.equal(state[k].cpu(), fresh[k].cpu())]
        if not differing or built is None:
            return state
        with self._params_as(built):
            reference = self._build_module(self.modalities_).state_dict()
        for k in differing:
            if torch.equal(state[k].cpu(), reference[k].cpu()):  # untouched by training
                state[k] = fresh[k]
        return state

    def _train(self, X, epochs, fresh):
        self._check_params()
        arrays, mask, _ = self._validate_input(X, reset=fresh)
        for m in np.flatnonzero(~mask.any(axis=0)):
            warnings.warn(
                f"View {m} is missing in every training row: the model learns nothing about "
                "it (its networks keep their initial weights).",
                UserWarning,
                stacklevel=3,
            )
        if self.prior_sampler == "gmm" and len(mask) < 2:
            raise ValueError(
                "prior_sampler='gmm' fits a Gaussian mixture to the training latents after "
                f"training and needs at least 2 training samples; got n_samples={len(mask)}."
            )
        if fresh:
            self.device_ = self._device()
        seed = self._seed()
        if not fresh:
            seed = (seed + len(self.net_.history)) % np.iinfo(np.int32).max
            with _seeded(seed, self.device_):  # own RNG: training draws as before
                self._refresh_net()
        with _seeded(seed, self.device_):
            if fresh:
                self.modalities_ = resolve_modalities(
                    self.modalities, arrays, mask, self.hidden_layer_sizes
                )
                self.net_ = self._make_net(self._build_module(self.modalities_))
                self.net_.initialize()
                self._built_params_ = self.get_params(deep=False)
            data = ViewData(self._to_network(arrays, mask), mask, self.device_)
            train, valid = data, None
            if self.early_stopping:
                n = len(data)
                n_valid = int(round(self.validation_fraction * n))
                if n_valid < 1 or n - n_valid < 1:
                    raise ValueError(
                        f"early_stopping with validation_fraction={self.validation_fraction} "
                        f"leaves no training or validation rows out of {n}."
                    )
                perm = np.random.RandomState(seed).permutation(n)
                train, valid = data.subset(perm[n_valid:]), data.subset(perm[:n_valid])
            self.net_.batch_size = self._effective_batch_size(len(train))
            self.net_.partial_fit((train, valid), epochs=epochs)
        self._fit_prior_sampler(arrays, mask, seed)
        return self

    def _fit_prior_sampler(self, arrays, mask, seed):
        if self.prior_sampler != "gmm":
            self.__dict__.pop("prior_sampler_", None)
            return
        Z = self._batched(arrays, mask, self.net_.module_.sampler_latents)
        self.prior_sampler_ = ExPostGMM(self.n_prior_components, seed).fit(Z)

    def fit(self, X, y=None):
        """Fit the model.

        Parameters
        ----------
        X : MultiView, DataFrame, 2-D array, or list / dict of arrays
            The views (see :func:`~skmmvae.check_views`); all-NaN rows are missing views.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self
        """
        fresh = not (self.warm_start and hasattr(self, "net_"))
        return self._train(X, self.max_epochs, fresh=fresh)

    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, initialising the model on the first call.

        Parameters
        ----------
        X : multi-view input
        y : None
            Ignored.

        Returns
        -------
        self
        """
        return self._train(X, 1, fresh=not hasattr(self, "net_"))

    @property
    def history_(self):
        check_is_fitted(self, "net_")
        return self.net_.history

    # ---- inference -------------------------------------------------------------------
    def _batched(self, arrays, mask, fn, seed=None):
        """Run ``fn(views, mask)`` on inference batches; concatenate its outputs."""
        module = self.net_.module_
        data = ViewData(self._to_network(arrays, mask), mask, self.device_)
        chunk = max(self.batch_size, 512)
        outputs = []
        module.eval()
        context = _seeded(seed, self.device_) if seed is not None else contextlib.nullcontext()
        with torch.no_grad(), context:
            for start in range(0, len(data), chunk):
                idx = torch.arange(start, min(start + chunk, len(data)), device=data.device)
                batch = data.take(idx)
                outputs.append(fn(batch.views, batch.mask))
        if isinstance(outputs[0], dict):
            return {k: torch.cat([o[k] for o in outputs]).cpu().numpy() for k in outputs[0]}
        if isinstance(outputs[0], list):
            return [torch.cat([o[m] for o in outputs]).cpu().numpy() for m in range(len(arrays))]
        return torch.cat(outputs).cpu().numpy()

    @staticmethod
    def _out_dtype(arrays):
        return np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64

    def transform(self, X, latents=None, latent_mode=None):
        """Latent representation of each sample.

        Parameters
        ----------
        X : multi-view input
        latents : {"all", "shared", "private", "per_view"}, default=None
            Blocks to return; None uses the estimator's ``latents``.
        latent_mode : {"mean", "sample"}, default=None
            None uses the estimator's ``latent_mode``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Shared latents aggregate the observed views of each sample.
        """
        check_is_fitted(self)
        block = self.latents if latents is None else latents
        mode = self.latent_mode if latent_mode is None else latent_mode
        self._check_block(block)
        if mode not in ("mean", "sample"):
            raise ValueError("latent_mode must be 'mean' or 'sample'.")
        if block != self.latents and _get_output_config("transform", self)["dense"] != "default":
            raise ValueError(
                "transform(latents=...) cannot override the blocks when set_output() asks "
                "for DataFrames (the column names follow the estimator's `latents`); use "
                f"set_params(latents={block!r}) instead."
            )
        arrays, mask, _ = self._validate_input(X, reset=False)
        module = self.net_.module_
        sample = mode == "sample"
        Z = self._batched(
            arrays,
            mask,
            lambda v, m: module.latents(v, m, block, sample),
            seed=self._seed() if sample else None,
        )
        return Z.astype(self._out_dtype(arrays), copy=False)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return ``transform(X)``."""
        return self.fit(X, y, **fit_params).transform(X)

    def encode(self, X):
        """All posterior parameters.

        Returns
        -------
        params : dict of ndarray
            ``shared_mean`` and ``shared_std`` ``(n, n_latent)`` of the aggregated shared
            posterior; ``view_loc`` and ``view_scale`` ``(n, M, n_latent)`` of each view's
            expert (rows of missing views carry no information about the sample: the
            encoder's output for the zero-filled input, or a stand-in when no row of
            the batch observes the view; ignore them); models with private latents add
            ``private_loc`` and ``private_scale`` ``(n, M, n_private)``.
        """
        check_is_fitted(self)
        arrays, mask, _ = self._validate_input(X, reset=False)
        return self._batched(arrays, mask, self.net_.module_.posterior)

    def _predict_views(self, X):
        check_is_fitted(self)
        arrays, mask, layout = self._validate_input(X, reset=False)
        preds = self._batched(arrays, mask, self.net_.module_.predict_views, seed=self._seed())
        preds = [spec.from_model(p) for spec, p in zip(self.modalities_, preds)]
        return arrays, mask, layout, preds

    def impute(self, X):
        """Fill the missing views from the observed ones.

        The shared latent is the posterior mean given each sample's observed views
        (the method's aggregation: product, mixture, subset mixture or per-view
        average), decoded (likelihood mean) into its missing views. What a missing
        view's private latent is depends on the method:

        * ``MMVAEPlus``, ``IDMVAE``: a draw from its prior, ``N(0, private_scale^2)``
          (the diffusion prior with ``diffusion_prior=True``), as in the papers'
          cross-generation, seeded by ``random_state``;
        * ``PrivateSharedVAE``, ``DMVAE``: the prior mean, 0;
        * ``MVAE``, ``MMVAE``, ``MoPoE``, ``MMVM``: none (no private latents; MMVM
          decodes the average of the observed views' latents).

        Observed values are returned bit-identical.

        Parameters
        ----------
        X : multi-view input with missing views (all-NaN rows or a mask)

        Returns
        -------
        X_imputed : same container type as ``X``
            Float views keep their dtype (float32 in, float32 out).
        """
        arrays, mask, layout, preds = self._predict_views(X)
        out = []
        for m, (a, p) in enumerate(zip(arrays, preds)):
            filled = np.array(a, copy=True)
            miss = ~mask[:, m]
            if miss.any():
                if filled.dtype.kind != "f":  # float views keep their dtype
                    filled = filled.astype(np.result_type(filled.dtype, p.dtype), copy=False)
                filled[miss] = p[miss]
            out.append(filled)
        return merge_like(layout, X, out, len(mask))

    def reconstruct(self, X):
        """Decode every view of every sample from its posterior means.

        Returns
        -------
        X_hat : same container type as ``X``
            Float views keep their dtype (float32 in, float32 out).
        """
        arrays, mask, layout, preds = self._predict_views(X)
        preds = [
            p.astype(a.dtype, copy=False) if a.dtype.kind == "f" else p
            for a, p in zip(arrays, preds)
        ]
        return merge_like(layout, X, preds, len(mask))

    def sample(self, n_samples=1, *, random_state=None, noise=False):
        """Unconditional generation: the shared latent from the prior (or from the
        ex-post mixture when ``prior_sampler="gmm"``), private latents from their priors.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            None uses the estimator's ``random_state``.
        noise : bool, default=False
            False decodes likelihood means (most likely tokens); True draws from the
            likelihoods.

        Returns
        -------
        views : list of ndarray
            One array of ``n_samples`` rows per view, on the data's scale.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        module = self.net_.module_
        module.eval()
        seed = self._seed(random_state)
        shared = self._ex_post_shared(n_samples, seed)
        outs = [[] for _ in range(self.n_views_)]
        chunk = max(self.batch_size, 512)
        with torch.no_grad(), _seeded(seed, self.device_):
            for start in range(0, n_samples, chunk):
                n = min(chunk, n_samples - start)
                part = None if shared is None else shared[start : start + n]
                inputs = module.generate(n, part)
                for m in range(self.n_views_):
                    outs[m].append(module.decode(m, inputs[m], noise=noise).cpu().numpy())
        return [spec.from_model(np.concatenate(o)) for spec, o in zip(self.modalities_, outs)]

    def _ex_post_shared(self, n, seed):
        """``n`` shared latents from the fitted ex-post sampler (a tensor on the model's
        device), or None when the model draws them from its own prior."""
        if not hasattr(self, "prior_sampler_"):
            return None
        return torch.as_tensor(
            self.prior_sampler_.sample(n, seed), dtype=torch.float32, device=self.device_
        )

    def decode(self, Z, view=None, *, noise=False, random_state=None):
        """Decode given latents into views, on the data's scale.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_latent + n_private), or list of them
            Decoder inputs: the shared latent (``n_latent`` or ``n_shared`` columns,
            the layout of ``transform(X, latents="shared")``), followed, for methods
            with private latents, by the private latent ``w_m`` of the decoded view
            (``n_private`` columns). For MMVM it is the view's own latent ``z_m``.
            With ``view=None`` it is one array that every view decodes, or a list with
            one array per view.
        view : int, default=None
            The view to decode; None decodes every view.
        noise : bool, default=False
            False decodes likelihood means (most likely tokens); True draws from the
            likelihoods.
        random_state : int, RandomState instance or None, default=None
            Seeds the likelihood draws when ``noise=True``; None uses the estimator's
            ``random_state``.

        Returns
        -------
        X : ndarray, or list of ndarray when ``view`` is None
            ``n_samples`` rows of each decoded view.
        """
        check_is_fitted(self)
        module = self.net_.module_
        dim = module.n_latent + module.n_private
        if view is None:
            targets = list(range(self.n_views_))
            per_view = (
                isinstance(Z, (list, tuple))
                and len(Z) == self.n_views_
                and all(np.ndim(z) == 2 for z in Z)
            )
            latents = list(Z) if per_view else [Z] * self.n_views_
        else:
            if not isinstance(view, numbers.Integral) or not 0 <= view < self.n_views_:
                raise ValueError(f"view must be an integer in [0, {self.n_views_}); got {view!r}.")
            targets, latents = [int(view)], [Z]
        checked = []
        for Zm in latents:
            Zm = check_array(Zm, dtype=np.float32, input_name="Z")
            if Zm.shape[1] != dim:
                raise ValueError(
                    f"Z has {Zm.shape[1]} columns, but the decoders of "
                    f"{type(self).__name__} take {dim} (shared latent, then one view's "
                    "private latent)."
                )
            if checked and len(Zm) != len(checked[0]):
                raise ValueError("The arrays of Z must have the same number of rows.")
            checked.append(Zm)
        module.eval()
        chunk = max(self.batch_size, 512)
        outs = []
        with torch.no_grad(), _seeded(self._seed(random_state), self.device_):
            for m, Zm in zip(targets, checked):
                t = torch.as_tensor(Zm, device=self.device_)
                parts = [
                    module.decode(m, t[start : start + chunk], noise=noise).cpu().numpy()
                    for start in range(0, len(t), chunk)
                ]
                outs.append(self.modalities_[m].from_model(np.concatenate(parts)))
        return outs if view is None else outs[0]

    def score_samples(self, X):
        """Per-sample value of the method's objective (beta = 1, unit view weights),
        in nats.

        An evidence lower bound for ``MVAE``, ``MoPoE``, ``MMVAE`` (ELBO, or the
        importance-weighted bound with ``K`` samples for ``estimator="iwae"`` /
        ``"dreg"``) and ``PrivateSharedVAE`` (joint ELBO). For ``MMVAEPlus`` and
        ``IDMVAE`` it is the MMVAE+ objective, whose cross-reconstructions use the
        learned auxiliary prior: a bound only while that equals ``p(w)``. For
        ``DMVAE`` (conditional ELBOs given the shared code inferred from ``X``) and
        ``MMVM`` (data-dependent mixture prior) it is not a bound. Compare models of
        one class with it; across classes use
        :func:`skmmvae.metrics.log_likelihood`. Standardised gaussian views are scored
        on the data's original scale.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        arrays, mask, _ = self._validate_input(X, reset=False)
        elbo = self._batched(arrays, mask, self.net_.module_.elbo, seed=self._seed())
        log_det = np.array([s.log_det for s in self.modalities_])
        return elbo.astype(np.float64) + mask @ log_det

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (higher is better), so ``GridSearchCV`` needs no
        ``y``. It rewards reconstruction and closeness to the prior, not what
        regularisers such as IDMVAE's ``lambda1`` are for: select those with a
        downstream pipeline or :func:`skmmvae.metrics.cross_view_agreement`."""
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features=None):
        """Names of the ``transform`` columns: ``z{k}``, ``z{m}_{k}`` (per view), ``w{m}_{k}``."""
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(self._latent_names(self.latents), dtype=object)

    def _latent_names(self, block):
        module = self.net_.module_
        names = []
        if block in ("all", "shared"):
            names += [f"z{k}" for k in range(module.n_latent)]
        if block == "per_view":
            names += [f"z{m}_{k}" for m in range(self.n_views_) for k in range(module.n_latent)]
        if block in ("all", "private") and module.has_private:
            names += [f"w{m}_{k}" for m in range(self.n_views_) for k in range(module.n_private)]
        return names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags
