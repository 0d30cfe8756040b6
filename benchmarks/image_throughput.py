"""Training throughput of the image networks on the mini PolyMNIST-Quadrant.

MMVAE+ and IDMVAE (the demo's networks: 3 views of 3 x 32 x 32, ``arch="resnet"`` with
16 channels, dense width 128, latents 16 + 16, batch 128) trained for ``--epochs``
epochs on ``--n-train`` tuples, with the convolution weights in the default (NCHW)
layout and in channels-last layout (``skmmvae.training.CHANNELS_LAST``), or, with
``--compare precision``, in float32 and with ``precision="bf16"`` (channels-last).
Samples per second are the median over epochs after the first.

    python benchmarks/image_throughput.py --out benchmarks/results/image_throughput.md
    python benchmarks/image_throughput.py --compare precision \
        --out benchmarks/results/image_throughput_bf16.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402

from skmmvae import (  # noqa: E402
    IDMVAE,
    MMVAEPlus,
    Modality,
    training,  # noqa: E402
)
from skmmvae.datasets import make_polymnist_quadrant_mini  # noqa: E402


def samples_per_second(cls, X, epochs, **params):
    est = cls(
        n_shared=16,
        n_private=16,
        max_epochs=epochs,
        batch_size=128,
        modalities=Modality(channels=16, scale=0.2),
        hidden_layer_sizes=(128,),
        random_state=0,
        device="cpu",
        **params,
    ).fit(X)
    durations = [row["dur"] for row in est.history_][1:]
    return len(X) / statistics.median(durations)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", choices=["layout", "precision"], default="layout")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X = make_polymnist_quadrant_mini(args.n_train, 10, 3, random_state=0).X_train
    rows = []
    for name, cls, params in (
        ("MMVAEPlus", MMVAEPlus, {}),
        ("IDMVAE", IDMVAE, {"lambda1": 80.0, "lambda2": 5.0}),
    ):
        speed = {}
        for variant in (False, True):
            if args.compare == "layout":
                training.CHANNELS_LAST = variant
                extra = {}
            else:
                extra = {"precision": "bf16" if variant else "32"}
            speed[variant] = samples_per_second(cls, X, args.epochs, **params, **extra)
            print(name, args.compare, variant, round(speed[variant]), flush=True)
        rows.append(
            f"| {name} | {speed[False]:.0f} | {speed[True]:.0f} | "
            f"{speed[True] / speed[False]:.2f} |"
        )
    training.CHANNELS_LAST = True
    command = "python benchmarks/image_throughput.py " + " ".join(argv or sys.argv[1:])
    text = "\n".join(
        [
            "# Training throughput of the image networks (samples/s)",
            "",
            f"Command: `{command.strip()}`",
            f"{args.n_train} tuples of 3 views (3 x 32 x 32), {args.epochs} epochs (median "
            f"over all but the first), {args.threads} torch thread(s), seed 0.",
            machine(),
            "",
            "| method | NCHW | channels-last | speed-up |"
            if args.compare == "layout"
            else "| method | float32 | bf16 | speed-up |",
            "|---|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    emit(text, args.out)


if __name__ == "__main__":
    main()
