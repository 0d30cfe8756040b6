"""Evaluation metrics for fitted multimodal VAEs.

Every function takes a fitted estimator of this library and works for every method;
where a method cannot provide what a metric needs it raises a ``ValueError`` that
says why (private latents on a model without them, a log-likelihood without a
tractable prior or joint density).

* :func:`latent_classification` and :func:`cross_classification`: linear probes on
  latent representations (accuracy and AUROC), per view and averaged.
* :func:`conditional_coherence`, :func:`leave_one_out_coherence` and
  :func:`unconditional_coherence`: generate views and check with per-view
  classifiers that the generations carry the right labels.
* :func:`log_likelihood`: importance-sampled joint or conditional log-likelihoods.
* :func:`cross_view_agreement` and :func:`leave_one_view_out_score`: label-free
  criteria for model selection (``GridSearchCV(..., scoring=...)``).
* :func:`train_view_classifiers` and :class:`ImageClassifier`: the per-view
  evaluation classifiers coherence needs (a small CNN for images, a linear or MLP
  pipeline for tables).

Labels follow one convention: ``-1`` or NaN marks an unlabelled sample, which is
left out. A 1-D label is shared by all views; a 2-D label ``(n_samples, n_views)``
gives each view its own label (e.g. a private factor).
"""

from .classifiers import ImageClassifier, train_view_classifiers
from .coherence import conditional_coherence, leave_one_out_coherence, unconditional_coherence
from .likelihood import log_likelihood
from .probes import cross_classification, latent_classification
from .selection import cross_view_agreement, leave_one_view_out_score

__all__ = [
    "latent_classification",
    "cross_classification",
    "conditional_coherence",
    "leave_one_out_coherence",
    "unconditional_coherence",
    "cross_view_agreement",
    "leave_one_view_out_score",
    "log_likelihood",
    "train_view_classifiers",
    "ImageClassifier",
]
