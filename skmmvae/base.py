"""The sklearn estimator every method builds on: parameters, input validation and
training (fit, partial_fit, warm starts).

:class:`MultimodalVAE` implements the sklearn surface once: ``fit``, ``partial_fit``
and ``fit_transform`` here; ``transform``, ``encode``, ``impute``, ``reconstruct``,
``score``, ``score_samples`` and ``get_feature_names_out`` from
:class:`~skmmvae.inference.InferenceMixin`; ``generate``, ``sample``, ``decode`` and
``log_likelihood`` from :class:`~skmmvae.generation.GenerationMixin`; ``set_output``
from sklearn. A method
subclasses it with its ``__init__`` and ``_build_module`` (its
:class:`~skmmvae.module.MultimodalModule`).
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .generation import GenerationMixin
from .inference import LATENT_BLOCKS, InferenceMixin
from .modalities import resolve_modalities
from .module import MultimodalModule
from .parameters import (
    COMMON_CONSTRAINTS,
    MISSING,
    NOT_IN_NET,
    OPTIMIZERS,
    PRECISIONS,
    SMALL_DATA_ROWS,
    per_view_values,
    same_param,
    validate_params,
)
from .sampling import ExPostGMM
from .training import AcceleratedMultimodalNet, MultimodalNet, ViewData, seeded
from .views import _validate_arrays, split_input

__all__ = ["MultimodalModule", "MultimodalVAE"]


def warn_device_fallback(est, fitted_on, running_on):
    """The warning of a model fitted on a device this machine lacks."""
    warnings.warn(
        f"{type(est).__name__} was fitted on {fitted_on!r}, which this machine lacks; it "
        f"runs on {running_on!r}.",
        UserWarning,
        stacklevel=3,
    )


def _version():
    from . import __version__

    return __version__


def _has_complex(table):
    dtypes = table.dtypes if hasattr(table, "dtypes") else [getattr(table, "dtype", None)]
    return any(getattr(dt, "kind", None) == "c" for dt in dtypes)


class MultimodalVAE(InferenceMixin, GenerationMixin, TransformerMixin, BaseEstimator):
    """Base estimator. Subclasses define ``__init__`` and ``_build_module``."""

    # capability flags (see skmmvae.methods): view-specific latents w_m, and what
    # log_likelihood can estimate ("joint", "conditional" or None)
    has_private_latents = False
    tractable_likelihood = "joint"

    def _build_module(self, specs):
        raise NotImplementedError  # abstract: each method builds its own module

    # ---- parameters and validation ---------------------------------------------------
    _parameter_constraints = COMMON_CONSTRAINTS

    def _check_params(self):
        """Validate every parameter against the class's table (run by every ``fit`` and
        ``partial_fit``; see :mod:`skmmvae.parameters`)."""
        validate_params(self)
        self._check_block(self.latents)

    def _view_weights(self, n_views):
        if self.view_weights is None:
            return [1.0] * n_views
        if np.ndim(self.view_weights) == 0:
            raise ValueError(f"view_weights must be {n_views} numbers; got {self.view_weights!r}.")
        return per_view_values(self.view_weights, n_views, "view_weights")

    def _check_block(self, block):
        if block not in LATENT_BLOCKS:
            raise ValueError(f"latents must be one of {LATENT_BLOCKS}; got {block!r}.")
        if block == "private" and not self.has_private_latents:
            from .methods import estimators

            names = ", ".join(c.__name__ for c in estimators(private_latents=True))
            raise ValueError(
                f"{type(self).__name__} has no private latents; use latents='shared' or "
                f"'per_view', or a method with private latents ({names})."
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
            if spec.pixel_scale is not None and spec.mean is None and a.dtype == np.uint8:
                # 8-bit pixels stay 8-bit (mapped or in memory; no NaN, so missing rows
                # need no filling): ViewData converts each batch on the device
                out.append(a)
                continue
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

    def to_device(self, device):
        """Move the fitted model to ``device`` for inference and further training.

        The module's parameters and buffers, the optimizers' state (a warm start
        continues where it stopped) and the float16 loss scaler follow; ``device_``
        records the new device. E.g. fit on a GPU, then ``to_device("cpu")`` to serve
        on CPUs (a CUDA-fitted model unpickled on a machine without CUDA is moved to
        the CPU by itself).

        Parameters
        ----------
        device : {"auto", "cpu", "cuda", "cuda:1", ...}
            "auto" is CUDA when available, else the CPU.

        Returns
        -------
        self
        """
        check_is_fitted(self, "net_")
        if not COMMON_CONSTRAINTS["device"](device):
            raise ValueError(
                f"device must be {COMMON_CONSTRAINTS['device'].description}; got {device!r}."
            )
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        target = torch.device(device)
        net = self.net_
        net.module_.to(target)
        for name in net._optimizers:  # re-loading puts the state next to the parameters
            optimizer = getattr(net, name + "_", None)
            if optimizer is not None:
                optimizer.load_state_dict(optimizer.state_dict())
        scaler = net.grad_scaler
        if scaler is not None and torch.device(self.device_).type != target.type:
            net.grad_scaler = torch.amp.GradScaler(target.type)
            net.grad_scaler.load_state_dict(scaler.state_dict())
        net.device = self.device_ = str(target)
        return self

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

    def _make_accelerator(self):
        """An ``accelerate.Accelerator`` for ``accelerate=True`` or a dict of its
        arguments: batches split across processes (``batch_size`` is the global batch),
        data placed by the library, and DDP told that a forward pass may leave
        parameters unused (e.g. the auxiliary networks)."""
        try:
            from accelerate import Accelerator, DataLoaderConfiguration
            from accelerate.utils import DistributedDataParallelKwargs
        except ImportError as exc:
            raise ImportError(
                "accelerate=True needs Hugging Face accelerate: pip install "
                "'skmmvae[distributed]' (or pip install accelerate)."
            ) from exc
        kwargs = {} if self.accelerate is True else dict(self.accelerate)
        owned = {
            "mixed_precision": "reduced precision is set with precision=",
            "dataloader_config": "batches are split across processes (batch_size is global)",
            "device_placement": "the library places the data and the module",
            "gradient_accumulation_steps": "every step uses the whole global batch",
            "rng_types": "the shuffling generator is synchronised across processes",
        }
        for key, why in owned.items():
            if key in kwargs:
                raise ValueError(f"accelerate must not set {key!r}: {why}; got {key}=...")
        kwargs.setdefault(
            "kwargs_handlers", [DistributedDataParallelKwargs(find_unused_parameters=True)]
        )
        accelerator = Accelerator(
            dataloader_config=DataLoaderConfiguration(split_batches=True),
            device_placement=False,
            **kwargs,
        )
        launched = int(os.environ.get("WORLD_SIZE", "1"))
        if launched > 1 and accelerator.num_processes == 1:
            raise RuntimeError(
                f"This script runs as one of {launched} processes (WORLD_SIZE), but "
                "accelerate sees a single process, so each would train its own model. "
                "Without GPUs, tell accelerate to use the CPUs: set ACCELERATE_USE_CPU=1 "
                "(e.g. ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes "
                f"{launched} script.py) or pass accelerate={{'cpu': True}}."
            )
        return accelerator

    def _make_net(self, module, accelerator=None):
        if accelerator is not None:
            net_class, extra = AcceleratedMultimodalNet, {"accelerator": accelerator}
        else:
            net_class, extra = MultimodalNet, {}
        return net_class(
            module,
            optimizer=OPTIMIZERS.get(self.optimizer, self.optimizer),
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            callbacks=self._net_callbacks(),
            device=self.device_,
            verbose=int(self.verbose),
            **extra,
        )

    def _compile_args(self):
        return self.compile if isinstance(self.compile, dict) else {}

    def _set_compile(self):
        """``compile`` on the net, set before every training call (a warm start may
        change it; the net compiles again only when its settings or its module changed)."""
        net = self.net_
        for key in [k for k in vars(net) if k.startswith("compile__")]:
            delattr(net, key)
        net.compile = bool(self.compile)
        for key, value in self._compile_args().items():
            setattr(net, f"compile__{key}", value)

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
                if k not in NOT_IN_NET and not same_param(built.get(k, MISSING), v)
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
            optimizer=OPTIMIZERS.get(self.optimizer, self.optimizer),
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
        accelerator = self._accelerator_for(fresh)
        if fresh:
            self.device_ = self._device() if accelerator is None else str(accelerator.device)
        seed = self._seed()
        if not fresh:
            seed = (seed + len(self.net_.history)) % np.iinfo(np.int32).max
            with seeded(seed, self.device_):  # own RNG: training draws as before
                self._refresh_net()
        with seeded(seed, self.device_):
            if fresh:
                self.modalities_ = resolve_modalities(
                    self.modalities, arrays, mask, self.hidden_layer_sizes
                )
                self.net_ = self._make_net(self._build_module(self.modalities_), accelerator)
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
            self._set_precision()
            self._set_compile()
            self.net_.partial_fit((train, valid), epochs=epochs)
        self._fit_prior_sampler(arrays, mask, seed)
        return self

    def _accelerator_for(self, fresh):
        """The accelerator of this training call (None without ``accelerate``); a warm
        start gets a new one (the fitted net keeps none) and moves the model to its
        device (this process's GPU in a new launch)."""
        wanted = isinstance(self.accelerate, dict) or bool(self.accelerate)  # {}: defaults
        if not wanted:
            if not fresh and isinstance(self.net_, AcceleratedMultimodalNet):
                raise ValueError(self._switch_message("True", "False"))
            return None
        if not fresh and not isinstance(self.net_, AcceleratedMultimodalNet):
            raise ValueError(self._switch_message("False", repr(self.accelerate)))
        accelerator = self._make_accelerator()
        if fresh:
            if self.device != "auto" and torch.device(self.device).type != accelerator.device.type:
                raise ValueError(
                    f"device={self.device!r} but the accelerator trains on "
                    f"{str(accelerator.device)!r}; with accelerate the launcher chooses the "
                    "device (leave device='auto')."
                )
        else:  # continue on this process's device (e.g. its own GPU in a new launch)
            self.net_.accelerator = accelerator
            self.to_device(str(accelerator.device))
        return accelerator

    def _switch_message(self, before, after):
        return (
            f"accelerate changed since the model was fitted ({before} -> {after}); a warm "
            "start (warm_start=True or partial_fit) continues with the same training engine. "
            "Fit with warm_start=False to train a new model."
        )

    def _set_precision(self):
        """The networks' dtype on the module, and the loss scaler of float16 training
        on the net (kept across warm starts while the precision stays "16-mixed")."""
        self.net_._core().network_dtype = PRECISIONS[self.precision]  # wrapped or not
        if self.precision != "16-mixed":
            self.net_.grad_scaler = None
        elif self.net_.grad_scaler is None:
            self.net_.grad_scaler = torch.amp.GradScaler(torch.device(self.device_).type)

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

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return ``transform(X)``."""
        return self.fit(X, y, **fit_params).transform(X)

    def __getstate__(self):
        # a copy: sklearn may hand back the instance's own __dict__
        state = dict(super().__getstate__())
        state["_skmmvae_version"] = _version()
        return state

    def __setstate__(self, state):
        """Unpickling: a model pickled by another skmmvae version loads with a warning
        naming both; a model fitted on a device this machine lacks (CUDA) runs on the
        device its net was loaded to (the CPU; skorch maps the tensors)."""
        pickled_by = state.pop("_skmmvae_version", "a version before 0.1.0")
        if pickled_by != _version():
            warnings.warn(
                f"This {type(self).__name__} was pickled by skmmvae {pickled_by} and is "
                f"loaded by {_version()}; check its results or refit it. skmmvae.save / "
                "skmmvae.load store models in a version-tolerant format.",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        fitted_on = self.__dict__.get("device_")
        if net is not None and fitted_on is not None and str(net.device) != str(fitted_on):
            warn_device_fallback(self, fitted_on, str(net.device))
            self.device_ = str(net.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags
