"""What each model-selection criterion chooses for IDMVAE's lambda1.

Data: ``make_shared_private`` (3 tabular views of 12 features; a shared class with 4
values and a private class with 3 values per view, each a Gaussian cluster in a 2-D
latent factor, mapped to the views through random tanh networks); 1500 rows for the
search (3-fold ``GridSearchCV``), 1000 held-out rows for the reading.

Criteria, each a ``GridSearchCV(..., scoring=...)`` over ``lambda1``:

* ``score`` (the default): the estimator's bound, what ``GridSearchCV`` uses when no
  scoring is given;
* ``cross_view_agreement`` and ``leave_one_view_out_score`` (label-free,
  ``skmmvae.metrics``);
* a downstream classifier: ``make_pipeline(IDMVAE(...), LogisticRegression())`` scored by
  accuracy on the shared class (needs labels).

For every lambda1 the table also gives, on the held-out rows, the shared class probed
from z (high is good) and from the private latents w (chance 0.25 is good).

    python benchmarks/lambda_selection.py --out benchmarks/results/lambda_selection.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402

from skmmvae import IDMVAE, MultiView, make_shared_private  # noqa: E402
from skmmvae.metrics import cross_view_agreement, leave_one_view_out_score  # noqa: E402


def probe(Z_train, y_train, Z_test, y_test):
    clf = LogisticRegression(max_iter=2000).fit(Z_train, y_train)
    return clf.score(Z_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 3.0, 10.0, 30.0, 80.0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    X, y, _ = make_shared_private(
        n_samples=2500, n_views=3, n_features=12, n_shared=2, n_private=2, random_state=args.seed
    )
    train = MultiView([v[:1500] for v in X.views])
    test = MultiView([v[1500:] for v in X.views])
    y_train, y_test = y[:1500], y[1500:]
    base = IDMVAE(
        n_shared=4,
        n_private=4,
        lambda2=1.0,
        hidden_layer_sizes=(64, 64),
        max_epochs=args.epochs,
        batch_size=64,
        random_state=args.seed,
        device="cpu",
    )
    grid = {"lambda1": args.lambdas}
    start = time.perf_counter()
    searches = {
        "score (ELBO-type bound, the default)": GridSearchCV(base, grid, cv=3),
        "cross_view_agreement": GridSearchCV(base, grid, cv=3, scoring=cross_view_agreement),
        "leave_one_view_out_score": GridSearchCV(
            base, grid, cv=3, scoring=leave_one_view_out_score
        ),
    }
    chosen = {}
    for name, gs in searches.items():
        gs.fit(train)
        chosen[name] = (gs.best_params_["lambda1"], gs.cv_results_["mean_test_score"])
        print(name, chosen[name], flush=True)
    pipe = make_pipeline(base, LogisticRegression(max_iter=2000))
    gs = GridSearchCV(pipe, {"idmvae__lambda1": args.lambdas}, cv=3, scoring="accuracy")
    gs.fit(train, y_train)
    chosen["LogisticRegression accuracy on z, w (labels)"] = (
        gs.best_params_["idmvae__lambda1"],
        gs.cv_results_["mean_test_score"],
    )

    reading = []
    for lam in args.lambdas:
        est = base.set_params(lambda1=lam).fit(train)
        Z_tr, Z_te = est.transform(train, latents="shared"), est.transform(test, latents="shared")
        W_tr = est.transform(train, latents="private").reshape(1500, 3, -1)
        W_te = est.transform(test, latents="private").reshape(1000, 3, -1)
        w_shared = np.mean([probe(W_tr[:, m], y_train, W_te[:, m], y_test) for m in range(3)])
        reading.append(
            f"| {lam:g} | {probe(Z_tr, y_train, Z_te, y_test):.3f} | {w_shared:.3f} | "
            f"{est.score(test):.1f} | {cross_view_agreement(est, test):.3f} | "
            f"{leave_one_view_out_score(est, test):.3f} |"
        )
    minutes = (time.perf_counter() - start) / 60

    command = "python benchmarks/lambda_selection.py " + " ".join(argv or sys.argv[1:])
    lines = [
        "# What each criterion selects for IDMVAE's lambda1 (synthetic shared/private data)",
        "",
        f"Command: `{command.strip()}`",
        f"Seed {args.seed}; {args.threads} torch thread(s); {minutes:.1f} min.",
        machine(),
        "",
        f"IDMVAE: z 4, w 4 per view, lambda2 1, MLP (64, 64), {args.epochs} epochs, batch 64; "
        "3-fold GridSearchCV on 1500 rows.",
        "",
        "| criterion | chosen lambda1 | mean CV score per lambda1 " + str(args.lambdas) + " |",
        "|---|---:|---|",
    ]
    for name, (lam, scores) in chosen.items():
        lines.append(f"| {name} | {lam:g} | {', '.join(f'{s:.3f}' for s in scores)} |")
    lines += [
        "",
        "Held-out reading (1000 rows) of each lambda1, fitted on the 1500 search rows:",
        "",
        "| lambda1 | z -> shared (high) | w -> shared (0.25) | score | "
        "cross_view_agreement | leave_one_view_out_score |",
        "|---:|---:|---:|---:|---:|---:|",
        *reading,
        "",
    ]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
