"""Toy distributions for lecture 1: a 1-D Gaussian mixture and a 2-D ring of Gaussians.

Both have a known density, so the optimal discriminator D*(x) = p_data / (p_data + p_g) can be drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class GaussianMixture1D:
    """A mixture of 1-D Gaussians: ``p(x) = sum_i w_i N(x; mean_i, std_i^2)``."""

    means: tuple[float, ...] = (-2.0, 2.0)
    stds: tuple[float, ...] = (0.5, 0.5)
    weights: tuple[float, ...] = (0.5, 0.5)

    def __post_init__(self) -> None:
        if not len(self.means) == len(self.stds) == len(self.weights):
            raise ValueError("means, stds and weights must have the same length")
        if abs(sum(self.weights) - 1) > 1e-6 or min(self.stds) <= 0:
            raise ValueError("weights must sum to 1 and stds must be positive")

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples of shape (n, 1)."""
        comp = torch.multinomial(torch.tensor(self.weights), n, replacement=True, generator=generator)
        noise = torch.randn(n, generator=generator)
        return (torch.tensor(self.means)[comp] + torch.tensor(self.stds)[comp] * noise).unsqueeze(1)

    def pdf(self, x: Tensor) -> Tensor:
        """Density at ``x`` (any shape)."""
        means, stds, weights = (torch.tensor(v, dtype=x.dtype) for v in
                                (self.means, self.stds, self.weights))
        z = (x.unsqueeze(-1) - means) / stds
        return (weights * torch.exp(-0.5 * z**2) / (stds * math.sqrt(2 * math.pi))).sum(-1)


@dataclass(frozen=True)
class GaussianRing2D:
    """``modes`` equal Gaussians spaced evenly on a circle: the classic mode-collapse test."""

    modes: int = 8
    radius: float = 2.0
    std: float = 0.05

    def centers(self) -> Tensor:
        """Mode centres, shape (modes, 2)."""
        angles = torch.arange(self.modes) * (2 * math.pi / self.modes)
        return self.radius * torch.stack([angles.cos(), angles.sin()], dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples of shape (n, 2)."""
        comp = torch.randint(self.modes, (n,), generator=generator)
        return self.centers()[comp] + self.std * torch.randn(n, 2, generator=generator)

    def pdf(self, x: Tensor) -> Tensor:
        """Density at points ``x`` of shape (..., 2)."""
        d2 = ((x.unsqueeze(-2) - self.centers().to(x.dtype)) ** 2).sum(-1)  # (..., modes)
        return torch.exp(-0.5 * d2 / self.std**2).mean(-1) / (2 * math.pi * self.std**2)
