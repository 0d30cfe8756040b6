"""Saving and loading: the skops format (skmmvae.save / skmmvae.load) and pickles."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import GradientNormClipping

import skmmvae
from skmmvae import MVAE, Modality, methods
from skmmvae.persistence import FORMAT, _state

sio = pytest.importorskip("skops.io")

SMALL = dict(max_epochs=2, hidden_layer_sizes=(8,), random_state=0)


@pytest.fixture(scope="module")
def X():
    return skmmvae.make_shared_private(n_samples=80, n_views=2, n_features=4, random_state=0)[0]


@pytest.mark.parametrize("cls", methods.estimators(), ids=lambda c: c.__name__)
def test_round_trip_keeps_the_model_and_its_training_state(cls, X, tmp_path):
    """Loaded from a skops file (which needs no trusted type), a model gives the same
    latents, seeded scores and samples and history, and a warm start continues exactly
    as the original's does (weights and optimizer state restored)."""
    est = cls(**SMALL).fit(X)
    path = tmp_path / "model.skops"
    skmmvae.save(est, path)
    assert sio.get_untrusted_types(file=path) == []
    again = skmmvae.load(path)
    assert type(again) is cls and again.get_params() == est.get_params()
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    np.testing.assert_array_equal(again.score_samples(X), est.score_samples(X))
    np.testing.assert_array_equal(
        again.sample(5, random_state=2)[0], est.sample(5, random_state=2)[0]
    )
    assert list(again.history_[:, "train_loss"]) == list(est.history_[:, "train_loss"])
    for model in (est, again):
        model.set_params(warm_start=True, max_epochs=1).fit(X)
    np.testing.assert_array_equal(again.transform(X), est.transform(X))


def test_parameters_that_are_objects(X, tmp_path):
    """Modality objects and optimizer classes come back; callbacks are dropped and a
    RandomState is saved as an integer, each with a warning; what would be code
    (custom networks, other optimizer classes) is refused."""
    est = MVAE(
        modalities=[Modality(likelihood="gaussian"), Modality(learn_scale=False, scale=0.5)],
        optimizer=torch.optim.AdamW,
        callbacks=[GradientNormClipping(1.0)],
        hidden_layer_sizes=(8,),
        max_epochs=1,
        random_state=np.random.RandomState(3),
    ).fit(X)
    before = est.random_state.get_state()[1].copy()
    with pytest.warns(UserWarning) as caught:
        skmmvae.save(est, tmp_path / "m.skops")
    said = [str(w.message) for w in caught]
    assert any(m.startswith("Not saved: callbacks") for m in said)
    assert any("saved as the integer" in m for m in said)
    np.testing.assert_array_equal(est.random_state.get_state()[1], before)  # untouched
    again = skmmvae.load(tmp_path / "m.skops")
    assert [m.likelihood for m in again.modalities] == ["gaussian", "auto"]
    assert again.modalities[1].scale == 0.5 and again.optimizer == "adamw"
    assert again.callbacks is None and isinstance(again.random_state, int)
    np.testing.assert_array_equal(again.transform(X), est.transform(X))

    custom = MVAE(modalities=Modality(encoder=lambda d, out: torch.nn.Linear(d, out)))
    with pytest.raises(ValueError, match="custom encoder or decoder"):
        _state(custom)
    est.set_params(optimizer=torch.optim.RMSprop)
    with pytest.raises(ValueError, match="optimizer=.*cannot be saved"):
        skmmvae.save(est, tmp_path / "n.skops")


def _rewrite(est, path, **changes):
    """Save ``est`` with parts of its saved state replaced (another version, ...)."""
    state, _ = _state(est)
    for key, value in changes.items():
        if key in state["fitted"]:
            state["fitted"][key] = value
        else:
            state[key] = value
    sio.dump(state, path)


def test_files_of_other_versions_and_devices(X, tmp_path, monkeypatch):
    est = MVAE(n_latent=2, **SMALL).fit(X)
    path = tmp_path / "m.skops"
    _rewrite(est, path, skmmvae_version="0.0.1")  # an older release of the same major
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        skmmvae.load(path)
    for other in ("1.0.0", "0.9.0", "unknown"):  # another major, a newer release, garbage
        _rewrite(est, path, skmmvae_version=other)
        with pytest.warns(UserWarning, match=f"saved by skmmvae {other} and is loaded by"):
            skmmvae.load(path)
    _rewrite(est, path, format=FORMAT + 1)
    with pytest.raises(ValueError, match="newer file format"):
        skmmvae.load(path)
    module = _state(est)[0]["module"]
    module["__pairs__"] = module["__pairs__"][1:]  # a tensor this version's networks need
    _rewrite(est, path, module=module)
    with pytest.raises(ValueError, match="do not match this version"):
        skmmvae.load(path)
    # fitted on a GPU, loaded where there is none
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _rewrite(est, path, device_="cuda")
    with pytest.warns(UserWarning, match="fitted on 'cuda'"):
        again = skmmvae.load(path)
    assert again.device_ == "cpu"
    np.testing.assert_array_equal(again.transform(X), est.transform(X))


class NotFromSkmmvae:
    """A type a file written by skmmvae.save never contains."""


def test_files_with_other_types_are_refused(X, tmp_path):
    est = MVAE(n_latent=2, **SMALL).fit(X)
    state, _ = _state(est)
    state["extra"] = NotFromSkmmvae()
    path = tmp_path / "odd.skops"
    sio.dump(state, path)
    with pytest.raises(ValueError, match="NotFromSkmmvae"):
        skmmvae.load(path)
    sio.dump([1, 2], tmp_path / "list.skops")
    with pytest.raises(ValueError, match="not an estimator saved by skmmvae.save"):
        skmmvae.load(tmp_path / "list.skops")


def test_a_pickle_from_another_version_warns(X):
    est = MVAE(n_latent=2, **SMALL).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(est))  # same version: silent
    assert "_skmmvae_version" not in vars(est)  # pickling leaves the estimator as it was
    state = copy.deepcopy(est.__getstate__())  # another estimator's state, as unpickled
    state["_skmmvae_version"] = "0.0.9"
    again = MVAE.__new__(MVAE)
    with pytest.warns(UserWarning, match=r"pickled by skmmvae 0\.0\.9"):
        again.__setstate__(state)
    np.testing.assert_array_equal(again.transform(X), est.transform(X))


def test_precision_output_configuration_and_engine_survive(X, tmp_path):
    """What the model runs with besides its weights: the layers' precision (bf16 layers
    give other latents than float32 ones), the float16 loss scale, set_output, and the
    accelerate engine (a warm start after loading continues with it)."""
    pytest.importorskip("accelerate")
    from skmmvae.training import AcceleratedMultimodalNet

    for precision in ("bf16", "16-mixed"):
        est = MVAE(n_latent=2, precision=precision, **SMALL).fit(X)
        skmmvae.save(est, tmp_path / "p.skops")
        again = skmmvae.load(tmp_path / "p.skops")
        np.testing.assert_array_equal(again.transform(X), est.transform(X))
        if precision == "16-mixed":
            assert again.net_.grad_scaler.get_scale() == est.net_.grad_scaler.get_scale()
    est = MVAE(n_latent=2, **SMALL).fit(X).set_output(transform="pandas")
    skmmvae.save(est, tmp_path / "o.skops")
    Z = skmmvae.load(tmp_path / "o.skops").transform(X)
    assert list(Z.columns) == list(est.transform(X).columns)
    est = MVAE(n_latent=2, accelerate=True, **SMALL).fit(X)
    skmmvae.save(est, tmp_path / "a.skops")
    again = skmmvae.load(tmp_path / "a.skops")
    assert isinstance(again.net_, AcceleratedMultimodalNet)
    again.set_params(warm_start=True, max_epochs=1).fit(X)
    assert len(again.history_) == 3
