"""The training engine: batch gathering, subsets, memory maps, reduced precision."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skmmvae import MMVAEPlus, make_shared_private
from skmmvae.training import BatchIterator, ViewData


def test_viewdata_gathers_rows_for_tensors_and_memmaps(tmp_path, rng):
    a = rng.randn(20, 3).astype(np.float32)
    path = tmp_path / "b.npy"
    np.save(path, rng.randn(20, 2).astype(np.float32))
    b = np.load(path, mmap_mode="r")
    mask = rng.rand(20, 2) > 0.2
    data = ViewData([a, b], mask, "cpu")
    assert isinstance(data.arrays[1], np.memmap)  # not loaded into memory
    batch = data.take(torch.tensor([7, 2, 11]))
    order = [2, 7, 11]  # memory-mapped batches are read in file order
    np.testing.assert_array_equal(batch.views[0].numpy(), a[order])
    np.testing.assert_array_equal(batch.views[1].numpy(), b[order])
    np.testing.assert_array_equal(batch.mask.numpy(), mask[order])

    sub = data.subset(np.array([5, 1, 9, 3]))
    assert len(sub) == 4 and sub.arrays[1] is data.arrays[1]  # shares the arrays
    inner = sub.subset(np.array([2, 0]))
    got = inner.take(torch.tensor([0, 1]))
    np.testing.assert_array_equal(got.views[1].numpy(), b[[5, 9]])


def test_batch_iterator_covers_every_row_once(rng):
    data = ViewData([rng.randn(23, 2).astype(np.float32)], np.ones((23, 1), bool), "cpu")
    torch.manual_seed(0)
    it = BatchIterator(data, batch_size=5, shuffle=True)
    assert len(it) == 5
    seen = torch.cat([batch.views[0] for batch, _ in it])
    assert seen.shape == (23, 2)
    np.testing.assert_array_equal(
        np.sort(seen.numpy(), axis=0), np.sort(data.arrays[0].numpy(), axis=0)
    )
    first = next(iter(BatchIterator(data, 5, shuffle=False)))[0].views[0]
    np.testing.assert_array_equal(first.numpy(), data.arrays[0][:5].numpy())


def test_bf16_runs_the_layers_in_bfloat16_and_the_math_in_float32():
    """precision="bf16": the encoders' and decoders' layers compute in bfloat16
    (autocast), their outputs and every posterior, KL and likelihood stay float32, the
    loss stays finite and the fit stays close to the float32 one."""
    X, y, _ = make_shared_private(n_samples=200, n_views=3, n_features=8, random_state=0)
    kw = dict(n_shared=4, n_private=2, max_epochs=5, hidden_layer_sizes=(32,), random_state=0)
    low = MMVAEPlus(precision="bf16", **kw).fit(X)
    full = MMVAEPlus(**kw).fit(X)
    assert all(np.isfinite(row["train_loss"]) for row in low.history_)
    module = low.net_.module_
    seen = []
    handle = module.decoders[0][1].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    arrays, mask, _ = low._validate_input(X, reset=False)
    views = [torch.as_tensor(a) for a in low._to_network(arrays, mask)]
    with torch.no_grad():
        enc = module.encode(views, torch.as_tensor(mask))
        out = module.decoder_output(0, torch.cat([enc.shared.mean, enc.private.loc[0]], -1))
    handle.remove()
    assert seen == [torch.bfloat16]
    assert enc.shared.mean.dtype == enc.experts.param.dtype == out.dtype == torch.float32
    gap = np.abs(low.transform(X) - full.transform(X)).max()
    assert 0 < gap < 0.1  # bfloat16 rounding moves the fit a little, not more
    assert low.score(X) == pytest.approx(full.score(X), rel=0.02)
    with pytest.raises(ValueError, match="^precision must be one of"):
        MMVAEPlus(precision="16", **kw).fit(X)


@pytest.mark.gpu
def test_memory_mapped_pixels_reach_cuda_as_float32(tmp_path):
    """Rows of a uint8 memory map cross to the GPU through pinned memory, in file
    order, and arrive as float32 x / 255."""
    pixels = np.random.RandomState(0).randint(0, 256, (40, 1, 16, 16)).astype(np.uint8)
    np.save(tmp_path / "p.npy", pixels)
    data = ViewData([np.load(tmp_path / "p.npy", mmap_mode="r")], np.ones((40, 1), bool), "cuda")
    batch = data.take(torch.tensor([5, 1, 30], device="cuda"))
    assert batch.views[0].device.type == "cuda" and batch.views[0].dtype == torch.float32
    want = pixels[[1, 5, 30]] / np.float32(255)
    np.testing.assert_array_equal(batch.views[0].cpu().numpy(), want)


@pytest.mark.gpu
def test_bf16_fit_on_cuda_stays_finite():
    X, _, _ = make_shared_private(n_samples=200, n_views=3, n_features=8, random_state=0)
    est = MMVAEPlus(n_shared=4, n_private=2, max_epochs=3, precision="bf16", device="cuda")
    est.fit(X)
    assert all(np.isfinite(row["train_loss"]) for row in est.history_)
    assert np.isfinite(est.transform(X)).all()


def test_float16_training_scales_the_loss_and_shows_callbacks_true_gradients():
    """precision="16-mixed": the layers run in float16 with a gradient scaler; the
    callbacks (e.g. gradient clipping) see the unscaled gradients, of the size float32
    training has, and the fit stays close to the float32 one."""
    from skorch.callbacks import Callback

    class GradNorms(Callback):
        def initialize(self):
            self.norms = []
            return self

        def on_grad_computed(self, net, named_parameters, **kwargs):
            grads = [p.grad.norm() for _, p in named_parameters if p.grad is not None]
            self.norms.append(float(torch.stack(grads).norm()))

    X, _, _ = make_shared_private(n_samples=200, n_views=3, n_features=8, random_state=0)
    kw = dict(n_shared=4, n_private=2, max_epochs=3, hidden_layer_sizes=(32,), random_state=0)
    half = MMVAEPlus(precision="16-mixed", callbacks=[GradNorms()], **kw).fit(X)
    full = MMVAEPlus(callbacks=[GradNorms()], **kw).fit(X)
    assert half.net_.module_.network_dtype == torch.float16
    assert half.net_.grad_scaler.get_scale() > 1000  # the loss was scaled up

    def norms(est):
        return np.array(next(c for _, c in est.net_.callbacks_ if isinstance(c, GradNorms)).norms)

    n_half, n_full = norms(half), norms(full)
    assert len(n_half) == len(n_full) > 0
    np.testing.assert_allclose(n_half, n_full, rtol=0.05)  # unscaled before callbacks
    assert np.abs(half.transform(X) - full.transform(X)).max() < 0.05
    half.set_params(precision="32", warm_start=True).fit(X)  # back to float32
    assert half.net_.grad_scaler is None and half.net_.module_.network_dtype is None


class CountingBackend:
    """A torch.compile backend that records the graphs dynamo captured and runs them
    as captured (no code generation: no C++ compiler needed)."""

    graphs = []

    def __call__(self, graph_module, example_inputs):
        CountingBackend.graphs.append(graph_module)
        return graph_module.forward


def test_compile_runs_the_training_forward_through_torch_compile():
    """compile=...: dynamo captures the module's training forward (the graphs reach the
    backend), the fit matches an eager one, ``module_`` stays the module itself (its
    methods are the estimator's API), and the model pickles and warm-starts."""
    import pickle

    from skmmvae.module import MultimodalModule

    X, _, _ = make_shared_private(n_samples=96, n_views=2, n_features=5, random_state=0)
    kw = dict(n_shared=2, n_private=1, max_epochs=2, hidden_layer_sizes=(16,), random_state=0)
    eager = MMVAEPlus(**kw).fit(X)
    CountingBackend.graphs.clear()
    compiled = MMVAEPlus(compile={"backend": CountingBackend()}, **kw).fit(X)
    assert CountingBackend.graphs, "torch.compile never saw the forward"
    ops = {n.target for g in CountingBackend.graphs for n in g.graph.nodes}
    assert torch.nn.functional.linear in ops  # the networks' layers, not just glue
    assert isinstance(compiled.net_.module_, MultimodalModule)
    np.testing.assert_allclose(
        compiled.history_[:, "train_loss"], eager.history_[:, "train_loss"], rtol=1e-4
    )
    np.testing.assert_allclose(compiled.transform(X), eager.transform(X), atol=1e-4)

    loaded = pickle.loads(pickle.dumps(compiled))
    before = len(CountingBackend.graphs)
    loaded.set_params(warm_start=True, max_epochs=1).fit(X)  # compiled again
    assert len(CountingBackend.graphs) > before and len(loaded.history_) == 3
    # switched off in a warm start: the forward runs eagerly
    before = len(CountingBackend.graphs)
    loaded.set_params(compile=False).fit(X)
    assert len(CountingBackend.graphs) == before and len(loaded.history_) == 4


def test_compile_must_be_a_flag_or_compile_arguments():
    X, _, _ = make_shared_private(n_samples=40, n_views=2, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="^compile must be True or False or a dict"):
        MMVAEPlus(compile="max-autotune", max_epochs=1).fit(X)


def test_to_device_refuses_unknown_devices_and_keeps_a_cpu_model_working():
    X, _, _ = make_shared_private(n_samples=60, n_views=2, n_features=4, random_state=0)
    est = MMVAEPlus(n_shared=2, n_private=1, max_epochs=1, hidden_layer_sizes=(8,))
    with pytest.raises(NotFittedError):
        est.to_device("cpu")
    est.fit(X)
    with pytest.raises(ValueError, match="^device must be 'auto' or a torch device"):
        est.to_device("gpu")
    want = est.transform(X)
    assert est.to_device("cpu") is est and est.device_ == "cpu"
    np.testing.assert_array_equal(est.transform(X), want)
    est.set_params(warm_start=True).fit(X)  # the optimizer state was re-loaded intact
    assert len(est.history_) == 2


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["32", "16-mixed"])
def test_a_fitted_model_moves_between_cpu_and_cuda(precision):
    """Fitted on the CPU, moved to CUDA: same latents, a warm start continues there
    (optimizer state and loss scaler moved along); moved back, it pickles and loads
    on the CPU with the latents CUDA computed (to float tolerance)."""
    import pickle

    X, _, _ = make_shared_private(n_samples=120, n_views=2, n_features=6, random_state=0)
    est = MMVAEPlus(n_shared=2, n_private=1, max_epochs=2, device="cpu", precision=precision)
    want = est.fit(X).transform(X)
    est.to_device("cuda")
    assert est.device_.startswith("cuda")
    assert all(p.device.type == "cuda" for p in est.net_.module_.parameters())
    np.testing.assert_allclose(est.transform(X), want, atol=1e-4)
    est.set_params(warm_start=True).fit(X)
    state = est.net_.optimizer_.state_dict()["state"]
    assert all(v["exp_avg"].device.type == "cuda" for v in state.values())
    on_cuda = est.transform(X)
    back = pickle.loads(pickle.dumps(est.to_device("cpu")))
    assert back.device_ == "cpu"
    np.testing.assert_allclose(back.transform(X), on_cuda, atol=1e-4)
