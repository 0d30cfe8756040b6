"""Latent diffusion (DDPM) priors.

A :class:`LatentDDPM` models a low-dimensional latent ``z`` (Ho et al., 2020): the
forward process ``q(z_t | z_0) = N(sqrt(a_t) z_0, (1 - a_t) I)`` with a cosine
schedule of ``a_t = prod_{s<=t} (1 - beta_s)``; a small MLP denoiser with a
sinusoidal timestep embedding predicts the noise (``"eps"``) or the clean latent
(``"x0"``). Its training loss is the simplified DDPM objective

    L(z_0) = E_{t, eps} || eps - eps_theta(sqrt(a_t) z_0 + sqrt(1 - a_t) eps, t) ||^2,

a reweighted form of the variational bound on ``-log p(z_0)``, summed over latent
dimensions. Sampling runs the ancestral sampler on ``sampling_steps`` evenly spaced
timesteps (respaced betas, Nichol & Dhariwal, 2021).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["LatentDDPM"]


def cosine_alphas_cumprod(n_steps, s=0.008):
    """``a_t`` of the cosine schedule (Nichol & Dhariwal, 2021), t = 1..T."""
    t = torch.linspace(0, n_steps, n_steps + 1, dtype=torch.float64) / n_steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    a = f / f[0]
    betas = (1 - a[1:] / a[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


class TimeEmbedding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        args = t.float().unsqueeze(-1) * freqs
        return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


class LatentDDPM(nn.Module):
    """DDPM over vectors of size ``dim`` with an MLP denoiser.

    Parameters
    ----------
    dim : int
        Latent size.
    hidden : int, default=256
        Width of the denoiser.
    n_steps : int, default=1000
        Diffusion steps T used in training.
    sampling_steps : int, default=100
        Steps of the (respaced) ancestral sampler.
    parameterization : {"eps", "x0"}, default="eps"
    """

    def __init__(self, dim, hidden=256, n_steps=1000, sampling_steps=100, parameterization="eps"):
        super().__init__()
        if parameterization not in ("eps", "x0"):
            raise ValueError("parameterization must be 'eps' or 'x0'.")
        if not 1 <= sampling_steps <= n_steps:
            raise ValueError("sampling_steps must be in [1, n_steps].")
        self.dim = dim
        self.n_steps = n_steps
        self.sampling_steps = sampling_steps
        self.parameterization = parameterization
        self.register_buffer("alphas_cumprod", cosine_alphas_cumprod(n_steps).float())
        self.embed = TimeEmbedding(64)
        self.net = nn.Sequential(
            nn.Linear(dim + 64, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, dim),
        )

    def denoise(self, z_t, t):
        """The network's prediction (noise or clean latent) at integer steps ``t``."""
        return self.net(torch.cat([z_t, self.embed(t)], dim=-1))

    def loss(self, z0):
        """Per-sample simplified DDPM loss, shape ``(B,)``; one random step per sample."""
        t = torch.randint(0, self.n_steps, (z0.shape[0],), device=z0.device)
        a = self.alphas_cumprod[t].unsqueeze(-1)
        eps = torch.randn_like(z0)
        z_t = a.sqrt() * z0 + (1 - a).sqrt() * eps
        pred = self.denoise(z_t, t)
        target = eps if self.parameterization == "eps" else z0
        return ((pred - target) ** 2).sum(-1)

    @torch.no_grad()
    def sample(self, n, steps=None):
        """``n`` latents from the reverse process, shape ``(n, dim)``."""
        steps = steps or self.sampling_steps
        device = self.alphas_cumprod.device
        ts = torch.linspace(self.n_steps - 1, 0, steps, device=device).round().long()
        a_all = self.alphas_cumprod[ts]
        z = torch.randn(n, self.dim, device=device)
        for i, t in enumerate(ts):
            a_t = a_all[i]
            a_prev = a_all[i + 1] if i + 1 < len(ts) else torch.ones((), device=device)
            beta = 1 - a_t / a_prev  # respaced beta
            pred = self.denoise(z, t.expand(n))
            if self.parameterization == "eps":
                x0 = (z - (1 - a_t).sqrt() * pred) / a_t.sqrt()
            else:
                x0 = pred
            x0 = x0.clamp(-20, 20)
            # posterior q(z_prev | z_t, x0)
            mean = (a_prev.sqrt() * beta / (1 - a_t)) * x0 + (
                (1 - beta).sqrt() * (1 - a_prev) / (1 - a_t)
            ) * z
            if i + 1 < len(ts):
                var = beta * (1 - a_prev) / (1 - a_t)
                z = mean + var.clamp_min(1e-20).sqrt() * torch.randn_like(z)
            else:
                z = mean
        return z
