"""
Missing views and imputation
============================

Samples often lack some views. Rows of NaN mark a missing view; every estimator trains
on the views each sample has and ``impute`` fills the missing ones from the others.
Here view 2 is missing for a third of the samples at training time, and we impute it
for held-out samples that lack it.
"""

import matplotlib.pyplot as plt
import numpy as np

from skmmvae import MVAE, MoPoE, MultiView, make_shared_private
from skmmvae.plotting import plot_imputation

X, y, _ = make_shared_private(n_samples=900, n_views=3, n_features=6, random_state=1)
train, test = np.arange(600), np.arange(600, 900)
views = [v.copy() for v in X.views]
views[2][train[:200]] = np.nan  # view 2 missing for 200 training samples
X_train = MultiView([v[train] for v in views])

# the test samples lack view 2; we keep its true values to compare
truth = X.views[2][test]
X_test = MultiView([X.views[0][test], X.views[1][test], np.full_like(truth, np.nan)])

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, cls in zip(axes, (MVAE, MoPoE)):
    est = cls(n_latent=4, max_epochs=40, random_state=0).fit(X_train)
    _, r2 = plot_imputation(est, X_test, truth, view=2, ax=ax)
    print(f"{cls.__name__}: R^2 of the imputed view 2 = {r2:.2f}")
fig.tight_layout()
