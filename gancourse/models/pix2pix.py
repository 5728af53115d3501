"""pix2pix for small images: a U-Net generator and a PatchGAN discriminator (Isola et al., 2017).

G(x) maps an input image to an output image of the same size; skip connections carry the input's
fine detail straight across to the decoder. D(x, y) sees the input and an output stacked as
channels and returns a grid of logits, one per image patch ("is this patch of y real, given x?").
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


NORMS = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d}  # InstanceNorm: per image, no running statistics


def down(c_in: int, c_out: int, norm: bool = True, kind: str = "batch") -> nn.Sequential:
    """Halve H and W: 4x4 conv stride 2 (+ BatchNorm) + LeakyReLU(0.2), as in pix2pix's encoder."""
    layers = [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(NORMS[kind](c_out))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2))


def up(c_in: int, c_out: int, dropout: float = 0.0, kind: str = "batch") -> nn.Sequential:
    """Double H and W: 4x4 transposed conv stride 2 + BatchNorm (+ dropout) + ReLU."""
    layers = [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False), NORMS[kind](c_out)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.ReLU())


class UNetGenerator(nn.Module):
    """U-Net: ``depth`` down blocks to 1x1, then up blocks, each concatenated with its mirror.

    For 32x32 inputs depth is 5 (32 -> 16 -> 8 -> 4 -> 2 -> 1). Channels double from ``width`` up
    to 8 x width. Dropout in the three innermost up blocks is pix2pix's noise; Tanh output in [-1, 1].
    ``norm="instance"`` normalises each image by its own statistics (CycleGAN's choice), so an output
    never depends on the other images of a batch or on running statistics.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *, width: int = 64,
                 depth: int = 5, dropout: float = 0.5, norm: str = "batch") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")
        chans = [width * min(2 ** i, 8) for i in range(depth)]  # e.g. 64, 128, 256, 512, 512
        self.downs = nn.ModuleList(
            down(in_channels if i == 0 else chans[i - 1], chans[i], norm=0 < i < depth - 1, kind=norm)
            for i in range(depth))  # no norm on the raw input or on the 1x1 bottleneck
        self.ups = nn.ModuleList(
            up(chans[i] if i == depth - 1 else 2 * chans[i], chans[i - 1],
               dropout if i >= depth - 3 else 0.0, kind=norm)
            for i in range(depth - 1, 0, -1))  # input: the previous up block + its skip
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * chans[0], out_channels, 4, stride=2, padding=1),
                                 nn.Tanh())
        self.in_channels, self.size = in_channels, 2 ** depth

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] % self.size or x.shape[-2] % self.size:
            raise ValueError(f"expected images of shape (B, {self.in_channels}, H, W) with H and W multiples "
                             f"of {self.size}, got {tuple(x.shape)}")
        skips = []
        for block in self.downs:
            x = block(x)
            skips.append(x)  # (B, chans[i], H / 2^(i+1), W / 2^(i+1))
        x = skips.pop()  # the bottleneck
        for block in self.ups:
            x = torch.cat([block(x), skips.pop()], dim=1)  # skip connection: decoder + encoder features
        return self.out(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN D(x, y): (B, in+out channels, H, W) -> logits (B, 1, H', W'), one per patch.

    ``n_layers`` stride-2 convs then two stride-1 convs, all 4x4. The receptive field of each
    logit is 16 pixels for n_layers=1 (for 32x32 images) and 70 for n_layers=3 (pix2pix at 256x256).
    """

    def __init__(self, in_channels: int = 2, *, width: int = 64, n_layers: int = 1) -> None:
        super().__init__()
        layers = [nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        c = width
        for _ in range(n_layers - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                       nn.LeakyReLU(0.2)]
            c *= 2
        layers += [nn.Conv2d(c, 2 * c, 4, stride=1, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                   nn.LeakyReLU(0.2), nn.Conv2d(2 * c, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)
        self.in_channels = in_channels

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        pair = torch.cat([x, y], dim=1)  # the condition and the (real or generated) output
        if pair.shape[1] != self.in_channels:
            raise ValueError(f"expected input and output with {self.in_channels} channels together, "
                             f"got {x.shape[1]} + {y.shape[1]}")
        return self.net(pair)


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """Receptive field (pixels) of one output of stacked convs given as (kernel, stride) pairs."""
    field = 1
    for kernel, stride in reversed(layers):
        field = field * stride + (kernel - stride)
    return field


def conv_layers(model: nn.Module) -> list[tuple[int, int]]:
    """(kernel, stride) of every Conv2d in ``model``, in order."""
    return [(m.kernel_size[0], m.stride[0]) for m in model.modules() if isinstance(m, nn.Conv2d)]
