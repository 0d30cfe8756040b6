"""The tests every method passes, parametrised over the method registry
(``skmmvae.methods``), and a toy 9th method that shows what adding one takes: one
class for the objective, one for the estimator, and its registration."""

import inspect
import pickle

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

import skmmvae
from skmmvae import check_views, cli, make_shared_private, methods
from skmmvae.base import MultimodalVAE
from skmmvae.latent import Normal, kl_normal_standard
from skmmvae.module import MultimodalModule
from skmmvae.parameters import document, integer, real, store_params
from skmmvae.posteriors import Diagonal, Encoding

from .conftest import FAST, build


# ---- a 9th method, written as a user would: the sketch of a new estimator ------------
class AverageOfExpertsModule(MultimodalModule):
    """The shared posterior is the average of the observed views' Gaussian experts
    (means and log-variances averaged); ELBO with a standard normal prior."""

    def __init__(self, specs, n_latent, view_weights, beta):
        super().__init__(specs, n_latent, view_weights)
        self.encoders = self.build_encoders(n_latent)
        self.beta = beta

    def encode(self, views, mask):
        loc, logvar = self.encode_experts(self.encoders, views, Normal, mask)
        w = mask.transpose(0, 1).unsqueeze(-1).to(loc.dtype)
        mu, lv = (w * loc).sum(0) / w.sum(0), (w * logvar).sum(0) / w.sum(0)
        return Encoding(shared=Diagonal(Normal, mu, lv), experts=Diagonal(Normal, loc, logvar))

    def _terms(self, views, mask, weighted):
        q = self.encode(views, mask).shared
        rec = self.reconstruction(views, mask, q.rsample(), weighted)
        return rec, kl_normal_standard(q.loc, q.param)

    def forward(self, views, mask):
        rec, kl = self._terms(views, mask, True)
        return {"loss": -(rec - self.beta * kl), "rec": -rec, "kl": kl}

    def elbo(self, views, mask):
        rec, kl = self._terms(views, mask, False)
        return rec - kl


class AverageOfExperts(MultimodalVAE):
    """Toy multimodal VAE whose shared posterior averages the views' experts.

    Parameters
    ----------
    n_latent : int, default=16
        Size of the shared latent ``z``.
    beta : float, default=1.0
        Weight of the KL term.
    %(common)s

    %(fitted)s
    """

    _parameter_constraints = {
        **MultimodalVAE._parameter_constraints,
        "n_latent": integer(1),
        "beta": real(0),
    }

    def __init__(
        self,
        n_latent=16,
        *,
        beta=1.0,
        prior_sampler="prior",
        n_prior_components=100,
        modalities="auto",
        views=None,
        view_weights=None,
        hidden_layer_sizes=(256, 256),
        latents="all",
        latent_mode="mean",
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.1,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        device="auto",
        precision="32",
        compile=False,
        accelerate=False,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        store_params(self, locals())

    def _build_module(self, specs):
        return AverageOfExpertsModule(
            specs, self.n_latent, self._view_weights(len(specs)), float(self.beta)
        )


document(AverageOfExperts)

TOY = AverageOfExperts


@pytest.fixture
def registered_toy():
    methods.register(TOY)
    yield TOY
    methods.unregister(TOY)


def test_a_registered_method_joins_exports_cli_and_messages(registered_toy):
    assert methods.get("averageofexperts") is TOY
    assert "AverageOfExperts" in methods.__all__ and methods.AverageOfExperts is TOY
    assert TOY in methods.estimators(private_latents=False, likelihood="joint")
    X, _, _ = make_shared_private(n_samples=40, n_views=2, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="AverageOfExperts has no private latents"):
        TOY(n_latent=2, **FAST).fit(X).transform(X, latents="private")
    with pytest.raises(ValueError, match="registered already"):
        methods.register(TOY)
    assert "AverageOfExperts" in cli.method_names()


def test_the_registry_is_the_package_surface():
    assert methods.__all__ == [c.__name__ for c in methods.estimators()]
    assert all(getattr(skmmvae, name) is getattr(methods, name) for name in methods.__all__)
    assert set(methods.__all__) <= set(skmmvae.__all__)
    with pytest.raises(ValueError, match="Unknown method 'VAE'; choose one of MVAE, MMVAE"):
        methods.get("VAE")
    with pytest.raises(TypeError, match="MultimodalVAE subclass"):
        methods.register(dict)
    with pytest.raises(ValueError, match="not added with register"):
        methods.unregister(methods.MVAE)


# ---- the common tests: the registry's methods and the toy ----------------------------
COMMON = [*methods.estimators(), TOY]

MONTE_CARLO = (
    "score_samples is a Monte Carlo estimate of the ELBO: the reparameterisation noise a "
    "sample receives depends on its position in the batch, so scores of a subset or a "
    "permutation differ by sampling noise (transform, checked first, is invariant)"
)
EXPECTED = {
    "check_methods_subset_invariance": MONTE_CARLO,
    "check_methods_sample_order_invariance": MONTE_CARLO,
}

# each method with small settings, and the variants whose code paths differ
ESTIMATORS = [build(cls, **FAST) for cls in methods.estimators()] + [
    TOY(n_latent=2, **FAST),
    methods.MVAE(n_latent=2, elbo_terms="joint", **FAST),
    methods.MMVAE(n_latent=2, objective="dreg", K=3, posterior="laplace", **FAST),
    methods.IDMVAE(
        n_shared=2,
        n_private=1,
        genaug="lsq",
        diffusion_prior=True,
        diffusion_steps=20,
        diffusion_sampling_steps=5,
        **FAST,
    ),
    methods.DMVAE(n_shared=2, n_private=1, discriminator_hidden=8, **FAST),
    methods.MMVM(n_latent=2, kl="sampled", alpha=0.5, alpha_warmup_steps=3, **FAST),
    methods.MVAE(n_latent=2, prior_sampler="gmm", n_prior_components=3, **FAST),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def views():
    X, y, _ = make_shared_private(
        n_samples=64, n_views=3, n_features=5, missing_rate=0.2, random_state=0
    )
    return X, y


@pytest.mark.parametrize("cls", COMMON)
def test_the_whole_surface_works(cls, views):
    """fit, transform, encode, generate, impute, sample, decode, score and a pickle
    round trip, on three views with missing ones."""
    X, _ = views
    est = build(cls, **FAST).fit(X)
    n_private = est.n_private if cls.has_private_latents else 0
    d = 2
    Z = est.transform(X)
    assert Z.shape == (64, d + 3 * n_private) and np.isfinite(Z).all()
    full = check_views(X)[1].all(1)
    gen = est.generate(X[full], cond_views=[0], gen_views=[1, 2], random_state=0)
    assert [g.shape for g in gen] == [(int(full.sum()), 5)] * 2
    imputed = est.impute(X)
    assert all(np.isfinite(v).all() for v in imputed.views)
    assert [s.shape for s in est.sample(7, random_state=0)] == [(7, 5)] * 3
    assert est.decode(np.zeros((3, d + n_private)), view=2).shape == (3, 5)
    assert np.isfinite(est.score(X))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(X), Z)
    if cls.tractable_likelihood == "joint":
        assert np.isfinite(est.log_likelihood(X, K=3)).all()
    else:
        with pytest.raises(ValueError):
            est.log_likelihood(X, K=3)


@pytest.mark.parametrize("cls", COMMON)
def test_a_fixed_seed_fixes_the_fit(cls, views):
    X, _ = views
    a = build(cls, **FAST).fit(X).transform(X)
    b = build(cls, **FAST).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    torch.manual_seed(1)  # the global generator does not enter a seeded fit
    np.testing.assert_array_equal(build(cls, **FAST).fit(X).transform(X), a)


def _documented_parameters(cls):
    """Names of the entries of the Parameters section of the rendered docstring."""
    text = cls.__doc__.split("Parameters\n    ----------\n", 1)[1]
    text = text.split("\n\n    Attributes\n", 1)[0]
    return [
        line[4:].split(" : ")[0]
        for line in text.split("\n")
        if line.startswith("    ") and not line.startswith("     ") and line.strip()
    ]


@pytest.mark.parametrize("cls", COMMON)
def test_docstring_and_table_list_exactly_the_signature(cls):
    signature = list(inspect.signature(cls.__init__).parameters)[1:]
    documented = _documented_parameters(cls)
    assert sorted(documented) == sorted(signature), set(documented) ^ set(signature)
    assert len(documented) == len(set(documented))  # none twice
    assert set(cls._parameter_constraints) == set(signature)


class _Bad:
    def __repr__(self):
        return "<bad>"


@pytest.mark.parametrize("cls", COMMON)
def test_every_checked_parameter_rejects_a_bad_value_in_one_message_shape(cls, views):
    """Every parameter whose rule is not deferred to the data rejects an object of no
    valid type, at fit and at partial_fit, naming itself; nothing is trained."""
    X, _ = views
    for name, constraint in cls._parameter_constraints.items():
        if constraint("anything goes") and constraint(_Bad()):
            continue  # checked against the data at fit (views, modalities, subsets)
        est = build(cls, **FAST).set_params(**{name: _Bad()})
        for method in (est.fit, est.partial_fit):
            with pytest.raises(ValueError, match=rf"^{name} must be .+; got <bad>\.$"):
                method(X)
        assert not hasattr(est, "net_")


@pytest.mark.parametrize("cls", COMMON)
def test_parameters_set_before_a_warm_start_are_validated(cls, views):
    X, _ = views
    est = build(cls, warm_start=True, **FAST).fit(X)
    est.set_params(lr=0.0)
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0; got 0.0\.$"):
        est.fit(X)
    with pytest.raises(ValueError, match="^lr must be"):
        est.partial_fit(X)
    est.set_params(lr=0.01).fit(X)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.01  # and applied
