"""Stacked MNIST: three MNIST digits as the channels of one colour image, 1,000 modes to cover.

The image benchmark of mode collapse (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): a
sample's mode is the triple of digits the course's MNIST classifier reads in its three channels
(000 to 999); a GAN that drops modes generates fewer distinct triples, or some far more often than
others. Counted on 26,000 samples, as both papers do, with the KL divergence of the generated
modes' histogram from the uniform 1/1000.

- :class:`StackedBatches` draws the training batches (three random training digits per image);
- :func:`stack_digits` a fixed set of stacked images, for figures and the real data's own count;
- :func:`read_modes` reads each image's three digits, :func:`count_modes` counts the modes;
- :func:`train_stacked` trains the ``stacked-mnist`` recipe (the DCGAN family in 3 channels) of a
  profile, with ``pack=2`` for PacDCGAN2, and :func:`score_stacked` counts its modes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gancourse.classifier import predict
from gancourse.config import TrainConfig, make_config
from gancourse.data import load_dataset
from gancourse.device import seed_everything
from gancourse.models import build_models
from gancourse.runs import sample
from gancourse.train import train_gan
from gancourse.ema import trained_generator

N_MODES = 1000  # three digits, ten classes each
N_SAMPLES = 26_000  # VEEGAN and PacGAN count modes on 26,000 samples
_PLACES = torch.tensor([100, 10, 1])  # the red channel's digit is the hundreds


def mode_ids(digits: Tensor) -> Tensor:
    """Digits (N, 3) -> mode numbers (N,) in 0..999, the red channel's digit first."""
    return (digits.long() * _PLACES.to(digits.device)).sum(1)


class StackedBatches:
    """Training batches of stacked MNIST, drawn from MNIST images (N, 1, 28, 28) and their labels.

    Batch ``t`` stacks three training digits picked at random by a generator seeded by
    ``(seed, t)``: a pure function of ``t``, so a resumed run sees the batches an uninterrupted one
    would have. Returns ``(images (B, 3, 28, 28), modes (B,))``.
    """

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int = 64, seed: int = 0,
                 device: torch.device | str | None = None) -> None:
        if images.dim() != 4 or images.shape[1] != 1:
            raise ValueError(f"expected single-channel images (N, 1, H, W), got {tuple(images.shape)}")
        if len(images) != len(labels):
            raise ValueError(f"expected one label per image, got {len(labels)} for {len(images)} images")
        self.device = torch.device(device) if device is not None else images.device
        self.images, self.labels = images.to(self.device), labels.to(self.device)
        self.batch_size, self.seed = batch_size, seed

    def __call__(self, step: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        idx = torch.randint(len(self.images), (self.batch_size, 3), generator=gen).to(self.device)
        x = self.images[idx].flatten(1, 2)  # (B, 3, 1, H, W) -> (B, 3, H, W)
        return x, mode_ids(self.labels[idx])


def stack_digits(images: Tensor, labels: Tensor, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` stacked images (n, 3, H, W) of random digits from ``images``, and their modes (n,)."""
    return StackedBatches(images, labels, batch_size=n, seed=seed)(0)


@dataclass(frozen=True)
class StackedModes:
    """What :func:`count_modes` measured: modes covered (of 1,000), KL(generated || uniform) of the
    modes' histogram, and the histogram itself (1000,)."""

    modes: int
    kl: float
    counts: Tensor

    def __str__(self) -> str:
        return f"{self.modes} of {N_MODES} modes, KL {self.kl:.2f}"


def mode_histogram(modes: Tensor) -> StackedModes:
    """Count mode numbers (N,) in 0..999: modes with at least one sample, and the KL divergence
    sum_m p(m) log(p(m) / (1/1000)) of their histogram from uniform (0: every mode equally often)."""
    counts = torch.bincount(modes.long(), minlength=N_MODES)
    p = counts.double() / counts.sum()
    seen = p > 0
    kl = (p[seen] * (p[seen] * N_MODES).log()).sum().item()
    return StackedModes(int(seen.sum()), kl, counts)


@torch.no_grad()
def read_modes(clf: nn.Module, images: Tensor) -> Tensor:
    """The mode (N,) of each stacked image (N, 3, 28, 28) in [-1, 1]: ``clf`` (the MNIST classifier)
    reads each channel's digit."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected stacked images (N, 3, 28, 28), got {tuple(images.shape)}")
    digits = predict(clf, images.reshape(-1, 1, *images.shape[2:])).argmax(1).view(-1, 3)  # (N, 3)
    return mode_ids(digits)


def count_modes(clf: nn.Module, images: Tensor) -> StackedModes:
    """Modes covered and KL of stacked images (N, 3, 28, 28), as :func:`read_modes` reads them."""
    return mode_histogram(read_modes(clf, images))


def train_stacked(profile: str, seed: int = 0, *, callbacks=(), progress: bool = True, root=None,
                  device: torch.device | str = "cpu", run_dir=None,
                  **overrides) -> tuple[nn.Module, list[dict], TrainConfig]:
    """Train the ``stacked-mnist`` recipe of ``profile`` (a 3-channel DCGAN) with ``overrides``
    (``pack=2`` for PacDCGAN2, ``d_width=...``); returns (G, history, cfg). Weights and batches
    both follow ``seed``. With ``ema``, the G returned is the moving average of its weights."""
    cfg = make_config("stacked-mnist", profile, seed=seed, **overrides)
    data = load_dataset("mnist", "train", root)
    seed_everything(seed)
    G, D = build_models(cfg.model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    G, D = G.to(device), D.to(device)
    batches = StackedBatches(data.images, data.labels, cfg.batch_size, cfg.seed, device)
    history = train_gan(G, D, batches, cfg, callbacks=list(callbacks), progress=progress, run_dir=run_dir)
    return trained_generator(G, history), history, cfg


def score_stacked(G: nn.Module, clf: nn.Module, seed: int = 0, n: int = N_SAMPLES) -> StackedModes:
    """Modes of ``n`` samples of G from noise fixed by ``seed`` (so runs compare alike)."""
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(20_000 + seed))
    return count_modes(clf, sample(G, z=z))
