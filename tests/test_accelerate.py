"""Data-parallel training through Hugging Face accelerate (``accelerate=True``).

In one process (CI) the accelerated engine trains, pickles without its accelerator and
warm-starts; the ``slow`` test launches two CPU processes and compares them with a
one-process run of the same global batch (tests/scripts/accelerate_fit.py).
"""

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skmmvae import DMVAE, MMVAEPlus, make_shared_private
from skmmvae.training import AcceleratedMultimodalNet, MultimodalNet

pytest.importorskip("accelerate")

SCRIPT = Path(__file__).parent / "scripts" / "accelerate_fit.py"
KW = dict(n_shared=2, n_private=1, max_epochs=2, hidden_layer_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def X():
    return make_shared_private(n_samples=96, n_views=2, n_features=5, random_state=0)[0]


@pytest.mark.parametrize("cls", [MMVAEPlus, DMVAE])
def test_one_process_accelerated_fit_pickles_and_warm_starts(cls, X):
    est = cls(accelerate=True, **KW).fit(X)
    assert isinstance(est.net_, AcceleratedMultimodalNet)
    # unwrapped after training: the module and the optimizers are plain torch objects
    assert type(est.net_.optimizer_).__module__.startswith("torch.optim")
    parts = {"train_loss", "train_rec", "train_kl"}
    if cls is DMVAE:  # the auxiliary optimizer trained and logged its loss
        parts |= {"train_discriminator", "train_tc"}
        assert type(est.net_.optimizer_aux_).__module__.startswith("torch.optim")
    assert parts <= set(est.history_[-1]) and np.isfinite(est.history_[-1, "train_loss"])

    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.net_.accelerator is None  # process-bound: not pickled
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    loaded.set_params(warm_start=True, max_epochs=1).fit(X)  # a new accelerator
    assert len(loaded.history_) == 3 and loaded.net_.accelerator is not None


def test_accelerate_settings_the_library_owns_are_refused(X):
    for key in (
        "mixed_precision",
        "device_placement",
        "dataloader_config",
        "gradient_accumulation_steps",
        "rng_types",
    ):
        with pytest.raises(ValueError, match=f"accelerate must not set '{key}'"):
            MMVAEPlus(accelerate={key: None}, **KW).fit(X)
    with pytest.raises(ValueError, match="^accelerate must be True or False or a dict"):
        MMVAEPlus(accelerate="yes", **KW).fit(X)


def test_the_engine_cannot_switch_in_a_warm_start(X):
    est = MMVAEPlus(**KW).fit(X)
    assert type(est.net_) is MultimodalNet
    with pytest.raises(ValueError, match=r"accelerate changed since the model was fitted"):
        est.set_params(warm_start=True, accelerate=True).fit(X)
    acc = MMVAEPlus(accelerate=True, **KW).fit(X)
    with pytest.raises(ValueError, match=r"\(True -> False\)"):
        acc.set_params(warm_start=True, accelerate=False).fit(X)


def test_a_launch_that_accelerate_does_not_see_is_refused(X, monkeypatch):
    """Two launched processes (WORLD_SIZE=2) that accelerate takes for one each would
    train two separate models: refused, saying how to launch on CPUs."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    with pytest.raises(RuntimeError, match="ACCELERATE_USE_CPU=1"):
        MMVAEPlus(accelerate=True, **KW).fit(X)


def _run(args, out):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1"}
    done = subprocess.run(args + [str(SCRIPT), str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    """``accelerate launch`` with 2 CPU processes (gloo): both end with the same weights
    and the same history (loss parts averaged over processes), and the run matches a
    one-process run with the same global batch (64) to tolerance; the two runs differ
    in their random draws, so not to the digit. DMVAE's InfoNCE takes its negatives
    from the whole batch (log 64 ~ 4.2 at chance), not from a process's 32 rows
    (log 32 ~ 3.5), and its discriminators' optimizer steps on averaged gradients."""
    launcher = shutil.which("accelerate")
    if launcher is None:
        pytest.skip("the accelerate launcher is not on PATH")
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable], one)
    # without GPUs accelerate's multi-process launcher (torch.distributed.run) starts
    # CPU processes with ACCELERATE_USE_CPU=1; `--cpu` alone runs one process
    launch = [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    _run(launch + ["--mixed_precision", "no", "--dynamo_backend", "no"], two)
    for name in ("mmvaeplus", "dmvae"):
        single = np.load(one / f"{name}_rank0.npz")
        rank0, rank1 = (np.load(two / f"{name}_rank{r}.npz") for r in (0, 1))
        assert int(single["processes"]) == 1 and int(rank0["processes"]) == 2
        np.testing.assert_array_equal(rank0["weights"], rank1["weights"])
        np.testing.assert_array_equal(rank0["history"], rank1["history"])
        np.testing.assert_array_equal(rank0["latents"], rank1["latents"])
        parts = list(single["parts"])
        for part in ("train_loss", "train_rec", "train_infonce"):
            if part in parts:
                col = parts.index(part)
                np.testing.assert_allclose(
                    rank0["history"][:, col], single["history"][:, col], rtol=0.05, err_msg=part
                )
        # the shared latents carry the same information: each run's predicts the other's
        Z1, Z2 = single["latents"], rank0["latents"]
        fit = np.linalg.lstsq(np.c_[Z2, np.ones(len(Z2))], Z1, rcond=None)[0]
        resid = Z1 - np.c_[Z2, np.ones(len(Z2))] @ fit
        assert 1 - resid.var() / Z1.var() > 0.8, name

    # early stopping (a large tol: it stops after n_iter_no_change + 1 epochs) restored
    # the best weights in both processes
    rank0, rank1 = (np.load(two / f"early_stopping_rank{r}.npz") for r in (0, 1))
    assert len(rank0["history"]) == 3
    np.testing.assert_array_equal(rank0["weights"], rank1["weights"])

    # the gathered batch is differentiable: the two processes' gradients of the sum of
    # their contrastive losses are the gradient of the one-process loss of the batch
    script = _load_script()
    a, b, valid = script.pairs()
    a.requires_grad_(), b.requires_grad_()
    loss = -(script.nt_xent(a, b, valid, 0.5) + script.contrast(b, a, valid, 0.5)).sum()
    loss.backward()
    shares = [np.load(two / f"gradients_rank{r}.npz") for r in (0, 1)]
    rows = np.concatenate([g["rows"] for g in shares])
    np.testing.assert_array_equal(rows, np.arange(len(rows)))
    for name, tensor in (("a", a), ("b", b)):
        got = np.concatenate([g[name] for g in shares])
        np.testing.assert_allclose(got, tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


def _load_script():
    spec = importlib.util.spec_from_file_location("accelerate_fit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
