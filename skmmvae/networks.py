"""Encoder and decoder networks: MLP, residual and strided conv (square images), 1-D
conv text.

Encoders map a batch of one view ``(B, *shape)`` to ``(B, out_dim)``; decoders map
``(B, latent_dim)`` to the likelihood's parameters ``(B, *output_shape)``. Users can
plug in any module through :class:`~skmmvae.Modality` ``encoder=`` / ``decoder=``.

Image encoders come in two roles (``build_encoder(..., role=)``). A shared latent,
next to private ones (MMVAE+, IDMVAE, DMVAE, PrivateSharedVAE), should hold what the
views have in common, which may sit anywhere in the image (PolyMNIST-Quadrant's
digit): its tower is translation invariant (:class:`PoolEncoder`: max pooling down
to one global max, then a projection head). Private latents, and the single latent
of methods without private ones, must also keep *where* things are (the quadrant):
:class:`ResNetEncoder` flattens its last feature map. All of them normalise with
GroupNorm, which works per sample: a row's code never depends on the other rows of
the batch (a missing view's zero-filled rows, the batch size, train or eval mode).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "MLP",
    "ConvEncoder",
    "ConvDecoder",
    "PoolEncoder",
    "ResNetEncoder",
    "ResNetDecoder",
    "TextEncoder",
    "TextDecoder",
]


def _mlp_layers(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return layers


class MLP(nn.Sequential):
    """Flatten, then ``Linear-ReLU`` blocks, then a linear output reshaped to ``out_shape``."""

    def __init__(self, in_features, hidden, out_shape):
        out_shape = tuple(out_shape) if isinstance(out_shape, (tuple, list)) else (out_shape,)
        out_features = math.prod(out_shape)
        layers = [nn.Flatten()] + _mlp_layers([in_features, *hidden, out_features])
        if len(out_shape) > 1:
            layers.append(nn.Unflatten(1, out_shape))
        super().__init__(*layers)


def _conv_plan(side, channels):
    """Channels per level and the base side for a stack of stride-2 convolutions."""
    n_levels = 2 if side == 28 else int(math.log2(side)) - 2
    base = side // 2**n_levels  # 7 for 28, 4 for powers of two
    widths = [min(32 * 2**i, 256) for i in range(n_levels)]
    return widths, base


def _dense_to_map(latent_dim, hidden, shape):
    """Two dense layers from a latent to a ``(C, H, W)`` feature map (flat, with ReLU)."""
    return nn.Sequential(
        nn.Linear(latent_dim, hidden),
        nn.ReLU(),
        nn.Linear(hidden, math.prod(shape)),
        nn.ReLU(),
    )


class ConvEncoder(nn.Module):
    """Strided 4x4 convolutions down to a 4x4 (7x7 for side 28) map, then a linear head."""

    def __init__(self, in_shape, out_dim, hidden=256):
        super().__init__()
        c, side = in_shape[0], in_shape[1]
        widths, base = _conv_plan(side, c)
        layers, prev = [], c
        for w in widths:
            layers += [nn.Conv2d(prev, w, 4, stride=2, padding=1), nn.ReLU()]
            prev = w
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(prev * base * base, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x):
        return self.out(self.head(self.features(x)))


class ConvDecoder(nn.Module):
    """Mirror of :class:`ConvEncoder` with transposed convolutions."""

    def __init__(self, latent_dim, out_shape, hidden=256):
        super().__init__()
        c, side = out_shape[0], out_shape[1]
        widths, base = _conv_plan(side, c)
        widths = widths[::-1]
        self.base = (widths[0], base, base)
        self.fc = _dense_to_map(latent_dim, hidden, self.base)
        layers = []
        for i, w in enumerate(widths):
            nxt = widths[i + 1] if i + 1 < len(widths) else c
            layers.append(nn.ConvTranspose2d(w, nxt, 4, stride=2, padding=1))
            if i + 1 < len(widths):
                layers.append(nn.ReLU())
        self.deconv = nn.Sequential(*layers)

    def forward(self, z):
        return self.deconv(self.fc(z).view(-1, *self.base))


def _group_norm(channels):
    return nn.GroupNorm(min(8, channels // 4) or 1, channels)


def _widths(side, width):
    """Channels of the stride-2 levels from ``side`` down to 4 (7 for side 28):
    ``width``, doubling per level, at most ``8 * width``."""
    n_levels = len(_conv_plan(side, None)[0])
    return [min(width * 2**i, 8 * width) for i in range(n_levels)]


class ResBlock(nn.Module):
    """``relu(x + f(x))`` with ``f`` = conv3x3-GN-ReLU-conv3x3-GN."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _group_norm(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _group_norm(channels),
        )
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x + self.body(x))


class ResNetEncoder(nn.Module):
    """Encoder that keeps spatial information: per level a stride-2 4x4 convolution
    with GroupNorm and ReLU, down to a 4 x 4 map (7 x 7 for side 28), a residual block
    there, then the flattened map through a dense layer to the output."""

    def __init__(self, in_shape, out_dim, hidden=256, width=32):
        super().__init__()
        c, side = in_shape[0], in_shape[1]
        widths = _widths(side, width)
        base = _conv_plan(side, c)[1]
        layers, prev = [], c
        for w in widths:
            layers += [nn.Conv2d(prev, w, 4, stride=2, padding=1, bias=False), _group_norm(w)]
            layers.append(nn.ReLU())
            prev = w
        self.features = nn.Sequential(*layers, ResBlock(prev), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(prev * base * base, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x):
        return self.out(self.head(self.features(x)))


class PoolEncoder(nn.Module):
    """Translation-invariant encoder for shared latents: per level a conv3x3 and a
    2 x 2 max pool (all convolutions with circular padding, GroupNorm and ReLU), a
    global max pool over the remaining map and a two-layer projection head.

    Circular padding makes every layer equivariant to cyclic shifts of the image (zero
    padding would let the filters find the borders, so the code would learn where the
    object touches them); the pools are equivariant to shifts by multiples of their
    total stride, and the global max and GroupNorm's statistics are invariant. So the
    code of an image cyclically shifted by a multiple of ``2 ** levels`` pixels (8 for
    a 32 x 32 image, half a quadrant) is exactly the same: moving the object moves the
    feature maps, not the code. The first level sees the image at full resolution: a
    strided 4x4 first convolution is cheaper (12 vs 22 ms forward and backward for 64
    images of 3 x 32 x 32 at width 16 on 2 CPU threads) but finds thin strokes more
    slowly (IDMVAE on the mini PolyMNIST-Quadrant, 12 epochs: z -> digit 0.73 vs 0.85,
    benchmarks/results/mini_settings.md)."""

    def __init__(self, in_shape, out_dim, hidden=256, width=32):
        super().__init__()
        c, side = in_shape[0], in_shape[1]
        widths = _widths(side, width)
        layers = []
        for a, b in zip([c] + widths[:-1], widths):
            conv = nn.Conv2d(a, b, 3, padding=1, padding_mode="circular", bias=False)
            layers += [conv, _group_norm(b), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Sequential(
            nn.Linear(widths[-1], hidden), nn.ReLU(), nn.Linear(hidden, out_dim)
        )

    def forward(self, x):
        return self.head(self.features(x))


class ResNetDecoder(nn.Module):
    """Dense layers to a 4 x 4 (7 x 7) map and a residual block there, then per level
    a stride-2 transposed convolution (GroupNorm and ReLU after all but the last, which
    outputs the likelihood's channels at full resolution; no full-resolution hidden
    layer: 10 vs 18 ms forward and backward for 64 images of 3 x 32 x 32 at width 16
    on 2 CPU threads)."""

    def __init__(self, latent_dim, out_shape, hidden=256, width=32):
        super().__init__()
        c, side = out_shape[0], out_shape[1]
        widths = _widths(side, width)[::-1]
        base = _conv_plan(side, c)[1]
        self.base = (widths[0], base, base)
        self.fc = _dense_to_map(latent_dim, hidden, self.base)
        layers = [ResBlock(widths[0])]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=False)]
            layers += [_group_norm(b), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(widths[-1], c, 4, stride=2, padding=1))
        self.up = nn.Sequential(*layers)

    def forward(self, z):
        return self.up(self.fc(z).view(-1, *self.base))


class TextEncoder(nn.Module):
    """Token embedding, two 1-D convolutions, then a linear head."""

    def __init__(self, length, vocab_size, out_dim, embed_dim=64, channels=128, hidden=256):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.conv = nn.Sequential(
            nn.Conv1d(embed_dim, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(channels * length, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, tokens):
        if tokens.is_floating_point():  # token probabilities (B, L, V): soft embedding
            h = (tokens @ self.embed.weight).transpose(1, 2)
        else:
            h = self.embed(tokens).transpose(1, 2)  # (B, E, L)
        return self.out(self.head(self.conv(h)))


class TextDecoder(nn.Module):
    """Linear map to a (channels, L) sequence, 1-D convolutions, per-position logits."""

    def __init__(self, latent_dim, length, vocab_size, channels=128, hidden=256):
        super().__init__()
        self.shape = (channels, length)
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, channels * length),
            nn.ReLU(),
        )
        self.conv = nn.Sequential(
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, vocab_size, 1),
        )

    def forward(self, z):
        h = self.fc(z).view(-1, *self.shape)
        return self.conv(h).transpose(1, 2)  # (B, L, V)


class OneHot(nn.Module):
    """int64 tokens ``(B, L)`` to float one-hot ``(B, L, V)`` (for MLP encoders of tokens)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, tokens):
        if tokens.is_floating_point():  # already probabilities (B, L, V)
            return tokens
        return nn.functional.one_hot(tokens, self.vocab_size).float()


ROLES = ("full", "shared", "private")


def build_encoder(spec, out_dim, role="full"):
    """The encoder of a resolved view (see :class:`~skmmvae.modalities.ViewSpec`).

    ``role``: ``"shared"`` for the shared tower of a method with private latents
    (translation invariant for ``arch="resnet"`` images), ``"private"`` for a private
    tower, ``"full"`` for the only latent of a method (both keep spatial
    information). User factories receive the same arguments whatever the role.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}; got {role!r}.")
    if spec.encoder is not None:
        return _checked(spec.encoder(spec.shape, out_dim), "encoder", spec)
    if spec.arch == "resnet":
        cls = PoolEncoder if role == "shared" else ResNetEncoder
        return cls(spec.shape, out_dim, hidden=spec.hidden[-1], width=spec.channels)
    if spec.arch == "conv":
        return ConvEncoder(spec.shape, out_dim, hidden=spec.hidden[-1])
    if spec.arch == "text":
        return TextEncoder(spec.shape[0], spec.vocab_size, out_dim, hidden=spec.hidden[-1])
    if spec.token_view:
        return nn.Sequential(
            OneHot(spec.vocab_size), MLP(spec.shape[0] * spec.vocab_size, spec.hidden, out_dim)
        )
    return MLP(math.prod(spec.shape), spec.hidden, out_dim)


def build_decoder(spec, latent_dim):
    """The decoder of a resolved view, producing the likelihood's parameters."""
    if spec.decoder is not None:
        return _checked(spec.decoder(latent_dim, spec.output_shape), "decoder", spec)
    if spec.arch == "resnet":
        return ResNetDecoder(latent_dim, spec.shape, hidden=spec.hidden[-1], width=spec.channels)
    if spec.arch == "conv":
        return ConvDecoder(latent_dim, spec.shape, hidden=spec.hidden[-1])
    if spec.arch == "text":
        return TextDecoder(latent_dim, spec.shape[0], spec.vocab_size, hidden=spec.hidden[-1])
    return MLP(latent_dim, spec.hidden[::-1], spec.output_shape)


def init_log_variance(encoder, latent_dim, value):
    """Start a posterior encoder's log-variances near ``value``: the second half of
    the bias of its last linear layer (``2 * latent_dim`` outputs: locations, then
    log-variances) is set to ``value``. Encoders without such a layer are left as
    they are."""
    last = [m for m in encoder.modules() if isinstance(m, nn.Linear)]
    if last and last[-1].out_features == 2 * latent_dim and last[-1].bias is not None:
        with torch.no_grad():
            last[-1].bias[latent_dim:] = value


def _checked(module, what, spec):
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"View {spec.index}: the {what} factory must return a torch.nn.Module; "
            f"got {type(module).__name__}."
        )
    return module
