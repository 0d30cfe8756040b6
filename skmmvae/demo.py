"""``skmmvae demo``: IDMVAE next to MMVAE+ on the embedded mini PolyMNIST-Quadrant.

Three views (by default) of 32 x 32 RGB images of real MNIST digits share the digit
(the shared factor) and each has its own quadrant (the private factor). The demo
trains per-view evaluation CNNs on the real images, trains IDMVAE and MMVAE+ with a
progress bar, prints the IDMVAE paper's Table 1 columns (what z and w encode) and
Table 2 columns (coherence of generations) with a verdict against :data:`CRITERIA`,
and writes PNGs: cross-generation grids (z of one sample with w of another),
unconditional samples, and a 2-D map of the latents.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from skorch.callbacks import Callback

__all__ = ["ProgressBar", "run_demo"]


class ProgressBar(Callback):
    """A one-line text progress bar over epochs, with the training loss.

    Parameters
    ----------
    total : int
        Number of epochs of the fit.
    label : str, default=""
        Printed before the bar.
    stream : file-like, default=None
        Where to write (``sys.stderr`` when None).
    width : int, default=30
        Characters of the bar.
    """

    def __init__(self, total, label="", stream=None, width=30):
        self.total = total
        self.label = label
        self.stream = stream
        self.width = width

    def initialize(self):
        self.start_ = time.perf_counter()
        return self

    def on_epoch_end(self, net, **kwargs):
        stream = sys.stderr if self.stream is None else self.stream
        done = len(net.history)
        filled = int(self.width * min(done, self.total) / max(self.total, 1))
        loss = net.history[-1].get("train_loss", float("nan"))
        elapsed = time.perf_counter() - self.start_
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= self.total else ""
        print(
            f"\r{self.label} [{bar}] epoch {done}/{self.total}  loss {loss:9.1f}  "
            f"{elapsed:5.0f} s",
            end=end,
            file=stream,
            flush=True,
        )


# The models' settings, chosen by measurement on 2 CPU cores
# (benchmarks/results/mini_settings.md, benchmarks/results/demo.md): narrow residual
# networks, a Gaussian likelihood of fixed scale 0.3 (the paper's Laplace likelihood
# left the private latents collapsed for the whole budget: its median-seeking
# gradient ignores the minority of digit pixels; sharper scales kept IDMVAE's
# contrastive term on its plateau), batches of 32 (more steps), CrossMI on the
# authors' scale with a low temperature.
MODEL_SETTINGS = {
    "channels": 16,
    "likelihood": "gaussian",
    "likelihood_scale": 0.3,
    "batch_size": 32,
    "lr": 1e-3,
    "lambda1": 80.0,
    "lambda2": 5.0,
    "temperature": 0.2,
}

# What the demo should show of IDMVAE (probes on test tuples): the digit in z and not
# in w, the quadrant in w and not in z.
CRITERIA = (
    ("z->digit", ">=", 0.80),
    ("w->digit", "<=", 0.20),
    ("w->quad", ">=", 0.90),
    ("z->quad", "<=", 0.35),
)


def _models(n_shared, n_private, max_epochs, hidden, arch, device, random_state):
    from .methods import IDMVAE, MMVAEPlus
    from .modalities import Modality

    s = MODEL_SETTINGS
    modality = Modality(
        likelihood=s["likelihood"],
        arch=arch,
        channels=s["channels"],
        scale=s["likelihood_scale"],
    )
    common = {
        "n_shared": n_shared,
        "n_private": n_private,
        "max_epochs": max_epochs,
        "batch_size": s["batch_size"],
        "lr": s["lr"],
        "modalities": modality,
        "hidden_layer_sizes": hidden,
        "device": device,
        "random_state": random_state,
    }
    idmvae = IDMVAE(
        lambda1=s["lambda1"], lambda2=s["lambda2"], temperature=s["temperature"], **common
    )
    return {"IDMVAE": idmvae, "MMVAE+": MMVAEPlus(**common)}


def verdict(row, seconds=None, budget=360.0):
    """One line: whether ``row`` (IDMVAE's numbers) meets :data:`CRITERIA` (and the
    time budget, when ``seconds`` is given)."""
    checks, ok = [], True
    for key, op, bound in CRITERIA:
        good = row[key] >= bound if op == ">=" else row[key] <= bound
        ok &= good
        checks.append(f"{key} {row[key]:.3f} {op} {bound:.2f} {'ok' if good else 'MISSED'}")
    if seconds is not None:
        good = seconds <= budget
        ok &= good
        checks.append(f"time {seconds:.0f} s <= {budget:.0f} s {'ok' if good else 'MISSED'}")
    return ("SUCCESS" if ok else "NOT MET") + ": " + "; ".join(checks)


def _evaluate(est, data, clf_digit, clf_quad, random_state):
    from . import metrics

    X_tr, X_te = data.X_train, data.X_test
    y_tr, y_te, q_tr, q_te = data.y_train, data.y_test, data.q_train, data.q_test
    row = {}
    # Table 1: z from one view's posterior, w_m; linear probes on posterior means
    lc = metrics.latent_classification
    row["z->digit"] = lc(est, X_tr, y_tr, X_te, y_te, latents="shared")["accuracy"]
    row["z->quad"] = lc(est, X_tr, q_tr, X_te, q_te, latents="shared")["accuracy"]
    row["w->quad"] = lc(est, X_tr, q_tr, X_te, q_te, latents="private")["accuracy"]
    row["w->digit"] = lc(est, X_tr, y_tr, X_te, y_te, latents="private")["accuracy"]
    # Table 2: z from the source view (a posterior draw); the digit scored with the
    # target's w drawn from the prior (the papers' protocol), the quadrant with the
    # target's own w (does w keep its quadrant when z comes from another view?)
    coh = metrics.conditional_coherence(
        est, X_te, y_te, None, {"shared": clf_digit}, random_state=random_state
    )
    kept = metrics.conditional_coherence(
        est,
        X_te,
        None,
        q_te,
        {"private": clf_quad},
        w_from="posterior",
        random_state=random_state,
    )
    row["coh digit self"] = coh["shared_self"]
    row["coh digit cross"] = coh["shared_cross"]
    row["coh quad cross"] = kept["private_cross"]
    row["uncond coh"] = metrics.unconditional_coherence(
        est, clf_digit, n_samples=500, random_state=random_state
    )["coherence"]
    return row


def _write_pngs(est, name, data, out_dir, random_state):
    """Cross-generation grid, unconditional samples and a 2-D latent map
    (:mod:`skmmvae.plotting`); the file paths."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    from . import plotting

    slug = name.lower().replace("+", "plus")
    n_views = len(data.X_test.views)
    rng = np.random.RandomState(random_state)
    # cross-generation: the digit (z) of row sample i, the style (w) of column sample j,
    # decoded into view 1; first row and column show the real images
    idx = rng.choice(len(data.y_test), 8, replace=False)
    figures = {}
    ax, _ = plotting.plot_cross_generation(
        est, data.X_test[idx], source=0, target=1 % n_views, n=8, random_state=random_state
    )
    figures["cross_generation"] = ax.figure
    ax, _ = plotting.plot_samples(est, 8, random_state=random_state)
    figures["samples"] = ax.figure
    # 2-D maps: z coloured by digit, w_0 coloured by the quadrant of view 0
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    plotting.plot_latent_map(
        est,
        data.X_test,
        data.y_test,
        ax=axes[0],
        random_state=random_state,
        title=f"{name}: shared z, coloured by digit (PCA)",
    )
    plotting.plot_latent_map(
        est,
        data.X_test,
        data.q_test[:, 0],
        latents="private",
        view=0,
        ax=axes[1],
        random_state=random_state,
        title=f"{name}: private w_0, coloured by quadrant of view 0 (PCA)",
    )
    figures["latent_map"] = fig
    paths = []
    for kind, figure in figures.items():
        paths.append(os.path.join(out_dir, f"{slug}_{kind}.png"))
        figure.savefig(paths[-1], dpi=120, bbox_inches="tight")
        plt.close(figure)
    return paths


def run_demo(
    out_dir="skmmvae-demo",
    *,
    n_train=3000,
    n_test=500,
    n_views=3,
    max_epochs=12,
    n_shared=16,
    n_private=16,
    hidden_layer_sizes=(128,),
    arch="resnet",
    classifier_epochs=10,
    device="auto",
    random_state=0,
    stream=None,
    progress=True,
):
    """Train IDMVAE and MMVAE+ on the mini PolyMNIST-Quadrant and report (``skmmvae demo``).

    Parameters
    ----------
    out_dir : str, default="skmmvae-demo"
        Folder for the PNGs and ``results.md`` (created if needed).
    n_train, n_test, n_views : int
        Sizes of the mini data set (:func:`~skmmvae.datasets.make_polymnist_quadrant_mini`,
        real MNIST digits).
    max_epochs : int, default=12
        Training epochs of each model.
    hidden_layer_sizes : tuple of int, default=(128,)
        Width of the dense layers of the networks (for ``arch="mlp"``, the hidden
        layers).
    arch : {"resnet", "mlp", "conv"}, default="resnet"
        Networks of the models: residual GroupNorm networks with a translation-invariant
        shared tower (see :mod:`skmmvae.networks`), MLPs on the flattened images, or
        plain strided convolutions. Other settings: :data:`MODEL_SETTINGS`.
    n_shared, n_private : int, default=16
        Latent sizes.
    classifier_epochs : int, default=10
        Epochs of the per-view evaluation CNNs (digit and quadrant).
    device : str, default="auto"
        Torch device of the models and the evaluation CNNs ("auto": CUDA when there
        is one).
    random_state : int, default=0
        Seeds the data, the models, the probes and the generations.
    stream : file-like, default=None
        Where the report goes (``sys.stdout`` when None).
    progress : bool, default=True
        Show a progress bar per model (on ``sys.stderr``).

    Returns
    -------
    rows : dict
        Method name -> dict of the printed numbers (and ``fit s``).
    """
    import torch

    from . import metrics
    from .datasets import make_polymnist_quadrant_mini

    if arch not in ("resnet", "mlp", "conv"):
        raise ValueError(f"arch must be 'resnet', 'mlp' or 'conv', got {arch!r}.")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    out = sys.stdout if stream is None else stream
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    data = make_polymnist_quadrant_mini(n_train, n_test, n_views, random_state=random_state)
    n_views = len(data.X_train.views)
    print(
        f"skmmvae demo: mini PolyMNIST-Quadrant, {n_train} training / {n_test} test tuples of "
        f"{n_views} views (3 x 32 x 32); shared factor = digit (10 classes), private factor "
        "= quadrant of each view (4 classes).",
        file=out,
    )
    print(f"training the per-view evaluation CNNs ({classifier_epochs} epochs) ...", file=out)
    clf_args = {"max_epochs": classifier_epochs, "random_state": random_state, "device": device}
    clf_digit = metrics.train_view_classifiers(data.X_train, data.y_train, **clf_args)
    clf_quad = metrics.train_view_classifiers(data.X_train, data.q_train, **clf_args)
    acc_d = np.mean([c.score(v, data.y_test) for c, v in zip(clf_digit, data.X_test.views)])
    acc_q = np.mean(
        [
            c.score(v, data.q_test[:, m])
            for m, (c, v) in enumerate(zip(clf_quad, data.X_test.views))
        ]
    )
    print(f"  test accuracy on real images: digit {acc_d:.3f}, quadrant {acc_q:.3f}", file=out)

    rows, pngs = {}, []
    for name, est in _models(
        n_shared, n_private, max_epochs, tuple(hidden_layer_sizes), arch, device, random_state
    ).items():
        if progress:
            est.set_params(callbacks=[("progress", ProgressBar(max_epochs, f"{name:<7}"))])
        t0 = time.perf_counter()
        est.fit(data.X_train)
        seconds = time.perf_counter() - t0
        est.set_params(callbacks=None)
        rows[name] = {**_evaluate(est, data, clf_digit, clf_quad, random_state), "fit s": seconds}
        pngs += _write_pngs(est, name, data, out_dir, random_state)

    columns = list(next(iter(rows.values())))
    header = "| method | " + " | ".join(columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]
    for name, row in rows.items():
        cells = " | ".join(f"{row[c]:.1f}" if c == "fit s" else f"{row[c]:.3f}" for c in columns)
        lines.append(f"| {name} | {cells} |")
    legend = (
        "z->digit, z->quad: linear probe of z encoded from one view (mean over views); "
        "w->quad, w->digit: probe of that view's w. Good: z->digit and w->quad high, "
        "z->quad near 0.25 and w->digit near 0.10 (chance).\n"
        "coh: the generated image classified by the evaluation CNN of the target view; "
        "digit self/cross: z from the same/another view, the target's w from the prior "
        "(chance 0.10); quad cross: z from another view, the target's own w, its quadrant "
        "kept (chance 0.25); uncond: unconditional samples whose views all show the same "
        "digit (chance 0.01 for 3 views; near 1 when the samples are one blank image, "
        "which every classifier labels alike). The coherence columns are only as good as "
        "the evaluation CNNs (their test accuracy is printed above)."
    )
    table = "\n".join(lines)
    if pngs:
        written = "wrote " + ", ".join(pngs)
    else:
        written = "(no PNGs: pip install matplotlib, or skmmvae[demo])"
    total = time.perf_counter() - start
    summary = f"IDMVAE {verdict(rows['IDMVAE'], total)}"
    report = f"{table}\n\n{legend}\n\n{summary}\ntotal {total:.0f} s"
    print("\n" + report + "\n\n" + written, file=out)
    with open(os.path.join(out_dir, "results.md"), "w") as fh:
        fh.write(report + "\n")
    return rows
