"""Mode collapse on the 2-D toys: train and score a toy GAN, and watch its points mode by mode.

- :func:`train_toy_gan` trains the ``toy-gan`` family of a profile with one change (a cure);
- :func:`score` draws 2,500 samples from fixed noise and measures their mode coverage
  (:func:`gancourse.metrics.mode_coverage`, the VEEGAN / PacGAN protocol);
- :class:`PointSnapshots` keeps G's points from fixed noise during training; :func:`show_mode_history`
  draws each mode's share over the snapshots (the generator hopping from mode to mode) and
  :func:`save_points_gif` writes them as a small GIF.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from gancourse.config import TrainConfig, make_config
from gancourse.device import seed_everything
from gancourse.metrics import HIGH_QUALITY_STDS, ModeCoverage, mode_coverage
from gancourse.models import build_models
from gancourse.runs import sample
from gancourse.toy import toy_dataset, toy_points
from gancourse.train import train_gan
from gancourse.ema import trained_generator

N_SAMPLES = 2500  # the VEEGAN / PacGAN protocol scores 2,500 samples


def train_toy_gan(dataset: str, profile: str, seed: int = 0, *, callbacks=(), progress: bool = True,
                  **overrides) -> tuple[nn.Module, list[dict], TrainConfig]:
    """Train the ``toy-gan`` recipe of ``profile`` on ``dataset`` (``ring8`` or ``grid25``) on the CPU,
    with ``overrides`` (``pack=2``, ``unroll=5``, ``loss="wgan-gp"``, ...); returns (G, history, cfg).
    The training points and the networks' initial weights both follow ``seed``. With ``ema``, the G
    returned is the moving average of its weights."""
    cfg = make_config("toy-gan", profile, dataset=dataset, seed=seed, **overrides)
    seed_everything(seed)
    G, D = build_models("toy-gan", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    history = train_gan(G, D, toy_points(dataset, seed=seed), cfg, callbacks=list(callbacks), progress=progress)
    return trained_generator(G, history), history, cfg


def score(G: nn.Module, dataset: str, seed: int = 0, n: int = N_SAMPLES) -> ModeCoverage:
    """Mode coverage of ``n`` samples of G from noise fixed by ``seed`` (so runs compare alike)."""
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(10_000 + seed))
    return mode_coverage(sample(G, z=z), dataset)


class PointSnapshots:
    """Callback: every ``every`` steps, keep G's points from the same fixed noise, (step, (n, 2))."""

    def __init__(self, latent_dim: int, every: int = 100, n: int = 1000, seed: int = 1234) -> None:
        self.z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
        self.every = every
        self.frames: list[tuple[int, Tensor]] = []

    def __call__(self, step: int, G, D, history) -> None:
        if step % self.every == 0:
            self.frames.append((step, sample(G, z=self.z)))


def mode_history(frames: list[tuple[int, Tensor]], dataset: str) -> tuple[list[int], Tensor]:
    """Each snapshot's high-quality samples per mode, as a share of the snapshot's samples:
    (steps, shares of shape (modes, snapshots))."""
    if not frames:
        raise ValueError("no snapshots: train for at least one snapshot interval")
    columns = [torch.tensor(mode_coverage(points, dataset).counts, dtype=torch.float64) / len(points)
               for _, points in frames]
    return [step for step, _ in frames], torch.stack(columns, 1)


def show_mode_history(frames: list[tuple[int, Tensor]], dataset: str, title: str = "Where the samples go") -> Figure:
    """A heat map of :func:`mode_history`: one row per mode, one column per snapshot. A uniform
    generator colours every row alike; a collapsing one lights a few rows, and a hopping one moves
    the light from row to row."""
    steps, shares = mode_history(frames, dataset)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    image = ax.imshow((100 * shares).numpy(), aspect="auto", cmap="magma", interpolation="nearest",
                      extent=(-0.5, len(steps) - 0.5, shares.shape[0] - 0.5, -0.5))
    ticks = range(0, len(steps), max(1, len(steps) // 10))
    ax.set_xticks(list(ticks), [str(steps[i]) for i in ticks])
    ax.set(title=title, xlabel="generator step", ylabel="mode (index)")
    fig.colorbar(image, ax=ax, label=f"% of samples within {HIGH_QUALITY_STDS:g} std of the mode")
    fig.tight_layout()
    return fig


def save_points_gif(frames: list[tuple[int, Tensor]], dataset: str, path: str | Path,
                    ms_per_frame: int = 250, size_px: int = 360) -> Path:
    """Write the snapshots as a looping GIF of scatter plots over the modes, captioned with the step."""
    from PIL import Image

    if not frames:
        raise ValueError("no snapshots: train for at least one snapshot interval")
    mixture = toy_dataset(dataset)
    centers = mixture.centers().numpy()
    span = float(abs(centers).max()) + 1.0
    fig, ax = plt.subplots(figsize=(size_px / 100, size_px / 100), dpi=100)
    ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="black", s=20)
    dots = ax.scatter([], [], s=2, alpha=0.4)
    ax.set(xlim=(-span, span), ylim=(-span, span), aspect="equal")
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    images = []
    for step, points in frames:  # one figure, its points and title replaced frame by frame
        dots.set_offsets(points.clamp(-span, span).numpy())
        ax.set_title(f"{dataset}, step {step}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        images.append(Image.open(buffer).convert("P", palette=Image.ADAPTIVE, colors=32))
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms_per_frame, loop=0)
    return path
