"""
Scaling out: images larger than memory, devices, parallel searches
==================================================================

Image views kept as 8-bit memory maps are read batch by batch (a quarter of float32's
disk and bandwidth) and never loaded whole; a fitted model moves between devices with
``to_device``; a grid search spreads its fits over processes with ``n_jobs`` (or over
a Dask or Ray cluster, see the "Scaling out" page). Several GPUs or processes train
one model with ``accelerate=True`` under ``accelerate launch`` (not run here).
"""

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from skmmvae import MMVAEPlus, Modality, MultiView, make_shared_private, metrics
from skmmvae.plotting import plot_training_curves

folder = tempfile.mkdtemp()
n = 2000
rng = np.random.RandomState(0)
paths = []
for name in ("frontal", "lateral"):
    path = os.path.join(folder, f"{name}.npy")
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 1, 16, 16))
    for start in range(0, n, 500):  # written chunk by chunk, as a large set would be
        images[start : start + 500] = rng.randint(0, 256, size=(500, 1, 16, 16))
    images.flush()
    paths.append(path)

X = MultiView([np.load(p, mmap_mode="r") for p in paths])
est = MMVAEPlus(
    n_shared=4,
    n_private=2,
    max_epochs=3,
    batch_size=128,
    modalities=Modality(channels=8),
    random_state=0,
).fit(X)
print("trained on", type(X.views[0]).__name__, X.views[0].dtype, X.views[0].shape)
est.to_device("cpu")  # e.g. after a fit on "cuda"
print("latents:", est.transform(X[:5]).shape, "on", est.device_)

# %%
# A grid search runs its fits in parallel processes (one torch thread each):
T, _, _ = make_shared_private(n_samples=300, n_views=2, n_features=5, random_state=0)
search = GridSearchCV(
    MMVAEPlus(n_shared=2, n_private=2, max_epochs=5, random_state=0),
    {"beta": [0.5, 1.0, 2.0]},
    cv=2,
    n_jobs=2,
    scoring=metrics.cross_view_agreement,
).fit(T)
print(search.best_params_)
plot_training_curves(est)
plt.gcf().tight_layout()
