"""Images larger than memory: training speed and memory of uint8 memory-mapped views.

Two synthetic image views of ``1 x S x S`` uint8 pixels (frontal / lateral stand-ins)
are written to ``.npy`` files once, opened with ``np.load(..., mmap_mode="r")`` and an
MMVAE+ (``arch="resnet"``, 8 channels, latents 8 + 4, batch 256) trains one epoch on the
first ``n`` rows, for each ``n`` of ``--sizes``, each in a fresh process. Reported: fit
time, samples per second, and the process's peak resident memory split into anonymous
memory (``RssAnon``: what the process allocated; it must stay flat as ``n`` grows) and
file-backed pages (``RssFile``: pages of the mapped files the kernel keeps mapped, which
it can drop under pressure), sampled every 10 ms from ``/proc/self/status``.
``--in-memory`` repeats the largest size with the same pixels loaded into memory as
float32 in [0, 1] (what a float pipeline holds).

    python benchmarks/memmap_images.py --out benchmarks/results/memmap_images.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit, machine  # noqa: E402


def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakMemory:
    """Peak ``RssAnon`` and ``RssFile`` (MB) while the block runs."""

    def __enter__(self):
        self.anon = self.file = 0
        self._stop = threading.Event()

        def watch():
            while not self._stop.is_set():
                self.anon = max(self.anon, _status_kb("RssAnon"))
                self.file = max(self.file, _status_kb("RssFile"))
                time.sleep(0.01)

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.anon, self.file = self.anon / 1024, self.file / 1024


def write_files(folder, n, side, seed):
    """Two uint8 image files of ``n`` rows: a bright disc whose radius is shared by the
    two views of a row, on noise."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:side, :side] - (side - 1) / 2
    dist = np.sqrt(yy**2 + xx**2)
    paths = []
    for view in range(2):
        path = os.path.join(folder, f"view{view}.npy")
        out = np.lib.format.open_memmap(path, "w+", np.uint8, (n, 1, side, side))
        for start in range(0, n, 10_000):
            rows = min(10_000, n - start)
            radius = np.random.RandomState(seed + start).uniform(2, side / 2, rows)
            disc = dist[None] < radius[:, None, None]
            noise = rng.randint(0, 60, (rows, side, side))
            out[start : start + rows, 0] = np.where(disc, 200, noise).astype(np.uint8)
        out.flush()
        del out
        paths.append(path)
    return paths


def run_one(paths, n, in_memory, threads):
    """Fit on the first ``n`` rows in this process; a JSON line with the numbers."""
    import torch

    from skmmvae import MMVAEPlus, Modality, MultiView

    torch.set_num_threads(threads)
    with PeakMemory() as peak:
        views = [np.load(p, mmap_mode="r")[:n] for p in paths]
        if in_memory:
            views = [np.asarray(v, dtype=np.float32) / 255 for v in views]
        est = MMVAEPlus(
            n_shared=8,
            n_private=4,
            max_epochs=1,
            batch_size=256,
            hidden_layer_sizes=(64,),
            modalities=Modality(channels=8),
            random_state=0,
            device="cpu",
        )
        start = time.perf_counter()
        est.fit(MultiView(views))
        seconds = time.perf_counter() - start
    return {
        "n": n,
        "in_memory": in_memory,
        "seconds": seconds,
        "samples_per_s": n / seconds,
        "epoch_s": est.history_[-1]["dur"],
        "rss_anon_mb": peak.anon,
        "rss_file_mb": peak.file,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    parser.add_argument("--_child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:  # one measurement, in a fresh process
        folder, n, in_memory, threads = args._child
        paths = [os.path.join(folder, f"view{v}.npy") for v in range(2)]
        print(json.dumps(run_one(paths, int(n), in_memory == "1", int(threads))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        write_files(folder, max(args.sizes), args.side, args.seed)
        file_mb = 2 * os.path.getsize(os.path.join(folder, "view0.npy")) / 2**20
        runs = [(n, False) for n in args.sizes]
        if args.in_memory:
            runs.append((max(args.sizes), True))
        for n, in_memory in runs:
            cmd = [sys.executable, __file__, "--_child", folder, str(n)]
            cmd += ["1" if in_memory else "0", str(args.threads)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    lines = [
        "# Images larger than memory: uint8 memory-mapped views",
        "",
        f"Command: `python benchmarks/{os.path.basename(__file__)} "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        "",
        f"Two uint8 image views of 1 x {args.side} x {args.side} ({file_mb:.0f} MB on disk for "
        f"{max(args.sizes)} rows), MMVAE+ with resnet networks of 8 channels, batch 256, one "
        f"epoch, {args.threads} torch threads, seed {args.seed}; each row in a fresh process.",
        "",
        machine("cpu"),
        "",
        "| rows | pixels | fit s | samples/s | peak RssAnon MB | peak RssFile MB |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        kind = "float32 in memory" if r["in_memory"] else "uint8 memmap"
        lines.append(
            f"| {r['n']} | {kind} | {r['seconds']:.1f} | {r['samples_per_s']:.0f} | "
            f"{r['rss_anon_mb']:.0f} | {r['rss_file_mb']:.0f} |"
        )
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
