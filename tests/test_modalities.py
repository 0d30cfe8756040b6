"""Likelihoods, networks and 'auto' inference for tables, images and tokens."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from skmmvae import MMVAE, MVAE, MMVAEPlus, Modality, MoPoE, MultiView
from skmmvae.modalities import resolve_modalities
from skmmvae.networks import (
    ConvDecoder,
    ConvEncoder,
    PoolEncoder,
    ResNetDecoder,
    ResNetEncoder,
)

FAST = dict(max_epochs=1, batch_size=16, hidden_layer_sizes=(16,), random_state=0)


def _specs(arrays, modalities="auto"):
    mask = np.ones((len(arrays[0]), len(arrays)), bool)
    return resolve_modalities(modalities, arrays, mask, (16,))


def test_auto_inference(rng):
    arrays = [
        rng.randn(8, 3),
        (rng.rand(8, 4) > 0.5).astype(float),
        rng.randint(0, 7, size=(8, 5)),
        rng.rand(8, 3, 32, 32),
        rng.randn(8, 1, 28, 28),
        rng.rand(8, 3, 20, 20),
    ]
    specs = _specs(arrays)
    assert [s.likelihood for s in specs] == [
        "gaussian",
        "bernoulli",
        "categorical",
        "laplace",
        "gaussian",
        "laplace",
    ]
    assert [s.arch for s in specs] == ["mlp", "mlp", "text", "resnet", "resnet", "mlp"]
    assert specs[2].vocab_size == 7 and specs[0].mean is not None and specs[3].mean is None
    assert specs[3].activation == "sigmoid" and specs[3].scale == 0.75 and not specs[3].learn_scale
    assert specs[0].learn_scale


@pytest.mark.parametrize("side", [16, 28, 32, 64, 128, 256])
def test_conv_nets_for_all_supported_sides(side):
    enc, dec = ConvEncoder((3, side, side), 8), ConvDecoder(4, (3, side, side))
    assert enc(torch.zeros(2, 3, side, side)).shape == (2, 8)
    assert dec(torch.zeros(2, 4)).shape == (2, 3, side, side)


@pytest.mark.parametrize("side", [16, 28, 32, 64])
@pytest.mark.parametrize("width", [4, 16])
def test_resnet_nets_for_supported_sides(side, width):
    x = torch.rand(2, 3, side, side)
    for cls in (ResNetEncoder, PoolEncoder):
        assert cls((3, side, side), 8, hidden=16, width=width)(x).shape == (2, 8)
    dec = ResNetDecoder(4, (3, side, side), hidden=16, width=width)
    assert dec(torch.zeros(2, 4)).shape == (2, 3, side, side)


def test_pool_encoder_is_translation_invariant_and_resnet_encoder_is_not():
    """An image cyclically shifted by a multiple of the pooling stride (8 for three
    levels), e.g. a digit moved to another quadrant, gives exactly the same shared code
    from PoolEncoder; ResNetEncoder's code tells the positions apart (it must keep the
    quadrant)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    torch.manual_seed(0)
    pool, res = PoolEncoder((3, 32, 32), 6, hidden=16), ResNetEncoder((3, 32, 32), 6, hidden=16)
    with torch.no_grad():
        for shift in ((16, 0), (0, 16), (16, 16), (8, 24)):
            moved = torch.roll(x, shifts=shift, dims=(2, 3))
            torch.testing.assert_close(pool(moved), pool(x), atol=1e-5, rtol=1e-4)
            assert (res(moved) - res(x)).norm() > 0.1 * res(x).norm()
        # a shift that is not a multiple of the stride may change the code
        assert (pool(torch.roll(x, 3, dims=2)) - pool(x)).abs().max() > 1e-4


@pytest.mark.parametrize("cls", [ResNetEncoder, PoolEncoder])
def test_image_encoders_code_each_row_on_its_own(cls):
    """GroupNorm, not BatchNorm: a row's code is the same alone or in any batch (so a
    missing view's zero-filled rows never change the others'), in train mode too."""
    torch.manual_seed(0)
    enc = cls((3, 32, 32), 6, hidden=16, width=8).train()
    x = torch.rand(5, 3, 32, 32)
    together = enc(x)
    x2 = x.clone()
    x2[1:] = 0.0
    torch.testing.assert_close(enc(x2)[0], together[0])
    torch.testing.assert_close(enc(x[:1])[0], together[0])


def test_auto_image_towers_by_role(rng):
    """Images get resnet networks; the shared tower of a method with private latents
    is the pooling encoder, every other encoder keeps spatial information."""
    views = [rng.rand(8, 3, 32, 32), rng.rand(8, 3, 32, 32)]
    mask = np.ones((8, 2), bool)
    specs = resolve_modalities(Modality(channels=8), views, mask, (16,))
    plus = MMVAEPlus(n_shared=2, n_private=2)._build_module(specs)
    assert all(isinstance(e, PoolEncoder) for e in plus.shared_encoders)
    assert all(isinstance(e, ResNetEncoder) for e in plus.private_encoders)
    assert all(isinstance(d, ResNetDecoder) for d in plus.decoders)
    assert all(
        isinstance(e, ResNetEncoder) for e in MVAE(n_latent=2)._build_module(specs).encoders
    )
    with pytest.raises(ValueError, match="channels"):
        resolve_modalities(Modality(channels=2), views, mask, (16,))


def test_conv_rejects_unsupported_size(rng):
    with pytest.raises(ValueError, match="arch='conv'"):
        _specs([rng.rand(4, 3, 20, 20)], [Modality(arch="conv")])


@pytest.mark.parametrize("cls", [MVAE, MMVAE, MoPoE])
def test_images_and_text_views_train_and_impute(cls, rng):
    n = 32
    images = rng.rand(n, 1, 28, 28).astype(np.float32)
    tokens = rng.randint(0, 6, size=(n, 8))
    table = rng.randn(n, 4)
    images[:4] = np.nan  # missing images
    X = MultiView([images, tokens, table])
    est = cls(n_latent=3, **FAST).fit(X)
    assert est.transform(X).dtype == np.float64
    out = est.impute(X)
    assert out.views[1].dtype == tokens.dtype and np.array_equal(out.views[1], tokens)
    assert np.all((out.views[0][:4] >= 0) & (out.views[0][:4] <= 1))
    assert np.array_equal(out.views[0][4:], images[4:])
    samples = est.sample(3, random_state=0)
    assert samples[0].shape == (3, 1, 28, 28) and samples[1].dtype == np.int64
    assert samples[1].max() < 6
    with pytest.raises(ValueError, match="tokens must lie"):
        est.transform(MultiView([images, tokens + 10, table]))


def test_bernoulli_poisson_and_float32_output(rng):
    n = 40
    X = MultiView(
        [
            (rng.rand(n, 5) > 0.5).astype(np.float32),
            rng.poisson(3.0, size=(n, 4)).astype(np.float32),
        ]
    )
    est = MVAE(n_latent=2, modalities=["auto", "poisson"], **FAST).fit(X)
    assert [s.likelihood for s in est.modalities_] == ["bernoulli", "poisson"]
    assert est.transform(X).dtype == np.float32
    sampled = est.sample(4, noise=True, random_state=0)
    assert set(np.unique(sampled[0])) <= {0.0, 1.0} and (sampled[1] >= 0).all()


def test_likelihood_log_probs_match_scipy(rng):
    x = rng.randn(6, 3)
    spec = _specs([x], [Modality(likelihood="gaussian", standardize=False)])[0]
    lik = spec.make_likelihood()
    out = torch.as_tensor(rng.randn(6, 3))
    ref = stats.norm.logpdf(x, out.numpy(), 1.0).sum(-1)
    np.testing.assert_allclose(lik.log_prob(out, torch.as_tensor(x)).detach().numpy(), ref)
    spec = _specs(
        [rng.rand(6, 3)], [Modality(likelihood="laplace", output_activation="identity")]
    )[0]
    lik = spec.make_likelihood()
    ref = stats.laplace.logpdf(x, out.numpy(), 0.75).sum(-1)
    np.testing.assert_allclose(lik.log_prob(out, torch.as_tensor(x)).numpy(), ref, rtol=1e-6)
    tokens = rng.randint(0, 4, size=(6, 2))
    spec = _specs([tokens])[0]
    logits = torch.as_tensor(rng.randn(6, 2, 4))
    lp = spec.make_likelihood().log_prob(logits, torch.as_tensor(tokens))
    ref = np.log(np.take_along_axis(torch.softmax(logits, -1).numpy(), tokens[..., None], -1))
    np.testing.assert_allclose(lp.numpy(), ref.sum((1, 2)), rtol=1e-6)


def test_standardisation_is_internal_and_inverted(rng):
    big = 1000 + 50 * rng.randn(64, 3)
    X = MultiView([big, rng.randn(64, 2)])
    est = MVAE(n_latent=2, **{**FAST, "max_epochs": 5}).fit(X)
    rec = est.reconstruct(X).views[0]
    assert abs(rec.mean() - 1000) < 60
    # score is a density of the original data: shifting the data by a constant must not change it
    shifted = MultiView([big + 5.0, X.views[1]])
    est2 = MVAE(n_latent=2, **{**FAST, "max_epochs": 5}).fit(shifted)
    assert est.score(X) == pytest.approx(est2.score(shifted), rel=1e-4)
    assert est.modalities_[0].log_det == pytest.approx(-np.log(big.std(0)).sum())


def test_custom_network_factories(rng):
    calls = []

    def encoder(shape, out_dim):
        calls.append(("enc", shape, out_dim))
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(math.prod(shape), out_dim))

    def decoder(latent_dim, shape):
        calls.append(("dec", latent_dim, shape))
        return torch.nn.Linear(latent_dim, shape[0])

    X = MultiView([rng.randn(20, 3), rng.randn(20, 2)])
    MVAE(n_latent=2, modalities=[Modality(encoder=encoder, decoder=decoder), "auto"], **FAST).fit(
        X
    )
    assert ("enc", (3,), 4) in calls and ("dec", 2, (3,)) in calls
    with pytest.raises(TypeError, match="torch.nn.Module"):
        MVAE(modalities=[Modality(encoder=lambda s, d: None), "auto"], **FAST).fit(X)


def test_memory_mapped_views_train(tmp_path, rng):
    path = tmp_path / "view.npy"
    np.save(path, rng.randn(50, 4).astype(np.float32))
    mapped = np.load(path, mmap_mode="r")
    X = MultiView([mapped, rng.randn(50, 3)])
    est = MMVAE(n_latent=2, modalities=[Modality(standardize=False), "auto"], **FAST).fit(X)
    assert est.transform(X).shape == (50, 2)
    est = MVAE(n_latent=2, early_stopping=True, **FAST).fit(X)
    assert "valid_loss" in est.history_[-1]


def test_bad_modality_specs(rng):
    X = [rng.randn(6, 2)]
    with pytest.raises(ValueError, match="bernoulli data"):
        _specs(X, ["bernoulli"])
    with pytest.raises(ValueError, match="arch must"):
        _specs(X, [Modality(arch="transformer")])
    with pytest.raises(ValueError, match="categorical"):
        _specs(X, [Modality(arch="text")])
    with pytest.raises(ValueError, match="non-negative integers"):
        _specs([rng.randn(6, 2)], ["categorical"])
    with pytest.raises(TypeError, match="Modality"):
        _specs(X, [3])
    with pytest.raises(ValueError, match="scale must"):
        _specs(X, [Modality(scale=-1.0)])


@pytest.mark.gpu
def test_fits_on_cuda(rng):
    X = MultiView([rng.randn(64, 4), rng.randn(64, 3)])
    est = MVAE(n_latent=2, device="cuda", **FAST).fit(X)
    assert est.device_ == "cuda" and est.transform(X).shape == (64, 2)


def test_builtin_image_encoders_start_with_narrow_posteriors(rng):
    """Built-in image encoders start at posterior scale IMAGE_INIT_SCALE (0.1), so the
    decoders can use the latents from the first steps; table views and user encoders
    keep the default (about 1), and so does the Laplace family (its scales are a
    softmax, set by the data)."""
    images = rng.rand(16, 3, 32, 32).astype(np.float32)
    table = rng.randn(16, 5).astype(np.float32)
    mask = np.ones((16, 2), bool)
    specs = resolve_modalities(Modality(channels=8), [images, table], mask, (16,))
    module = MMVAEPlus(n_shared=3, n_private=4)._build_module(specs)
    with torch.no_grad():
        enc = module.encode(
            [torch.from_numpy(images), torch.from_numpy(table)], torch.from_numpy(mask)
        )
    for key, q in (("shared", enc.experts), ("private", enc.private)):
        image_scale, table_scale = q.scale[0], q.scale[1]
        assert 0.05 < image_scale.median() < 0.2, key
        assert 0.5 < table_scale.median() < 2.0, key


def _pixel_data(n=64, seed=0):
    rng = np.random.RandomState(seed)
    pixels = rng.randint(0, 256, size=(n, 1, 16, 16)).astype(np.uint8)
    table = rng.randn(n, 3).astype(np.float32)
    return pixels, table


def _pixel_model(**kw):
    return MMVAEPlus(
        n_shared=2,
        n_private=2,
        max_epochs=2,
        batch_size=16,
        hidden_layer_sizes=(16,),
        modalities=[Modality(channels=4), "auto"],
        random_state=0,
        **kw,
    )


def test_uint8_images_are_pixel_intensities():
    """A uint8 image view is modelled as x / 255: the fit equals the fit of the float
    images in [0, 1], scores differ by the change of variables D log 255, and
    imputations come back on the 0-255 scale."""
    pixels, table = _pixel_data()
    X8 = MultiView([pixels, table])
    Xf = MultiView([pixels.astype(np.float32) / 255, table])
    a, b = _pixel_model().fit(X8), _pixel_model().fit(Xf)
    assert a.modalities_[0].likelihood == b.modalities_[0].likelihood == "laplace"
    np.testing.assert_allclose(a.transform(X8), b.transform(Xf), rtol=1e-5, atol=1e-6)
    d = 16 * 16
    np.testing.assert_allclose(
        a.score_samples(X8), b.score_samples(Xf) - d * np.log(255.0), rtol=1e-6
    )
    hidden = np.array([[False, True]] * 64)
    filled8 = a.impute(MultiView([pixels, table], mask=hidden)).views[0]
    filledf = b.impute(MultiView([Xf.views[0], table], mask=hidden)).views[0]
    np.testing.assert_allclose(filled8, 255 * filledf, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="fitted on 8-bit pixels"):
        a.transform(Xf)
    with pytest.raises(ValueError, match="fitted on floating-point images"):
        b.transform(X8)


def test_uint8_memory_map_is_read_batch_by_batch(tmp_path):
    """A uint8 memory-mapped view stays mapped and 8-bit until a batch reaches the
    network (a quarter of the float32 file's bytes), and trains as the float32 file of
    the same pixels / 255 (both read in file order within a batch)."""
    pixels, table = _pixel_data()

    def mapped(name, values):
        out = np.lib.format.open_memmap(tmp_path / name, "w+", values.dtype, values.shape)
        out[:] = values
        out.flush()
        return np.load(tmp_path / name, mmap_mode="r")

    X8 = MultiView([mapped("p8.npy", pixels), table])
    Xf = MultiView([mapped("pf.npy", pixels.astype(np.float32) / 255), table])
    assert (tmp_path / "p8.npy").stat().st_size * 3.9 < (tmp_path / "pf.npy").stat().st_size
    a, b = _pixel_model().fit(X8), _pixel_model().fit(Xf)
    for est, X in ((a, X8), (b, Xf)):
        arrays, mask, _ = est._validate_input(X, reset=False)
        assert isinstance(est._to_network(arrays, mask)[0], np.memmap)
    np.testing.assert_allclose(a.transform(X8), b.transform(Xf), rtol=1e-5, atol=1e-6)
