"""Joint reconstruction and cross-view prediction on a synthetic 3-view table.

Data: ``make_shared_private`` with 3 views of 30 / 40 / 50 features generated from a
shared latent factor of 8 dimensions and a private factor of 4 per view (noise 0.1);
4000 training rows, 1000 held-out rows. Every method: MLP (128, 128), shared latent
16 (+ 4 private per view where the method has them), 20 epochs, batch 128, Adam 1e-3.

Columns, on the held-out rows, as standardised mean squared errors (the MSE of each
feature divided by its variance, averaged; 1.0 = predicting the mean):

* joint: every view reconstructed from all three (``reconstruct``);
* cross: each view predicted from one other view alone (``impute`` with the other two
  missing), averaged over the six ordered pairs.

    python benchmarks/imputation.py --out benchmarks/results/imputation.md
    python benchmarks/imputation.py --methods MVAE MVAE:kl_warmup_epochs=0 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402

import skmmvae  # noqa: E402
from skmmvae import Modality, MultiView, make_shared_private  # noqa: E402

METHODS = ["MVAE", "MMVAE", "MoPoE", "MMVAEPlus", "IDMVAE", "PrivateSharedVAE", "DMVAE", "MMVM"]
PRIVATE = {"MMVAEPlus", "IDMVAE", "PrivateSharedVAE", "DMVAE"}


def smse(pred, true):
    """Standardised MSE: per-feature MSE over the feature's variance, averaged."""
    return float(np.mean(((pred - true) ** 2).mean(0) / true.var(0)))


def evaluate(est, views):
    n, M = len(views[0]), len(views)
    recon = est.reconstruct(MultiView(views))
    joint = np.mean([smse(np.asarray(recon.views[m]), views[m]) for m in range(M)])
    cross = []
    for s in range(M):
        mask = np.zeros((n, M), bool)
        mask[:, s] = True
        filled = est.impute(MultiView(views, mask=mask))
        cross += [smse(np.asarray(filled.views[t]), views[t]) for t in range(M) if t != s]
    return joint, float(np.mean(cross))


def build(entry, seed, epochs, settings, scale=None):
    """The estimator of a ``--methods`` entry: a class name, optionally followed by
    ``:param=value,param=value`` (then ``--set`` for that name is not applied)."""
    name, _, inline = entry.partition(":")
    params = dict(
        hidden_layer_sizes=(128, 128), max_epochs=epochs, random_state=seed, device="cpu"
    )
    if scale is not None:  # fixed-scale gaussian likelihoods instead of learned scales
        params["modalities"] = Modality("gaussian", scale=scale, learn_scale=False)
    if name in PRIVATE:
        params.update(n_shared=16, n_private=4)
    else:
        params.update(n_latent=16)
    changed = parse_assignments(inline.split(",")) if inline else settings.get(name, {})
    params.update(changed)
    return getattr(skmmvae, name)(**params), changed


def parse_assignments(items):
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = ast.literal_eval(value)
    return out


def parse_settings(items):
    out = {}
    for item in items or []:
        name, _, assignment = item.partition(":")
        out.setdefault(name, {}).update(parse_assignments([assignment]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--set", action="append", metavar="METHOD:PARAM=VALUE", help="a method's parameter"
    )
    parser.add_argument(
        "--scale", type=float, default=None, help="fixed gaussian scale (default: learned)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = parse_settings(args.set)

    rows = []
    for name in args.methods:
        results = []
        for seed in args.seeds:
            X, _, _ = make_shared_private(
                n_samples=5000,
                n_views=3,
                n_features=[30, 40, 50],
                n_shared=8,
                n_private=4,
                random_state=seed,
            )
            train = MultiView([v[:4000] for v in X.views])
            test = [np.asarray(v[4000:]) for v in X.views]
            est, changed = build(name, seed, args.epochs, settings, args.scale)
            start = time.perf_counter()
            est.fit(train)
            fit_s = time.perf_counter() - start
            results.append((*evaluate(est, test), fit_s))
            print(name, seed, results[-1], flush=True)
        res = np.array(results)
        label = name.partition(":")[0]
        label += " (" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"
        rows.append(
            f"| {label if changed else name} | {res[:, 0].mean():.3f} | "
            f"{res[:, 1].mean():.3f} | {res[:, 2].mean():.0f} |"
        )

    command = "python benchmarks/imputation.py " + " ".join(argv or sys.argv[1:])
    text = "\n".join(
        [
            "# Joint reconstruction and cross-view prediction (synthetic 3-view table)",
            "",
            f"Command: `{command.strip()}`",
            f"Seeds: {args.seeds}; {args.threads} torch thread(s).",
            machine(),
            "",
            "Standardised MSE on 1000 held-out rows (1.0 = predicting the mean); "
            "cross = one view from one other view, mean over the 6 ordered pairs. "
            f"MLP (128, 128), latent 16 (+4 private), {args.epochs} epochs, batch 128; "
            + (
                "gaussian likelihoods with learned per-feature scales."
                if args.scale is None
                else f"gaussian likelihoods with the fixed scale {args.scale:g}."
            ),
            "",
            "| method | joint | cross | fit s |",
            "|---|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    emit(text, args.out)


if __name__ == "__main__":
    main()
