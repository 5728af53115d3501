"""Dirac-GAN (Mescheder, Geiger and Nowozin, 2018): the smallest GAN, where the zoo's dynamics show.

The data is a point mass at 0, the generator a point mass at theta, the discriminator linear:
D(x) = psi * x. The equilibrium is (theta, psi) = (0, 0). Every loss of :data:`gancourse.losses.LOSSES`
is played here with its own D and G losses on D's outputs (real 0, fake psi * theta), so the
trajectories come from the same functions that train the image GANs.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gancourse.losses import LOSSES, PENALTIES


class _Linear:
    """D(x) = psi * x, callable like a module so the zoo's penalties apply unchanged."""

    def __init__(self, psi: Tensor) -> None:
        self.psi = psi

    def __call__(self, x: Tensor) -> Tensor:
        return self.psi * x.flatten()


def dirac_gan(loss: str = "non-saturating", *, penalty: str = "none", weight: float = 0.3,
              clip: float | None = None, instance_noise: float = 0.0, alternating: bool = False,
              steps: int = 500, lr: float = 0.1, start: tuple[float, float] = (1.0, 1.0),
              batch: int = 64, seed: int = 0) -> Tensor:
    """Plain gradient descent on the Dirac-GAN with ``loss``; returns the (steps + 1, 2) path of
    (theta, psi).

    ``penalty`` ("gp", "dragan", "r1") is added to D's loss with ``weight`` (R1's gamma);
    ``clip`` bounds |psi| (WGAN); ``instance_noise`` is the standard deviation of Gaussian noise
    added to real and fake points (``batch`` draws per step). ``alternating`` updates D, then G
    with D's new value; otherwise both move at once from the same point (simultaneous).
    """
    pair = LOSSES[loss]
    batch = batch if instance_noise else 1  # without noise every draw is the same point
    gen = torch.Generator().manual_seed(seed)
    theta = torch.tensor(float(start[0]), dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(float(start[1]), dtype=torch.float64, requires_grad=True)
    D = _Linear(psi)
    path = [(theta.item(), psi.item())]

    def points() -> tuple[Tensor, Tensor]:
        noise = lambda: instance_noise * torch.randn(batch, generator=gen, dtype=torch.float64)  # noqa: E731
        return torch.zeros(batch, dtype=torch.float64) + noise(), theta + noise()

    def d_loss() -> Tensor:
        x_real, x_fake = points()
        value = pair.d(D(x_real), D(x_fake.detach()))
        if penalty != "none":
            value = value + weight * PENALTIES[penalty](D, x_real.unsqueeze(1), x_fake.detach().unsqueeze(1))
        return value

    def g_loss() -> Tensor:
        return pair.g(D(points()[1]))

    for _ in range(steps):
        if alternating:
            (grad_psi,) = torch.autograd.grad(d_loss(), psi)
            _update(psi, grad_psi, lr, clip)
            (grad_theta,) = torch.autograd.grad(g_loss(), theta)
            _update(theta, grad_theta, lr, None)
        else:
            (grad_psi,) = torch.autograd.grad(d_loss(), psi)
            (grad_theta,) = torch.autograd.grad(g_loss(), theta)
            _update(psi, grad_psi, lr, clip)
            _update(theta, grad_theta, lr, None)
        path.append((theta.item(), psi.item()))
    return torch.tensor(path)


def _update(param: Tensor, grad: Tensor, lr: float, clip: float | None) -> None:
    with torch.no_grad():
        param -= lr * grad
        if clip is not None:
            param.clamp_(-clip, clip)


def distance(path: Tensor) -> float:
    """How far the last point of a path is from the equilibrium (0, 0)."""
    return math.hypot(*path[-1].tolist())
