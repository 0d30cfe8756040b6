"""Hand-written training losses (the floors of benchmarks/throughput.py) for the methods
with private latents: MMVAE+, IDMVAE, DMVAE and MMVM, for complete data and the
estimators' default settings.

The networks are the library's own network objects (taken from a module the estimator
builds, so the architectures and initial weights are the library's); everything around
them is written out here with plain torch operations: sampling, densities, products
and mixtures of experts, contrastive terms, the objective. The floors batch what
batches: the draws of all sources go through each view's decoder in one call, and
IDMVAE's two generated views per view in one call.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from skmmvae.modalities import GaussianLikelihood, LaplaceLikelihood

LOG_2PI = math.log(2 * math.pi)


def experts(encoders, xs):
    """Each view's posterior parameters, stacked: ``(M, B, D)`` means and log-variances."""
    raw = [enc(x) for enc, x in zip(encoders, xs)]
    loc = torch.stack([r.chunk(2, -1)[0] for r in raw])
    logvar = torch.stack([r.chunk(2, -1)[1] for r in raw]).clamp(-12.0, 8.0)
    return loc, logvar


def rsample(loc, logvar):
    return loc + torch.exp(0.5 * logvar) * torch.randn_like(loc)


def log_normal(z, loc, logvar):
    return -0.5 * (LOG_2PI + logvar + (z - loc) ** 2 * torch.exp(-logvar)).sum(-1)


def kl_standard(loc, logvar):
    return 0.5 * (loc**2 + logvar.exp() - 1.0 - logvar).sum(-1)


def mean_of(lik, out):
    return torch.sigmoid(out) if lik.activation == "sigmoid" else out


def log_lik(lik, out, x):
    """log p(x | decoder output) for Gaussian and Laplace views, summed over features."""
    log_s = lik.log_scale.clamp(-7.0, 5.0)
    diff = x - mean_of(lik, out)
    if isinstance(lik, GaussianLikelihood):
        ll = -0.5 * LOG_2PI - log_s - 0.5 * (diff * torch.exp(-log_s)) ** 2
    elif isinstance(lik, LaplaceLikelihood):
        ll = -math.log(2.0) - log_s - diff.abs() * torch.exp(-log_s)
    else:
        raise TypeError(f"no floor for {type(lik).__name__}")
    return ll.flatten(start_dim=ll.dim() - lik.n_event_dims).sum(-1)


def decode(net, d, latent):
    """Decoder ``d`` on ``latent`` of shape ``(*S, B, D)``: one call for all rows."""
    out = net.decoders[d](latent.reshape(-1, latent.shape[-1]))
    return out.reshape(*latent.shape[:-1], *out.shape[1:])


def contrast(a, b, temperature=1.0):
    """InfoNCE of anchors ``a`` against the batch of ``b`` (positives on the diagonal)."""
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / temperature
    return logits.diagonal() - torch.logsumexp(logits, 1)


def mmvaeplus_terms(net, xs, beta=1.0):
    """The MMVAE+ loss per sample (K = 1) and the posterior parameters."""
    n_views = len(xs)
    mu, lv = experts(net.shared_encoders, xs)
    wmu, wlv = experts(net.private_encoders, xs)
    z, w = rsample(mu, lv), rsample(wmu, wlv)  # one draw per source m
    # q(z_m | X): the mixture of all experts at each source's draw, (M, B)
    log_qz = torch.logsumexp(log_normal(z[:, None], mu[None], lv[None]), 1) - math.log(n_views)
    log_qw = log_normal(w, wmu, wlv)
    own = torch.eye(n_views, dtype=torch.bool, device=z.device)[:, :, None, None]  # (M, M, 1, 1)
    rec = 0.0
    for d in range(n_views):
        # source m decodes view d with its own w_d when m == d, else w~ from r_d
        w_tilde = torch.exp(0.5 * net.aux_prior[d]) * torch.randn_like(w)
        w_d = torch.where(own[:, d], w[d].unsqueeze(0), w_tilde)
        rec = rec + log_lik(net.likelihoods[d], decode(net, d, torch.cat([z, w_d], -1)), xs[d])
    zero_z, zero_w = torch.zeros_like(z), torch.zeros_like(w)
    log_prior = log_normal(z, zero_z, zero_z) + log_normal(w, zero_w, zero_w)
    log_w = rec + beta * (log_prior - log_qz - log_qw)  # (M, B)
    return -log_w.mean(0), (mu, lv, wmu, wlv)


def floor_mmvaeplus(net, xs):
    return mmvaeplus_terms(net, xs)[0].mean()


def floor_idmvae(net, xs, lambda1=10.0, lambda2=1.0):
    """MMVAE+ + lambda1 L_CrossMI + lambda2 L_GenAug (authors' normalisation, Eq. 1
    negatives, contrastive matching)."""
    n_views = len(xs)
    loss, (mu, lv, wmu, wlv) = mmvaeplus_terms(net, xs)
    total = 0.0
    for m in range(n_views):
        for n in range(m + 1, n_views):
            total = total + 0.5 * (contrast(mu[m], mu[n]) + contrast(mu[n], mu[m]))
    cross_mi = -2.0 * total / max(n_views - 1, 1)
    z, w = rsample(mu, lv), rsample(wmu, wlv)
    gen_aug = 0.0
    for m in range(n_views):
        # the partner is the previous sample of the batch; both generated views of view
        # m (its z with the partner's w, the partner's z with its w) in one decoder call
        latent = torch.cat(
            [torch.cat([z[m], w[m].roll(1, 0)], -1), torch.cat([z[m].roll(1, 0), w[m]], -1)]
        )
        x_w, x_z = mean_of(net.likelihoods[m], decode(net, m, latent)).chunk(2)
        w_again = net.private_encoders[m](x_w).chunk(2, -1)[0]
        z_again = net.shared_encoders[m](x_z).chunk(2, -1)[0]
        loss_w = -contrast(w_again, wmu[m].roll(1, 0))
        loss_z = -contrast(z_again, mu[m].roll(1, 0))
        gen_aug = gen_aug + 0.5 * (loss_w + loss_z)
    return (loss + lambda1 * cross_mi + lambda2 * gen_aug).mean()


def product(loc, logvar, member):
    """Product of the experts in ``member`` ((B, M) bool), no prior expert; an empty
    product (never used) is given unit precision."""
    precision = torch.exp(-logvar) * member.T.unsqueeze(-1)  # (M, B, D)
    total = precision.sum(0)
    total = torch.where(member.any(1, keepdim=True), total, torch.ones_like(total))
    return (precision * loc).sum(0) / total, -torch.log(total)


class DMVAEFloor:
    """DMVAE (defaults: random split, detached context, InfoNCE weight 1, TC weight 1
    with the posterior means, 5 discriminator steps per model step)."""

    def __init__(self, net, aux_steps=5):
        self.net, self.aux_steps = net, aux_steps
        self.aux_opt = torch.optim.Adam(net.discriminators.parameters(), 1e-3, betas=(0.5, 0.9))

    def loss(self, xs):
        net, n_views = self.net, len(xs)
        batch = xs[0].shape[0]
        mu, lv = experts(net.shared_encoders, xs)
        smu, slv = experts(net.private_encoders, xs)
        dev = xs[0].device
        in_a = torch.rand(batch, n_views, device=dev) < 0.5  # random halves of the views
        mu_a, _ = product(mu, lv, in_a)
        mu_b, _ = product(mu, lv, ~in_a)
        c_bar = torch.where(in_a.T.unsqueeze(-1), mu_a, mu_b).detach()  # (M, B, Dc)
        s = rsample(smu, slv)
        rec = sum(
            log_lik(net.likelihoods[d], decode(net, d, torch.cat([c_bar[d], s[d]], -1)), x)
            for d, x in enumerate(xs)
        )
        loss = -rec + kl_standard(smu, slv).sum(0)
        keep = torch.rand(n_views, device=dev) < 0.5  # InfoNCE: all views against a random subset
        keep[torch.randint(n_views, (1,), device=dev)] = True
        c_full = rsample(
            *product(mu, lv, torch.ones(batch, n_views, dtype=torch.bool, device=dev))
        )
        c_sub = rsample(*product(mu, lv, keep.expand(batch, n_views)))
        loss = loss - 0.5 * (contrast(c_full, c_sub) + contrast(c_sub, c_full))
        logits = net.discriminators(smu, c_bar)  # TC(s_m, c) of every view, (M, B, 2)
        loss = loss + (logits[..., 0] - logits[..., 1]).sum(0)
        self.pairs = (smu.detach(), c_bar)
        return loss.mean()

    def after_step(self):
        s, c = self.pairs
        n_views, batch = s.shape[:2]
        ones = torch.zeros(n_views * batch, dtype=torch.long, device=s.device)
        for _ in range(self.aux_steps):
            perm = torch.argsort(torch.rand(n_views, batch, device=s.device), 1)  # per view
            s_perm = torch.gather(s, 1, perm.unsqueeze(-1).expand_as(s))
            logits = self.net.discriminators(torch.cat([s, s_perm], 1), torch.cat([c, c], 1))
            joint = logits[:, :batch].reshape(-1, 2)
            marginal = logits[:, batch:].reshape(-1, 2)
            per_view = F.cross_entropy(joint, ones, reduction="none") + F.cross_entropy(
                marginal, ones + 1, reduction="none"
            )
            aux = 0.5 * per_view.reshape(n_views, batch).mean(1).sum()  # mean of the two
            self.aux_opt.zero_grad()
            aux.backward()
            self.aux_opt.step()


def floor_mmvm(net, xs, beta=1.0):
    """MMVM with the Jensen bound of the KL to the mixture prior (alpha = 0)."""
    mu, lv = experts(net.encoders, xs)
    z = rsample(mu, lv)
    rec = sum(log_lik(net.likelihoods[m], decode(net, m, z[m]), x) for m, x in enumerate(xs))
    mu_m, lv_m, mu_j, lv_j = mu[:, None], lv[:, None], mu[None], lv[None]
    pairs = 0.5 * (lv_j - lv_m + (lv_m.exp() + (mu_m - mu_j) ** 2) * torch.exp(-lv_j) - 1)
    kl = pairs.sum(-1).mean(1).sum(0)  # KL(q_m || q_j) averaged over j, summed over m
    return -(rec - beta * kl).mean()
