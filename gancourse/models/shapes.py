"""Input checks shared by the models: a wrong shape gets a message, not a matmul error."""
from __future__ import annotations

from torch import Tensor


def check_noise(z: Tensor, latent_dim: int) -> None:
    """Raise ValueError unless ``z`` has shape (B, latent_dim)."""
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"expected noise of shape (B, {latent_dim}), got {tuple(z.shape)}")


def check_images(x: Tensor, shape: tuple[int, ...]) -> None:
    """Raise ValueError unless ``x`` has shape (B, *shape)."""
    if x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        expected = ", ".join(str(s) for s in shape)
        raise ValueError(f"expected images of shape (B, {expected}), got {tuple(x.shape)}")
