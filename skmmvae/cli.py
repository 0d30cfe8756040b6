"""The ``skmmvae`` command.

``skmmvae quickstart`` trains MVAE, MMVAE and MoPoE on a synthetic three-view data
set with a known shared class, and prints what each model learned: how well the
shared latent predicts the class, the held-out ELBO, and how well each method
imputes a missing view.

``skmmvae demo`` trains IDMVAE and MMVAE+ on the embedded mini PolyMNIST-Quadrant
and reports the IDMVAE paper's table columns, with PNGs (:mod:`skmmvae.demo`).

``skmmvae fit`` trains any method on the user's views (one CSV / TSV / NPY / Parquet
file per view, optionally aligned on a sample-id column, absent samples becoming
missing views) and writes the latents as CSV.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time

import numpy as np

from . import methods as _methods
from .views import check_views

__all__ = ["coverage_report", "epochs_rule", "fit_views", "main", "quickstart", "read_view_files"]


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


def _method_name(text):
    """``--method``: a registered name in any case, returned as registered."""
    try:
        return _methods.get(text).__name__
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def method_names():
    """The methods ``skmmvae fit --method`` accepts: the registry's, in its order."""
    return tuple(_methods.__all__)


def _read_one(path, id_column):
    """One view file as a float DataFrame (rows = samples)."""
    import pandas as pd

    suffix = path.lower().rsplit(".", 1)[-1] if "." in path else ""
    if not os.path.exists(path):
        raise FileNotFoundError(f"View file not found: {path}")
    if suffix == "npy":
        if id_column is not None:
            raise ValueError(f"{path}: .npy files have no columns; drop --id-column.")
        array = np.load(path, allow_pickle=False)
        if array.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D array, got shape {array.shape}.")
        return pd.DataFrame(array)
    if suffix in ("csv", "tsv", "txt"):
        frame = pd.read_csv(path, sep="\t" if suffix == "tsv" else ",")
    elif suffix in ("parquet", "pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as err:
            raise ImportError(
                f"Reading {path} needs a Parquet engine: pip install pyarrow."
            ) from err
    else:
        raise ValueError(
            f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .npy or .parquet."
        )
    if id_column is not None:
        if id_column not in frame.columns:
            raise ValueError(
                f"{path}: no column {id_column!r} (columns: {list(frame.columns)[:5]}...)."
            )
        if frame[id_column].duplicated().any():
            raise ValueError(f"{path}: duplicated sample ids in column {id_column!r}.")
        frame = frame.set_index(id_column)
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise ValueError(
            f"{path}: non-numeric column(s) {bad[:5]}; pass the sample-id column with "
            "--id-column or drop them."
        )
    return frame.astype(float)


def read_view_files(paths, id_column=None, return_columns=False):
    """Read one file per view into a :class:`~skmmvae.MultiView`.

    Parameters
    ----------
    paths : list of str
        ``.csv`` / ``.tsv`` (header row), ``.npy`` (2-D array) or ``.parquet`` files,
        one per view.
    id_column : str, default=None
        Column holding sample ids. The views are then aligned on it (outer join,
        sorted ids); a sample absent from a file has that view missing. Without it
        every file must have the same rows in the same order.
    return_columns : bool, default=False
        Also return each view's column names.

    Returns
    -------
    X : MultiView
    sample_ids : ndarray
        The ids (or ``0..n-1``).
    columns : list of list
        Each view's column names (only with ``return_columns``).
    """
    from .views import MultiView

    frames = [_read_one(p, id_column) for p in paths]
    if id_column is None:
        lengths = {len(f) for f in frames}
        if len(lengths) > 1:
            raise ValueError(
                f"The view files have different numbers of rows {[len(f) for f in frames]}; "
                "give the sample-id column with --id-column to align them."
            )
        X, ids = MultiView([f.to_numpy() for f in frames]), np.arange(len(frames[0]))
        return (X, ids, [list(f.columns) for f in frames]) if return_columns else (X, ids)
    ids = frames[0].index
    for f in frames[1:]:
        ids = ids.union(f.index)
    ids = ids.sort_values()
    present = np.column_stack([ids.isin(f.index) for f in frames])  # (n, M)
    if len(frames) > 1:
        # every view must share samples with another view, or nothing links it
        shared = present & (present.sum(1, keepdims=True) >= 2)
        alone = [p for p, ok in zip(paths, shared.any(0)) if not ok]
        if alone:
            counts = ", ".join(f"{p}: {len(f)}" for p, f in zip(paths, frames))
            examples = [str(f.index[0]) for f in frames if len(f)][:3]
            raise ValueError(
                f"The view file(s) {alone} share no sample ids in column {id_column!r} with "
                f"the other files ({counts} ids, e.g. {examples}): no sample has that view "
                "and another, so nothing links it to the others. Check that the files use "
                "the same ids (same column, same spelling)."
            )
    X = MultiView([f.reindex(ids).to_numpy() for f in frames])
    if return_columns:
        return X, ids.to_numpy(), [list(f.columns) for f in frames]
    return X, ids.to_numpy()


def coverage_report(X, paths):
    """Lines saying how many samples each view file contributes and how many samples
    lack it."""
    mask = check_views(X)[1]
    n = len(mask)
    lines = [f"{n} samples; {int(mask.all(1).sum())} have every view"]
    for m, path in enumerate(paths):
        have = int(mask[:, m].sum())
        lines.append(
            f"  view {m} ({os.path.basename(path)}): {have} samples, {X.views[m].shape[1]} "
            f"features, missing in {n - have}"
        )
    return lines


def _parse_params(items):
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}.")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


EARLY_STOPPING_ROWS = 50  # from this many samples on, the epochs are chosen by early stopping


def epochs_rule(n_samples, params):
    """Parameters that choose the number of epochs when the user did not: early
    stopping on held-out samples (at most 300 epochs) from 50 samples on, else 100
    epochs. Returns the parameters to add and a sentence saying what was chosen."""
    if "max_epochs" in params or "early_stopping" in params:
        return {}, None
    if n_samples >= EARLY_STOPPING_ROWS:
        share = params.get("validation_fraction", 0.1)
        patience = params.get("n_iter_no_change", 10)
        return (
            {"early_stopping": True, "max_epochs": 300},
            f"epochs: early stopping on {share:.0%} held-out samples (patience {patience}, "
            "at most 300); set --max-epochs to fix them",
        )
    return {"max_epochs": 100}, f"epochs: 100 (fewer than {EARLY_STOPPING_ROWS} samples)"


def fit_views(
    paths,
    method="IDMVAE",
    out="latents.csv",
    params=None,
    id_column=None,
    latents=None,
    model_out=None,
    stream=None,
    imputed_dir=None,
    model_card=None,
):
    """Train ``method`` on view files and write the latents as CSV (``skmmvae fit``).

    Parameters
    ----------
    paths : list of str
        One file per view (see :func:`read_view_files`).
    method : str, default="IDMVAE"
        A registered method name (any case).
    out : str, default="latents.csv"
        Where the latents go (one row per sample id).
    params : dict, default=None
        Estimator parameters. Without ``max_epochs`` or ``early_stopping`` the epochs
        follow :func:`epochs_rule`.
    id_column : str, default=None
        The sample-id column the views are aligned on.
    latents : str, default=None
        Which latent blocks to write (the estimator's ``latents``).
    model_out : str, default=None
        Also save the fitted model with joblib.
    stream : file, default=sys.stdout
        Where the report goes.
    imputed_dir : str, default=None
        Also write every view with its missing samples imputed, one CSV per view
        (``<view file name>.imputed.csv``) in this folder.
    model_card : str, default=None
        Also write a Markdown model card: method, parameters, data, final loss parts.

    Returns
    -------
    estimator : the fitted estimator
    """
    import pandas as pd

    stream = sys.stdout if stream is None else stream
    X, ids, columns = read_view_files(paths, id_column, return_columns=True)
    params = dict(params or {})
    extra, rule = epochs_rule(len(X), params)
    est = _methods.get(method)(**{**params, **extra})
    if latents is not None:
        est.set_params(latents=latents)
    print(f"skmmvae fit: {type(est).__name__}", file=stream)
    report = coverage_report(X, paths)
    for line in report:
        print(line, file=stream)
    if rule:
        print(rule, file=stream)
    start = time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - start
    print(f"trained {len(est.history_)} epochs in {seconds:.1f} s", file=stream)
    Z = est.transform(X)
    index = pd.Index(ids, name="sample")
    pd.DataFrame(Z, columns=est.get_feature_names_out(), index=index).to_csv(out)
    print(f"wrote {Z.shape[1]} latent columns for {len(Z)} samples to {out}", file=stream)
    if imputed_dir is not None:
        os.makedirs(imputed_dir, exist_ok=True)
        stems = [os.path.splitext(os.path.basename(path))[0] for path in paths]
        missing = (~check_views(X)[1]).sum(0)
        for m, view in enumerate(est.impute(X).views):
            stem = stems[m] if stems.count(stems[m]) == 1 else f"view{m}_{stems[m]}"
            name = stem + ".imputed.csv"
            target = os.path.join(imputed_dir, name)
            pd.DataFrame(view, index=index, columns=columns[m]).to_csv(target)
            print(f"wrote view {m} with {missing[m]} imputed samples to {target}", file=stream)
    if model_card is not None:
        with open(model_card, "w") as fh:
            fh.write(_model_card(est, paths, report, seconds))
        print(f"wrote the model card to {model_card}", file=stream)
    if model_out is not None:
        import joblib

        joblib.dump(est, model_out)
        print(f"saved the fitted model to {model_out}", file=stream)
    return est


def _model_card(est, paths, report, seconds):
    """A Markdown model card: method, version, data, parameters, final loss parts."""
    from skorch.callbacks import EarlyStopping

    from . import __version__

    history = est.history_
    stoppers = [cb for _, cb in est.net_.callbacks_ if isinstance(cb, EarlyStopping)]
    restored = bool(stoppers) and stoppers[0].load_best
    # the epoch whose weights EarlyStopping restored (its own count of improvements)
    restored = restored and stoppers[0].best_epoch_ >= 1
    epoch = stoppers[0].best_epoch_ - 1 if restored else len(history) - 1
    parts = {k: v for k, v in history[epoch].items() if k.startswith(("train_", "valid_"))}
    note = "; the best validation loss, whose weights early stopping restored" if restored else ""
    parts = {k: v for k, v in parts.items() if not k.endswith(("_best", "_count"))}
    defaults = type(est)().get_params(deep=False)
    changed = {k: v for k, v in est.get_params(deep=False).items() if repr(v) != repr(defaults[k])}
    lines = [
        f"# Model card: {type(est).__name__}",
        "",
        f"- skmmvae {__version__}, trained {len(est.history_)} epochs in {seconds:.1f} s on "
        f"{est.device_}",
        f"- views: {', '.join(paths)}",
        "",
        "## Data",
        "",
        *[f"- {line.strip()}" for line in report],
        "",
        "## Parameters (other than the defaults)",
        "",
        *[f"- `{k}` = `{v!r}`" for k, v in sorted(changed.items())],
        "",
        f"## Loss parts of epoch {epoch + 1} (per sample{note})",
        "",
        "| part | value |",
        "|---|---:|",
        *[f"| {k} | {v:.4g} |" for k, v in sorted(parts.items())],
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skmmvae",
        description="Multimodal variational autoencoders with the scikit-learn API: learn "
        "shared and view-specific latents from several views of the same samples, impute "
        "missing views, generate.",
        epilog="Run 'skmmvae COMMAND --help' for a command's options. Methods: "
        f"{', '.join(method_names())}.",
    )
    parser.add_argument("--version", action="version", version=f"skmmvae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    qs = sub.add_parser("quickstart", help="train MVAE, MMVAE and MoPoE on synthetic views")
    qs.add_argument("--n-samples", type=int, default=3000)
    qs.add_argument("--max-epochs", type=int, default=30)
    qs.add_argument("--random-state", type=int, default=0)
    fit = sub.add_parser(
        "fit",
        help="train a method on your view files and write the latents as CSV",
        description="Train a method on one file per view (.csv/.tsv with a header row, "
        ".npy, .parquet) and write its latents (columns named as get_feature_names_out) "
        "to a CSV file.",
    )
    fit.add_argument("views", nargs="+", help="one file per view")
    fit.add_argument(
        "--method",
        default="IDMVAE",
        type=_method_name,
        help=f"one of {', '.join(method_names())} (any case)",
    )
    fit.add_argument("--out", default="latents.csv", help="output CSV (default latents.csv)")
    fit.add_argument("--id-column", default=None, help="sample-id column to align the views on")
    fit.add_argument("--latents", default=None, choices=["all", "shared", "private", "per_view"])
    fit.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="epochs (default: early stopping on 10%% held-out samples, at most 300; "
        "100 epochs below 50 samples)",
    )
    fit.add_argument("--random-state", type=int, default=0)
    fit.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="any estimator parameter, e.g. --param lambda1=80 --param n_shared=8",
    )
    fit.add_argument("--save-model", default=None, help="also joblib-dump the fitted model")
    fit.add_argument(
        "--imputed-dir",
        default=None,
        help="also write every view with its missing samples imputed (CSV per view)",
    )
    fit.add_argument(
        "--model-card", default=None, help="also write a Markdown model card to this file"
    )
    fit.add_argument("--quiet", action="store_true", help="no per-epoch progress table")
    demo = sub.add_parser(
        "demo",
        help="IDMVAE vs MMVAE+ on the embedded mini PolyMNIST-Quadrant, with PNGs",
        description="Train IDMVAE and MMVAE+ on the embedded mini PolyMNIST-Quadrant, "
        "print the latent-classification and coherence table, and write generation grids "
        "and a latent map as PNGs.",
    )
    demo.add_argument("--out", default="skmmvae-demo", help="output folder (skmmvae-demo)")
    # defaults: those of skmmvae.demo.run_demo (None = not given)
    demo.add_argument("--n-train", type=int, default=None, help="training tuples (3000)")
    demo.add_argument("--n-test", type=int, default=None, help="test tuples (500)")
    demo.add_argument("--n-views", type=int, default=None, help="views (3)")
    demo.add_argument("--max-epochs", type=int, default=None, help="epochs per model (12)")
    demo.add_argument(
        "--classifier-epochs", type=int, default=None, help="epochs of the evaluation CNNs (10)"
    )
    demo.add_argument(
        "--arch",
        choices=["resnet", "mlp", "conv"],
        default=None,
        help="networks of the models (resnet)",
    )
    demo.add_argument(
        "--hidden", type=int, nargs="+", default=None, help="dense layer sizes (128)"
    )
    demo.add_argument("--device", default="auto", help="torch device (auto: CUDA if present)")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        given = {
            "n_train": args.n_train,
            "n_test": args.n_test,
            "n_views": args.n_views,
            "max_epochs": args.max_epochs,
            "classifier_epochs": args.classifier_epochs,
            "arch": args.arch,
            "hidden_layer_sizes": None if args.hidden is None else tuple(args.hidden),
        }
        run_demo(
            args.out,
            device=args.device,
            random_state=args.random_state,
            progress=not args.no_progress,
            **{k: v for k, v in given.items() if v is not None},
        )
    if args.command == "quickstart":
        quickstart(args.n_samples, args.max_epochs, args.random_state)
    elif args.command == "fit":
        try:
            params = _parse_params(args.param)
            params.setdefault("random_state", args.random_state)
            params.setdefault("verbose", 0 if args.quiet else 1)
            if args.max_epochs is not None:
                params.setdefault("max_epochs", args.max_epochs)
            fit_views(
                args.views,
                args.method,
                args.out,
                params,
                args.id_column,
                args.latents,
                args.save_model,
                imputed_dir=args.imputed_dir,
                model_card=args.model_card,
            )
        except (ValueError, FileNotFoundError, ImportError, TypeError) as err:
            print(f"skmmvae fit: error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
