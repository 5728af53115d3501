"""Toy distributions: a 1-D Gaussian mixture, and 2-D mixtures of equal Gaussians (a ring, a grid).

Lecture 1 draws the optimal discriminator D*(x) = p_data / (p_data + p_g) from their known
densities; the mode-collapse lecture trains on the two standard benchmarks of :data:`TOY_DATASETS`
(``ring8`` and ``grid25``, as in the unrolled-GAN, VEEGAN and PacGAN papers) and counts the modes a
generator covers (:func:`gancourse.metrics.mode_coverage`).
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
        """Mode centres, shape (modes, 2), at angles k 2 pi / modes for k = 0..modes-1
        (``linspace(0, 2 pi, modes)`` would put the last centre on the first)."""
        angles = torch.arange(self.modes) * (2 * math.pi / self.modes)
        return self.radius * torch.stack([angles.cos(), angles.sin()], dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples of shape (n, 2), each mode equally likely."""
        return _sample_mixture(self.centers(), self.std, n, generator)

    def pdf(self, x: Tensor) -> Tensor:
        """Density at points ``x`` of shape (..., 2)."""
        return _mixture_pdf(self.centers(), self.std, x)


@dataclass(frozen=True)
class GaussianGrid2D:
    """Equal Gaussians centred on the points of a square grid (``values`` x ``values``)."""

    values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)
    std: float = 0.05

    @property
    def modes(self) -> int:
        return len(self.values) ** 2

    def centers(self) -> Tensor:
        """Mode centres, shape (modes, 2), row by row."""
        v = torch.tensor(self.values, dtype=torch.float32)
        return torch.cartesian_prod(v, v)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples of shape (n, 2), each mode equally likely."""
        return _sample_mixture(self.centers(), self.std, n, generator)

    def pdf(self, x: Tensor) -> Tensor:
        """Density at points ``x`` of shape (..., 2)."""
        return _mixture_pdf(self.centers(), self.std, x)


def _sample_mixture(centers: Tensor, std: float, n: int, generator: torch.Generator | None) -> Tensor:
    if n < 0:
        raise ValueError(f"expected a number of samples n >= 0, got {n}")
    comp = torch.randint(len(centers), (n,), generator=generator)
    return centers[comp] + std * torch.randn(n, 2, generator=generator)


def _mixture_pdf(centers: Tensor, std: float, x: Tensor) -> Tensor:
    d2 = ((x.unsqueeze(-2) - centers.to(x.dtype)) ** 2).sum(-1)  # (..., modes)
    return torch.exp(-0.5 * d2 / std**2).mean(-1) / (2 * math.pi * std**2)


# The mode-collapse benchmarks (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018).
TOY_DATASETS: dict[str, GaussianRing2D | GaussianGrid2D] = {
    "ring8": GaussianRing2D(modes=8, radius=2.0, std=0.02),
    "grid25": GaussianGrid2D(values=(-4.0, -2.0, 0.0, 2.0, 4.0), std=0.05),
}
TRAINING_POINTS = 100_000  # a run's fixed training set: 4,000 points per grid25 mode


def toy_dataset(name: str) -> GaussianRing2D | GaussianGrid2D:
    """The 2-D benchmark registered as ``name`` in :data:`TOY_DATASETS`."""
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}")
    return TOY_DATASETS[name]


def toy_points(name: str, n: int = TRAINING_POINTS, seed: int = 0) -> Tensor:
    """A fixed training set of ``n`` points (n, 2) of the benchmark ``name``, drawn with ``seed``:
    a run rebuilds the same set when it resumes."""
    return toy_dataset(name).sample(n, torch.Generator().manual_seed(seed))
