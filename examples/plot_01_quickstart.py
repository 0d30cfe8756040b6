"""
Quick start on tables
=====================

Three views of the same samples (three tables with 5 features each) share a latent
class; each view also has a private one. We fit MMVAE+, look at its training curves,
and map its shared latent coloured by the shared class.
"""

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from skmmvae import MMVAEPlus, make_shared_private
from skmmvae.plotting import plot_latent_map, plot_training_curves

X, y, y_private = make_shared_private(n_samples=600, n_views=3, n_features=5, random_state=0)
est = MMVAEPlus(n_shared=4, n_private=2, max_epochs=40, random_state=0)
Z = est.fit_transform(X)
print(Z.shape, est.get_feature_names_out()[:6])

# %%
# The shared latent ``z`` predicts the shared class; a logistic regression on it,
# cross-validated (chance is 0.25):
probe = cross_val_score(LogisticRegression(max_iter=1000), est.transform(X, latents="shared"), y)
print(f"z -> shared class: {probe.mean():.2f}")

# %%
# Every loss part of the objective, per epoch:
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_training_curves(est, ax=axes[0])
plot_latent_map(est, X, y, ax=axes[1])
fig.tight_layout()
