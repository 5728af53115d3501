"""The lecture DCGAN pair for 28x28 images (1 channel, or 3 for stacked MNIST): upsample + 3x3 conv
generator, stride-2 conv critic, which can judge PacGAN's packs of several images. With
``image_size=32`` or ``64`` (an image folder, lecture 12), the DCGAN paper's own layout: 4x4
transposed convolutions from 4x4 up, BatchNorm and ReLU in G; 4x4 stride-2 convolutions down to 4x4,
BatchNorm and LeakyReLU in D."""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from gancourse.models.packing import check_pack, pack_samples
from gancourse.models.shapes import check_images, check_noise

IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZES = (28, 32, 64)


def check_image_size(image_size) -> int:
    """``image_size`` if the DCGAN family has a layout for it, else a ValueError."""
    if image_size not in IMAGE_SIZES or isinstance(image_size, bool):
        raise ValueError(f"the DCGAN family generates {', '.join(map(str, IMAGE_SIZES))}-pixel square images, "
                         f"got image_size={image_size!r}")
    return image_size


def _doublings(image_size: int) -> int:
    """Stride-2 layers between 4x4 and the image: 3 for 32x32, 4 for 64x64."""
    return {32: 3, 64: 4}[image_size]


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN paper initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """G: z -> fc -> (width, 7, 7) -> [upsample, 3x3 conv, BN, LeakyReLU] x2 -> 3x3 conv -> Tanh.

    ``width=128`` is the lecture's network; smaller widths trade quality for CPU speed. ``channels``
    is the images' (1 for MNIST, 3 for stacked MNIST's three digits or colour photos).

    ``image_size=32`` or ``64``: the DCGAN paper's generator instead, z (B, latent, 1, 1) -> 4x4
    transposed conv -> (width, 4, 4) -> [4x4 stride-2 transposed conv, BN, ReLU] halving the channels
    while doubling the size -> 4x4 stride-2 transposed conv to ``channels`` -> Tanh. The paper's
    64x64 network has ``width=1024`` (512 in PyTorch's example).
    """

    def __init__(self, latent_dim: int = 100, width: int = 128, channels: int = 1, image_size: int = 28) -> None:
        super().__init__()
        self.latent_dim, self.width, self.channels = latent_dim, width, channels
        self.image_size = check_image_size(image_size)
        if image_size != 28:
            n = _doublings(image_size)
            sizes = [width // 2**i for i in range(n)]  # (w, w/2, ...) at 4, 8, ... pixels
            if sizes[-1] < 1:
                raise ValueError(f"width={width} is too narrow for {image_size}x{image_size}: use at least {2**(n - 1)}")
            layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, width, 4, 1, 0, bias=False),  # (B, w, 4, 4)
                                       nn.BatchNorm2d(width), nn.ReLU()]
            for c_in, c_out in zip(sizes, sizes[1:]):  # each doubles the size
                layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            layers += [nn.ConvTranspose2d(sizes[-1], channels, 4, 2, 1), nn.Tanh()]  # (B, C, S, S)
            self.net = nn.Sequential(*layers)
            self.apply(init_dcgan_weights)
            return
        self.fc = nn.Linear(latent_dim, width * 7 * 7)
        self.net = nn.Sequential(
            nn.BatchNorm2d(width),
            nn.Upsample(scale_factor=2),  # (B, w, 14, 14)
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2),  # (B, w, 28, 28)
            nn.Conv2d(width, width // 2, 3, padding=1), nn.BatchNorm2d(width // 2), nn.LeakyReLU(0.2),
            nn.Conv2d(width // 2, channels, 3, padding=1),  # (B, channels, 28, 28)
            nn.Tanh(),
        )
        self.apply(init_dcgan_weights)

    def forward(self, z: Tensor) -> Tensor:
        check_noise(z, self.latent_dim)
        if self.image_size != 28:
            return self.net(z[:, :, None, None])  # (B, latent) -> (B, latent, 1, 1) -> (B, C, S, S)
        return self.net(self.fc(z).view(-1, self.width, 7, 7))  # (B, w*49) -> (B, w, 7, 7)


class DCGANDiscriminator(nn.Module):
    """D: image -> stride-2 3x3 convs (w/8 -> w/4 -> w/2 -> w channels) with LeakyReLU -> logits.

    Spatial size 28 -> 14 -> 7 -> 4 -> 2; dropout and BatchNorm as in the lecture's network
    (``norm="none"``, ``dropout=0`` for a per-sample gradient penalty; ``norm="spectral"``
    normalises every layer's weights by their largest singular value instead, as Kurach et al.
    2019 recommend).
    ``channels`` is the images' (a conditional D counts the label map it stacks on them);
    ``outputs`` > 1 adds heads (AC-GAN's class logits) beside the real/fake logit. With ``pack`` > 1
    (PacGAN) D gives one logit to each group of ``pack`` consecutive images, stacked as channels.

    ``image_size=32`` or ``64``: the DCGAN paper's discriminator instead, 4x4 stride-2 convs from the
    image down to (width, 4, 4) (w/4 -> w/2 -> w channels at 32x32, from w/8 at 64x64), LeakyReLU
    0.2, BatchNorm after the first, no dropout unless asked for, then the same linear head.
    """

    def __init__(self, width: int = 128, channels: int = 1, outputs: int = 1, *,
                 norm: str = "batch", dropout: float | None = None, pack: int = 1,
                 in_channels: int | None = None, image_size: int = 28) -> None:
        super().__init__()
        check_image_size(image_size)
        if dropout is None:  # each layout's own: the lecture's 0.25 at 28x28, the paper's none above
            dropout = 0.25 if image_size == 28 else 0.0
        if in_channels is not None:  # the name earlier versions (and lecture 4's exercise) used
            channels = in_channels
        if norm not in ("batch", "none", "spectral"):
            raise ValueError(f"unknown norm {norm!r}; choose 'batch', 'spectral' or 'none' "
                             f"(a gradient penalty needs 'none' or 'spectral')")
        if check_pack(pack) > 1 and outputs > 1:
            raise ValueError("a packed D gives one logit per pack: it cannot also classify each image")
        self.image_shape, self.outputs, self.pack = (channels, image_size, image_size), outputs, pack
        if image_size == 28:
            sizes, kernel, cells = [channels * pack, width // 8, width // 4, width // 2, width], 3, 2 * 2
        else:
            n = _doublings(image_size)
            sizes, kernel, cells = [channels * pack, *(width // 2**i for i in reversed(range(n)))], 4, 4 * 4
            if min(sizes[1:]) < 1:
                raise ValueError(f"width={width} is too narrow for {image_size}x{image_size}: use at least {2**(n - 1)}")
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(sizes, sizes[1:])):
            conv = nn.Conv2d(c_in, c_out, kernel, stride=2, padding=1)
            layers += [spectral_norm(conv) if norm == "spectral" else conv, nn.LeakyReLU(0.2)]
            if dropout:
                layers.append(nn.Dropout2d(dropout))
            if i > 0 and norm == "batch":  # no BatchNorm on the first block: it would normalise raw pixels
                layers.append(nn.BatchNorm2d(c_out))
        self.net = nn.Sequential(*layers)  # (B, w, 2, 2) at 28x28, (B, w, 4, 4) at 32 and 64
        self.fc = nn.Linear(width * cells, outputs)
        self.apply(init_dcgan_weights)
        if norm == "spectral":  # every layer 1-Lipschitz (Miyato et al. 2018), the head too
            self.fc = spectral_norm(self.fc)

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, self.image_shape)
        return self.forward_packed(pack_samples(x, self.pack) if self.pack > 1 else x)

    def forward_packed(self, x: Tensor) -> Tensor:
        """Logits of already packed images (B / pack, pack C, H, W)."""
        logits = self.fc(self.net(x).flatten(1))  # (B', w*4) -> (B', outputs)
        return logits.squeeze(1) if self.outputs == 1 else logits
