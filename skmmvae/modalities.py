"""How one view is modelled: its likelihood, its networks and its preprocessing.

A :class:`Modality` is a declarative description (what the user passes, cloned by
sklearn with the estimator). :meth:`Modality.resolve` looks at the training data
and returns a :class:`ViewSpec` with everything fixed (likelihood, architecture,
shapes, vocabulary size, standardisation statistics). The likelihood itself is a
small torch module (:class:`Likelihood` and subclasses) holding any learned scale.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .views import CHUNK_ROWS

__all__ = ["Modality", "ViewSpec", "LIKELIHOODS", "resolve_modalities"]

LIKELIHOODS = ("gaussian", "laplace", "bernoulli", "categorical", "poisson")
ARCHS = ("auto", "mlp", "resnet", "conv", "text")
CONV_SIDES = (28, 16, 32, 64, 128, 256)
MAX_INFERRED_VOCAB = 1024  # largest vocabulary "auto" infers for an integer view


def check_hidden_sizes(value, name="hidden_layer_sizes"):
    """Validate MLP hidden sizes: a tuple (or list) of positive integers (empty: linear
    MLPs without hidden layers)."""
    ok = isinstance(value, (tuple, list)) and all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in value
    )
    if not ok:
        raise ValueError(f"{name} must be a tuple of positive integers; got {value!r}.")
    return tuple(int(h) for h in value)


class Modality:
    """Description of one view's likelihood and networks.

    Parameters
    ----------
    likelihood : {"auto", "gaussian", "laplace", "bernoulli", "categorical", "poisson"}
        ``"auto"`` picks from the data: 4-D floats in [0, 1] -> laplace; other 4-D
        floats -> gaussian; 2-D values in {0, 1} -> bernoulli; other 2-D integers ->
        categorical (token sequences); other 2-D floats -> gaussian. "auto" infers a
        vocabulary of at most ``MAX_INFERRED_VOCAB`` = 1024 tokens: an integer view with
        larger values (identifiers, counts) raises a ValueError asking for an explicit
        likelihood (``"gaussian"``, ``"poisson"``, or ``"categorical"`` with any size).
    arch : {"auto", "mlp", "resnet", "conv", "text"}
        Network family. ``"auto"``: resnet for square images of side 28 or a power of
        two in [16, 256], text for token sequences, MLP otherwise. ``"resnet"``:
        residual GroupNorm encoders and decoders (:mod:`skmmvae.networks`), with a
        translation-invariant pooling encoder for the shared latent of methods with
        private latents; ``"conv"``: plain strided convolutions (no normalisation).
    hidden_layer_sizes : tuple of int, default=None
        MLP hidden sizes; None uses the estimator's ``hidden_layer_sizes``.
    scale : float, default=None
        Scale of a laplace (default 0.75) or gaussian likelihood. None with a gaussian
        means a learned per-feature scale.
    learn_scale : bool, default=None
        Learn a per-feature scale. Default: True for gaussian, False for laplace.
    output_activation : {"auto", "sigmoid", "identity"}
        Applied to the decoder output of gaussian/laplace views. ``"auto"``: sigmoid
        for data in [0, 1] (images), identity otherwise.
    standardize : bool or "auto"
        Standardise a gaussian table per feature (mean 0, std 1) inside the model;
        outputs are mapped back. ``"auto"``: True for 2-D gaussian views whose output
        activation is the identity (not for tables of values in [0, 1]).
    encoder, decoder : callable, default=None
        Custom network factories. ``encoder(input_shape, output_dim)`` must return a
        module mapping ``(B, *input_shape)`` to ``(B, output_dim)``;
        ``decoder(latent_dim, output_shape)`` one mapping ``(B, latent_dim)`` to
        ``(B, *output_shape)``. For categorical views ``output_shape`` is
        ``(L, vocab_size)`` (logits) and the encoder receives int64 tokens.
    vocab_size : int, default=None
        Vocabulary of a categorical view; None = largest training token + 1.
    channels : int, default=None
        Channels of the first level of ``arch="resnet"`` networks (doubling per
        level, at most 8 times); None means 32. 16 trains about three times faster on
        a CPU (the demo's choice).

    Notes
    -----
    Per-view likelihood weights are the estimator's ``view_weights`` parameter, so
    they can be searched with ``GridSearchCV``.
    """

    def __init__(
        self,
        likelihood="auto",
        arch="auto",
        hidden_layer_sizes=None,
        scale=None,
        learn_scale=None,
        output_activation="auto",
        standardize="auto",
        encoder=None,
        decoder=None,
        vocab_size=None,
        channels=None,
    ):
        self.likelihood = likelihood
        self.arch = arch
        self.hidden_layer_sizes = hidden_layer_sizes
        self.scale = scale
        self.learn_scale = learn_scale
        self.output_activation = output_activation
        self.standardize = standardize
        self.encoder = encoder
        self.decoder = decoder
        self.vocab_size = vocab_size
        self.channels = channels

    @staticmethod
    def _model_values(X, observed, pixels):
        values = X[observed]
        return values / PIXEL_SCALE if pixels else values

    def _channels(self, index):
        if self.channels is None:
            return 32
        if isinstance(self.channels, bool) or not isinstance(self.channels, numbers.Integral):
            raise ValueError(
                f"View {index}: channels must be a positive integer; got {self.channels!r}."
            )
        if self.channels < 4:
            raise ValueError(f"View {index}: channels must be >= 4; got {self.channels!r}.")
        return int(self.channels)

    def __repr__(self):
        defaults = Modality()
        args = [f"{k}={v!r}" for k, v in vars(self).items() if v is not getattr(defaults, k, None)]
        return f"Modality({', '.join(args)})"

    def resolve(self, X, observed, index=0, hidden_layer_sizes=(256, 256)):
        """Fix every choice from the training data of this view.

        Parameters
        ----------
        X : ndarray, shape (n, ...)
            The view (missing rows may hold anything).
        observed : ndarray of bool, shape (n,)
        index : int
            The view's position, for error messages.
        hidden_layer_sizes : tuple of int
            The estimator's default MLP sizes.

        Returns
        -------
        ViewSpec
        """
        if self.likelihood not in ("auto", *LIKELIHOODS):
            raise ValueError(
                f"View {index}: likelihood must be 'auto' or one of {LIKELIHOODS}; "
                f"got {self.likelihood!r}."
            )
        if self.arch not in ARCHS:
            raise ValueError(f"View {index}: arch must be one of {ARCHS}; got {self.arch!r}.")
        if self.output_activation not in ("auto", "sigmoid", "identity"):
            raise ValueError(
                f"View {index}: output_activation must be 'auto', 'sigmoid' or 'identity'."
            )
        shape = tuple(X.shape[1:])
        # 8-bit images are pixel intensities: the networks see them divided by 255
        pixels = X.ndim == 4 and X.dtype == np.uint8
        is_int = X.dtype.kind in "iub" and not pixels
        if X.ndim == 4:  # images: only their range matters, read in chunks (memmaps)
            values = None
            lo, hi = _observed_range(X, observed)
            if pixels:
                lo, hi = lo / PIXEL_SCALE, hi / PIXEL_SCALE
            in_unit = lo is not None and lo >= 0 and hi <= 1
            binary = False
        else:
            values = X[observed]
            in_unit = values.size > 0 and values.min() >= 0 and values.max() <= 1
            binary = values.size > 0 and bool(np.isin(values, (0, 1)).all())
        lik = self.likelihood
        if lik == "auto":
            if X.ndim == 4:
                lik = "laplace" if in_unit else "gaussian"
            elif binary:
                lik = "bernoulli"
            elif is_int:
                lik = "categorical"
            else:
                lik = "gaussian"
        vocab = None
        if lik == "categorical":
            if X.ndim != 2:
                raise ValueError(f"View {index}: a categorical view must be (n, L) tokens.")
            if values.size and (values.min() < 0 or not np.all(values == np.round(values))):
                raise ValueError(f"View {index}: tokens must be non-negative integers.")
            vocab = int(self.vocab_size or (int(values.max()) + 1 if values.size else 2))
            vocab = max(vocab, 2)
            inferred = self.likelihood == "auto" and self.vocab_size is None
            if inferred and vocab > MAX_INFERRED_VOCAB:
                raise ValueError(
                    f"View {index} holds integers up to {vocab - 1}: 'auto' would model it as "
                    f"categorical tokens with a vocabulary of {vocab}, above the "
                    f"{MAX_INFERRED_VOCAB} that 'auto' infers (identifiers or counts, not "
                    "tokens?). Say how to model it: Modality('gaussian') (or 'poisson' for "
                    "counts), or Modality('categorical', vocab_size=...) for tokens."
                )
        if lik == "bernoulli" and not in_unit:
            raise ValueError(f"View {index}: bernoulli data must lie in [0, 1].")
        smallest = lo if values is None else (values.min() if values.size else None)
        if lik == "poisson" and smallest is not None and smallest < 0:
            raise ValueError(f"View {index}: poisson counts must be >= 0.")
        arch = self.arch
        square = X.ndim == 4 and shape[1] == shape[2] and shape[1] in CONV_SIDES
        if arch == "auto":
            arch = "text" if lik == "categorical" else "resnet" if square else "mlp"
        if arch in ("resnet", "conv") and not square:
            raise ValueError(
                f"View {index}: arch={arch!r} needs (n, C, S, S) images with S = 28 or a power "
                f"of two in [16, 256]; got shape {shape}. Use arch='mlp' or a custom encoder."
            )
        if arch == "text" and lik != "categorical":
            raise ValueError(f"View {index}: arch='text' needs a categorical view of tokens.")
        activation = self.output_activation
        if activation == "auto":
            activation = "sigmoid" if (lik in ("gaussian", "laplace") and in_unit) else "identity"
        standardize = self.standardize
        if standardize == "auto":
            standardize = lik == "gaussian" and X.ndim == 2 and activation == "identity"
        mean = std = None
        if standardize:
            if lik != "gaussian":
                raise ValueError(f"View {index}: standardize=True needs a gaussian likelihood.")
            if values is None:  # images standardised on request: read them whole
                values = self._model_values(X, observed, pixels)
            # statistics in float64: float16 (or float32) sums of squares overflow
            mean = values.mean(axis=0, dtype=np.float64) if values.size else np.zeros(shape)
            std = values.std(axis=0, dtype=np.float64) if values.size else np.ones(shape)
            std = np.where(std > 1e-12, std, 1.0)
        learn = self.learn_scale
        if learn is None:
            learn = lik == "gaussian" and self.scale is None
        scale = self.scale
        if scale is None:
            scale = 0.75 if lik == "laplace" else 1.0
        if scale <= 0:
            raise ValueError(f"View {index}: scale must be > 0.")
        if self.hidden_layer_sizes is None or (
            isinstance(self.hidden_layer_sizes, (tuple, list)) and not self.hidden_layer_sizes
        ):
            hidden = check_hidden_sizes(hidden_layer_sizes)
        else:
            hidden = check_hidden_sizes(
                self.hidden_layer_sizes, f"View {index}: Modality hidden_layer_sizes"
            )
        custom = self.encoder is not None and self.decoder is not None
        if not hidden and arch in ("resnet", "conv", "text") and not custom:
            raise ValueError(
                f"View {index}: arch={arch!r} needs hidden_layer_sizes with at least one size "
                "(the width of its dense layer); got ()."
            )
        return ViewSpec(
            index=index,
            likelihood=lik,
            arch=arch,
            shape=shape,
            vocab_size=vocab,
            hidden=tuple(int(h) for h in hidden),
            channels=self._channels(index),
            scale=float(scale),
            learn_scale=bool(learn),
            activation=activation,
            mean=mean,
            std=std,
            pixel_scale=PIXEL_SCALE if pixels else None,
            encoder=self.encoder,
            decoder=self.decoder,
        )


PIXEL_SCALE = 255.0  # uint8 image views: the networks see x / 255 in [0, 1]


def _observed_range(X, observed):
    """Minimum and maximum of the observed rows of ``X`` (None, None without any),
    read in chunks of rows so that a memory-mapped view is never loaded whole (the
    validation's mask already leaves out the NaN rows of missing views)."""
    lo = hi = None
    for start in range(0, len(X), CHUNK_ROWS):
        rows = observed[start : start + CHUNK_ROWS]
        if not rows.any():
            continue
        block = np.asarray(X[start : start + CHUNK_ROWS][rows])
        b_lo, b_hi = float(block.min()), float(block.max())
        lo = b_lo if lo is None else min(lo, b_lo)
        hi = b_hi if hi is None else max(hi, b_hi)
    return lo, hi


class ViewSpec:
    """A resolved :class:`Modality`: all choices fixed from the training data."""

    pixel_scale = None  # 255 for 8-bit image views (absent from models pickled before)

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return (
            f"ViewSpec(view={self.index}, likelihood={self.likelihood!r}, arch={self.arch!r}, "
            f"shape={self.shape})"
        )

    @property
    def token_view(self):
        return self.likelihood == "categorical"

    @property
    def output_shape(self):
        """Shape of the decoder output for one sample."""
        return (self.shape[0], self.vocab_size) if self.token_view else self.shape

    def to_model(self, X):
        """Data as the network sees it: float32 (standardised, or 8-bit pixels divided
        by 255) or int64 tokens."""
        if self.token_view:
            return np.asarray(X, dtype=np.int64)
        X = np.asarray(X, dtype=np.float32)
        if self.pixel_scale is not None:
            X = X / np.float32(self.pixel_scale)
        if self.mean is not None:
            X = ((X - self.mean) / self.std).astype(np.float32)
        return X

    def from_model(self, X):
        """Network-space values back to the data's scale (float64, or int64 tokens)."""
        if self.token_view:
            return np.asarray(X, dtype=np.int64)
        X = np.asarray(X, dtype=np.float64)
        if self.mean is not None:
            X = X * self.std + self.mean
        if self.pixel_scale is not None:
            X = X * self.pixel_scale
        return X

    @property
    def log_det(self):
        """Change-of-variables term added to log-likelihoods on the original scale."""
        det = 0.0 if self.std is None else -float(np.log(self.std).sum())
        if self.pixel_scale is not None:
            det -= math.prod(self.shape) * math.log(self.pixel_scale)
        return det

    def check_compatible(self, X, observed):
        """Raise if transform-time data cannot come from this view's domain."""
        if len(self.shape) == 3 and (X.dtype == np.uint8) != (self.pixel_scale is not None):
            fitted = "8-bit pixels (uint8)" if self.pixel_scale else "floating-point images"
            raise ValueError(
                f"View {self.index} was fitted on {fitted}; got dtype {X.dtype}. Pass the "
                "images in the dtype of the training data (uint8 pixels are read as x / 255)."
            )
        if self.token_view:
            values = X[observed]
            if values.size and (values.min() < 0 or values.max() >= self.vocab_size):
                raise ValueError(
                    f"View {self.index}: tokens must lie in [0, {self.vocab_size}) "
                    "(the training vocabulary)."
                )

    def make_likelihood(self):
        return _LIKELIHOOD_CLASSES[self.likelihood](self)


def resolve_modalities(modalities, arrays, mask, hidden_layer_sizes):
    """Resolve the estimator's ``modalities`` parameter into one ViewSpec per view."""
    n_views = len(arrays)
    if modalities is None or (isinstance(modalities, str) and modalities == "auto"):
        mods = [Modality() for _ in range(n_views)]
    elif isinstance(modalities, (str, Modality)):
        mods = [modalities] * n_views
    else:
        mods = list(modalities)
        if len(mods) != n_views:
            raise ValueError(
                f"modalities has {len(mods)} entries but the data has {n_views} views."
            )
    out = []
    for m, (mod, X) in enumerate(zip(mods, arrays)):
        if isinstance(mod, str):
            mod = Modality(likelihood=mod)
        elif not isinstance(mod, Modality):
            raise TypeError(
                f"modalities[{m}] must be a Modality or a likelihood name; "
                f"got {type(mod).__name__}."
            )
        out.append(mod.resolve(X, mask[:, m], index=m, hidden_layer_sizes=hidden_layer_sizes))
    return out


class Likelihood(nn.Module):
    """Base class: turns a decoder output into log-densities, point predictions, samples."""

    def __init__(self, spec):
        super().__init__()
        self.n_event_dims = len(spec.shape)
        self.activation = spec.activation

    def _loc(self, out):
        return torch.sigmoid(out) if self.activation == "sigmoid" else out

    def _sum(self, x):
        return x.flatten(start_dim=x.dim() - self.n_event_dims).sum(-1)

    def log_prob(self, out, x):
        """Log-density of ``x`` (B, *shape) under decoder output ``out`` (*S, B, *out_shape)."""
        raise NotImplementedError  # abstract

    def point(self, out):
        """Point prediction (mean; the most likely token for categorical views)."""
        return self._loc(out)

    def relaxed(self, out):
        """A differentiable stand-in for a sample, in the encoder's input space: the
        mean (probabilities ``(.., L, V)`` for categorical views). Used to re-encode
        generated views (IDMVAE's generative augmentation)."""
        return self._loc(out)

    def sample(self, out):
        raise NotImplementedError  # abstract


class _Scaled(Likelihood):
    def __init__(self, spec):
        super().__init__(spec)
        log_scale = torch.full(spec.shape, math.log(spec.scale), dtype=torch.float32)
        if spec.learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    def _log_scale(self):
        return self.log_scale.clamp(-7.0, 5.0)


class GaussianLikelihood(_Scaled):
    def log_prob(self, out, x):
        log_s = self._log_scale()
        z = (x - self._loc(out)) * torch.exp(-log_s)
        return self._sum(-0.5 * math.log(2 * math.pi) - log_s - 0.5 * z**2)

    def sample(self, out):
        loc = self._loc(out)
        return loc + torch.exp(self._log_scale()) * torch.randn_like(loc)


class LaplaceLikelihood(_Scaled):
    def log_prob(self, out, x):
        log_s = self._log_scale()
        return self._sum(-math.log(2.0) - log_s - (x - self._loc(out)).abs() * torch.exp(-log_s))

    def sample(self, out):
        loc = self._loc(out)
        u = (torch.rand_like(loc) - 0.5).clamp(-0.5 + 1e-7, 0.5 - 1e-7)
        return loc - torch.exp(self._log_scale()) * torch.sign(u) * torch.log1p(-2 * u.abs())


class BernoulliLikelihood(Likelihood):
    def _loc(self, out):
        return torch.sigmoid(out)

    def log_prob(self, out, x):
        x = x.expand_as(out)
        return self._sum(-F.binary_cross_entropy_with_logits(out, x, reduction="none"))

    def sample(self, out):
        return torch.bernoulli(torch.sigmoid(out))


class CategoricalLikelihood(Likelihood):
    """Independent categorical per position; decoder outputs logits ``(.., L, V)``."""

    def log_prob(self, out, x):
        logp = torch.log_softmax(out, dim=-1)
        idx = x.expand(out.shape[:-1]).unsqueeze(-1)
        return logp.gather(-1, idx).squeeze(-1).sum(-1)

    def point(self, out):
        return out.argmax(-1)

    def relaxed(self, out):
        return torch.softmax(out, dim=-1)

    def sample(self, out):
        flat = out.reshape(-1, out.shape[-1])
        draws = torch.multinomial(torch.softmax(flat, -1), 1)
        return draws.reshape(out.shape[:-1])


class PoissonLikelihood(Likelihood):
    """Counts with rate ``softplus(out)``."""

    def _loc(self, out):
        return F.softplus(out) + 1e-6

    def log_prob(self, out, x):
        rate = self._loc(out)
        return self._sum(x * torch.log(rate) - rate - torch.lgamma(x + 1.0))

    def sample(self, out):
        return torch.poisson(self._loc(out))


_LIKELIHOOD_CLASSES = {
    "gaussian": GaussianLikelihood,
    "laplace": LaplaceLikelihood,
    "bernoulli": BernoulliLikelihood,
    "categorical": CategoricalLikelihood,
    "poisson": PoissonLikelihood,
}
