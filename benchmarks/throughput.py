"""Training throughput of each method next to a hand-written PyTorch loop (the floor).

Two cases:

* ``--case table`` (issue 2): 3 views of a table, n = 20 000, 100 features per view,
  MLP encoders and decoders with two hidden layers of 256, latents 16 (shared and
  private), batch 256, Adam.
* ``--case conv``: PolyMNIST-size images, 5 views of 3 x 28 x 28 (random pixels in
  [0, 1]: the speed does not depend on the content), the library's default image
  networks for them, latents 16 + 16, batch 128.

For every method the floor is a minimal PyTorch program: the same objective written
out directly for complete data, index slicing of in-memory tensors, ``zero_grad /
backward / step``, nothing else. For MVAE, MMVAE and MoPoE the networks are written
out too (plain ``nn.Sequential``); for the methods with private latents (MMVAE+,
IDMVAE, DMVAE, MMVM) and for the conv case the floor takes the networks of a module the
estimator builds (same architectures and initial weights) and writes everything
around them (``benchmarks/_private_floors.py``). The floors batch what batches (every
source's draws through a view's decoder in one call). The library runs through its
estimator (``fit``), i.e. sklearn validation, the skorch net, callbacks, history and
loss-part logging included.

Epoch times are medians over ``--epochs`` epochs after one warm-up epoch; library and
floor runs alternate ``--repeats`` times so both see the same machine load.
``--compare compile`` or ``--compare precision`` times the library alone in its
variants (eager vs ``torch.compile``; float32 vs bf16, and 16-mixed on a GPU).

    python benchmarks/throughput.py --out benchmarks/results/throughput.md
    python benchmarks/throughput.py --case conv --methods MMVAEPlus IDMVAE DMVAE MMVM \
        --n-samples 2000 --out benchmarks/results/throughput_conv.md
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

import _private_floors as pf  # noqa: E402
from _report import emit, machine  # noqa: E402

from skmmvae import (  # noqa: E402
    DMVAE,
    IDMVAE,
    MMVAE,
    MMVM,
    MVAE,
    MMVAEPlus,
    MoPoE,
    make_shared_private,
)
from skmmvae.modalities import resolve_modalities  # noqa: E402
from skmmvae.training import CHANNELS_LAST, seeded  # noqa: E402


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
        return (-0.5 * pf.LOG_2PI - s - 0.5 * ((x - self.dec[m](z)) / s.exp()) ** 2).sum(-1)


def poe(mus, lvs, prior):
    precisions = [torch.exp(-lv) for lv in lvs]
    total = sum(precisions) + (1.0 if prior else 0.0)
    mu = sum(p * m for p, m in zip(precisions, mus)) / total
    return mu, -torch.log(total)


def floor_mvae(model, xs):
    mus, lvs = model.experts(xs)
    mu, lv = poe(mus, lvs, prior=True)
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
    elbo = sum(model.loglik(m, x, z) for m, x in enumerate(xs)) - pf.kl_standard(mu, lv)
    for m, x in enumerate(xs):
        mu_m, lv_m = poe([mus[m]], [lvs[m]], prior=True)
        z_m = mu_m + torch.exp(0.5 * lv_m) * torch.randn_like(mu_m)
        elbo = elbo + model.loglik(m, x, z_m) - pf.kl_standard(mu_m, lv_m)
    return -elbo.mean()


def floor_mmvae(model, xs):
    mus, lvs = model.experts(xs)
    n_views = len(xs)
    mu, lv = torch.stack(mus), torch.stack(lvs)  # (M, B, D)
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)  # one draw per source
    # the mixture of all experts at every source's draw, (M, B)
    log_q = torch.logsumexp(pf.log_normal(z[:, None], mu[None], lv[None]), 1)
    log_q = log_q - math.log(n_views)
    log_p = pf.log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    rec = sum(model.loglik(d, x, z) for d, x in enumerate(xs))  # all sources per call
    return -(rec + log_p - log_q).mean()


def floor_mopoe(model, xs):
    mus, lvs = model.experts(xs)
    n_views = len(xs)
    subsets = [c for k in range(1, n_views + 1) for c in itertools.combinations(range(n_views), k)]
    posts = [poe([mus[m] for m in s], [lvs[m] for m in s], prior=False) for s in subsets]
    kl = sum(pf.kl_standard(mu, lv) for mu, lv in posts) / len(subsets)
    batch = xs[0].shape[0]
    # stratified: contiguous blocks of the (already shuffled) batch per subset
    bounds = np.linspace(0, batch, len(subsets) + 1).astype(int)
    mu = torch.cat([posts[k][0][a:b] for k, (a, b) in enumerate(itertools.pairwise(bounds))])
    lv = torch.cat([posts[k][1][a:b] for k, (a, b) in enumerate(itertools.pairwise(bounds))])
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
    rec = sum(model.loglik(m, x, z) for m, x in enumerate(xs))
    return -(rec - kl).mean()


FLOORS = {"MVAE": floor_mvae, "MMVAE": floor_mmvae, "MoPoE": floor_mopoe}
MODULE_FLOORS = {
    "MMVAEPlus": pf.floor_mmvaeplus,
    "IDMVAE": pf.floor_idmvae,
    "DMVAE": None,  # pf.DMVAEFloor: a model step and its discriminator steps
    "MMVM": pf.floor_mmvm,
}
ESTIMATORS = {
    "MVAE": MVAE,
    "MMVAE": MMVAE,
    "MoPoE": MoPoE,
    "MMVAEPlus": MMVAEPlus,
    "IDMVAE": IDMVAE,
    "DMVAE": DMVAE,
    "MMVM": MMVM,
}


def make_estimator(name, args, **params):
    cls = ESTIMATORS[name]
    if getattr(cls, "has_private_latents", False):
        sizes = {"n_shared": args.latent, "n_private": args.latent}
    else:
        sizes = {"n_latent": args.latent}
    return cls(
        **sizes,
        hidden_layer_sizes=(args.hidden,) * 2,
        batch_size=args.batch_size,
        max_epochs=args.epochs + 1,
        lr=1e-3,
        device=args.device,
        random_state=0,
        **params,
    )


def run_module_floor(name, arrays, args):
    """The floor of a method whose networks come from the estimator's own module."""
    est = make_estimator(name, args)
    mask = np.ones((len(arrays[0]), len(arrays)), dtype=bool)
    specs = resolve_modalities(est.modalities, arrays, mask, est.hidden_layer_sizes)
    with seeded(est._seed(), args.device):  # the library's initial weights
        net = est._build_module(specs).to(args.device)
    if CHANNELS_LAST:  # as the library trains its convolutions
        net = net.to(memory_format=torch.channels_last)
    xs_all = [
        torch.as_tensor(spec.to_model(a), device=args.device) for spec, a in zip(specs, arrays)
    ]
    if name == "DMVAE":
        floor = pf.DMVAEFloor(net)
        loss_fn, after_step = (lambda _, xs: floor.loss(xs)), floor.after_step
        aux = {id(p) for p in net.discriminators.parameters()}
    else:
        loss_fn, after_step, aux = MODULE_FLOORS[name], None, set()
    params = [p for p in net.parameters() if id(p) not in aux]
    return train_floor(net, params, loss_fn, xs_all, args, after_step)


def train_floor(model, params, loss_fn, xs_all, args, after_step=None):
    torch.manual_seed(0)
    opt = torch.optim.Adam(params, lr=1e-3)
    n = len(xs_all[0])
    times = []
    for _ in range(args.epochs + 1):
        start = time.perf_counter()
        total = 0.0
        for idx in torch.randperm(n, device=xs_all[0].device).split(args.batch_size):
            loss = loss_fn(model, [x[idx] for x in xs_all])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step()
            total += loss.item() * len(idx)
        times.append(time.perf_counter() - start)
    return times[1:], total / n


def run_floor(name, views, args):
    """The floor of MVAE, MMVAE or MoPoE, networks written out (tables only)."""
    torch.manual_seed(0)
    xs_all = [torch.as_tensor(v, dtype=torch.float32, device=args.device) for v in views]
    model = FloorModel([v.shape[1] for v in views], args.latent, (args.hidden,) * 2)
    model = model.to(args.device)
    return train_floor(model, model.parameters(), FLOORS[name], xs_all, args)


def run_library(name, X, args, **params):
    est = make_estimator(name, args, **params).fit(X)
    times = [row["dur"] for row in est.history_][1:]
    return times, est.history_[-1, "train_loss"]


def make_data(args):
    """The case's views: the estimator's input and the arrays the floors train on."""
    if args.case == "table":
        X, _, _ = make_shared_private(
            n_samples=args.n_samples, n_views=3, n_features=args.n_features, random_state=0
        )
        return X, list(X.views)
    rng = np.random.RandomState(0)
    views = [rng.rand(args.n_samples, 3, 28, 28).astype(np.float32) for _ in range(5)]
    return views, views


def compare_library(name, X, args):
    """The library alone in its variants: (label, samples/s, last-epoch loss) rows."""
    if args.compare == "compile":
        variants = [("eager", {}), ("torch.compile", {"compile": True})]
    else:
        variants = [("float32", {}), ("bf16", {"precision": "bf16"})]
        if args.device.startswith("cuda"):
            variants.append(("16-mixed", {"precision": "16-mixed"}))
    times = {label: [] for label, _ in variants}
    losses = {}
    for _ in range(args.repeats):
        for label, params in variants:
            t, losses[label] = run_library(name, X, args, **params)
            times[label] += t
    return [
        (label, args.n_samples / statistics.median(times[label]), losses[label])
        for label, _ in variants
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["table", "conv"], default="table")
    parser.add_argument("--n-samples", type=int, default=None, help="20000 (table), 2000 (conv)")
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=None, help="256 (table), 128 (conv)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=None, choices=list(ESTIMATORS))
    parser.add_argument("--compare", choices=["floor", "compile", "precision"], default="floor")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    conv = args.case == "conv"
    if args.n_samples is None:
        args.n_samples = 2000 if conv else 20000
    if args.batch_size is None:
        args.batch_size = 128 if conv else 256
    if args.methods is None:
        args.methods = list(MODULE_FLOORS) if conv else list(ESTIMATORS)
    if conv and set(args.methods) & set(FLOORS) and args.compare == "floor":
        parser.error("the conv case has floors for MMVAEPlus, IDMVAE, DMVAE and MMVM only")
    if args.threads:
        torch.set_num_threads(args.threads)

    X, arrays = make_data(args)
    # the library standardises gaussian tables internally; give the floor the same data
    std_views = [((v - v.mean(0)) / v.std(0)).astype(np.float32) for v in arrays]
    rows = []
    for name in args.methods:
        if args.compare != "floor":
            for label, speed, loss in compare_library(name, X, args):
                rows.append((name, label, speed, loss))
                print(f"{name} {label}: {speed:,.0f} samples/s", flush=True)
            continue
        lib_times, floor_times = [], []
        for _ in range(args.repeats):
            t, lib_loss = run_library(name, X, args)
            lib_times += t
            if name in FLOORS:
                t, floor_loss = run_floor(name, std_views, args)
            else:
                t, floor_loss = run_module_floor(name, arrays, args)
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

    if conv:
        data = (
            f"Data: 5 views of 3 x 28 x 28 random pixels in [0, 1], n = {args.n_samples}, "
            "complete. Networks: the library's defaults for these views (`modalities="
            f'"auto"`), dense width {args.hidden}'
        )
    else:
        data = (
            f"Data: `make_shared_private(n_samples={args.n_samples}, n_views=3, "
            f"n_features={args.n_features}, random_state=0)`, complete views. Networks: MLP "
            f"encoders/decoders 2x{args.hidden} (ReLU), gaussian likelihood with learned "
            "per-feature scale"
        )
    lines = [
        "# Training throughput: library vs hand-written PyTorch loop"
        if args.compare == "floor"
        else f"# Training throughput of the library: {args.compare} variants",
        "",
        f"Command: `python benchmarks/throughput.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"{data}; latents {args.latent} (shared and private), batch {args.batch_size}, "
        f"Adam lr 1e-3, each method's default settings. Seed 0. Median epoch time over "
        f"{args.repeats} alternating runs x {args.epochs} epochs (first epoch of each run "
        "discarded).",
        "",
        f"{machine(args.device)}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads.",
        "",
    ]
    if args.compare == "floor":
        lines += [
            "| method | library samples/s | floor samples/s | library / floor time | "
            "last-epoch loss (library) | last-epoch loss (floor) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, lib, floor, ratio, ll, fl in rows:
            lines.append(
                f"| {name} | {lib:,.0f} | {floor:,.0f} | {ratio:.3f} | {ll:.2f} | {fl:.2f} |"
            )
        lines += [
            "",
            "Target: library / floor <= 1.10 for every method. The floor is the same "
            "objective written directly for complete data (see the script); the last-epoch "
            "mean losses (per sample, same data) show that both optimise the same quantity. "
            "The floor's item() per batch mirrors skorch's per-batch loss logging.",
        ]
    else:
        lines += [
            "| method | variant | samples/s | last-epoch loss |",
            "|---|---|---:|---:|",
        ]
        lines += [f"| {n} | {label} | {v:,.0f} | {loss:.2f} |" for n, label, v, loss in rows]
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
