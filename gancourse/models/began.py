"""BEGAN (Berthelot, Schumm and Metz, 2017): the discriminator is an autoencoder, and the players
balance the reconstruction errors of real and generated images.

L(x) = mean |x - D(x)|. D minimises L(x) - k L(G(z)); G minimises L(G(z)); the balance term k
follows k <- clip(k + lambda_k (gamma L(x) - L(G(z))), 0, 1), so L(G(z)) ~ gamma L(x). The
convergence measure M = L(x) + |gamma L(x) - L(G(z))| falls as samples improve. k lives in D's
buffers, so it is saved and resumed with D.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from gancourse.models.shapes import check_images

IMAGE_SHAPE = (1, 28, 28)


class BEGANDiscriminator(nn.Module):
    """D: image -> conv encoder (28 -> 14 -> 7) -> code -> conv decoder -> image, all in [-1, 1].

    ``gamma`` is the diversity ratio, ``lambda_k`` the balance term's learning rate; ``k`` is a
    buffer that the D step updates.
    """

    def __init__(self, width: int = 32, code_dim: int = 64, gamma: float = 0.5, lambda_k: float = 1e-3) -> None:
        super().__init__()
        self.gamma, self.lambda_k = gamma, lambda_k
        self.register_buffer("k", torch.zeros(()))
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ELU(),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ELU(),  # (B, 2w, 7, 7)
            nn.Flatten(), nn.Linear(2 * width * 49, code_dim),  # (B, code)
        )
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, width * 49), nn.Unflatten(1, (width, 7, 7)), nn.ELU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 3, padding=1), nn.ELU(),  # (B, w, 14, 14)
            nn.Upsample(scale_factor=2), nn.Conv2d(width, 1, 3, padding=1), nn.Tanh(),  # (B, 1, 28, 28)
        )

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction of ``x``."""
        check_images(x, IMAGE_SHAPE)
        return self.decoder(self.encoder(x))

    def reconstruction_error(self, x: Tensor) -> Tensor:
        """L(x): the mean absolute reconstruction error of the batch."""
        return (self(x) - x).abs().mean()


def began_discriminator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                             opt_d: torch.optim.Optimizer, d_loss: Callable | None = None) -> dict:
    """(1) D: reconstruct reals well and fakes badly, weighted by k; then move k towards balance."""
    from gancourse.train import finite

    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    err_real, err_fake = D.reconstruction_error(x_real), D.reconstruction_error(G(z).detach())
    loss = err_real - D.k * err_fake
    loss_d = finite("the discriminator loss", loss)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    balance = (D.gamma * err_real - err_fake).detach()
    with torch.no_grad():
        D.k.add_(D.lambda_k * balance).clamp_(0, 1)
    real, fake, gap = torch.stack([err_real.detach(), err_fake.detach(), balance.abs()]).tolist()
    return {"loss_d": loss_d, "err_real": real, "err_fake": fake, "k": D.k.item(), "convergence": real + gap}


def began_generator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                         opt_g: torch.optim.Optimizer, g_loss: Callable | None = None) -> dict:
    """(2) G: fakes that D reconstructs well."""
    from gancourse.train import finite, frozen, gradient_norm

    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    with frozen(D):  # D is not trained here: skip its weights' gradients
        loss = D.reconstruction_error(G(z))
        loss_g = finite("the generator loss", loss)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(G)
    opt_g.step()
    return {"loss_g": loss_g, "grad_norm_g": grad_norm}


def began_steps(cfg) -> dict:
    """What train_gan needs for BEGAN (its losses live in the steps: they need D's k)."""
    return {"d_step": began_discriminator_step, "g_step": began_generator_step,
            "d_loss": None, "g_loss": None}
