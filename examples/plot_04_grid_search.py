"""
Choosing beta and lambda with GridSearchCV
==========================================

Estimators are ordinary scikit-learn transformers, so a ``Pipeline`` of IDMVAE and a
classifier can be tuned for a downstream task with ``GridSearchCV`` (here scored by
AUROC). Without labels, :func:`skmmvae.metrics.cross_view_agreement` scores a model by
how well each view's shared latent agrees with the others', a label-free criterion.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skmmvae import IDMVAE, make_shared_private, metrics

X, y, _ = make_shared_private(n_samples=400, n_views=2, n_features=6, random_state=0)
y_binary = (y >= 2).astype(int)
grid = {"idmvae__lambda1": [0.0, 10.0], "idmvae__beta": [0.5, 1.0]}
pipe = make_pipeline(
    IDMVAE(n_shared=3, n_private=2, max_epochs=15, latents="shared", random_state=0),
    LogisticRegression(max_iter=1000),
)
supervised = GridSearchCV(pipe, grid, cv=3, scoring="roc_auc").fit(X, y_binary)
print("best by AUROC:", supervised.best_params_, round(supervised.best_score_, 3))

label_free = GridSearchCV(
    IDMVAE(n_shared=3, n_private=2, max_epochs=15, random_state=0),
    {k.split("__")[1]: v for k, v in grid.items()},
    cv=3,
    scoring=metrics.cross_view_agreement,
).fit(X)
print("best without labels:", label_free.best_params_)

# %%
# The two criteria side by side, one bar per setting:
labels = [
    f"lambda1={p['idmvae__lambda1']:g}\nbeta={p['idmvae__beta']:g}"
    for p in supervised.cv_results_["params"]
]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, search, what in (
    (axes[0], supervised, "AUROC of a logistic regression on z"),
    (axes[1], label_free, "cross-view agreement (no labels)"),
):
    ax.bar(
        np.arange(len(labels)),
        search.cv_results_["mean_test_score"],
        yerr=search.cv_results_["std_test_score"],
        color="C0",
    )
    ax.set_xticks(np.arange(len(labels)), labels, fontsize=7)
    ax.set_ylabel(what, fontsize=8)
    ax.set_title(what, fontsize=9)
fig.tight_layout()
