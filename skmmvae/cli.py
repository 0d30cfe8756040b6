"""The ``skmmvae`` command.

``skmmvae quickstart`` trains MVAE, MMVAE and MoPoE on a synthetic three-view data
set with a known shared class, and prints what each model learned: how well the
shared latent predicts the class, the held-out ELBO, and how well each method
imputes a missing view.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main", "quickstart"]


def quickstart(n_samples=3000, max_epochs=30, random_state=0, out=None):
    """Fit the three aggregation methods on synthetic views and print a comparison.

    Returns
    -------
    rows : list of dict
        One row per method with the numbers printed.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from . import MMVAE, MVAE, MoPoE, MultiView, make_shared_private

    out = sys.stdout if out is None else out

    X, y, _ = make_shared_private(
        n_samples=n_samples, n_views=3, n_features=20, random_state=random_state
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=random_state)
    # hide view 2 of the test samples, keep the truth to score the imputation
    truth = X_test.views[2].copy()
    hidden = MultiView([X_test.views[0], X_test.views[1], np.full_like(truth, np.nan)])
    print(
        f"skmmvae quickstart: {len(X_train)} training / {len(X_test)} test samples, "
        f"3 views x 20 features, 4 shared classes (chance 0.25)\n",
        file=out,
    )
    header = f"{'method':<8}{'z->class':>10}{'test ELBO':>12}{'impute R2':>11}{'fit s':>8}"
    print(header, file=out)
    print("-" * len(header), file=out)
    rows = []
    for cls in (MVAE, MMVAE, MoPoE):
        est = cls(n_latent=8, max_epochs=max_epochs, batch_size=128, random_state=random_state)
        start = time.perf_counter()
        est.fit(X_train)
        seconds = time.perf_counter() - start
        probe = LogisticRegression(max_iter=1000).fit(est.transform(X_train), y_train)
        accuracy = probe.score(est.transform(X_test), y_test)
        imputed = est.impute(hidden).views[2]
        r2 = 1 - ((imputed - truth) ** 2).sum() / ((truth - truth.mean(0)) ** 2).sum()
        row = {
            "method": cls.__name__,
            "accuracy": accuracy,
            "elbo": est.score(X_test),
            "impute_r2": r2,
            "seconds": seconds,
        }
        rows.append(row)
        print(
            f"{row['method']:<8}{accuracy:>10.3f}{row['elbo']:>12.1f}{r2:>11.3f}{seconds:>8.1f}",
            file=out,
        )
    print(
        "\nz->class: logistic-regression accuracy of the shared latent on held-out samples."
        "\nimpute R2: view 2 of the test samples hidden, imputed from views 0 and 1.",
        file=out,
    )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skmmvae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    qs = sub.add_parser("quickstart", help="train MVAE, MMVAE and MoPoE on synthetic views")
    qs.add_argument("--n-samples", type=int, default=3000)
    qs.add_argument("--max-epochs", type=int, default=30)
    qs.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "quickstart":
        quickstart(args.n_samples, args.max_epochs, args.random_state)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
