"""The lecture-1 MLP GAN: fully connected generator and discriminator for 28x28 images."""
from __future__ import annotations

from torch import Tensor, nn

from gancourse.models.shapes import check_images, check_noise

IMAGE_SHAPE = (1, 28, 28)


def _block(n_in: int, n_out: int, batchnorm: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if batchnorm:
        # Widely copied code writes BatchNorm1d(n, 0.8): the second positional argument is eps, so it
        # adds 0.8 to every variance. It meant Keras' momentum=0.8 (keep 80% of the running
        # statistics), which is PyTorch's momentum=0.2 (weight of the new batch).
        layers.append(nn.BatchNorm1d(n_out, momentum=0.2))
    layers.append(nn.LeakyReLU(0.2))
    return layers


class MLPGenerator(nn.Module):
    """G: z (B, latent_dim) -> 128 -> 256 -> 512 -> 1024 -> 784 -> Tanh image (B, 1, 28, 28)."""

    def __init__(self, latent_dim: int = 100) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            *_block(latent_dim, 128, batchnorm=False),  # no BN on the first layer, as in the lecture
            *_block(128, 256),
            *_block(256, 512),
            *_block(512, 1024),
            nn.Linear(1024, 784),
            nn.Tanh(),  # pixels in [-1, 1], the range the data is scaled to
        )

    def forward(self, z: Tensor) -> Tensor:
        check_noise(z, self.latent_dim)
        return self.net(z).view(-1, *IMAGE_SHAPE)  # (B, 784) -> (B, 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """D: image (B, 1, 28, 28) -> 784 -> 512 -> 256 -> 1 logit (no sigmoid: losses take logits)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, IMAGE_SHAPE)
        return self.net(x.flatten(1)).squeeze(1)  # (B, 1, 28, 28) -> (B, 784) -> (B,)


class ToyGenerator(nn.Module):
    """G for low-dimensional toy data: z (B, latent_dim) -> hidden -> hidden -> x (B, data_dim)."""

    def __init__(self, latent_dim: int = 4, data_dim: int = 1, hidden: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, data_dim))  # no squashing: toy data is unbounded

    def forward(self, z: Tensor) -> Tensor:
        check_noise(z, self.latent_dim)
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """D for low-dimensional toy data: x (B, data_dim) -> hidden -> hidden -> 1 logit."""

    def __init__(self, data_dim: int = 1, hidden: int = 64) -> None:
        super().__init__()
        self.data_dim = data_dim
        self.net = nn.Sequential(nn.Linear(data_dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, (self.data_dim,))
        return self.net(x).squeeze(1)  # (B, 1) -> (B,)
