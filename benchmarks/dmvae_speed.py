"""Where DMVAE's training time goes: epoch time with its terms switched off one by one.

The issue-13 table: 3 views of 20 000 rows x 100 Gaussian features, MLP (256, 256),
latents 16 + 16, batch 256, Adam; DMVAE with its defaults (5 discriminator steps of
width 256 per training step), then with 1 step, without the TC term (delta 0), also
without InfoNCE (gamma 0), and MMVAE+ for reference. Median epoch time over the epochs
after the first.

    python benchmarks/dmvae_speed.py --out benchmarks/results/dmvae_speed.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402

from skmmvae import DMVAE, MMVAEPlus, MultiView  # noqa: E402

RUNS = [
    ("DMVAE, defaults (5 discriminator steps)", DMVAE, {}),
    ("DMVAE, discriminator_steps=1", DMVAE, {"discriminator_steps": 1}),
    ("DMVAE, delta=0 (no TC term, no discriminators)", DMVAE, {"delta": 0.0}),
    ("DMVAE, delta=0, gamma=0 (no InfoNCE either)", DMVAE, {"delta": 0.0, "gamma": 0.0}),
    ("MMVAEPlus", MMVAEPlus, {}),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(0)
    X = MultiView([rng.randn(20_000, 100).astype(np.float32) for _ in range(3)])
    rows = []
    for label, cls, params in RUNS:
        est = cls(
            n_shared=16,
            n_private=16,
            max_epochs=args.epochs,
            batch_size=256,
            hidden_layer_sizes=(256, 256),
            random_state=0,
            device="cpu",
            **params,
        ).fit(X)
        seconds = statistics.median(row["dur"] for row in est.history_[1:])
        rows.append(f"| {label} | {seconds:.2f} |")
        print(rows[-1], flush=True)
    command = "python benchmarks/dmvae_speed.py " + " ".join(argv or sys.argv[1:])
    text = "\n".join(
        [
            "# Where DMVAE's training time goes (seconds per epoch)",
            "",
            f"Command: `{command.strip()}`",
            f"3 views x 20 000 rows x 100 features, MLP (256, 256), latents 16 + 16, batch 256, "
            f"median over epochs 2-{args.epochs}, {args.threads} torch threads, seed 0.",
            machine(),
            "",
            "| run | s / epoch |",
            "|---|---:|",
            *rows,
            "",
        ]
    )
    emit(text, args.out)


if __name__ == "__main__":
    main()
