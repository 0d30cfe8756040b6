"""The latent DDPM prior: its loss decreases and its samples match the target."""

import numpy as np
import pytest
import torch

from skmmvae.diffusion import LatentDDPM


def test_ddpm_loss_decreases_and_samples_match_target():
    torch.manual_seed(0)
    ddpm = LatentDDPM(2, hidden=64, n_steps=200, sampling_steps=50)
    opt = torch.optim.Adam(ddpm.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 1500)
    mean, std = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 1.5])
    losses = []
    for _ in range(1500):
        loss = ddpm.loss(mean + std * torch.randn(256, 2)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    assert np.mean(losses[-100:]) < 0.8 * np.mean(losses[:50])
    samples = ddpm.sample(4000)
    torch.testing.assert_close(samples.mean(0), mean, atol=0.15, rtol=0)
    torch.testing.assert_close(samples.std(0), std, rtol=0.1, atol=0)
    with pytest.raises(ValueError, match="sampling_steps"):
        LatentDDPM(2, n_steps=10, sampling_steps=20)
