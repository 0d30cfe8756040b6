"""Training throughput of each method next to a hand-written PyTorch loop (the floor).

Task (issue 2): 3 views of a table, n = 20 000, 100 features per view, MLP encoders
and decoders with two hidden layers of 256, latent 16, batch 256, Adam. For every
method the floor is a minimal PyTorch program written out here by hand: the same
networks (plain ``nn.Sequential``), the same objective written directly for complete
data, index slicing of in-memory tensors, ``zero_grad / backward / step``, nothing
else. The library runs through its estimator (``fit``), i.e. sklearn validation,
the skorch net, callbacks, history and loss-part logging included.

Epoch times are medians over ``--epochs`` epochs after one warm-up epoch; library and
floor runs alternate ``--repeats`` times so both see the same machine load.

    python benchmarks/throughput.py --out benchmarks/results/throughput.md
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit  # noqa: E402

from skmmvae import MMVAE, MVAE, MoPoE, make_shared_private  # noqa: E402

LOG_2PI = math.log(2 * math.pi)


def mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class FloorModel(nn.Module):
    """Encoders, decoders and learned per-feature log-scales, written out by hand."""

    def __init__(self, widths, latent, hidden):
        super().__init__()
        self.enc = nn.ModuleList(mlp([w, *hidden, 2 * latent]) for w in widths)
        self.dec = nn.ModuleList(mlp([latent, *hidden[::-1], w]) for w in widths)
        self.log_s = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in widths)

    def experts(self, xs):
        out = [e(x).chunk(2, -1) for e, x in zip(self.enc, xs)]
        return [m for m, _ in out], [lv.clamp(-12, 8) for _, lv in out]

    def loglik(self, m, x, z):
        s = self.log_s[m]
        return (-0.5 * LOG_2PI - s - 0.5 * ((x - self.dec[m](z)) / s.exp()) ** 2).sum(-1)


def gauss_kl(mu, lv):
    return 0.5 * (mu**2 + lv.exp() - 1 - lv).sum(-1)


def poe(mus, lvs, prior):
    precisions = [torch.exp(-lv) for lv in lvs]
    total = sum(precisions) + (1.0 if prior else 0.0)
    mu = sum(p * m for p, m in zip(precisions, mus)) / total
    return mu, -torch.log(total)


def floor_mvae(model, xs):
    mus, lvs = model.experts(xs)
    mu, lv = poe(mus, lvs, prior=True)
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
    elbo = sum(model.loglik(m, x, z) for m, x in enumerate(xs)) - gauss_kl(mu, lv)
    for m, x in enumerate(xs):
        mu_m, lv_m = poe([mus[m]], [lvs[m]], prior=True)
        z_m = mu_m + torch.exp(0.5 * lv_m) * torch.randn_like(mu_m)
        elbo = elbo + model.loglik(m, x, z_m) - gauss_kl(mu_m, lv_m)
    return -elbo.mean()


def normal_logpdf(z, mu, lv):
    return -0.5 * (LOG_2PI + lv + (z - mu) ** 2 * torch.exp(-lv)).sum(-1)


def floor_mmvae(model, xs):
    mus, lvs = model.experts(xs)
    n_views = len(xs)
    total = 0.0
    for r in range(n_views):
        z = mus[r] + torch.exp(0.5 * lvs[r]) * torch.randn_like(mus[r])
        log_q = torch.logsumexp(
            torch.stack([normal_logpdf(z, mus[j], lvs[j]) for j in range(n_views)]), 0
        ) - math.log(n_views)
        log_p = normal_logpdf(z, torch.zeros_like(z), torch.zeros_like(z))
        rec = sum(model.loglik(d, x, z) for d, x in enumerate(xs))
        total = total + rec + log_p - log_q
    return -(total / n_views).mean()


def floor_mopoe(model, xs):
    mus, lvs = model.experts(xs)
    n_views = len(xs)
    subsets = [c for k in range(1, n_views + 1) for c in itertools.combinations(range(n_views), k)]
    posts = [poe([mus[m] for m in s], [lvs[m] for m in s], prior=False) for s in subsets]
    kl = sum(gauss_kl(mu, lv) for mu, lv in posts) / len(subsets)
    batch = xs[0].shape[0]
    # stratified: contiguous blocks of the (already shuffled) batch per subset
    bounds = np.linspace(0, batch, len(subsets) + 1).astype(int)
    mu = torch.cat([posts[k][0][a:b] for k, (a, b) in enumerate(itertools.pairwise(bounds))])
    lv = torch.cat([posts[k][1][a:b] for k, (a, b) in enumerate(itertools.pairwise(bounds))])
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
    rec = sum(model.loglik(m, x, z) for m, x in enumerate(xs))
    return -(rec - kl).mean()


FLOORS = {"MVAE": floor_mvae, "MMVAE": floor_mmvae, "MoPoE": floor_mopoe}
ESTIMATORS = {"MVAE": MVAE, "MMVAE": MMVAE, "MoPoE": MoPoE}


def run_floor(name, views, args):
    torch.manual_seed(0)
    xs_all = [torch.as_tensor(v, dtype=torch.float32) for v in views]
    model = FloorModel([v.shape[1] for v in views], args.latent, (args.hidden,) * 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = FLOORS[name]
    n = len(views[0])
    times = []
    for _ in range(args.epochs + 1):
        start = time.perf_counter()
        total = 0.0
        for idx in torch.randperm(n).split(args.batch_size):
            loss = loss_fn(model, [x[idx] for x in xs_all])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        times.append(time.perf_counter() - start)
    return times[1:], total / n


def run_library(name, X, args):
    est = ESTIMATORS[name](
        n_latent=args.latent,
        hidden_layer_sizes=(args.hidden,) * 2,
        batch_size=args.batch_size,
        max_epochs=args.epochs + 1,
        lr=1e-3,
        device="cpu",
        random_state=0,
    )
    est.fit(X)
    times = [row["dur"] for row in est.history_][1:]
    return times, est.history_[-1, "train_loss"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(FLOORS))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    X, _, _ = make_shared_private(
        n_samples=args.n_samples, n_views=3, n_features=args.n_features, random_state=0
    )
    # the library standardises gaussian tables internally; give the floor the same data
    std_views = [((v - v.mean(0)) / v.std(0)).astype(np.float32) for v in X.views]
    rows = []
    for name in args.methods:
        lib_times, floor_times = [], []
        for _ in range(args.repeats):
            t, lib_loss = run_library(name, X, args)
            lib_times += t
            t, floor_loss = run_floor(name, std_views, args)
            floor_times += t
        lib, floor = statistics.median(lib_times), statistics.median(floor_times)
        rows.append(
            (name, args.n_samples / lib, args.n_samples / floor, lib / floor, lib_loss, floor_loss)
        )
        print(
            f"{name}: library {args.n_samples / lib:,.0f} samples/s, floor "
            f"{args.n_samples / floor:,.0f} samples/s, ratio {lib / floor:.3f}",
            flush=True,
        )

    lines = [
        "# Training throughput: library vs hand-written PyTorch loop",
        "",
        f"Command: `python benchmarks/throughput.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"Data: `make_shared_private(n_samples={args.n_samples}, n_views=3, "
        f"n_features={args.n_features}, random_state=0)`, complete views. Networks: MLP "
        f"encoders/decoders 2x{args.hidden} (ReLU), latent {args.latent}, batch "
        f"{args.batch_size}, Adam lr 1e-3, gaussian likelihood with learned per-feature "
        f"scale. Seed 0. Median epoch time over {args.repeats} alternating runs x "
        f"{args.epochs} epochs (first epoch of each run discarded).",
        "",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}, "
        f"device cpu.",
        "",
        "| method | library samples/s | floor samples/s | library / floor time | "
        "last-epoch loss (library) | last-epoch loss (floor) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, lib, floor, ratio, ll, fl in rows:
        lines.append(f"| {name} | {lib:,.0f} | {floor:,.0f} | {ratio:.3f} | {ll:.2f} | {fl:.2f} |")
    lines += [
        "",
        "Target: library / floor <= 1.10 for every method. The floor is the same objective",
        "written directly for complete data (see the script); the last-epoch mean losses",
        "(per sample, same data, different initial weights) show that both optimise the",
        "same quantity. The floor's item() per batch mirrors skorch's per-batch loss logging.",
    ]
    text = "\n".join(lines) + "\n"
    emit(text, args.out)


if __name__ == "__main__":
    main()
