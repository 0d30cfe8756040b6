"""Per-view evaluation classifiers that coherence needs: a small CNN for images, a
linear or MLP pipeline for tables."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..training import seeded
from ..views import check_views
from .common import per_view_labels, plain, sub_seeds

__all__ = ["ImageClassifier", "train_view_classifiers"]


class _SmallCNN(nn.Module):
    def __init__(self, in_channels, n_classes, channels, hidden):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, stride=2, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),  # keeps a coarse layout (e.g. which quadrant)
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * c2, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x):
        return self.head(self.features(x))


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """A small convolutional classifier of images ``(n, C, H, W)``, sklearn style.

    Two stride-2 convolutions (batch norm, ReLU), adaptive average pooling to 4 x 4
    (so the position of a pattern stays visible), and an MLP head; trained with Adam
    and cross-entropy. Inputs are standardised with the training mean and standard
    deviation of each channel.

    Parameters
    ----------
    channels : tuple of two int, default=(32, 64)
    hidden : int, default=128
    max_epochs : int, default=10
    batch_size : int, default=64
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    device : str, default="cpu"
        Torch device ("cuda" to train on a GPU).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    classes_ : ndarray
    model_ : torch.nn.Module
    """

    def __init__(
        self,
        channels=(32, 64),
        hidden=128,
        max_epochs=10,
        batch_size=64,
        lr=1e-3,
        weight_decay=0.0,
        device="cpu",
        random_state=None,
    ):
        self.channels = channels
        self.hidden = hidden
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state

    @staticmethod
    def _check_images(X):
        X = np.asarray(X)
        if X.ndim != 4:
            raise ValueError(f"ImageClassifier expects images (n, C, H, W); got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("Images must be finite.")
        return X

    def _tensor(self, X):
        X = (np.asarray(X, dtype=np.float32) - self.mean_) / self.std_
        return torch.as_tensor(X)

    def fit(self, X, y):
        """Train on images ``X`` and labels ``y``."""
        X = self._check_images(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError("y must have shape (n_samples,) matching X.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("ImageClassifier needs at least two classes.")
        for name in ("max_epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        self.mean_ = X.mean(axis=(0, 2, 3), keepdims=True).astype(np.float32)[0]
        self.std_ = (X.std(axis=(0, 2, 3), keepdims=True) + 1e-6).astype(np.float32)[0]
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.RandomState(seed)
        device = torch.device(self.device)
        data = self._tensor(X).to(device)
        target = torch.as_tensor(codes, dtype=torch.long, device=device)
        with seeded(seed, device):
            model = _SmallCNN(X.shape[1], len(self.classes_), self.channels, self.hidden)
            model.to(device).train()
            opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            loss_fn = nn.CrossEntropyLoss()
            for _ in range(self.max_epochs):
                order = torch.as_tensor(rng.permutation(len(X)), device=device)
                for start in range(0, len(X), self.batch_size):
                    idx = order[start : start + self.batch_size]
                    if len(idx) < 2:  # batch norm needs two samples
                        continue
                    opt.zero_grad()
                    loss = loss_fn(model(data[idx]), target[idx])
                    loss.backward()
                    opt.step()
        self.model_ = model.eval()
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def predict_proba(self, X):
        """Class probabilities, ``(n_samples, n_classes)``."""
        check_is_fitted(self, "model_")
        X = self._check_images(X)
        device = next(self.model_.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, len(X), 512):
                batch = self._tensor(X[start : start + 512]).to(device)
                out.append(torch.softmax(self.model_(batch), -1).cpu().numpy())
        if not out:
            return np.zeros((0, len(self.classes_)))
        return np.concatenate(out).astype(np.float64)

    def predict(self, X):
        """Most probable class of each image."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _flatten(X):
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def _make_classifier(kind, ndim, random_state, max_epochs, device):
    if not isinstance(kind, str):
        if not hasattr(kind, "fit"):
            raise TypeError(f"kind must be a string or a sklearn classifier; got {kind!r}.")
        return clone(kind)
    if kind == "auto":
        kind = "cnn" if ndim == 4 else "logistic"
    if kind == "cnn":
        if ndim != 4:
            raise ValueError("kind='cnn' needs image views (n, C, H, W).")
        return ImageClassifier(max_epochs=max_epochs, device=device, random_state=random_state)
    if kind == "logistic":
        return make_pipeline(
            FunctionTransformer(_flatten), StandardScaler(), LogisticRegression(max_iter=1000)
        )
    if kind == "mlp":
        return make_pipeline(
            FunctionTransformer(_flatten),
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(128,), max_iter=500, random_state=random_state),
        )
    raise ValueError(
        f"kind must be 'auto', 'cnn', 'logistic', 'mlp' or a classifier; got {kind!r}."
    )


def train_view_classifiers(X, y, *, kind="auto", random_state=None, max_epochs=10, device="cpu"):
    """Fit one evaluation classifier per view on real data.

    Parameters
    ----------
    X : multi-view input
        Missing views of a sample are left out of that view's training data.
    y : array-like of shape (n_samples,) or (n_samples, n_views)
        A 1-D label (e.g. the shared class) is predicted from every view; a 2-D
        label gives view ``m`` its own column (e.g. a private class). ``-1`` or NaN:
        unlabelled, left out.
    kind : {"auto", "cnn", "logistic", "mlp"}, classifier, or list of them
        ``"cnn"``: :class:`ImageClassifier` (image views only); ``"logistic"``:
        standardisation and ``LogisticRegression(max_iter=1000)``; ``"mlp"``:
        standardisation and ``MLPClassifier((128,))``; ``"auto"``: cnn for images
        ``(n, C, H, W)``, logistic for tables. A sklearn classifier is cloned. A
        list gives one choice per view. Images given to a table classifier are
        flattened.
    random_state : int, RandomState instance or None, default=None
    max_epochs : int, default=10
        Training epochs of the CNN.
    device : str, default="cpu"
        Torch device of the CNN.

    Returns
    -------
    classifiers : list
        One fitted classifier per view (``fit`` / ``predict`` / ``predict_proba`` /
        ``score``), ready for the coherence metrics.
    """
    arrays, mask = check_views(X)
    n_views = len(arrays)
    labels, valid = per_view_labels(y, len(mask), n_views, "y")
    kinds = list(kind) if isinstance(kind, (list, tuple)) else [kind] * n_views
    if len(kinds) != n_views:
        raise ValueError(f"kind must be one choice or one per view ({n_views}).")
    seeds = sub_seeds(random_state, n_views)
    out = []
    for m, (a, k) in enumerate(zip(arrays, kinds)):
        rows = mask[:, m] & valid[:, m]
        target = plain(labels[rows, m])
        if len(np.unique(target)) < 2:
            raise ValueError(f"View {m}: the classifier needs labelled samples of two classes.")
        clf = _make_classifier(k, a.ndim, int(seeds[m]), max_epochs, device)
        out.append(clf.fit(a[rows], target))
    return out
