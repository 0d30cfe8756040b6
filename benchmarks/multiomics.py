"""Multi-omics mortality table: how well z, w and z + w predict 1-year mortality.

The analogue of the IDMVAE paper's Tables 4 and 7 (TCGA). Data: ``make_multiomics``
(simulated, TCGA-shaped: 3 views of principal-component features, missing views,
censored samples unlabelled) and, with ``--tcga PATH``, the processed TCGA files read
by ``load_tcga(PATH)``.

Protocol, for each split seed: the labelled samples (``y != -1``) are split
train/test, stratified on ``y``. Every model is fitted, without labels, on the
labelled training samples plus all unlabelled samples (self-supervised); the test
samples are never seen in training. A logistic-regression probe
(``skmmvae.metrics.latent_classification`` with ``per_view=False``) is fitted on the
posterior means of the labelled training samples and scored on the test samples:

* z: the shared latent (``latents="shared"``), every model;
* w: the private latents of all views, concatenated (``latents="private"``),
  models with private latents only;
* z + w: both (``latents="all"``), models with private latents only.

Baseline: the same probe on the raw views (missing views imputed with the training
mean of each feature, then standardised). Accuracy and AUROC, mean +- std over the
splits.

    python benchmarks/multiomics.py --out benchmarks/results/multiomics.md
    python benchmarks/multiomics.py --tcga ~/data/tcga_brca --out multiomics_tcga.md

Torch and BLAS run on ``--threads`` threads (default 1: on a busy 2-core machine two
torch threads made these small networks tens of times slower).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

import numpy as np
import torch
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402

from skmmvae import DMVAE, IDMVAE, MMVM, MVAE, MMVAEPlus, MoPoE  # noqa: E402
from skmmvae.datasets import load_tcga, make_multiomics  # noqa: E402
from skmmvae.metrics import latent_classification  # noqa: E402

# Latent sizes follow the paper's TCGA preset (z 16, w 32 per view) for every model.
N_SHARED, N_PRIVATE = IDMVAE.PRESETS["tcga"]["n_shared"], IDMVAE.PRESETS["tcga"]["n_private"]

MODELS = {
    "IDMVAE": lambda: IDMVAE.from_preset("tcga"),
    "MMVAEPlus": lambda: MMVAEPlus(n_shared=N_SHARED, n_private=N_PRIVATE),
    "DMVAE": lambda: DMVAE(n_shared=N_SHARED, n_private=N_PRIVATE),
    "MoPoE": lambda: MoPoE(n_latent=N_SHARED),
    "MVAE": lambda: MVAE(n_latent=N_SHARED),
    "MMVM": lambda: MMVM(n_latent=N_SHARED),
}
REPRESENTATIONS = (("z", "shared"), ("w", "private"), ("z + w", "all"))
BASELINE = "Raw views (mean-imputed, standardised)"
ORACLE = "Oracle: true risk factor (simulation only)"


def splits(y, seed, test_size):
    """Indices (model training, probe training, test) of one stratified split."""
    labelled = np.flatnonzero(y != -1)
    train, test = train_test_split(
        labelled, test_size=test_size, stratify=y[labelled], random_state=seed
    )
    fit_rows = np.sort(np.concatenate([train, np.flatnonzero(y == -1)]))
    return fit_rows, np.sort(train), np.sort(test)


def baseline(raw, y, train, test):
    """Accuracy and AUROC of the probe on a feature table (NaN: mean-imputed)."""
    probe = make_pipeline(
        SimpleImputer(strategy="mean"), StandardScaler(), LogisticRegression(max_iter=1000)
    )
    probe.fit(raw[train], y[train])
    proba = probe.predict_proba(raw[test])[:, 1]
    return accuracy_score(y[test], probe.predict(raw[test])), roc_auc_score(y[test], proba)


def run_dataset(X, y, args, label, risk=None):
    """All models and the baseline on one data set: ``{(model, rep): [(acc, auc), ...]}``,
    the mean fit seconds per model and the failures."""
    results, seconds, failures = {}, {}, []
    raw = np.hstack([np.asarray(v, dtype=np.float64).reshape(len(y), -1) for v in X.views])
    for seed in args.seeds:
        fit_rows, train, test = splits(y, seed, args.test_size)
        y_fit = y[fit_rows]  # -1 for the unlabelled rows: latent_classification drops them
        if risk is not None:
            oracle = baseline(risk[:, None], y, train, test)
            results.setdefault((ORACLE, "risk"), []).append(oracle)
        results.setdefault((BASELINE, "raw"), []).append(baseline(raw, y, train, test))
        for name in args.models:
            est = MODELS[name]()
            est.set_params(
                max_epochs=args.max_epochs,
                batch_size=args.batch_size,
                hidden_layer_sizes=tuple(args.hidden),
                random_state=seed,
            )
            start = time.perf_counter()
            try:
                est.fit(X[fit_rows])
            except Exception as exc:  # a failing model is reported, not fatal
                failures.append(f"{label}, {name}, seed {seed}: {type(exc).__name__}: {exc}")
                print(f"  FAILED {name} seed {seed}: {exc}", flush=True)
                continue
            seconds.setdefault(name, []).append(time.perf_counter() - start)
            for rep, block in REPRESENTATIONS:
                if block != "shared" and not est.has_private_latents:
                    continue
                out = latent_classification(
                    est, X[fit_rows], y_fit, X[test], y[test], latents=block, per_view=False
                )
                results.setdefault((name, rep), []).append((out["accuracy"], out["auroc"]))
            cells = ", ".join(
                f"{rep} {results[(name, rep)][-1][0]:.3f}/{results[(name, rep)][-1][1]:.3f}"
                for rep, _ in REPRESENTATIONS
                if (name, rep) in results and len(results[(name, rep)]) > 0
            )
            print(
                f"  [{label}] seed {seed} {name}: {cells} ({seconds[name][-1]:.1f} s fit)",
                flush=True,
            )
        base = results[(BASELINE, "raw")][-1]
        print(f"  [{label}] seed {seed} baseline: {base[0]:.3f}/{base[1]:.3f}", flush=True)
    return results, {k: float(np.mean(v)) for k, v in seconds.items()}, failures


def table(results, seconds, n_seeds):
    lines = [
        "| model | representation | accuracy | AUROC | splits | fit s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (name, rep), values in results.items():
        values = np.asarray(values, dtype=np.float64)
        mean, std = np.nanmean(values, 0), np.nanstd(values, 0)
        sec = f"{seconds[name]:.1f}" if name in seconds else "-"
        runs = f"{len(values)}/{n_seeds}"
        lines.append(
            f"| {name} | {rep} | {mean[0]:.3f} +- {std[0]:.3f} | {mean[1]:.3f} +- {std[1]:.3f} "
            f"| {runs} | {sec} |"
        )
    return lines


def describe(y, test_size):
    n_lab = int((y != -1).sum())
    pos = float((y[y != -1] == 1).mean())
    return (
        f"{len(y)} samples, {n_lab} labelled ({pos:.1%} died within a year; majority-class "
        f"accuracy {max(pos, 1 - pos):.3f}), {len(y) - n_lab} unlabelled; test share "
        f"{test_size} of the labelled samples"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--n-samples", type=int, default=600)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--n-views", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--test-size", type=float, default=0.3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--tcga", default=None, help="directory of processed TCGA files")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and BLAS threads (1: fastest when busy)"
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    threadpool_limits(limits=args.threads)
    command = shlex.join(
        ["python", "benchmarks/multiomics.py", *(sys.argv[1:] if argv is None else argv)]
    )

    total = time.perf_counter()
    data = make_multiomics(
        n_samples=args.n_samples,
        n_views=args.n_views,
        n_features=args.n_features,
        random_state=args.data_seed,
    )
    datasets = [
        (
            "Simulated (make_multiomics)",
            data.X,
            data.y,
            f"`make_multiomics(n_samples={args.n_samples}, n_views={args.n_views}, "
            f"n_features={args.n_features}, random_state={args.data_seed})` (defaults "
            "otherwise: 20% missing views, 20% censored, risk_strength 1.5): "
            + describe(data.y, args.test_size),
            data.risk,
        )
    ]
    tcga_note = "not run (no `--tcga PATH` given)."
    if args.tcga is not None:
        if os.path.isdir(os.path.expanduser(args.tcga)):
            tcga = load_tcga(args.tcga)
            datasets.append(
                (
                    "TCGA (load_tcga)",
                    tcga.X,
                    tcga.y,
                    f"`load_tcga({args.tcga!r})`, views {tcga.view_names}: "
                    + describe(tcga.y, args.test_size),
                    None,
                )
            )
            tcga_note = "see its section below."
        else:
            tcga_note = f"not run: `--tcga {args.tcga}` does not exist."
            print(f"TCGA directory {args.tcga!r} not found; skipped.", flush=True)

    sections, all_failures = [], []
    for label, X, y, desc, risk in datasets:
        print(f"{label}: {desc}", flush=True)
        results, seconds, failures = run_dataset(X, y, args, label, risk)
        all_failures += failures
        sections += [
            "",
            f"## {label}",
            "",
            desc + ".",
            "",
            *table(results, seconds, len(args.seeds)),
        ]
    runtime = time.perf_counter() - total

    lines = [
        "# Multi-omics: 1-year mortality from z, w and z + w",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Splits: seeds {args.seeds} (stratified train/test of the labelled samples, test "
        f"share {args.test_size}; model seed = split seed). Models are fitted without labels "
        "on the labelled training samples plus all unlabelled samples; test samples are "
        "never seen in training. Models: "
        f"{', '.join(args.models)}; z {N_SHARED} dims, w {N_PRIVATE} dims per view (IDMVAE's "
        f"`from_preset('tcga')`: lambda1 10, lambda2 0.001), MLP {tuple(args.hidden)}, batch "
        f"{args.batch_size}, {args.max_epochs} epochs, Adam lr 1e-3, each method's other "
        "defaults. Probe: `latent_classification(..., per_view=False)` (LogisticRegression, "
        "max_iter 1000, on posterior means); w is all views' private latents concatenated. "
        "Baseline: the same probe on the concatenated raw views, missing views imputed with "
        "the training mean, standardised. Oracle (simulation): the same probe on the true "
        "risk factor that drives the hazard, an upper reference for any representation. "
        "Mean +- std over the splits. TCGA: " + tcga_note,
        "",
        machine() + ", "
        f"{args.threads} torch/BLAS thread(s) (other jobs shared the machine). "
        f"Total runtime {runtime / 60:.1f} min.",
        *sections,
    ]
    if all_failures:
        lines += ["", "Failures:", ""] + [f"- {f}" for f in all_failures]
    text = "\n".join(lines) + "\n"
    emit(text, args.out)


if __name__ == "__main__":
    main()
