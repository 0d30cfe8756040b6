"""Fit MMVAE+, DMVAE and MMVAE+ with early stopping with ``accelerate=True`` and save
what each process ends with.

Also the gradient of a contrastive loss over a batch split across the processes
(``contrastive_gradients``). Run by tests/test_accelerate.py, as one process
(``python accelerate_fit.py OUT``) and as two (``ACCELERATE_USE_CPU=1 accelerate launch
--multi_gpu --num_processes 2 accelerate_fit.py OUT``). Every process writes
``OUT/<method>_rank<i>.npz``: the per-epoch history of every loss part, the fitted
weights, and the shared latents of the data, and ``OUT/gradients_rank<i>.npz``.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from skmmvae import DMVAE, MMVAEPlus
from skmmvae.objectives import contrast, nt_xent

N_ROWS = 16  # the batch of the gradient check


def pairs():
    """The fixed representations of the gradient check (float64)."""
    rng = np.random.RandomState(3)
    a, b = torch.tensor(rng.randn(N_ROWS, 3)), torch.tensor(rng.randn(N_ROWS, 3))
    valid = torch.tensor(rng.rand(N_ROWS) > 0.2)
    return a, b, valid


def contrastive_gradients(net):
    """This process's rows of the batch: the gradients of the summed contrastive
    losses of all processes (each process's loss sees the gathered batch)."""
    a, b, valid = pairs()
    processes, rank = net.accelerator.num_processes, net.accelerator.process_index
    share = slice(rank * N_ROWS // processes, (rank + 1) * N_ROWS // processes)
    a, b = a[share].clone().requires_grad_(), b[share].clone().requires_grad_()
    with net._batch_context():
        loss = -(nt_xent(a, b, valid[share], 0.5) + contrast(b, a, valid[share], 0.5)).sum()
    loss.backward()
    return {"a": a.grad.numpy(), "b": b.grad.numpy(), "rows": np.arange(N_ROWS)[share]}


def data(n=512, seed=0):
    """Two views of a 2-D latent with view-specific noise dimensions."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n, 2)
    views = []
    for d in (8, 6):
        private = rng.randn(n, 1)
        x = z @ rng.randn(2, d) + private @ rng.randn(1, d) + 0.1 * rng.randn(n, d)
        views.append(x.astype(np.float32))
    return views


def main(out):
    torch.set_num_threads(1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X = data()
    common = dict(batch_size=64, hidden_layer_sizes=(32,), random_state=0, accelerate=True)
    models = {
        "mmvaeplus": MMVAEPlus(n_shared=2, n_private=1, max_epochs=12, **common),
        "dmvae": DMVAE(n_shared=2, n_private=1, max_epochs=6, discriminator_steps=2, **common),
        # early stopping restores the best weights while the module is still wrapped
        "early_stopping": MMVAEPlus(
            n_shared=2,
            n_private=1,
            max_epochs=8,
            early_stopping=True,
            n_iter_no_change=2,
            tol=10.0,
            **common,
        ),
    }
    for name, est in models.items():
        est.fit(X)
        history = est.history_
        parts = sorted(k for k in history[-1] if k.startswith("train_") and "best" not in k)
        rank = est.net_.accelerator.process_index
        weights = torch.cat([p.detach().flatten() for p in est.net_.module_.parameters()])
        np.savez(
            out / f"{name}_rank{rank}.npz",
            parts=np.array(parts),
            history=np.array([[row[k] for k in parts] for row in history]),
            weights=weights.numpy(),
            latents=est.transform(X, latents="shared"),
            processes=est.net_.accelerator.num_processes,
        )
    grads = contrastive_gradients(est.net_)
    np.savez(out / f"gradients_rank{est.net_.accelerator.process_index}.npz", **grads)


if __name__ == "__main__":
    main(sys.argv[1])
