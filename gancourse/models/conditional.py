"""Conditional GANs for 28x28 images: cGAN (label into G and D) and AC-GAN (D classifies too).

Both reuse the DCGAN bodies: G gets the noise concatenated with a learned label embedding; the cGAN
D sees the label as an extra image channel; the AC-GAN D has a second head of class logits.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gancourse.models.shapes import check_noise


def check_labels(labels: Tensor, n: int, num_classes: int) -> None:
    """Raise ValueError unless ``labels`` are ``n`` integer class ids in 0..num_classes-1."""
    if labels.dim() != 1 or len(labels) != n or labels.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"expected {n} integer labels of shape ({n},), got {labels.dtype} "
                         f"{tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")


class ConditionalGenerator(nn.Module):
    """G(z, y): concat(z, embedding(y)) -> the DCGAN generator -> image (B, 1, 28, 28).

    Each label's embedding starts with entries ~ N(0, embed_std^2). The default 1/sqrt(embed_dim)
    gives it length about 1, like a one-hot label, against about 10 for z. With PyTorch's default
    N(0, 1) (length 7) the label moves the untrained G's images about as much as the noise does;
    lecture 4 measures, over seeds, whether the trained G then varies less within a class.
    """

    def __init__(self, latent_dim: int = 100, num_classes: int = 10, width: int = 128,
                 embed_dim: int = 50, embed_std: float | None = None) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.embed = nn.Embedding(num_classes, embed_dim)
        nn.init.normal_(self.embed.weight, 0.0, embed_std or embed_dim ** -0.5)
        self.body = DCGANGenerator(latent_dim + embed_dim, width)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        check_noise(z, self.latent_dim)
        check_labels(labels, len(z), self.num_classes)
        return self.body(torch.cat([z, self.embed(labels)], dim=1))  # (B, latent + embed) -> image


class ConditionalDiscriminator(nn.Module):
    """cGAN D(x, y): the label, embedded as a 28x28 map, stacked on the image -> one logit."""

    def __init__(self, num_classes: int = 10, width: int = 128) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, 28 * 28)
        self.body = DCGANDiscriminator(width, channels=2)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        check_labels(labels, len(x), self.num_classes)
        label_map = self.embed(labels).view(-1, 1, 28, 28)  # (B, 1, 28, 28)
        return self.body(torch.cat([x, label_map], dim=1))  # (B, 2, 28, 28) -> (B,)


class ACGANDiscriminator(nn.Module):
    """AC-GAN D(x): the DCGAN body with two heads -> (real/fake logit (B,), class logits (B, C))."""

    def __init__(self, num_classes: int = 10, width: int = 128) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.body = DCGANDiscriminator(width, outputs=1 + num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.body(x)  # (B, 1 + C)
        return logits[:, 0], logits[:, 1:]
