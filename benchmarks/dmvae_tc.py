"""DMVAE's total-correlation term: does it take the shared class out of s_m?

Data: ``make_shared_private`` (2 tabular views of 12 features; a shared class with 4
values, a private class with 3 values per view). DMVAE with ``beta=0.05`` (so that
without the TC term the private codes keep much of the shared class), ``gamma=10``,
n_shared = n_private = 4, MLP (64,), discriminators of width 64, batch 64, 25
epochs, 600 training samples; logistic-regression probes fitted on the training
samples and scored on 400 held-out ones, on posterior means and on one posterior
draw of s_m. Rows vary delta, what the discriminators see (``tc_input``) and how they
are trained (steps per batch, learning rate; the paper: draws, 1 step at 1e-4).

    python benchmarks/dmvae_tc.py --out benchmarks/results/dmvae_tc.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402

from skmmvae import DMVAE, make_shared_private  # noqa: E402

CONFIGS = {
    "delta=0": {"delta": 0.0},
    "delta=2, means, 5 steps at 1e-3 (default)": {"delta": 2.0},
    "delta=10, means, 5 steps at 1e-3": {"delta": 10.0},
    "delta=2, means, 1 step at 1e-3": {"delta": 2.0, "discriminator_steps": 1},
    "delta=2, draws, 5 steps at 1e-3": {"delta": 2.0, "tc_input": "sample"},
    "delta=2, draws, 1 step at 1e-4 (paper)": {
        "delta": 2.0,
        "tc_input": "sample",
        "discriminator_steps": 1,
        "discriminator_lr": 1e-4,
    },
}


def probe(Z, y, train, test):
    return LogisticRegression(max_iter=1000).fit(Z[train], y[train]).score(Z[test], y[test])


def run(params, seed, epochs):
    X, y, y_private = make_shared_private(
        n_samples=1000, n_views=2, n_features=12, n_shared=2, n_private=2, random_state=seed
    )
    train, test = np.arange(600), np.arange(600, 1000)
    est = DMVAE(
        n_shared=4,
        n_private=4,
        beta=0.05,
        gamma=10,
        discriminator_hidden=64,
        hidden_layer_sizes=(64,),
        max_epochs=epochs,
        batch_size=64,
        random_state=seed,
        **params,
    )
    start = time.perf_counter()
    est.fit(X[train])
    seconds = time.perf_counter() - start
    out = []
    for mode in ("mean", "sample"):
        W = est.transform(X, latents="private", latent_mode=mode).reshape(len(y), 2, -1)
        out.append(np.mean([probe(W[:, m], y, train, test) for m in range(2)]))
        out.append(np.mean([probe(W[:, m], y_private[:, m], train, test) for m in range(2)]))
    return out, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    lines = [
        "# DMVAE: what the TC term removes from the private codes",
        "",
        f"Command: `python benchmarks/dmvae_tc.py {' '.join(argv or sys.argv[1:])}`",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        f"Seeds {args.seeds} (data and model), {args.max_epochs} epochs, "
        f"{args.threads} torch thread(s). Chance: 0.25 (shared), 0.33 (private).",
        "",
        machine() + ".",
        "",
        "| config | s -> shared, means | s -> private, means | s -> shared, draws "
        "| s -> private, draws | fit s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, params in CONFIGS.items():
        results, seconds = zip(*(run(params, seed, args.max_epochs) for seed in args.seeds))
        mean, std = np.mean(results, 0), np.std(results, 0)
        cells = " | ".join(f"{m:.2f} +- {s:.2f}" for m, s in zip(mean, std))
        lines.append(f"| {name} | {cells} | {np.mean(seconds):.1f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    emit(text, args.out)


if __name__ == "__main__":
    main()
