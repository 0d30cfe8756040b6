"""The training engine's data path: batch gathering, subsets, memory maps."""

import numpy as np
import torch

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
