"""Figures: sample grids, training curves, a live figure for notebooks, and a GIF of progress.

Plotting hangs off callbacks (:class:`SampleSnapshots`, :class:`LivePlot`); the loop has none.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from gancourse.runs import sample


def image_grid(images: Tensor, nrow: int = 8) -> Tensor:
    """Images in [-1, 1], shape (N, C, H, W) -> one uint8 grid image of shape (H', W', C)."""
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    grid = make_grid(images.detach().cpu().float(), nrow=nrow, padding=2, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)  # (C, H', W') in [0, 1]
    return (grid * 255).round().to(torch.uint8).permute(1, 2, 0)


# Figures a student can read: 100 dpi inline and saved (Jupyter's inline default is 72).
plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100})
GRID_WIDTH_IN = 8.0  # a sample grid on its own: at least 600 px of images at 100 dpi, margins cropped


def show_images(images: Tensor, nrow: int = 8, title: str = "Samples", ax=None,
                row_labels: list[str] | None = None) -> Figure:
    """Draw a grid of images in [-1, 1] with a title; returns the figure.

    ``row_labels`` names each row on the left (class names, say).
    """
    grid = image_grid(images, nrow)
    if ax is None:
        _, ax = plt.subplots(figsize=(GRID_WIDTH_IN, GRID_WIDTH_IN * grid.shape[0] / grid.shape[1]))
    ax.imshow(grid.numpy(), cmap="gray", interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel(f"{len(images)} images, {nrow} per row")
    ax.set_xticks([])
    if row_labels is not None:
        rows = -(-len(images) // nrow)
        if len(row_labels) != rows:
            raise ValueError(f"{len(row_labels)} row labels for {rows} rows of images")
        cell = grid.shape[0] / rows
        ax.set_yticks([cell * (i + 0.5) for i in range(rows)], row_labels)
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    return ax.figure


def show_points(points: Tensor, dataset=None, title: str = "Samples", ax=None) -> Figure:
    """Scatter 2-D points (N, 2); with a toy ``dataset`` (name or object), its mode centres and the
    3-std circles inside which a sample counts as high quality (:func:`gancourse.metrics.mode_coverage`)."""
    from gancourse.toy import toy_dataset

    points = torch.as_tensor(points).detach().cpu().float()
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"expected points of shape (N, 2), got {tuple(points.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), s=3, alpha=0.4, label=f"{len(points):,} samples")
    if dataset is not None:
        mixture = toy_dataset(dataset) if isinstance(dataset, str) else dataset
        centers = mixture.centers()
        ax.scatter(centers[:, 0].numpy(), centers[:, 1].numpy(), marker="x", color="black", s=30, label="mode centres")
        for cx, cy in centers.tolist():
            ax.add_patch(plt.Circle((cx, cy), 3 * mixture.std, fill=False, color="tab:red", lw=0.8))
        span = centers.abs().max().item() + 1.0
        ax.set(xlim=(-span, span), ylim=(-span, span))
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    ax.legend(loc="upper right", fontsize="small")
    return ax.figure


def show_frames(frames: list[tuple[int, Tensor]], count: int = 4, title: str = "Training progress") -> Figure:
    """A static strip of ``count`` (step, grid) frames, evenly spaced and ending on the last one:
    what a GIF shows, for readers and renderers that drop animations."""
    if not frames:
        raise ValueError("no frames to show: train for at least one snapshot interval")
    count = min(count, len(frames))
    picks = [round(i * (len(frames) - 1) / max(count - 1, 1)) for i in range(count)]
    height, width = frames[-1][1].shape[:2]
    panel = max(GRID_WIDTH_IN, 3.2 * count) / count  # inches per frame
    fig, axes = plt.subplots(1, count, figsize=(panel * count, panel * height / width + 0.8), squeeze=False)
    for ax, i in zip(axes[0], picks):
        step, grid = frames[i]
        ax.imshow(grid.squeeze(-1).numpy() if grid.shape[-1] == 1 else grid.numpy(), cmap="gray",
                  interpolation="nearest")
        ax.set_title(f"step {step}")
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# What the right-hand panel shows, by the first of these keys a step reported.
_DIAGNOSTIC_PANELS = (
    (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")),
    (("wasserstein", "Wasserstein estimate E[D(x)] - E[D(G(z))]"),),
    (("score_real", "D(x), real"), ("score_fake", "D(G(z)), fake")),
    (("l1", "L1 |G(x) - y| (pixels in [-1, 1]: twice the [0, 1] value)"),),
    (("convergence", "convergence measure M"), ("k", "balance k")),
    (("mse", "mean squared error per pixel"),),  # an autoencoder or VAE: no D
)


def plot_history(history: list[dict], title: str = "Training curves", axes=None) -> Figure:
    """Two panels against the generator step: the losses (and any penalty), and what D reports:
    D(x) with D(G(z)) for probabilistic losses, else the Wasserstein estimate, the raw scores or L1."""
    if not history:
        raise ValueError("the history is empty: train for at least one step first")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    ax_loss, ax_d = axes
    first = dict.fromkeys(k for row in history for k in row)  # every key some step reported (BAGAN's
    # autoencoder steps report others than its adversarial ones)
    panel = next((p for p in _DIAGNOSTIC_PANELS if p[0][0] in first), ())
    curves = [(ax_loss, key, label) for key, label in (("loss_d", "D loss"), ("loss_g", "G loss"),
                                                       ("penalty", "penalty"),
                                                       ("loss", "autoencoder loss" if "loss_d" in first else "loss"),
                                                       ("recon", "reconstruction"), ("kl", "KL"))
              if key in first]
    no_generator = "score_fake" in first and "loss_g" not in first  # an energy model: negatives, no G
    if no_generator:
        panel = (("score_real", "D(x), real data"), ("score_fake", "D(x), negatives (Langevin)"))
    curves += [(ax_d, key, label) for key, label in panel]
    for ax, key, label in curves:
        steps, values = zip(*[(row["step"], row[key]) for row in history if key in row])
        line, = ax.plot(steps, values, lw=0.5, alpha=0.3)  # raw, per step
        ax.plot(steps, _smooth(values), lw=1.5, color=line.get_color(), label=f"{label} (smoothed)")
    two_phases = "loss" in first and "loss_d" in first  # BAGAN: an autoencoder, then D and G
    step_label = "generator step" if "loss_g" in first and not two_phases else "training step"
    if two_phases:  # where the adversarial phase starts; the losses span decades between the phases
        start = next(row["step"] for row in history if "loss_d" in row)
        for ax in axes:
            ax.axvline(start, color="black", ls=":", lw=0.8, label="adversarial phase starts")
        ax_loss.set_yscale("log")
    ax_loss.set(title=f"{title}: losses", xlabel=step_label, ylabel="loss")
    if panel and panel[0][0] == "d_real":
        ax_d.axhline(0.5, color="gray", ls="--", lw=0.8, label="equilibrium 1/2")
        ax_d.set(ylabel="mean probability", ylim=(0, 1))
    else:
        ax_d.set(ylabel="value")
    reconstruction = "mse" in first and "loss_d" not in first  # an autoencoder or VAE: no D to report
    ax_d.set(title=f"{title}: {'reconstruction error' if reconstruction else 'what D reports'}", xlabel=step_label)
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
    axes[0].figure.tight_layout()
    return axes[0].figure


def _smooth(values: list[float]) -> list[float]:
    """Trailing moving average over about 2% of the run, so trends show through step noise."""
    window = max(1, len(values) // 50)
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


class SampleSnapshots:
    """Callback: every ``every`` steps, keep a grid of samples from the same fixed noise."""

    def __init__(self, latent_dim: int, every: int = 200, n: int = 64, seed: int = 1234,
                 num_classes: int = 0) -> None:
        if num_classes:  # a conditional model: one row per class
            n = num_classes * num_classes
        gen = torch.Generator().manual_seed(seed)  # its own generator: sampling never shifts training
        self.z = torch.randn(n, latent_dim, generator=gen)
        self.labels = torch.arange(n) // num_classes if num_classes else None
        self.nrow = num_classes or 8
        self.every = every
        self.frames: list[tuple[int, Tensor]] = []  # (step, uint8 grid)

    def __call__(self, step: int, G, D, history) -> None:
        if step % self.every == 0:
            self.frames.append((step, self.grid(G)))

    def grid(self, G) -> Tensor:
        """The uint8 grid of G's samples from the fixed noise (and labels)."""
        return image_grid(sample(G, z=self.z, labels=self.labels), nrow=self.nrow)

    def state_dict(self) -> dict:
        """The frames so far: train_gan keeps them in the checkpoint, so a resumed GIF loses none."""
        return {"steps": [step for step, _ in self.frames],
                "grids": [grid for _, grid in self.frames]}

    def load_state_dict(self, state: dict) -> None:
        """Put back the frames of :meth:`state_dict` (those of the run being resumed)."""
        self.frames = list(zip(state["steps"], state["grids"]))


def save_gif(frames: list[tuple[int, Tensor]], path: str | Path, ms_per_frame: int = 300,
             scale: int = 1) -> Path:
    """Write (step, uint8 grid) frames as a looping GIF, each frame captioned with its step."""
    if not frames:
        raise ValueError("no frames to write: train for at least one snapshot interval")
    from PIL import ImageDraw

    images = []
    for step, grid in frames:
        image = Image.fromarray(grid.squeeze(-1).numpy() if grid.shape[-1] == 1 else grid.numpy())
        image = image.convert("L")
        if scale != 1:
            image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
        canvas = Image.new("L", (image.width, image.height + 14), 255)
        canvas.paste(image, (0, 14))
        ImageDraw.Draw(canvas).text((2, 1), f"step {step}", fill=0)
        images.append(canvas)
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms_per_frame, loop=0)
    return path


class LivePlot:
    """Callback for notebooks: every ``every`` steps redraw curves and samples in one output.

    Updates a display handle in place (no ``clear_output`` flicker); outside IPython it does nothing.
    """

    def __init__(self, latent_dim: int, every: int = 100, n: int = 16, seed: int = 1234) -> None:
        self.snapshots = SampleSnapshots(latent_dim, every=every, n=n, seed=seed)
        self.every, self.handle = every, None

    def __call__(self, step: int, G, D, history) -> None:
        if step % self.every:
            return
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
        plot_history(history, axes=axes[:2])
        show_images(sample(G, z=self.snapshots.z), nrow=4, title=f"Samples at step {step}",
                    ax=axes[2])
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)


def save_figures(folder: str | Path, figures: dict[str, Figure | None], dpi: int = 100) -> list[Path]:
    """Save each figure under its file name in ``folder`` (None: skipped), close it; returns the paths."""
    written = []
    for name, fig in figures.items():
        if fig is not None:
            fig.savefig(Path(folder) / name, dpi=dpi, bbox_inches="tight")
            plt.close(fig)
            written.append(Path(folder) / name)
    return written


def save_run_figures(run_dir: str | Path, G, history: list[dict],
                     snapshots: SampleSnapshots | None = None, dpi: int = 100) -> list[Path]:
    """Write samples.png, losses.png and progress.gif (the snapshots' frames) into ``run_dir``."""
    run_dir = Path(run_dir)
    step = history[-1]["step"] if history else 0
    if snapshots is None:
        snapshots = SampleSnapshots(G.latent_dim, num_classes=getattr(G, "num_classes", 0))
    images = sample(G, z=snapshots.z, labels=snapshots.labels)
    rows = "one row per class, " if snapshots.labels is not None else ""
    rows += "moving average of G, " if history and getattr(history, "G_ema", None) is G else ""
    written = save_figures(run_dir, {
        "samples.png": show_images(images, nrow=snapshots.nrow,
                                   title=f"Samples after {step} steps ({rows}fixed noise)"),
        "losses.png": plot_history(history) if history else None,
    }, dpi=dpi)
    if step and (not snapshots.frames or snapshots.frames[-1][0] != step):
        snapshots.frames.append((step, snapshots.grid(G)))  # always end on the final state
    if snapshots.frames:
        written.append(save_gif(snapshots.frames, run_dir / "progress.gif"))
    return written
