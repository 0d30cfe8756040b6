"""Saving and loading fitted estimators in a safe, version-tolerant format (skops).

``pickle`` and ``joblib`` work on every estimator, but loading a pickle runs whatever
code the file names, and a pickle ties the model to the library's internal classes
(a refactor can make old files unloadable). :func:`save` writes a `skops
<https://skops.readthedocs.io>`_ file that holds only plain data: the estimator's
parameters, its fitted attributes, the networks' weights and the optimizers' state as
numpy arrays, the training history, and (``prior_sampler="gmm"``) the fitted
scikit-learn ``GaussianMixture``. :func:`load` rebuilds the estimator from them with
this version's code, so

* nothing in the file is executed: ``skops.io.load`` only builds the types it trusts,
  and a file written by :func:`save` needs none beyond skops' defaults (builtins,
  numpy arrays, scikit-learn estimators; ``TRUSTED_TYPES`` is empty); any other type
  makes :func:`load` refuse the file unless the caller trusts it by name;
* a model saved by an older release loads as long as its networks have the same
  tensors; a file from another major version, or from a newer release, loads with a
  warning naming both versions, and a file whose networks no longer match fails with
  an error that says so;
* a model fitted on a GPU loads on a machine without one (on the CPU, with a warning).

What the format cannot hold is refused when saving, with a ValueError naming the
parameter: custom encoder or decoder networks (``Modality(encoder=...)``) and
optimizer classes other than the built-in names. ``callbacks`` are not saved (skorch
callbacks are code); they are dropped with a warning. ``random_state`` given as a
``RandomState`` instance is saved as its first draw, with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

__all__ = ["TRUSTED_TYPES", "load", "save"]

FORMAT = 1  # version of the saved layout

# the types a file written by save() may contain besides those skops trusts by default
# (builtins, numpy arrays, scikit-learn estimators such as prior_sampler="gmm"'s
# GaussianMixture): none. load() refuses any other type unless the caller trusts it.
TRUSTED_TYPES = []


def _skops():
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ImportError(
            "Saving and loading in the skops format needs skops: pip install skops "
            "(or pip install 'skmmvae[persist]'). pickle and joblib need nothing extra."
        ) from exc
    return sio


# ---- plain values ---------------------------------------------------------------------
def _plain_param(name, value, dropped):
    """A parameter value as plain data (see the module docstring for what is refused)."""
    from .modalities import Modality
    from .parameters import OPTIMIZERS

    if value is None or isinstance(value, (bool, int, float, str, np.ndarray)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        if name == "callbacks":
            dropped.append(
                "callbacks (skorch callbacks are code, not data; pass them again with "
                "set_params before a warm start)"
            )
            return None
        items = [_plain_param(name, v, dropped) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {"__dict__": {str(k): _plain_param(name, v, dropped) for k, v in value.items()}}
    if isinstance(value, Modality):
        if value.encoder is not None or value.decoder is not None:
            raise ValueError(
                f"{name}: a Modality with custom encoder or decoder networks cannot be "
                "saved in the skops format (the networks are code); use joblib.dump."
            )
        fields = {k: _plain_param(name, v, dropped) for k, v in vars(value).items()}
        return {"__modality__": fields}
    if isinstance(value, np.random.RandomState):
        twin = np.random.RandomState()
        twin.set_state(value.get_state())  # the user's generator is left as it was
        draw = int(twin.randint(np.iinfo(np.int32).max))
        dropped.append(f"random_state (a RandomState instance; saved as the integer {draw})")
        return draw
    for key, cls in OPTIMIZERS.items():
        if value is cls:
            return key
    raise ValueError(
        f"{name}={value!r} cannot be saved in the skops format (only plain values, "
        "Modality objects and the optimizer names); use joblib.dump for this model."
    )


def _from_plain(value):
    from .modalities import Modality

    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_from_plain(v) for v in value["__tuple__"])
        if "__modality__" in value:
            return Modality(**{k: _from_plain(v) for k, v in value["__modality__"].items()})
        if "__dict__" in value:
            return {k: _from_plain(v) for k, v in value["__dict__"].items()}
    return value


def _arrays(obj):
    """Tensors in a nested state (state dicts, optimizer state) as numpy arrays."""
    if isinstance(obj, torch.Tensor):
        return {"__tensor__": obj.detach().cpu().numpy()}
    if isinstance(obj, dict):  # key-value pairs: state dicts have integer keys
        return {"__pairs__": [[_arrays(k), _arrays(v)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_arrays(v) for v in obj]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    return obj


def _tensors(obj, device):
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return torch.as_tensor(obj["__tensor__"], device=device)
        if "__tuple__" in obj:
            return tuple(_tensors(v, device) for v in obj["__tuple__"])
        if "__pairs__" in obj:
            return {_tensors(k, device): _tensors(v, device) for k, v in obj["__pairs__"]}
    if isinstance(obj, list):
        return [_tensors(v, device) for v in obj]
    return obj


def _history(history):
    """skorch's History as plain rows (numbers, strings, bools, batch rows)."""

    def plain(v):
        if isinstance(v, (np.integer, np.floating, np.bool_)):
            return v.item()
        if isinstance(v, torch.Tensor):
            return v.item()
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return [plain(row) for row in history]


# ---- save / load ----------------------------------------------------------------------
def _state(est):
    """Everything :func:`load` needs, as plain data."""
    from . import __version__
    from .training import AcceleratedMultimodalNet

    dropped = []
    params = {k: _plain_param(k, v, dropped) for k, v in est.get_params(deep=False).items()}
    built = getattr(est, "_built_params_", None)
    if built is not None:
        built = {k: _plain_param(k, v, []) for k, v in built.items()}
    net = est.net_
    fitted = {
        "n_features_in_": int(est.n_features_in_),
        "n_views_": int(est.n_views_),
        "view_shapes_": [list(s) for s in est.view_shapes_],
        "device_": str(est.device_),
    }
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(c) for c in est.feature_names_in_]
    if hasattr(est, "_sklearn_output_config"):  # set_output(transform="pandas"), ...
        fitted["_sklearn_output_config"] = {
            k: v for k, v in est._sklearn_output_config.items() if isinstance(v, str)
        }
    state = {
        "format": FORMAT,
        "skmmvae_version": __version__,
        "class": type(est).__name__,
        "params": params,
        "built_params": built,
        "fitted": fitted,
        "modalities": [
            {k: _plain_param(k, v, []) for k, v in vars(spec).items()} for spec in est.modalities_
        ],
        "module": _arrays(net._core().state_dict()),
        "optimizers": {
            name: _arrays(getattr(net, name + "_").state_dict())
            for name in net._optimizers
            if getattr(net, name + "_", None) is not None
        },
        "batch_size": int(net.batch_size),
        "accelerated": isinstance(net, AcceleratedMultimodalNet),
        "grad_scaler": None if net.grad_scaler is None else _arrays(net.grad_scaler.state_dict()),
        "history": _history(net.history),
    }
    sampler = getattr(est, "prior_sampler_", None)
    if sampler is not None:
        state["prior_sampler"] = {
            "n_components": sampler.n_components,
            "random_state": sampler.random_state,
            "mixture": sampler.mixture_,
            "cholesky": sampler.cholesky_,
        }
    return state, dropped


def _available(device):
    """Whether this machine has ``device`` ("cuda:1" needs two GPUs)."""
    device = torch.device(device)
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    backend = getattr(torch.backends, device.type, None)
    return bool(backend is not None and backend.is_available())


def save(estimator, file):
    """Save a fitted estimator in the skops format.

    Parameters
    ----------
    estimator : fitted skmmvae estimator
    file : str or path-like
        Where to write (conventionally ``*.skops``).

    Examples
    --------
    >>> import skmmvae
    >>> X, y, _ = skmmvae.make_shared_private(n_samples=60, random_state=0)
    >>> est = skmmvae.MVAE(n_latent=2, max_epochs=1, random_state=0).fit(X)
    >>> skmmvae.save(est, "mvae.skops")
    >>> again = skmmvae.load("mvae.skops")
    >>> bool((again.transform(X) == est.transform(X)).all())
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "net_")
    state, dropped = _state(estimator)
    for what in dropped:
        warnings.warn(f"Not saved: {what}.", UserWarning, stacklevel=2)
    _skops().dump(state, file)


def load(file, device=None, trusted=None):
    """Load an estimator saved by :func:`save`.

    Parameters
    ----------
    file : str or path-like
    device : str, default=None
        Where the model runs: None is the device it was fitted on when this machine
        has it (else the CPU, with a warning); or "cpu", "cuda", "auto", ...
    trusted : list of str, default=None
        Types to trust besides ``TRUSTED_TYPES``. A file written by :func:`save`
        needs none; a file that contains other types is refused with their names
        (``skops.io.get_untrusted_types(file=...)`` lists them).

    Returns
    -------
    estimator : the fitted estimator
    """
    from packaging.version import InvalidVersion, Version

    from . import __version__
    from . import methods as registry
    from .base import warn_device_fallback
    from .modalities import ViewSpec
    from .sampling import ExPostGMM

    sio = _skops()
    allowed = list(TRUSTED_TYPES) + list(trusted or [])
    unknown = [t for t in sio.get_untrusted_types(file=file) if t not in allowed]
    if unknown:
        raise ValueError(
            f"{file} contains types that a file saved by skmmvae does not: {unknown}. "
            "Load it only if you trust its source, passing them as trusted=[...]."
        )
    state = sio.load(file, trusted=allowed)
    if not isinstance(state, dict) or "format" not in state:
        raise ValueError(f"{file} is not an estimator saved by skmmvae.save.")
    saved_version = state["skmmvae_version"]
    if state["format"] > FORMAT:
        raise ValueError(
            f"{file} was saved by skmmvae {saved_version} in a newer file format "
            f"({state['format']}) than skmmvae {__version__} reads ({FORMAT}); upgrade skmmvae."
        )
    try:
        saved, current = Version(saved_version), Version(__version__)
        differs = saved > current or saved.major != current.major
    except InvalidVersion:
        differs = True
    if differs:
        warnings.warn(
            f"{file} was saved by skmmvae {saved_version} and is loaded by {__version__}; "
            "check its results, or refit it with this version.",
            UserWarning,
            stacklevel=2,
        )
    cls = registry.get(state["class"])
    est = cls(**{k: _from_plain(v) for k, v in state["params"].items()})
    for name, value in state["fitted"].items():
        setattr(est, name, value)  # incl. the set_output configuration
    est.view_shapes_ = [tuple(s) for s in est.view_shapes_]
    if "feature_names_in_" in state["fitted"]:
        est.feature_names_in_ = np.asarray(state["fitted"]["feature_names_in_"], dtype=object)
    est.modalities_ = [
        ViewSpec(**{k: _from_plain(v) for k, v in spec.items()}) for spec in state["modalities"]
    ]
    fitted_on = est.device_
    if device is None:
        usable = _available(fitted_on)
        if not usable:
            warn_device_fallback(est, fitted_on, "cpu")
        device = fitted_on if usable else "cpu"
    elif device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    est.device_ = str(device)
    built = state["built_params"]
    with est._params_as({k: _from_plain(v) for k, v in (built or {}).items()}):
        module = est._build_module(est.modalities_)
    est._built_params_ = {k: _from_plain(v) for k, v in (built or {}).items()} or None
    weights = _tensors(state["module"], "cpu")
    expected = module.state_dict()
    if set(weights) != set(expected) or any(
        tuple(weights[k].shape) != tuple(expected[k].shape) for k in expected
    ):
        raise ValueError(
            f"{file} holds a {state['class']} from skmmvae {saved_version} whose networks "
            f"do not match this version's ({__version__}); refit the model."
        )
    module.load_state_dict(weights)
    accelerator = None
    if state.get("accelerated"):  # trained with accelerate: a warm start continues so
        try:
            accelerator = est._make_accelerator()
        except ImportError:
            warnings.warn(
                f"{file} holds a model trained with accelerate, which is not installed: "
                "it predicts, but a warm start needs accelerate.",
                UserWarning,
                stacklevel=2,
            )
            est.set_params(accelerate=False)
    est.net_ = est._make_net(module, accelerator)
    est.net_.initialize()
    if accelerator is not None:  # as after training: plain module and optimizers
        est.net_._unwrap_accelerator()
        est.net_._unwrap_optimizers()
    est._set_precision()  # the layers' precision (bf16, 16-mixed) as fitted
    if state.get("grad_scaler"):
        est.net_.grad_scaler.load_state_dict(_tensors(state["grad_scaler"], "cpu"))
    for name, opt_state in state["optimizers"].items():
        optimizer = getattr(est.net_, name + "_", None)
        if optimizer is not None:
            # on the CPU: loading moves the state next to the parameters, except
            # Adam's step counts, which stay on the CPU
            optimizer.load_state_dict(_tensors(opt_state, "cpu"))
    est.net_.batch_size = state["batch_size"]
    est.net_.history = type(est.net_.history)(state["history"])
    if "prior_sampler" in state:
        saved = state["prior_sampler"]
        sampler = ExPostGMM(saved["n_components"], saved["random_state"])
        sampler.mixture_, sampler.cholesky_ = saved["mixture"], saved["cholesky"]
        est.prior_sampler_ = sampler
    return est
