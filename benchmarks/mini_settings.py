"""One IDMVAE (or MMVAE+) fit on the mini PolyMNIST-Quadrant with given settings, and
the four probes of the IDMVAE paper's Table 1 on test tuples: what the demo's settings
were chosen from.

Data: ``make_polymnist_quadrant_mini(n_train, 500, views, random_state=0)`` (real MNIST
digits). Model: ``arch="resnet"`` networks with ``--width`` channels, dense width
``--hidden``, latents ``--zs`` + ``--ws``, ``--lik`` likelihood (Laplace, the
paper's, by default) of scale ``--scale`` (Laplace 0.75 when not given), Adam.
Prints one JSON line: the settings, the probes (``zd`` z -> digit, ``zq`` z ->
quadrant, ``wq`` w -> quadrant, ``wd`` w -> digit; logistic regression on posterior
means, mean over views) and the fit time.

    python benchmarks/mini_settings.py --lik gaussian --scale 0.3 --batch 32 --epochs 12
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from skmmvae import IDMVAE, MMVAEPlus, Modality, metrics  # noqa: E402
from skmmvae.datasets import make_polymnist_quadrant_mini  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", choices=["IDMVAE", "MMVAEPlus"], default="IDMVAE")
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--views", type=int, default=3)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--zs", type=int, default=16)
    p.add_argument("--ws", type=int, default=16)
    p.add_argument("--lik", choices=["laplace", "gaussian"], default="laplace")
    p.add_argument("--scale", type=float, default=None)
    p.add_argument("--learn-scale", action="store_true")
    p.add_argument("--lambda1", type=float, default=80.0)
    p.add_argument("--lambda2", type=float, default=5.0)
    p.add_argument("--tau", type=float, default=0.2)
    p.add_argument("--neg", choices=["cross", "all"], default="cross")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    data = make_polymnist_quadrant_mini(a.n_train, 500, a.views, random_state=0)
    modality = Modality(
        likelihood=a.lik,
        channels=a.width,
        scale=a.scale,
        learn_scale=True if a.learn_scale else None,
    )
    common = dict(
        n_shared=a.zs,
        n_private=a.ws,
        max_epochs=a.epochs,
        batch_size=a.batch,
        lr=a.lr,
        beta=a.beta,
        modalities=modality,
        hidden_layer_sizes=(a.hidden,),
        random_state=0,
        device="cpu",
        verbose=1,
    )
    if a.method == "IDMVAE":
        terms = dict(lambda1=a.lambda1, lambda2=a.lambda2, temperature=a.tau, negatives=a.neg)
        est = IDMVAE(**terms, **common)
    else:
        est = MMVAEPlus(**common)
    start = time.perf_counter()
    est.fit(data.X_train)
    fit = time.perf_counter() - start
    probe = metrics.latent_classification
    X_tr, X_te = data.X_train, data.X_test
    scores = {
        "zd": probe(est, X_tr, data.y_train, X_te, data.y_test, latents="shared"),
        "zq": probe(est, X_tr, data.q_train, X_te, data.q_test, latents="shared"),
        "wq": probe(est, X_tr, data.q_train, X_te, data.q_test, latents="private"),
        "wd": probe(est, X_tr, data.y_train, X_te, data.y_test, latents="private"),
    }
    out = {**vars(a), **{k: round(v["accuracy"], 3) for k, v in scores.items()}}
    print(json.dumps({**out, "fit_s": round(fit)}), flush=True)


if __name__ == "__main__":
    main()
