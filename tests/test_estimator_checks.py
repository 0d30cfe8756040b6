"""scikit-learn's own estimator checks on every estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skmmvae import DMVAE, IDMVAE, MMVAE, MMVM, MVAE, MMVAEPlus, MoPoE, PrivateSharedVAE

from .conftest import FAST

MONTE_CARLO = (
    "score_samples is a Monte Carlo estimate of the ELBO: the reparameterisation noise a "
    "sample receives depends on its position in the batch, so scores of a subset or a "
    "permutation differ by sampling noise (transform, checked first, is invariant)"
)
EXPECTED = {
    "check_methods_subset_invariance": MONTE_CARLO,
    "check_methods_sample_order_invariance": MONTE_CARLO,
}

ESTIMATORS = [
    MVAE(n_latent=2, **FAST),
    MVAE(n_latent=2, elbo_terms="joint", **FAST),
    MMVAE(n_latent=2, **FAST),
    MMVAE(n_latent=2, estimator="dreg", K=3, posterior="laplace", **FAST),
    MoPoE(n_latent=2, **FAST),
    MMVAEPlus(n_shared=2, n_private=1, **FAST),
    IDMVAE(n_shared=2, n_private=1, **FAST),
    IDMVAE(
        n_shared=2,
        n_private=1,
        genaug="lsq",
        diffusion_prior=True,
        diffusion_steps=20,
        diffusion_sampling_steps=5,
        **FAST,
    ),
    PrivateSharedVAE(n_shared=2, n_private=1, **FAST),
    DMVAE(n_shared=2, n_private=1, discriminator_hidden=8, **FAST),
    MMVM(n_latent=2, **FAST),
    MMVM(n_latent=2, kl="sampled", alpha=0.5, alpha_warmup_steps=3, **FAST),
    MVAE(n_latent=2, prior_sampler="gmm", n_prior_components=3, **FAST),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
